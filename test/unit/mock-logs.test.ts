import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { createMockHandler } from '../../src/mock/handler.js';
import { MemoryStore } from '../../src/mock/store.js';
import { FileLogStore, MemoryLogStore, type LogRecord } from '../../src/mock/logs.js';
import { SEED_IDS, SEED_TENANT_ID, seedState } from '../../src/mock/seed.js';
import { generateSignIns, signInRecord } from '../../src/mock/signinGenerator.js';
import type { Caller } from '../../src/mock/context.js';
import { callThrough } from './emulatorCall.js';
import { emitTokenIssued } from '../../src/mock/auth.js';

// The emulator's logs: directoryAudit entries recorded by every write (GD v1.0
// resources/directoryaudit.md; agent objects under their base types, ED agent-id/
// sign-in-audit-logs-agents.md), sign-ins with the agent facet (GD beta resources/signin.md,
// agentic-agentsignin.md), and the two lists: documented filters, newest first, 1,000-row
// pages, skiptoken paging, retention.

const V1 = 'https://graph.microsoft.com/v1.0';
const BETA = 'https://graph.microsoft.com/beta';
const PREFER = { Prefer: 'include-unknown-enum-members' };

function tenant(opts: { caller?: Caller; now?: () => Date } = {}) {
  const store = new MemoryStore(seedState());
  const logs = new MemoryLogStore();
  const handler = createMockHandler({ store, logs, ...(opts.caller ? { defaultCaller: async () => opts.caller! } : {}), ...(opts.now ? { now: opts.now } : {}) });
  const call = callThrough(handler, V1);
  return { store, logs, call, handler };
}

async function agentSetup(call: ReturnType<typeof tenant>['call']) {
  const bp = await call('POST', '/applications/microsoft.graph.agentIdentityBlueprint', { displayName: 'Sales Agent', 'sponsors@odata.bind': [`${V1}/users/${SEED_IDS.megan}`] });
  expect(bp.status).toBe(201);
  const principal = await call('POST', '/servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal', { appId: bp.body.appId });
  expect(principal.status).toBe(201);
  const agent = await call('POST', '/servicePrincipals/microsoft.graph.agentIdentity', { displayName: 'Sales EMEA', agentIdentityBlueprintId: bp.body.appId, 'sponsors@odata.bind': [`${V1}/users/${SEED_IDS.megan}`] });
  expect(agent.status).toBe(201);
  return { bp: bp.body, principal: principal.body, agent: agent.body };
}

const audits = async (call: ReturnType<typeof tenant>['call'], query = '') => (await call('GET', `${BETA}/auditLogs/directoryAudits${query}`)).body.value as any[];

