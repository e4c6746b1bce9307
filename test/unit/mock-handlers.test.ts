import { describe, expect, test } from 'vitest';
import { createMockHandler, type MockHandler } from '../../src/mock/handler.js';
import { MemoryStore } from '../../src/mock/store.js';
import { SEED_DOMAIN, SEED_IDS, SEED_TENANT_ID, seedState } from '../../src/mock/seed.js';
import type { Caller } from '../../src/mock/context.js';
import { callThrough, type Call, type Reply } from './emulatorCall.js';

// Drives the emulator the way the CLI's transport does: Fetch Requests in, Fetch Responses out,
// one fresh seeded tenant per test. Expected shapes follow the GD/ED pages cited in the handlers.

const ROOT = 'https://graph.microsoft.com/v1.0';
const USERS = `${ROOT}/users`;
const GROUPS = `${ROOT}/groups`;

function tenant() {
  const store = new MemoryStore(seedState());
  const as = (caller?: Caller): Call => {
    const handler: MockHandler = createMockHandler({ store, ...(caller ? { defaultCaller: async () => caller } : {}) });
    return callThrough(handler, ROOT);
  };
  return { store, call: as(), as };
}

const sponsorsBind = (...ids: string[]) => ({ 'sponsors@odata.bind': ids.map((id) => `${USERS}/${id}`) });

/** A blueprint (cast form) and, unless told otherwise, its principal. */
async function blueprint(call: Call, name = 'Contoso Helpdesk Blueprint', withPrincipal = true) {
  const bp = await call('POST', '/applications/microsoft.graph.agentIdentityBlueprint', { displayName: name, ...sponsorsBind(SEED_IDS.megan) });
  expect(bp.status).toBe(201);
  let principal: any;
  if (withPrincipal) {
    const p = await call('POST', '/servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal', { appId: bp.body.appId });
    expect(p.status).toBe(201);
    principal = p.body;
  }
  return { app: bp.body, principal };
}

async function agentIdentity(call: Call, blueprintAppId: string, displayName = 'Helpdesk Agent 1', extra: Record<string, unknown> = {}) {
  const res = await call('POST', '/servicePrincipals/microsoft.graph.agentIdentity', { displayName, agentIdentityBlueprintId: blueprintAppId, ...sponsorsBind(SEED_IDS.megan), ...extra });
  expect(res.status).toBe(201);
  return res.body;
}

function expectGraphError(res: Reply, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(typeof res.body.error.message).toBe('string');
}

describe('blueprints (applications handler, as the agent flows use it)', () => {
  test('creates a blueprint with the cast URL and echoes the cast in @odata.context', async () => {
    const { call } = tenant();
    const res = await call('POST', '/applications/microsoft.graph.agentIdentityBlueprint', { displayName: 'BP', ...sponsorsBind(SEED_IDS.megan) });
    expect(res.status).toBe(201);
    expect(res.body['@odata.context']).toBe(`${ROOT}/$metadata#applications/microsoft.graph.agentIdentityBlueprint/$entity`);
    expect(res.body['@odata.type']).toBe('#microsoft.graph.agentIdentityBlueprint');
  });

  test('creates a blueprint with @odata.type on POST /applications when OData-Version: 4.0 is sent', async () => {
    const { call } = tenant();
    const body = { '@odata.type': 'Microsoft.Graph.AgentIdentityBlueprint', displayName: 'BP', ...sponsorsBind(SEED_IDS.megan) };
    const res = await call('POST', '/applications', body, { 'OData-Version': '4.0' });
    expect(res.status).toBe(201);
    expect(res.body['@odata.type']).toBe('#microsoft.graph.agentIdentityBlueprint');
    expect(res.body['@odata.context']).toBe(`${ROOT}/$metadata#applications/$entity`);
  });

  test('refuses @odata.type without OData-Version', async () => {
    const { call } = tenant();
    const res = await call('POST', '/applications', { '@odata.type': 'Microsoft.Graph.AgentIdentityBlueprint', displayName: 'BP', ...sponsorsBind(SEED_IDS.megan) });
    expectGraphError(res, 400, 'BadRequest');
  });

  test('upsert by uniqueName: 201 when absent with Prefer, 204 when present, 404 when absent without Prefer', async () => {
    const { call } = tenant();
    const url = "/applications(uniqueName='helpdesk-bp')/microsoft.graph.agentIdentityBlueprint";
    const first = await call('PATCH', url, { displayName: 'Helpdesk' }, { Prefer: 'create-if-missing' });
    expect(first.status).toBe(201);
    expect(first.body.uniqueName).toBe('helpdesk-bp');
    expect((await call('PATCH', url, { displayName: 'Helpdesk v2' }, { Prefer: 'create-if-missing' })).status).toBe(204);
    const missing = await call('PATCH', "/applications(uniqueName='nope')/microsoft.graph.agentIdentityBlueprint", { displayName: 'x' });
    expectGraphError(missing, 404, 'Request_ResourceNotFound');
  });
});

