import { constants, createPrivateKey, createHash, generateKeyPairSync, randomUUID, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generate } from 'selfsigned';
import { createMockHandler, type MockHandler } from '../../src/mock/handler.js';
import { MemoryStore } from '../../src/mock/store.js';
import { seedState, SEED_IDS, SEED_TENANT_ID } from '../../src/mock/seed.js';
import { SEED_APPS } from '../../src/mock/seedApps.js';
import { decodeJwt, mintToken, onTokenIssued, userClaims, type TokenIssuedInfo } from '../../src/mock/auth.js';

// The emulated token endpoint's user sign-in (device code, refresh tokens) and certificate client
// assertions: what MSAL sends and expects (entra-docs v2-oauth2-device-code.md,
// v2-oauth2-auth-code-flow.md "Refresh the access token", certificate-credentials.md).

const ORIGIN = 'https://127.0.0.1:8443';
const PUBLIC_CLIENT = '14d82eec-204b-4c2f-b7e8-296a70dab67e';
const AUTOMATION = SEED_APPS.automation;
const TOKEN_ENDPOINT = `${ORIGIN}/${SEED_TENANT_ID}/oauth2/v2.0/token`;

function emulator(now?: () => Date) {
  const store = new MemoryStore(seedState());
  const handler: MockHandler = createMockHandler({ store, requireToken: true, ...(now ? { now } : {}) });
  return { store, handler };
}

async function post(handler: MockHandler, endpoint: 'token' | 'devicecode', form: Record<string, string>) {
  const res = await handler(new Request(`${ORIGIN}/${SEED_TENANT_ID}/oauth2/v2.0/${endpoint}`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() }));
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const claimsOf = (jwt: string) => decodeJwt(jwt)!.payload;
const errorOf = (r: { status: number; body: Record<string, any> }) => ({ status: r.status, error: r.body.error, codes: r.body.error_codes });

/** MSAL's two calls: the device authorization request, then the token request it polls. */
async function deviceSignIn(handler: MockHandler, scope: string, extra: Record<string, string> = { client_info: '1' }) {
  const dc = await post(handler, 'devicecode', { client_id: PUBLIC_CLIENT, scope });
  expect(dc.status).toBe(200);
  return post(handler, 'token', { grant_type: 'device_code', client_id: PUBLIC_CLIENT, device_code: dc.body.device_code, scope, ...extra });
}

const FULL = 'https://graph.microsoft.com/User.Read https://graph.microsoft.com/AgentIdentity.Read.All openid profile offline_access';

let unsubscribe: (() => void) | undefined;
afterEach(() => unsubscribe?.());

