import type { Snapshot, Sponsor } from './collect.js';
import { HIGH_PRIVILEGE, RULE_BY_ID, type ObjectKind, type Severity } from './rules.js';
import { ROLE_NAMES } from '../roles.js';

// The rules of rules.ts applied to a snapshot (collect.ts). Pure: no Graph, no clock but the
// snapshot's, so unit tests pin each rule on a hand-made snapshot.

export interface Finding {
  severity: Severity;
  rule: string;
  objectType: ObjectKind;
  object: string;
  objectId: string;
  blueprint: string | null;
  why: string;
  fix: string;
  /** Rule-specific facts (last sign-in, expiry, the permission …) for -o json and the page. */
  detail: Record<string, unknown>;
}

export interface EvaluateOptions {
  staleDays: number;
  expiringDays: number;
}

/** An agent is "never signed in" only once it had time to: a week after its creation. */
const NEVER_GRACE_DAYS = 7;
const DAY = 86_400_000;

const FLAG: Record<ObjectKind, string> = { blueprint: 'blueprint', blueprintPrincipal: 'blueprint', agent: 'agent', agentUser: 'agent-user' };

function fill(template: string, vars: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => vars[k] ?? m);
}

/** Identity providers anyone can get a token from (for their own workload), by issuer host. */
const PUBLIC_ISSUERS = [/^https:\/\/token\.actions\.githubusercontent\.com/i, /^https:\/\/gitlab\.com/i, /^https:\/\/accounts\.google\.com/i, /^https:\/\/app\.terraform\.io/i, /^https:\/\/oidc\.circleci\.com/i, /^https:\/\/vstoken\.dev\.azure\.com/i];

/**
 * Why a federated credential is unsafe, or undefined. Entra matches issuer and subject exactly
 * (GD federatedidentitycredential.md), so a `*` is either a mistake or an attempt at a wildcard
 * that some other system will honour; a public issuer's subject must pin one workload: for
 * GitHub a repository plus a branch, tag, environment or pull request.
 */
export function unsafeFederation(issuer: string, subject: string): string | undefined {
  if (/[*?]/.test(issuer) || /[*?]/.test(subject)) return `a wildcard in the ${/[*?]/.test(issuer) ? 'issuer' : 'subject'}`;
  if (!PUBLIC_ISSUERS.some((r) => r.test(issuer))) return undefined;
  if (/token\.actions\.githubusercontent\.com/i.test(issuer)) {
    const pinned = /^repo:[^/:]+\/[^/:]+:(ref:refs\/(heads|tags)\/.+|environment:.+|pull_request)$/.test(subject);
    return pinned ? undefined : `a public issuer with a broad subject ('${subject}' does not pin a repository and a branch, tag or environment)`;
  }
  return subject.length < 8 || !/[:/]/.test(subject) ? `a public issuer with a broad subject ('${subject}')` : undefined;
}