describe('agent identity blueprint principals', () => {
  test('cast create: 201, cast context, synced from the blueprint, creator becomes owner', async () => {
    const { call } = tenant();
    const { app } = await blueprint(call, 'Helpdesk BP', false);
    const res = await call('POST', '/servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal', { appId: app.appId });
    expect(res.status).toBe(201);
    expect(res.body['@odata.context']).toBe(`${ROOT}/$metadata#servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal/$entity`);
    expect(res.body).toMatchObject({
      '@odata.type': '#microsoft.graph.agentIdentityBlueprintPrincipal',
      appId: app.appId,
      displayName: 'Helpdesk BP',
      appDisplayName: 'Helpdesk BP',
      servicePrincipalNames: [app.appId],
      servicePrincipalType: 'Application',
      accountEnabled: true,
      appOwnerOrganizationId: SEED_TENANT_ID,
    });
    const owners = await call('GET', `/servicePrincipals/${res.body.id}/owners`);
    expect(owners.body.value.map((o: any) => o.id)).toEqual([SEED_IDS.admin]);
  });

  test('plain POST /servicePrincipals {appId} of a blueprint creates the blueprint principal (Agent 365 CLI form)', async () => {
    const { call } = tenant();
    const { app } = await blueprint(call, 'BP', false);
    const res = await call('POST', '/servicePrincipals', { appId: app.appId });
    expect(res.status).toBe(201);
    expect(res.body['@odata.type']).toBe('#microsoft.graph.agentIdentityBlueprintPrincipal');
    expect(res.body['@odata.context']).toBe(`${ROOT}/$metadata#servicePrincipals/$entity`);
  });

  test('@odata.type form on POST /servicePrincipals', async () => {
    const { call } = tenant();
    const { app } = await blueprint(call, 'BP', false);
    const res = await call('POST', '/servicePrincipals', { '@odata.type': 'Microsoft.Graph.AgentIdentityBlueprintPrincipal', appId: app.appId }, { 'OData-Version': '4.0' });
    expect(res.status).toBe(201);
    expect(res.body['@odata.type']).toBe('#microsoft.graph.agentIdentityBlueprintPrincipal');
  });

  test('a second principal for the same appId is a 409 Request_MultipleObjectsWithSameKeyValue', async () => {
    const { call } = tenant();
    const { app } = await blueprint(call);
    const res = await call('POST', '/servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal', { appId: app.appId });
    expectGraphError(res, 409, 'Request_MultipleObjectsWithSameKeyValue');
    expect(res.body.error.message).toContain(app.appId);
  });

  test('an ordinary application cannot get a blueprint principal', async () => {
    const { call } = tenant();
    const plain = await call('POST', '/applications', { displayName: 'Payroll' });
    expect(plain.status).toBe(201);
    const res = await call('POST', '/servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal', { appId: plain.body.appId });
    expectGraphError(res, 400, 'AgentBlueprintPrincipal_RequireAgentBlueprint');
    // …but a plain service principal for it is fine.
    const sp = await call('POST', '/servicePrincipals', { appId: plain.body.appId });
    expect(sp.status).toBe(201);
    expect(sp.body['@odata.type']).toBeUndefined();
  });

  test('an appId with no application is refused; appId is required', async () => {
    const { call } = tenant();
    const res = await call('POST', '/servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal', { appId: '11111111-2222-3333-4444-555555555555' });
    expectGraphError(res, 400, 'Request_BadRequest');
    expect(res.body.error.message).toContain('does not reference a valid application object');
    expectGraphError(await call('POST', '/servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal', {}), 400, 'Request_BadRequest');
  });

  test('servicePrincipalNames are blocked on blueprint principals', async () => {
    const { call } = tenant();
    const { principal } = await blueprint(call);
    const res = await call('PATCH', `/servicePrincipals/${principal.id}`, { servicePrincipalNames: ['api://x'] });
    expectGraphError(res, 400, 'AgentBlueprintPrincipal_IncompatibleProperty');
  });

  test('is reachable by the appId alternate key, with and without the cast', async () => {
    const { call } = tenant();
    const { app, principal } = await blueprint(call);
    const withCast = await call('GET', `/servicePrincipals(appId='${app.appId}')/microsoft.graph.agentIdentityBlueprintPrincipal`);
    expect(withCast.status).toBe(200);
    expect(withCast.body.id).toBe(principal.id);
    expect(withCast.body['@odata.context']).toBe(`${ROOT}/$metadata#servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal/$entity`);
    expect((await call('GET', `/servicePrincipals(appId='${app.appId}')`)).body.id).toBe(principal.id);
    expect((await call('GET', `/servicePrincipals(appId='${app.appId}')/microsoft.graph.agentIdentity`)).status).toBe(404);
  });

  test('disable with PATCH accountEnabled=false, read back', async () => {
    const { call } = tenant();
    const { principal } = await blueprint(call);
    expect((await call('PATCH', `/servicePrincipals/${principal.id}/graph.agentIdentityBlueprintPrincipal`, { accountEnabled: false })).status).toBe(204);
    expect((await call('GET', `/servicePrincipals/${principal.id}`)).body.accountEnabled).toBe(false);
  });
});

