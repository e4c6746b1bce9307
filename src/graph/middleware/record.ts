import { createHmac, randomBytes, createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { ChainedMiddleware, headersOf, urlOf, type Context } from './types.js';
import { RECORDED_PROPERTIES } from './recordAllowList.js';

// `--record DIR` (AGENTID_RECORD): every Graph request/response pair becomes one JSON file in
// DIR, the format fixtures/README.md documents and `mock serve --replay/--seed` read back.
//
// Redaction works only from allow-lists, because a deny-list leaks whatever it has not heard of:
//   headers   only RECORDED_HEADERS are written; Authorization, cookies and any header we do not
//             know are dropped;
//   query     only OData system query options;
//   bodies    only property names of the Graph types agentid uses (recordAllowList.ts, generated
//             from the official model, without secretText, key, hint, proof, passwords); any
//             other property's value is written as "REDACTED". A string that looks like a token
//             (JWT), a PEM block or long base64 (certificate material) is REDACTED wherever it
//             appears, even under an allowed name;
//   non-JSON  bodies (a form post) are never written, only their size.
// The file is written only after the whole entry has been redacted in memory.
//
// The middleware sits between retry and debugLog (client.ts), so each attempt is recorded as it
// was sent, a 429 and its retry included.

export const RECORDING_VERSION = 1;
export const CANONICAL_ORIGIN = 'https://graph.microsoft.com';
export const REDACTED = 'REDACTED';

const RECORDED_HEADERS = new Set([
  'content-type',
  'consistencylevel',
  'prefer',
  'preference-applied',
  'odata-version',
  'retry-after',
  'location',
  'x-ms-throttle-limit-percentage',
  'x-ms-throttle-scope',
  'x-ms-throttle-information',
  'x-ms-resource-unit',
]);
const RECORDED_QUERY = new Set(['$filter', '$select', '$top', '$count', '$orderby', '$search', '$expand', '$skiptoken', '$skip', '$format']);
// Envelopes around the typed objects: collections, errors, $batch, action parameters.
const ENVELOPE = new Set([
  'value', 'error', 'code', 'message', 'innerError', 'innererror', 'date', 'request-id', 'client-request-id', 'details', 'target',
  'requests', 'responses', 'method', 'url', 'headers', 'body', 'dependsOn', 'status', 'passwordCredential', 'keyCredential', 'keyId',
]);

const JWT_RE = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/;
const PEM_RE = /-----BEGIN [A-Z ]+-----/;
const LONG_BASE64_RE = /^[A-Za-z0-9+/=_-]{120,}$/;
const GUID_G = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const HAS_GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

export interface RecordedRequest {
  method: string;
  version: string;
  /** Path under the version root, e.g. /applications/microsoft.graph.agentIdentityBlueprint. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body?: unknown;
}

export interface RecordedResponse {
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

export interface Recording {
  recordingVersion: number;
  request: RecordedRequest;
  response: RecordedResponse;
}

export interface RecorderOptions {
  dir: string;
  /** Replace tenant-identifying values; needs a key file so several commands map alike. */
  anonymize?: { keyFile: string } | undefined;
}

/** Writes recordings into one directory, numbered in the order they were made (across processes). */
export class Recorder {
  private next = -1;
  private anonymizer: Promise<Anonymizer> | undefined;

  constructor(readonly opts: RecorderOptions) {
    if (opts.anonymize) this.anonymizer = Anonymizer.load(opts.anonymize.keyFile);
  }

  async record(origin: string, raw: Recording): Promise<string> {
    let entry = canonicalize(redactRecording(raw), origin);
    if (this.anonymizer) entry = (await this.anonymizer).recording(entry);
    await fsp.mkdir(this.opts.dir, { recursive: true, mode: 0o700 });
    if (this.next < 0) {
      const names = await fsp.readdir(this.opts.dir);
      this.next = names.reduce((m, n) => Math.max(m, Number(/^(\d+)-/.exec(n)?.[1] ?? 0)), 0) + 1;
    }
    // Ids make names long and say little: the name keeps the entity set, cast and action.
    const slug = entry.request.path.replace(GUID_G, '').replace(/[^A-Za-z0-9.]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 80) || 'root';
    const text = JSON.stringify(entry, null, 2) + '\n';
    // 'wx' fails if another process took the number meanwhile: take the next one.
    for (;;) {
      const file = path.join(this.opts.dir, `${String(this.next).padStart(4, '0')}-${entry.request.method}-${slug}.json`);
      this.next++;
      try {
        await fsp.writeFile(file, text, { flag: 'wx', mode: 0o600 });
        return file;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
  }
}

export class RecordMiddleware extends ChainedMiddleware {
  constructor(private readonly recorder: Recorder) {
    super();
  }

  async execute(context: Context): Promise<void> {
    const url = urlOf(context);
    const method = (context.options?.method ?? 'GET').toUpperCase();
    const headers = { ...headersOf(context) };
    const requestBody = context.options?.body;
    await this.callNext(context);
    const res = context.response;
    if (!res) return;
    const m = /^\/(v1\.0|beta)(\/.*)?$/.exec(url.pathname);
    const text = res.status === 204 ? '' : await res.clone().text();
    const query: Record<string, string> = {};
    url.searchParams.forEach((v, k) => (query[k] = v));
    const resHeaders: Record<string, string> = {};
    res.headers.forEach((v, k) => (resHeaders[k] = v));
    await this.recorder.record(url.origin, {
      recordingVersion: RECORDING_VERSION,
      request: {
        method,
        version: m?.[1] ?? '',
        path: decodePath(m ? (m[2] ?? '/') : url.pathname),
        query,
        headers,
        ...(typeof requestBody === 'string' && requestBody ? { body: parseBody(requestBody) } : {}),
      },
      response: { status: res.status, headers: resHeaders, ...(text ? { body: parseBody(text) } : {}) },
    });
  }
}

function decodePath(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return `${REDACTED} (${Buffer.byteLength(text)} bytes, not JSON)`;
  }
}

function pickHeaders(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (RECORDED_HEADERS.has(k.toLowerCase())) out[k.toLowerCase()] = redactString(v);
  return out;
}

/** Every allow-list applied; what is left is safe to write. Exported for the tests. */
export function redactRecording(r: Recording): Recording {
  const query: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.request.query)) if (RECORDED_QUERY.has(k.toLowerCase())) query[k] = redactString(v);
  return {
    recordingVersion: r.recordingVersion,
    request: {
      method: r.request.method,
      version: r.request.version,
      path: redactString(r.request.path),
      query,
      headers: pickHeaders(r.request.headers),
      ...(r.request.body !== undefined ? { body: redactValue(r.request.body) } : {}),
    },
    response: { status: r.response.status, headers: pickHeaders(r.response.headers), ...(r.response.body !== undefined ? { body: redactValue(r.response.body) } : {}) },
  };
}

