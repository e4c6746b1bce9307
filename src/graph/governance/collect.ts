import type { GraphClient } from '../client.js';
import type { GraphRequestError } from '../errors.js';
import { BatchEngine } from '../batch.js';
import type { Pacer } from '../pacer.js';
import { AGENT_USER_SELECT } from '../agentUsers.js';
import { AgentIdentity, Blueprint, BlueprintPrincipal, DirectoryObject, FederatedIdentityCredential, InheritablePermission, User, parseList } from '../models.js';
import { AppRoleAssignment, Grant, grantPaths } from '../grants.js';
import { odataString, paths } from '../paths.js';
import { signInFilter, streamLog } from '../logs.js';

// One pass over the tenant for `agentid report`: every collection is read by paging (100 to
// 1,000 objects a request), and what Graph only offers per object (sponsors, owners, a
// blueprint's federated and inheritable lists) is read 20 to a $batch request. Nothing is read
// one object at a time. Tenant-wide lists replace per-object reads where Graph has one:
// delegated grants (/oauth2PermissionGrants), directory role assignments
// (/roleManagement/directory/roleAssignments), and sign-ins (one filtered stream of the window).
// App role assignments are per principal ($batch): bench/report.mjs counts what all this costs.

export interface Sponsor {
  id: string;
  kind: 'user' | 'group' | 'other';
  displayName: string | null;
  accountEnabled: boolean | null;
  userPrincipalName: string | null;
}

export interface SignInStats {
  lastSuccess?: string;
  lastAttempt?: string;
  count: number;
  failures: number;
}

export interface Snapshot {
  now: Date;
  since: string;
  blueprints: Blueprint[];
  principals: BlueprintPrincipal[];
  agents: AgentIdentity[];
  agentUsers: User[];
  /** Sponsors by object id (blueprints, agents, agent users). */
  sponsors: Map<string, Sponsor[]>;
  /** Owners of blueprints, by blueprint id. */
  owners: Map<string, { id: string }[]>;
  federated: Map<string, FederatedIdentityCredential[]>;
  inheritable: Map<string, InheritablePermission[]>;
  /** Sponsor groups (lower-case id) → members read: 0 when empty, 1 when it has any; absent when not read (see collect). */
  groupMembers: Map<string, number>;
  grants: Grant[];
  /** App role assignments held by the blueprint principals and agents. */
  graphAppRoles: AppRoleAssignment[];
  roleAssignments: { principalId: string; roleDefinitionId: string }[];
  /** By appId (an agent identity's id) and by agent user id. */
  signInsByApp: Map<string, SignInStats>;
  signInsByUser: Map<string, SignInStats>;
  /** yyyy-mm-dd → counts, over the window. */
  daily: Map<string, { signIns: number; failures: number }>;
  /** What could not be read (a list this tenant or token does not offer). */
  warnings: string[];
  /** Why the sign-in logs could not be read: the stale rules were skipped. */
  signInError?: GraphRequestError;
}

export interface CollectOptions {
  pacer: Pacer;
  now: Date;
  /** Sign-ins are read from this many days back. */
  days: number;
  /** Limit to these blueprints (appIds). */
  blueprintAppIds?: string[] | undefined;
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (what: string) => void;
}

const AGENT_SELECT = 'id,displayName,accountEnabled,agentIdentityBlueprintId,createdDateTime';
const SPONSOR_SELECT = 'id,displayName,accountEnabled,userPrincipalName';

/** GETs 20 to a $batch; per URL the collection (following any nextLink unless `firstPageOnly`), or the error. */
async function batchGet(client: GraphClient, urls: string[], o: CollectOptions, firstPageOnly = false): Promise<Map<string, unknown[] | GraphRequestError>> {
  const out = new Map<string, unknown[] | GraphRequestError>();
  if (!urls.length) return out;
  const engine = new BatchEngine(client, o.pacer, { concurrency: o.concurrency ?? 8 });
  const more: [string, string][] = [];
  await engine.run(
    [...new Set(urls)].map((url) => ({ key: url, request: () => ({ method: 'GET' as const, url }) })),
    {
      onDone: async (r) => {
        const body = (r.result ?? {}) as { value?: unknown[]; '@odata.nextLink'?: string };
        out.set(r.job.key, body.value ?? []);
        if (body['@odata.nextLink'] && !firstPageOnly) more.push([r.job.key, body['@odata.nextLink']]);
      },
      onFailed: async (job, err) => {
        out.set(job.key, err);
      },
    },
    o.signal,
  );
  for (const [url, next] of more) out.set(url, [...(out.get(url) as unknown[]), ...(await client.list(next))]);
  return out;
}

/** A tenant-wide list that a token or tenant may not offer: a warning, not a failed report. */
async function optionalList(client: GraphClient, path: string, what: string, warnings: string[], query?: Record<string, string>): Promise<unknown[]> {
  try {
    return await client.list(path, query ? { query } : {});
  } catch (err) {
    const e = err as GraphRequestError;
    warnings.push(`${what} not read (${e.code ?? 'error'}: ${e.message}); the rules that need them were not checked.`);
    return [];
  }
}