describe('audit records of writes', () => {
  test('creating a blueprint, its principal and an agent logs "Add application" and "Add service principal"', async () => {
    const { call } = tenant();
    const { bp, agent } = await agentSetup(call);
    const list = await audits(call);
    expect(list.map((a) => a.activityDisplayName)).toEqual(['Add service principal', 'Add service principal', 'Add application']);
    const add = list[2];
    expect(add).toMatchObject({
      category: 'ApplicationManagement',
      result: 'success',
      loggedByService: 'Core Directory',
      operationType: 'Add',
      initiatedBy: { app: null, user: { id: SEED_IDS.admin, userPrincipalName: 'admin@contoso.onmicrosoft.com' } },
      targetResources: [{ id: bp.id, displayName: 'Sales Agent', type: 'Application' }],
    });
    expect(add.targetResources[0].modifiedProperties).toContainEqual({ displayName: 'DisplayName', oldValue: null, newValue: '["Sales Agent"]' });
    expect(list[0].targetResources[0]).toMatchObject({ id: agent.id, type: 'ServicePrincipal', displayName: 'Sales EMEA' });
    expect(Object.keys(add).sort()).toEqual(
      ['activityDateTime', 'activityDisplayName', 'additionalDetails', 'category', 'correlationId', 'id', 'initiatedBy', 'loggedByService', 'operationType', 'performedBy', 'result', 'resultReason', 'targetResources', 'userAgent'].sort(),
    );
  });

  test('an update records old and new values of what changed, and v1.0 omits the beta-only properties', async () => {
    const { call } = tenant();
    const { agent } = await agentSetup(call);
    expect((await call('PATCH', `/servicePrincipals/${agent.id}`, { accountEnabled: false })).status).toBe(204);
    const [latest] = (await call('GET', '/auditLogs/directoryAudits?$top=1')).body.value;
    expect(latest.activityDisplayName).toBe('Update service principal');
    expect(latest.operationType).toBe('Update');
    expect(latest.targetResources[0].modifiedProperties).toEqual([
      { displayName: 'AccountEnabled', oldValue: '[true]', newValue: '[false]' },
      { displayName: 'Included Updated Properties', oldValue: null, newValue: '"AccountEnabled"' },
    ]);
    expect(latest).not.toHaveProperty('performedBy');
    expect(latest).not.toHaveProperty('userAgent');
  });

  test('agent users are "Add user" in UserManagement; deleting a blueprint also deletes its principal', async () => {
    const { call } = tenant();
    const { bp, agent } = await agentSetup(call);
    const user = await call('POST', '/users', {
      '@odata.type': 'microsoft.graph.agentUser',
      displayName: 'Sales EMEA user',
      userPrincipalName: 'sales-emea@contoso.onmicrosoft.com',
      mailNickname: 'sales-emea',
      accountEnabled: true,
      identityParentId: agent.id,
    }, { 'OData-Version': '4.0' });
    expect(user.status).toBe(201);
    expect((await call('DELETE', `/applications/${bp.id}`)).status).toBe(204);
    const list = await audits(call);
    // The two deletes share one instant; their relative order is not defined.
    expect(list.slice(0, 2).map((a) => [a.activityDisplayName, a.category, a.targetResources[0].type]).sort()).toEqual([
      ['Delete application', 'ApplicationManagement', 'Application'],
      ['Delete service principal', 'ApplicationManagement', 'ServicePrincipal'],
    ]);
    expect([list[2].activityDisplayName, list[2].category, list[2].targetResources[0].type]).toEqual(['Add user', 'UserManagement', 'User']);
    expect(list[2].targetResources[0].userPrincipalName).toBe('sales-emea@contoso.onmicrosoft.com');
  });

  test('secrets are logged as key descriptions, never as the secret; owners as Add owner', async () => {
    const { call } = tenant();
    const { bp } = await agentSetup(call);
    const pw = await call('POST', `/applications/${bp.id}/addPassword`, { passwordCredential: { displayName: 'ci' } });
    expect(pw.status).toBe(200);
    const owner = await call('POST', `/applications/${bp.id}/owners/$ref`, { '@odata.id': `${V1}/directoryObjects/${SEED_IDS.adele}` });
    expect(owner.status).toBe(204);
    const [ownerAudit, secretAudit] = await audits(call);
    expect(secretAudit.activityDisplayName).toBe('Update application – Certificates and secrets management');
    const kd = secretAudit.targetResources[0].modifiedProperties.find((m: any) => m.displayName === 'KeyDescription');
    expect(kd.newValue).toContain(`KeyIdentifier=${pw.body.keyId},KeyType=Password,KeyUsage=Verify,DisplayName=ci`);
    expect(JSON.stringify(secretAudit)).not.toContain(pw.body.secretText);
    expect(ownerAudit).toMatchObject({ activityDisplayName: 'Add owner to application', operationType: 'Assign' });
    expect(ownerAudit.targetResources.map((t: any) => [t.id, t.type])).toEqual([[bp.id, 'Application'], [SEED_IDS.adele, 'User']]);
  });

  test('each inner write of a $batch is audited on its own', async () => {
    const { call } = tenant();
    const { agent } = await agentSetup(call);
    const res = await call('POST', '/$batch', {
      requests: [
        { id: '1', method: 'PATCH', url: `/servicePrincipals/${agent.id}`, headers: { 'Content-Type': 'application/json' }, body: { accountEnabled: false } },
        { id: '2', method: 'PATCH', url: `/servicePrincipals/${agent.id}`, headers: { 'Content-Type': 'application/json' }, body: { displayName: 'Sales EMEA (batch)' } },
        { id: '3', method: 'GET', url: `/servicePrincipals/${agent.id}` },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.responses.map((r: any) => r.status).sort()).toEqual([200, 204, 204]);
    const updates = (await audits(call)).filter((a) => a.activityDisplayName === 'Update service principal');
    expect(updates.map((a) => a.targetResources[0].modifiedProperties[0].displayName).sort()).toEqual(['AccountEnabled', 'DisplayName']);
  });

  test('failed writes and reads record nothing', async () => {
    const { call } = tenant();
    expect((await call('POST', '/applications/microsoft.graph.agentIdentityBlueprint', { displayName: 'No sponsor' })).status).toBe(400);
    await call('GET', '/applications');
    expect(await audits(call)).toEqual([]);
  });

  test('an app caller is initiatedBy.app, with performedBy naming it (beta)', async () => {
    const { call: admin, store } = tenant();
    const { bp, principal } = await agentSetup(admin);
    const asApp = createMockHandler({ store, logs: new MemoryLogStore(), defaultCaller: async () => ({ kind: 'app', appId: bp.appId, servicePrincipalId: principal.id }) });
    const res = await asApp(new Request(`${BETA}/applications/${bp.id}`, { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ description: 'x' }) }));
    expect(res.status).toBe(204);
    {
      const list: any = await (await asApp(new Request(`${BETA}/auditLogs/directoryAudits`))).json();
      expect(list.value[0].initiatedBy).toEqual({ user: null, app: { appId: bp.appId, displayName: 'Sales Agent', servicePrincipalId: principal.id, servicePrincipalName: 'Sales Agent' } });
      expect(list.value[0].performedBy).toEqual({ appId: bp.appId, blueprintId: bp.id, identityType: 'agent' });
    }
  });
});