function redactString(s: string): string {
  return JWT_RE.test(s) || PEM_RE.test(s) || LONG_BASE64_RE.test(s) ? REDACTED : s;
}

export function redactValue(v: unknown): unknown {
  if (typeof v === 'string') return redactString(v);
  if (Array.isArray(v)) return v.map(redactValue);
  if (!v || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    // A $batch item's headers are headers, not properties.
    if (k === 'headers' && val && typeof val === 'object' && !Array.isArray(val)) out[k] = pickHeaders(val as Record<string, string>);
    else if (isAllowedKey(k)) out[k] = redactValue(val);
    // null carries nothing; keeping it keeps the shape (secretText is null on a stored credential).
    else out[k] = val === null ? null : REDACTED;
  }
  return out;
}

function isAllowedKey(k: string): boolean {
  // OData annotations: @odata.context, @odata.type, sponsors@odata.bind, …
  if (k.includes('@odata.')) return true;
  return RECORDED_PROPERTIES.has(k) || ENVELOPE.has(k);
}

/** Recorded against a served emulator or a national cloud, links still read as Graph's. */
function canonicalize(r: Recording, origin: string): Recording {
  if (origin === CANONICAL_ORIGIN) return r;
  return mapStrings(r, (s) => s.split(origin).join(CANONICAL_ORIGIN)) as Recording;
}

function mapStrings(v: unknown, fn: (s: string) => string): unknown {
  if (typeof v === 'string') return fn(v);
  if (Array.isArray(v)) return v.map((x) => mapStrings(x, fn));
  if (!v || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) out[fn(k)] = mapStrings(val, fn);
  return out;
}

// --- anonymisation -------------------------------------------------------------------------

// GUIDs that are the same in every tenant (first-party app ids, built-in role templates,
// Graph permission ids) say nothing about the tenant and make a fixture readable: kept.
const FIRST_PARTY_APP = /^0000000[0-9a-f]-0000-0000-c000-000000000000$/i;
const NAME_KEYS = new Set(['displayName', 'givenName', 'surname', 'mailNickname', 'description', 'appDisplayName', 'userDisplayName', 'uniqueName', 'companyName', 'jobTitle', 'department', 'servicePrincipalName', 'resourceDisplayName', 'notes', 'subject', 'name']);
const ADDRESS_KEYS = new Set(['userPrincipalName', 'mail', 'otherMails', 'proxyAddresses', 'imAddresses', 'servicePrincipalNames', 'identifierUris', 'homeTenantName', 'publisherDomain', 'defaultDomain', 'issuer', 'issuerAssignedId']);

