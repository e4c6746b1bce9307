import { describe, expect, it } from 'vitest';
import { AuthMiddleware } from '../../src/graph/middleware/auth.js';
import type { Context, Middleware } from '../../src/graph/middleware/types.js';
import { GraphClient } from '../../src/graph/client.js';
import { GraphRequestError } from '../../src/graph/errors.js';

// The token goes to Graph's hosts and to customHosts (a served emulator), nowhere else: not to
// a nextLink or redirect that points at another host.

class Capture implements Middleware {
  readonly seen: Context[] = [];
  async execute(context: Context): Promise<void> {
    this.seen.push(context);
    context.response = new Response(null, { status: 204 });
  }
}

function authChain(customHosts: string[] = []) {
  const tokenCalls: (AbortSignal | undefined)[] = [];
  const auth = new AuthMiddleware(async (signal) => {
    tokenCalls.push(signal);
    return 'T0KEN';
  }, new Set(customHosts));
  const next = new Capture();
  auth.setNext(next);
  return { auth, next, tokenCalls };
}

async function authorizationFor(url: string, customHosts: string[] = []) {
  const { auth, next, tokenCalls } = authChain(customHosts);
  const ctx: Context = { request: url, options: { method: 'GET', headers: { Accept: 'application/json' } } };
  await auth.execute(ctx);
  expect(next.seen).toHaveLength(1);
  const headers = ctx.options!.headers as Record<string, string>;
  return { authorization: headers.Authorization, tokenCalls: tokenCalls.length, headers };
}

describe('AuthMiddleware', () => {
  it('adds the bearer token for graph.microsoft.com and keeps the other headers', async () => {
    const r = await authorizationFor('https://graph.microsoft.com/v1.0/me');
    expect(r.authorization).toBe('Bearer T0KEN');
    expect(r.headers.Accept).toBe('application/json');
  });

  it.each(['https://graph.microsoft.us/v1.0/me', 'https://dod-graph.microsoft.us/v1.0/me', 'https://microsoftgraph.chinacloudapi.cn/v1.0/me', 'https://GRAPH.Microsoft.com/beta/me'])(
    'adds the token for the national-cloud Graph host %s',
    async (url) => {
      expect((await authorizationFor(url)).authorization).toBe('Bearer T0KEN');
    },
  );

  it('adds the token for a customHost such as a served emulator on localhost', async () => {
    expect((await authorizationFor('http://localhost:7071/v1.0/me', ['localhost'])).authorization).toBe('Bearer T0KEN');
  });

  it('does not add the token for localhost unless it is a customHost', async () => {
    const r = await authorizationFor('http://localhost:7071/v1.0/me');
    expect(r.authorization).toBeUndefined();
    expect(r.tokenCalls).toBe(0);
  });

  it.each([
    'https://evil.example/v1.0/users?$skiptoken=abc',
    'https://graph.microsoft.com.evil.example/v1.0/me',
    'https://evilgraph.microsoft.com/v1.0/me',
    'https://login.microsoftonline.com/common/oauth2/v2.0/token',
  ])('does not add the token for %s, and never asks for one', async (url) => {
    const r = await authorizationFor(url, ['localhost']);
    expect(r.authorization).toBeUndefined();
    expect(r.tokenCalls).toBe(0);
  });

  it('passes the request signal to the token provider', async () => {
    const { auth, tokenCalls } = authChain();
    const controller = new AbortController();
    await auth.execute({ request: 'https://graph.microsoft.com/v1.0/me', options: { method: 'GET', headers: {}, signal: controller.signal } });
    expect(tokenCalls).toEqual([controller.signal]);
  });

  it('sends no Authorization header when the provider has no token', async () => {
    const auth = new AuthMiddleware(async () => undefined);
    const next = new Capture();
    auth.setNext(next);
    const ctx: Context = { request: 'https://graph.microsoft.com/v1.0/me', options: { method: 'GET', headers: {} } };
    await auth.execute(ctx);
    expect(ctx.options!.headers).toEqual({});
  });

  it('works when the request headers are a Headers object', async () => {
    const { auth } = authChain();
    const ctx: Context = { request: 'https://graph.microsoft.com/v1.0/me', options: { method: 'GET', headers: new Headers({ Accept: 'x' }) } };
    await auth.execute(ctx);
    expect(ctx.options!.headers).toEqual({ accept: 'x', Authorization: 'Bearer T0KEN' });
  });
});