describe('agent identities', () => {
  test('creates one: 201, plain @odata.context, agentIdentity @odata.type, ServiceIdentity', async () => {
    const { call } = tenant();
    const { app } = await blueprint(call);
    const res = await call('POST', '/servicePrincipals/microsoft.graph.agentIdentity', {
      displayName: 'Helpdesk Agent',
      agentIdentityBlueprintId: app.appId,
      'sponsors@odata.bind': [`${USERS}/${SEED_IDS.megan}`, `${GROUPS}/${SEED_IDS.aiPlatformTeam}`],
      'owners@odata.bind': [`${USERS}/${SEED_IDS.lee}`],
    });
    expect(res.status).toBe(201);
    expect(res.body['@odata.context']).toBe(`${ROOT}/$metadata#servicePrincipals/$entity`);
    expect(res.body).toMatchObject({
      '@odata.type': '#microsoft.graph.agentIdentity',
      displayName: 'Helpdesk Agent',
      agentIdentityBlueprintId: app.appId,
      servicePrincipalType: 'ServiceIdentity',
      accountEnabled: true,
    });
    expect(res.body.appId).toBeUndefined();
    const sponsors = await call('GET', `/servicePrincipals/${res.body.id}/microsoft.graph.agentIdentity/sponsors`);
    expect(sponsors.body.value.map((s: any) => s.id).sort()).toEqual([SEED_IDS.megan, SEED_IDS.aiPlatformTeam].sort());
    expect(sponsors.body.value.find((s: any) => s.id === SEED_IDS.aiPlatformTeam)['@odata.type']).toBe('#microsoft.graph.group');
  });

  test.each([
    ['Microsoft.Graph.AgentIdentity'],
    ['graph.agentIdentity'],
  ])('accepts the %s spelling of the cast on create', async (spelling) => {
    const { call } = tenant();
    const { app } = await blueprint(call);
    const res = await call('POST', `/servicePrincipals/${spelling}`, { displayName: 'A', agentIdentityBlueprintId: app.appId, ...sponsorsBind(SEED_IDS.megan) });
    expect(res.status).toBe(201);
    expect(res.body['@odata.type']).toBe('#microsoft.graph.agentIdentity');
  });

  test('accepts plain POST /servicePrincipals with @odata.type and OData-Version', async () => {
    const { call } = tenant();
    const { app } = await blueprint(call);
    const body = { '@odata.type': 'Microsoft.Graph.AgentIdentity', displayName: 'A', agentIdentityBlueprintId: app.appId, ...sponsorsBind(SEED_IDS.megan) };
    const res = await call('POST', '/servicePrincipals', body, { 'OData-Version': '4.0' });
    expect(res.status).toBe(201);
    expect(res.body['@odata.type']).toBe('#microsoft.graph.agentIdentity');
  });

  test('AgentIdentity_AgentBlueprintPrincipalDoesNotExist: blueprint without principal, or no such blueprint', async () => {
    const { call } = tenant();
    const { app } = await blueprint(call, 'No principal', false);
    const body = (id: string) => ({ displayName: 'A', agentIdentityBlueprintId: id, ...sponsorsBind(SEED_IDS.megan) });
    expectGraphError(await call('POST', '/servicePrincipals/microsoft.graph.agentIdentity', body(app.appId)), 400, 'AgentIdentity_AgentBlueprintPrincipalDoesNotExist');
    expectGraphError(
      await call('POST', '/servicePrincipals/microsoft.graph.agentIdentity', body('99999999-8888-7777-6666-555555555555')),
      400,
      'AgentIdentity_AgentBlueprintPrincipalDoesNotExist',
    );
  });

  test('AgentIdentity_IncompatibleParentType: the appId of an ordinary application', async () => {
    const { call } = tenant();
    const plain = await call('POST', '/applications', { displayName: 'Payroll' });
    const res = await call('POST', '/servicePrincipals/microsoft.graph.agentIdentity', { displayName: 'A', agentIdentityBlueprintId: plain.body.appId, ...sponsorsBind(SEED_IDS.megan) });
    expectGraphError(res, 400, 'AgentIdentity_IncompatibleParentType');
  });

  test('an Agent ID Administrator must name a sponsor', async () => {
    const { call } = tenant();
    const { app } = await blueprint(call);
    const res = await call('POST', '/servicePrincipals/microsoft.graph.agentIdentity', { displayName: 'A', agentIdentityBlueprintId: app.appId });
    expectGraphError(res, 400, 'Request_BadRequest');
    expect(res.body.error.message).toContain('sponsor');
  });

  test('a delegated caller without an Agent ID role becomes the sponsor when none is named', async () => {
    const { call, as } = tenant();
    const { app } = await blueprint(call);
    const megan = as({ kind: 'user', userId: SEED_IDS.megan });
    const res = await megan('POST', '/servicePrincipals/microsoft.graph.agentIdentity', { displayName: 'A', agentIdentityBlueprintId: app.appId });
    expect(res.status).toBe(201);
    const sponsors = await call('GET', `/servicePrincipals/${res.body.id}/sponsors`);
    expect(sponsors.body.value.map((s: any) => s.id)).toEqual([SEED_IDS.megan]);
  });

  test('an app-only caller must name a sponsor', async () => {
    const { call, as } = tenant();
    const { app } = await blueprint(call);
    const self = as({ kind: 'app', appId: app.appId });
    expectGraphError(await self('POST', '/servicePrincipals/microsoft.graph.agentIdentity', { displayName: 'A', agentIdentityBlueprintId: app.appId }), 400, 'Request_BadRequest');
    const ok = await self('POST', '/servicePrincipals/microsoft.graph.agentIdentity', { displayName: 'A', agentIdentityBlueprintId: app.appId, ...sponsorsBind(SEED_IDS.lee) });
    expect(ok.status).toBe(201);
    expect(ok.body.createdByAppId).toBe(app.appId);
  });

  test('Error_AgentBlueprintCannotCreateAssociatedIdentity and Error_AgentIdentitiesCreatingAgentIdentitiesNotAllowed', async () => {
    const { call, as } = tenant();
    const a = await blueprint(call, 'A');
    const b = await blueprint(call, 'B');
    const body = { displayName: 'X', agentIdentityBlueprintId: a.app.appId, ...sponsorsBind(SEED_IDS.megan) };
    expectGraphError(await as({ kind: 'app', appId: b.app.appId })('POST', '/servicePrincipals/microsoft.graph.agentIdentity', body), 400, 'Error_AgentBlueprintCannotCreateAssociatedIdentity');
    const agent = await agentIdentity(call, a.app.appId);
    const asAgent = as({ kind: 'app', appId: agent.id, servicePrincipalId: agent.id });
    expectGraphError(await asAgent('POST', '/servicePrincipals/microsoft.graph.agentIdentity', body), 400, 'Error_AgentIdentitiesCreatingAgentIdentitiesNotAllowed');
  });

  test('credentials and other servicePrincipal properties are refused', async () => {
    const { call } = tenant();
    const { app } = await blueprint(call);
    const base = { displayName: 'A', agentIdentityBlueprintId: app.appId, ...sponsorsBind(SEED_IDS.megan) };
    expectGraphError(await call('POST', '/servicePrincipals/microsoft.graph.agentIdentity', { ...base, passwordCredentials: [] }), 400, 'AgentIdentity_CredentialsNotSupported');
    expectGraphError(await call('POST', '/servicePrincipals/microsoft.graph.agentIdentity', { ...base, appRoles: [] }), 400, 'AgentBlueprintPrincipal_AgentIdentity_IncompatibleProperty');
    expectGraphError(await call('POST', '/servicePrincipals/microsoft.graph.agentIdentity', { ...base, displayName: undefined }), 400, 'Request_BadRequest');
  });

  test('addPassword and addKey on an agent identity: AgentIdentity_CredentialsNotSupported', async () => {
    const { call } = tenant();
    const { app } = await blueprint(call);
    const agent = await agentIdentity(call, app.appId);
    expectGraphError(await call('POST', `/servicePrincipals/${agent.id}/addPassword`, { passwordCredential: { displayName: 'x' } }), 400, 'AgentIdentity_CredentialsNotSupported');
    expectGraphError(await call('POST', `/servicePrincipals/${agent.id}/addKey`, { keyCredential: {}, proof: 'x' }), 400, 'AgentIdentity_CredentialsNotSupported');
    expectGraphError(await call('PATCH', `/servicePrincipals/${agent.id}`, { keyCredentials: [] }), 400, 'AgentIdentity_CredentialsNotSupported');
  });

  test('lists by blueprint with $filter=agentIdentityBlueprintId eq, and by accountEnabled', async () => {
    const { call } = tenant();
    const a = await blueprint(call, 'A');
    const b = await blueprint(call, 'B');
    const a1 = await agentIdentity(call, a.app.appId, 'A1');
    await agentIdentity(call, a.app.appId, 'A2');
    await agentIdentity(call, b.app.appId, 'B1');
    const listA = await call('GET', `/servicePrincipals/microsoft.graph.agentIdentity?$filter=agentIdentityBlueprintId eq '${a.app.appId}'`);
    expect(listA.status).toBe(200);
    expect(listA.body['@odata.context']).toBe(`${ROOT}/$metadata#servicePrincipals/microsoft.graph.agentIdentity`);
    expect(listA.body.value.map((v: any) => v.displayName).sort()).toEqual(['A1', 'A2']);
    await call('PATCH', `/servicePrincipals/${a1.id}/microsoft.graph.agentIdentity`, { accountEnabled: false });
    const disabled = await call('GET', '/servicePrincipals/microsoft.graph.agentIdentity?$filter=accountEnabled eq false');
    expect(disabled.body.value.map((v: any) => v.id)).toEqual([a1.id]);
    // The agent cast lists only agent identities; the plain set lists every principal.
    const all = await call('GET', '/servicePrincipals');
    expect(all.body.value.length).toBe(8); // (+2: the emulated apps of issue #3, seedApps.ts) // Graph SP + 2 blueprint principals + 3 identities
    const starts = await call('GET', "/servicePrincipals/microsoft.graph.agentIdentity?$filter=startsWith(displayName,'A')");
    expect(starts.body.value.length).toBe(2);
  });

  test('$count segment needs ConsistencyLevel: eventual', async () => {
    const { call } = tenant();
    const { app } = await blueprint(call);
    await agentIdentity(call, app.appId);
    expectGraphError(await call('GET', '/servicePrincipals/microsoft.graph.agentIdentity/$count'), 400, 'Request_BadRequest');
    const res = await call('GET', '/servicePrincipals/microsoft.graph.agentIdentity/$count', undefined, { ConsistencyLevel: 'eventual' });
    expect(res.status).toBe(200);
    expect(res.body).toBe(1);
  });

  test('get: cast after key, cast before key, the three spellings; a cast the object is not is a 404', async () => {
    const { call } = tenant();
    const { app, principal } = await blueprint(call);
    const agent = await agentIdentity(call, app.appId);
    for (const path of [
      `/servicePrincipals/${agent.id}/microsoft.graph.agentIdentity`,
      `/servicePrincipals/microsoft.graph.agentIdentity/${agent.id}`,
      `/servicePrincipals/${agent.id}/Microsoft.Graph.AgentIdentity`,
      `/servicePrincipals/${agent.id}/graph.agentIdentity`,
      `/servicePrincipals/${agent.id}`,
    ]) {
      const res = await call('GET', path);
      expect(res.status, path).toBe(200);
      expect(res.body.id).toBe(agent.id);
      expect(res.body['@odata.type']).toBe('#microsoft.graph.agentIdentity');
    }
    expect((await call('GET', `/servicePrincipals/${agent.id}`)).body['@odata.context']).toBe(`${ROOT}/$metadata#servicePrincipals/$entity`);
    expect((await call('GET', `/servicePrincipals/microsoft.graph.agentIdentity/${agent.id}`)).body['@odata.context']).toBe(
      `${ROOT}/$metadata#servicePrincipals/microsoft.graph.agentIdentity/$entity`,
    );
    expectGraphError(await call('GET', `/servicePrincipals/${principal.id}/microsoft.graph.agentIdentity`), 404, 'Request_ResourceNotFound');
    expectGraphError(await call('GET', `/servicePrincipals/${agent.id}/microsoft.graph.agentIdentityBlueprintPrincipal`), 404, 'Request_ResourceNotFound');
  });

  test('tags are the union of its own and its blueprint\'s', async () => {
    const { call } = tenant();
    const { app } = await blueprint(call);
    await call('PATCH', `/applications/${app.id}`, { tags: ['helpdesk'] });
    const agent = await agentIdentity(call, app.appId, 'A', { tags: ['tier1'] });
    const res = await call('GET', `/servicePrincipals/${agent.id}`);
    expect(res.body.tags.sort()).toEqual(['helpdesk', 'tier1']);
  });

  test('PATCH accountEnabled and displayName, read back; agentIdentityBlueprintId is immutable', async () => {
    const { call } = tenant();
    const { app } = await blueprint(call);
    const agent = await agentIdentity(call, app.appId);
    expect((await call('PATCH', `/servicePrincipals/${agent.id}/microsoft.graph.agentIdentity`, { accountEnabled: false, displayName: 'Renamed' })).status).toBe(204);
    const got = await call('GET', `/servicePrincipals/${agent.id}`);
    expect(got.body).toMatchObject({ accountEnabled: false, displayName: 'Renamed' });
    expectGraphError(await call('PATCH', `/servicePrincipals/${agent.id}`, { agentIdentityBlueprintId: app.appId }), 400, 'Request_BadRequest');
    expectGraphError(await call('PATCH', `/servicePrincipals/${agent.id}`, { accountEnabled: 'no' }), 400, 'Request_BadRequest');
  });

  test('$select trims the entity and names the properties in the context', async () => {
    const { call } = tenant();
    const { app } = await blueprint(call);
    const agent = await agentIdentity(call, app.appId);
    const res = await call('GET', `/servicePrincipals/${agent.id}?$select=id,displayName`);
    expect(res.body).toEqual({
      '@odata.context': `${ROOT}/$metadata#servicePrincipals(id,displayName)/$entity`,
      '@odata.type': '#microsoft.graph.agentIdentity',
      id: agent.id,
      displayName: 'Helpdesk Agent 1',
    });
  });
});

