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
      throw transportError(err, { method: request.method, path: url.pathname });
    }
  }
}

export const fetchTransport: Transport = (request) => fetch(request);