export function evaluate(s: Snapshot, o: EvaluateOptions): Finding[] {
  const out: Finding[] = [];
  const now = s.now.getTime();
  const bpByAppId = new Map(s.blueprints.map((b) => [b.appId.toLowerCase(), b]));
  const principalByAppId = new Map(s.principals.map((p) => [p.appId.toLowerCase(), p]));
  const agentById = new Map(s.agents.map((a) => [a.id.toLowerCase(), a]));
  const bpName = (appId: string | null | undefined) => {
    const b = appId ? bpByAppId.get(appId.toLowerCase()) : undefined;
    return b ? (b.displayName ?? b.appId) : (appId ?? null);
  };
  const add = (rule: string, kind: ObjectKind, obj: { id: string; displayName?: string | null | undefined }, blueprint: { name: string | null; id?: string | undefined }, vars: Record<string, string>, detail: Record<string, unknown>, why?: string) => {
    const r = RULE_BY_ID.get(rule)!;
    const allVars = { id: obj.id, name: obj.displayName ?? obj.id, flag: FLAG[kind], blueprint: blueprint.name ?? '', blueprintId: blueprint.id ?? '', ...vars };
    out.push({ severity: r.severity, rule, objectType: kind, object: obj.displayName ?? obj.id, objectId: obj.id, blueprint: blueprint.name, why: why ?? r.why, fix: fill(r.fix, allVars), detail });
  };

  // --- orphaned --------------------------------------------------------------------------
  const usable = (sp: Sponsor) => (sp.kind === 'user' ? sp.accountEnabled !== false : sp.kind === 'group' ? s.groupMembers.get(sp.id.toLowerCase()) !== 0 : false);
  const checkSponsors = (kind: ObjectKind, obj: { id: string; displayName?: string | null | undefined }, blueprint: { name: string | null; id?: string }) => {
    const list = s.sponsors.get(obj.id);
    if (!list) return;
    if (list.length === 0) {
      add('orphaned.no-sponsor', kind, obj, blueprint, {}, { sponsors: [] });
      return;
    }
    if (!list.some(usable)) {
      const names = list.map((sp) => `${sp.userPrincipalName ?? sp.displayName ?? sp.id} (${sp.kind === 'user' ? 'disabled user' : sp.kind === 'group' ? 'empty group' : sp.kind})`);
      const first = list[0]!;
      add('orphaned.inactive-sponsors', kind, obj, blueprint, { sponsor: first.userPrincipalName ?? first.id }, { sponsors: names }, `Its sponsors cannot act: ${names.join(', ')}.`);
    }
  };
  for (const b of s.blueprints) {
    const ref = { name: b.displayName ?? b.appId, id: b.id };
    checkSponsors('blueprint', b, ref);
    const owners = s.owners.get(b.id);
    if (owners && owners.length === 0) add('orphaned.no-owner', 'blueprint', b, ref, {}, {});
  }
  for (const a of s.agents) {
    const bp = a.agentIdentityBlueprintId ? bpByAppId.get(a.agentIdentityBlueprintId.toLowerCase()) : undefined;
    checkSponsors('agent', a, { name: bpName(a.agentIdentityBlueprintId), ...(bp ? { id: bp.id } : {}) });
  }
  const parentOf = (u: { identityParentId?: string | null | undefined }) => (u.identityParentId ? agentById.get(u.identityParentId.toLowerCase()) : undefined);
  for (const u of s.agentUsers) {
    const parent = parentOf(u);
    checkSponsors('agentUser', u, { name: bpName(parent?.agentIdentityBlueprintId) });
  }

  // --- stale -----------------------------------------------------------------------------
  if (!s.signInError) {
    const windowStart = now - o.staleDays * DAY;
    const logStart = Date.parse(s.since);
    const stale = (kind: ObjectKind, obj: { id: string; displayName?: string | null | undefined; createdDateTime?: unknown; accountEnabled?: boolean | null | undefined }, stats: { lastSuccess?: string; lastAttempt?: string; count: number } | undefined, blueprint: { name: string | null; id?: string }) => {
      if (obj.accountEnabled === false) return; // already switched off: not stale, just off
      const created = Date.parse(String(obj.createdDateTime ?? ''));
      const last = stats?.lastSuccess ? Date.parse(stats.lastSuccess) : NaN;
      if (!Number.isNaN(last) && last >= windowStart) return;
      if (!stats?.count && !Number.isNaN(created) && created >= logStart) {
        if (now - created >= NEVER_GRACE_DAYS * DAY) add('stale.never-signed-in', kind, obj, blueprint, {}, { createdDateTime: new Date(created).toISOString(), lastSignIn: null });
        return;
      }
      if (!Number.isNaN(created) && created > windowStart) return; // younger than the window
      const lastSeen = stats?.lastSuccess ?? null;
      add('stale.no-recent-sign-in', kind, obj, blueprint, {}, { lastSignIn: lastSeen, lastAttempt: stats?.lastAttempt ?? null, staleDays: o.staleDays }, `No successful sign-in in the last ${o.staleDays} days (last: ${lastSeen ?? 'none in the logs read'}${stats?.lastAttempt && !stats.lastSuccess ? `; last failed attempt ${stats.lastAttempt}` : ''}). An identity nobody uses still holds its permissions.`);
    };
    for (const a of s.agents) {
      const bp = a.agentIdentityBlueprintId ? bpByAppId.get(a.agentIdentityBlueprintId.toLowerCase()) : undefined;
      stale('agent', a, s.signInsByApp.get(a.id.toLowerCase()), { name: bpName(a.agentIdentityBlueprintId), ...(bp ? { id: bp.id } : {}) });
    }
  }

  // --- credentials -----------------------------------------------------------------------
  for (const b of s.blueprints) {
    const ref = { name: b.displayName ?? b.appId, id: b.id };
    const creds = [...(b.passwordCredentials ?? []).map((c) => ({ ...c, kind: 'secret' })), ...(b.keyCredentials ?? []).map((c) => ({ ...c, kind: 'certificate' }))];
    for (const c of creds) {
      const end = Date.parse(String(c.endDateTime ?? ''));
      if (Number.isNaN(end)) continue;
      const label = `${c.kind} ${c.displayName ?? c.keyId}`;
      const detail = { credential: label, keyId: c.keyId, endDateTime: new Date(end).toISOString() };
      if (end <= now) add('credentials.expired', 'blueprint', b, ref, { keyId: c.keyId }, detail, `Its ${label} expired on ${detail.endDateTime.slice(0, 10)}: sign-ins with it fail, and leaving it in place hides which credential is in use.`);
      else if (end - now <= o.expiringDays * DAY) add('credentials.expiring', 'blueprint', b, ref, { keyId: c.keyId }, detail, `Its ${label} expires on ${detail.endDateTime.slice(0, 10)} (in ${Math.ceil((end - now) / DAY)} days): the agents stop authenticating then; roll it over first.`);
    }
    const fics = s.federated.get(b.id) ?? [];
    for (const f of fics) {
      const why = unsafeFederation(f.issuer, f.subject);
      if (why) add('credentials.unsafe-federation', 'blueprint', b, ref, { credential: f.name }, { credential: f.name, issuer: f.issuer, subject: f.subject }, `Federated credential '${f.name}' has ${why}: tokens from workloads you do not control could sign in as the blueprint.`);
    }
    const kinds = [(b.passwordCredentials ?? []).length && 'secrets', (b.keyCredentials ?? []).length && 'certificates', fics.length && 'federated credentials'].filter(Boolean) as string[];
    if (kinds.length > 1) add('credentials.mixed-kinds', 'blueprint', b, ref, {}, { kinds }, `It holds ${kinds.join(' and ')}: the weakest one decides how safe the blueprint is.`);
  }

  // --- privilege -------------------------------------------------------------------------
  const byValue = new Map(HIGH_PRIVILEGE.map((p) => [p.value.toLowerCase(), p.value]));
  const byRoleId = new Map(HIGH_PRIVILEGE.filter((p) => p.appRoleId).map((p) => [p.appRoleId.toLowerCase(), p.value]));
  type Holder = { kind: ObjectKind; obj: { id: string; displayName?: string | null | undefined }; blueprint: { name: string | null; id?: string } };
  const holders = new Map<string, Holder>();
  for (const p of s.principals) {
    const bp = bpByAppId.get(p.appId.toLowerCase());
    holders.set(p.id.toLowerCase(), { kind: 'blueprintPrincipal', obj: p, blueprint: { name: bpName(p.appId), ...(bp ? { id: bp.id } : {}) } });
  }
  for (const a of s.agents) {
    const bp = a.agentIdentityBlueprintId ? bpByAppId.get(a.agentIdentityBlueprintId.toLowerCase()) : undefined;
    holders.set(a.id.toLowerCase(), { kind: 'agent', obj: a, blueprint: { name: bpName(a.agentIdentityBlueprintId), ...(bp ? { id: bp.id } : {}) } });
  }
  const highOf = new Map<string, Set<string>>();
  const mark = (id: string, perm: string) => {
    const k = id.toLowerCase();
    if (!holders.has(k)) return;
    if (!highOf.has(k)) highOf.set(k, new Set());
    highOf.get(k)!.add(perm);
  };
  for (const g of s.grants) for (const sc of String(g.scope ?? '').split(/\s+/)) if (byValue.has(sc.toLowerCase())) mark(g.clientId, `${byValue.get(sc.toLowerCase())} (delegated)`);
  for (const a of s.graphAppRoles) if (byRoleId.has(a.appRoleId.toLowerCase())) mark(a.principalId, `${byRoleId.get(a.appRoleId.toLowerCase())} (application)`);
  for (const [k, perms] of highOf) {
    const h = holders.get(k)!;
    add('privilege.high-permission', h.kind, h.obj, h.blueprint, {}, { permissions: [...perms] }, `It holds ${[...perms].join(', ')} on Microsoft Graph: enough to take over the directory or its apps.`);
  }
  const userHolders = new Map(s.agentUsers.map((u) => [u.id.toLowerCase(), u]));
  for (const r of s.roleAssignments) {
    const k = r.principalId.toLowerCase();
    const role = ROLE_NAMES[r.roleDefinitionId] ?? r.roleDefinitionId;
    const h = holders.get(k);
    if (h) add('privilege.directory-role', h.kind, h.obj, h.blueprint, {}, { role, roleDefinitionId: r.roleDefinitionId }, `It is assigned the ${role} directory role: tenant-wide administrative rights for an identity that runs unattended.`);
    else if (userHolders.has(k)) {
      const u = userHolders.get(k)!;
      add('privilege.directory-role', 'agentUser', u, { name: bpName(parentOf(u)?.agentIdentityBlueprintId) }, {}, { role, roleDefinitionId: r.roleDefinitionId }, `It is assigned the ${role} directory role: tenant-wide administrative rights for an identity that runs unattended.`);
    }
  }
  for (const b of s.blueprints) {
    for (const p of s.inheritable.get(b.id) ?? []) {
      const kind = p.inheritableScopes.kind ?? String(p.inheritableScopes['@odata.type'] ?? '').replace(/^#?microsoft\.graph\./, '').replace(/Scopes$/, '');
      if (kind === 'allAllowed') add('privilege.inherit-all-scopes', 'blueprint', b, { name: b.displayName ?? b.appId, id: b.id }, { resource: p.resourceAppId === '00000003-0000-0000-c000-000000000000' ? 'graph' : p.resourceAppId }, { resourceAppId: p.resourceAppId });
    }
  }

  // --- drift -----------------------------------------------------------------------------
  for (const a of s.agents) {
    if (a.accountEnabled !== false || !a.agentIdentityBlueprintId) continue;
    const bp = bpByAppId.get(a.agentIdentityBlueprintId.toLowerCase());
    const principal = principalByAppId.get(a.agentIdentityBlueprintId.toLowerCase());
    if (!bp || principal?.accountEnabled === false || !principal) continue;
    const hasCreds = (bp.passwordCredentials ?? []).length + (bp.keyCredentials ?? []).length + (s.federated.get(bp.id) ?? []).length > 0;
    if (hasCreds) add('drift.disabled-agent-live-blueprint', 'agent', a, { name: bp.displayName ?? bp.appId, id: bp.id }, {}, { principalEnabled: true });
  }
  for (const u of s.agentUsers) {
    if (!u.identityParentId) continue;
    const parent = parentOf(u);
    if (!parent) add('drift.agent-user-parent-deleted', 'agentUser', u, { name: null }, {}, { identityParentId: u.identityParentId }, `Its identityParentId ${u.identityParentId} names an agent identity that no longer exists.`);
    else if (parent.accountEnabled === false && u.accountEnabled !== false) add('drift.agent-user-parent-disabled', 'agentUser', u, { name: bpName(parent.agentIdentityBlueprintId) }, {}, { parent: parent.displayName ?? parent.id }, `It is enabled while its agent identity '${parent.displayName ?? parent.id}' is disabled.`);
  }

  const rank: Record<Severity, number> = { high: 0, medium: 1, low: 2, info: 3 };
  return out.sort((a, b) => rank[a.severity] - rank[b.severity] || a.rule.localeCompare(b.rule) || (a.blueprint ?? '').localeCompare(b.blueprint ?? '') || a.object.localeCompare(b.object));
}

/** Findings per rule and per blueprint, for the table summary and the page. */
export function summarizeFindings(findings: Finding[]): { byRule: { rule: string; severity: Severity; title: string; count: number }[]; byBlueprint: { blueprint: string; high: number; medium: number; low: number; total: number }[] } {
  const byRule = new Map<string, number>();
  const byBp = new Map<string, { blueprint: string; high: number; medium: number; low: number; total: number }>();
  for (const f of findings) {
    byRule.set(f.rule, (byRule.get(f.rule) ?? 0) + 1);
    const k = f.blueprint ?? '(none)';
    const e = byBp.get(k) ?? { blueprint: k, high: 0, medium: 0, low: 0, total: 0 };
    if (f.severity === 'high' || f.severity === 'medium' || f.severity === 'low') e[f.severity]++;
    e.total++;
    byBp.set(k, e);
  }
  return {
    byRule: [...byRule].map(([rule, count]) => ({ rule, severity: RULE_BY_ID.get(rule)!.severity, title: RULE_BY_ID.get(rule)!.title, count })),
    byBlueprint: [...byBp.values()].sort((a, b) => b.total - a.total),
  };
}
