import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMockHandler, type MockHandler } from '../../src/mock/handler.js';
import { MemoryLogStore } from '../../src/mock/logs.js';
import { SEED_DOMAIN, SEED_IDS, seedState } from '../../src/mock/seed.js';
import { generateSignIns } from '../../src/mock/signinGenerator.js';
import { MemoryStore } from '../../src/mock/store.js';

// Issue 11 §2: every request/response example of the Graph reference pages the emulator serves,
// one file per page under docs/ (page path and docs commit recorded), run raw through
// createMockHandler. The examples' ids belong to Microsoft's tenants: a case's `setup` creates
// the objects it needs and `ids` maps each documented id to one of them, substituted in the
// request and in the expected response alike. A case passes when the status is the documented
// one and every property the documented response shows is there with the same value, except:
//   - ids (GUIDs the request did not carry) and times: present, of the same JSON type;
//   - placeholders of the template examples ("String", "Guid", "String (timestamp)", …);
//   - `@odata.nextLink` (an opaque skip token); the paths a case lists in `volatile` are not compared
//     (generated secrets, values of the documentation's tenant that no request can set);
//   - `@odata.type` written without '#' (the docs' shorthand): equal up to the '#' where ours has
//     one, and owed where the request carried one at that place (inheritableScopes); the template
//     pages' `{"@odata.type": "microsoft.graph.apiApplication"}` on complex values Graph does not
//     annotate is not owed.
// Arrays: each documented item must match some item of ours (lists hold the seed tenant too).
// An error's innerError must carry `date` in Graph's form, `request-id`, and the
// `client-request-id` the runner sent (the documented one).
// A case the emulator cannot answer as documented because the page contradicts itself or the
// schema carries `cannotPass` with the reason; it is counted, listed, and not asserted.

export interface SetupStep {
  blueprint?: string;
  principal?: string;
  agent?: string;
  agentUser?: string;
  of?: string;
  body?: Record<string, unknown>;
  request?: { method: string; url: string; headers?: Record<string, string>; body?: unknown };
  status?: number;
  save?: Record<string, string>;
  signIns?: number;
  /** A log record as the page shows it (sign-ins and audits have no create endpoint); its time
   * property is moved to a minute ago, inside the emulator's retention window. */
  log?: { kind: 'signIns' | 'directoryAudits'; time: string; record: Record<string, unknown>; copies?: number };
  /** An object no emulated endpoint can create (groups): put straight into the tenant. */
  object?: { as: string; type: 'group'; props: Record<string, unknown>; deletedDateTime?: string };
}

export interface DocCase {
  example: string;
  setup?: SetupStep[];
  ids?: Record<string, string>;
  request: { method: string; url: string; headers?: Record<string, string>; body?: unknown };
  response: { status: number; body?: unknown };
  volatile?: string[];
  /** Properties of the example left out of the comparison, each with the reason (not in the
   * official models, a relationship shown inline, …): listed in the test output. */
  leftOut?: Record<string, string>;
  /** Follow every @odata.nextLink (with the request's headers, as paging.md says a client must):
   * each next link keeps the request's other query options, no item repeats, and `@odata.count`
   * is on the first page only. `minPages`: the pages the documented page size implies. */
  paging?: { minPages: number };
  /** Properties the page says the answer lacks (e.g. `@odata.count` when $count is ignored). */
  absent?: string[];
  cannotPass?: string;
}

export interface DocPage {
  page: string;
  commit: string;
  cases: DocCase[];
}

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'docs');

export function loadPages(): { file: string; p: DocPage }[] {
  return readdirSync(DIR)
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((file) => ({ file, p: JSON.parse(readFileSync(path.join(DIR, file), 'utf8')) as DocPage }));
}

const PLACEHOLDER = /^(String|Guid|Int32|Int64|Boolean|Binary|DateTimeOffset|String \((timestamp|identifier)\)|String \(identifier\))$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?$/;

interface Ctx {
  volatile: Set<string>;
  /** GUIDs and strings the request carried (after substitution): compared exactly. */
  requestText: string;
  requestBody: unknown;
  /** Our values substituted for the documented ids: compared exactly. */
  exact: Set<string>;
}