describe('sponsors and owners', () => {
  test('add, list, remove sponsors; the last one stays', async () => {
    const { call } = tenant();
    const { app } = await blueprint(call);
    const agent = await agentIdentity(call, app.appId);
    const base = `/servicePrincipals/${agent.id}/microsoft.graph.agentIdentity/sponsors`;
    expect((await call('POST', `${base}/$ref`, { '@odata.id': `${ROOT}/directoryObjects/${SEED_IDS.agentSponsors}` })).status).toBe(204);
    expectGraphError(await call('POST', `${base}/$ref`, { '@odata.id': `${ROOT}/directoryObjects/${SEED_IDS.agentSponsors}` }), 400, 'Request_BadRequest');
    const list = await call('GET', base);
    expect(list.body.value.map((s: any) => s.id).sort()).toEqual([SEED_IDS.megan, SEED_IDS.agentSponsors].sort());
    expect((await call('DELETE', `${base}/${SEED_IDS.megan}/$ref`)).status).toBe(204);
    const last = await call('DELETE', `${base}/${SEED_IDS.agentSponsors}/$ref`);
    expectGraphError(last, 400, 'Request_BadRequest');
    expect(last.body.error.message).toContain('At least one sponsor');
  });

  test.each([
    ['an assigned security group', SEED_IDS.financeApprovers],
    ['a role-assignable group', SEED_IDS.tier0Admins],
    ['a service principal', SEED_IDS.graphServicePrincipal],
  ])('refuses %s as a sponsor', async (_what, id) => {
    const { call } = tenant();
    const { app } = await blueprint(call);
    const agent = await agentIdentity(call, app.appId);
    const res = await call('POST', `/servicePrincipals/${agent.id}/sponsors/$ref`, { '@odata.id': `${ROOT}/directoryObjects/${id}` });
    expectGraphError(res, 400, 'Request_BadRequest');
    expect(res.body.error.message).toContain('cannot be a sponsor');
    const atCreate = await call('POST', '/servicePrincipals/microsoft.graph.agentIdentity', {
      displayName: 'B',
      agentIdentityBlueprintId: app.appId,
      'sponsors@odata.bind': [`${ROOT}/directoryObjects/${id}`],
    });
    expectGraphError(atCreate, 400, 'Request_BadRequest');
  });

  test('plain service principals have no sponsors segment', async () => {
    const { call } = tenant();
    expectGraphError(await call('GET', `/servicePrincipals/${SEED_IDS.graphServicePrincipal}/sponsors`), 400, 'BadRequest');
  });

  test('owners: add a user and the agent itself, list, remove', async () => {
    const { call } = tenant();
    const { app } = await blueprint(call);
    const agent = await agentIdentity(call, app.appId);
    const base = `/servicePrincipals/${agent.id}/microsoft.graph.agentIdentity/owners`;
    expect((await call('POST', `${base}/$ref`, { '@odata.id': `${ROOT}/directoryObjects/${SEED_IDS.lee}` })).status).toBe(204);
    expect((await call('POST', `${base}/$ref`, { '@odata.id': `${ROOT}/directoryObjects/${agent.id}` })).status).toBe(204);
    const list = await call('GET', base);
    expect(list.body.value.map((o: any) => o.id).sort()).toEqual([SEED_IDS.lee, agent.id].sort());
    expect((await call('DELETE', `${base}/${SEED_IDS.lee}/$ref`)).status).toBe(204);
    expect((await call('GET', base)).body.value.map((o: any) => o.id)).toEqual([agent.id]);
    expectGraphError(await call('POST', `${base}/$ref`, { '@odata.id': `${ROOT}/directoryObjects/${SEED_IDS.aiPlatformTeam}` }), 400, 'Request_BadRequest');
  });
});