describe('shapes match the official beta model (msgraph-beta-sdk serializers)', () => {
  // Every property the emulator renders must exist on its type in the official model
  // (scripts/sdk-properties.mjs reads the SDK's generated serializers).
  const sdk = async () => (await import(String(new URL('../../scripts/sdk-properties.mjs', import.meta.url)))) as { propertiesOf: (t: string, ns?: string) => Map<string, unknown> };
  const unknownKeys = (obj: Record<string, unknown> | null | undefined, props: Map<string, unknown>) => Object.keys(obj ?? {}).filter((k) => !props.has(k));

  test('signIn, its agent facet, status, location and deviceDetail', async () => {
    const { propertiesOf } = await sdk();
    const { signInView } = await import('../../src/mock/handlers/auditLogs.js');
    const view = signInView({ id: 'x', createdDateTime: '2026-11-22T08:00:00Z', agent: { agentType: 'agenticAppInstance', parentAppId: 'p', agentSubjectType: 'agenticAppInstance', agentSubjectParentId: 'b' }, status: { errorCode: 70021, failureReason: 'r', additionalDetails: null } }, 'beta', true);
    expect(unknownKeys(view, propertiesOf('SignIn'))).toEqual([]);
    expect(unknownKeys(view.agent as Record<string, unknown>, propertiesOf('AgentSignIn', 'agentic'))).toEqual([]);
    expect(unknownKeys(view.status as Record<string, unknown>, propertiesOf('SignInStatus'))).toEqual([]);
    expect(unknownKeys(view.location as Record<string, unknown>, propertiesOf('SignInLocation'))).toEqual([]);
    expect(unknownKeys(view.deviceDetail as Record<string, unknown>, propertiesOf('DeviceDetail'))).toEqual([]);
    // and nothing of the model is missing
    expect([...propertiesOf('SignIn').keys()].filter((k) => k !== '@odata.type' && !(k in view))).toEqual([]);
  });

  test('directoryAudit, its initiator, target and performer', async () => {
    const { propertiesOf } = await sdk();
    const { call, store } = tenant();
    const { bp, principal } = await agentSetup(call);
    await call('PATCH', `/servicePrincipals/${principal.id}`, { accountEnabled: false });
    const userRow = (await audits(call))[0];
    for (const a of [userRow]) {
      expect(unknownKeys(a, propertiesOf('DirectoryAudit'))).toEqual([]);
      expect(unknownKeys(a.initiatedBy, propertiesOf('AuditActivityInitiator'))).toEqual([]);
      expect(unknownKeys(a.initiatedBy.user, propertiesOf('AuditUserIdentity'))).toEqual([]);
      for (const t of a.targetResources) {
        expect(unknownKeys(t, propertiesOf('TargetResource'))).toEqual([]);
        for (const m of t.modifiedProperties) expect(unknownKeys(m, propertiesOf('ModifiedProperty'))).toEqual([]);
      }
    }
    expect(unknownKeys({ appId: 'a', blueprintId: 'b', identityType: 'agent' }, propertiesOf('AuditActivityPerformer'))).toEqual([]);
    expect(unknownKeys({ appId: 'a', displayName: 'd', servicePrincipalId: 's', servicePrincipalName: 'n' }, propertiesOf('AppIdentity'))).toEqual([]);
  });
});

