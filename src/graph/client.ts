import { randomUUID } from 'node:crypto';
import { Client, ResponseType } from '@microsoft/microsoft-graph-client';
import { GraphRequestError, graphErrorFromBody } from './errors.js';
import { AuthMiddleware, type TokenProvider } from './middleware/auth.js';
import { RetryMiddleware, type RetryOptions } from './middleware/retry.js';
import { DebugLogMiddleware, type DebugSink } from './middleware/debugLog.js';
import type { RecordMiddleware } from './middleware/record.js';
import { TransportMiddleware, type Transport } from './middleware/transport.js';
import { ChainedMiddleware, type Context, type Middleware } from './middleware/types.js';

export type ApiVersion = 'v1.0' | 'beta';

export interface GraphClientOptions {
  /** Origin of the service: https://graph.microsoft.com, or a served emulator's URL. */
  baseUrl: string;
  version: ApiVersion;
  transport: Transport;
  token: TokenProvider;
  /** Hosts besides Graph's own that may receive the token (a served emulator). */
  customHosts?: string[];
  retry?: RetryOptions;
  debug?: DebugSink;
  /** --record DIR (#6): writes each attempt's redacted request/response pair to a fixture file. */
  recorder?: RecordMiddleware;
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  headers?: Record<string, string>;
  body?: unknown;
  version?: ApiVersion;
  signal?: AbortSignal;
}

export interface GraphResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

export interface Page<T> {
  value: T[];
  count?: number;
  nextLink?: string;
}

/**
 * The only module that speaks HTTP. Requests go through @microsoft/microsoft-graph-client's
 * middleware chain, in this order:
 *   rethrow   hands what the chain throws back to request() unchanged (see ThrownError);
 *   auth      adds the bearer token (Graph hosts and customHosts only);
 *   retry     429/503/504 with Retry-After, bounded; sits outside the log so that every
 *             attempt is logged, and inside auth so a token refreshed meanwhile is not needed
 *             (tokens outlive any retry budget);
 *   record    --record (#6): each attempt's pair, redacted by allow-list, to a fixture file;
 *             inside retry so a 429 and its retry are both recorded, outside debugLog;
 *   debugLog  --debug lines on stderr, allow-listed headers, no bodies;
 *   transport global fetch, or the in-process emulator's Request → Response handler.
 */
export class GraphClient {
  private readonly client: Client;
  readonly baseUrl: string;
  readonly version: ApiVersion;

  constructor(readonly options: GraphClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.version = options.version;
    const chain: Middleware[] = [
      new RethrowMiddleware(),
      new AuthMiddleware(options.token, new Set((options.customHosts ?? []).map((h) => h.toLowerCase()))),
      new RetryMiddleware(options.retry),
      ...(options.recorder ? [options.recorder] : []),
      ...(options.debug ? [new DebugLogMiddleware(options.debug)] : []),
      new TransportMiddleware(options.transport),
    ];
    for (let i = 0; i < chain.length - 1; i++) chain[i]!.setNext!(chain[i + 1]!);
    this.client = Client.initWithMiddleware({
      middleware: chain[0]!,
      baseUrl: this.baseUrl,
      defaultVersion: options.version,
      customHosts: new Set((options.customHosts ?? []).map((h) => h.toLowerCase())),
    });
  }

  /** The full URL of `path` under a version root, as a request to it goes (what --dry-run prints). */
  urlOf(path: string, version: ApiVersion = this.version): string {
    return `${this.baseUrl}/${version}${path}`;
  }

  /** Sends one request; a non-2xx answer throws GraphRequestError. */
  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<GraphResponse<T>> {
    const { version, relative } = this.resolve(path, opts);
    const headers: Record<string, string> = { 'client-request-id': randomUUID(), ...(opts.headers ?? {}) };
    const thrown = new ThrownError();
    let req = this.client.api(relative).version(version).responseType(ResponseType.RAW).headers(headers).middlewareOptions([thrown]);
    if (opts.signal) req = req.options({ signal: opts.signal });
    let res: Response;
    try {
      switch (method) {
        case 'GET':
          res = await req.get();
          break;
        case 'POST':
          res = await req.post(opts.body ?? {});
          break;
        case 'PATCH':
          res = await req.patch(opts.body ?? {});
          break;
        case 'PUT':
          res = await req.put(opts.body ?? {});
          break;
        case 'DELETE':
          res = await req.delete();
          break;
        default:
          throw new Error(`Unsupported method ${method}`);
      }
    } catch (err) {
      throw thrown.caught ? thrown.error : err;
    }
    const body = await readBody(res);
    if (!res.ok) {
      throw graphErrorFromBody(res.status, body, res.headers, { method, path: `/${version}${relative.split('?')[0]}` }, res);
    }
    return { status: res.status, headers: res.headers, body: body as T };
  }

