import { existsSync, promises as fsp, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Recording } from '../graph/middleware/record.js';
import type { LogRecord } from './logs.js';
import { packageRoot } from '../packageRoot.js';
import { seedState } from './seed.js';
import { generateSignIns } from './signinGenerator.js';
import type { AppRoleAssignment, DirectoryRoleAssignment, EntityType, InheritablePermission, OAuth2PermissionGrant, StoredObject, TenantState } from './state.js';
import { ENTITY_SET_OF } from './state.js';

// Fixtures: whole tenants the emulator can start from (format: fixtures/README.md).
//   loadFixture(dir)          a fixture directory (fixture.json, directory.json, grants.json) →
//                             tenant state plus its sign-in and audit logs, generated from a seed;
//   seedFromRecordings(list)  the objects a `--record` session saw → tenant state, so that
//                             `mock serve --seed DIR` answers later writes on top of them.
// Both start from the built-in seed (the signed-in admin, the Graph service principal, the
// emulator's sign-in material), which a fixture extends and never has to repeat.

export const FIXTURE_FORMAT_VERSION = 1;
const DAY = 86_400_000;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface FixtureManifest {
  formatVersion: number;
  name: string;
  description?: string;
  base?: 'seed';
  /** Every timestamp in the fixture is moved by (now − referenceTime) on load, so a secret
   * "expiring in 5 days" still does, and sign-ins stay inside the retention window. */
  referenceTime: string;
  signedInUserId?: string;
  logs?: { seed: number; days: number; signInsPerDay: number; failureRate: number; auditsPerDay: number; /** Agent identities (and their agent users) that never sign in: the fixture's stale agents. */ silentAgents?: string[] };
}

export interface LoadedFixture {
  manifest: FixtureManifest;
  state: TenantState;
  signIns: LogRecord[];
  directoryAudits: LogRecord[];
}

/** The bundled fixtures/ directory (beside dist/ in the package, beside src/ in the repository). */
export function bundledFixturesDir(): string {
  return path.join(packageRoot(), 'fixtures');
}

/** A fixture name (contoso) or a directory path → the directory; undefined when neither exists. */
export function resolveFixture(nameOrDir: string): string | undefined {
  if (/^[a-z0-9-]+$/i.test(nameOrDir)) {
    const bundled = path.join(bundledFixturesDir(), nameOrDir);
    if (existsSync(path.join(bundled, 'fixture.json'))) return bundled;
  }
  const dir = path.resolve(nameOrDir);
  return existsSync(path.join(dir, 'fixture.json')) ? dir : undefined;
}

export function bundledFixtureNames(): string[] {
  const root = bundledFixturesDir();
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(root, d.name, 'fixture.json')))
    .map((d) => d.name);
}

async function readJson<T>(file: string): Promise<T> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`Fixture file ${file} is missing; see fixtures/README.md for the format.`);
    throw new Error(`Fixture file ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Maps `#microsoft.graph.agentIdentity` (or the entity set a path names) to a stored type. */
function typeOf(graphObject: Record<string, unknown>, fallback?: EntityType): EntityType | undefined {
  const t = String(graphObject['@odata.type'] ?? '').replace(/^#?microsoft\.graph\./i, '');
  const known = Object.keys(ENTITY_SET_OF).find((k) => k.toLowerCase() === t.toLowerCase()) as EntityType | undefined;
  return known ?? fallback;
}

function idsOfBinds(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return v.map((u) => String(u).split('/').pop()!.toLowerCase()).filter((x) => GUID_RE.test(x));
}

/** A Graph-shaped object (fixture or recording) → the emulator's stored form. */
export function storedFromGraph(o: Record<string, unknown>, fallback?: EntityType): StoredObject | undefined {
  const type = typeOf(o, fallback);
  const id = typeof o.id === 'string' ? o.id.toLowerCase() : undefined;
  if (!type || !id || !GUID_RE.test(id)) return undefined;
  const props: Record<string, unknown> = {};
  const stored: StoredObject = { id, type, props };
  for (const [k, v] of Object.entries(o)) {
    if (k === 'id' || k.startsWith('@odata.')) continue;
    if (k === 'sponsors@odata.bind') stored.sponsors = idsOfBinds(v);
    else if (k === 'owners@odata.bind') stored.owners = idsOfBinds(v);
    else if (k === 'members@odata.bind') stored.members = idsOfBinds(v);
    else if (k === 'inheritablePermissions') stored.inheritablePermissions = v as InheritablePermission[];
    else if (k === 'federatedIdentityCredentials') stored.federatedIdentityCredentials = v as StoredObject['federatedIdentityCredentials'];
    else if (k === 'deletedDateTime') {
      if (v) stored.deletedDateTime = String(v);
    } else if (!k.includes('@')) props[k] = k === 'passwordCredentials' && Array.isArray(v) ? v.map((c) => ({ ...(c as object), secretText: null })) : v;
  }
  return stored;
}

function shiftDates<T>(v: T, deltaMs: number): T {
  if (typeof v === 'string') return (ISO_RE.test(v) ? new Date(Date.parse(v) + deltaMs).toISOString() : v) as T;
  if (Array.isArray(v)) return v.map((x) => shiftDates(x, deltaMs)) as T;
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shiftDates(x, deltaMs)])) as T;
}

