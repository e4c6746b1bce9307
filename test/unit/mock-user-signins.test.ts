import { describe, expect, it } from 'vitest';
import { createMockHandler, type MockHandler } from '../../src/mock/handler.js';
import { MemoryStore } from '../../src/mock/store.js';
import { MemoryLogStore } from '../../src/mock/logs.js';
import { GRAPH_APP_ID, SEED_DOMAIN, SEED_IDS, SEED_TENANT_ID, seedState } from '../../src/mock/seed.js';
import { mintToken, signingKey, userClaims } from '../../src/mock/auth.js';
import { mintRefreshToken } from '../../src/mock/delegated.js';

// User sign-ins through the emulated token endpoint land in the sign-in log as Entra logs them
// (GD beta resources/signin.md; ED monitoring-health/concept-noninteractive-sign-ins.md): the
// device-code grant as an interactiveUser sign-in, grant_type=refresh_token as a
// nonInteractiveUser one, granted or refused, with the user, the client app and the agent facet.

const ORIGIN = 'https://127.0.0.1:8443';
const BETA = 'https://graph.microsoft.com/beta';
const PUBLIC_CLIENT = '14d82eec-204b-4c2f-b7e8-296a70dab67e';
const PREFER = { Prefer: 'include-unknown-enum-members' };
const SCOPE = 'https://graph.microsoft.com/User.Read https://graph.microsoft.com/AgentIdentity.Read.All openid profile offline_access';
const USER_TYPES = "signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser')";

function emulator(now?: () => Date) {
  const store = new MemoryStore(seedState());
  const logs = new MemoryLogStore();
  // requireToken off: Graph calls without a token act as the signed-in administrator.
  const handler: MockHandler = createMockHandler({ store, logs, ...(now ? { now } : {}) });
  return { store, logs, handler };
}

