import { createPublicKey, verify } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createMockHandler, type MockHandler } from '../../src/mock/handler.js';
import { MemoryStore } from '../../src/mock/store.js';
import { seedState, SEED_IDS, SEED_TENANT_ID } from '../../src/mock/seed.js';
import { SEED_APPS, GITHUB_ISSUER, GITHUB_SUBJECT } from '../../src/mock/seedApps.js';
import { appClaims, decodeJwt, mintToken, onTokenIssued, userClaims, type TokenIssuedInfo } from '../../src/mock/auth.js';

// The emulated tenant's sign-in: its token endpoint, discovery and keys, and the 401s of Graph.
// The plain test secrets of the seeded apps live here only; the emulator keeps salted hashes.
export const AUTOMATION_SECRET = 'Emulated~Automation.Secret.0001';
export const READER_SECRET = 'Emulated~Inventory.Secret.0002';
const ORIGIN = 'https://login.microsoftonline.com';

function emulator(now?: () => Date) {
  const store = new MemoryStore(seedState());
  const handler: MockHandler = createMockHandler({ store, requireToken: true, ...(now ? { now } : {}) });
  return { store, handler };
}

async function tokenRequest(handler: MockHandler, form: Record<string, string>, tenant = SEED_TENANT_ID) {
  const res = await handler(new Request(`${ORIGIN}/${tenant}/oauth2/v2.0/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() }));
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const clientCredentials = (clientId: string, secret: string, scope = 'https://graph.microsoft.com/.default') => ({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope });

async function graph(handler: MockHandler, method: string, path: string, token?: string, body?: unknown) {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  const res = await handler(new Request(`https://graph.microsoft.com/v1.0${path}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) }));
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

let unsubscribe: (() => void) | undefined;
afterEach(() => unsubscribe?.());

describe('token endpoint: client_credentials', () => {
  it('issues an app-only token with the app’s granted permissions as roles', async () => {
    const { handler } = emulator();
    const r = await tokenRequest(handler, clientCredentials(SEED_APPS.automation.appId, AUTOMATION_SECRET));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ token_type: 'Bearer', expires_in: 3599 });
    const claims = decodeJwt(r.body.access_token)!.payload;
    expect(claims).toMatchObject({ aud: 'https://graph.microsoft.com', tid: SEED_TENANT_ID, idtyp: 'app', appid: SEED_APPS.automation.appId, azp: SEED_APPS.automation.appId, oid: SEED_APPS.automation.servicePrincipalId, iss: `${ORIGIN}/${SEED_TENANT_ID}/v2.0` });
    expect(claims.roles).toContain('AgentIdentity.ReadWrite.All');
    expect(claims.scp).toBeUndefined();
    // …and Graph accepts it.
    expect((await graph(handler, 'GET', '/servicePrincipals/microsoft.graph.agentIdentity', r.body.access_token)).status).toBe(200);
  });

  it('refuses a wrong secret with AADSTS7000215, 401 invalid_client, and tells the sign-in hook', async () => {
    const { handler } = emulator();
    const seen: TokenIssuedInfo[] = [];
    unsubscribe = onTokenIssued((info) => void seen.push(info));
    const r = await tokenRequest(handler, clientCredentials(SEED_APPS.automation.appId, 'not-the-secret'));
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
    expect(r.body.error_description).toMatch(/^AADSTS7000215: Invalid client secret provided\./);
    expect(JSON.stringify(r.body)).not.toContain('not-the-secret');
    expect(seen).toEqual([expect.objectContaining({ appId: SEED_APPS.automation.appId, servicePrincipalId: SEED_APPS.automation.servicePrincipalId, grantType: 'client_credentials', credentialType: 'clientSecret', success: false, errorCode: 7000215, tenantId: SEED_TENANT_ID })]);
  });

  it.each([
    ['an unknown app', clientCredentials('00000000-0000-4000-8000-000000000999', 'x'), 400, 'unauthorized_client', 700016],
    ['a scope without /.default', clientCredentials(SEED_APPS.automation.appId, AUTOMATION_SECRET, 'https://graph.microsoft.com/User.Read'), 400, 'invalid_scope', 1002012],
    ['another resource', clientCredentials(SEED_APPS.automation.appId, AUTOMATION_SECRET, 'https://vault.azure.net/.default'), 400, 'invalid_resource', 500011],
    ['no credential', { grant_type: 'client_credentials', client_id: SEED_APPS.automation.appId, scope: 'https://graph.microsoft.com/.default' }, 401, 'invalid_client', 7000218],
    ['an unsupported grant', { grant_type: 'password', client_id: SEED_APPS.automation.appId }, 400, 'unsupported_grant_type', 70003],
  ])('answers %s with the Entra error', async (_what, form, status, error, code) => {
    const { handler } = emulator();
    const r = await tokenRequest(handler, form);
    expect({ status: r.status, error: r.body.error, codes: r.body.error_codes }).toEqual({ status, error, codes: [code] });
    expect(r.body).toHaveProperty('trace_id');
    expect(r.body).toHaveProperty('correlation_id');
  });

  it('answers an unknown tenant with AADSTS90002', async () => {
    const { handler } = emulator();
    const r = await tokenRequest(handler, clientCredentials(SEED_APPS.automation.appId, AUTOMATION_SECRET), 'fabrikam.onmicrosoft.com');
    expect(r.status).toBe(400);
    expect(r.body.error_codes).toEqual([90002]);
  });

  it('refuses an app whose service principal is disabled (AADSTS7000112)', async () => {
    const { store, handler } = emulator();
    await store.write((s) => void (s.objects[SEED_APPS.automation.servicePrincipalId]!.props.accountEnabled = false));
    const r = await tokenRequest(handler, clientCredentials(SEED_APPS.automation.appId, AUTOMATION_SECRET));
    expect(r.body.error_codes).toEqual([7000112]);
  });

  it('accepts a secret from addPassword, and no longer after removePassword; only a hash is stored', async () => {
    const { store, handler } = emulator();
    const admin = await mintToken(store, (s) => userClaims(s, undefined));
    const bp = await graph(handler, 'POST', '/applications/microsoft.graph.agentIdentityBlueprint', admin, { displayName: 'Secretive', 'sponsors@odata.bind': [`https://graph.microsoft.com/v1.0/users/${SEED_IDS.admin}`] });
    expect(bp.status).toBe(201);
    const sp = await graph(handler, 'POST', '/servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal', admin, { appId: bp.body.appId });
    expect(sp.status).toBe(201);
    const pw = await graph(handler, 'POST', `/applications/${bp.body.id}/microsoft.graph.agentIdentityBlueprint/addPassword`, admin, { passwordCredential: { displayName: 'ci' } });
    expect(pw.status).toBe(200);
    const secret: string = pw.body.secretText;
    expect(JSON.stringify(await store.read((s) => s))).not.toContain(secret);
    const ok = await tokenRequest(handler, clientCredentials(bp.body.appId, secret));
    expect(ok.status).toBe(200);
    // A blueprint creates its own agent identities with its own token, with no permission granted.
    const agent = await graph(handler, 'POST', '/servicePrincipals/microsoft.graph.agentIdentity', ok.body.access_token, { displayName: 'Self-made', agentIdentityBlueprintId: bp.body.appId, 'sponsors@odata.bind': [`https://graph.microsoft.com/v1.0/users/${SEED_IDS.admin}`] });
    expect(agent.status).toBe(201);
    expect((await graph(handler, 'POST', `/applications/${bp.body.id}/microsoft.graph.agentIdentityBlueprint/removePassword`, admin, { keyId: pw.body.keyId })).status).toBe(204);
    expect((await tokenRequest(handler, clientCredentials(bp.body.appId, secret))).body.error_codes).toEqual([7000215]);
  });
});

describe('token endpoint: federated assertions', () => {
  const assertion = (claims: Record<string, unknown>) => `${Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'github' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;
  const form = (a: string) => ({ grant_type: 'client_credentials', client_id: SEED_APPS.automation.appId, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: a, scope: 'https://graph.microsoft.com/.default' });
  const now = Math.floor(Date.now() / 1000);

  it('accepts a token whose issuer, subject and audience match a federated identity credential', async () => {
    const { handler } = emulator();
    const seen: TokenIssuedInfo[] = [];
    unsubscribe = onTokenIssued((info) => void seen.push(info));
    const r = await tokenRequest(handler, form(assertion({ iss: GITHUB_ISSUER, sub: GITHUB_SUBJECT, aud: 'api://AzureADTokenExchange', exp: now + 300, nbf: now - 10 })));
    expect(r.status).toBe(200);
    expect(seen[0]).toMatchObject({ credentialType: 'federatedIdentityCredential', federatedCredentialId: SEED_APPS.automation.ficId, success: true });
  });

  it('refuses another subject (AADSTS70021) and an expired assertion (AADSTS700024)', async () => {
    const { handler } = emulator();
    const other = await tokenRequest(handler, form(assertion({ iss: GITHUB_ISSUER, sub: 'repo:contoso/agents:pull_request', aud: 'api://AzureADTokenExchange', exp: now + 300 })));
    expect(other.body.error_codes).toEqual([70021]);
    const expired = await tokenRequest(handler, form(assertion({ iss: GITHUB_ISSUER, sub: GITHUB_SUBJECT, aud: 'api://AzureADTokenExchange', exp: now - 3600 })));
    expect(expired.body.error_codes).toEqual([700024]);
  });
});

describe('discovery and keys', () => {
  it('publishes OpenID metadata with this origin’s endpoints, and the key that verifies its tokens', async () => {
    const { store, handler } = emulator();
    const meta = (await (await handler(new Request(`https://127.0.0.1:8443/${SEED_TENANT_ID}/v2.0/.well-known/openid-configuration`))).json()) as Record<string, string>;
    expect(meta).toMatchObject({
      issuer: `https://127.0.0.1:8443/${SEED_TENANT_ID}/v2.0`,
      token_endpoint: `https://127.0.0.1:8443/${SEED_TENANT_ID}/oauth2/v2.0/token`,
      authorization_endpoint: `https://127.0.0.1:8443/${SEED_TENANT_ID}/oauth2/v2.0/authorize`,
      jwks_uri: `https://127.0.0.1:8443/${SEED_TENANT_ID}/discovery/v2.0/keys`,
    });
    const { keys } = (await (await handler(new Request(meta.jwks_uri!))).json()) as { keys: import('node:crypto').JsonWebKey[] };
    const token = await mintToken(store, (s) => userClaims(s, undefined));
    const [h, p, sig] = token.split('.') as [string, string, string];
    expect(verify('RSA-SHA256', Buffer.from(`${h}.${p}`), createPublicKey({ key: keys[0]!, format: 'jwk' }), Buffer.from(sig, 'base64url'))).toBe(true);
  });
});