// mulberry32: the fixture's logs are the same for the same seed (and the same `now`).
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seededGuid(rnd: () => number): string {
  const h = Array.from({ length: 32 }, () => Math.floor(rnd() * 16).toString(16)).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export async function loadFixture(dir: string, now: Date = new Date()): Promise<LoadedFixture> {
  const manifest = await readJson<FixtureManifest>(path.join(dir, 'fixture.json'));
  if (manifest.formatVersion !== FIXTURE_FORMAT_VERSION) {
    throw new Error(`${path.join(dir, 'fixture.json')} has formatVersion ${manifest.formatVersion}; this agentid reads ${FIXTURE_FORMAT_VERSION}.`);
  }
  const reference = Date.parse(manifest.referenceTime);
  if (Number.isNaN(reference)) throw new Error(`${path.join(dir, 'fixture.json')}: referenceTime must be an ISO date.`);
  const delta = now.getTime() - reference;
  const directory = shiftDates(await readJson<{ value: Record<string, unknown>[] }>(path.join(dir, 'directory.json')), delta);
  const grants = existsSync(path.join(dir, 'grants.json'))
    ? shiftDates(await readJson<{ oauth2PermissionGrants?: OAuth2PermissionGrant[]; appRoleAssignments?: AppRoleAssignment[]; roleAssignments?: DirectoryRoleAssignment[] }>(path.join(dir, 'grants.json')), delta)
    : {};
  const state = seedState();
  for (const o of directory.value ?? []) {
    const stored = storedFromGraph(o);
    if (!stored) throw new Error(`${path.join(dir, 'directory.json')}: an object without a known @odata.type or a GUID id (${JSON.stringify(o).slice(0, 120)}).`);
    state.objects[stored.id] = stored;
  }
  state.oauth2PermissionGrants = { ...(state.oauth2PermissionGrants ?? {}), ...Object.fromEntries((grants.oauth2PermissionGrants ?? []).map((g) => [g.id, g])) };
  state.appRoleAssignments = { ...(state.appRoleAssignments ?? {}), ...Object.fromEntries((grants.appRoleAssignments ?? []).map((a) => [a.id, a])) };
  // Directory role assignments (issue #14: an agent holding an Entra role), after the seed's own.
  state.roleAssignments = [...state.roleAssignments, ...(grants.roleAssignments ?? [])];
  // #13: Conditional Access policies and ID Protection rows, Graph-shaped (optional file).
  if (existsSync(path.join(dir, 'protection.json'))) {
    const p = shiftDates(await readJson<{ conditionalAccessPolicies?: Record<string, unknown>[]; riskyAgents?: Record<string, unknown>[]; agentRiskDetections?: Record<string, unknown>[] }>(path.join(dir, 'protection.json')), delta);
    const byId = (l: Record<string, unknown>[] | undefined) => Object.fromEntries((l ?? []).map((x) => [String(x.id).toLowerCase(), x]));
    state.conditionalAccessPolicies = byId(p.conditionalAccessPolicies);
    state.riskyAgents = byId(p.riskyAgents);
    state.agentRiskDetections = byId(p.agentRiskDetections);
  }
  if (manifest.signedInUserId) state.signedInUserId = manifest.signedInUserId;
  const logs = manifest.logs;
  const signIns: LogRecord[] = [];
  const directoryAudits: LogRecord[] = [];
  if (logs) {
    const rnd = prng(logs.seed);
    const generated = generateSignIns(state, { count: Math.round(logs.days * logs.signInsPerDay), days: logs.days, failureRate: logs.failureRate, now, random: rnd, ...(logs.silentAgents ? { exclude: logs.silentAgents } : {}) });
    for (const r of generated) signIns.push({ ...r, id: seededGuid(rnd), correlationId: seededGuid(rnd) });
    signIns.sort((a, b) => String(a.createdDateTime).localeCompare(String(b.createdDateTime)));
    directoryAudits.push(...generateAudits(state, logs.days, Math.round(logs.days * logs.auditsPerDay), now, rnd));
  }
  return { manifest, state, signIns, directoryAudits };
}

/**
 * A directoryAudit history of the kind Entra writes for agent objects (ED
 * sign-in-audit-logs-agents.md: agents are logged under their base types), in the shape
 * src/mock/audit.ts records for live writes: creations inside the window, then updates
 * (disable, secrets, sponsors) by the admin or a blueprint principal.
 */
function generateAudits(state: TenantState, days: number, count: number, now: Date, rnd: () => number): LogRecord[] {
  const from = now.getTime() - days * DAY;
  const objects = Object.values(state.objects).filter((o) => !o.deletedDateTime && (o.type === 'agentIdentity' || o.type === 'agentUser' || o.type === 'agentIdentityBlueprint' || o.type === 'agentIdentityBlueprintPrincipal'));
  if (!objects.length) return [];
  const admin = state.objects[state.signedInUserId];
  const nounOf = (t: EntityType) => (t === 'agentIdentityBlueprint' ? 'application' : t === 'agentUser' ? 'user' : 'service principal');
  const out: LogRecord[] = [];
  const record = (o: StoredObject, activity: string, operationType: string, at: number, modified: { displayName: string; oldValue: string | null; newValue: string | null }[]): LogRecord => {
    const noun = nounOf(o.type);
    const correlationId = seededGuid(rnd);
    return {
      id: `Directory_${correlationId}_${Math.floor(rnd() * 0xffffffff).toString(16).toUpperCase().padStart(8, '0')}`,
      category: noun === 'user' ? 'UserManagement' : 'ApplicationManagement',
      correlationId,
      result: 'success',
      resultReason: '',
      activityDisplayName: activity,
      activityDateTime: new Date(at).toISOString(),
      loggedByService: 'Core Directory',
      operationType,
      initiatedBy: {
        app: null,
        user: { id: admin?.id ?? null, displayName: (admin?.props.displayName as string) ?? null, userPrincipalName: (admin?.props.userPrincipalName as string) ?? null, ipAddress: '203.0.113.10', userType: null, homeTenantId: state.tenant.id, homeTenantName: null },
      },
      targetResources: [
        { id: o.id, displayName: (o.props.displayName as string) ?? null, type: noun === 'application' ? 'Application' : noun === 'user' ? 'User' : 'ServicePrincipal', userPrincipalName: noun === 'user' ? ((o.props.userPrincipalName as string) ?? null) : null, groupType: null, modifiedProperties: modified },
      ],
      additionalDetails: [{ key: 'User-Agent', value: 'agentid/0.1.0' }],
      userAgent: 'agentid/0.1.0',
      performedBy: null,
    };
  };
  // Objects created inside the window have their "Add …" event at their createdDateTime.
  for (const o of objects) {
    const t = Date.parse(String(o.props.createdDateTime ?? ''));
    if (t >= from && t <= now.getTime()) out.push(record(o, `Add ${nounOf(o.type)}`, 'Add', t, []));
  }
  for (let i = 0; out.length < count && i < count * 2; i++) {
    const o = objects[Math.floor(rnd() * objects.length)]!;
    const at = from + Math.floor(rnd() * (now.getTime() - from));
    if (o.type === 'agentIdentity' && o.props.accountEnabled === false) {
      out.push(record(o, 'Update service principal', 'Update', at, [{ displayName: 'AccountEnabled', oldValue: '[true]', newValue: '[false]' }, { displayName: 'Included Updated Properties', oldValue: null, newValue: '"AccountEnabled"' }]));
    } else if (o.type === 'agentIdentityBlueprint') {
      out.push(record(o, 'Update application – Certificates and secrets management ', 'Update', at, [{ displayName: 'KeyDescription', oldValue: '[]', newValue: '["[KeyIdentifier=…,KeyType=Password,KeyUsage=Verify,DisplayName=ci]"]' }]));
    } else {
      out.push(record(o, `Update ${nounOf(o.type)}`, 'Update', at, [{ displayName: 'Included Updated Properties', oldValue: null, newValue: '"Tags"' }]));
    }
  }
  return out.sort((a, b) => String(a.activityDateTime).localeCompare(String(b.activityDateTime)));
}

const SETS: Record<string, EntityType> = { applications: 'application', serviceprincipals: 'servicePrincipal', users: 'user', groups: 'group' };

/**
 * The tenant a recording session saw: every object a 2xx response returned (typed by its
 * @odata.type, else by the entity set of the path), relationships from sponsor/owner/
 * inheritablePermission/federatedIdentityCredential lists and create bodies' @odata.bind,
 * PATCH bodies applied and DELETEs honoured, in recorded order. What was never read stays
 * unknown: a later GET of it is a 404, as it would be for an object that does not exist.
 */
export function seedFromRecordings(recordings: Recording[], base: TenantState = seedState()): TenantState {
  const state = structuredClone(base);
  const GUID_SEG = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  for (const r of recordings) {
    const { status } = r.response;
    if (status < 200 || status > 299) continue;
    const segs = r.request.path.split('/').filter(Boolean);
    const setType = SETS[segs[0]?.toLowerCase() ?? ''];
    const keyId = segs.slice(1).find((s) => GUID_SEG.test(s))?.toLowerCase();
    const tail = segs[segs.length - 1]?.toLowerCase() ?? '';
    const body = r.response.body as Record<string, unknown> | undefined;
    const owner = keyId ? state.objects[keyId] : undefined;
    const items = body && Array.isArray(body.value) ? (body.value as Record<string, unknown>[]) : body && typeof body === 'object' ? [body] : [];
    const method = r.request.method.toUpperCase();
    if (owner && (tail === 'sponsors' || tail === 'owners') && method === 'GET' && Array.isArray(body?.value)) {
      owner[tail] = items.map((x) => String(x.id).toLowerCase());
      for (const x of items) upsert(state, x, undefined);
      continue;
    }
    if (owner && tail === 'inheritablepermissions' && Array.isArray(body?.value)) {
      owner.inheritablePermissions = items as unknown as InheritablePermission[];
      continue;
    }
    if (owner && tail === 'federatedidentitycredentials' && Array.isArray(body?.value)) {
      owner.federatedIdentityCredentials = items as unknown as StoredObject['federatedIdentityCredentials'];
      continue;
    }
    if (method === 'DELETE' && keyId && segs.length <= 3) {
      delete state.objects[keyId];
      continue;
    }
    if (method === 'PATCH' && owner && status === 204 && r.request.body && typeof r.request.body === 'object') {
      for (const [k, v] of Object.entries(r.request.body as Record<string, unknown>)) if (!k.includes('@') && v !== 'REDACTED') owner.props[k] = v;
      continue;
    }
    // Only entity sets and their casts carry objects; sub-resources (addPassword, …) do not.
    const objectPath = segs.length <= 3 && !['addpassword', 'removepassword', 'addkey', 'removekey', '$count'].includes(tail);
    if (!setType || !objectPath) continue;
    for (const x of items) {
      const stored = upsert(state, x, setType);
      const reqBody = r.request.body as Record<string, unknown> | undefined;
      if (stored && method === 'POST' && reqBody) {
        if (reqBody['sponsors@odata.bind']) stored.sponsors = idsOfBinds(reqBody['sponsors@odata.bind']);
        if (reqBody['owners@odata.bind']) stored.owners = idsOfBinds(reqBody['owners@odata.bind']);
      }
    }
  }
  return state;
}

function upsert(state: TenantState, graphObject: Record<string, unknown>, fallback: EntityType | undefined): StoredObject | undefined {
  const stored = storedFromGraph(graphObject, fallback);
  if (!stored) return undefined;
  // Redacted values are not data: keep what the tenant (or an earlier recording) had.
  for (const [k, v] of Object.entries(stored.props)) if (v === 'REDACTED') delete stored.props[k];
  const existing = state.objects[stored.id];
  if (existing && existing.type === stored.type) {
    Object.assign(existing.props, stored.props);
    for (const rel of ['sponsors', 'owners', 'inheritablePermissions', 'federatedIdentityCredentials'] as const) if (stored[rel]) (existing as unknown as Record<string, unknown>)[rel] = stored[rel];
    return existing;
  }
  state.objects[stored.id] = stored;
  return stored;
}

