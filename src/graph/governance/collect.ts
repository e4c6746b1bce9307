import type { GraphClient } from '../client.js';
import type { GraphRequestError } from '../errors.js';
import { BatchEngine } from '../batch.js';
import type { Pacer } from '../pacer.js';
import { AGENT_USER_SELECT } from '../agentUsers.js';
import { AgentIdentity, Blueprint, BlueprintPrincipal, DirectoryObject, FederatedIdentityCredential, InheritablePermission, User, parseAs, parseList } from '../models.js';
import { AppRoleAssignment, Grant, grantPaths } from '../grants.js';
import { odataString, paths } from '../paths.js';
import { signInFilter, streamLog } from '../logs.js';
import { HIGH_PRIVILEGE } from './rules.js';

// One pass over the tenant for `agentid report`: every collection is read by paging (100 to
// 1,000 objects a request), and what Graph only offers per object (sponsors, owners, a
// blueprint's federated and inheritable lists) is read 20 to a $batch request. Nothing is read
// one object at a time. Tenant-wide lists replace per-object reads where Graph has one:
// delegated grants (/oauth2PermissionGrants), directory role assignments
// (/roleManagement/directory/roleAssignments), and sign-ins (one filtered stream of the window).
// App role assignments are per principal ($batch): bench/report.mjs counts what all this costs.
//
// Memory (issue #14 section 5: < 200 MB at 20,000 agents): every page and every $batch answer
// is reduced to what the rules read as it arrives, and the raw JSON is dropped at once: agents
// and agent users to the properties the rules use, sponsors to one shared record per distinct
// sponsor, grants and app role assignments to the high-privilege ones, sign-ins to per-agent
// counts and last times. Nothing holds a whole collection's raw answer.

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
  /** Delegated grants naming a high-privilege scope (rules.ts HIGH_PRIVILEGE); the others are not kept. */
  grants: Grant[];
  /** High-privilege app role assignments held by the blueprint principals and agents; the others are not kept. */
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
/** Sign-ins per page ($top; GD signin-list.md: at most 1,000). bench/report.mjs: 20,000 sign-ins cost 40 pages instead of 20. */
const SIGNIN_PAGE = 500;

type Rows = (rows: unknown[]) => void;

/**
 * GETs 20 to a $batch, one job per key (its URL built when sent). Each answer's rows go to
 * `take` as the answer arrives, then any further pages (unless `firstPageOnly`); a failure goes
 * to `fail`. No answer is kept: the caller keeps what the rules need.
 */
async function batchEach(client: GraphClient, keys: string[], urlOf: (key: string) => string, o: CollectOptions, take: (key: string, rows: unknown[]) => void, fail: (key: string, err: GraphRequestError) => void, firstPageOnly = false): Promise<void> {
  if (!keys.length) return;
  const engine = new BatchEngine(client, o.pacer, { concurrency: o.concurrency ?? 8 });
  const more: [string, string][] = [];
  await engine.run(
    keys.map((key) => ({ key, request: () => ({ method: 'GET' as const, url: urlOf(key) }) })),
    {
      onDone: async (r) => {
        const body = (r.result ?? {}) as { value?: unknown[]; '@odata.nextLink'?: string };
        take(r.job.key, body.value ?? []);
        if (body['@odata.nextLink'] && !firstPageOnly) more.push([r.job.key, body['@odata.nextLink']]);
      },
      onFailed: async (job, err) => fail(job.key, err),
    },
    o.signal,
  );
  for (const [key, next] of more) for await (const page of client.pages(next)) take(key, page.value);
}

/** Every page of a collection to `take` as it arrives (the pages themselves are not kept). */
async function eachPage(client: GraphClient, path: string, take: Rows, query?: Record<string, string>): Promise<void> {
  for await (const page of client.pages<unknown>(path, query ? { query } : {})) take(page.value);
}