  async get<T>(path: string, opts?: RequestOptions): Promise<T> {
    return (await this.request<T>('GET', path, opts)).body;
  }
  async post<T>(path: string, body: unknown, opts?: RequestOptions): Promise<T> {
    return (await this.request<T>('POST', path, { ...opts, body })).body;
  }
  async patch<T = void>(path: string, body: unknown, opts?: RequestOptions): Promise<GraphResponse<T>> {
    return this.request<T>('PATCH', path, { ...opts, body });
  }
  async delete(path: string, opts?: RequestOptions): Promise<void> {
    await this.request('DELETE', path, opts);
  }

  /**
   * Pages of a collection, following @odata.nextLink to the end (or maxPages). The
   * ConsistencyLevel header is not carried in the nextLink, so every page resends the
   * caller's headers (GD concepts/paging.md).
   */
  async *pages<T>(path: string, opts: RequestOptions & { maxPages?: number } = {}): AsyncGenerator<Page<T>> {
    let next: string | undefined = path;
    let first = true;
    const maxPages = opts.maxPages ?? 100_000;
    for (let n = 0; next && n < maxPages; n++) {
      const body: Record<string, unknown> = await this.get<Record<string, unknown>>(next, first ? opts : { ...opts, query: undefined });
      first = false;
      const value = Array.isArray(body.value) ? (body.value as T[]) : [];
      next = typeof body['@odata.nextLink'] === 'string' ? body['@odata.nextLink'] : undefined;
      yield { value, ...(typeof body['@odata.count'] === 'number' ? { count: body['@odata.count'] } : {}), ...(next ? { nextLink: next } : {}) };
    }
  }

  /** Every item of a collection, or the first `top`. */
  async list<T>(path: string, opts: RequestOptions & { top?: number } = {}): Promise<T[]> {
    const out: T[] = [];
    const query = { ...(opts.query ?? {}) };
    if (opts.top !== undefined && query.$top === undefined) query.$top = Math.min(opts.top, 999);
    for await (const page of this.pages<T>(path, { ...opts, query })) {
      out.push(...page.value);
      if (opts.top !== undefined && out.length >= opts.top) return out.slice(0, opts.top);
    }
    return out;
  }

  /**
   * A path relative to the version root, with the query string appended. Absolute URLs (a
   * nextLink) must point at the service this client talks to: a link elsewhere is refused
   * rather than followed with our token.
   */
  private resolve(path: string, opts: RequestOptions): { version: ApiVersion; relative: string } {
    let version = opts.version ?? this.version;
    let relative = path;
    if (/^https?:\/\//i.test(path)) {
      const u = new URL(path);
      const base = new URL(this.baseUrl);
      if (u.origin !== base.origin) {
        throw new GraphRequestError({ status: 0, code: 'UntrustedLink', message: `Refusing to follow a link to ${u.origin}; this client talks to ${base.origin}.` });
      }
      const m = /^\/(v1\.0|beta)(\/.*)$/.exec(u.pathname);
      if (!m) throw new GraphRequestError({ status: 0, code: 'UntrustedLink', message: `Unexpected link ${u.pathname}.` });
      version = m[1] as ApiVersion;
      relative = m[2]! + u.search;
    }
    const qs = encodeQuery(opts.query);
    if (qs) relative += (relative.includes('?') ? '&' : '?') + qs;
    return { version, relative };
  }
}

/**
 * The SDK's GraphRequest replaces anything the chain throws with its own GraphError, keeping
 * only the message: a transport failure (our GraphRequestError NetworkError), an abort, and a
 * token provider's AuthError would all reach callers as one anonymous error with no status and
 * the wrong exit code. Each request carries a ThrownError as a middleware option; the first
 * middleware stores the original there and request() rethrows it.
 */
class ThrownError {
  caught = false;
  error: unknown;
}

class RethrowMiddleware extends ChainedMiddleware {
  async execute(context: Context): Promise<void> {
    try {
      await this.callNext(context);
    } catch (err) {
      const slot = context.middlewareControl?.getMiddlewareOptions(ThrownError) as ThrownError | undefined;
      if (slot) {
        slot.caught = true;
        slot.error = err;
      }
      throw err;
    }
  }
}

/** OData option names stay readable ($filter), values are percent-encoded. */
export function encodeQuery(query: Query | undefined): string {
  if (!query) return '';
  return Object.entries(query)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
    .join('&');
}

/** Encodes one path segment, e.g. a key inside `(uniqueName='…')` ('' doubles per OData). */
export function keySegment(value: string): string {
  return encodeURIComponent(value.replace(/'/g, "''"));
}

async function readBody(res: Response): Promise<unknown> {
  if (res.status === 204) return undefined;
  const text = await res.text();
  if (!text) return undefined;
  const type = res.headers.get('Content-Type') ?? '';
  if (type.includes('json') || /^[[{]/.test(text.trim())) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}
