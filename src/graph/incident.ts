import { promises as fsp, readFileSync, appendFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import type { GraphClient } from './client.js';
import type { Transport } from './middleware/transport.js';
import { readMany, type Item } from './bulk.js';
import type { Pacer } from './pacer.js';
import { AGENT_USER_SELECT } from './agentUsers.js';
import { AgentIdentity, FederatedIdentityCredential, InheritablePermission, User, parseList, type Blueprint, type BlueprintPrincipal } from './models.js';
import { AppRoleAssignment, Grant, grantPaths, grantSpec } from './grants.js';
import { getCredentials } from './blueprints.js';
import { summarizeKeyCredential } from './certificates.js';
import { odataString, paths } from './paths.js';
import { signInFilter, streamLog } from './logs.js';
import { RISK_ACTION_CHUNK } from './risk.js';

// Incident containment (issue #15): what `agentid incident contain` reads, plans and keeps. The
// writes are bulk journals (bulk.ts / journal.ts), so a kill -9 is finished by running the same
// command on the same folder, or by `bulk resume` of the journals, with nothing sent twice. The
// journals' phases are the incident's steps, in the order the issue asks for:
//   0  stop authentication: the blueprint principal (--blueprint). ED manage-agent-blueprint.md:
//      disabling it stops every agent of the blueprint from authenticating, in one write;
//   1  stop authentication: each agent identity and agent user. For --agent / --agent-user this
//      is the containing step. For --blueprint it follows the principal as a second lock: the
//      agents stay disabled if someone re-enables the principal, and `incident release` puts
//      back exactly what was enabled before, object by object;
//   2  revoke the agent users' sign-in sessions;
//   3  revoke grants, app role assignments, inheritable permissions (bulk revoke's default set)
//      and, with --credentials, the blueprint's secrets, certificates and federated credentials;
//   4  confirm the agents compromised (GD beta riskyagent-confirmcompromised.md), 60 ids a
//      request (risk.ts), sent in a /beta/$batch: the API is beta only.
// Phases 0-2 are DIR/journal.jsonl, planned from the identities alone (a few list pages) so that
// authentication stops seconds after the start; phases 3-4 are DIR/journal-revoke.jsonl, planned
// from the grants and credentials read once authentication is stopped (5,000 agents cost 10,000
// reads, half a minute at Graph's read quota, that an attacker would otherwise keep).
// The evidence (objects before and after, sign-ins, audits, summary.md) is written around them.

export type ScopeKind = 'blueprint' | 'agent' | 'agentUser';

export const PHASE = { principal: 0, identities: 1, sessions: 2, revoke: 3, risk: 4 } as const;
export const STEP_OF_PHASE: Record<number, string> = { 0: 'stop-authentication', 1: 'stop-authentication', 2: 'revoke-sessions', 3: 'revoke-access', 4: 'confirm-compromised' };

export interface Snapshot {
  takenAt: string;
  blueprints: Record<string, unknown>[];
  principals: Record<string, unknown>[];
  agents: Record<string, unknown>[];
  agentUsers: Record<string, unknown>[];
  oauth2PermissionGrants: Record<string, unknown>[];
  appRoleAssignments: Record<string, unknown>[];
  inheritablePermissions: (Record<string, unknown> & { blueprintId: string })[];
  /** Summaries only: key ids, names, hints, dates, thumbprints; never a secret or a key. */
  credentials: { blueprintId: string; passwordCredentials: Record<string, unknown>[]; certificates: Record<string, unknown>[]; federatedIdentityCredentials: Record<string, unknown>[] }[];
}

/** What the incident is about, as resolved object ids (kept in incident.json for a re-run). */
export interface Targets {
  kind: ScopeKind;
  blueprints: { id: string; appId: string; principalId: string | null }[];
  agentIds: string[];
  agentUserIds: string[];
}

/** Never keep what could sign in: a secret's text, a key's bytes. */
function sanitize<T extends Record<string, unknown>>(o: T): T {
  const c: Record<string, unknown> = { ...o };
  if (Array.isArray(c.passwordCredentials)) c.passwordCredentials = (c.passwordCredentials as Record<string, unknown>[]).map(({ secretText: _s, ...rest }) => (void _s, rest));
  if (Array.isArray(c.keyCredentials)) c.keyCredentials = (c.keyCredentials as Record<string, unknown>[]).map(({ key: _k, ...rest }) => (void _k, rest));
  return c as T;
}

async function listAgentsOf(client: GraphClient, appId: string): Promise<AgentIdentity[]> {
  return parseList(AgentIdentity, await client.list(paths.agents(), { query: { $filter: `agentIdentityBlueprintId eq ${odataString(appId)}` } }), 'agent identity');
}

/**
 * Reads the identities the incident is about: for --blueprint the blueprint, its principal, its
 * agents (listed, so one created after the plan shows up in the "after" snapshot) and their
 * agent users; for --agent and --agent-user the named objects, 20 to a $batch. Only this is read
 * before authentication is stopped: it is what the first writes need.
 */
export async function readIdentities(client: GraphClient, t: Targets, pacer: Pacer, now: () => Date = () => new Date()): Promise<Snapshot> {
  const snap: Snapshot = { takenAt: now().toISOString(), blueprints: [], principals: [], agents: [], agentUsers: [], oauth2PermissionGrants: [], appRoleAssignments: [], inheritablePermissions: [], credentials: [] };
  const many = async (urls: string[]) => {
    const got = await readMany(client, urls, { pacer });
    return urls.map((u) => got.get(u) as Record<string, unknown>);
  };
  // Agent users are listed whole (up to 999 a page, GD agentuser-list.md) beside the agents,
  // whose cast pages hold 100 (agentidentity-list.md): the two chains of pages run side by side.
  const allUsers = t.kind !== 'agentUser' ? client.list(paths.agentUsers(), { query: { $select: AGENT_USER_SELECT, $top: 999 } }) : Promise.resolve([]);
  allUsers.catch(() => undefined);
  if (t.blueprints.length) {
    const pids = t.blueprints.map((b) => b.principalId).filter((p): p is string => !!p);
    const [bps, prs, lists] = await Promise.all([many(t.blueprints.map((b) => paths.blueprint(b.id))), many(pids.map((p) => paths.principal(p))), Promise.all(t.blueprints.map((b) => listAgentsOf(client, b.appId)))]);
    snap.blueprints = bps.map(sanitize);
    // Service principals carry keyCredentials and passwordCredentials too: summaries only.
    snap.principals = prs.map(sanitize);
    snap.agents = (lists.flat() as unknown as Record<string, unknown>[]).map(sanitize);
  }
  if (t.agentIds.length) snap.agents = (await many(t.agentIds.map((id) => paths.agent(id)))).map(sanitize);
  if (t.kind === 'agentUser') {
    snap.agentUsers = await many(t.agentUserIds.map((id) => `${paths.agentUser(id)}?$select=${AGENT_USER_SELECT}`));
  } else {
    const users = parseList(User, await allUsers, 'agent user');
    const parents = new Set(snap.agents.map((a) => String(a.id).toLowerCase()));
    snap.agentUsers = users.filter((u) => u.identityParentId && parents.has(u.identityParentId.toLowerCase()));
  }
  return snap;
}

/**
 * Adds what the principals and agents of `snap` hold: grants and app role assignments (bulk
 * revoke's reads, 20 to a $batch), and each blueprint's inheritable permissions and credential
 * summaries. Read once authentication is stopped, before any of it is revoked.
 */
export async function readAccess(client: GraphClient, t: Targets, snap: Snapshot, pacer: Pacer): Promise<Snapshot> {
  const out: Snapshot = { ...snap, oauth2PermissionGrants: [], appRoleAssignments: [], inheritablePermissions: [], credentials: [] };
  const sps = [...snap.principals, ...snap.agents].map((p) => String(p.id));
  if (sps.length) {
    const grantUrls = sps.map((id) => grantPaths.principalGrants(id));
    const assignUrls = sps.map((id) => grantPaths.assignments(id));
    const got = await readMany(client, [...grantUrls, ...assignUrls], { pacer });
    const seen = new Set<string>();
    for (const u of grantUrls) {
      for (const g of parseList(Grant, ((got.get(u) as { value?: unknown[] }) ?? {}).value ?? [], 'oauth2PermissionGrant')) {
        if (!seen.has(g.id)) out.oauth2PermissionGrants.push(g);
        seen.add(g.id);
      }
    }
    for (const u of assignUrls) out.appRoleAssignments.push(...parseList(AppRoleAssignment, ((got.get(u) as { value?: unknown[] }) ?? {}).value ?? [], 'appRoleAssignment'));
  }
  for (const b of t.blueprints) {
    const inh = parseList(InheritablePermission, await client.list(`${paths.blueprint(b.id)}/inheritablePermissions`), 'inheritable permission');
    out.inheritablePermissions.push(...inh.map((p) => ({ ...p, blueprintId: b.id })));
    const creds = await getCredentials(client, b.id);
    const fics = parseList(FederatedIdentityCredential, await client.list(`${paths.blueprint(b.id)}/federatedIdentityCredentials`), 'federated identity credential');
    out.credentials.push({
      blueprintId: b.id,
      passwordCredentials: creds.passwordCredentials.map((c) => ({ keyId: c.keyId, displayName: c.displayName ?? null, hint: c.hint ?? null, startDateTime: c.startDateTime ?? null, endDateTime: c.endDateTime ?? null })),
      certificates: creds.keyCredentials.map((k) => ({ ...summarizeKeyCredential(k) })),
      federatedIdentityCredentials: fics,
    });
  }
  return out;
}

export async function readSnapshot(client: GraphClient, t: Targets, pacer: Pacer): Promise<Snapshot> {
  return readAccess(client, t, await readIdentities(client, t, pacer), pacer);
}

export interface PlanOptions {
  credentials: boolean;
}

const nameOf = (o: Record<string, unknown>) => String(o.displayName ?? o.userPrincipalName ?? o.id);

/** The incident's plan, from what the snapshot holds: a pure function, so tests can pin it. */
export function planIncident(t: Targets, snap: Snapshot, o: PlanOptions): Item[] {
  const items: Item[] = [];
  const bpName = new Map<string, string>();
  for (const b of snap.blueprints) bpName.set(String(b.appId).toLowerCase(), String(b.displayName ?? b.appId));
  const blueprintOfAgent = (a: Record<string, unknown>) => bpName.get(String(a.agentIdentityBlueprintId ?? '').toLowerCase());
  const agentById = new Map(snap.agents.map((a) => [String(a.id).toLowerCase(), a]));
  const disable = (target: 'principal' | 'agent' | 'agentUser', obj: Record<string, unknown>, phase: number, blueprint: string | undefined) => {
    const enabled = obj.accountEnabled;
    items.push({
      t: 'item',
      key: `${target}:${obj.id}`,
      phase,
      op: { kind: 'setEnabled', target, id: String(obj.id), value: false },
      label: nameOf(obj),
      objectType: target === 'principal' ? 'agentIdentityBlueprintPrincipal' : target === 'agent' ? 'agentIdentity' : 'agentUser',
      objectId: String(obj.id),
      ...(blueprint ? { blueprint } : {}),
      prior: { accountEnabled: typeof enabled === 'boolean' ? enabled : null },
      ...(enabled === false ? { skip: 'already disabled' } : {}),
    });
  };
  for (const p of snap.principals) disable('principal', p, PHASE.principal, bpName.get(String(p.appId).toLowerCase()));
  for (const a of snap.agents) disable('agent', a, PHASE.identities, blueprintOfAgent(a));
  const userBlueprint = (u: Record<string, unknown>) => {
    const parent = agentById.get(String(u.identityParentId ?? '').toLowerCase());
    return parent ? blueprintOfAgent(parent) : undefined;
  };
  for (const u of snap.agentUsers) disable('agentUser', u, PHASE.identities, userBlueprint(u));
  for (const u of snap.agentUsers) {
    const bp = userBlueprint(u);
    items.push({ t: 'item', key: `sessions:${u.id}`, phase: PHASE.sessions, op: { kind: 'revokeSessions', userId: String(u.id) }, label: nameOf(u), objectType: 'agentUser', objectId: String(u.id), ...(bp ? { blueprint: bp } : {}) });
  }
  const spName = new Map([...snap.principals, ...snap.agents].map((p) => [String(p.id).toLowerCase(), p]));
  const spBlueprint = (id: string) => {
    const p = spName.get(id.toLowerCase());
    return p ? (bpName.get(String(p.appId ?? '').toLowerCase()) ?? blueprintOfAgent(p)) : undefined;
  };
  for (const raw of snap.oauth2PermissionGrants) {
    const g = Grant.parse(raw);
    const bp = spBlueprint(g.clientId);
    items.push({ t: 'item', key: `grant:${g.id}`, phase: PHASE.revoke, op: { kind: 'deleteGrant', id: g.id, grant: grantSpec(g) }, label: `${nameOf(spName.get(g.clientId.toLowerCase()) ?? { id: g.clientId })}: ${g.scope ?? ''}`.trim(), objectType: 'oAuth2PermissionGrant', objectId: g.id, ...(bp ? { blueprint: bp } : {}), prior: g });
  }
  for (const raw of snap.appRoleAssignments) {
    const a = AppRoleAssignment.parse(raw);
    const bp = spBlueprint(a.principalId);
    const spec = { principalId: a.principalId, resourceId: a.resourceId, appRoleId: a.appRoleId };
    items.push({ t: 'item', key: `assignment:${a.id}`, phase: PHASE.revoke, op: { kind: 'deleteAssignment', id: a.id, assignment: spec }, label: `${nameOf(spName.get(a.principalId.toLowerCase()) ?? { id: a.principalId })}: ${a.resourceDisplayName ?? a.resourceId} ${a.appRoleId}`, objectType: 'appRoleAssignment', objectId: a.id, ...(bp ? { blueprint: bp } : {}), prior: a });
  }
  const bpById = new Map(snap.blueprints.map((b) => [String(b.id), String(b.displayName ?? b.appId)]));
  for (const p of snap.inheritablePermissions) {
    const { blueprintId, ...permission } = p;
    const perm = InheritablePermission.parse(permission);
    const bp = bpById.get(blueprintId) ?? blueprintId;
    items.push({ t: 'item', key: `inheritable:${blueprintId}:${perm.resourceAppId}`, phase: PHASE.revoke, op: { kind: 'deleteInheritable', blueprintId, permission: perm }, label: `${bp}: ${perm.resourceAppId}`, objectType: 'inheritablePermission', objectId: perm.resourceAppId, blueprint: bp, prior: perm });
  }
  if (o.credentials) {
    for (const c of snap.credentials) {
      const bp = bpById.get(c.blueprintId) ?? c.blueprintId;
      for (const s of c.passwordCredentials) {
        const keyId = String(s.keyId);
        items.push({ t: 'item', key: `password:${c.blueprintId}:${keyId}`, phase: PHASE.revoke, op: { kind: 'removePassword', blueprintId: c.blueprintId, keyId }, label: `${bp}: secret ${s.displayName ? `${String(s.displayName)} ` : ''}(${String(s.hint ?? '?')}…)`, objectType: 'passwordCredential', objectId: keyId, blueprint: bp, prior: s });
      }
      if (c.certificates.length) {
        const label = `${bp}: ${c.certificates.length} certificate${c.certificates.length === 1 ? '' : 's'} (${c.certificates.map((k) => String(k.displayName ?? k.thumbprint ?? k.keyId)).join(', ')})`;
        items.push({ t: 'item', key: `certificates:${c.blueprintId}`, phase: PHASE.revoke, op: { kind: 'removeCertificates', blueprintId: c.blueprintId, keyIds: c.certificates.map((k) => String(k.keyId)) }, label, objectType: 'keyCredentials', objectId: c.blueprintId, blueprint: bp, prior: c.certificates });
      }
      for (const f of c.federatedIdentityCredentials) {
        items.push({ t: 'item', key: `fic:${c.blueprintId}:${String(f.id)}`, phase: PHASE.revoke, op: { kind: 'deleteFederatedCredential', blueprintId: c.blueprintId, credentialId: String(f.id) }, label: `${bp}: ${String(f.name)}`, objectType: 'federatedIdentityCredential', objectId: String(f.id), blueprint: bp, prior: f });
      }
    }
  }
  // Step 3: the agents in scope, confirmed compromised in ID Protection (GD beta
  // riskyagent-confirmcompromised.md: their risk level becomes high, so a risk-based Conditional
  // Access policy blocks them too). A risky agent is an agent identity or an agent user (the
  // riskyAgentIdentity and riskyAgentUser types); the blueprint principal is not an agent and is
  // not marked. Only the objects of the scope: --agent-user marks the agent users, not their parents.
  const riskIds = [...new Set([...snap.agents.map((a) => String(a.id)), ...snap.agentUsers.map((u) => String(u.id))])];
  for (let i = 0; i < riskIds.length; i += RISK_ACTION_CHUNK) {
    const ids = riskIds.slice(i, i + RISK_ACTION_CHUNK);
    items.push({ t: 'item', key: `risk:${i / RISK_ACTION_CHUNK}`, phase: PHASE.risk, op: { kind: 'confirmCompromised', agentIds: ids }, label: `${ids.length} agent${ids.length === 1 ? '' : 's'}`, objectType: 'riskyAgent' });
  }
  void t;
  return items;
}

// ---------------------------------------------------------------------------------------------
// Evidence

/** Every object id the incident is about: what sign-ins and audit events are kept for. */
export function affectedIds(snap: Snapshot): { appIds: Set<string>; userIds: Set<string>; objectIds: Set<string> } {
  const low = (v: unknown) => String(v ?? '').toLowerCase();
  const appIds = new Set<string>([...snap.blueprints.map((b) => low(b.appId)), ...snap.principals.map((p) => low(p.appId)), ...snap.agents.map((a) => low(a.id)), ...snap.agents.map((a) => low(a.appId)).filter((a) => a !== 'undefined' && a !== '')]);
  const userIds = new Set(snap.agentUsers.map((u) => low(u.id)));
  const objectIds = new Set<string>([
    ...snap.blueprints.map((b) => low(b.id)),
    ...snap.principals.map((p) => low(p.id)),
    ...snap.agents.map((a) => low(a.id)),
    ...userIds,
    ...snap.oauth2PermissionGrants.map((g) => low(g.id)),
    ...snap.appRoleAssignments.map((a) => low(a.id)),
  ]);
  return { appIds, userIds, objectIds };
}

async function writeNdjson(file: string, pages: AsyncIterable<Record<string, unknown>[]>): Promise<number> {
  const tmp = `${file}.partial`;
  const h = await fsp.open(tmp, 'w', 0o600);
  let n = 0;
  try {
    for await (const rows of pages) {
      if (!rows.length) continue;
      await h.write(rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
      n += rows.length;
    }
    await h.sync();
  } finally {
    await h.close();
  }
  await fsp.rename(tmp, file);
  return n;
}

/**
 * Sign-ins of the window, as few queries as Graph's filters allow: for a blueprint, its own,
 * its principal's and its agents' (`appId eq` the blueprint or `agent/parentAppId eq` it,
 * logs.ts) plus the agent users' (agentType agentIDuser: their parentAppId is the agent, not
 * the blueprint), kept when they name an affected agent; for agents, one query per agent (its
 * own and its agent user's carry its id as appId); for agent users, one per user.
 */
export async function exportSignIns(client: GraphClient, file: string, t: Targets, snap: Snapshot, since: string, until: string): Promise<number> {
  const { appIds, userIds } = affectedIds(snap);
  const queries: { filter: string; keep?: (r: Record<string, unknown>) => boolean }[] = [];
  for (const b of t.blueprints) queries.push({ filter: signInFilter({ blueprintAppId: b.appId, since, until }) });
  if (t.blueprints.length && userIds.size) queries.push({ filter: signInFilter({ agentTypes: ['agentIDuser'], since, until }), keep: (r) => appIds.has(String(r.appId ?? '').toLowerCase()) || userIds.has(String(r.userId ?? '').toLowerCase()) });
  if (t.kind === 'agent') for (const id of t.agentIds) queries.push({ filter: signInFilter({ agentId: id, since, until }) });
  if (t.kind === 'agentUser') for (const id of t.agentUserIds) queries.push({ filter: signInFilter({ agentUserId: id, since, until }) });
  const seen = new Set<string>();
  async function* pages() {
    for (const q of queries) {
      for await (const page of streamLog<Record<string, unknown>>(client, '/auditLogs/signIns', { filter: q.filter, all: true, ...(q.keep ? { keep: q.keep } : {}) })) {
        const fresh = page.rows.filter((r) => !seen.has(String(r.id)));
        for (const r of fresh) seen.add(String(r.id));
        yield fresh;
      }
    }
  }
  return writeNdjson(file, pages());
}

/** Audit events of the window whose targets include an affected object (the containment's own among them). */
export async function exportAudits(client: GraphClient, file: string, snaps: Snapshot[], since: string, until: string): Promise<number> {
  const ids = new Set<string>();
  for (const s of snaps) for (const id of affectedIds(s).objectIds) ids.add(id);
  const keep = (r: Record<string, unknown>) => ((r.targetResources as { id?: string }[] | undefined) ?? []).some((x) => ids.has(String(x.id ?? '').toLowerCase()));
  async function* pages() {
    for await (const page of streamLog<Record<string, unknown>>(client, '/auditLogs/directoryAudits', { filter: `activityDateTime ge ${since} and activityDateTime le ${until}`, all: true, keep })) yield page.rows;
  }
  return writeNdjson(file, pages());
}

// ---------------------------------------------------------------------------------------------
// The incident folder

export const FILES = {
  incident: 'incident.json',
  timeline: 'timeline.ndjson',
  before: 'before.json',
  journal: 'journal.jsonl',
  revokeJournal: 'journal-revoke.jsonl',
  requests: 'requests.ndjson',
  after: 'after.json',
  signIns: 'signins.ndjson',
  audits: 'audit.ndjson',
  summary: 'summary.md',
  releaseJournal: 'release-journal.jsonl',
  afterRelease: 'after-release.json',
} as const;

export interface IncidentRecord {
  v: 1;
  id: string;
  createdAt: string;
  /** The command line's meaning: a re-run with the same one resumes this incident. */
  request: { kind: ScopeKind; refs: string[]; credentials: boolean; since: string };
  targets: Targets;
  target: string;
  by: string;
  tenant: string;
  window: { since: string };
}

export async function writeJsonAtomic(file: string, data: unknown): Promise<void> {
  const tmp = `${file}.partial`;
  const h = await fsp.open(tmp, 'w', 0o600);
  try {
    await h.write(JSON.stringify(data, null, 2) + '\n');
    await h.sync();
  } finally {
    await h.close();
  }
  await fsp.rename(tmp, file);
}

export function readIncident(dir: string): IncidentRecord | undefined {
  const f = path.join(dir, FILES.incident);
  if (!existsSync(f)) return undefined;
  return JSON.parse(readFileSync(f, 'utf8')) as IncidentRecord;
}

export type TimelineEvent = { at: string; event: string } & Record<string, unknown>;

export function appendTimeline(dir: string, ev: TimelineEvent): void {
  appendFileSync(path.join(dir, FILES.timeline), JSON.stringify(ev) + '\n', { mode: 0o600 });
}

/** The records of an ndjson file of the folder, a torn last line of a killed run left out. */
function readNdjson<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as T];
      } catch {
        return [];
      }
    });
}