describe('agent users', () => {
  async function setup() {
    const t = tenant();
    const { app } = await blueprint(t.call);
    const agent = await agentIdentity(t.call, app.appId);
    return { ...t, app, agent };
  }
  const agentUserBody = (parent: string, alias = 'helpdeskagent') => ({
    accountEnabled: true,
    displayName: 'Helpdesk Agent',
    mailNickname: alias,
    userPrincipalName: `${alias}@${SEED_DOMAIN}`,
    identityParentId: parent,
  });

  test('creates one with the cast URL: 201, users context, agentUser type, default properties', async () => {
    const { call, agent } = await setup();
    const res = await call('POST', '/users/microsoft.graph.agentUser', agentUserBody(agent.id));
    expect(res.status).toBe(201);
    expect(res.body['@odata.context']).toBe(`${ROOT}/$metadata#users/$entity`);
    expect(res.body).toMatchObject({
      '@odata.type': '#microsoft.graph.agentUser',
      displayName: 'Helpdesk Agent',
      userPrincipalName: `helpdeskagent@${SEED_DOMAIN}`,
      mail: `helpdeskagent@${SEED_DOMAIN}`,
      mailNickname: 'helpdeskagent',
      identityParentId: agent.id,
    });
    expect(res.body.accountEnabled).toBeUndefined(); // not in the default set
  });

  test('creates one with POST /users and @odata.type', async () => {
    const { call, agent } = await setup();
    const res = await call('POST', '/users', { '@odata.type': 'microsoft.graph.agentUser', ...agentUserBody(agent.id) }, { 'OData-Version': '4.0' });
    expect(res.status).toBe(201);
    expect(res.body['@odata.type']).toBe('#microsoft.graph.agentUser');
  });

  test('a second agent user for the same agent identity is a 400', async () => {
    const { call, agent } = await setup();
    expect((await call('POST', '/users/microsoft.graph.agentUser', agentUserBody(agent.id))).status).toBe(201);
    expectGraphError(await call('POST', '/users/microsoft.graph.agentUser', agentUserBody(agent.id, 'other')), 400, 'Request_BadRequest');
  });

  test('an unverified UPN domain is a 400 with Graph\'s message; a taken UPN too', async () => {
    const { call, agent } = await setup();
    const res = await call('POST', '/users/microsoft.graph.agentUser', { ...agentUserBody(agent.id), userPrincipalName: 'agent@fabrikam.com' });
    expectGraphError(res, 400, 'Request_BadRequest');
    expect(res.body.error.message).toBe('The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.');
    const taken = await call('POST', '/users/microsoft.graph.agentUser', { ...agentUserBody(agent.id), userPrincipalName: `meganb@${SEED_DOMAIN}` });
    expectGraphError(taken, 400, 'Request_BadRequest');
    expect(taken.body.error.message).toContain('userPrincipalName');
  });

  test('identityParentId must be a live agent identity; required properties are required', async () => {
    const { call, app } = await setup();
    const principal = await call('GET', `/servicePrincipals(appId='${app.appId}')`);
    expectGraphError(await call('POST', '/users/microsoft.graph.agentUser', agentUserBody(principal.body.id)), 400, 'Request_BadRequest');
    expectGraphError(await call('POST', '/users/microsoft.graph.agentUser', agentUserBody(SEED_IDS.megan)), 400, 'Request_BadRequest');
    const { mailNickname: _m, ...noNick } = agentUserBody(SEED_IDS.megan);
    const missing = await call('POST', '/users/microsoft.graph.agentUser', noNick);
    expectGraphError(missing, 400, 'Request_BadRequest');
    expect(missing.body.error.message).toContain('mailNickname');
  });

  test('get by id, by UPN, cast before key; plain users have no @odata.type', async () => {
    const { call, agent } = await setup();
    const created = await call('POST', '/users/microsoft.graph.agentUser', agentUserBody(agent.id));
    const byCast = await call('GET', `/users/microsoft.graph.agentUser/${created.body.id}`);
    expect(byCast.status).toBe(200);
    expect(byCast.body['@odata.context']).toBe(`${ROOT}/$metadata#users/microsoft.graph.agentUser/$entity`);
    expect((await call('GET', `/users/helpdeskagent@${SEED_DOMAIN}`)).body.id).toBe(created.body.id);
    const selected = await call('GET', `/users/${created.body.id}?$select=accountEnabled`);
    expect(selected.body).toEqual({
      '@odata.context': `${ROOT}/$metadata#users(accountEnabled)/$entity`,
      '@odata.type': '#microsoft.graph.agentUser',
      accountEnabled: true,
    });
    const megan = await call('GET', `/users/${SEED_IDS.megan}`);
    expect(megan.body['@odata.type']).toBeUndefined();
    expect(Object.keys(megan.body).sort()).toEqual(['@odata.context', 'businessPhones', 'displayName', 'givenName', 'id', 'jobTitle', 'mail', 'mobilePhone', 'officeLocation', 'preferredLanguage', 'surname', 'userPrincipalName'].sort());
    expectGraphError(await call('GET', `/users/microsoft.graph.agentUser/${SEED_IDS.megan}`), 404, 'Request_ResourceNotFound');
  });

  test('list: the cast lists only agent users; filter by identityParentId', async () => {
    const { call, agent } = await setup();
    await call('POST', '/users/microsoft.graph.agentUser', agentUserBody(agent.id));
    const list = await call('GET', '/users/microsoft.graph.agentUser');
    expect(list.body.value.length).toBe(1);
    expect((await call('GET', '/users')).body.value.length).toBe(7);
    const byParent = await call('GET', `/users?$filter=identityParentId eq '${agent.id}'&$select=id,identityParentId`);
    expect(byParent.body.value).toEqual([{ '@odata.type': '#microsoft.graph.agentUser', id: list.body.value[0].id, identityParentId: agent.id }]);
  });

  test('PATCH: 204, or 200 with the entity on Prefer: return=representation; identityParentId is immutable', async () => {
    const { call, agent } = await setup();
    const created = await call('POST', '/users/microsoft.graph.agentUser', agentUserBody(agent.id));
    const url = `/users/microsoft.graph.agentUser/${created.body.id}`;
    expect((await call('PATCH', url, { '@odata.type': '#microsoft.graph.agentUser', jobTitle: 'Helpdesk', accountEnabled: false })).status).toBe(204);
    const rep = await call('PATCH', url, { department: 'IT' }, { Prefer: 'return=representation' });
    expect(rep.status).toBe(200);
    expect(rep.body).toMatchObject({ jobTitle: 'Helpdesk', accountEnabled: false, department: 'IT', '@odata.type': '#microsoft.graph.agentUser' });
    expectGraphError(await call('PATCH', url, { identityParentId: agent.id }), 400, 'Request_BadRequest');
    expectGraphError(await call('PATCH', url, { userPrincipalName: 'x@fabrikam.com' }), 400, 'Request_BadRequest');
    expectGraphError(await call('PATCH', url, { passwordProfile: { password: 'x' } }), 400, 'Request_BadRequest');
  });

  test('sponsors on an agent user: users and groups; no owners segment', async () => {
    const { call, agent } = await setup();
    const created = await call('POST', '/users/microsoft.graph.agentUser', agentUserBody(agent.id));
    const base = `/users/${created.body.id}/sponsors`;
    expect((await call('POST', `${base}/$ref`, { '@odata.id': `${USERS}/${SEED_IDS.lee}` })).status).toBe(204);
    expect((await call('POST', `${base}/$ref`, { '@odata.id': `${GROUPS}/${SEED_IDS.aiPlatformTeam}` })).status).toBe(204);
    expect((await call('GET', base)).body.value.length).toBe(2);
    expect((await call('DELETE', `${base}/${SEED_IDS.lee}/$ref`)).status).toBe(204);
    expectGraphError(await call('GET', `/users/${created.body.id}/owners`), 400, 'BadRequest');
  });
});

