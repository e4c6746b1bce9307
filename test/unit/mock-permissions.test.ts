import { beforeAll, describe, expect, it } from 'vitest';
import { createMockHandler, type MockHandler } from '../../src/mock/handler.js';
import { MemoryStore } from '../../src/mock/store.js';
import { seedState, SEED_IDS } from '../../src/mock/seed.js';
import { SEED_APPS } from '../../src/mock/seedApps.js';
import { AGENTID_DELEGATED_SCOPES, appClaims, mintToken, userClaims } from '../../src/mock/auth.js';
import { requirementFor } from '../../src/mock/permissions.js';
import { parsePath } from '../../src/mock/path.js';

// The emulator's authorization across its permission table: who may do what, per the v1.0
// permission includes (src/mock/permissions.ts cites each), the Agent ID roles, owners' rights,
// and the Directory.AccessAsUser.All trap. One tenant, several callers, one table of requests.

const store = new MemoryStore(seedState());
const handler: MockHandler = createMockHandler({ store, requireToken: true });
const bind = (id: string) => `https://graph.microsoft.com/v1.0/users/${id}`;

type Who = 'admin' | 'adminUserReadOnly' | 'adminTrap' | 'megan' | 'adele' | 'reader' | 'automation' | 'automationTrap';
const tokens = {} as Record<Who, string>;
const ids = {} as Record<'adminBp' | 'adminBpAppId' | 'meganBp' | 'agent', string>;

