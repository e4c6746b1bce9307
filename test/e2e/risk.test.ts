import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startServer, tempHome } from './helpers.js';

// agentid risk and agentid ca on the bundled contoso fixture (#13): its protection.json brings
// three agent policies and four risky agents, so a fresh `mock reset --fixture contoso` shows
// them; the ID Protection actions confirm before they act; and the emulator's permissions for
// the new endpoints (Policy.*, IdentityRiskyAgent.*, IdentityRiskEvent.Read.All, the roles).

const h = tempHome('agentid-risk-');
const ok = (r: Awaited<ReturnType<typeof h.run>>) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return r;
};
let risky: any[] = [];

beforeAll(async () => {
  ok(await h.run(['mock', 'reset', '--fixture', 'contoso', '--yes']));
  risky = ok(await h.run(['risk', 'list', '-o', 'json'])).json();
});
afterAll(() => h.remove());

describe('the fixture shows policies and risky agents', () => {
  test('risk list, by level and by blueprint', async () => {
    expect(risky.map((r) => [r.riskLevel, r.riskState])).toEqual([
      ['high', 'atRisk'],
      ['medium', 'atRisk'],
      ['high', 'confirmedCompromised'],
      ['none', 'dismissed'],
    ]);
    expect(risky[0]['@odata.type']).toBe('#microsoft.graph.riskyAgentIdentity');
    const high = ok(await h.run(['risk', 'list', '--level', 'high', '-o', 'json'])).json();
    expect(high.map((r: any) => r.id)).toEqual([risky[0].id, risky[2].id]);
    const sales = ok(await h.run(['risk', 'list', '--blueprint', 'Sales Agent', '-o', 'json'])).json();
    expect(sales.map((r: any) => r.id)).toEqual([risky[0].id, risky[1].id]);
  });

  test('risk show and risk detections', async () => {
    expect(ok(await h.run(['risk', 'show', risky[2].agentDisplayName, '-o', 'json'])).json()).toMatchObject({ id: risky[2].id, riskDetail: 'adminConfirmedAgentCompromised' });
    const all = ok(await h.run(['risk', 'detections', '-o', 'json'])).json();
    expect(all.map((d: any) => d.identityId)).toEqual([risky[0].id, risky[1].id, risky[2].id]);
    expect(ok(await h.run(['risk', 'detections', '--since', '36h', '-o', 'json'])).json().map((d: any) => d.identityId)).toEqual([risky[0].id]);
    expect(ok(await h.run(['risk', 'detections', '--agent', risky[1].agentDisplayName, '-o', 'json'])).json()).toHaveLength(1);
    const none = await h.run(['risk', 'show', 'Contoso Admin']);
    expect(none.code).toBe(3);
  });

  test('ca list shows the three agent policies; what-if explains the enforced one', async () => {
    const policies = ok(await h.run(['ca', 'list', '-o', 'json'])).json();
    expect(policies.map((p: any) => [p.displayName, p.state, p.targets])).toEqual([
      ['Block high-risk agent identities', 'enabledForReportingButNotEnforced', 'all agent identities, risk high'],
      ['Block all agent users', 'disabled', 'all agent users'],
      ['Quarantine: HR Onboarding agents under review', 'enabled', '3 agent identities'],
    ]);
    const quarantined = policies[2].conditions.clientApplications.includeAgentIdServicePrincipals[1];
    const w = await h.run(['ca', 'what-if', '--agent', quarantined, '-o', 'json']);
    expect(w.stderr).toContain("would be refused (AADSTS53003) by: Quarantine: HR Onboarding agents under review");
    // That agent is also confirmed compromised (risk high): the report-only template matches it too.
    expect(w.json().map((v: any) => v.result)).toEqual(['reportOnlyFailure', 'notEnabled', 'failure']);
  });
});