export function readTimeline(dir: string): TimelineEvent[] {
  return readNdjson<TimelineEvent>(path.join(dir, FILES.timeline));
}

/** When each item's outcome was written (the moment its answer was in): time to containment. */
export function doneTimes(journalFile: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(journalFile)) return out;
  for (const l of readFileSync(journalFile, 'utf8').split('\n')) {
    if (!l.includes('"t":"done"')) continue;
    try {
      const r = JSON.parse(l) as { key: string; at: string };
      if (!out.has(r.key)) out.set(r.key, r.at);
    } catch {
      /* torn */
    }
  }
  return out;
}

export interface RequestRecord {
  at: string;
  method: string;
  path: string;
  status: number;
  requestId: string | null;
}

/** DIR/requests.ndjson, a torn last line (kill -9) left out. */
export function readRequests(dir: string): RequestRecord[] {
  return readNdjson<RequestRecord>(path.join(dir, FILES.requests));
}

/**
 * A transport that notes each request's method, path, status and request-id in
 * DIR/requests.ndjson: the request-ids of the containment's writes, for the summary and for
 * Microsoft support. Paths and ids only: no header, body or query string is kept.
 */
export function recordingTransport(inner: Transport, file: string): Transport {
  return async (req) => {
    const res = await inner(req);
    const u = new URL(req.url);
    appendFileSync(file, JSON.stringify({ at: new Date().toISOString(), method: req.method, path: u.pathname, status: res.status, requestId: res.headers.get('request-id') }) + '\n', { mode: 0o600 });
    return res;
  };
}