async function call(who: Who, method: string, path: string, body?: unknown) {
  const res = await handler(
    new Request(`https://graph.microsoft.com/v1.0${path}`, {
      method,
      headers: { Authorization: `Bearer ${tokens[who]}`, 'Content-Type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    }),
  );
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  const user = (id: string, scopes?: string[]) => mintToken(store, (s) => userClaims(s, id, scopes ? { scopes } : {}));
  const app = (appId: string, roles?: string[]) => mintToken(store, (s) => appClaims(s, appId, roles ? { roles } : {}));
  tokens.admin = await user(SEED_IDS.admin);
  tokens.adminUserReadOnly = await user(SEED_IDS.admin, ['User.Read']);
  tokens.adminTrap = await user(SEED_IDS.admin, [...AGENTID_DELEGATED_SCOPES, 'Directory.AccessAsUser.All']);
  tokens.megan = await user(SEED_IDS.megan); // Agent ID Developer
  tokens.adele = await user(SEED_IDS.adele); // no directory role
  tokens.reader = await app(SEED_APPS.reader.appId);
  tokens.automation = await app(SEED_APPS.automation.appId);
  tokens.automationTrap = await store.read((s) => appClaims(s, SEED_APPS.automation.appId).roles!).then((roles) => app(SEED_APPS.automation.appId, [...roles, 'Directory.ReadWrite.All']));

  const bp = await call('admin', 'POST', '/applications/microsoft.graph.agentIdentityBlueprint', { displayName: 'Admin BP', 'sponsors@odata.bind': [bind(SEED_IDS.admin)] });
  expect(bp.status).toBe(201);
  ids.adminBp = bp.body.id;
  ids.adminBpAppId = bp.body.appId;
  expect((await call('admin', 'POST', '/servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal', { appId: bp.body.appId })).status).toBe(201);
  const agent = await call('admin', 'POST', '/servicePrincipals/microsoft.graph.agentIdentity', { displayName: 'Agent 1', agentIdentityBlueprintId: bp.body.appId, 'sponsors@odata.bind': [bind(SEED_IDS.admin)] });
  expect(agent.status).toBe(201);
  ids.agent = agent.body.id;
  // An Agent ID Developer may create a blueprint, and becomes its owner.
  const mine = await call('megan', 'POST', '/applications/microsoft.graph.agentIdentityBlueprint', { displayName: 'Megan BP', 'sponsors@odata.bind': [bind(SEED_IDS.megan)] });
  expect(mine.status).toBe(201);
  ids.meganBp = mine.body.id;
});

const newBlueprint = (name: string) => ({ displayName: name, 'sponsors@odata.bind': [bind(SEED_IDS.admin)] });

describe('reads need a read permission', () => {
  it.each<[Who, string, number]>([
    ['reader', '/applications/microsoft.graph.agentIdentityBlueprint', 200],
    ['reader', '/servicePrincipals/microsoft.graph.agentIdentity', 200],
    ['admin', '/servicePrincipals/microsoft.graph.agentIdentity', 200],
    ['adele', '/applications/microsoft.graph.agentIdentityBlueprint', 200],
    ['adminUserReadOnly', '/applications/microsoft.graph.agentIdentityBlueprint', 403],
    ['adminUserReadOnly', '/servicePrincipals/microsoft.graph.agentIdentity', 403],
    ['adminUserReadOnly', '/me', 200],
    ['adminTrap', '/applications/microsoft.graph.agentIdentityBlueprint', 200],
  ])('%s GET %s → %i', async (who, path, status) => {
    const r = await call(who, 'GET', path);
    expect(r.status).toBe(status);
    if (status === 403) expect(r.body.error).toMatchObject({ code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' });
  });
});

it('answers /me for an app-only token with Graph’s 400, not a 403', async () => {
  const r = await call('automation', 'GET', '/me');
  expect(r.status).toBe(400);
});

describe('writes need a write permission and, delegated, a role or ownership', () => {
  it.each<[Who, number]>([
    ['admin', 201],
    ['automation', 201],
    ['megan', 201],
    ['adele', 403], // the scope, but no Agent ID role
    ['reader', 403], // read-only app
    ['adminUserReadOnly', 403],
    ['adminTrap', 403], // Directory.AccessAsUser.All: Agent ID write permissions ignored
    ['automationTrap', 403], // Directory.ReadWrite.All likewise
  ])('%s creating a blueprint → %i', async (who, status) => {
    expect((await call(who, 'POST', '/applications/microsoft.graph.agentIdentityBlueprint', newBlueprint(`By ${who}`))).status).toBe(status);
  });

  it('lets an Agent ID Developer change the blueprint she owns, not one she does not', async () => {
    expect((await call('megan', 'PATCH', `/applications/${ids.meganBp}/microsoft.graph.agentIdentityBlueprint`, { description: 'mine' })).status).toBe(204);
    expect((await call('megan', 'PATCH', `/applications/${ids.adminBp}/microsoft.graph.agentIdentityBlueprint`, { description: 'not mine' })).status).toBe(403);
    expect((await call('adele', 'PATCH', `/applications/${ids.meganBp}/microsoft.graph.agentIdentityBlueprint`, { description: 'nope' })).status).toBe(403);
  });

  it('keeps agent sponsors app-only, as Graph documents (delegated: not supported)', async () => {
    const body = { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${SEED_IDS.aiPlatformTeam}` };
    expect((await call('admin', 'POST', `/servicePrincipals/${ids.agent}/microsoft.graph.agentIdentity/sponsors/$ref`, body)).status).toBe(403);
    expect((await call('automation', 'POST', `/servicePrincipals/${ids.agent}/microsoft.graph.agentIdentity/sponsors/$ref`, body)).status).toBe(204);
    expect((await call('reader', 'DELETE', `/servicePrincipals/${ids.agent}/microsoft.graph.agentIdentity/sponsors/${SEED_IDS.aiPlatformTeam}/$ref`)).status).toBe(403);
  });

  it('disables an agent with an EnableDisable-class permission only', async () => {
    expect((await call('reader', 'PATCH', `/servicePrincipals/${ids.agent}/microsoft.graph.agentIdentity`, { accountEnabled: false })).status).toBe(403);
    expect((await call('automation', 'PATCH', `/servicePrincipals/${ids.agent}/microsoft.graph.agentIdentity`, { accountEnabled: false })).status).toBe(204);
    expect((await call('adminTrap', 'PATCH', `/servicePrincipals/${ids.agent}/microsoft.graph.agentIdentity`, { accountEnabled: true })).status).toBe(403);
    expect((await call('admin', 'PATCH', `/servicePrincipals/${ids.agent}/microsoft.graph.agentIdentity`, { accountEnabled: true })).status).toBe(204);
  });

  it('refuses to change a plain user without User.ReadWrite.All and User Administrator', async () => {
    expect((await call('admin', 'PATCH', `/users/${SEED_IDS.alex}`, { jobTitle: 'x' })).status).toBe(403);
  });

  it('refuses to delete what a developer does not own, and lets the administrator', async () => {
    expect((await call('megan', 'DELETE', `/applications/${ids.adminBp}/microsoft.graph.agentIdentityBlueprint`)).status).toBe(403);
    expect((await call('reader', 'DELETE', `/servicePrincipals/${ids.agent}/microsoft.graph.agentIdentity`)).status).toBe(403);
    expect((await call('admin', 'DELETE', `/servicePrincipals/${ids.agent}/microsoft.graph.agentIdentity`)).status).toBe(204);
  });
});

describe('the permission table', () => {
  it.each<[string, string, string, string[] | null]>([
    ['POST', '/v1.0/applications/microsoft.graph.agentIdentityBlueprint', 'agentidentityblueprint-post-permissions.md', ['AgentIdentityBlueprint.Create', 'AgentIdentityBlueprint.ReadWrite.All']],
    ['POST', '/v1.0/servicePrincipals/microsoft.graph.agentIdentity', 'agentidentity-post-permissions.md', ['AgentIdentity.Create.All']],
    ['POST', '/v1.0/servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal', 'agentidentityblueprintprincipal-post-permissions.md', ['AgentIdentityBlueprintPrincipal.Create', 'AgentIdentityBlueprintPrincipal.ReadWrite.All']],
  ])('%s %s follows %s', async (method, path, doc, delegated) => {
    const req = await store.read((s) => requirementFor(method, parsePath(path), s, {}));
    expect(req).toMatchObject({ doc, delegated, agentWrite: true });
  });
});
