import { GraphErrors, type MockGraphError } from './errors.js';

// Identity-and-access throttling as GD concepts/throttling-limits.md documents it ("Identity and
// access service limits"): per application + tenant pair, a resource-unit budget per 10 seconds
// (S: 3,500, M: 5,000, L: 8,000, by the tenant's user count: under 50, 50–500, above 500) and
// 3,000 writes per 2 minutes 30 seconds. Each request costs resource units by the doc's table
// (1 unless listed; GET applications, users, oauth2PermissionGrants and a principal's
// appRoleAssignments cost 2; $select −1, $expand +1, $top under 20 −1, never below 1), and a
// POST/PATCH/PUT/DELETE also costs one write. Requests inside a $batch are evaluated one by one
// (GD concepts/json-batching.md), so the $batch envelope itself costs nothing here.
//
// How the budgets refill is not documented. [INFERRED] We model each as a token bucket that
// starts full and refills continuously (limit / window per second): a fresh app may burst up
// to the limit, and a steady client gets exactly the documented average. A refused request
// costs nothing. The answer to a refused request carries Retry-After (the time until the
// bucket holds enough again) and the documented x-ms-throttle-scope / x-ms-throttle-information
// headers; every answer carries x-ms-resource-unit, and x-ms-throttle-limit-percentage once more
// than 80% of a budget is used.
//
// --time-scale N runs this clock N times faster, for tests and benchmarks: windows are N times
// shorter and Retry-After N times smaller. Graph sends Retry-After in whole seconds; with a
// time scale above 1 the emulator sends fractions (e.g. "0.25"), which agentid's client reads.

export type TenantSize = 'S' | 'M' | 'L';

export const RU_LIMIT: Record<TenantSize, number> = { S: 3500, M: 5000, L: 8000 };
export const RU_WINDOW_SECONDS = 10;
export const WRITE_LIMIT = 3000;
export const WRITE_WINDOW_SECONDS = 150;

export interface ThrottleOptions {
  mode: 'real' | 'off';
  timeScale?: number;
  /** Wall clock in milliseconds (injectable for tests). */
  now?: () => number;
}

export interface ThrottleRequest {
  method: string;
  /** Path below the version, e.g. /servicePrincipals/{id}/microsoft.graph.agentIdentity. */
  path: string;
  query: URLSearchParams;
  appId: string;
  tenantId: string;
  tenantSize: TenantSize;
}

export type ThrottleDecision = { ok: true; headers: Record<string, string> } | { ok: false; error: MockGraphError };

class Bucket {
  level: number;
  updated: number;
  constructor(
    readonly capacity: number,
    readonly perMs: number,
    now: number,
  ) {
    this.level = capacity;
    this.updated = now;
  }
  refill(now: number): void {
    this.level = Math.min(this.capacity, this.level + (now - this.updated) * this.perMs);
    this.updated = now;
  }
  /** Milliseconds until `cost` tokens are available (0 when they are). */
  waitFor(cost: number): number {
    return this.level >= cost ? 0 : (cost - this.level) / this.perMs;
  }
  used(): number {
    return 1 - this.level / this.capacity;
  }
}

const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

/** Resource-unit cost of one request (GD throttling-limits.md, "Identity and access service limits"). */
export function resourceUnitCost(method: string, path: string, query: URLSearchParams): number {
  const segs = path.split('/').filter(Boolean).map((s) => s.toLowerCase());
  let cost = 1;
  if (method === 'GET') {
    const [set, key, nav] = segs;
    const isCast = (s: string | undefined) => !!s && /^(microsoft\.)?graph\./.test(s);
    const collection = segs.length === 1 || (segs.length === 2 && isCast(key));
    if ((set === 'applications' || set === 'users') && collection) cost = 2;
    else if (set === 'oauth2permissiongrants' && segs.length <= 2) cost = 2;
    else if (set === 'serviceprincipals' && (nav === 'approleassignments' || segs[3] === 'approleassignments')) cost = 2;
    else if (set === 'groups' && nav === 'members') cost = 3;
    else if (set === 'groups' && nav === 'transitivemembers') cost = 5;
  }
  if (query.has('$select')) cost -= 1;
  if (query.has('$expand')) cost += 1;
  const top = Number(query.get('$top'));
  if (query.has('$top') && Number.isFinite(top) && top < 20) cost -= 1;
  return Math.max(1, cost);
}

