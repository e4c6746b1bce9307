import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { GraphClient } from '../../src/graph/client.js';
import { GraphRequestError } from '../../src/graph/errors.js';
import type { Transport } from '../../src/graph/middleware/transport.js';
import { createBlueprint, getBlueprint, listBlueprints, type CreateBlueprintInput } from '../../src/graph/blueprints.js';
import { createAgent, listAgents } from '../../src/graph/agents.js';
import { AmbiguousNameError, resolveBlueprint } from '../../src/graph/resolve.js';
import { paths } from '../../src/graph/paths.js';
import { AuthError, NotFoundError } from '../../src/errors.js';
import { createMockHandler } from '../../src/mock/handler.js';
import { MemoryStore } from '../../src/mock/store.js';
import { SEED_IDS, seedState } from '../../src/mock/seed.js';

// GraphClient and the resource modules driven against the in-process emulator, the way the CLI
// runs offline. A transport wrapper records (or sabotages) requests on their way to the emulator.

const TOKEN = 'T0KEN-for-tests';
const PRINCIPAL_POST = `/v1.0${paths.principals()}`;

interface Harness {
  client: GraphClient;
  store: MemoryStore;
  sent: { method: string; url: URL; headers: Headers }[];
}

type Wrap = (emulator: Transport) => Transport;

function harness(
  wrap: Wrap = (t) => t,
  retry: GraphClient['options']['retry'] = { sleep: async () => undefined },
  token: GraphClient['options']['token'] = async () => TOKEN,
): Harness {
  const store = new MemoryStore(seedState());
  const emulator = createMockHandler({ store });
  const sent: Harness['sent'] = [];
  const wrapped = wrap(emulator);
  const client = new GraphClient({
    baseUrl: 'https://graph.microsoft.com',
    version: 'v1.0',
    token,
    retry,
    transport: (req) => {
      sent.push({ method: req.method, url: new URL(req.url), headers: req.headers });
      return wrapped(req);
    },
  });
  return { client, store, sent };
}

const admin = { kind: 'user', id: SEED_IDS.admin } as const;
const bp = (displayName: string, extra: Partial<CreateBlueprintInput> = {}): CreateBlueprintInput => ({ displayName, sponsors: [admin], owners: [], ...extra });

async function caught(p: Promise<unknown>): Promise<GraphRequestError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GraphRequestError);
  return err as GraphRequestError;
}

function graphError(status: number, code: string, message: string): Response {
  return Response.json(
    { error: { code, message, innerError: { date: '2026-03-01T12:00:00', 'request-id': 'rid-injected', 'client-request-id': 'cid' } } },
    { status, headers: { 'request-id': 'rid-injected' } },
  );
}