describe('device-code grant', () => {
  it('answers with access, ID and refresh tokens, scope and client_info, as the docs and MSAL expect', async () => {
    const { handler } = emulator();
    const r = await deviceSignIn(handler, FULL);
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['access_token', 'client_info', 'expires_in', 'ext_expires_in', 'id_token', 'refresh_token', 'scope', 'token_type']);
    expect(r.body).toMatchObject({ token_type: 'Bearer', expires_in: 3599, scope: 'User.Read AgentIdentity.Read.All openid profile offline_access' });
    expect(claimsOf(r.body.access_token)).toMatchObject({ aud: 'https://graph.microsoft.com', idtyp: 'user', oid: SEED_IDS.admin, azp: PUBLIC_CLIENT, scp: 'User.Read AgentIdentity.Read.All' });
    const id = claimsOf(r.body.id_token);
    expect(id).toMatchObject({ aud: PUBLIC_CLIENT, iss: `${ORIGIN}/${SEED_TENANT_ID}/v2.0`, tid: SEED_TENANT_ID, oid: SEED_IDS.admin, preferred_username: 'admin@contoso.onmicrosoft.com', ver: '2.0' });
    expect(typeof id.name).toBe('string');
    // sub is pairwise: not the object id, and different for another client.
    expect(id.sub).not.toBe(SEED_IDS.admin);
    expect(JSON.parse(Buffer.from(r.body.client_info, 'base64url').toString())).toEqual({ uid: SEED_IDS.admin, utid: SEED_TENANT_ID });
  });

  it('issues an ID token only for openid, a refresh token only for offline_access, client_info only when asked', async () => {
    const { handler } = emulator();
    const r = await deviceSignIn(handler, 'https://graph.microsoft.com/User.Read', {});
    expect(r.status).toBe(200);
    expect(r.body).not.toHaveProperty('id_token');
    expect(r.body).not.toHaveProperty('refresh_token');
    expect(r.body).not.toHaveProperty('client_info');
    expect(r.body.scope).toBe('User.Read');
  });

  it('takes the grant type as the docs write it (the URN) as well as MSAL’s device_code', async () => {
    const { handler } = emulator();
    const dc = await post(handler, 'devicecode', { client_id: PUBLIC_CLIENT, scope: 'User.Read openid' });
    const r = await post(handler, 'token', { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: PUBLIC_CLIENT, device_code: dc.body.device_code });
    expect(r.status).toBe(200);
    expect(claimsOf(r.body.access_token).scp).toBe('User.Read');
  });

  it('refuses an unknown device code or another client’s with bad_verification_code, and an expired one with expired_token', async () => {
    let now = new Date('2026-03-01T10:00:00Z');
    const { handler } = emulator(() => now);
    expect(errorOf(await post(handler, 'token', { grant_type: 'device_code', client_id: PUBLIC_CLIENT, device_code: 'not-a-code' }))).toEqual({ status: 400, error: 'bad_verification_code', codes: [70018] });
    const dc = await post(handler, 'devicecode', { client_id: PUBLIC_CLIENT, scope: 'User.Read' });
    expect(errorOf(await post(handler, 'token', { grant_type: 'device_code', client_id: AUTOMATION.appId, device_code: dc.body.device_code }))).toEqual({ status: 400, error: 'bad_verification_code', codes: [70018] });
    now = new Date(now.getTime() + 901_000);
    expect(errorOf(await post(handler, 'token', { grant_type: 'device_code', client_id: PUBLIC_CLIENT, device_code: dc.body.device_code }))).toEqual({ status: 400, error: 'expired_token', codes: [70019] });
  });

  it('needs scope on the device authorization request (AADSTS900144)', async () => {
    const { handler } = emulator();
    const r = await post(handler, 'devicecode', { client_id: PUBLIC_CLIENT });
    expect(errorOf(r)).toEqual({ status: 400, error: 'invalid_request', codes: [900144] });
    expect(r.body.error_description).toMatch(/^AADSTS900144: The request body must contain the following parameter: 'scope'\./);
  });
});