/**
 * Replaces tenant-identifying values (object ids, UPNs, mail, display names, domains, IP
 * addresses, skiptokens) with stand-ins derived by HMAC-SHA256 under a key kept outside the
 * recording directory: the same value maps to the same stand-in in every file of a recording
 * (and across the commands that record into it), the recording itself holds no table a reader
 * could invert, and the key never ships with the fixture.
 */
export class Anonymizer {
  constructor(private readonly key: Buffer) {}

  static async load(keyFile: string): Promise<Anonymizer> {
    try {
      return new Anonymizer(Buffer.from((await fsp.readFile(keyFile, 'utf8')).trim(), 'hex'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await fsp.mkdir(path.dirname(keyFile), { recursive: true, mode: 0o700 });
    const key = randomBytes(32);
    try {
      await fsp.writeFile(keyFile, key.toString('hex'), { flag: 'wx', mode: 0o600 });
      return new Anonymizer(key);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      return new Anonymizer(Buffer.from((await fsp.readFile(keyFile, 'utf8')).trim(), 'hex'));
    }
  }

  private h(kind: string, value: string): string {
    return createHmac('sha256', this.key).update(`${kind}\0${value.toLowerCase()}`).digest('hex');
  }

  guid(g: string): string {
    if (FIRST_PARTY_APP.test(g) || WELL_KNOWN_GUIDS.has(g.toLowerCase())) return g;
    const x = this.h('guid', g);
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-4${x.slice(13, 16)}-${'89ab'[parseInt(x[16]!, 16) % 4]}${x.slice(17, 20)}-${x.slice(20, 32)}`;
  }

  domain(d: string): string {
    const x = this.h('domain', d).slice(0, 8);
    return /\.onmicrosoft\.(com|us|de)$/i.test(d) ? `tenant${x}.onmicrosoft.com` : `domain${x}.example`;
  }

  name(s: string): string {
    if (!s.trim() || s === REDACTED) return s;
    if (HAS_GUID.test(s)) return this.text(s);
    return `Name ${this.h('name', s).slice(0, 10)}`;
  }

  /** local@domain, a URI, or text: addresses keep their form so a recording still parses. */
  address(s: string): string {
    const at = /^([^@\s]+)@([^@\s]+)$/.exec(s);
    if (at) return `user${this.h('local', at[1]!).slice(0, 8)}@${this.domain(at[2]!)}`;
    const smtp = /^(smtp:|SMTP:)(.+)$/.exec(s);
    if (smtp) return smtp[1] + this.address(smtp[2]!);
    // A bare domain (a user identity's issuer, publisherDomain) names the tenant as surely as a UPN.
    if (/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/.test(s)) return this.domain(s);
    return this.text(s);
  }

  /** GUIDs and skiptokens inside any string (paths, links, filters). */
  text(s: string): string {
    return s
      .replace(GUID_G, (g) => this.guid(g))
      .replace(/(\$skiptoken=)([^&"'\s]+)/gi, (_m, p: string, t: string) => p + this.skiptoken(t))
      .replace(/\b(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\b/g, (ip) => this.ip(ip));
  }

  skiptoken(t: string): string {
    return `anon${this.h('skiptoken', decodeURIComponentSafe(t)).slice(0, 24)}`;
  }

  ip(ip: string): string {
    // TEST-NET-3 (RFC 5737): documentation addresses, never a real client.
    return `203.0.113.${parseInt(this.h('ip', ip).slice(0, 2), 16) % 254 + 1}`;
  }

  /** Quoted literals of $filter / $search: a name, an address or a key, mapped like the bodies. */
  filter(expr: string): string {
    return expr.replace(/'((?:[^']|'')*)'|"((?:[^"\\]|\\.)*)"/g, (m, sq: string | undefined, dq: string | undefined) => {
      if (sq !== undefined) return `'${this.literal(sq.replace(/''/g, "'")).replace(/'/g, "''")}'`;
      // $search: "displayName:Sales" — map the value after the property name.
      const inner = dq!.replace(/^(\w+):(.*)$/, (_x, p: string, v: string) => `${p}:${this.literal(v)}`);
      return `"${inner === dq ? this.literal(dq!) : inner}"`;
    });
  }

  private literal(v: string): string {
    if (HAS_GUID.test(v) || /^\d{4}-\d{2}-\d{2}/.test(v)) return this.text(v);
    if (v.includes('@')) return this.address(v);
    return this.name(v);
  }

  private value(key: string | undefined, v: unknown): unknown {
    if (typeof v === 'string') {
      if (v === REDACTED) return v;
      if (key && NAME_KEYS.has(key)) return this.name(v);
      if (key && ADDRESS_KEYS.has(key)) return this.address(v);
      if (key === 'ipAddress') return this.ip(v);
      if (key === 'domain' || key === 'domainName') return this.domain(v);
      return this.text(v);
    }
    if (Array.isArray(v)) return v.map((x) => this.value(key, x));
    if (!v || typeof v !== 'object') return v;
    const out: Record<string, unknown> = {};
    const obj = v as Record<string, unknown>;
    // verifiedDomains: [{ name: 'contoso.com', … }]
    const isDomain = typeof obj.name === 'string' && 'isDefault' in obj;
    for (const [k, val] of Object.entries(obj)) out[k] = isDomain && k === 'name' ? this.domain(String(val)) : this.value(k, val);
    return out;
  }

  recording(r: Recording): Recording {
    const query: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.request.query)) {
      const lk = k.toLowerCase();
      query[k] = lk === '$filter' || lk === '$search' ? this.text(this.filter(v)) : lk === '$skiptoken' ? this.skiptoken(v) : this.text(v);
    }
    const pathOut = r.request.path
      .split('/')
      .map((seg) => seg.replace(/'((?:[^']|'')*)'/g, (_m, lit: string) => `'${this.literal(lit.replace(/''/g, "'")).replace(/'/g, "''")}'`))
      .map((seg) => (/^[^@/()]+@[^@/()]+$/.test(seg) ? this.address(seg) : this.text(seg)))
      .join('/');
    // Location (a created object's URL) carries ids; the other recorded headers carry none.
    const headers = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, this.text(v)]));
    return {
      recordingVersion: r.recordingVersion,
      request: {
        ...r.request,
        path: pathOut,
        query,
        headers: headers(r.request.headers),
        ...(r.request.body !== undefined ? { body: this.value(undefined, r.request.body) } : {}),
      },
      response: { ...r.response, headers: headers(r.response.headers), ...(r.response.body !== undefined ? { body: this.value(undefined, r.response.body) } : {}) },
    };
  }
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

// Directory role templates and Graph permission ids (graph-agent-id.md §7, §9): global constants.
const WELL_KNOWN_GUIDS = new Set([
  'db506228-d27e-4b7d-95e5-295956d6615f', 'adb2368d-a9be-41b5-8667-d96778e081b0', '6b942400-691f-4bf0-9d12-d8a254a2baf5',
  '62e90394-69f5-4237-9190-012177145e10', 'b2b8f011-2898-4234-9092-5059f6c1ebfa', 'dcf7150a-88d4-4fe6-9be1-c2744c455397',
  '5b016f9b-18eb-41d4-869a-66931914d1c8', '4c390976-b2b7-42e0-9187-c6be3bead001', 'ad25cc1d-84d8-47df-a08e-b34c2e800819',
  '69ee0943-4fa4-4ec8-8e52-d12e4ea661a3', '7547a7d1-36fa-4479-9c31-559a600eaa4f', '7fddd33b-d884-4ec0-8696-72cff90ff825',
  '3f80b699-6405-4e36-a4df-4f19950ff91e', '0510736e-bdfb-4b37-9a1f-89b4a074763a', '76232daa-a1e4-4544-b664-495a006513bf',
  'ea4b2453-ad2d-4d94-9155-10d5d9493ce9', '9361dea9-4524-493d-941d-f1b65aaf6c7c', '3bc933bc-8b4d-4cb6-ac49-b73774299250',
  'f86a2dd8-9298-4675-bd78-f5a3572da2d7', '8959696d-d07e-4916-9b1e-3ba9ce459161', 'a0bdd23d-8b19-4682-b428-574d96527c6f',
  'b782c9ad-6f2b-4894-a21b-72bf22417f0a', '4aa6e624-eee0-40ab-bdd8-f9639038a614',
]);

/** Where the anonymisation key of a recording directory lives: under AGENTID_HOME, not in it. */
export function anonymizeKeyFile(home: string, dir: string): string {
  return path.join(home, 'record-keys', `${createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 32)}.key`);
}