function at(obj: unknown, p: string): unknown {
  if (!p) return obj;
  return p.split('/').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

/** Problems between a documented value and ours; `p` uses '.' between keys, items are '[]'. */
export function compare(doc: unknown, actual: unknown, p: string, ctx: Ctx, out: string[] = []): string[] {
  const label = p || 'body';
  const vpath = p.replace(/\[\d+\]/g, '[]');
  if (ctx.volatile.has(vpath)) return out;
  if (doc === null) {
    if (actual !== null) out.push(`${label}: documented null, got ${short(actual)}`);
    return out;
  }
  if (Array.isArray(doc)) {
    if (!Array.isArray(actual)) return push(out, `${label}: documented an array, got ${short(actual)}`);
    doc.forEach((item, i) => {
      const here = `${p}[${i}]`;
      let best: string[] | undefined;
      for (const a of actual) {
        const probs = compare(item, a, here, ctx, []);
        if (!best || probs.length < best.length) best = probs;
        if (!probs.length) break;
      }
      if (!best) out.push(`${here}: documented item ${short(item)}, ours has none`);
      else out.push(...best);
    });
    return out;
  }
  if (typeof doc === 'object') {
    if (!actual || typeof actual !== 'object' || Array.isArray(actual)) return push(out, `${label}: documented an object, got ${short(actual)}`);
    for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
      const kp = p ? `${p}.${k}` : k;
      const a = (actual as Record<string, unknown>)[k];
      if (k === '@odata.type' && typeof v === 'string' && !v.startsWith('#')) {
        // The docs' shorthand: Graph writes '#…'. Only a type the request itself carried is owed back.
        const sent = at(ctx.requestBody, p.replace(/\[\d+\]/g, '').split('.').filter(Boolean).join('/'));
        const carried = sent && typeof sent === 'object' ? (sent as Record<string, unknown>)['@odata.type'] : undefined;
        if ((carried !== undefined || a !== undefined) && String(a ?? '').replace(/^#/, '') !== v) out.push(`${kp}: documented ${v}, got ${short(a)}`);
        continue;
      }
      if (ctx.volatile.has(kp.replace(/\[\d+\]/g, '[]'))) continue;
      if (!(k in (actual as Record<string, unknown>))) {
        out.push(`${kp}: missing`);
        continue;
      }
      compare(v, a, kp, ctx, out);
    }
    return out;
  }
  if (typeof doc === 'string') {
    if (PLACEHOLDER.test(doc)) return out;
    if (p.endsWith('@odata.nextLink')) {
      if (typeof actual !== 'string' || !/^https:\/\//.test(actual)) out.push(`${label}: documented a next link, got ${short(actual)}`);
      return out;
    }
    if (p.endsWith('innerError.date')) {
      const sameForm = typeof actual === 'string' && actual.replace(/\d/g, '0') === doc.replace(/\d/g, '0');
      if (!sameForm) out.push(`${label}: documented the form ${doc}, got ${short(actual)}`);
      return out;
    }
    const carried = ctx.requestText.includes(doc) || ctx.exact.has(doc);
    if (!carried && (GUID.test(doc) || TIME.test(doc))) {
      if (typeof actual !== 'string') out.push(`${label}: documented an id or time, got ${short(actual)}`);
      return out;
    }
    if (TIME.test(doc) && typeof actual === 'string' && Date.parse(actual) === Date.parse(doc)) return out;
  }
  if (actual !== doc) out.push(`${label}: documented ${short(doc)}, got ${short(actual)}`);
  return out;
}

function push(out: string[], s: string): string[] {
  out.push(s);
  return out;
}
const short = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v).slice(0, 120));

export interface Tenant {
  handler: MockHandler;
  vars: Record<string, string>;
  addSignIns: (n: number) => Promise<void>;
  store: MemoryStore;
  logs: MemoryLogStore;
}

export function emulator(): Tenant {
  const store = new MemoryStore(seedState());
  const logs = new MemoryLogStore();
  const handler = createMockHandler({ store, logs });
  return {
    handler,
    store,
    logs,
    vars: { atDomain: `@${SEED_DOMAIN}`, megan: SEED_IDS.megan, adele: SEED_IDS.adele, admin: SEED_IDS.admin, group: SEED_IDS.aiPlatformTeam, graphSp: SEED_IDS.graphServicePrincipal, domain: SEED_DOMAIN },
    addSignIns: async (n) => {
      const records = await store.read((s) => generateSignIns(s, { count: n, days: 1, failureRate: 0, now: new Date() }));
      await logs.append('signIns', records);
    },
  };
}

const fillVars = (s: string, vars: Record<string, string>) => s.replace(/\{([\w.]+)\}/g, (m, k: string) => vars[k] ?? m);

/** The documented ids replaced by ours, in any string of a request or response. */
function substitute<T>(v: T, ids: Record<string, string>, vars: Record<string, string>): T {
  const map = Object.entries(ids).map(([docId, name]) => [docId, vars[name]] as const);
  for (const [docId, ours] of map) if (ours === undefined) throw new Error(`ids: ${docId} maps to unknown var`);
  const one = (s: string) => map.reduce((acc, [d, o]) => acc.split(d).join(o!), s);
  const walk = (x: unknown): unknown => {
    if (typeof x === 'string') return one(x);
    if (Array.isArray(x)) return x.map(walk);
    if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, y]) => [one(k), walk(y)]));
    return x;
  };
  return walk(v) as T;
}