describe('/me', () => {
  test('is the signed-in user', async () => {
    const { call } = tenant();
    const res = await call('GET', '/me');
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(SEED_IDS.admin);
    expect(res.body['@odata.context']).toBe(`${ROOT}/$metadata#users/$entity`);
  });

  test('is a 400 for app-only callers', async () => {
    const { as } = tenant();
    const res = await as({ kind: 'app', appId: '5e3a9d1f-7c42-4b8e-a0d6-2f1b3c4d5e6f' })('GET', '/me');
    expectGraphError(res, 400, 'BadRequest');
    expect(res.body.error.message).toBe('/me request is only valid with delegated authentication flow.');
  });
});

describe('deleted items', () => {
  test('soft delete, list with the required cast, get, restore', async () => {
    const { call } = tenant();
    const { app } = await blueprint(call);
    const agent = await agentIdentity(call, app.appId);
    expect((await call('DELETE', `/servicePrincipals/${agent.id}/microsoft.graph.agentIdentity`)).status).toBe(204);
    expectGraphError(await call('GET', `/servicePrincipals/${agent.id}`), 404, 'Request_ResourceNotFound');
    expect((await call('GET', '/servicePrincipals/microsoft.graph.agentIdentity')).body.value).toEqual([]);

    const list = await call('GET', '/directory/deletedItems/microsoft.graph.servicePrincipal');
    expect(list.status).toBe(200);
    expect(list.body['@odata.context']).toBe(`${ROOT}/$metadata#servicePrincipals`);
    expect(list.body.value).toHaveLength(1);
    expect(list.body.value[0]).toMatchObject({ id: agent.id, '@odata.type': '#microsoft.graph.agentIdentity' });
    expect(typeof list.body.value[0].deletedDateTime).toBe('string');
    expect((await call('GET', '/directory/deletedItems/microsoft.graph.user')).body.value).toEqual([]);

    expectGraphError(await call('GET', '/directory/deletedItems'), 400, 'Request_UnsupportedQuery');
    const one = await call('GET', `/directory/deletedItems/${agent.id}`);
    expect(one.status).toBe(200);
    expect(one.body['@odata.type']).toBe('#microsoft.graph.agentIdentity');

    const restored = await call('POST', `/directory/deletedItems/${agent.id}/restore`);
    expect(restored.status).toBe(200);
    expect(restored.body['@odata.context']).toBe(`${ROOT}/$metadata#directoryObjects/$entity`);
    expect(restored.body).toMatchObject({ id: agent.id, '@odata.type': '#microsoft.graph.agentIdentity', deletedDateTime: null });
    expect((await call('GET', `/servicePrincipals/${agent.id}`)).status).toBe(200);
    expectGraphError(await call('GET', `/directory/deletedItems/${agent.id}`), 404, 'Request_ResourceNotFound');
  });

  test('permanent delete; a blueprint principal cannot be purged', async () => {
    const { call } = tenant();
    const { app, principal } = await blueprint(call);
    const agent = await agentIdentity(call, app.appId);
    await call('DELETE', `/servicePrincipals/${agent.id}`);
    expect((await call('DELETE', `/directory/deletedItems/${agent.id}`)).status).toBe(204);
    expectGraphError(await call('GET', `/directory/deletedItems/${agent.id}`), 404, 'Request_ResourceNotFound');
    expectGraphError(await call('POST', `/directory/deletedItems/${agent.id}/restore`), 404, 'Request_ResourceNotFound');

    await call('DELETE', `/servicePrincipals/${principal.id}`);
    expectGraphError(await call('DELETE', `/directory/deletedItems/${principal.id}`), 400, 'Request_BadRequest');
    expect((await call('POST', `/directory/deletedItems/${principal.id}/restore`)).status).toBe(200);
  });

  test('restoring a principal whose appId got a new principal meanwhile is a 409', async () => {
    const { call } = tenant();
    const { app, principal } = await blueprint(call);
    await call('DELETE', `/servicePrincipals/${principal.id}`);
    expect((await call('POST', '/servicePrincipals', { appId: app.appId })).status).toBe(201);
    expectGraphError(await call('POST', `/directory/deletedItems/${principal.id}/restore`), 409, 'Request_MultipleObjectsWithSameKeyValue');
  });

  test('deleted agent users: list with the user cast, restore', async () => {
    const { call } = tenant();
    const { app } = await blueprint(call);
    const agent = await agentIdentity(call, app.appId);
    const user = await call('POST', '/users/microsoft.graph.agentUser', {
      accountEnabled: true,
      displayName: 'AU',
      mailNickname: 'au',
      userPrincipalName: `au@${SEED_DOMAIN}`,
      identityParentId: agent.id,
    });
    expect((await call('DELETE', `/users/${user.body.id}`)).status).toBe(204);
    const list = await call('GET', '/directory/deletedItems/microsoft.graph.user?$select=id,deletedDateTime');
    expect(list.body.value).toHaveLength(1);
    expect(list.body.value[0]['@odata.type']).toBe('#microsoft.graph.agentUser');
    expect(typeof list.body.value[0].deletedDateTime).toBe('string');
    expect((await call('POST', `/directory/deletedItems/${user.body.id}/restore`)).status).toBe(200);
  });
});