describe('Graph refuses requests without a token it issued (401)', () => {
  it('answers no token with InvalidAuthenticationToken and WWW-Authenticate', async () => {
    const { handler } = emulator();
    const r = await graph(handler, 'GET', '/me');
    expect(r.status).toBe(401);
    expect(r.body.error).toMatchObject({ code: 'InvalidAuthenticationToken', message: 'Access token is empty.' });
    expect(r.headers.get('WWW-Authenticate')).toMatch(/^Bearer realm=""/);
  });

  it.each([
    ['a malformed token', async () => 'not-a-jwt', 'IDX14100: JWT is not well formed.'],
    ['a token signed by another tenant’s key', async () => mintToken(new MemoryStore(seedState()), (s) => userClaims(s, undefined)), 'Access token validation failure.'],
  ])('answers %s with 401', async (_what, make, message) => {
    const { store, handler } = emulator();
    await mintToken(store, (s) => userClaims(s, undefined)); // the tenant has a key
    const r = await graph(handler, 'GET', '/me', await make());
    expect(r.status).toBe(401);
    expect(r.body.error).toMatchObject({ code: 'InvalidAuthenticationToken', message });
  });

  it('answers an expired token with 401 "Lifetime validation failed"', async () => {
    let now = new Date('2026-03-01T10:00:00Z');
    const { store, handler } = emulator(() => now);
    const token = await mintToken(store, (s) => userClaims(s, undefined, { now }));
    expect((await graph(handler, 'GET', '/me', token)).status).toBe(200);
    now = new Date('2026-03-01T12:00:00Z');
    const r = await graph(handler, 'GET', '/me', token);
    expect(r.status).toBe(401);
    expect(r.body.error.message).toBe('Lifetime validation failed, the token is expired.');
  });

  it('lets the signed-in administrator read /me with the token minted for the local profile', async () => {
    const { store, handler } = emulator();
    const r = await graph(handler, 'GET', '/me', await mintToken(store, (s) => userClaims(s, undefined)));
    expect(r.status).toBe(200);
    expect(r.body.userPrincipalName).toBe('admin@contoso.onmicrosoft.com');
  });

  it('mints app tokens for the reader app with its own read-only permissions', async () => {
    const { store } = emulator();
    const c = await store.read((s) => appClaims(s, SEED_APPS.reader.appId));
    expect(c.roles).toEqual(expect.arrayContaining(['AgentIdentity.Read.All']));
    expect(c.roles).not.toContain('AgentIdentity.ReadWrite.All');
  });

  it('signs the reader app in with its own secret', async () => {
    const { handler } = emulator();
    expect((await tokenRequest(handler, clientCredentials(SEED_APPS.reader.appId, READER_SECRET))).status).toBe(200);
  });
});