describe('refresh_token grant', () => {
  const refresh = (handler: MockHandler, token: string, scope: string, clientId = PUBLIC_CLIENT) =>
    post(handler, 'token', { grant_type: 'refresh_token', client_id: clientId, refresh_token: token, scope, client_info: '1' });

  it('redeems a refresh token for a subset of the granted scopes, and answers with a new one that still carries the whole grant', async () => {
    const { handler } = emulator();
    const first = await deviceSignIn(handler, FULL);
    const r = await refresh(handler, first.body.refresh_token, 'https://graph.microsoft.com/User.Read openid profile offline_access');
    expect(r.status).toBe(200);
    expect(claimsOf(r.body.access_token)).toMatchObject({ scp: 'User.Read', oid: SEED_IDS.admin, azp: PUBLIC_CLIENT });
    expect(claimsOf(r.body.id_token)).toMatchObject({ aud: PUBLIC_CLIENT, oid: SEED_IDS.admin });
    expect(r.body.client_info).toBe(first.body.client_info);
    expect(r.body.refresh_token).not.toBe(first.body.refresh_token);
    // Graph's .default with the new refresh token: every scope of the original grant.
    const all = await refresh(handler, r.body.refresh_token, 'https://graph.microsoft.com/.default offline_access');
    expect(all.status).toBe(200);
    expect(claimsOf(all.body.access_token).scp).toBe('User.Read AgentIdentity.Read.All');
  });

  it('refuses a scope the user did not grant with AADSTS65001', async () => {
    const { handler } = emulator();
    const first = await deviceSignIn(handler, FULL);
    expect(errorOf(await refresh(handler, first.body.refresh_token, 'https://graph.microsoft.com/AgentIdentity.ReadWrite.All'))).toEqual({ status: 400, error: 'invalid_grant', codes: [65001] });
  });

  it.each([
    ['a malformed refresh token', async () => 'AwABAAAA-not-ours', PUBLIC_CLIENT, 9002313],
    ['a refresh token signed by another tenant', async () => (await deviceSignIn(emulator().handler, FULL)).body.refresh_token as string, PUBLIC_CLIENT, 70000],
    ['a refresh token issued to another client', async (h: MockHandler) => (await deviceSignIn(h, FULL)).body.refresh_token as string, AUTOMATION.appId, 70000],
  ])('refuses %s with invalid_grant', async (_what, make, clientId, code) => {
    const { handler } = emulator();
    const token = await make(handler);
    const r = await refresh(handler, token, 'https://graph.microsoft.com/User.Read', clientId);
    expect(errorOf(r)).toEqual({ status: 400, error: 'invalid_grant', codes: [code] });
    expect(r.body.error_description).toMatch(new RegExp(`^AADSTS${code}: `));
    expect(JSON.stringify(r.body)).not.toContain(token);
  });

  it('refuses a refresh token unused for 90 days with AADSTS700082', async () => {
    let now = new Date('2026-03-01T10:00:00Z');
    const { handler } = emulator(() => now);
    const first = await deviceSignIn(handler, FULL);
    now = new Date(now.getTime() + 89 * 86400_000);
    const kept = await refresh(handler, first.body.refresh_token, 'https://graph.microsoft.com/User.Read');
    expect(kept.status).toBe(200);
    now = new Date(now.getTime() + 91 * 86400_000);
    const r = await refresh(handler, kept.body.refresh_token, 'https://graph.microsoft.com/User.Read');
    expect(errorOf(r)).toEqual({ status: 400, error: 'invalid_grant', codes: [700082] });
    expect(r.body.error_description).toMatch(/^AADSTS700082: The refresh token has expired due to inactivity\. The token was issued on 2026-05-29T10:00:00\.000Z and was inactive for 91\.00:00:00\./);
  });

  it('refuses a disabled user’s refresh token with AADSTS50057', async () => {
    const { store, handler } = emulator();
    const first = await deviceSignIn(handler, FULL);
    await store.write((s) => void (s.objects[SEED_IDS.admin]!.props.accountEnabled = false));
    expect(errorOf(await refresh(handler, first.body.refresh_token, 'https://graph.microsoft.com/User.Read'))).toEqual({ status: 400, error: 'invalid_grant', codes: [50057] });
  });

  it('needs refresh_token (AADSTS900144)', async () => {
    const { handler } = emulator();
    expect(errorOf(await post(handler, 'token', { grant_type: 'refresh_token', client_id: PUBLIC_CLIENT }))).toEqual({ status: 400, error: 'invalid_request', codes: [900144] });
  });
});