describe('ID Protection actions', () => {
  test('confirm-compromised asks first: off a terminal without --yes it refuses, one line, nothing changed', async () => {
    const r = await h.run(['risk', 'confirm-compromised', risky[1].id]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('pass --yes');
    expect(ok(await h.run(['risk', 'show', risky[1].id, '-o', 'json'])).json().riskLevel).toBe('medium');
  });

  test('--dry-run prints the exact call, with every id in one agentIds list', async () => {
    const r = ok(await h.run(['risk', 'dismiss', risky[0].id, risky[1].id, '--dry-run', '-o', 'json']));
    expect(r.json()).toEqual({ dryRun: true, calls: [{ method: 'POST', url: 'https://graph.microsoft.com/beta/identityProtection/riskyAgents/dismiss', body: { agentIds: [risky[0].id, risky[1].id] } }] });
  });

  test('many agents go out in as few calls as the chunk allows (60 ids a call)', async () => {
    const ids = ok(await h.run(['agent', 'list', '--blueprint', 'Sales Agent', '-o', 'json'])).json().slice(0, 61).map((a: any) => a.id);
    expect(ids).toHaveLength(61);
    const r = ok(await h.run(['risk', 'confirm-safe', ...ids, '--dry-run', '-o', 'json']));
    expect(r.json().calls.map((c: any) => [c.url, c.body.agentIds.length])).toEqual([
      ['https://graph.microsoft.com/beta/identityProtection/riskyAgents/confirmSafe', 60],
      ['https://graph.microsoft.com/beta/identityProtection/riskyAgents/confirmSafe', 1],
    ]);
    expect(r.json().calls.flatMap((c: any) => c.body.agentIds)).toEqual(ids);
  });

  test('dismiss, then confirm-compromised an agent that had no risk', async () => {
    ok(await h.run(['risk', 'dismiss', risky[0].id, risky[1].id, '--yes', '-o', 'none']));
    const after = ok(await h.run(['risk', 'list', '--level', 'none', '-o', 'json'])).json();
    expect(after.filter((r: any) => r.riskState === 'dismissed').map((r: any) => r.riskDetail)).toEqual(['adminDismissedRiskForAgent', 'adminDismissedRiskForAgent', 'adminDismissedRiskForAgent']);
    const agent = ok(await h.run(['agent', 'list', '--blueprint', 'Finance Agent', '--top', '1', '-o', 'json'])).json()[0];
    const r = ok(await h.run(['risk', 'confirm-compromised', agent.displayName, '--yes', '-o', 'json']));
    expect(r.json()).toEqual([{ id: agent.id, displayName: agent.displayName, action: 'confirmCompromised' }]);
    expect(ok(await h.run(['risk', 'show', agent.id, '-o', 'json'])).json()).toMatchObject({ riskLevel: 'high', riskState: 'confirmedCompromised' });
  });

  test('an unknown agent is exit 3, nothing sent', async () => {
    const r = await h.run(['risk', 'confirm-safe', 'No Such Agent', '--yes']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe("error: No agent identity named 'No Such Agent'.\n");
  });
});

describe('permissions of the new endpoints (served emulator)', () => {
  test('Policy.Read.All reads policies but cannot write; a user without a Conditional Access role cannot read; risk and custom security attributes need their own permissions and roles', async () => {
    const server = await startServer(h.home);
    try {
      const token = async (args: string[]) => ok(await h.run(['mock', 'token', ...args])).stdout.trim();
      const call = async (t: string, method: string, path: string, body?: unknown) =>
        (await fetch(`${server.url}/beta${path}`, { method, headers: { Authorization: `Bearer ${t}`, 'Content-Type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) })).status;
      const policyBody = { displayName: 'x', state: 'disabled', conditions: { applications: { includeApplications: ['All'] }, users: { includeUsers: ['AllAgentIdUsers'] } }, grantControls: { operator: 'OR', builtInControls: ['block'] } };
      const reader = await token(['--scopes', 'Policy.Read.All']);
      expect(await call(reader, 'GET', '/identity/conditionalAccess/policies')).toBe(200);
      expect(await call(reader, 'POST', '/identity/conditionalAccess/policies', policyBody)).toBe(403);
      const writer = await token(['--scopes', 'Policy.ReadWrite.ConditionalAccess']);
      expect(await call(writer, 'POST', '/identity/conditionalAccess/policies', policyBody)).toBe(201);
      // Megan is an Agent ID Developer: the scope alone is not enough for a delegated caller.
      const megan = await token(['--user', 'meganb@contoso.onmicrosoft.com', '--scopes', 'Policy.ReadWrite.ConditionalAccess,IdentityRiskyAgent.ReadWrite.All']);
      expect(await call(megan, 'GET', '/identity/conditionalAccess/policies')).toBe(403);
      expect(await call(megan, 'GET', '/identityProtection/riskyAgents')).toBe(403);
      const riskReader = await token(['--scopes', 'IdentityRiskyAgent.Read.All']);
      expect(await call(riskReader, 'GET', '/identityProtection/riskyAgents')).toBe(200);
      expect(await call(riskReader, 'POST', '/identityProtection/riskyAgents/dismiss', { agentIds: [risky[0].id] })).toBe(403);
      expect(await call(riskReader, 'GET', '/identityProtection/agentRiskDetections')).toBe(403);
      expect(await call(await token(['--scopes', 'IdentityRiskEvent.Read.All']), 'GET', '/identityProtection/agentRiskDetections')).toBe(200);
      // App-only: the read-only inventory app holds none of them; the automation app holds them all.
      expect(await call(await token(['--app', 'c0a1b2c3-0002-4d5e-8f90-000000000302']), 'GET', '/identityProtection/riskyAgents')).toBe(403);
      expect(await call(await token(['--app', 'c0a1b2c3-0001-4d5e-8f90-000000000301']), 'GET', '/identityProtection/riskyAgents')).toBe(200);
      // Custom security attributes (ca create --blueprint) have permissions and roles of their own:
      // the scope alone is not enough, and no admin role (Megan's included) holds them by default.
      const agentId = risky[0].id;
      const read = async (t: string) => call(t, 'GET', `/servicePrincipals/${agentId}?$select=id,customSecurityAttributes`);
      const assign = async (t: string) => call(t, 'PATCH', `/servicePrincipals/${agentId}`, { customSecurityAttributes: { AgentId: { '@odata.type': '#Microsoft.DirectoryServices.CustomSecurityAttributeValue', Blueprint: 'x' } } });
      const define = async (t: string, body: unknown) => call(t, 'POST', '/directory/attributeSets', body);
      const definer = await token(['--scopes', 'CustomSecAttributeDefinition.ReadWrite.All']);
      const assigner = await token(['--scopes', 'CustomSecAttributeAssignment.ReadWrite.All,AgentIdentity.Read.All']);
      expect(await define(assigner, { id: 'AgentId' })).toBe(403);
      expect(await define(definer, { id: 'AgentId' })).toBe(201);
      expect(await call(definer, 'POST', '/directory/customSecurityAttributeDefinitions', { attributeSet: 'AgentId', name: 'Blueprint', type: 'String', status: 'Available', isCollection: false, isSearchable: true, usePreDefinedValuesOnly: false })).toBe(201);
      expect(await call(definer, 'GET', '/directory/customSecurityAttributeDefinitions/AgentId_Blueprint')).toBe(200);
      expect(await assign(definer)).toBe(403);
      expect(await assign(assigner)).toBe(204);
      expect(await read(await token(['--scopes', 'AgentIdentity.Read.All']))).toBe(403);
      expect(await read(assigner)).toBe(200);
      const meganAttr = await token(['--user', 'meganb@contoso.onmicrosoft.com', '--scopes', 'CustomSecAttributeDefinition.ReadWrite.All,CustomSecAttributeAssignment.ReadWrite.All,AgentIdentity.Read.All']);
      expect(await define(meganAttr, { id: 'Other' })).toBe(403);
      expect(await assign(meganAttr)).toBe(403);
      // Values are checked against the definitions: an undefined attribute is a 400, nothing written.
      expect(await call(assigner, 'PATCH', `/servicePrincipals/${agentId}`, { customSecurityAttributes: { AgentId: { Nope: 'x' } } })).toBe(400);
      // riskyAgents is beta only.
      expect((await fetch(`${server.url}/v1.0/identityProtection/riskyAgents`, { headers: { Authorization: `Bearer ${riskReader}` } })).status).toBe(400);
    } finally {
      await server.stop();
    }
  });
});
