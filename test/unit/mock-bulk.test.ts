import { describe, expect, test } from 'vitest';
import { createMockHandler } from '../../src/mock/handler.js';
import { MemoryStore } from '../../src/mock/store.js';
import { GRAPH_APP_ROLES, SEED_IDS, seedState } from '../../src/mock/seed.js';
import { Traffic } from '../../src/mock/traffic.js';
import { Throttle, resourceUnitCost, WRITE_LIMIT } from '../../src/mock/throttle.js';
import { Faults } from '../../src/mock/faults.js';
import { callThrough, type Reply } from './emulatorCall.js';

// The emulator's issue-#4 surface: $batch (GD concepts/json-batching.md), throttling (GD
// concepts/throttling-limits.md), injected faults, oauth2PermissionGrants, appRoleAssignments and
// revokeSignInSessions, driven through the same Request → Response handler the CLI uses.

const ROOT = 'https://graph.microsoft.com/v1.0';

function tenant(traffic?: Traffic) {
  const store = new MemoryStore(seedState());
  const handler = createMockHandler({ store, ...(traffic ? { traffic } : {}) });
  const call = callThrough(handler, ROOT);
  return { store, call };
}

async function agentSetup(call: (m: string, p: string, b?: unknown, h?: Record<string, string>) => Promise<Reply>, n = 2) {
  const bind = { 'sponsors@odata.bind': [`${ROOT}/users/${SEED_IDS.megan}`] };
  const bp = await call('POST', '/applications/microsoft.graph.agentIdentityBlueprint', { displayName: 'BP', ...bind });
  const principal = await call('POST', '/servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal', { appId: bp.body.appId });
  const agents: any[] = [];
  for (let i = 0; i < n; i++) {
    const a = await call('POST', '/servicePrincipals/microsoft.graph.agentIdentity', { displayName: `Agent ${i}`, agentIdentityBlueprintId: bp.body.appId, ...bind });
    expect(a.status).toBe(201);
    agents.push(a.body);
  }
  return { blueprint: bp.body, principal: principal.body, agents };
}

describe('$batch', () => {
  test('answers each request with its own status, headers and body', async () => {
    const { call } = tenant(new Traffic({}));
    const { agents } = await agentSetup(call);
    const res = await call('POST', '/$batch', {
      requests: [
        { id: '1', method: 'PATCH', url: `/servicePrincipals/${agents[0].id}/microsoft.graph.agentIdentity`, headers: { 'Content-Type': 'application/json' }, body: { accountEnabled: false } },
        { id: '2', method: 'GET', url: `/servicePrincipals/${agents[1].id}/microsoft.graph.agentIdentity` },
        { id: '3', method: 'GET', url: '/servicePrincipals/00000000-0000-0000-0000-0000000000aa' },
      ],
    });
    expect(res.status).toBe(200);
    const byId = Object.fromEntries(res.body.responses.map((r: any) => [r.id, r]));
    expect(byId['1'].status).toBe(204);
    expect(byId['1'].body).toBeUndefined();
    expect(byId['2'].status).toBe(200);
    expect(byId['2'].body.id).toBe(agents[1].id);
    expect(byId['2'].headers['x-ms-resource-unit']).toBe('1');
    expect(byId['3'].status).toBe(404);
    expect(byId['3'].body.error.code).toBe('Request_ResourceNotFound');
    const after = await call('GET', `/servicePrincipals/${agents[0].id}`);
    expect(after.body.accountEnabled).toBe(false);
  });

  test('a request whose dependency failed answers 424 and is not run', async () => {
    const { call } = tenant();
    const { agents } = await agentSetup(call, 1);
    const res = await call('POST', '/$batch', {
      requests: [
        { id: 'a', method: 'GET', url: '/servicePrincipals/00000000-0000-0000-0000-0000000000aa' },
        { id: 'b', dependsOn: ['a'], method: 'PATCH', url: `/servicePrincipals/${agents[0].id}`, headers: { 'Content-Type': 'application/json' }, body: { accountEnabled: false } },
        { id: 'c', dependsOn: ['b'], method: 'GET', url: `/servicePrincipals/${agents[0].id}` },
      ],
    });
    const byId = Object.fromEntries(res.body.responses.map((r: any) => [r.id, r]));
    expect(byId.a.status).toBe(404);
    expect(byId.b.status).toBe(424);
    expect(byId.c.status).toBe(424);
    expect((await call('GET', `/servicePrincipals/${agents[0].id}`)).body.accountEnabled).toBe(true);
  });

  test('dependsOn runs requests in order', async () => {
    const { call } = tenant();
    const { agents } = await agentSetup(call, 1);
    const url = `/servicePrincipals/${agents[0].id}`;
    const h = { 'Content-Type': 'application/json' };
    const res = await call('POST', '/$batch', {
      requests: [
        { id: '3', dependsOn: ['2'], method: 'GET', url },
        { id: '2', dependsOn: ['1'], method: 'PATCH', url, headers: h, body: { displayName: 'second' } },
        { id: '1', method: 'PATCH', url, headers: h, body: { displayName: 'first' } },
      ],
    });
    const byId = Object.fromEntries(res.body.responses.map((r: any) => [r.id, r]));
    expect(byId['3'].body.displayName).toBe('second');
  });

  test('more than 20 requests, duplicate ids, or a body without Content-Type fail the whole batch with 400', async () => {
    const { call } = tenant();
    const many = Array.from({ length: 21 }, (_, i) => ({ id: String(i), method: 'GET', url: '/organization' }));
    const big = await call('POST', '/$batch', { requests: many });
    expect(big.status).toBe(400);
    expect(big.body.error.message).toMatch(/limit of 20/);
    const dup = await call('POST', '/$batch', { requests: [{ id: 'x', method: 'GET', url: '/organization' }, { id: 'X', method: 'GET', url: '/organization' }] });
    expect(dup.status).toBe(400);
    const noType = await call('POST', '/$batch', { requests: [{ id: '1', method: 'POST', url: '/oauth2PermissionGrants', body: {} }] });
    expect(noType.status).toBe(400);
    expect(noType.body.error.message).toMatch(/Content-Type/);
  });
});