describe('client_credentials with a certificate assertion', () => {
  let certPem = '';
  let key: KeyObject;
  let der: Buffer;
  let otherKey: KeyObject;

  beforeAll(async () => {
    const pems = await generate([{ name: 'commonName', value: 'agentid unit test' }], { keySize: 2048, algorithm: 'sha256', notBeforeDate: new Date(Date.now() - 60_000), notAfterDate: new Date(Date.now() + 30 * 86400_000) });
    certPem = pems.cert;
    key = createPrivateKey(pems.private);
    der = new X509Certificate(certPem).raw;
    otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  });

  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

  /** An assertion as MSAL Node builds it (ClientAssertion.createJwt): PS256 + x5t#S256, or RS256 + x5t. */
  function assertion(o: { alg?: 'PS256' | 'RS256'; header?: Record<string, unknown>; claims?: Record<string, unknown>; signWith?: KeyObject } = {}): string {
    const alg = o.alg ?? 'PS256';
    const thumb = alg === 'PS256' ? { 'x5t#S256': createHash('sha256').update(der).digest('base64url') } : { x5t: createHash('sha1').update(der).digest('base64url') };
    const t = Math.floor(Date.now() / 1000);
    const head = b64({ alg, typ: 'JWT', ...thumb, ...o.header });
    const body = b64({ aud: TOKEN_ENDPOINT, iss: AUTOMATION.appId, sub: AUTOMATION.appId, jti: randomUUID(), nbf: t, exp: t + 600, ...o.claims });
    const k = o.signWith ?? key;
    const signature = alg === 'PS256' ? sign('sha256', Buffer.from(`${head}.${body}`), { key: k, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }) : sign('sha256', Buffer.from(`${head}.${body}`), k);
    return `${head}.${body}.${signature.toString('base64url')}`;
  }

  const form = (a: string) => ({ grant_type: 'client_credentials', client_id: AUTOMATION.appId, scope: 'https://graph.microsoft.com/.default', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: a });
  const KEY_ID = 'b1c2d3e4-0001-4a5b-8c9d-000000000401';

  /** Registers the certificate the way certificate-credentials.md documents: PATCH keyCredentials through Graph. */
  async function withCertificate(endDateTime?: string) {
    const e = emulator();
    const admin = await mintToken(e.store, (s) => userClaims(s, undefined, { scopes: ['Application.ReadWrite.All'] }));
    const keyCredentials = [{ customKeyIdentifier: createHash('sha1').update(der).digest('base64'), keyId: KEY_ID, type: 'AsymmetricX509Cert', usage: 'Verify', key: der.toString('base64'), displayName: 'CN=agentid unit test', ...(endDateTime ? { endDateTime } : {}) }];
    const res = await e.handler(new Request(`https://graph.microsoft.com/v1.0/applications/${AUTOMATION.applicationId}`, { method: 'PATCH', headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ keyCredentials }) }));
    expect(res.status).toBe(204);
    return e;
  }

  it('accepts a PS256 assertion naming a registered certificate by x5t#S256, and tells the sign-in hook which key', async () => {
    const { handler } = await withCertificate();
    const seen: TokenIssuedInfo[] = [];
    unsubscribe = onTokenIssued((info) => void seen.push(info));
    const r = await post(handler, 'token', form(assertion()));
    expect(r.status).toBe(200);
    expect(claimsOf(r.body.access_token)).toMatchObject({ idtyp: 'app', appid: AUTOMATION.appId, oid: AUTOMATION.servicePrincipalId });
    expect(seen).toEqual([expect.objectContaining({ credentialType: 'clientAssertion', servicePrincipalCredentialKeyId: KEY_ID, success: true })]);
  });

  it('accepts an RS256 assertion naming it by its SHA-1 x5t', async () => {
    const { handler } = await withCertificate();
    expect((await post(handler, 'token', form(assertion({ alg: 'RS256' })))).status).toBe(200);
  });

  it('refuses an unregistered certificate with AADSTS700027 "The key was not found", naming its thumbprint', async () => {
    const { handler } = emulator();
    const r = await post(handler, 'token', form(assertion()));
    expect(errorOf(r)).toEqual({ status: 401, error: 'invalid_client', codes: [700027] });
    const thumb = createHash('sha256').update(der).digest('hex').toUpperCase();
    expect(r.body.error_description).toContain(`AADSTS700027: Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '${thumb}'`);
  });

  it('refuses a signature by another key with AADSTS700027 "Key was found, but use of the key to verify the signature failed"', async () => {
    const { handler } = await withCertificate();
    const r = await post(handler, 'token', form(assertion({ signWith: otherKey })));
    expect(errorOf(r)).toEqual({ status: 401, error: 'invalid_client', codes: [700027] });
    expect(r.body.error_description).toContain('[Reason - Key was found, but use of the key to verify the signature failed.');
  });

  it('refuses a certificate whose registration has ended with AADSTS700027 "The key used is expired"', async () => {
    const { handler } = await withCertificate('2025-01-01T00:00:00Z');
    const r = await post(handler, 'token', form(assertion()));
    expect(errorOf(r)).toEqual({ status: 401, error: 'invalid_client', codes: [700027] });
    expect(r.body.error_description).toContain("[Reason - The key used is expired., ");
    expect(r.body.error_description).toContain("Found key 'Start=");
  });

  it.each([
    ['no thumbprint in the header', 50027, { header: { 'x5t#S256': undefined } }],
    ['another audience', 50027, { claims: { aud: 'https://login.example.com/other/oauth2/v2.0/token' } }],
    ['a subject that is not the issuer', 50048, { claims: { sub: '00000000-0000-4000-8000-000000000001' } }],
    ['an expired assertion', 700024, { claims: { exp: Math.floor(Date.now() / 1000) - 3600 } }],
  ] as const)('refuses %s (AADSTS%s)', async (_what, code, o) => {
    const { handler } = await withCertificate();
    expect(errorOf(await post(handler, 'token', form(assertion(o))))).toEqual({ status: 401, error: 'invalid_client', codes: [code] });
  });
});