describe('directoryAudits list', () => {
  test('filters on target, activity and initiator as documented; category is not filterable', async () => {
    const { call } = tenant();
    const { agent } = await agentSetup(call);
    await call('PATCH', `/servicePrincipals/${agent.id}`, { displayName: 'Sales EMEA 2' });
    const byTarget = await audits(call, `?$filter=${encodeURIComponent(`targetResources/any(t: t/id eq '${agent.id}')`)}`);
    expect(byTarget.map((a) => a.activityDisplayName)).toEqual(['Update service principal', 'Add service principal']);
    const adds = await audits(call, `?$filter=${encodeURIComponent("startswith(activityDisplayName, 'Add')")}`);
    expect(adds).toHaveLength(3);
    const byUser = await audits(call, `?$filter=${encodeURIComponent("initiatedBy/user/userPrincipalName eq 'admin@contoso.onmicrosoft.com'")}`);
    expect(byUser).toHaveLength(4);
    const bad = await call('GET', `/auditLogs/directoryAudits?$filter=${encodeURIComponent("category eq 'ApplicationManagement'")}`);
    expect(bad.status).toBe(400);
  });
});

describe('signIns list', () => {
  async function withSignIns(n: number, mutate: (r: LogRecord, i: number) => void = () => {}) {
    const t = tenant();
    const { agent } = await agentSetup(t.call);
    const state = await t.store.read((s) => s);
    const base = Date.parse('2026-11-22T08:00:00Z');
    const records: LogRecord[] = [];
    for (let i = 0; i < n; i++) {
      const r = signInRecord(state, { appId: agent.id, servicePrincipalId: agent.id, success: i % 10 !== 0, ipAddress: `10.0.0.${i % 5}`, time: new Date(base - i * 60_000) }, new Date(base));
      mutate(r, i);
      records.push(r);
    }
    await t.logs.append('signIns', records.reverse());
    return { ...t, agent, now: new Date(base) };
  }

  test('pages of 1,000, newest first, followed by skiptoken to the end', async () => {
    const { handler } = await withSignIns(2500);
    let url: string | undefined = `${BETA}/auditLogs/signIns?$filter=${encodeURIComponent("signInEventTypes/any(t: t eq 'servicePrincipal')")}`;
    const sizes: number[] = [];
    const times: string[] = [];
    while (url) {
      const body: any = await (await handler(new Request(url))).json();
      expect(body['@odata.context']).toBe(`${BETA}/$metadata#auditLogs/signIns`);
      sizes.push(body.value.length);
      times.push(...body.value.map((r: any) => r.createdDateTime));
      url = body['@odata.nextLink'];
      if (url) expect(new URL(url).searchParams.get('$skiptoken')).toBeTruthy();
    }
    expect(sizes).toEqual([1000, 1000, 500]);
    expect(new Set(times).size).toBe(2500);
    expect([...times].sort().reverse()).toEqual(times);
  });

  test('without a signInEventTypes filter only interactive sign-ins come back', async () => {
    const { call } = await withSignIns(5);
    expect((await call('GET', `${BETA}/auditLogs/signIns`)).body.value).toEqual([]);
  });

  test('the agent facet; its late enum members only with Prefer: include-unknown-enum-members', async () => {
    const { call, agent } = await withSignIns(3, (r) => {
      (r.agent as any).agentType = 'agentIdentityBlueprintPrincipal';
    });
    const q = `${BETA}/auditLogs/signIns?$top=1&$filter=${encodeURIComponent(`signInEventTypes/any(t: t eq 'servicePrincipal') and appId eq '${agent.id}'`)}`;
    const plain = (await call('GET', q)).body.value[0];
    expect(plain.agent.agentType).toBe('unknownFutureValue');
    const withPrefer = (await call('GET', q, undefined, PREFER)).body.value[0];
    expect(withPrefer.agent).toMatchObject({ '@odata.type': '#microsoft.graph.agentic.agentSignIn', agentType: 'agentIdentityBlueprintPrincipal', parentAppId: expect.any(String) });
    expect(withPrefer).toMatchObject({ appId: agent.id, servicePrincipalId: agent.id, signInEventTypes: ['servicePrincipal'], clientCredentialType: 'clientSecret' });
    const v1 = (await call('GET', `/auditLogs/signIns?$top=1&$filter=${encodeURIComponent(`appId eq '${agent.id}'`)}`)).body;
    expect(v1.value).toEqual([]); // v1.0 has no signInEventTypes: the interactive-only default applies
  });

  test('status, time window and agentType filters; $top caps the page at 1,000', async () => {
    const { call } = await withSignIns(50);
    const f = (x: string) => `${BETA}/auditLogs/signIns?$filter=${encodeURIComponent(`signInEventTypes/any(t: t eq 'servicePrincipal') and ${x}`)}`;
    expect((await call('GET', f('status/errorCode ne 0'))).body.value).toHaveLength(5);
    expect((await call('GET', f('status/errorCode eq 0'))).body.value).toHaveLength(45);
    expect((await call('GET', f('createdDateTime ge 2026-11-22T07:50:00Z'))).body.value).toHaveLength(11);
    expect((await call('GET', f("agent/agentType eq 'agenticAppInstance'"))).body.value).toHaveLength(50);
    expect((await call('GET', `${BETA}/auditLogs/signIns?$top=1001`)).status).toBe(400);
  });

  test('a skiptoken from another query is refused', async () => {
    const { call } = await withSignIns(1200);
    const first = (await call('GET', `${BETA}/auditLogs/signIns?$filter=${encodeURIComponent("signInEventTypes/any(t: t eq 'servicePrincipal')")}`)).body;
    const token = new URL(first['@odata.nextLink']).searchParams.get('$skiptoken')!;
    const other = await call('GET', `${BETA}/auditLogs/signIns?$filter=${encodeURIComponent("signInEventTypes/any(t: t eq 'managedIdentity')")}&$skiptoken=${token}`);
    expect(other.status).toBe(400);
  });

  test('sign-ins older than the 30-day retention are gone', async () => {
    const t = tenant({ now: () => new Date('2026-11-22T08:00:00Z') });
    await agentSetup(t.call);
    const state = await t.store.read((s) => s);
    const records = generateSignIns(state, { count: 200, days: 60, failureRate: 0.1, now: new Date('2026-11-22T08:00:00Z'), random: lcg(7) });
    await t.logs.append('signIns', records);
    const kept = records.filter((r) => Date.parse(String(r.createdDateTime)) >= Date.parse('2026-10-23T08:00:00Z')).length;
    const body = (await t.call('GET', `${BETA}/auditLogs/signIns?$filter=${encodeURIComponent("signInEventTypes/any(t: t eq 'servicePrincipal' or t eq 'nonInteractiveUser')")}`)).body;
    expect(body.value).toHaveLength(kept);
    expect(kept).toBeLessThan(200);
  });
});

