import type { Caller, MockContext } from './context.js';
import type { ParsedPath } from './path.js';
import type { EntityType, StoredObject, TenantState } from './state.js';
import { GraphErrors } from './errors.js';
import { applicationOf } from './auth.js';
import { ROLE, ROLE_NAMES } from '../graph/roles.js';

// Graph's authorization, per endpoint, as the reference documents it. A request is allowed when
//   app-only:  the token's `roles` hold one of the endpoint's application permissions;
//   delegated: the token's `scp` holds one of its delegated permissions AND, for writes, the
//              signed-in user holds a supporting directory role or owns the object (delegated
//              access is the intersection of the app's scopes and the user's own rights).
// Sources (GD = microsoft-graph-docs-contrib api-reference/v1.0/includes/permissions/*.md; the
// file is named in each entry). Where the markdown tables and rendered pages differ, we follow
// the v1.0 rendered tables as /work/shared/graph-agent-id.md §10.1 advises.
//
// The Directory.AccessAsUser.All trap: "If the client is granted either the
// Directory.AccessAsUser.All or Directory.ReadWrite.All permission, the client's permissions to
// create, update, and delete Agent IDs are ignored, which can cause requests to fail with 403"
// (GD beta includes/rbac-for-apis/rbac-agentid-apis-write.md, known issue; the beta
// agentidentityblueprint-post page says "Directory.AccessAsUser.All cannot be used").
// [DOC-CONFLICT] the newest copy of that include dropped the known-issue note; we keep the
// trap, since tokens from the Azure CLI and Graph Explorer still carry those scopes.

export { ROLE, ROLE_NAMES };

export const TRAP_PERMISSIONS = ['Directory.AccessAsUser.All', 'Directory.ReadWrite.All'];

/** Who, besides the permission, may act on a delegated write. */
type RoleRule =
  | 'member' // reads: any member user may read the directory
  | 'agentId' // Agent ID Administrator (GD includes/rbac-for-apis/rbac-agentid-apis-write.md), or the object's owner
  | 'agentIdCreate' // as agentId, and Agent ID Developer may create (and becomes owner)
  | 'agentUser' // GD agentuser-delete.md: User Administrator, Privileged Authentication Administrator, Agent ID Administrator
  | 'userAdmin' // plain users: User Administrator
  | 'reports' // GD signin-list.md / directoryaudit-list.md reader roles
  | 'caRead' // #13: readers of Conditional Access policies (GD conditionalaccessroot-list-policies.md)
  | 'caAdmin' // #13: Conditional Access Administrator or Security Administrator (GD conditionalaccessroot-post-policies.md)
  | 'riskRead' // #13: ID Protection readers (GD riskyagent-list.md, agentriskdetection-list.md)
  | 'riskWrite' // #13: Security Operator or Security Administrator (GD riskyagent-confirmcompromised.md)
  | 'attrDefineRead' // #13: readers of custom security attribute definitions (GD customsecurityattributedefinition-get.md)
  | 'attrDefine' // #13: Attribute Definition Administrator (GD customsecurityattributedefinition-post.md)
  | 'attrAssignRead' // #13: Attribute Assignment Reader or Administrator (GD serviceprincipal-get.md, custom security attributes)
  | 'attrAssign'; // #13: Attribute Assignment Administrator (GD serviceprincipal-update.md, custom security attributes)

export interface Requirement {
  /** A name for messages and tests, e.g. 'agentIdentity.update'. */
  op: string;
  /** The include file the permissions come from. */
  doc: string;
  /** Delegated permissions (least first); null: "Not supported". */
  delegated: string[] | null;
  /** Application permissions; null: "Not supported". */
  application: string[] | null;
  roles: RoleRule;
  /** Create/update/delete of an Agent ID object: the trap above applies. */
  agentWrite?: boolean;
  /** Objects whose owners may write without a role (the target; for a create, its blueprint). */
  ownedBy?: StoredObject[];
  /** An app-only caller that is this blueprint may act without any role claim ([INFERRED], see below). */
  blueprintSelf?: string;
  /** App-only callers are left to the handler, which answers them with its own error. */
  appAnswersItself?: boolean;
  /** A second requirement the same request must meet too (custom security attributes with other properties). */
  also?: Requirement;
}

const R = (op: string, doc: string, delegated: string[] | null, application: string[] | null, roles: RoleRule, extra: Partial<Requirement> = {}): Requirement => ({ op, doc, delegated, application, roles, ...extra });