/** A tenant-wide list that a token or tenant may not offer: a warning, not a failed report. */
async function optionalEach(client: GraphClient, path: string, what: string, warnings: string[], take: Rows, query?: Record<string, string>): Promise<void> {
  try {
    await eachPage(client, path, take, query);
  } catch (err) {
    const e = err as GraphRequestError;
    warnings.push(`${what} not read (${e.code ?? 'error'}: ${e.message}); the rules that need them were not checked.`);
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

/** An agent identity with only what the rules and the report read. */
function compactAgent(v: unknown): AgentIdentity {
  const a = parseAs(AgentIdentity, v, 'agent identity');
  return { id: a.id, displayName: a.displayName, accountEnabled: a.accountEnabled ?? null, agentIdentityBlueprintId: a.agentIdentityBlueprintId ?? null, createdDateTime: a.createdDateTime ?? null };
}

/** An agent user with only what the rules, the report and bulk governance read. */
function compactAgentUser(v: unknown): User {
  const u = parseAs(User, v, 'agent user');
  return { id: u.id, displayName: u.displayName ?? null, userPrincipalName: u.userPrincipalName ?? null, accountEnabled: u.accountEnabled ?? null, identityParentId: u.identityParentId ?? null, createdDateTime: (u as Record<string, unknown>).createdDateTime ?? null };
}

export async function collect(client: GraphClient, o: CollectOptions): Promise<Snapshot> {
  const warnings: string[] = [];
  const since = new Date(o.now.getTime() - o.days * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const wanted = o.blueprintAppIds?.map((a) => a.toLowerCase());
  const inScope = (appId: string | null | undefined) => !wanted || wanted.includes(String(appId ?? '').toLowerCase());

  o.onProgress?.('blueprints, principals, agents and agent users');
  const blueprints: Blueprint[] = [];
  const principals: BlueprintPrincipal[] = [];
  const agents: AgentIdentity[] = [];
  let agentUsers: User[] = [];
  await Promise.all([
    eachPage(client, paths.blueprints(), (rows) => blueprints.push(...parseList(Blueprint, rows, 'blueprint').filter((b) => inScope(b.appId)))),
    eachPage(client, paths.principals(), (rows) => principals.push(...parseList(BlueprintPrincipal, rows, 'blueprint principal').filter((p) => inScope(p.appId))), { $select: 'id,appId,displayName,accountEnabled' }),
    // With --blueprint, one list per blueprint, kept in the order the blueprints were named.
    wanted
      ? Promise.all(
          wanted.map(async (a) => {
            const mine: AgentIdentity[] = [];
            await eachPage(client, paths.agents(), (rows) => mine.push(...rows.map(compactAgent)), { $filter: `agentIdentityBlueprintId eq ${odataString(a)}`, $select: AGENT_SELECT });
            return mine;
          }),
        ).then((lists) => agents.push(...lists.flat()))
      : eachPage(client, paths.agents(), (rows) => agents.push(...rows.map(compactAgent)), { $select: AGENT_SELECT }),
    eachPage(client, paths.agentUsers(), (rows) => agentUsers.push(...rows.map(compactAgentUser)), { $select: AGENT_USER_SELECT }),
  ]);
  // Agent users of agents that are gone are kept in a whole-tenant report (drift); with
  // --blueprint only those of its agents.
  if (wanted) {
    const agentIds = new Set(agents.map((a) => a.id.toLowerCase()));
    agentUsers = agentUsers.filter((u) => agentIds.has(String(u.identityParentId ?? '').toLowerCase()));
  }

  o.onProgress?.('sponsors, owners, federated and inheritable permissions');
  // Job keys: an object's own id for its sponsors (ids are GUIDs, so no clash with the prefixed
  // keys of a blueprint's owners, federated and inheritable lists). One run, so the blueprints'
  // lists share $batch requests with the sponsors.
  const sponsorUrl = new Map<string, string>();
  for (const b of blueprints) sponsorUrl.set(b.id, paths.blueprint(b.id));
  for (const a of agents) sponsorUrl.set(a.id, paths.agent(a.id));
  for (const u of agentUsers) sponsorUrl.set(u.id, `/users/${u.id}`);
  const ownerKey = (id: string) => `owners:${id}`;
  const ficKey = (id: string) => `fic:${id}`;
  const inhKey = (id: string) => `inh:${id}`;
  const extraUrl = new Map<string, string>();
  for (const b of blueprints) {
    extraUrl.set(ownerKey(b.id), `${paths.blueprint(b.id)}/owners?$select=id`);
    extraUrl.set(ficKey(b.id), `${paths.blueprint(b.id)}/federatedIdentityCredentials`);
    extraUrl.set(inhKey(b.id), `${paths.blueprint(b.id)}/inheritablePermissions`);
  }
  const sponsors = new Map<string, Sponsor[]>();
  // One record per distinct sponsor (at 20,000 agents most share a handful of sponsors).
  const pool = new Map<string, Sponsor>();
  const intern = (sp: Sponsor): Sponsor => {
    const k = sp.id.toLowerCase();
    const had = pool.get(k);
    if (had) return had;
    pool.set(k, sp);
    return sp;
  };
  const owners = new Map<string, { id: string }[]>();
  const federated = new Map<string, FederatedIdentityCredential[]>();
  const inheritable = new Map<string, InheritablePermission[]>();
  const append = <T>(m: Map<string, T[]>, key: string, items: T[]) => {
    const prev = m.get(key);
    m.set(key, prev ? [...prev, ...items] : items);
  };
  await batchEach(
    client,
    [...sponsorUrl.keys(), ...extraUrl.keys()],
    (key) => extraUrl.get(key) ?? `${sponsorUrl.get(key)}/sponsors?$select=${SPONSOR_SELECT}`,
    o,
    (key, rows) => {
      if (sponsorUrl.has(key)) append(sponsors, key, parseList(DirectoryObject, rows, 'sponsor').map((x) => intern(toSponsor(x))));
      else if (key.startsWith('owners:')) append(owners, key.slice(7), parseList(DirectoryObject, rows, 'owner').map((x) => ({ id: x.id })));
      else if (key.startsWith('fic:')) append(federated, key.slice(4), parseList(FederatedIdentityCredential, rows, 'federated identity credential'));
      else append(inheritable, key.slice(4), parseList(InheritablePermission, rows, 'inheritable permission'));
    },
    (key, err) => {
      // An object whose sponsors (or owners) could not be read is not reported as orphaned.
      if (sponsorUrl.has(key)) warnings.push(`sponsors of ${key}: ${err.code}: ${err.message}`);
      else if (!key.startsWith('owners:')) warnings.push(`${extraUrl.get(key)!.split('?')[0]}: ${err.code}: ${err.message}`);
    },
  );
  for (const b of blueprints) {
    // A list that could not be read counts as empty (and was warned about above).
    if (!federated.has(b.id)) federated.set(b.id, []);
    if (!inheritable.has(b.id)) inheritable.set(b.id, []);
  }
  sponsorUrl.clear();

  // A sponsor group can act only if someone is in it: one page of one member per distinct
  // sponsor group (GD group-list-members.md: $top, $select), 20 to a $batch. A group whose
  // members cannot be read (403 without GroupMember.Read.All) counts as able to act: a warning.
  const groupMembers = new Map<string, number>();
  const sponsorGroups = [...pool.values()].filter((sp) => sp.kind === 'group').map((sp) => sp.id.toLowerCase());
  await batchEach(
    client,
    sponsorGroups,
    (g) => `/groups/${g}/members?$select=id&$top=1`,
    o,
    (g, rows) => groupMembers.set(g, rows.length),
    (g, err) => warnings.push(`members of sponsor group ${g} not read (${err.code}: ${err.message}); it counts as able to act.`),
    true,
  );

  o.onProgress?.('grants, app roles and directory roles');
  // Only what the privilege rules can flag is kept: a grant naming a high-privilege scope, an
  // app role assignment of a high-privilege app role (evaluate.ts matches the same list).
  const highScopes = new Set(HIGH_PRIVILEGE.map((p) => p.value.toLowerCase()));
  const highRoles = new Set(HIGH_PRIVILEGE.filter((p) => p.appRoleId).map((p) => p.appRoleId.toLowerCase()));
  const grants: Grant[] = [];
  const graphAppRoles: AppRoleAssignment[] = [];
  const roleAssignments: { principalId: string; roleDefinitionId: string }[] = [];
  // App roles are read per principal (20 to a $batch): Graph has no tenant-wide list of them
  // other than a resource's appRoleAssignedTo, which needs the resource's own object id.
  const holders = [...principals.map((p) => p.id), ...agents.map((a) => a.id)];
  await Promise.all([
    optionalEach(client, grantPaths.grants(), 'delegated permission grants', warnings, (rows) => {
      for (const g of parseList(Grant, rows, 'oauth2PermissionGrant')) if (String(g.scope ?? '').split(/\s+/).some((sc) => highScopes.has(sc.toLowerCase()))) grants.push(g);
    }),
    batchEach(
      client,
      holders,
      (id) => grantPaths.assignments(id),
      o,
      (_id, rows) => {
        for (const a of parseList(AppRoleAssignment, rows, 'appRoleAssignment')) if (highRoles.has(a.appRoleId.toLowerCase())) graphAppRoles.push(a);
      },
      (id, err) => warnings.push(`app role assignments of ${id}: ${err.code}: ${err.message}`),
    ),
    optionalEach(
      client,
      '/roleManagement/directory/roleAssignments',
      'directory role assignments',
      warnings,
      (rows) => {
        for (const r of rows as { principalId?: string; roleDefinitionId?: string }[]) if (r.principalId && r.roleDefinitionId) roleAssignments.push({ principalId: r.principalId, roleDefinitionId: r.roleDefinitionId });
      },
      { $select: 'id,principalId,roleDefinitionId' },
    ),
  ]);

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
    // Pages of SIGNIN_PAGE rows, not Graph's default 1,000: a 1,000-row page is about 3 MB of
    // JSON, held several times over (socket chunks, body, text, parsed rows) until the next GC,
    // which made this phase the report's peak. Each page is folded into the counts at once.
    for await (const page of streamLog<Record<string, unknown>>(client, '/auditLogs/signIns', { filter, all: true, pageSize: SIGNIN_PAGE, ...(o.signal ? { signal: o.signal } : {}) })) {
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