describe('throttling', () => {
  test('charges resource units by the documented table', () => {
    const q = (s = '') => new URLSearchParams(s);
    expect(resourceUnitCost('GET', '/applications', q())).toBe(2);
    expect(resourceUnitCost('GET', '/applications', q('$select=id'))).toBe(1);
    expect(resourceUnitCost('GET', '/users', q('$top=5'))).toBe(1);
    expect(resourceUnitCost('GET', '/servicePrincipals/x/appRoleAssignments', q())).toBe(2);
    expect(resourceUnitCost('GET', '/servicePrincipals/x', q('$expand=owners'))).toBe(2);
    expect(resourceUnitCost('PATCH', '/servicePrincipals/x', q())).toBe(1);
  });

  test('refuses the write after the quota with 429, Retry-After and the x-ms-throttle headers, then refills', () => {
    let now = 0;
    const t = new Throttle({ mode: 'real', timeScale: 10, now: () => now });
    const req = { method: 'PATCH', path: '/servicePrincipals/x', query: new URLSearchParams(), appId: 'app', tenantId: 'tid', tenantSize: 'L' as const };
    let last;
    for (let i = 0; i < WRITE_LIMIT; i++) {
      last = t.admit(req);
      expect(last.ok).toBe(true);
    }
    expect(last!.ok && last!.headers['x-ms-throttle-limit-percentage']).toBe('1.00');
    const refused = t.admit(req);
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.error.status).toBe(429);
    expect(refused.error.headers['x-ms-throttle-scope']).toBe('Tenant_Application/Write/app/tid');
    expect(refused.error.headers['x-ms-throttle-information']).toBe('WriteLimitExceeded');
    // One write per 50 ms of emulated time; the clock runs 10× faster: 5 ms.
    expect(Number(refused.error.headers['Retry-After'])).toBeCloseTo(0.005, 3);
    now += 5;
    expect(t.admit(req).ok).toBe(true);
    // Reads still pass while writes are throttled (a separate quota).
    expect(t.admit({ ...req, method: 'GET' }).ok).toBe(true);
  });

  test('inside a $batch, each request is throttled on its own', async () => {
    const traffic = new Traffic({ throttle: { mode: 'real' } });
    const { call } = tenant(traffic);
    const { agents } = await agentSetup(call, 1);
    // Drain the write quota (the setup used 3 writes).
    const req = { method: 'PATCH', path: '/x', query: new URLSearchParams(), appId: '5e3a9d1f-7c42-4b8e-a0d6-2f1b3c4d5e6f', tenantId: seedState().tenant.id, tenantSize: 'S' as const };
    for (let i = 0; i < WRITE_LIMIT - 4; i++) traffic.throttle.admit(req);
    const h = { 'Content-Type': 'application/json' };
    const url = `/servicePrincipals/${agents[0].id}`;
    const res = await call('POST', '/$batch', {
      requests: [
        { id: '1', method: 'PATCH', url, headers: h, body: { displayName: 'one' } },
        { id: '2', method: 'GET', url },
        { id: '3', dependsOn: ['1'], method: 'PATCH', url, headers: h, body: { displayName: 'two' } },
      ],
    });
    const byId = Object.fromEntries(res.body.responses.map((r: any) => [r.id, r]));
    expect(byId['1'].status).toBe(204);
    expect(byId['2'].status).toBe(200);
    expect(byId['3'].status).toBe(429);
    expect(Number(byId['3'].headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(byId['3'].body.error.code).toBe('TooManyRequests');
  });
});

describe('faults', () => {
  test('429 and 503 refuse before acting, 504 comes after; the rate is honoured', () => {
    expect(new Faults({ rate: 1, kinds: [429], random: () => 0 }).draw()).toMatchObject({ kind: 'before', error: { status: 429 } });
    expect(new Faults({ rate: 1, kinds: [503], random: () => 0 }).draw()).toMatchObject({ kind: 'before', error: { status: 503 } });
    expect(new Faults({ rate: 1, kinds: [504], random: () => 0 }).draw()).toMatchObject({ kind: 'after', error: { status: 504 } });
    expect(new Faults({ rate: 0.2, random: () => 0.5 }).draw()).toBeUndefined();
  });

  test('a 504 fault applies the change', async () => {
    const store = new MemoryStore(seedState());
    const plain = createMockHandler({ store });
    const faulty = createMockHandler({ store, traffic: new Traffic({ faults: { rate: 1, kinds: [504], random: () => 0 } }) });
    const send = async (h: typeof plain, method: string, path: string, body?: unknown) => {
      const res = await h(new Request(`${ROOT}${path}`, { method, headers: { 'Content-Type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) }));
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    };
    const res = await send(faulty, 'PATCH', `/users/${SEED_IDS.alex}`, { jobTitle: 'Changed' });
    expect(res.status).toBe(504);
    expect((await send(plain, 'GET', `/users/${SEED_IDS.alex}`)).body.jobTitle).toBe('Changed');
  });
});

describe('grants and app role assignments', () => {
  test('oauth2PermissionGrants: create, list by client, filter, delete; re-creating gives the same id', async () => {
    const { call } = tenant();
    const { agents } = await agentSetup(call, 1);
    const body = { clientId: agents[0].id, consentType: 'AllPrincipals', resourceId: SEED_IDS.graphServicePrincipal, scope: 'User.Read Mail.Read' };
    const g = await call('POST', '/oauth2PermissionGrants', body);
    expect(g.status).toBe(201);
    expect(g.body['@odata.context']).toBe(`${ROOT}/$metadata#oauth2PermissionGrants/$entity`);
    expect(g.body.principalId).toBeNull();
    expect((await call('POST', '/oauth2PermissionGrants', body)).status).toBe(409);
    const mine = await call('GET', `/servicePrincipals/${agents[0].id}/oauth2PermissionGrants`);
    expect(mine.body.value.map((x: any) => x.id)).toEqual([g.body.id]);
    const filtered = await call('GET', `/oauth2PermissionGrants?$filter=clientId eq '${agents[0].id}'`);
    expect(filtered.body.value).toHaveLength(1);
    expect((await call('DELETE', `/oauth2PermissionGrants/${g.body.id}`)).status).toBe(204);
    expect((await call('GET', `/oauth2PermissionGrants/${g.body.id}`)).status).toBe(404);
    expect((await call('POST', '/oauth2PermissionGrants', body)).body.id).toBe(g.body.id);
  });

  test('appRoleAssignments: assign a role the resource declares, list from both ends, delete', async () => {
    const { call } = tenant();
    const { agents, principal } = await agentSetup(call, 1);
    const role = GRAPH_APP_ROLES[0]![0];
    const bad = await call('POST', `/servicePrincipals/${agents[0].id}/appRoleAssignments`, { principalId: agents[0].id, resourceId: SEED_IDS.graphServicePrincipal, appRoleId: '11111111-1111-1111-1111-111111111111' });
    expect(bad.status).toBe(400);
    const a = await call('POST', `/servicePrincipals/${agents[0].id}/appRoleAssignments`, { principalId: agents[0].id, resourceId: SEED_IDS.graphServicePrincipal, appRoleId: role });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ principalType: 'ServicePrincipal', resourceDisplayName: 'Microsoft Graph', principalDisplayName: 'Agent 0' });
    const b = await call('POST', `/servicePrincipals/${SEED_IDS.graphServicePrincipal}/appRoleAssignedTo`, { principalId: principal.id, resourceId: SEED_IDS.graphServicePrincipal, appRoleId: role });
    expect(b.status).toBe(201);
    expect((await call('GET', `/servicePrincipals/${SEED_IDS.graphServicePrincipal}/appRoleAssignedTo`)).body.value).toHaveLength(2);
    expect((await call('GET', `/servicePrincipals/${agents[0].id}/appRoleAssignments`)).body.value).toHaveLength(1);
    expect((await call('DELETE', `/servicePrincipals/${agents[0].id}/appRoleAssignments/${a.body.id}`)).status).toBe(204);
    expect((await call('GET', `/servicePrincipals/${agents[0].id}/appRoleAssignments`)).body.value).toHaveLength(0);
  });

  test('revokeSignInSessions answers true and moves signInSessionsValidFromDateTime', async () => {
    const { call } = tenant();
    const res = await call('POST', `/users/${SEED_IDS.alex}/revokeSignInSessions`);
    expect(res.status).toBe(200);
    expect(res.body.value).toBe(true);
    const u = await call('GET', `/users/${SEED_IDS.alex}?$select=signInSessionsValidFromDateTime`);
    expect(typeof u.body.signInSessionsValidFromDateTime).toBe('string');
  });
});