// Read permissions shared by several endpoints.
const USER_READ = ['User.ReadBasic.All', 'User.Read.All', 'User.ReadWrite.All', 'AgentIdUser.ReadWrite.All', 'AgentIdUser.ReadWrite.IdentityParentedBy', 'Directory.Read.All', 'Directory.ReadWrite.All'];
const APP_READ = ['Application.Read.All', 'Application.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
const GROUP_READ = ['GroupMember.Read.All', 'Group.Read.All', 'Group.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];

const BP_READ = ['AgentIdentityBlueprint.Read.All', 'AgentIdentityBlueprint.ReadWrite.All', ...APP_READ];
const BP_RW = ['AgentIdentityBlueprint.ReadWrite.All'];
const BPP_READ = ['AgentIdentityBlueprintPrincipal.Read.All', 'AgentIdentityBlueprintPrincipal.ReadWrite.All', ...APP_READ];
const AI_READ = ['AgentIdentity.Read.All', 'AgentIdentity.ReadWrite.All', ...APP_READ];

/** The requirement of one request; undefined for endpoints this table does not govern. */
export function requirementFor(method: string, path: ParsedPath, state: TenantState, body: Record<string, unknown> | undefined, select: string[] = []): Requirement | undefined {
  const req = requirementOf(method, path, state, body);
  // #13: custom security attributes have permissions of their own, over and above the object's
  // (GD serviceprincipal-update.md / serviceprincipal-get.md, custom security attribute examples):
  // assigning needs CustomSecAttributeAssignment.ReadWrite.All and an Attribute Assignment
  // Administrator; reading ($select only) CustomSecAttributeAssignment.Read.All.
  // A list selecting them needs the same (GD serviceprincipal-list.md, custom security attribute examples).
  if (path.set !== 'servicePrincipals' || path.rest.length || !req) return req;
  const m = method.toUpperCase();
  if (m === 'PATCH' && path.key && body && 'customSecurityAttributes' in body) {
    const assign = R('customSecurityAttributes.assign', 'serviceprincipal-update-permissions.md (custom security attributes)', ['CustomSecAttributeAssignment.ReadWrite.All'], ['CustomSecAttributeAssignment.ReadWrite.All'], 'attrAssign');
    const others = Object.keys(body).filter((k) => k !== 'customSecurityAttributes' && !k.startsWith('@odata.'));
    return others.length ? { ...assign, also: req } : assign;
  }
  if (m === 'GET' && select.some((p) => p.toLowerCase() === 'customsecurityattributes')) {
    const perms = ['CustomSecAttributeAssignment.Read.All', 'CustomSecAttributeAssignment.ReadWrite.All'];
    return { ...R('customSecurityAttributes.read', 'serviceprincipal-get-permissions.md (custom security attributes)', perms, perms, 'attrAssignRead'), also: req };
  }
  return req;
}

function requirementOf(method: string, path: ParsedPath, state: TenantState, body: Record<string, unknown> | undefined): Requirement | undefined {
  const m = method.toUpperCase();
  const read = m === 'GET';
  const rest = path.rest.map((s) => s.toLowerCase());
  const target = path.key ? lookup(state, path.set, path.key) : undefined;
  const type: EntityType | undefined = target?.type ?? path.cast ?? declared(body);
  switch (path.set) {
    case 'applications':
      return applications(m, read, rest, type, target, body, path);
    case 'servicePrincipals':
      return servicePrincipals(m, read, rest, type, target, body, state);
    case 'users':
      return users(m, read, rest, type, target, body);
    case 'me':
      // App-only callers have no /me: Graph answers 400 for that, not 403, and so does the handler.
      return read ? R('me.get', 'user-get-permissions.md', ['User.Read', 'User.ReadWrite', 'User.ReadBasic.All', 'User.Read.All', 'Directory.Read.All'], null, 'member', { appAnswersItself: true }) : undefined;
    case 'groups':
      return read ? R('group.read', 'group-get-permissions.md / group-list-permissions.md', GROUP_READ, GROUP_READ, 'member') : undefined;
    case 'organization':
      // GD organization-get-permissions.md: delegated User.Read; application Organization.Read.All.
      return read ? R('organization.get', 'organization-get-permissions.md', ['User.Read', 'Organization.Read.All', 'Directory.Read.All'], ['Organization.Read.All', 'Organization.ReadWrite.All', 'Directory.Read.All'], 'member') : undefined;
    case 'directoryObjects':
      return R('directoryObject.read', 'directoryobject-getbyids-permissions.md', ['Directory.Read.All', 'Directory.ReadWrite.All'], ['Directory.Read.All', 'Directory.ReadWrite.All'], 'member');
    case 'directory':
      if (rest[0] === 'attributesets' || rest[0] === 'customsecurityattributedefinitions') return attributeDefinitions(read);
      return deletedItems(m, rest, state);
    case 'identity':
      return conditionalAccess(read);
    case 'identityProtection':
      return identityProtection(read, rest);
    case 'auditLogs':
      return R('auditLogs.read', 'signin-list-permissions.md / directoryaudit-list-permissions.md', ['AuditLog.Read.All'], ['AuditLog.Read.All'], 'reports');
    case 'roleManagement': {
      // GD rbacapplication-list-roleassignments.md (directory provider), least privileged first.
      const perms = ['RoleManagement.Read.Directory', 'RoleManagement.Read.All', 'Directory.Read.All', 'RoleManagement.ReadWrite.Directory', 'Directory.ReadWrite.All'];
      return R('roleAssignment.list', 'rbacapplication-list-roleassignments.md', perms, perms, 'member');
    }
    default:
      return undefined;
  }
}

// #13. GD beta includes/permissions/conditionalaccessroot-list-policies-permissions.md and
// conditionalaccessroot-post-policies-permissions.md (and the policy get/update/delete pages):
// read Policy.Read.All (higher Policy.ReadWrite.ConditionalAccess); write
// Policy.ReadWrite.ConditionalAccess, delegated only for a Conditional Access Administrator or
// Security Administrator (ED howto-target-agent-identities.md: "Conditional Access Administrator
// to create and manage Conditional Access policies").
function conditionalAccess(read: boolean): Requirement {
  const readPerms = ['Policy.Read.All', 'Policy.Read.ConditionalAccess', 'Policy.ReadWrite.ConditionalAccess'];
  if (read) return R('conditionalAccessPolicy.read', 'conditionalaccessroot-list-policies-permissions.md', readPerms, readPerms, 'caRead');
  return R('conditionalAccessPolicy.write', 'conditionalaccessroot-post-policies-permissions.md', ['Policy.ReadWrite.ConditionalAccess'], ['Policy.ReadWrite.ConditionalAccess'], 'caAdmin');
}

// #13. GD beta riskyagent-list/get: IdentityRiskyAgent.Read.All ("Not available" higher);
// confirmCompromised/confirmSafe/dismiss: IdentityRiskyAgent.ReadWrite.All; agentRiskDetections:
// IdentityRiskEvent.Read.All.
function identityProtection(read: boolean, rest: string[]): Requirement {
  if (rest[0] === 'agentriskdetections') return R('agentRiskDetection.read', 'agentriskdetection-list-permissions.md', ['IdentityRiskEvent.Read.All', 'IdentityRiskEvent.ReadWrite.All'], ['IdentityRiskEvent.Read.All', 'IdentityRiskEvent.ReadWrite.All'], 'riskRead');
  const rw = ['IdentityRiskyAgent.ReadWrite.All'];
  if (read) return R('riskyAgent.read', 'riskyagent-list-permissions.md', ['IdentityRiskyAgent.Read.All', ...rw], ['IdentityRiskyAgent.Read.All', ...rw], 'riskRead');
  return R(`riskyAgent.${rest[1] ?? 'write'}`, 'riskyagent-confirmcompromised-permissions.md', rw, rw, 'riskWrite');
}

// #13. GD v1.0 includes/permissions/customsecurityattributedefinition-{get,post}-permissions.md and
// attributeset-{get,post}-permissions.md: read CustomSecAttributeDefinition.Read.All, write
// CustomSecAttributeDefinition.ReadWrite.All; delegated, an Attribute Definition Reader or
// Administrator (Global Administrator holds none of the attribute roles by default).
function attributeDefinitions(read: boolean): Requirement {
  const rw = ['CustomSecAttributeDefinition.ReadWrite.All'];
  if (read) return R('customSecurityAttributeDefinition.read', 'customsecurityattributedefinition-get-permissions.md', ['CustomSecAttributeDefinition.Read.All', ...rw], ['CustomSecAttributeDefinition.Read.All', ...rw], 'attrDefineRead');
  return R('customSecurityAttributeDefinition.write', 'customsecurityattributedefinition-post-permissions.md', rw, rw, 'attrDefine');
}

function applications(m: string, read: boolean, rest: string[], type: EntityType | undefined, target: StoredObject | undefined, body: Record<string, unknown> | undefined, path: ParsedPath): Requirement {
  const blueprint = type === 'agentIdentityBlueprint';
  if (!path.key) {
    if (read) return blueprint ? R('agentIdentityBlueprint.list', 'agentidentityblueprint-list-permissions.md', BP_READ, BP_READ, 'member') : R('application.list', 'application-list-permissions.md', APP_READ, APP_READ, 'member');
    return blueprint
      ? R('agentIdentityBlueprint.create', 'agentidentityblueprint-post-permissions.md', ['AgentIdentityBlueprint.Create', ...BP_RW], ['AgentIdentityBlueprint.Create', ...BP_RW], 'agentIdCreate', { agentWrite: true })
      : R('application.create', 'application-post-applications-permissions.md', ['Application.ReadWrite.All'], ['Application.ReadWrite.OwnedBy', 'Application.ReadWrite.All'], 'userAdmin');
  }
  const owned = target ? [target] : [];
  if (!blueprint) {
    return read ? R('application.get', 'application-get-permissions.md', APP_READ, APP_READ, 'member') : R('application.write', 'application-update-permissions.md', ['Application.ReadWrite.All'], ['Application.ReadWrite.OwnedBy', 'Application.ReadWrite.All'], 'agentId', { ownedBy: owned });
  }
  if (read) return R('agentIdentityBlueprint.get', 'agentidentityblueprint-get-permissions.md', BP_READ, BP_READ, 'member');
  const w = (op: string, doc: string, perms: string[]) => R(op, doc, perms, perms, 'agentId', { agentWrite: true, ownedBy: owned });
  const [seg] = rest;
  if (seg === undefined) {
    if (m === 'DELETE') return w('agentIdentityBlueprint.delete', 'agentidentityblueprint-delete-permissions.md', ['AgentIdentityBlueprint.DeleteRestore.All', ...BP_RW]);
    if (path.key.kind === 'uniqueName') return w('agentIdentityBlueprint.upsert', 'agentidentityblueprint-upsert-permissions.md', BP_RW);
    // PATCH: credential properties need AddRemoveCreds, branding UpdateBranding (GD agentidentityblueprint-update-permissions.md).
    // A body touching both kinds needs ReadWrite.All ("To update properties covered by both permission scopes").
    const keys = Object.keys(body ?? {}).filter((k) => !k.includes('@odata.'));
    const creds = keys.filter((k) => k === 'keyCredentials' || k === 'passwordCredentials').length;
    if (creds && creds < keys.length) return w('agentIdentityBlueprint.update', 'agentidentityblueprint-update-permissions.md', BP_RW);
    return w('agentIdentityBlueprint.update', 'agentidentityblueprint-update-permissions.md', [creds ? 'AgentIdentityBlueprint.AddRemoveCreds.All' : 'AgentIdentityBlueprint.UpdateBranding.All', ...BP_RW]);
  }
  if (['addpassword', 'removepassword', 'addkey', 'removekey'].includes(seg)) return w(`agentIdentityBlueprint.${seg}`, `agentidentityblueprint-${seg}-permissions.md`, ['AgentIdentityBlueprint.AddRemoveCreds.All', ...BP_RW]);
  // [INFERRED] FICs are credentials: AddRemoveCreds, though ED create-blueprint.md lets an Agent ID Developer owner configure them.
  // [INFERRED] GD agentidentityblueprint-setverifiedpublisher.md names a permissions include the docs index does not hold; the blueprint write permission, as for update.
  if (seg === 'setverifiedpublisher' || seg === 'unsetverifiedpublisher') return w(`agentIdentityBlueprint.${seg}`, `agentidentityblueprint-${seg}-permissions.md`, BP_RW);
  if (seg === 'federatedidentitycredentials' || seg?.startsWith('federatedidentitycredentials(')) return w('agentIdentityBlueprint.federatedIdentityCredentials', 'federatedidentitycredential-post-permissions.md', ['AgentIdentityBlueprint.AddRemoveCreds.All', ...BP_RW, 'Application.ReadWrite.All']);
  if (seg === 'inheritablepermissions') return w('agentIdentityBlueprint.inheritablePermissions', 'agentidentityblueprint-post-inheritablepermissions-permissions.md', ['AgentIdentityBlueprint.Create', ...BP_RW]);
  return w(`agentIdentityBlueprint.${seg}`, `agentidentityblueprint-post-${seg}-permissions.md`, BP_RW);
}

function servicePrincipals(m: string, read: boolean, rest: string[], type: EntityType | undefined, target: StoredObject | undefined, body: Record<string, unknown> | undefined, state: TenantState): Requirement {
  const owned = target ? [target] : [];
  if (!target && !rest.length && m === 'POST') {
    if (type === 'agentIdentity') {
      // App-only: a blueprint creates its own agent identities with its own token; the ED walkthrough
      // (create-delete-agent-identities.md) grants it nothing for that step [INFERRED: allowed].
      const bpAppId = typeof body?.agentIdentityBlueprintId === 'string' ? body.agentIdentityBlueprintId : undefined;
      const bp = bpAppId ? applicationOf(state, bpAppId) : undefined;
      const bpp = bpAppId ? Object.values(state.objects).find((o) => o.type === 'agentIdentityBlueprintPrincipal' && !o.deletedDateTime && String(o.props.appId).toLowerCase() === bpAppId.toLowerCase()) : undefined;
      return R('agentIdentity.create', 'agentidentity-post-permissions.md', ['AgentIdentity.Create.All'], ['AgentIdentity.CreateAsManager', 'AgentIdentity.Create.All'], 'agentIdCreate', {
        agentWrite: true,
        ownedBy: [bp, bpp].filter((o): o is StoredObject => !!o),
        ...(bpAppId ? { blueprintSelf: bpAppId } : {}),
      });
    }
    if (type === 'agentIdentityBlueprintPrincipal') {
      return R('agentIdentityBlueprintPrincipal.create', 'agentidentityblueprintprincipal-post-permissions.md', ['AgentIdentityBlueprintPrincipal.Create', 'AgentIdentityBlueprintPrincipal.ReadWrite.All'], ['AgentIdentityBlueprintPrincipal.Create', 'AgentIdentityBlueprintPrincipal.ReadWrite.All'], 'agentIdCreate', {
        agentWrite: true,
        ownedBy: blueprintOf(state, body),
      });
    }
    // Plain POST /servicePrincipals {appId} (the Agent 365 CLI creates blueprint principals this way).
    return R('servicePrincipal.create', 'serviceprincipal-post-serviceprincipals-permissions.md', ['Application.ReadWrite.All', 'AgentIdentity.Create.All', 'AgentIdentityBlueprintPrincipal.Create', 'Directory.ReadWrite.All'], ['Application.ReadWrite.OwnedBy', 'AgentIdentity.Create.All', 'AgentIdentity.CreateAsManager', 'AgentIdentityBlueprintPrincipal.Create', 'Application.ReadWrite.All', 'Directory.ReadWrite.All'], 'agentIdCreate', { ownedBy: blueprintOf(state, body) });
  }
  const [seg] = rest;
  if (type === 'agentIdentity') {
    if (read) return R('agentIdentity.read', 'agentidentity-get-permissions.md / agentidentity-list-permissions.md', AI_READ, [...AI_READ, 'AgentIdentity.CreateAsManager'], 'member');
    const w = (op: string, doc: string, delegated: string[] | null, application: string[]) => R(op, doc, delegated, application, 'agentId', { agentWrite: true, ownedBy: owned });
    if (seg === undefined && m === 'DELETE') return w('agentIdentity.delete', 'agentidentity-delete-permissions.md', ['AgentIdentity.DeleteRestore.All'], ['AgentIdentity.DeleteRestore.All', 'AgentIdentity.CreateAsManager']);
    if (seg === undefined) return w('agentIdentity.update', 'agentidentity-update-permissions.md', ['AgentIdentity.EnableDisable.All', 'AgentIdentity.ReadWrite.All'], ['AgentIdentity.EnableDisable.All', 'AgentIdentity.CreateAsManager', 'AgentIdentity.ReadWrite.All']);
    // Sponsors of an agent identity: delegated "Not supported." (GD agentidentity-post-sponsors-permissions.md; the delete include agrees).
    if (seg === 'sponsors') return w('agentIdentity.sponsors', 'agentidentity-post-sponsors-permissions.md', null, ['AgentIdentity.ReadWrite.All']);
    return w(`agentIdentity.${seg}`, 'agentidentity-delete-owners-permissions.md', ['AgentIdentity.ReadWrite.All'], ['AgentIdentity.ReadWrite.All', 'AgentIdentity.CreateAsManager']);
  }
  if (type === 'agentIdentityBlueprintPrincipal') {
    if (read) return R('agentIdentityBlueprintPrincipal.read', 'agentidentityblueprintprincipal-list-permissions.md', BPP_READ, BPP_READ, 'member');
    const w = (op: string, doc: string, perms: string[]) => R(op, doc, perms, perms, 'agentId', { agentWrite: true, ownedBy: owned });
    if (seg === undefined && m === 'DELETE') return w('agentIdentityBlueprintPrincipal.delete', 'agentidentityblueprintprincipal-delete-permissions.md', ['AgentIdentityBlueprintPrincipal.DeleteRestore.All', 'AgentIdentityBlueprintPrincipal.ReadWrite.All']);
    if (seg === undefined) {
      const enable = body && Object.keys(body).every((k) => k === 'accountEnabled' || k === '@odata.type');
      return w('agentIdentityBlueprintPrincipal.update', 'agentidentityblueprintprincipal-update-permissions.md', [...(enable ? ['AgentIdentityBlueprintPrincipal.EnableDisable.All'] : []), 'AgentIdentityBlueprintPrincipal.ReadWrite.All']);
    }
    return w(`agentIdentityBlueprintPrincipal.${seg}`, 'agentidentityblueprintprincipal-post-sponsors-permissions.md', ['AgentIdentityBlueprintPrincipal.ReadWrite.All']);
  }
  if (read) return R('servicePrincipal.read', 'serviceprincipal-get-permissions.md', APP_READ, APP_READ, 'member');
  return R('servicePrincipal.write', 'serviceprincipal-update-permissions.md', ['Application.ReadWrite.All', 'Directory.ReadWrite.All'], ['Application.ReadWrite.OwnedBy', 'Application.ReadWrite.All', 'Directory.ReadWrite.All'], 'agentId', { ownedBy: owned });
}

function users(m: string, read: boolean, rest: string[], type: EntityType | undefined, target: StoredObject | undefined, body: Record<string, unknown> | undefined): Requirement {
  if (read) return R('user.read', 'agentuser-list-permissions.md / user-get-permissions.md', ['User.Read', ...USER_READ], USER_READ, 'member');
  if (type === 'agentUser') {
    const parented = ['AgentIdUser.ReadWrite.IdentityParentedBy', 'AgentIdUser.ReadWrite.All', 'User.ReadWrite.All'];
    if (!target) return R('agentUser.create', 'agentuser-post-permissions.md', parented, parented, 'agentUser', { agentWrite: true });
    if (rest[0] === 'sponsors') return R('agentUser.sponsors', 'agentuser-post-sponsors-permissions.md', parented, parented, 'agentUser', { agentWrite: true });
    if (m === 'DELETE') return R('agentUser.delete', 'agentuser-delete-permissions.md', [...parented, 'User.DeleteRestore.All'], [...parented, 'User.DeleteRestore.All'], 'agentUser', { agentWrite: true });
    // GD agentuser-update.md: accountEnabled alone also works with User.EnableDisableAccount.All (+ User.Read.All).
    const enableOnly = body && Object.keys(body).every((k) => k === 'accountEnabled' || k === '@odata.type');
    const perms = [...parented, ...(enableOnly ? ['User.EnableDisableAccount.All'] : [])];
    return R('agentUser.update', 'agentuser-update-permissions.md', perms, perms, 'agentUser', { agentWrite: true });
  }
  return R('user.write', 'user-update-permissions.md', ['User.ReadWrite.All'], ['User.ReadWrite.All'], 'userAdmin');
}

function deletedItems(m: string, rest: string[], state: TenantState): Requirement | undefined {
  if (rest[0] !== 'deleteditems') return undefined;
  const item = rest[1] ? state.objects[rest[1]] : undefined;
  const t = item?.type;
  // GD directory-deleteditems-{list,get,restore,delete}-permissions.md name per-type permissions;
  // the Agent ID types use their DeleteRestore permissions (graph-agent-id.md §5).
  if (m === 'GET') return R('deletedItems.read', 'directory-deleteditems-list-permissions.md', [...APP_READ, ...USER_READ, 'AgentIdentity.Read.All', 'AgentIdentityBlueprint.Read.All'], [...APP_READ, ...USER_READ], 'member');
  const perms =
    t === 'agentIdentity' ? ['AgentIdentity.DeleteRestore.All', 'AgentIdentity.ReadWrite.All']
    : t === 'agentIdentityBlueprint' ? ['AgentIdentityBlueprint.DeleteRestore.All', 'AgentIdentityBlueprint.ReadWrite.All']
    : t === 'agentIdentityBlueprintPrincipal' ? ['AgentIdentityBlueprintPrincipal.DeleteRestore.All', 'AgentIdentityBlueprintPrincipal.ReadWrite.All']
    : t === 'agentUser' ? ['AgentIdUser.ReadWrite.All', 'User.DeleteRestore.All', 'User.ReadWrite.All']
    : ['Application.ReadWrite.All', 'User.DeleteRestore.All', 'Directory.ReadWrite.All'];
  const agent = t === 'agentIdentity' || t === 'agentIdentityBlueprint' || t === 'agentIdentityBlueprintPrincipal' || t === 'agentUser';
  return R('deletedItems.restoreOrPurge', 'directory-deleteditems-restore-permissions.md', perms, perms, agent ? (t === 'agentUser' ? 'agentUser' : 'agentId') : 'userAdmin', { agentWrite: agent, ownedBy: item ? [item] : [] });
}

function lookup(state: TenantState, set: string, key: { kind: string; value: string }): StoredObject | undefined {
  const v = key.value.toLowerCase();
  const live = (o: StoredObject) => !o.deletedDateTime;
  if (key.kind === 'id') {
    const byId = state.objects[v];
    if (byId && live(byId)) return byId;
    if (set === 'users') return Object.values(state.objects).find((o) => live(o) && String(o.props.userPrincipalName ?? '').toLowerCase() === v);
    return undefined;
  }
  const setTypes: Record<string, EntityType[]> = { applications: ['application', 'agentIdentityBlueprint'], servicePrincipals: ['servicePrincipal', 'agentIdentityBlueprintPrincipal', 'agentIdentity'] };
  const types = setTypes[set] ?? [];
  return Object.values(state.objects).find((o) => live(o) && types.includes(o.type) && String(key.kind === 'appId' ? o.props.appId : o.props.uniqueName).toLowerCase() === v);
}

function declared(body: Record<string, unknown> | undefined): EntityType | undefined {
  const raw = body?.['@odata.type'];
  if (typeof raw !== 'string') return undefined;
  const name = raw.replace(/^#/, '').replace(/^(microsoft\.graph|graph)\./i, '').toLowerCase();
  const map: Record<string, EntityType> = { agentidentityblueprint: 'agentIdentityBlueprint', agentidentity: 'agentIdentity', agentidentityblueprintprincipal: 'agentIdentityBlueprintPrincipal', agentuser: 'agentUser' };
  return map[name];
}

function blueprintOf(state: TenantState, body: Record<string, unknown> | undefined): StoredObject[] {
  const appId = typeof body?.appId === 'string' ? body.appId : undefined;
  const bp = appId ? applicationOf(state, appId) : undefined;
  return bp ? [bp] : [];
}

// ---------------------------------------------------------------------------------------------
// the decision

export type Decision = { allowed: true } | { allowed: false; reason: string };

const hasAny = (held: string[], wanted: string[]) => wanted.some((w) => held.some((h) => h.toLowerCase() === w.toLowerCase()));

export function decide(caller: Caller, req: Requirement, state: TenantState): Decision {
  const first = decideOne(caller, req, state);
  return first.allowed && req.also ? decide(caller, req.also, state) : first;
}

function decideOne(caller: Caller, req: Requirement, state: TenantState): Decision {
  const g = caller.grants;
  if (!g) return { allowed: true }; // a trusted in-test caller, no token involved
  const held = caller.kind === 'app' ? g.roles : g.scopes;
  if (req.agentWrite && hasAny(held, TRAP_PERMISSIONS)) {
    return { allowed: false, reason: `${req.op}: the token carries ${TRAP_PERMISSIONS.filter((p) => hasAny(held, [p])).join(', ')}, which makes Graph ignore its Agent ID write permissions` };
  }
  if (caller.kind === 'app') {
    if (req.appAnswersItself) return { allowed: true };
    if (req.blueprintSelf && req.blueprintSelf.toLowerCase() === caller.appId.toLowerCase() && applicationOf(state, caller.appId)?.type === 'agentIdentityBlueprint') return { allowed: true };
    if (req.application === null) return { allowed: false, reason: `${req.op}: application permissions are not supported` };
    return hasAny(g.roles, req.application) ? { allowed: true } : { allowed: false, reason: `${req.op}: needs one of the application permissions ${req.application.join(', ')}` };
  }
  if (req.delegated === null) return { allowed: false, reason: `${req.op}: delegated permissions are not supported (app-only)` };
  if (!hasAny(g.scopes, req.delegated)) return { allowed: false, reason: `${req.op}: needs one of the delegated permissions ${req.delegated.join(', ')}` };
  return roleAllows(caller.userId, req, state) ? { allowed: true } : { allowed: false, reason: `${req.op}: the signed-in user holds no role that allows it and does not own the object` };
}

function roleAllows(userId: string, req: Requirement, state: TenantState): boolean {
  if (req.roles === 'member') return true;
  const roles = new Set(state.roleAssignments.filter((r) => r.principalId.toLowerCase() === userId.toLowerCase()).map((r) => r.roleTemplateId));
  // "By default, Global Administrator and other administrator roles don't have permissions to
  // read, define, or assign custom security attributes" (ED custom-security-attributes-overview.md).
  switch (req.roles) {
    case 'attrDefineRead':
      return [ROLE.attributeDefinitionReader, ROLE.attributeDefinitionAdministrator, ROLE.attributeAssignmentReader, ROLE.attributeAssignmentAdministrator].some((r) => roles.has(r));
    case 'attrDefine':
      return roles.has(ROLE.attributeDefinitionAdministrator);
    case 'attrAssignRead':
      return roles.has(ROLE.attributeAssignmentReader) || roles.has(ROLE.attributeAssignmentAdministrator);
    case 'attrAssign':
      return roles.has(ROLE.attributeAssignmentAdministrator);
  }
  if (roles.has(ROLE.globalAdministrator)) return true;
  const owns = (req.ownedBy ?? []).some((o) => (o.owners ?? []).some((id) => id.toLowerCase() === userId.toLowerCase()));
  switch (req.roles) {
    case 'agentId':
      return roles.has(ROLE.agentIdAdministrator) || owns;
    case 'agentIdCreate':
      return roles.has(ROLE.agentIdAdministrator) || roles.has(ROLE.agentIdDeveloper) || owns;
    case 'agentUser':
      return roles.has(ROLE.agentIdAdministrator) || roles.has(ROLE.userAdministrator) || roles.has(ROLE.privilegedAuthenticationAdministrator);
    case 'userAdmin':
      return roles.has(ROLE.userAdministrator);
    case 'reports':
      return [ROLE.reportsReader, ROLE.securityReader, ROLE.securityAdministrator, ROLE.globalReader].some((r) => roles.has(r));
    case 'caRead':
      return [ROLE.conditionalAccessAdministrator, ROLE.securityAdministrator, ROLE.securityReader, ROLE.globalReader].some((r) => roles.has(r));
    case 'caAdmin':
      return roles.has(ROLE.conditionalAccessAdministrator) || roles.has(ROLE.securityAdministrator);
    case 'riskRead':
      return [ROLE.securityReader, ROLE.securityOperator, ROLE.securityAdministrator, ROLE.globalReader].some((r) => roles.has(r));
    case 'riskWrite':
      return roles.has(ROLE.securityOperator) || roles.has(ROLE.securityAdministrator);
  }
}

/**
 * The authorization step of the emulator pipeline (src/mock/handler.ts, step 4), callable for
 * each inner request of a $batch as well: throws 403 Authorization_RequestDenied when the
 * caller's token does not allow this request.
 */
export async function authorizeRequest(ctx: MockContext): Promise<void> {
  if (!ctx.caller.grants) return;
  const m = ctx.method;
  let body: Record<string, unknown> | undefined;
  // Only writes whose requirement depends on the body read it (cached for the handler).
  if (m === 'POST' || m === 'PATCH') body = await ctx.json().catch(() => undefined);
  const decision = await ctx.store.read((state) => {
    const select = (ctx.url.searchParams.get('$select') ?? '').split(',').map((p) => p.trim()).filter(Boolean);
    const req = requirementFor(m, ctx.path, state, body, select);
    return req ? decide(ctx.caller, req, state) : ({ allowed: true } as Decision);
  });
  if (!decision.allowed) {
    // Graph says no more than "Insufficient privileges"; the why is for emulator debugging only.
    if (process.env.AGENTID_MOCK_TRACE) console.error(`[mock] 403 ${decision.reason}`);
    throw GraphErrors.forbidden();
  }
}