describe('directoryObjects, groups, organization', () => {
  test('GET /directoryObjects/{id} carries @odata.type; getByIds filters by type', async () => {
    const { call } = tenant();
    const { app } = await blueprint(call);
    const agent = await agentIdentity(call, app.appId);
    const one = await call('GET', `/directoryObjects/${SEED_IDS.aiPlatformTeam}`);
    expect(one.body).toMatchObject({ '@odata.type': '#microsoft.graph.group', id: SEED_IDS.aiPlatformTeam });
    expect(one.body['@odata.context']).toBe(`${ROOT}/$metadata#directoryObjects/$entity`);
    const res = await call('POST', '/directoryObjects/getByIds', { ids: [SEED_IDS.megan, agent.id, SEED_IDS.aiPlatformTeam], types: ['user', 'servicePrincipal'] });
    expect(res.status).toBe(200);
    expect(res.body.value.map((v: any) => v['@odata.type'])).toEqual(['#microsoft.graph.user', '#microsoft.graph.agentIdentity']);
  });

  test('groups are listed and read; writes are 405', async () => {
    const { call } = tenant();
    const list = await call('GET', '/groups');
    expect(list.body.value).toHaveLength(4);
    const got = await call('GET', `/groups/${SEED_IDS.agentSponsors}`);
    expect(got.body.groupTypes).toEqual(['DynamicMembership']);
    expectGraphError(await call('DELETE', `/groups/${SEED_IDS.agentSponsors}`), 405, 'Request_BadRequest');
    expectGraphError(await call('POST', '/groups', { displayName: 'x' }), 405, 'Request_BadRequest');
    expectGraphError(await call('PATCH', `/groups/${SEED_IDS.agentSponsors}`, { displayName: 'x' }), 405, 'Request_BadRequest');
  });

  test('group members are read (GET /groups/{id}/members, $select, $top) and cannot be written', async () => {
    const { call } = tenant();
    const all = await call('GET', `/groups/${SEED_IDS.aiPlatformTeam}/members?$select=id`);
    expect(all.status).toBe(200);
    expect(all.body.value.map((m: any) => m.id).sort()).toEqual([SEED_IDS.admin, SEED_IDS.lee].sort());
    expect(all.body.value[0]['@odata.type']).toBe('#microsoft.graph.user');
    const one = await call('GET', `/groups/${SEED_IDS.aiPlatformTeam}/members?$select=id&$top=1`);
    expect(one.body.value).toHaveLength(1);
    expect(one.body['@odata.nextLink']).toBeTruthy();
    expectGraphError(await call('POST', `/groups/${SEED_IDS.aiPlatformTeam}/members/$ref`, { '@odata.id': `${ROOT}/directoryObjects/${SEED_IDS.megan}` }), 405, 'Request_BadRequest');
    expectGraphError(await call('GET', `/groups/${SEED_IDS.aiPlatformTeam}/owners`), 400, 'BadRequest');
  });

  test('organization: one entry with the verified domains', async () => {
    const { call } = tenant();
    const res = await call('GET', '/organization');
    expect(res.status).toBe(200);
    expect(res.body['@odata.context']).toBe(`${ROOT}/$metadata#organization`);
    expect(res.body.value).toHaveLength(1);
    expect(res.body.value[0]).toMatchObject({
      id: SEED_TENANT_ID,
      displayName: 'Contoso',
      verifiedDomains: [{ name: SEED_DOMAIN, isDefault: true, isInitial: true, type: 'Managed', capabilities: 'Email, OfficeCommunicationsOnline' }],
    });
    expectGraphError(await call('PATCH', `/organization/${SEED_TENANT_ID}`, { displayName: 'x' }), 405, 'Request_BadRequest');
  });
});