async function call(t: Tenant, method: string, url: string, headers: Record<string, string> = {}, body?: unknown): Promise<{ status: number; body: unknown; headers: Headers }> {
  const full = url.startsWith('http') ? url : `https://graph.microsoft.com${url}`;
  const h = new Headers(headers);
  if (body !== undefined && !h.has('Content-Type')) h.set('Content-Type', 'application/json');
  const res = await t.handler(new Request(full, { method, headers: h, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) }));
  const text = await res.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

async function runSetup(t: Tenant, steps: SetupStep[]): Promise<void> {
  const v = t.vars;
  const fill = <T>(x: T): T => JSON.parse(fillVars(JSON.stringify(x), v)) as T;
  const post = async (url: string, body: unknown, expect = 201) => {
    const r = await call(t, 'POST', url, {}, fill(body));
    if (r.status !== expect) throw new Error(`setup POST ${url} answered ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body as Record<string, string>;
  };
  const keep = (name: string, o: Record<string, unknown>) => {
    for (const k of ['id', 'appId', 'displayName', 'userPrincipalName']) if (typeof o[k] === 'string') v[`${name}.${k}`] = o[k] as string;
  };
  for (const s of steps) {
    if (s.blueprint) {
      keep(s.blueprint, await post('/beta/applications/microsoft.graph.agentIdentityBlueprint', { displayName: 'Docs case blueprint', 'sponsors@odata.bind': [`https://graph.microsoft.com/beta/users/${v.megan}`], ...s.body }));
    } else if (s.principal) {
      keep(s.principal, await post('/beta/servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal', { appId: v[`${s.of}.appId`], ...s.body }));
    } else if (s.agent) {
      keep(s.agent, await post('/beta/servicePrincipals/microsoft.graph.agentIdentity', { displayName: 'Docs case agent', agentIdentityBlueprintId: v[`${s.of}.appId`], 'sponsors@odata.bind': [`https://graph.microsoft.com/beta/users/${v.megan}`], ...s.body }));
    } else if (s.agentUser) {
      const nick = `docs${Math.random().toString(36).slice(2, 8)}`;
      keep(s.agentUser, await post('/beta/users/microsoft.graph.agentUser', { accountEnabled: true, displayName: 'Docs case agent user', mailNickname: nick, userPrincipalName: `${nick}@${v.domain}`, identityParentId: v[`${s.of}.id`], ...s.body }));
    } else if (s.request) {
      const r = await call(t, s.request.method, fillVars(s.request.url, v), s.request.headers, s.request.body === undefined ? undefined : fill(s.request.body));
      const want = s.status ?? (s.request.method === 'POST' ? 201 : s.request.method === 'GET' ? 200 : 204);
      if (r.status !== want) throw new Error(`setup ${s.request.method} ${s.request.url} answered ${r.status}: ${JSON.stringify(r.body)}`);
      for (const [name, p] of Object.entries(s.save ?? {})) v[name] = String(at(r.body, p));
    } else if (s.log) {
      // `copies`: the same entry again under new ids (and a second older each), to fill a page.
      const records = Array.from({ length: s.log.copies ?? 1 }, (_, i) => ({ ...fill(s.log!.record), ...(i ? { id: randomUUID() } : {}), [s.log!.time]: new Date(Date.now() - 60_000 - i * 1000).toISOString() }));
      await t.logs.append(s.log.kind, records as never[]);
    } else if (s.object) {
      const o = s.object;
      const id = randomUUID();
      await t.store.write((state) => {
        state.objects[id] = { id, type: o.type, props: { createdDateTime: new Date().toISOString(), ...o.props }, ...(o.deletedDateTime ? { deletedDateTime: o.deletedDateTime } : {}) };
      });
      v[`${o.as}.id`] = id;
    } else if (s.signIns) {
      await t.addSignIns(s.signIns);
    } else throw new Error(`unknown setup step ${JSON.stringify(s)}`);
  }
}

