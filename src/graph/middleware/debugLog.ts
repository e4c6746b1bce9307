import { ChainedMiddleware, headersOf, urlOf, type Context } from './types.js';

// Headers whose values may be printed. Everything else (Authorization above all, cookies, any
// header we do not know) prints as REDACTED: an allow-list cannot leak a header it has never
// heard of, a deny-list can. Bodies are never printed, only their size, because request and
// response bodies carry secrets (addPassword's secretText, a token endpoint's client_secret).
const SAFE_HEADERS = new Set([
  'request-id',
  'client-request-id',
  'retry-after',
  'content-type',
  'content-length',
  'consistencylevel',
  'prefer',
  'preference-applied',
  'odata-version',
  'x-ms-ags-diagnostic',
  'x-ms-throttle-limit-percentage',
  'x-ms-throttle-scope',
  'x-ms-throttle-information',
  'x-ms-resource-unit',
  'location',
]);

// Query options whose values are safe to print; other parameters are shown as REDACTED.
const SAFE_QUERY = new Set(['$filter', '$select', '$top', '$count', '$orderby', '$search', '$expand', '$skiptoken', 'api-version']);

export type DebugSink = (line: string) => void;

export class DebugLogMiddleware extends ChainedMiddleware {
  constructor(private readonly sink: DebugSink) {
    super();
  }

  async execute(context: Context): Promise<void> {
    const method = context.options?.method ?? 'GET';
    const url = urlOf(context);
    const started = performance.now();
    this.sink(`> ${method} ${redactUrl(url)}`);
    for (const [k, v] of Object.entries(headersOf(context))) this.sink(`>   ${k}: ${redactHeader(k, v)}`);
    const body = context.options?.body;
    if (typeof body === 'string') this.sink(`>   (body: ${Buffer.byteLength(body)} bytes, not shown)`);
    try {
      await this.callNext(context);
    } catch (err) {
      this.sink(`< ${method} ${url.pathname} failed after ${Math.round(performance.now() - started)} ms: ${(err as Error).message}`);
      throw err;
    }
    const res = context.response;
    if (!res) return;
    this.sink(`< ${res.status} ${method} ${url.pathname} (${Math.round(performance.now() - started)} ms)`);
    res.headers.forEach((v, k) => this.sink(`<   ${k}: ${redactHeader(k, v)}`));
  }
}

export function redactHeader(name: string, value: string): string {
  return SAFE_HEADERS.has(name.toLowerCase()) ? value : 'REDACTED';
}

export function redactUrl(url: URL): string {
  const params: string[] = [];
  url.searchParams.forEach((v, k) => params.push(`${k}=${SAFE_QUERY.has(k.toLowerCase()) ? v : 'REDACTED'}`));
  return `${url.origin}${url.pathname}${params.length ? `?${params.join('&')}` : ''}`;
}