describe('GraphClient errors', () => {
  it('turns a 404 into one GraphRequestError with status, code, message, request-id and date', async () => {
    const h = harness();
    const id = randomUUID();
    const err = await caught(getBlueprint(h.client, id));
    expect(err.constructor).toBe(GraphRequestError);
    expect(err.status).toBe(404);
    expect(err.code).toBe('Request_ResourceNotFound');
    expect(err.message).toContain(id);
    expect(err.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(err.requestId).toBe(err.response?.headers.get('request-id'));
    expect(err.date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    expect(err.method).toBe('GET');
    expect(err.path).toBe(`/v1.0/applications/${id}/microsoft.graph.agentIdentityBlueprint`);
    expect(err.clientRequestId).toBe(h.sent[0]!.headers.get('client-request-id'));
    expect(err.describe()).toBe(`Request_ResourceNotFound: ${err.message} (request-id: ${err.requestId}, date: ${err.date})`);
  });

  it('turns a 400 from the query engine into a GraphRequestError', async () => {
    const h = harness();
    const err = await caught(h.client.get(paths.agents(), { query: { $top: 5000 } }));
    expect(err).toMatchObject({ status: 400, code: 'Request_UnsupportedQuery' });
    expect(err.requestId).toBeTruthy();
  });

  it('turns a 405 into a GraphRequestError', async () => {
    const h = harness();
    const err = await caught(h.client.request('PUT', paths.blueprints(), { body: {} }));
    expect(err).toMatchObject({ status: 405, code: 'Request_BadRequest' });
  });

  it('turns a 429 that outlasts the retries into a GraphRequestError carrying Retry-After', async () => {
    let sleeps = 0;
    const h = harness(
      () => async () => {
        const r = graphError(429, 'TooManyRequests', 'Too many requests.');
        r.headers.set('Retry-After', '17');
        return r;
      },
      { maxRetries: 2, sleep: async () => void sleeps++ },
    );
    const err = await caught(h.client.get('/me'));
    expect(err).toMatchObject({ status: 429, code: 'TooManyRequests', message: 'Too many requests.', requestId: 'rid-injected', date: '2026-03-01T12:00:00', retryAfterSeconds: 17 });
    expect(h.sent).toHaveLength(3);
    expect(sleeps).toBe(2);
  });

  it('gives a body that is not Graph-shaped a code and message from the status', async () => {
    const h = harness(() => async () => new Response('<html>Bad gateway</html>', { status: 502, headers: { 'Content-Type': 'text/html', 'request-id': 'gw-1' } }));
    const err = await caught(h.client.get('/me'));
    expect(err).toMatchObject({ status: 502, code: 'HTTP502', message: 'Graph answered HTTP 502.', requestId: 'gw-1', date: undefined });
  });

  it.each([
    [401, 'InvalidAuthenticationToken'],
    [403, 'Authorization_RequestDenied'],
    [404, 'Request_ResourceNotFound'],
  ])('names an empty %i by its status', async (status, code) => {
    const h = harness(() => async () => new Response(null, { status }));
    await expect(h.client.get('/me')).rejects.toMatchObject({ status, code });
  });

  it('turns a transport failure into a GraphRequestError with status 0', async () => {
    const h = harness(() => async () => {
      throw new TypeError('fetch failed');
    });
    const err = await caught(h.client.get('/me'));
    expect(err.constructor).toBe(GraphRequestError);
    expect(err).toMatchObject({ status: 0, code: 'NetworkError', method: 'GET', path: '/v1.0/me' });
    expect(err.message).toBe('Could not reach Microsoft Graph at graph.microsoft.com: fetch failed');
  });

  it('lets a token provider failure through as the very error it threw', async () => {
    const notSignedIn = new AuthError('Not signed in. Run agentid login.');
    const h = harness(undefined, undefined, async () => {
      throw notSignedIn;
    });
    await expect(h.client.get('/me')).rejects.toBe(notSignedIn);
    expect(h.sent).toEqual([]);
  });

  it('rejects with the AbortError itself when the caller aborts during a retry wait', async () => {
    const controller = new AbortController();
    const h = harness(
      () => async () => {
        controller.abort();
        return graphError(503, 'ServiceUnavailable', 'Busy.');
      },
      { maxRetries: 3 }, // the real, abortable sleep
    );
    const err = await h.client.get('/me', { signal: controller.signal }).catch((e: unknown) => e);
    expect(err).toBe(controller.signal.reason);
    expect((err as Error).name).toBe('AbortError');
    expect(h.sent).toHaveLength(1);
  });

  it('keeps the raw response out of JSON.stringify and util.inspect', async () => {
    const h = harness();
    const err = await caught(getBlueprint(h.client, randomUUID()));
    expect(err.response).toBeInstanceOf(Response);
    expect(Object.keys(err)).not.toContain('response');
    const json = JSON.parse(JSON.stringify(err)) as Record<string, unknown>;
    expect(Object.keys(json).sort()).toEqual(['code', 'date', 'message', 'requestId', 'status']);
    expect(json).toEqual({ status: 404, code: 'Request_ResourceNotFound', message: err.message, requestId: err.requestId, date: err.date });
    const text = `${JSON.stringify(err)}\n${inspect(err, { depth: 5 })}`;
    for (const leak of [TOKEN, 'Bearer', 'Response {', 'Headers', 'authorization']) expect(text).not.toContain(leak);
  });
});

describe('GraphClient paging over 250 agent identities', () => {
  const h = harness();
  let blueprintAppId = '';

  beforeAll(async () => {
    const { blueprint } = await createBlueprint(h.client, bp('Paging blueprint'));
    blueprintAppId = blueprint.appId;
    for (let i = 0; i < 250; i++) {
      await createAgent(h.client, { displayName: `Agent ${String(i).padStart(3, '0')}`, blueprintAppId, sponsors: [admin], owners: [] });
    }
  });

  function listRequests(from: number) {
    return h.sent.slice(from).filter((r) => r.method === 'GET');
  }

  it('follows @odata.nextLink to the end: all 250, each once', async () => {
    const from = h.sent.length;
    const agents = await listAgents(h.client);
    expect(agents).toHaveLength(250);
    expect(new Set(agents.map((a) => a.id)).size).toBe(250);
    // Agent identity pages hold at most 100 (GD agentidentity-list.md).
    expect(listRequests(from)).toHaveLength(3);
  });

  it('keeps the filter on every page it follows', async () => {
    const agents = await listAgents(h.client, { blueprintAppId });
    expect(agents).toHaveLength(250);
    expect(agents.every((a) => a.agentIdentityBlueprintId === blueprintAppId)).toBe(true);
  });

  it('returns exactly `top` items when top spans more than one page', async () => {
    const agents = await listAgents(h.client, { top: 120 });
    expect(agents).toHaveLength(120);
    expect(new Set(agents.map((a) => a.id)).size).toBe(120);
  });

  it('returns exactly `top` items within one page, sending one request', async () => {
    const from = h.sent.length;
    expect(await listAgents(h.client, { top: 7 })).toHaveLength(7);
    expect(listRequests(from)).toHaveLength(1);
  });

  it('resends the ConsistencyLevel header on every page, which the nextLink does not carry', async () => {
    const from = h.sent.length;
    const pages: { n: number; count?: number }[] = [];
    for await (const page of h.client.pages(paths.agents(), { headers: { ConsistencyLevel: 'eventual' }, query: { $count: 'true' } })) {
      pages.push({ n: page.value.length, ...(page.count !== undefined ? { count: page.count } : {}) });
    }
    expect(pages.map((p) => p.n)).toEqual([100, 100, 50]);
    expect(pages[0]!.count).toBe(250);
    const reqs = listRequests(from);
    expect(reqs).toHaveLength(3);
    expect(reqs.map((r) => r.headers.get('ConsistencyLevel'))).toEqual(['eventual', 'eventual', 'eventual']);
    // Pages after the first are the nextLink as given: no second copy of the query.
    expect(reqs[0]!.url.searchParams.getAll('$count')).toEqual(['true']);
    for (const r of reqs.slice(1)) {
      expect(r.url.searchParams.getAll('$count')).toEqual(['true']);
      expect(r.url.searchParams.getAll('$skiptoken')).toHaveLength(1);
    }
  });

  it('stops after maxPages', async () => {
    const from = h.sent.length;
    let pages = 0;
    for await (const page of h.client.pages(paths.agents(), { maxPages: 2 })) {
      pages++;
      expect(page.nextLink).toBeTruthy();
    }
    expect(pages).toBe(2);
    expect(listRequests(from)).toHaveLength(2);
  });
});

describe('createBlueprint', () => {
  it('with a uniqueName is idempotent: the second run finds the blueprint and its principal', async () => {
    const h = harness();
    const first = await createBlueprint(h.client, bp('Helpdesk agents', { uniqueName: 'contoso-helpdesk' }));
    expect(first).toMatchObject({ created: true, principalCreated: true });
    expect(first.blueprint.uniqueName).toBe('contoso-helpdesk');
    expect(first.principal.appId).toBe(first.blueprint.appId);

    const second = await createBlueprint(h.client, bp('Helpdesk agents', { uniqueName: 'contoso-helpdesk' }));
    expect(second).toMatchObject({ created: false, principalCreated: false });
    expect(second.blueprint.id).toBe(first.blueprint.id);
    expect(second.principal.id).toBe(first.principal.id);
    expect(await listBlueprints(h.client, { filter: "uniqueName eq 'contoso-helpdesk'" })).toHaveLength(1);
    expect(h.sent.filter((r) => r.method !== 'GET').slice(2)).toEqual([]); // the rerun wrote nothing
  });

  it('deletes the blueprint again when the principal cannot be created, leaving nothing half-written', async () => {
    const h = harness((emulator) => async (req) => {
      if (req.method === 'POST' && new URL(req.url).pathname === PRINCIPAL_POST) return graphError(400, 'Request_BadRequest', 'Injected principal failure.');
      return emulator(req);
    });
    const err = await caught(createBlueprint(h.client, bp('Half-written')));
    expect(err).toMatchObject({ status: 400, code: 'Request_BadRequest', message: 'Injected principal failure.' });
    const writes = h.sent.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.url.pathname}`);
    expect(writes[0]).toBe(`POST /v1.0${paths.blueprints()}`);
    expect(writes[1]).toBe(`POST ${PRINCIPAL_POST}`);
    expect(writes[2]).toMatch(/^DELETE \/v1\.0\/applications\/[0-9a-f-]{36}\/microsoft\.graph\.agentIdentityBlueprint$/);
    expect(await listBlueprints(h.client, { filter: "displayName eq 'Half-written'" })).toEqual([]);
  });

  it('reports the principal failure, not the clean-up, when the rollback also fails', async () => {
    const h = harness((emulator) => async (req) => {
      const path = new URL(req.url).pathname;
      if (req.method === 'POST' && path === PRINCIPAL_POST) throw new TypeError('socket hang up');
      if (req.method === 'DELETE') return graphError(503, 'ServiceUnavailable', 'Injected delete failure.');
      return emulator(req);
    }, { maxRetries: 0 });
    const err = await caught(createBlueprint(h.client, bp('Rollback fails')));
    expect(err).toMatchObject({ status: 0, code: 'NetworkError' });
    expect(err.message).toContain('socket hang up');
  });

  it('with a uniqueName keeps the blueprint when the principal fails, and a rerun completes it', async () => {
    let failPrincipal = true;
    const h = harness((emulator) => async (req) => {
      if (failPrincipal && req.method === 'POST' && new URL(req.url).pathname === PRINCIPAL_POST) return graphError(400, 'Request_BadRequest', 'Injected.');
      return emulator(req);
    });
    await caught(createBlueprint(h.client, bp('Resumable', { uniqueName: 'resumable' })));
    expect(h.sent.some((r) => r.method === 'DELETE')).toBe(false);
    failPrincipal = false;
    const rerun = await createBlueprint(h.client, bp('Resumable', { uniqueName: 'resumable' }));
    expect(rerun).toMatchObject({ created: false, principalCreated: true });
    expect(rerun.principal.appId).toBe(rerun.blueprint.appId);
  });
});

describe('resolveBlueprint', () => {
  const h = harness();
  let helpdesk: Awaited<ReturnType<typeof createBlueprint>>['blueprint'];
  let twins: string[] = [];

  beforeAll(async () => {
    helpdesk = (await createBlueprint(h.client, bp("O'Brien's helpdesk"))).blueprint;
    twins = [(await createBlueprint(h.client, bp('Twin'))).blueprint.id, (await createBlueprint(h.client, bp('Twin'))).blueprint.id];
  });

  it('finds a blueprint by object id', async () => {
    expect((await resolveBlueprint(h.client, helpdesk.id)).id).toBe(helpdesk.id);
  });

  it('finds a blueprint by appId', async () => {
    expect((await resolveBlueprint(h.client, helpdesk.appId)).id).toBe(helpdesk.id);
  });

  it('finds a blueprint by its exact display name, quotes and surrounding spaces included', async () => {
    expect((await resolveBlueprint(h.client, "  O'Brien's helpdesk ")).id).toBe(helpdesk.id);
  });

  it('refuses an ambiguous name and lists every candidate', async () => {
    const err = await resolveBlueprint(h.client, 'Twin').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AmbiguousNameError);
    const candidates = (err as AmbiguousNameError).candidates;
    expect(candidates).toHaveLength(2);
    for (const id of twins) {
      expect(candidates.some((c) => c.includes(`id ${id}`))).toBe(true);
      expect((err as Error).message).toContain(id);
    }
  });

  it('lets a chooser pick among an ambiguous name', async () => {
    const offered: string[] = [];
    const chosen = await resolveBlueprint(h.client, 'Twin', async (what, candidates) => {
      offered.push(what, ...candidates.map((c) => c.label));
      return candidates[1]!.value;
    });
    expect(offered[0]).toBe('blueprint');
    expect(offered).toHaveLength(3);
    expect(twins).toContain(chosen.id);
    expect(offered[2]).toContain(chosen.id);
  });

  it('throws NotFoundError for an unknown name', async () => {
    await expect(resolveBlueprint(h.client, 'No such blueprint')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('throws NotFoundError for a GUID that is neither an object id nor an appId', async () => {
    const err = await resolveBlueprint(h.client, randomUUID()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).not.toBeInstanceOf(GraphRequestError);
  });
});