describe('Graph-shaped errors and credentials', () => {
  test('an unknown segment is a 400 with innerError request-id, client-request-id and date', async () => {
    const { call } = tenant();
    const res = await call('GET', '/servicePrincipals/whatever/bogus', undefined, { 'client-request-id': 'abc-123' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBeTruthy();
    const top = await call('GET', '/notASet', undefined, { 'client-request-id': 'abc-123' });
    expectGraphError(top, 400, 'BadRequest');
    expect(top.body.error.message).toBe("Resource not found for the segment 'notASet'.");
    expect(top.body.error.innerError['request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(top.body.error.innerError['client-request-id']).toBe('abc-123');
    expect(top.body.error.innerError.date).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
    expect(top.headers.get('request-id')).toBe(top.body.error.innerError['request-id']);
    const sub = await call('GET', `/servicePrincipals/${SEED_IDS.graphServicePrincipal}/bogus`);
    expectGraphError(sub, 400, 'BadRequest');
    expect(sub.body.error.message).toBe("Resource not found for the segment 'bogus'.");
  });

  test('an unsupported method is a 405', async () => {
    const { call } = tenant();
    expectGraphError(await call('PUT', `/servicePrincipals/${SEED_IDS.graphServicePrincipal}`, {}), 405, 'Request_BadRequest');
    expectGraphError(await call('DELETE', '/servicePrincipals'), 405, 'Request_BadRequest');
    expectGraphError(await call('POST', '/me', {}), 405, 'Request_BadRequest');
  });

  test('addPassword returns secretText once; GET never shows it', async () => {
    const { call, store } = tenant();
    const { app, principal } = await blueprint(call);
    const added = await call('POST', `/applications/${app.id}/microsoft.graph.agentIdentityBlueprint/addPassword`, { passwordCredential: { displayName: 'ci' } });
    expect(added.status).toBe(200);
    expect(added.body.secretText).toMatch(/^.{16,64}$/);
    expect(added.body.hint).toBe(added.body.secretText.slice(0, 3));
    const got = await call('GET', `/applications/${app.id}`);
    expect(got.body.passwordCredentials).toHaveLength(1);
    expect(got.body.passwordCredentials[0].secretText).toBeNull();
    expect(JSON.stringify(got.body)).not.toContain(added.body.secretText);

    const spAdded = await call('POST', `/servicePrincipals/${principal.id}/addPassword`, { passwordCredential: { displayName: 'sp' } });
    expect(spAdded.status).toBe(200);
    const spGot = await call('GET', `/servicePrincipals/${principal.id}`);
    expect(JSON.stringify(spGot.body)).not.toContain(spAdded.body.secretText);
    expect(JSON.stringify(await store.read((s) => s))).not.toContain(spAdded.body.secretText);
    expect((await call('POST', `/servicePrincipals/${principal.id}/removePassword`, { keyId: spAdded.body.keyId })).status).toBe(204);
  });
});
