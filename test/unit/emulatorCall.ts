import type { MockHandler } from '../../src/mock/handler.js';

// How the emulator's unit tests call it: the way the CLI's transport does, a Fetch Request in and
// a Fetch Response out, with the body read back as JSON (or text, when it is not JSON).

export interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

export type Call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<Reply>;

/** A Call on handler; a relative path is appended to root (e.g. https://graph.microsoft.com/v1.0). */
export function callThrough(handler: MockHandler, root: string): Call {
  return async (method, path, body, headers = {}) => {
    const init: RequestInit = { method, headers: { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers } };
    if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
    const res = await handler(new Request(path.startsWith('http') ? path : `${root}${path}`, init));
    const text = await res.text();
    let parsed: unknown = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
}