export class Throttle {
  private readonly scale: number;
  private readonly now: () => number;
  private readonly ru = new Map<string, Bucket>();
  private readonly writes = new Map<string, Bucket>();

  constructor(private readonly opts: ThrottleOptions) {
    this.scale = opts.timeScale && opts.timeScale > 0 ? opts.timeScale : 1;
    this.now = opts.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.opts.mode === 'real';
  }

  admit(req: ThrottleRequest): ThrottleDecision {
    const cost = resourceUnitCost(req.method, req.path, req.query);
    const headers: Record<string, string> = { 'x-ms-resource-unit': String(cost) };
    if (!this.enabled) return { ok: true, headers };
    const now = this.now();
    const pair = `${req.appId}/${req.tenantId}`;
    const ru = this.bucket(this.ru, `${pair}/${req.tenantSize}`, RU_LIMIT[req.tenantSize], RU_WINDOW_SECONDS, now);
    const isWrite = WRITE_METHODS.has(req.method);
    const wr = isWrite ? this.bucket(this.writes, pair, WRITE_LIMIT, WRITE_WINDOW_SECONDS, now) : undefined;
    const waitRu = ru.waitFor(cost);
    const waitWr = wr ? wr.waitFor(1) : 0;
    if (waitRu > 0 || waitWr > 0) {
      const waitMs = Math.max(waitRu, waitWr);
      // Retry-After in the emulated clock's seconds, shown in real seconds: whole seconds at
      // scale 1 (as Graph sends them), fractions when the clock runs faster.
      const seconds = this.scale === 1 ? Math.max(1, Math.ceil(waitMs / 1000)) : Math.max(0.001, Math.ceil(waitMs) / 1000);
      const byWrites = waitWr >= waitRu;
      return {
        ok: false,
        error: GraphErrors.throttled(seconds, {
          'x-ms-throttle-scope': `Tenant_Application/${byWrites ? 'Write' : 'ReadWrite'}/${req.appId}/${req.tenantId}`,
          'x-ms-throttle-information': byWrites ? 'WriteLimitExceeded' : 'ResourceUnitLimitExceeded',
          'x-ms-resource-unit': String(cost),
        }),
      };
    }
    ru.level -= cost;
    if (wr) wr.level -= 1;
    const used = Math.max(ru.used(), wr ? wr.used() : 0);
    if (used > 0.8) headers['x-ms-throttle-limit-percentage'] = used.toFixed(2);
    return { ok: true, headers };
  }

  private bucket(map: Map<string, Bucket>, key: string, limit: number, windowSeconds: number, now: number): Bucket {
    let b = map.get(key);
    if (!b) {
      b = new Bucket(limit, limit / ((windowSeconds * 1000) / this.scale), now);
      map.set(key, b);
    } else b.refill(now);
    return b;
  }
}

/** S, M or L by the number of users (GD throttling-limits.md note on tenant sizes). */
export function tenantSizeOf(userCount: number): TenantSize {
  return userCount < 50 ? 'S' : userCount <= 500 ? 'M' : 'L';
}

/**
 * The application a request counts against: the `appid` (v1 tokens) or `azp` (v2) claim of a
 * bearer JWT, read without verifying it (the auth step verifies; this only picks a bucket), or
 * the agentid CLI's own app id when there is no token.
 */
export function callerAppId(authorization: string | null, fallback: string): string {
  const m = /^Bearer\s+([^.\s]+)\.([^.\s]+)\.[^.\s]*$/i.exec(authorization ?? '');
  if (!m) return fallback;
  try {
    const claims = JSON.parse(Buffer.from(m[2]!, 'base64url').toString('utf8')) as { appid?: unknown; azp?: unknown };
    const id = typeof claims.appid === 'string' ? claims.appid : typeof claims.azp === 'string' ? claims.azp : undefined;
    return id ?? fallback;
  } catch {
    return fallback;
  }
}