function toSponsor(o: DirectoryObject): Sponsor {
  const t = String(o['@odata.type'] ?? '').toLowerCase();
  const r = o as Record<string, unknown>;
  return {
    id: o.id,
    kind: t.endsWith('.group') ? 'group' : t.endsWith('.user') || r.userPrincipalName !== undefined ? 'user' : 'other',
    displayName: o.displayName ?? null,
    accountEnabled: typeof r.accountEnabled === 'boolean' ? r.accountEnabled : null,
    userPrincipalName: typeof r.userPrincipalName === 'string' ? r.userPrincipalName : null,
  };
}

export async function collect(client: GraphClient, o: CollectOptions): Promise<Snapshot> {
  const warnings: string[] = [];
  const since = new Date(o.now.getTime() - o.days * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const wanted = o.blueprintAppIds?.map((a) => a.toLowerCase());
  const inScope = (appId: string | null | undefined) => !wanted || wanted.includes(String(appId ?? '').toLowerCase());

  o.onProgress?.('blueprints, principals, agents and agent users');
  const [blueprintsRaw, principalsRaw, agentsRaw, agentUsersRaw] = await Promise.all([
    client.list(paths.blueprints()),
    client.list(paths.principals(), { query: { $select: 'id,appId,displayName,accountEnabled' } }),
    wanted
      ? Promise.all(wanted.map((a) => client.list(paths.agents(), { query: { $filter: `agentIdentityBlueprintId eq ${odataString(a)}`, $select: AGENT_SELECT } }))).then((l) => l.flat())
      : client.list(paths.agents(), { query: { $select: AGENT_SELECT } }),
    client.list(paths.agentUsers(), { query: { $select: AGENT_USER_SELECT } }),
  ]);
  const blueprints = parseList(Blueprint, blueprintsRaw, 'blueprint').filter((b) => inScope(b.appId));
  const principals = parseList(BlueprintPrincipal, principalsRaw, 'blueprint principal').filter((p) => inScope(p.appId));
  const agents = parseList(AgentIdentity, agentsRaw, 'agent identity');
  const agentIds = new Set(agents.map((a) => a.id.toLowerCase()));
  // Agent users of agents that are gone are kept in a whole-tenant report (drift); with
  // --blueprint only those of its agents.
  const agentUsers = parseList(User, agentUsersRaw, 'agent user').filter((u) => !wanted || agentIds.has(String(u.identityParentId ?? '').toLowerCase()));

  o.onProgress?.('sponsors, owners, federated and inheritable permissions');
  const sponsorUrl = new Map<string, string>();
  for (const b of blueprints) sponsorUrl.set(b.id, `${paths.blueprint(b.id)}/sponsors?$select=${SPONSOR_SELECT}`);
  for (const a of agents) sponsorUrl.set(a.id, `${paths.agent(a.id)}/sponsors?$select=${SPONSOR_SELECT}`);
  for (const u of agentUsers) sponsorUrl.set(u.id, `/users/${u.id}/sponsors?$select=${SPONSOR_SELECT}`);
  const ownerUrl = (id: string) => `${paths.blueprint(id)}/owners?$select=id`;
  const ficUrl = (id: string) => `${paths.blueprint(id)}/federatedIdentityCredentials`;
  const inhUrl = (id: string) => `${paths.blueprint(id)}/inheritablePermissions`;
  const perObject = await batchGet(client, [...sponsorUrl.values(), ...blueprints.flatMap((b) => [ownerUrl(b.id), ficUrl(b.id), inhUrl(b.id)])], o);
  const listOf = <T>(url: string, parse: (v: unknown[]) => T[]): T[] => {
    const v = perObject.get(url);
    if (v === undefined || !Array.isArray(v)) {
      if (v) warnings.push(`${url.split('?')[0]}: ${v.code}: ${v.message}`);
      return [];
    }
    return parse(v);
  };
  const sponsors = new Map<string, Sponsor[]>();
  for (const [id, url] of sponsorUrl) {
    const v = perObject.get(url);
    // An object whose sponsors could not be read is not reported as orphaned.
    if (Array.isArray(v)) sponsors.set(id, parseList(DirectoryObject, v, 'sponsor').map(toSponsor));
    else if (v) warnings.push(`sponsors of ${id}: ${v.code}: ${v.message}`);
  }
  const owners = new Map<string, { id: string }[]>();
  const federated = new Map<string, FederatedIdentityCredential[]>();
  const inheritable = new Map<string, InheritablePermission[]>();
  for (const b of blueprints) {
    if (Array.isArray(perObject.get(ownerUrl(b.id)))) owners.set(b.id, listOf(ownerUrl(b.id), (v) => parseList(DirectoryObject, v, 'owner')));
    federated.set(b.id, listOf(ficUrl(b.id), (v) => parseList(FederatedIdentityCredential, v, 'federated identity credential')));
    inheritable.set(b.id, listOf(inhUrl(b.id), (v) => parseList(InheritablePermission, v, 'inheritable permission')));
  }
  perObject.clear();

  // A sponsor group can act only if someone is in it: one page of one member per distinct
  // sponsor group (GD group-list-members.md: $top, $select), 20 to a $batch. A group whose
  // members cannot be read (403 without GroupMember.Read.All) counts as able to act: a warning.
  const groupMembers = new Map<string, number>();
  const sponsorGroups = new Set<string>();
  for (const list of sponsors.values()) for (const sp of list) if (sp.kind === 'group') sponsorGroups.add(sp.id.toLowerCase());
  const memberUrl = (id: string) => `/groups/${id}/members?$select=id&$top=1`;
  const memberLists = await batchGet(client, [...sponsorGroups].map(memberUrl), o, true);
  for (const g of sponsorGroups) {
    const v = memberLists.get(memberUrl(g));
    if (Array.isArray(v)) groupMembers.set(g, v.length);
    else if (v) warnings.push(`members of sponsor group ${g} not read (${v.code}: ${v.message}); it counts as able to act.`);
  }

  o.onProgress?.('grants, app roles and directory roles');
  // App roles are read per principal (20 to a $batch): Graph has no tenant-wide list of them
  // other than a resource's appRoleAssignedTo, which needs the resource's own object id.
  const holders = [...principals.map((p) => p.id), ...agents.map((a) => a.id)];
  const [grantsRaw, appRoleLists, rolesRaw] = await Promise.all([
    optionalList(client, grantPaths.grants(), 'delegated permission grants', warnings),
    batchGet(client, holders.map((id) => grantPaths.assignments(id)), o),
    optionalList(client, '/roleManagement/directory/roleAssignments', 'directory role assignments', warnings, { $select: 'id,principalId,roleDefinitionId' }),
  ]);
  const grants = parseList(Grant, grantsRaw, 'oauth2PermissionGrant');
  const graphAppRoles: AppRoleAssignment[] = [];
  for (const id of holders) {
    const v = appRoleLists.get(grantPaths.assignments(id));
    if (Array.isArray(v)) graphAppRoles.push(...parseList(AppRoleAssignment, v, 'appRoleAssignment'));
    else if (v) warnings.push(`app role assignments of ${id}: ${v.code}: ${v.message}`);
  }
  appRoleLists.clear();
  const roleAssignments = (rolesRaw as { principalId?: string; roleDefinitionId?: string }[]).filter((r) => r.principalId && r.roleDefinitionId).map((r) => ({ principalId: r.principalId!, roleDefinitionId: r.roleDefinitionId! }));

  o.onProgress?.('sign-ins');
  const signInsByApp = new Map<string, SignInStats>();
  const signInsByUser = new Map<string, SignInStats>();
  const daily = new Map<string, { signIns: number; failures: number }>();
  for (let t = Date.parse(since); t <= o.now.getTime(); t += 86_400_000) daily.set(new Date(t).toISOString().slice(0, 10), { signIns: 0, failures: 0 });
  const bump = (m: Map<string, SignInStats>, key: string, time: string, ok: boolean) => {
    let s = m.get(key);
    if (!s) m.set(key, (s = { count: 0, failures: 0 }));
    s.count++;
    if (!ok) s.failures++;
    if (!s.lastAttempt || time > s.lastAttempt) s.lastAttempt = time;
    if (ok && (!s.lastSuccess || time > s.lastSuccess)) s.lastSuccess = time;
  };
  let signInError: GraphRequestError | undefined;
  try {
    const filter = signInFilter({ since, agentTypes: ['agenticAppInstance', 'agentIDuser', 'agentIdentityBlueprintPrincipal'] });
    for await (const page of streamLog<Record<string, unknown>>(client, '/auditLogs/signIns', { filter, all: true, ...(o.signal ? { signal: o.signal } : {}) })) {
      for (const r of page.rows) {
        const time = String(r.createdDateTime ?? '');
        const ok = Number((r.status as { errorCode?: number } | undefined)?.errorCode ?? 0) === 0;
        const agent = r.agent as { agentType?: string } | undefined;
        if (agent?.agentType === 'agentIDuser' && r.userId) bump(signInsByUser, String(r.userId).toLowerCase(), time, ok);
        else if (r.appId) bump(signInsByApp, String(r.appId).toLowerCase(), time, ok);
        const d = daily.get(time.slice(0, 10));
        if (d) {
          d.signIns++;
          if (!ok) d.failures++;
        }
      }
    }
  } catch (err) {
    const e = err as GraphRequestError;
    warnings.push(`sign-in logs not read (${e.code ?? 'error'}: ${e.message}); the stale rules were not checked.`);
    signInError = e;
  }

  return { ...(signInError ? { signInError } : {}), now: o.now, since, blueprints, principals, agents, agentUsers, sponsors, owners, federated, inheritable, groupMembers, grants, graphAppRoles, roleAssignments, signInsByApp, signInsByUser, daily, warnings };
}
