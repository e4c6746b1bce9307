import { describe, expect, it } from 'vitest';
import { DebugLogMiddleware, redactHeader, redactUrl } from '../../src/graph/middleware/debugLog.js';
import type { Context, Middleware } from '../../src/graph/middleware/types.js';
import { GraphClient } from '../../src/graph/client.js';
import { addPassword, createBlueprint } from '../../src/graph/blueprints.js';
import { createMockHandler } from '../../src/mock/handler.js';
import { MemoryStore } from '../../src/mock/store.js';
import { SEED_IDS, seedState } from '../../src/mock/seed.js';

// The --debug log prints by allow-list: method, URL with safe query options, status, a short
// list of safe headers. Everything else is REDACTED and bodies never appear, only their size.

const TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.SECRET-BEARER-TOKEN';
const REQUEST_SECRET = 'client-secret-Q7~xYz.REQUEST-BODY-SECRET';
const RESPONSE_SECRET = 'Xk8Q~RESPONSE-BODY-secretText-0123456789';

class Answer implements Middleware {
  calls = 0;
  constructor(private readonly response: () => Response) {}
  async execute(context: Context): Promise<void> {
    this.calls++;
    context.response = this.response();
  }
}

class Fails implements Middleware {
  async execute(): Promise<void> {
    throw new Error('getaddrinfo ENOTFOUND graph.microsoft.com');
  }
}

function logged(next: Middleware, context: Context): Promise<string[]> {
  const lines: string[] = [];
  const mw = new DebugLogMiddleware((l) => lines.push(l));
  mw.setNext(next);
  return mw.execute(context).then(() => lines);
}

/** Timings vary; everything else is exact. */
const stable = (lines: string[]) => lines.map((l) => l.replace(/\d+ ms/, 'N ms'));