export async function runDocCase(t: Tenant, c: DocCase): Promise<{ problems: string[]; status: number; body: unknown }> {
  await runSetup(t, c.setup ?? []);
  const ids = c.ids ?? {};
  const req = substitute(c.request, ids, t.vars);
  const expected = substitute(c.response, ids, t.vars);
  const headers: Record<string, string> = { ...req.headers };
  const inner = (expected.body as { error?: { innerError?: Record<string, string> } } | undefined)?.error?.innerError;
  headers['client-request-id'] = inner?.['client-request-id'] ?? 'c0ffee00-0000-4000-8000-000000000000';
  const res = await call(t, req.method, req.url, headers, req.body);
  const problems: string[] = [];
  if (res.status !== expected.status) problems.push(`status: documented ${expected.status}, got ${res.status} ${short(res.body)}`);
  else if (expected.body !== undefined) {
    const ctx: Ctx = { volatile: new Set([...(c.volatile ?? []), ...Object.keys(c.leftOut ?? {})]), requestText: decodeURIComponent(req.url) + JSON.stringify(req.body ?? '') + JSON.stringify(headers), requestBody: req.body, exact: new Set(Object.values(ids).map((n) => t.vars[n]!)) };
    compare(expected.body, res.body, '', ctx, problems);
    for (const k of c.absent ?? []) if (res.body && typeof res.body === 'object' && k in (res.body as object)) problems.push(`${k}: the page shows it absent, ours has it`);
    if (inner && !(res.body as { error?: { innerError?: Record<string, string> } })?.error?.innerError?.['request-id']) problems.push('error.innerError.request-id: missing');
  }
  if (c.paging && res.status === 200) await followPages(t, req.url, headers, res.body, c.paging.minPages, problems);
  return { problems, status: res.status, body: res.body };
}

async function followPages(t: Tenant, url: string, headers: Record<string, string>, first: unknown, minPages: number, problems: string[]): Promise<void> {
  const options = [...new URL(url).searchParams.keys()].filter((k) => k !== '$skiptoken');
  const seen = new Set<string>();
  let body = first as { value?: { id?: string }[]; '@odata.nextLink'?: string; '@odata.count'?: number };
  for (let page = 1; ; page++) {
    for (const item of body.value ?? []) {
      if (item.id && seen.has(item.id)) problems.push(`page ${page}: item ${item.id} was already served`);
      if (item.id) seen.add(item.id);
    }
    if (page > 1 && '@odata.count' in body) problems.push(`page ${page}: @odata.count is on a page after the first`);
    const next = body['@odata.nextLink'];
    if (!next) {
      if (page < minPages) problems.push(`${page} page(s), documented paging implies at least ${minPages}`);
      return;
    }
    const kept = new URL(next).searchParams;
    for (const k of options) if (!kept.has(k)) problems.push(`page ${page}: next link drops ${k}`);
    if (page > 200) return void problems.push('more than 200 pages');
    const r = await call(t, 'GET', next, headers);
    if (r.status !== 200) return void problems.push(`page ${page + 1}: ${r.status} ${short(r.body)}`);
    body = r.body as typeof body;
  }
}
