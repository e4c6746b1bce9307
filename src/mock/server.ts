import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { MockHandler } from './handler.js';

/** Serves the emulator's Request → Response handler over HTTP (agentid mock serve). */
export async function serve(
  handler: MockHandler,
  opts: {
    host: string;
    port: number;
    tls?: { cert: string; key: string };
    /** Awaited before any answer leaves (issue 11: the write-ahead log is fsynced first). */
    beforeRespond?: () => Promise<void>;
  },
): Promise<{ url: string; close: () => Promise<void> }> {
  const scheme = opts.tls ? 'https' : 'http';
  const listener: http.RequestListener = async (req, res) => {
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) {
        if (v === undefined) continue;
        headers.set(k, Array.isArray(v) ? v.join(', ') : v);
      }
      const url = `${scheme}://${req.headers.host ?? `${opts.host}:${opts.port}`}${req.url ?? '/'}`;
      const method = req.method ?? 'GET';
      const request = new Request(url, { method, headers, ...(body && method !== 'GET' && method !== 'HEAD' ? { body } : {}) });
      const response = await handler(request);
      // A failure here (the disk) is a 500 below: an answer must never promise a write it lost.
      if (opts.beforeRespond) await opts.beforeRespond();
      const out: Record<string, string> = {};
      response.headers.forEach((v, k) => (out[k] = v));
      res.writeHead(response.status, out);
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch {
      // The handler answers every Graph error itself; this is a last resort that still speaks Graph.
      res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'InternalServerError', message: 'The emulator failed to process the request.' } }));
    }
  };
  // --tls (#3): MSAL, and so @azure/identity, refuses an authority that is not https.
  const server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, listener) : http.createServer(listener);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `${scheme}://${host}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