describe('GraphClient token handling', () => {
  function recordingClient(opts: { baseUrl?: string; customHosts?: string[]; pages?: Record<string, unknown>[] } = {}) {
    const sent: Request[] = [];
    const pages = [...(opts.pages ?? [])];
    const client = new GraphClient({
      baseUrl: opts.baseUrl ?? 'https://graph.microsoft.com',
      version: 'v1.0',
      ...(opts.customHosts ? { customHosts: opts.customHosts } : {}),
      token: async () => 'T0KEN',
      transport: async (req) => {
        sent.push(req);
        const body = pages.shift();
        if (!body) throw new Error(`unexpected request ${req.method} ${req.url}`);
        return Response.json(body);
      },
    });
    return { client, sent };
  }

  it('sends the token to a served emulator named in customHosts', async () => {
    const { client, sent } = recordingClient({ baseUrl: 'http://localhost:7071', customHosts: ['localhost'], pages: [{ value: [] }] });
    await client.get('/me');
    expect(sent.map((r) => r.url)).toEqual(['http://localhost:7071/v1.0/me']);
    expect(sent[0]!.headers.get('Authorization')).toBe('Bearer T0KEN');
  });

  it('does not send the token to a served emulator missing from customHosts', async () => {
    const { client, sent } = recordingClient({ baseUrl: 'http://localhost:7071', pages: [{ value: [] }] });
    await client.get('/me');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.headers.get('Authorization')).toBeNull();
  });

  it('refuses an absolute link to another origin before sending anything', async () => {
    const { client, sent } = recordingClient();
    const err = await client.get('https://evil.example/v1.0/users?$skiptoken=x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphRequestError);
    expect(err).toMatchObject({ code: 'UntrustedLink', status: 0 });
    expect((err as Error).message).toContain('https://evil.example');
    expect(sent).toEqual([]);
  });

  it('refuses an absolute link on the same host but another scheme or port', async () => {
    const { client, sent } = recordingClient();
    for (const link of ['http://graph.microsoft.com/v1.0/users', 'https://graph.microsoft.com:8443/v1.0/users']) {
      await expect(client.get(link)).rejects.toMatchObject({ code: 'UntrustedLink' });
    }
    expect(sent).toEqual([]);
  });

  it('refuses a same-origin link outside the versioned API', async () => {
    const { client, sent } = recordingClient();
    await expect(client.get('https://graph.microsoft.com/elsewhere/users')).rejects.toMatchObject({ code: 'UntrustedLink' });
    expect(sent).toEqual([]);
  });

  it('stops paging at a nextLink that points at another origin, having sent only the first page', async () => {
    const { client, sent } = recordingClient({
      pages: [{ value: [{ id: '1' }], '@odata.nextLink': 'https://evil.example/v1.0/users?$skiptoken=steal' }],
    });
    const seen: unknown[] = [];
    const err = await (async () => {
      for await (const page of client.pages<{ id: string }>('/users')) seen.push(...page.value);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphRequestError);
    expect(err).toMatchObject({ code: 'UntrustedLink' });
    expect(seen).toEqual([{ id: '1' }]);
    expect(sent.map((r) => r.url)).toEqual(['https://graph.microsoft.com/v1.0/users']);
  });

  it('follows a same-origin nextLink with the token, switching to the version it names', async () => {
    const { client, sent } = recordingClient({
      pages: [{ value: [{ id: '1' }], '@odata.nextLink': 'https://graph.microsoft.com/beta/users?$skiptoken=p2' }, { value: [{ id: '2' }] }],
    });
    expect(await client.list('/users')).toEqual([{ id: '1' }, { id: '2' }]);
    expect(sent.map((r) => r.url)).toEqual(['https://graph.microsoft.com/v1.0/users', 'https://graph.microsoft.com/beta/users?$skiptoken=p2']);
    expect(sent.map((r) => r.headers.get('Authorization'))).toEqual(['Bearer T0KEN', 'Bearer T0KEN']);
  });
});