async function post(handler: MockHandler, endpoint: 'token' | 'devicecode', form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await handler(new Request(`${ORIGIN}/${SEED_TENANT_ID}/oauth2/v2.0/${endpoint}`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form).toString() }));
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function graph(handler: MockHandler, method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await handler(new Request(url, { method, headers: { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) }));
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** The beta sign-in list for a $filter (none: Graph's interactive-only default). */
async function signIns(handler: MockHandler, filter?: string, headers: Record<string, string> = PREFER): Promise<any[]> {
  const r = await graph(handler, 'GET', `${BETA}/auditLogs/signIns${filter ? `?$filter=${encodeURIComponent(filter)}` : ''}`, undefined, headers);
  expect(r.status).toBe(200);
  return r.body.value;
}

async function deviceSignIn(handler: MockHandler, headers: Record<string, string> = {}) {
  const dc = await post(handler, 'devicecode', { client_id: PUBLIC_CLIENT, scope: SCOPE });
  expect(dc.status).toBe(200);
  return post(handler, 'token', { grant_type: 'device_code', client_id: PUBLIC_CLIENT, device_code: dc.body.device_code, client_info: '1' }, headers);
}

const refresh = (handler: MockHandler, token: string, scope = 'https://graph.microsoft.com/.default offline_access', clientId = PUBLIC_CLIENT) =>
  post(handler, 'token', { grant_type: 'refresh_token', client_id: clientId, refresh_token: token, scope });

describe('the device-code grant is an interactive user sign-in', () => {
  it('records one interactiveUser sign-in with the user, the client app, Microsoft Graph and a notAgentic facet', async () => {
    const at = new Date('2026-03-01T10:00:00Z');
    const { handler } = emulator(() => at);
    const r = await deviceSignIn(handler, { 'client-request-id': 'c0ffee00-0000-4000-8000-000000000001', 'User-Agent': 'agentid-test/1.0' });
    expect(r.status).toBe(200);
    const rows = await signIns(handler, USER_TYPES);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      createdDateTime: at.toISOString(),
      userId: SEED_IDS.admin,
      userPrincipalName: `admin@${SEED_DOMAIN}`,
      userDisplayName: expect.any(String),
      appId: PUBLIC_CLIENT,
      appDisplayName: 'Microsoft Graph Command Line Tools',
      resourceId: GRAPH_APP_ID,
      resourceDisplayName: 'Microsoft Graph',
      ipAddress: '127.0.0.1',
      clientAppUsed: 'Mobile Apps and Desktop clients',
      isInteractive: true,
      signInEventTypes: ['interactiveUser'],
      authenticationRequirement: 'singleFactorAuthentication',
      conditionalAccessStatus: 'notApplied',
      authenticationProtocol: 'deviceCode',
      originalTransferMethod: 'deviceCodeFlow',
      incomingTokenType: 'none',
      clientCredentialType: 'none',
      servicePrincipalId: '',
      userType: 'member',
      userAgent: 'agentid-test/1.0',
      correlationId: 'c0ffee00-0000-4000-8000-000000000001',
      status: { errorCode: 0, failureReason: null, additionalDetails: null },
      agent: { '@odata.type': '#microsoft.graph.agentic.agentSignIn', agentType: 'notAgentic', parentAppId: null, agentSubjectType: 'notAgentic', agentSubjectParentId: null },
    });
    // "This API returns only interactive sign-ins unless you set an explicit filter": it is one.
    expect((await signIns(handler)).map((s) => s.id)).toEqual([rows[0].id]);
    // v1.0 has the same row, without signInEventTypes and the agent facet.
    const v1 = await graph(handler, 'GET', 'https://graph.microsoft.com/v1.0/auditLogs/signIns');
    expect(v1.body.value).toHaveLength(1);
    expect(v1.body.value[0]).not.toHaveProperty('agent');
    expect(v1.body.value[0]).toMatchObject({ isInteractive: true, userId: SEED_IDS.admin });
  });

  it('does not log a device code that names no sign-in: unknown, another client’s, or expired', async () => {
    let now = new Date('2026-03-01T10:00:00Z');
    const { handler } = emulator(() => now);
    expect((await post(handler, 'token', { grant_type: 'device_code', client_id: PUBLIC_CLIENT, device_code: 'not-a-code' })).body.error_codes).toEqual([70018]);
    const dc = await post(handler, 'devicecode', { client_id: PUBLIC_CLIENT, scope: SCOPE });
    expect((await post(handler, 'token', { grant_type: 'device_code', client_id: 'c0a1b2c3-0001-4d5e-8f90-000000000301', device_code: dc.body.device_code })).body.error_codes).toEqual([70018]);
    now = new Date(now.getTime() + 901_000);
    expect((await post(handler, 'token', { grant_type: 'device_code', client_id: PUBLIC_CLIENT, device_code: dc.body.device_code })).body.error_codes).toEqual([70019]);
    expect(await signIns(handler, USER_TYPES)).toEqual([]);
  });

  it('a disabled signed-in user is refused with AADSTS50057, and the refusal is logged as an interactive failure', async () => {
    const { store, handler } = emulator();
    await store.write((s) => void (s.objects[SEED_IDS.admin]!.props.accountEnabled = false));
    const r = await deviceSignIn(handler);
    expect({ status: r.status, error: r.body.error, codes: r.body.error_codes }).toEqual({ status: 400, error: 'invalid_grant', codes: [50057] });
    expect(r.body).not.toHaveProperty('access_token');
    const [row] = await signIns(handler, "signInEventTypes/any(t: t eq 'interactiveUser') and status/errorCode ne 0");
    expect(row).toMatchObject({ userId: SEED_IDS.admin, isInteractive: true, status: { errorCode: 50057, failureReason: 'The user account is disabled.' } });
  });
});