describe('a Free tenant (AGENTID_MOCK_LICENSE=free)', () => {
  test('keeps 7 days of audit logs and refuses the sign-in API, which needs P1/P2', async () => {
    const now = new Date('2026-11-22T08:00:00Z');
    const logs = new MemoryLogStore('free');
    const handler = createMockHandler({ store: new MemoryStore(seedState()), logs, now: () => now });
    await logs.append('directoryAudits', [
      { id: 'a8', activityDateTime: '2026-11-14T07:00:00Z' },
      { id: 'a6', activityDateTime: '2026-11-16T08:00:00Z' },
    ]);
    const audit: any = await (await handler(new Request(`${V1}/auditLogs/directoryAudits`))).json();
    expect(audit.value.map((a: any) => a.id)).toEqual(['a6']);
    const res = await handler(new Request(`${BETA}/auditLogs/signIns`));
    expect(res.status).toBe(403);
    expect(((await res.json()) as any).error.code).toBe('Authentication_RequestFromNonPremiumTenantOrB2CTenant');
  });
});

describe('sign-ins from the token endpoint', () => {
  test('a token refused for a wrong secret records a failed sign-in with the agent facet', async () => {
    const { call, handler } = tenant();
    const { bp } = await agentSetup(call);
    const res = await handler(
      new Request(`https://login.microsoftonline.com/${SEED_TENANT_ID}/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: bp.appId, client_secret: 'not-the-secret', scope: 'https://graph.microsoft.com/.default' }).toString(),
      }),
    );
    expect(res.status).toBe(401);
    const list = (await call('GET', `${BETA}/auditLogs/signIns?$filter=${encodeURIComponent("signInEventTypes/any(t: t eq 'servicePrincipal')")}`, undefined, PREFER)).body.value;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      appId: bp.appId,
      appDisplayName: 'Sales Agent',
      status: { errorCode: 7000215 },
      agent: { agentType: 'agentIdentityBlueprintPrincipal', parentAppId: bp.appId, agentSubjectParentId: bp.id },
    });
  });

  test('every token the endpoint reports becomes a sign-in of the calling object', async () => {
    const { call, store } = tenant();
    const { agent, bp } = await agentSetup(call);
    await emitTokenIssued({ appId: agent.id, servicePrincipalId: agent.id, tenantId: SEED_TENANT_ID, grantType: 'client_credentials', credentialType: 'federatedIdentityCredential', success: true, correlationId: 'c1', time: new Date() }, store);
    const [row] = (await call('GET', `${BETA}/auditLogs/signIns?$filter=${encodeURIComponent("signInEventTypes/any(t: t eq 'servicePrincipal')")}`, undefined, PREFER)).body.value;
    expect(row).toMatchObject({ appId: agent.id, servicePrincipalId: agent.id, correlationId: 'c1', clientCredentialType: 'federatedIdentityCredential', status: { errorCode: 0 }, agent: { agentType: 'agenticAppInstance', agentSubjectType: 'agenticAppInstance', parentAppId: bp.appId, agentSubjectParentId: bp.id } });
  });
});

describe('FileLogStore', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const dir = () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'agentid-logs-'));
    dirs.push(d);
    return d;
  };
  const rec = (id: string, t: string): LogRecord => ({ id, createdDateTime: t });

  test('a second process sees appended lines without re-reading the file; order is by time', async () => {
    const d = dir();
    const a = new FileLogStore(d);
    const b = new FileLogStore(d);
    const now = new Date('2026-11-22T08:00:00Z');
    await a.append('signIns', [rec('1', '2026-11-22T07:00:00Z'), rec('2', '2026-11-22T07:30:00Z')]);
    expect((await b.entries('signIns', now)).map((e) => e.record.id)).toEqual(['1', '2']);
    await b.append('signIns', [rec('0', '2026-11-22T06:00:00Z')]);
    expect((await a.entries('signIns', now)).map((e) => e.record.id)).toEqual(['0', '1', '2']);
    expect(readFileSync(a.fileOf('signIns'), 'utf8').trim().split('\n')).toHaveLength(3);
  });

  test('queries and a flush at once read the file once: no record is listed twice (served emulator)', async () => {
    const d = dir();
    const now = new Date('2026-11-22T08:00:00Z');
    await new FileLogStore(d).append('signIns', Array.from({ length: 500 }, (_, i) => rec(`g${i}`, new Date(Date.parse('2026-11-21T00:00:00Z') + i * 1000).toISOString())));
    const served = new FileLogStore(d, { mode: 'deferred' });
    // A sign-in to the served emulator (deferred), then a query that reads the file while the flush reads it too.
    await served.append('signIns', [rec('token', '2026-11-22T07:59:00Z')]);
    const [listed, again] = await Promise.all([served.entries('signIns', now), served.entries('signIns', now), served.flush()]);
    expect(listed).toHaveLength(501);
    expect(again).toHaveLength(501);
    expect(await served.entries('signIns', now)).toHaveLength(501);
    expect(new Set((await served.entries('signIns', now)).map((e) => e.record.id)).size).toBe(501);
  });

  test('deferred appends reach the file on flush; compaction drops what is past retention', async () => {
    const d = dir();
    const served = new FileLogStore(d, { mode: 'deferred' });
    const now = new Date('2026-11-22T08:00:00Z');
    await served.append('directoryAudits', [{ id: 'old', activityDateTime: '2026-10-01T00:00:00Z' }, { id: 'new', activityDateTime: '2026-11-21T00:00:00Z' }]);
    expect((await served.entries('directoryAudits', now)).map((e) => e.record.id)).toEqual(['new']);
    await served.flush();
    const other = new FileLogStore(d);
    await other.compact(now);
    expect(readFileSync(other.fileOf('directoryAudits'), 'utf8')).not.toContain('"old"');
    await other.clear();
    expect((await new FileLogStore(d).entries('directoryAudits', now)).length).toBe(0);
  });
});

/** A small deterministic generator so the retention test always splits the same way. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1664525 + 1013904223) % 4294967296;
    return s / 4294967296;
  };
}