describe('DebugLogMiddleware', () => {
  it('prints the request and response exactly, with allow-listed headers shown and all others REDACTED', async () => {
    const body = JSON.stringify({ client_secret: REQUEST_SECRET, displayName: 'x' });
    const next = new Answer(
      () =>
        new Response(JSON.stringify({ secretText: RESPONSE_SECRET }), {
          status: 429,
          headers: {
            'Content-Type': 'application/json',
            'request-id': 'a7e1d0b4-0000-4000-8000-000000000001',
            'client-request-id': 'c1',
            'Retry-After': '12',
            'x-ms-session-cookie': 'session=SERVER-SESSION-SECRET',
          },
        }),
    );
    const lines = await logged(next, {
      request: 'https://graph.microsoft.com/v1.0/applications/microsoft.graph.agentIdentityBlueprint',
      options: {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${TOKEN}`,
          'client-request-id': 'c1',
          'Content-Type': 'application/json',
          ConsistencyLevel: 'eventual',
          'X-Custom-Thing': 'CUSTOM-HEADER-VALUE',
          Cookie: 'a=COOKIE-SECRET',
        },
        body,
      },
    });
    expect(stable(lines)).toEqual([
      '> POST https://graph.microsoft.com/v1.0/applications/microsoft.graph.agentIdentityBlueprint',
      '>   Authorization: REDACTED',
      '>   client-request-id: c1',
      '>   Content-Type: application/json',
      '>   ConsistencyLevel: eventual',
      '>   X-Custom-Thing: REDACTED',
      '>   Cookie: REDACTED',
      `>   (body: ${Buffer.byteLength(body)} bytes, not shown)`,
      '< 429 POST /v1.0/applications/microsoft.graph.agentIdentityBlueprint (N ms)',
      '<   client-request-id: c1',
      '<   content-type: application/json',
      '<   request-id: a7e1d0b4-0000-4000-8000-000000000001',
      '<   retry-after: 12',
      '<   x-ms-session-cookie: REDACTED',
    ]);
  });

  it('never prints a secret from a header or a request or response body', async () => {
    const next = new Answer(
      () => new Response(JSON.stringify({ secretText: RESPONSE_SECRET, hint: 'Xk8' }), { status: 200, headers: { 'Content-Type': 'application/json' } }),
    );
    const lines = await logged(next, {
      request: 'https://graph.microsoft.com/v1.0/applications/1/addPassword',
      options: { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ passwordCredential: { displayName: REQUEST_SECRET } }) },
    });
    const all = lines.join('\n');
    for (const secret of [TOKEN, 'SECRET-BEARER-TOKEN', REQUEST_SECRET, RESPONSE_SECRET, 'secretText', 'passwordCredential']) {
      expect(all).not.toContain(secret);
    }
  });

  it('leaves the response body unread for the caller', async () => {
    const next = new Answer(() => new Response(JSON.stringify({ secretText: RESPONSE_SECRET }), { status: 200 }));
    const ctx: Context = { request: 'https://graph.microsoft.com/v1.0/me', options: { method: 'GET', headers: {} } };
    await logged(next, ctx);
    expect(await ctx.response!.json()).toEqual({ secretText: RESPONSE_SECRET });
  });

  it('shows allow-listed query options and REDACTs every other query parameter', async () => {
    const next = new Answer(() => new Response(null, { status: 204 }));
    const url =
      "https://graph.microsoft.com/v1.0/servicePrincipals?$filter=displayName%20eq%20'Bot'&$top=5&code=AUTH-CODE-SECRET&client_secret=QUERY-SECRET&$select=id";
    const lines = await logged(next, { request: url, options: { method: 'GET', headers: {} } });
    expect(lines[0]).toBe("> GET https://graph.microsoft.com/v1.0/servicePrincipals?$filter=displayName eq 'Bot'&$top=5&code=REDACTED&client_secret=REDACTED&$select=id");
    expect(lines.join('\n')).not.toContain('SECRET');
    // The response line names only the path.
    expect(stable(lines).at(-1)).toBe('< 204 GET /v1.0/servicePrincipals (N ms)');
  });

  it('logs a transport failure with the path only and rethrows it', async () => {
    const lines: string[] = [];
    const mw = new DebugLogMiddleware((l) => lines.push(l));
    mw.setNext(new Fails());
    const ctx: Context = {
      request: 'https://graph.microsoft.com/v1.0/users?$search=%22secret%20person%22',
      options: { method: 'GET', headers: { Authorization: `Bearer ${TOKEN}` } },
    };
    await expect(mw.execute(ctx)).rejects.toThrow('ENOTFOUND');
    expect(stable(lines)).toEqual([
      '> GET https://graph.microsoft.com/v1.0/users?$search="secret person"',
      '>   Authorization: REDACTED',
      '< GET /v1.0/users failed after N ms: getaddrinfo ENOTFOUND graph.microsoft.com',
    ]);
  });

  it('redactHeader allows the documented safe headers in any case and nothing else', () => {
    for (const name of ['request-id', 'client-request-id', 'Retry-After', 'Content-Type', 'RETRY-AFTER', 'ConsistencyLevel', 'x-ms-throttle-scope']) {
      expect(redactHeader(name, 'v')).toBe('v');
    }
    for (const name of ['Authorization', 'authorization', 'Cookie', 'Set-Cookie', 'Proxy-Authorization', 'x-ms-client-secret', 'X-Anything-New']) {
      expect(redactHeader(name, 'secret')).toBe('REDACTED');
    }
  });

  it('redactUrl never shows a userinfo part or a fragment', () => {
    expect(redactUrl(new URL('https://user:PASSWORD@graph.microsoft.com/v1.0/me#frag'))).toBe('https://graph.microsoft.com/v1.0/me');
  });
});

describe('GraphClient --debug against the emulator', () => {
  it('logs an addPassword round trip without the token, the request body or the secretText', async () => {
    const lines: string[] = [];
    const client = new GraphClient({
      baseUrl: 'https://graph.microsoft.com',
      version: 'v1.0',
      transport: createMockHandler({ store: new MemoryStore(seedState()) }),
      token: async () => TOKEN,
      debug: (l) => lines.push(l),
    });
    const { blueprint } = await createBlueprint(client, {
      displayName: 'Debugged blueprint',
      sponsors: [{ kind: 'user', id: SEED_IDS.admin }],
      owners: [],
    });
    lines.length = 0;
    const credential = await addPassword(client, blueprint.id, { displayName: REQUEST_SECRET });
    expect(credential.secretText).toBeTruthy();
    const all = lines.join('\n');
    expect(all).toContain(`> POST https://graph.microsoft.com/v1.0/applications/${blueprint.id}/microsoft.graph.agentIdentityBlueprint/addPassword`);
    expect(all).toMatch(/< 200 POST \/v1\.0\/applications\/.+\/addPassword \(\d+ ms\)/);
    expect(all).toContain('>   Authorization: REDACTED');
    for (const secret of [TOKEN, REQUEST_SECRET, credential.secretText!, 'secretText']) {
      expect(all).not.toContain(secret);
    }
  });
});
