import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { CANONICAL_ORIGIN, RECORDING_VERSION, type Recording } from '../graph/middleware/record.js';
import { errorBody, GraphErrors } from './errors.js';
import type { MockHandler } from './handler.js';

// `agentid mock serve --replay DIR`: answers strictly from the recordings `--record` wrote.
//
// A request matches a recording when method, path and normalised query are equal:
//   path   percent-decoded, lower-cased (Graph's segments are case-insensitive), no trailing /;
//   query  OData option names lower-cased, sorted, values percent-decoded with runs of blanks
//          collapsed, so `$top=5&$filter=…` and `$filter=…&$top=5` are one request.
// Headers (Authorization above all: recordings never hold it) and bodies are not compared.
// When several recordings share a key (the same GET before and after a write) they answer in
// the order they were recorded, so the script that was recorded replays exactly; the last one
// then keeps answering, so a re-run of the script sees the final state. Anything unmatched is a Graph-shaped 501 naming the request
// and the way out (GraphErrors.replayNoMatch), as Azurite's strict mode refuses what it does
// not support instead of guessing.
//
// The token endpoint is not replayed: a CLI pointed at the replay still signs in (the recorded
// requests had their tokens removed), so `oauth` (the emulator's own sign-in) answers it.

interface Slot {
  recordings: Recording[];
  used: number;
}

export interface ReplayOptions {
  dir: string;
  /** Answers the sign-in endpoints (the emulator's handler); absent: they are unmatched too. */
  oauth?: MockHandler;
}

export function normaliseQuery(q: Record<string, string> | URLSearchParams): string {
  const entries: [string, string][] = [];
  const add = (k: string, v: string) => entries.push([k.toLowerCase(), v.replace(/\s+/g, ' ').trim()]);
  if (q instanceof URLSearchParams) q.forEach((v, k) => add(k, v));
  else for (const [k, v] of Object.entries(q)) add(k, v);
  entries.sort((a, b) => (a[0] === b[0] ? a[1].localeCompare(b[1]) : a[0] < b[0] ? -1 : 1));
  return entries.map(([k, v]) => `${k}=${v}`).join('&');
}

export function normalisePath(version: string, p: string): string {
  let decoded = p;
  try {
    decoded = decodeURIComponent(p);
  } catch {
    /* keep it as sent */
  }
  return `/${version}${decoded}`.replace(/\/+$/, '').toLowerCase();
}

export function keyOf(method: string, version: string, p: string, query: Record<string, string> | URLSearchParams): string {
  const q = normaliseQuery(query);
  return `${method.toUpperCase()} ${normalisePath(version, p)}${q ? `?${q}` : ''}`;
}

/** Every recording of a directory, in recorded order; a file that is not one is an error naming it. */
export async function loadRecordings(dir: string): Promise<Recording[]> {
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`No recordings directory ${dir}; record one with 'agentid --record ${dir} …'.`);
    throw err;
  }
  const out: Recording[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    let r: Recording;
    try {
      r = JSON.parse(await fsp.readFile(file, 'utf8')) as Recording;
    } catch {
      throw new Error(`${file} is not JSON; a recordings directory holds only what 'agentid --record' wrote.`);
    }
    if (r?.recordingVersion !== RECORDING_VERSION || !r.request?.method || typeof r.request.path !== 'string' || typeof r.response?.status !== 'number') {
      throw new Error(`${file} is not a recording (recordingVersion ${RECORDING_VERSION} with request.method, request.path and response.status); see fixtures/README.md.`);
    }
    out.push(r);
  }
  return out;
}

export async function createReplayHandler(opts: ReplayOptions): Promise<MockHandler> {
  const recordings = await loadRecordings(opts.dir);
  const slots = new Map<string, Slot>();
  for (const r of recordings) {
    const key = keyOf(r.request.method, r.request.version, r.request.path, r.request.query ?? {});
    const slot = slots.get(key) ?? { recordings: [], used: 0 };
    slot.recordings.push(r);
    slots.set(key, slot);
  }
  return async (req) => {
    const url = new URL(req.url);
    // Graph lives under /v1.0 and /beta; anything else (the sign-in endpoints) is not replayed.
    if (!/^\/(v1\.0|beta)(\/|$)/i.test(url.pathname) && opts.oauth) return opts.oauth(req);
    const requestId = randomUUID();
    const clientRequestId = req.headers.get('client-request-id');
    const base: Record<string, string> = { 'request-id': requestId, 'client-request-id': clientRequestId ?? requestId };
    const m = /^\/(v1\.0|beta)(\/.*)?$/i.exec(url.pathname);
    const version = m?.[1]?.toLowerCase() === 'beta' ? 'beta' : 'v1.0';
    const rest = m ? (m[2] ?? '/') : url.pathname;
    const key = keyOf(req.method, version, rest, url.searchParams);
    const slot = slots.get(key);
    if (!slot) {
      const prefix = `${req.method.toUpperCase()} ${normalisePath(version, rest)}`;
      const nearest = [...slots.keys()].filter((k) => k === prefix || k.startsWith(`${prefix}?`)).slice(0, 5);
      const shown = `${req.method.toUpperCase()} ${url.pathname}${url.search}`;
      const err = GraphErrors.replayNoMatch(shown, opts.dir, nearest);
      return new Response(JSON.stringify(errorBody(err, requestId, clientRequestId, new Date())), {
        status: err.status,
        headers: { ...base, 'Content-Type': 'application/json' },
      });
    }
    const r = slot.recordings[Math.min(slot.used, slot.recordings.length - 1)]!;
    slot.used++;
    const headers = new Headers(base);
    for (const [k, v] of Object.entries(r.response.headers ?? {})) headers.set(k, v);
    if (r.response.body === undefined || r.response.status === 204) return new Response(null, { status: r.response.status, headers });
    // Links were recorded as Graph's; a client follows a nextLink only to the host it talks to,
    // so those point here. Everything else (@odata.context included) is answered as recorded.
    const body = typeof r.response.body === 'string' ? r.response.body : JSON.stringify(relink(r.response.body, url.origin));
    return new Response(body, { status: r.response.status, headers });
  };
}

function relink(v: unknown, origin: string): unknown {
  if (Array.isArray(v)) return v.map((x) => relink(x, origin));
  if (!v || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    out[k] = /@odata\.(nextLink|deltaLink)$/.test(k) && typeof x === 'string' && x.startsWith(CANONICAL_ORIGIN) ? origin + x.slice(CANONICAL_ORIGIN.length) : relink(x, origin);
  }
  return out;
}
