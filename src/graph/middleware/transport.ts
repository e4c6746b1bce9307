import { transportError } from '../errors.js';
import type { Context, Middleware } from './types.js';
import { urlOf } from './types.js';

/** Anything that turns a Fetch Request into a Fetch Response: global fetch, or the emulator. */
export type Transport = (request: Request) => Promise<Response>;

/**
 * The last link of the chain and the only place a request leaves the process. A real tenant
 * and the in-process emulator differ here and nowhere else: both get a standard Request.
 */
export class TransportMiddleware implements Middleware {
  constructor(private readonly send: Transport) {}

  async execute(context: Context): Promise<void> {
    const url = urlOf(context);
    const init = context.options ?? {};
    const request = new Request(url, {
      method: init.method ?? 'GET',
      headers: init.headers as Record<string, string> | undefined,
      body: (init.body as string | Uint8Array | null | undefined) ?? null,
      signal: init.signal ?? null,
    });
    try {
      context.response = await this.send(request);
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') throw err;
      throw transportError(err, { method: request.method, path: url.pathname }, url.host);
    }
  }
}

export const fetchTransport: Transport = (request) => fetch(request);

/**
 * The network transport: node:http(s) with keep-alive, answering a standard Response. Global
 * fetch works too, but its client (undici) adds ~18 MB of resident memory to every process,
 * which a streaming export of 200,000 sign-ins notices (bench/logs).
 */
export function createHttpTransport(opts: { ca?: string } = {}): Transport {
  let agents: { http: import('node:http').Agent; https: import('node:https').Agent } | undefined;
  return async (request) => {
    const http = await import('node:http');
    const https = await import('node:https');
    // `ca`: a `mock serve --tls` certificate the serve record names (issue 11).
    agents ??= { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true, ...(opts.ca ? { ca: opts.ca } : {}) }) };
    const url = new URL(request.url);
    const secure = url.protocol === 'https:';
    const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
    const headers: Record<string, string> = {};
    request.headers.forEach((v, k) => (headers[k] = v));
    if (body) headers['content-length'] = String(body.length);
    return new Promise<Response>((resolve, reject) => {
      const req = (secure ? https : http).request(
        url,
        { method: request.method, headers, agent: secure ? agents!.https : agents!.http, signal: request.signal },
        (res) => {
          const out = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (v === undefined) continue;
            for (const one of Array.isArray(v) ? v : [v]) out.append(k, one);
          }
          const status = res.statusCode ?? 0;
          const noBody = status === 204 || status === 304 || request.method === 'HEAD';
          // Graph pages are bounded (at most 1,000 rows), so the body is gathered into one
          // Buffer: wrapping the socket in a web ReadableStream allocates per chunk and showed up
          // as tens of MB of garbage over a long export.
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const buf = noBody ? null : Buffer.concat(chunks);
            resolve(new Response(buf, { status, statusText: res.statusMessage ?? '', headers: out }));
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  };
}
