// The governance rules of `agentid report` (issue #14), as data: an id scripts can filter on, a
// severity a CI gate can fail on (--fail-on), why it matters, and the agentid command that fixes
// it. evaluate.ts decides which objects break which rule; nothing else lives here.

export const SEVERITIES = ['info', 'low', 'medium', 'high'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const severityRank = (s: Severity) => SEVERITIES.indexOf(s);

export type ObjectKind = 'blueprint' | 'blueprintPrincipal' | 'agent' | 'agentUser';

export interface Rule {
  id: string;
  category: 'orphaned' | 'stale' | 'credentials' | 'privilege' | 'drift';
  severity: Severity;
  title: string;
  why: string;
  /** The command that fixes one finding; {placeholders} are filled in per finding (evaluate.ts). */
  fix: string;
}

export const RULES: readonly Rule[] = [
  {
    id: 'orphaned.no-sponsor',
    category: 'orphaned',
    severity: 'high',
    title: 'No sponsor',
    // ED agent-owners-sponsors-managers.md: "A sponsor is required when creating an agent
    // identity or agent blueprint" — an object that lost every sponsor (removed, or a sponsor
    // user deleted: Graph drops deleted objects from the list) has nobody accountable for it.
    why: 'Nobody is accountable for its lifecycle: a sponsor is required at creation, and the last one was removed or deleted.',
    fix: 'agentid sponsor add --{flag} {id} --user UPN   (all at once: agentid bulk sponsor add --user UPN --orphaned)',
  },
  {
    id: 'orphaned.inactive-sponsors',
    category: 'orphaned',
    severity: 'high',
    title: 'Every sponsor is disabled or an empty group',
    why: 'Its sponsors cannot act: each is a disabled user (someone who left) or a group without members.',
    fix: 'agentid bulk sponsor replace --from {sponsor} --to UPN',
  },
  {
    id: 'orphaned.no-owner',
    category: 'orphaned',
    severity: 'low',
    // ED agent-owners-sponsors-managers.md: owners are "always optional", but they are the
    // technical administrators "responsible for ... setup, configuration, and credential
    // management" of blueprints, and the creator of a blueprint is made its owner automatically
    // (GD agentidentityblueprint-post.md). A blueprint without one lost its technical owner; the
    // rule is limited to blueprints, where the docs place that responsibility.
    title: 'Blueprint without an owner',
    why: 'Owners manage a blueprint\'s credentials and configuration; its creator was its owner, and none is left.',
    fix: 'agentid owner add --blueprint {id} --user UPN',
  },
  {
    id: 'stale.no-recent-sign-in',
    category: 'stale',
    severity: 'medium',
    title: 'No successful sign-in in the stale window',
    why: 'An identity nobody uses still holds its permissions; disable or delete it if it is no longer needed.',
    fix: 'agentid agent disable {id}   (all at once: agentid bulk delete --stale-days N --agents-only)',
  },
  {
    id: 'stale.never-signed-in',
    category: 'stale',
    severity: 'low',
    title: 'Never signed in since it was created',
    why: 'Created more than a week ago and never used: possibly a leftover of a test or a failed deployment.',
    fix: 'agentid agent delete {id}',
  },
  {
    id: 'credentials.expired',
    category: 'credentials',
    severity: 'high',
    title: 'Expired secret or certificate',
    why: 'Sign-ins with it fail; an expired credential left in place hides which one is really in use.',
    fix: 'agentid blueprint credential remove {blueprintId} --key-id {keyId}',
  },
  {
    id: 'credentials.expiring',
    category: 'credentials',
    severity: 'medium',
    title: 'Secret or certificate expiring soon',
    why: 'The agents of this blueprint stop authenticating when it expires; roll it over first.',
    fix: 'agentid blueprint credential add {blueprintId}, then: agentid blueprint credential remove {blueprintId} --key-id {keyId}',
  },
  {
    id: 'credentials.unsafe-federation',
    category: 'credentials',
    severity: 'high',
    title: 'Federated credential with an unsafe issuer or subject',
    why: 'A wildcard, or a public issuer with a broad subject, lets tokens from workloads you do not control sign in as the blueprint.',
    fix: 'agentid blueprint credential remove {blueprintId} --name {credential}',
  },
  {
    id: 'credentials.mixed-kinds',
    category: 'credentials',
    severity: 'low',
    title: 'More than one kind of credential',
    why: 'Secrets, certificates and federated credentials side by side: the weakest one decides how safe the blueprint is.',
    fix: 'agentid blueprint credential list {blueprintId}   (keep one kind, prefer federated)',
  },
  {
    id: 'privilege.high-permission',
    category: 'privilege',
    severity: 'high',
    title: 'High-privilege Graph permission',
    why: 'A permission that can take over the directory or its apps; an agent should hold the least it needs.',
    fix: 'agentid bulk revoke --blueprint {blueprint} --grants --app-roles --dry-run',
  },
  {
    id: 'privilege.directory-role',
    category: 'privilege',
    severity: 'high',
    title: 'Directory role assignment',
    why: 'A Microsoft Entra role gives tenant-wide administrative rights to an identity that runs unattended.',
    fix: 'remove the role assignment in Microsoft Entra (Roles and administrators)',
  },
  {
    id: 'privilege.inherit-all-scopes',
    category: 'privilege',
    severity: 'medium',
    title: 'Inheritable permissions allow every scope',
    why: 'With allAllowed, every agent of the blueprint can inherit any delegated scope of the resource.',
    fix: 'agentid blueprint permission add {blueprintId} --resource {resource} --scopes SCOPE,…   (name the scopes)',
  },
  {
    id: 'drift.disabled-agent-live-blueprint',
    category: 'drift',
    severity: 'low',
    title: 'Disabled agent of a blueprint that is still live',
    why: "The agent is disabled, but its blueprint principal is enabled and the blueprint holds credentials: re-enabling the agent alone brings it back.",
    fix: 'agentid agent delete {id}   (or agentid bulk revoke --blueprint {blueprint} --credentials --yes)',
  },
  {
    id: 'drift.agent-user-parent-disabled',
    category: 'drift',
    severity: 'medium',
    title: 'Agent user of a disabled agent',
    why: 'The agent user is enabled while the agent identity it belongs to is disabled.',
    fix: 'agentid agent-user disable {id}',
  },
  {
    id: 'drift.agent-user-parent-deleted',
    category: 'drift',
    severity: 'high',
    title: 'Agent user whose agent was deleted',
    why: 'Its identityParentId names an agent identity that no longer exists.',
    fix: 'agentid agent-user delete {id}',
  },
];

export const RULE_BY_ID = new Map(RULES.map((r) => [r.id, r]));

/**
 * High-privilege Microsoft Graph permissions: each can grant itself or others more access, or
 * rewrite the directory. Ids are Microsoft Graph's (the same in every tenant), from the Graph
 * permissions reference (learn.microsoft.com/graph/permissions-reference); delegated grants carry
 * names, app role assignments carry the application permission's id.
 */
export const HIGH_PRIVILEGE: readonly { value: string; appRoleId: string }[] = [
  { value: 'Directory.ReadWrite.All', appRoleId: '19dbc75e-c2e2-444c-a770-ec69d8559fc7' },
  { value: 'RoleManagement.ReadWrite.Directory', appRoleId: '9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8' },
  { value: 'Application.ReadWrite.All', appRoleId: '1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9' },
  { value: 'AppRoleAssignment.ReadWrite.All', appRoleId: '06b708a9-e830-4db3-a914-8e69da51d44f' },
  { value: 'Directory.AccessAsUser.All', appRoleId: '' },
  { value: 'User.ReadWrite.All', appRoleId: '741f803b-c850-494e-b5df-cde7c675a1ca' },
  { value: 'Group.ReadWrite.All', appRoleId: '62a82d76-70ea-41e2-9197-370581804d09' },
  { value: 'AgentIdentityBlueprint.ReadWrite.All', appRoleId: '7fddd33b-d884-4ec0-8696-72cff90ff825' },
  { value: 'AgentIdentity.ReadWrite.All', appRoleId: 'dcf7150a-88d4-4fe6-9be1-c2744c455397' },
];