describe('a refresh token is a non-interactive user sign-in', () => {
  it('records nonInteractiveUser sign-ins that keep the device-code session’s originalTransferMethod, refresh after refresh', async () => {
    const { handler } = emulator();
    const first = await deviceSignIn(handler);
    const second = await refresh(handler, first.body.refresh_token);
    expect(second.status).toBe(200);
    const third = await refresh(handler, second.body.refresh_token, 'https://graph.microsoft.com/User.Read offline_access');
    expect(third.status).toBe(200);
    const rows = await signIns(handler, "signInEventTypes/any(t: t eq 'nonInteractiveUser')");
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row).toMatchObject({
        userId: SEED_IDS.admin,
        userPrincipalName: `admin@${SEED_DOMAIN}`,
        appId: PUBLIC_CLIENT,
        appDisplayName: 'Microsoft Graph Command Line Tools',
        resourceId: GRAPH_APP_ID,
        isInteractive: false,
        signInEventTypes: ['nonInteractiveUser'],
        clientAppUsed: 'Mobile Apps and Desktop clients',
        authenticationProtocol: 'none',
        originalTransferMethod: 'deviceCodeFlow',
        incomingTokenType: 'refreshToken',
        status: { errorCode: 0 },
        agent: { agentType: 'notAgentic' },
      });
    }
    // Non-interactive sign-ins are left out unless asked for; both kinds come back together.
    expect(await signIns(handler)).toHaveLength(1);
    expect((await signIns(handler, USER_TYPES)).map((s) => s.signInEventTypes[0])).toEqual(['nonInteractiveUser', 'nonInteractiveUser', 'interactiveUser']);
    expect(await signIns(handler, "signInEventTypes/any(t: t eq 'servicePrincipal')")).toEqual([]);
  });

  it('answers incomingTokenType refreshToken only with Prefer: include-unknown-enum-members (a late enum member)', async () => {
    const { handler } = emulator();
    await refresh(handler, (await deviceSignIn(handler)).body.refresh_token);
    const [row] = await signIns(handler, "signInEventTypes/any(t: t eq 'nonInteractiveUser')", {});
    expect(row.incomingTokenType).toBe('unknownFutureValue');
  });

  it('logs refusals of a token it issued: expired (700082), another client’s (70000), a scope not granted (65001), a disabled (50057) or deleted (50034) user', async () => {
    // The clock ticks a second per request, so the log lists the refusals in the order they happened.
    const start = Date.parse('2026-03-01T10:00:00Z');
    let ticks = 0;
    const { store, handler } = emulator(() => new Date(start + ticks++ * 1000));
    const now = new Date(start);
    const rt = (await deviceSignIn(handler)).body.refresh_token as string;
    // One issued 91 days ago (its lifetime is 90): minted here, since a sign-in that old would
    // be past the log's 30-day retention.
    const old = mintRefreshToken(await signingKey(store), { tid: SEED_TENANT_ID, client_id: PUBLIC_CLIENT, oid: SEED_IDS.admin, scope: SCOPE, otm: 'deviceCodeFlow' }, new Date(now.getTime() - 91 * 86400_000));
    const codes = async (r: Promise<{ status: number; body: Record<string, any> }>) => (await r).body.error_codes;
    expect(await codes(refresh(handler, rt, 'https://graph.microsoft.com/.default', 'c0a1b2c3-0001-4d5e-8f90-000000000301'))).toEqual([70000]);
    expect(await codes(refresh(handler, rt, 'https://graph.microsoft.com/Application.ReadWrite.All'))).toEqual([65001]);
    await store.write((s) => void (s.objects[SEED_IDS.admin]!.props.accountEnabled = false));
    expect(await codes(refresh(handler, rt))).toEqual([50057]);
    await store.write((s) => void delete s.objects[SEED_IDS.admin]);
    expect(await codes(refresh(handler, rt))).toEqual([50034]);
    expect(await codes(refresh(handler, old))).toEqual([700082]);

    const failures = await signIns(handler, "signInEventTypes/any(t: t eq 'nonInteractiveUser') and status/errorCode ne 0");
    expect(failures.map((s) => s.status.errorCode)).toEqual([700082, 50034, 50057, 65001, 70000]);
    // The user is named even once it is gone; the client is the one that presented the token.
    expect(failures.every((s) => s.userId === SEED_IDS.admin && s.isInteractive === false)).toBe(true);
    expect(failures.at(-1)).toMatchObject({ appId: 'c0a1b2c3-0001-4d5e-8f90-000000000301', appDisplayName: 'Contoso Agent Automation' });
    expect(failures[0].status.failureReason).toMatch(/^The refresh token has expired due to inactivity\. The token was issued on 2025-11-30T10:00:00\.000Z and was inactive for 91\.00:00:\d\d\.$/);
    expect(failures[3].status.failureReason).toBe(`The user or administrator has not consented to use the application with ID '${PUBLIC_CLIENT}'. Send an interactive authorization request for this user and resource.`);
  });

  it('does not log a refresh token that is not this tenant’s: malformed or signed by another key', async () => {
    const { handler } = emulator();
    const other = emulator();
    const foreign = (await deviceSignIn(other.handler)).body.refresh_token as string;
    expect((await refresh(handler, 'garbage')).body.error_codes).toEqual([9002313]);
    expect((await refresh(handler, foreign)).body.error_codes).toEqual([70000]);
    expect(await signIns(handler, USER_TYPES)).toEqual([]);
  });

  it('an agent user’s refresh-token sign-in carries the agentIDuser facet under its agent identity', async () => {
    const { store, handler } = emulator();
    const bp = await graph(handler, 'POST', `${BETA}/applications/microsoft.graph.agentIdentityBlueprint`, { displayName: 'Helpdesk BP', 'sponsors@odata.bind': [`${BETA}/users/${SEED_IDS.megan}`] });
    expect(bp.status).toBe(201);
    expect((await graph(handler, 'POST', `${BETA}/servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal`, { appId: bp.body.appId })).status).toBe(201);
    const agent = await graph(handler, 'POST', `${BETA}/servicePrincipals/microsoft.graph.agentIdentity`, { displayName: 'Helpdesk Agent', agentIdentityBlueprintId: bp.body.appId, 'sponsors@odata.bind': [`${BETA}/users/${SEED_IDS.megan}`] });
    expect(agent.status).toBe(201);
    const agentUser = await graph(handler, 'POST', `${BETA}/users/microsoft.graph.agentUser`, { accountEnabled: true, displayName: 'Helpdesk Agent User', mailNickname: 'helpdeskagent', userPrincipalName: `HelpdeskAgent@${SEED_DOMAIN}`, identityParentId: agent.body.id });
    expect(agentUser.status).toBe(201);
    // The agent user's own grant, as the agent identity's user flow would have left it.
    const rt = mintRefreshToken(await signingKey(store), { tid: SEED_TENANT_ID, client_id: PUBLIC_CLIENT, oid: agentUser.body.id, scope: 'https://graph.microsoft.com/User.Read offline_access' }, new Date());
    expect((await refresh(handler, rt)).status).toBe(200);

    const [row] = await signIns(handler, `signInEventTypes/any(t: t eq 'nonInteractiveUser') and agent/agentType eq 'agentIDuser'`);
    expect(row).toMatchObject({
      userId: agentUser.body.id,
      userPrincipalName: `helpdeskagent@${SEED_DOMAIN}`,
      userDisplayName: 'Helpdesk Agent User',
      appId: PUBLIC_CLIENT,
      isInteractive: false,
      originalTransferMethod: 'none',
      agent: { agentType: 'agentIDuser', agentSubjectType: 'agentIDuser', parentAppId: agent.body.id, agentSubjectParentId: agent.body.id },
    });
    // Without the Prefer header agentIDuser is a late member: unknownFutureValue.
    const [plain] = await signIns(handler, "signInEventTypes/any(t: t eq 'nonInteractiveUser')", {});
    expect(plain.agent.agentType).toBe('unknownFutureValue');
  });
});

describe('what is not a sign-in', () => {
  it('a token minted in-process (the local profile, mock token) is not logged, nor are app sign-ins counted as user sign-ins', async () => {
    const { store, handler } = emulator();
    const token = await mintToken(store, (s) => userClaims(s, undefined));
    expect((await graph(handler, 'GET', 'https://graph.microsoft.com/v1.0/me', undefined, { Authorization: `Bearer ${token}` })).status).toBe(200);
    expect(await post(handler, 'token', { grant_type: 'client_credentials', client_id: 'c0a1b2c3-0001-4d5e-8f90-000000000301', client_secret: 'wrong', scope: 'https://graph.microsoft.com/.default' })).toMatchObject({ status: 401 });
    expect(await signIns(handler, USER_TYPES)).toEqual([]);
    expect(await signIns(handler, "signInEventTypes/any(t: t eq 'servicePrincipal')")).toHaveLength(1);
  });
});
