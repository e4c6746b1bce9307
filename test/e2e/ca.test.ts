import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ROOT, baseEnv, parseJson, startServer, tempHome } from './helpers.js';

// Conditional Access for agents end to end (#13, section 4): a block policy for one blueprint,
// first report-only, then on, against agents that sign in the documented way (the blueprint's T1
// exchange token, then the agent identity's own token through @azure/identity's
// ClientAssertionCredential) at `agentid mock serve --tls`; the sign-in log and `ca what-if`
// must agree with what happened. Then agent risk feeding a risk policy, and the bad input that
// must be refused before anything is written.

const TENANT = '3f2a7c1e-5b8d-4e6f-9a0b-1c2d3e4f5a6b';
const home = tempHome('agentid-ca-');
let server: Awaited<ReturnType<typeof startServer>>;
let env: Record<string, string> = {};
const agents: Record<string, { id: string; blueprintAppId: string; secretFile: string }> = {};

function ok(r: Awaited<ReturnType<typeof home.run>>) {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return r;
}
const cli = (args: string[]) => home.run(args, { env });

beforeAll(async () => {
  server = await startServer(home.home, ['--tls']);
  env = { AGENTID_GRAPH_URL: server.url, NODE_EXTRA_CA_CERTS: path.join(home.home, 'mock', 'tls', 'cert.pem') };
  for (const [bp, agent] of [['CA Blueprint', 'CA Agent'], ['Other Blueprint', 'Other Agent']] as const) {
    const b = ok(await cli(['blueprint', 'create', '--name', bp, '--sponsor', 'me', '-o', 'json'])).json();
    const a = ok(await cli(['agent', 'create', '--blueprint', bp, '--name', agent, '--sponsor', 'me', '-o', 'json'])).json();
    const secretFile = path.join(home.home, `${agent.replace(/ /g, '-')}.secret`);
    ok(await cli(['blueprint', 'credential', 'add', bp, '--secret', '--secret-file', secretFile, '-o', 'none']));
    agents[agent] = { id: a.id, blueprintAppId: b.appId, secretFile };
  }
  ok(await cli(['blueprint', 'create', '--name', 'Empty Blueprint', '--sponsor', 'me', '-o', 'none']));
});

afterAll(async () => {
  await server?.stop();
  home.remove();
});

/**
 * One sign-in of an agent identity: the blueprint's T1 (client secret, fmi_path = the agent, for
 * api://AzureADTokenExchange/.default), then ClientAssertionCredential as the agent with T1.
 */
function signIn(agent: string): Promise<{ ok: boolean; error?: string }> {
  const a = agents[agent]!;
  const code = `
    import { ClientAssertionCredential } from '@azure/identity';
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: process.env.BP, client_secret: process.env.SECRET, scope: 'api://AzureADTokenExchange/.default', fmi_path: process.env.AGENT });
    const t1 = await (await fetch(process.env.URL + '/${TENANT}/oauth2/v2.0/token', { method: 'POST', body: form })).json();
    if (!t1.access_token) { console.log(JSON.stringify({ ok: false, error: 'T1: ' + t1.error_description })); process.exit(0); }
    const cred = new ClientAssertionCredential('${TENANT}', process.env.AGENT, async () => t1.access_token, { authorityHost: process.env.URL, disableInstanceDiscovery: true });
    try {
      const t = await cred.getToken('https://graph.microsoft.com/.default');
      console.log(JSON.stringify({ ok: !!t.token }));
    } catch (e) {
      console.log(JSON.stringify({ ok: false, error: (e.message.match(/AADSTS\\d+: [^.]*\\./) ?? [e.message])[0] }));
    }`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      cwd: ROOT,
      env: { ...baseEnv(home.home), URL: server.url, NODE_EXTRA_CA_CERTS: env.NODE_EXTRA_CA_CERTS, BP: a.blueprintAppId, SECRET: readFileSync(a.secretFile, 'utf8').trim(), AGENT: a.id },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('close', () => resolve(out ? parseJson(out, `sign-in script output (stderr: ${err})`) : { ok: false, error: err }));
  });
}

/** The agent's newest sign-in, as `agentid logs signins --agent` shows it. */
async function lastSignIn(agent: string) {
  const rows = ok(await cli(['logs', 'signins', '--agent', agent, '--top', '1', '-o', 'json'])).json();
  return rows[0];
}

const policyEntry = (s: any, id: string) => s.appliedConditionalAccessPolicies.find((p: any) => p.id === id);
const ruleFor = (agent: string) => `CustomSecurityAttribute.AgentId_Blueprint -eq "${agents[agent]!.blueprintAppId}"`;
const journals = () => (existsSync(path.join(home.home, 'journals')) ? readdirSync(path.join(home.home, 'journals')).length : 0);

describe('a block policy for one blueprint, report-only then on', () => {
  let policyId = '';

  test('created report-only by default: the agents of the blueprint are tagged (journaled) and the policy selects them by that custom security attribute', async () => {
    const r = ok(await cli(['ca', 'create', '--name', 'Block CA Blueprint', '--blueprint', 'CA Blueprint', '--block', '-o', 'json']));
    const p = r.json();
    policyId = p.id;
    expect(p.state).toBe('enabledForReportingButNotEnforced');
    // As Graph answers: the collections not given come back empty.
    expect(p.conditions.clientApplications).toEqual({
      agentIdServicePrincipalFilter: { mode: 'include', rule: ruleFor('CA Agent') },
      includeAgentIdServicePrincipals: [],
      excludeAgentIdServicePrincipals: [],
      includeServicePrincipals: [],
      excludeServicePrincipals: [],
    });
    expect(r.stderr).toContain('Defined custom security attribute AgentId_Blueprint.');
    expect(r.stderr).toMatch(/Done: 1 changed, 0 already as asked\. Journal: .*set-attribute/);
    expect(ok(await cli(['bulk', 'status', '--last', '-o', 'json'])).json()).toMatchObject({ kind: 'set-attribute', total: 1, done: 1 });
    const defs = ok(await cli(['agent', 'show', 'CA Agent', '-o', 'json']));
    expect(defs.json().id).toBe(agents['CA Agent']!.id);
    expect(p.conditions.applications).toEqual({ includeApplications: ['All'], excludeApplications: [], includeUserActions: [] });
    expect(p.grantControls).toEqual({ operator: 'OR', builtInControls: ['block'], customAuthenticationFactors: [], termsOfUse: [] });
    expect(r.stderr).toContain("Created policy 'Block CA Blueprint'");
    const audits = ok(await cli(['logs', 'audit', '--top', '5', '-o', 'json'])).json();
    expect(audits.find((a: any) => a.activityDisplayName === 'Add conditional access policy')).toMatchObject({ category: 'Policy', loggedByService: 'Conditional Access', operationType: 'Add', targetResources: [{ id: p.id, displayName: 'Block CA Blueprint', type: 'Policy' }] });
  });

  test('report-only: the agent still signs in, and the log records the report-only result', async () => {
    expect(await signIn('CA Agent')).toEqual({ ok: true });
    const s = await lastSignIn('CA Agent');
    expect(s.status.errorCode).toBe(0);
    expect(s.conditionalAccessStatus).toBe('notApplied');
    expect(policyEntry(s, policyId)).toMatchObject({ displayName: 'Block CA Blueprint', result: 'reportOnlyFailure', enforcedGrantControls: ['Block'], conditionsSatisfied: 'servicePrincipals,application' });
    const w = ok(await cli(['ca', 'what-if', '--agent', 'CA Agent', '-o', 'json'])).json();
    expect(w.find((v: any) => v.id === policyId)).toMatchObject({ applies: true, blocks: true, result: 'reportOnlyFailure' });
  });

  test('--state on needs --yes off a terminal, and nothing changes without it', async () => {
    const r = await cli(['ca', 'update', 'Block CA Blueprint', '--state', 'on']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('pass --yes');
    expect(ok(await cli(['ca', 'show', policyId, '-o', 'json'])).json().state).toBe('enabledForReportingButNotEnforced');
  });

  test('on: the same sign-in fails with AADSTS53003 and the log names the policy', async () => {
    ok(await cli(['ca', 'update', 'Block CA Blueprint', '--state', 'on', '--yes', '-o', 'none']));
    const r = await signIn('CA Agent');
    expect(r).toEqual({ ok: false, error: 'AADSTS53003: Access has been blocked by Conditional Access policies.' });
    const s = await lastSignIn('CA Agent');
    expect(s.status.errorCode).toBe(53003);
    expect(s.status.failureReason).toContain('Access has been blocked by Conditional Access policies');
    expect(s.conditionalAccessStatus).toBe('failure');
    expect(policyEntry(s, policyId)).toMatchObject({ result: 'failure', enforcedGrantControls: ['Block'] });
  });

  test('an agent of another blueprint is unaffected', async () => {
    expect(await signIn('Other Agent')).toEqual({ ok: true });
    const s = await lastSignIn('Other Agent');
    expect(s.status.errorCode).toBe(0);
    expect(s.conditionalAccessStatus).toBe('notApplied');
    expect(policyEntry(s, policyId)).toMatchObject({ result: 'notApplied', conditionsNotSatisfied: 'servicePrincipals' });
  });

  test('what-if agrees with what happened, for both agents', async () => {
    const blocked = await cli(['ca', 'what-if', '--agent', 'CA Agent', '-o', 'json']);
    expect(blocked.json().find((v: any) => v.id === policyId)).toMatchObject({ applies: true, blocks: true, result: 'failure', reason: `selects this agent by its custom security attributes (${ruleFor('CA Agent')}); applies to all resources` });
    expect(blocked.stderr).toContain("would be refused (AADSTS53003) by: Block CA Blueprint");
    const other = await cli(['ca', 'what-if', '--agent', 'Other Agent', '-o', 'json']);
    expect(other.json().find((v: any) => v.id === policyId)).toMatchObject({ applies: false, result: 'notApplied' });
    expect(other.stderr).toContain('would be granted');
    const list = ok(await cli(['ca', 'list', '--agent', 'CA Agent', '-o', 'json'])).json();
    expect(list.map((v: any) => v.id)).toEqual([policyId]);
    expect(ok(await cli(['ca', 'list', '--agent', 'Other Agent', '-o', 'json'])).json()).toEqual([]);
    // ca list --blueprint says which condition matched, for how many of the blueprint's agents.
    const byBlueprint = ok(await cli(['ca', 'list', '--blueprint', 'CA Blueprint', '-o', 'json'])).json();
    expect(byBlueprint.map((v: any) => [v.id, v.matched, v.agents, v.reasons])).toEqual([[policyId, 1, 1, [`selects this agent by its custom security attributes (${ruleFor('CA Agent')}); applies to all resources`]]]);
    expect(ok(await cli(['ca', 'list', '--blueprint', 'Other Blueprint', '-o', 'json'])).json()).toEqual([]);
  });

  test('an agent created after the policy is tagged by agent create, so the policy covers it at once (what-if and sign-in agree)', async () => {
    const r = ok(await cli(['agent', 'create', '--blueprint', 'CA Blueprint', '--name', 'CA Agent 2', '--sponsor', 'me', '-o', 'json']));
    const a = r.json();
    agents['CA Agent 2'] = { ...agents['CA Agent']!, id: a.id };
    expect(r.stderr).toContain(`Set AgentId.Blueprint=${agents['CA Agent']!.blueprintAppId} on it`);
    expect(ok(await cli(['ca', 'what-if', '--agent', 'CA Agent 2', '-o', 'json'])).json().find((v: any) => v.id === policyId)).toMatchObject({ applies: true, blocks: true, result: 'failure', reason: `selects this agent by its custom security attributes (${ruleFor('CA Agent')}); applies to all resources` });
    expect(await signIn('CA Agent 2')).toEqual({ ok: false, error: 'AADSTS53003: Access has been blocked by Conditional Access policies.' });
    expect(policyEntry(await lastSignIn('CA Agent 2'), policyId)).toMatchObject({ result: 'failure', conditionsSatisfied: 'servicePrincipals,application' });
  });

  test('an agent whose tag was taken off is covered again once tagged (bulk set-attribute), and bulk undo takes the tag off again', async () => {
    ok(await cli(['agent', 'update', 'CA Agent 2', '--attribute', 'AgentId.Blueprint=', '-o', 'none']));
    expect(await signIn('CA Agent 2')).toEqual({ ok: true });
    const untagged = ok(await cli(['ca', 'what-if', '--agent', 'CA Agent 2', '-o', 'json'])).json().find((v: any) => v.id === policyId);
    expect(untagged).toMatchObject({ applies: false, result: 'notApplied', reason: `the agent's custom security attributes do not match ${ruleFor('CA Agent')}; applies to all resources` });
    const partly = ok(await cli(['ca', 'list', '--blueprint', 'CA Blueprint', '-o', 'json'])).json();
    expect(partly[0]).toMatchObject({ id: policyId, matched: 1, agents: 2 });
    expect(partly[0].reason).toContain("(1 not: the agent's custom security attributes do not match");

    const tag = ok(await cli(['bulk', 'set-attribute', '--blueprint', 'CA Blueprint', '--yes', '-o', 'json']));
    expect(tag.json().map((row: any) => [row.name, row.status])).toEqual([
      ['CA Agent', 'skipped'],
      ['CA Agent 2', 'done'],
    ]);
    expect(await signIn('CA Agent 2')).toEqual({ ok: false, error: 'AADSTS53003: Access has been blocked by Conditional Access policies.' });
    expect(policyEntry(await lastSignIn('CA Agent 2'), policyId)).toMatchObject({ result: 'failure', conditionsSatisfied: 'servicePrincipals,application' });
    expect(ok(await cli(['ca', 'what-if', '--agent', 'CA Agent 2', '-o', 'json'])).json().find((v: any) => v.id === policyId)).toMatchObject({ applies: true, result: 'failure' });

    ok(await cli(['bulk', 'undo', '--last', '--yes', '-o', 'none']));
    expect(await signIn('CA Agent 2')).toEqual({ ok: true });
    // The agent tagged by ca create keeps its tag: undo put back only what set-attribute changed.
    expect(await signIn('CA Agent')).toEqual({ ok: false, error: 'AADSTS53003: Access has been blocked by Conditional Access policies.' });
  });

  test('agent update --attribute sets and removes one attribute; the policy follows', async () => {
    ok(await cli(['agent', 'update', 'CA Agent 2', '--attribute', `AgentId.Blueprint=${agents['CA Agent']!.blueprintAppId}`, '-o', 'none']));
    expect(await signIn('CA Agent 2')).toEqual({ ok: false, error: 'AADSTS53003: Access has been blocked by Conditional Access policies.' });
    const r = ok(await cli(['agent', 'update', 'CA Agent 2', '--attribute', 'AgentId.Blueprint=', '-o', 'none']));
    expect(r.stderr).toContain("Set AgentId.Blueprint (removed) on 'CA Agent 2'.");
    expect(await signIn('CA Agent 2')).toEqual({ ok: true });
  });

  test('excluding the agent lets it sign in again', async () => {
    ok(await cli(['ca', 'update', 'Block CA Blueprint', '--exclude-agent', 'CA Agent', '-o', 'none']));
    expect(await signIn('CA Agent')).toEqual({ ok: true });
    expect(policyEntry(await lastSignIn('CA Agent'), policyId)).toMatchObject({ result: 'notApplied', conditionsNotSatisfied: 'servicePrincipals' });
  });
});

describe('ca update of a blueprint policy', () => {
  test("--add-blueprint tags that blueprint's agents and extends the attribute rule (confirmed, the policy being on); --remove-blueprint takes its term out", async () => {
    const refused = await cli(['ca', 'update', 'Block CA Blueprint', '--add-blueprint', 'Other Blueprint']);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain('pass --yes');
    expect(await signIn('Other Agent')).toEqual({ ok: true });
    const added = ok(await cli(['ca', 'update', 'Block CA Blueprint', '--add-blueprint', 'Other Blueprint', '--yes', '-o', 'json'])).json();
    expect(added.conditions.clientApplications.agentIdServicePrincipalFilter).toEqual({ mode: 'include', rule: `${ruleFor('CA Agent')} -or ${ruleFor('Other Agent')}` });
    expect(await signIn('Other Agent')).toEqual({ ok: false, error: 'AADSTS53003: Access has been blocked by Conditional Access policies.' });
    const removed = ok(await cli(['ca', 'update', 'Block CA Blueprint', '--remove-blueprint', 'Other Blueprint', '-o', 'json'])).json();
    expect(removed.conditions.clientApplications.agentIdServicePrincipalFilter).toEqual({ mode: 'include', rule: ruleFor('CA Agent') });
    expect(await signIn('Other Agent')).toEqual({ ok: true });
  });
});

describe('agent risk feeds the evaluation', () => {
  test('confirm-compromised raises the risk to high, a high-risk block policy then refuses the agent; confirm-safe lets it back', async () => {
    ok(await cli(['ca', 'create', '--name', 'Block high-risk agents', '--all-agents', '--risk-level', 'high', '--block', '--state', 'on', '--yes', '-o', 'none']));
    expect(await signIn('Other Agent')).toEqual({ ok: true });
    ok(await cli(['risk', 'confirm-compromised', 'Other Agent', '--yes', '-o', 'none']));
    const risky = ok(await cli(['risk', 'list', '--level', 'high', '-o', 'json'])).json();
    expect(risky.map((r: any) => [r.id, r.riskState, r.riskDetail])).toEqual([[agents['Other Agent']!.id, 'confirmedCompromised', 'adminConfirmedAgentCompromised']]);
    expect(await signIn('Other Agent')).toEqual({ ok: false, error: 'AADSTS53003: Access has been blocked by Conditional Access policies.' });
    const s = await lastSignIn('Other Agent');
    expect(s.appliedConditionalAccessPolicies.find((p: any) => p.displayName === 'Block high-risk agents')).toMatchObject({ result: 'failure', conditionsSatisfied: 'servicePrincipals,application,servicePrincipalRisk' });
    ok(await cli(['risk', 'confirm-safe', 'Other Agent', '--yes', '-o', 'none']));
    expect(ok(await cli(['risk', 'show', 'Other Agent', '-o', 'json'])).json()).toMatchObject({ riskLevel: 'none', riskState: 'confirmedSafe' });
    expect(await signIn('Other Agent')).toEqual({ ok: true });
  });
});

describe('agent users: Conditional Access at the agent user token (user_fic)', () => {
  const UPN = 'other-agent-user@contoso.onmicrosoft.com';
  let userId = '';

  /** Runs an ES module script with the TLS server's URL and CA; prints one JSON line. */
  function script(code: string, extra: Record<string, string>): Promise<any> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, env: { ...baseEnv(home.home), URL: server.url, NODE_EXTRA_CA_CERTS: env.NODE_EXTRA_CA_CERTS, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      child.on('close', () => resolve(out ? parseJson(out, `script output (stderr: ${err})`) : { ok: false, error: err }));
    });
  }

  /** The three documented legs: the blueprint's T1, the agent's T2, then user_fic for the agent user. */
  function signInAgentUser(): Promise<{ ok: boolean; error?: string; scope?: string }> {
    const a = agents['Other Agent']!;
    return script(
      `
      const post = async (form) => (await fetch(process.env.URL + '/${TENANT}/oauth2/v2.0/token', { method: 'POST', body: new URLSearchParams(form) })).json();
      const JWT = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
      const t1 = await post({ grant_type: 'client_credentials', client_id: process.env.BP, client_secret: process.env.SECRET, scope: 'api://AzureADTokenExchange/.default', fmi_path: process.env.AGENT });
      const t2 = await post({ grant_type: 'client_credentials', client_id: process.env.AGENT, scope: 'api://AzureADTokenExchange/.default', client_assertion_type: JWT, client_assertion: t1.access_token });
      if (!t2.access_token) { console.log(JSON.stringify({ ok: false, error: 'T2: ' + t2.error_description })); process.exit(0); }
      const u = await post({ grant_type: 'user_fic', client_id: process.env.AGENT, scope: 'https://graph.microsoft.com/.default', client_assertion_type: JWT, client_assertion: t1.access_token, user_id: process.env.USER_ID, user_federated_identity_credential: t2.access_token });
      console.log(JSON.stringify(u.access_token ? { ok: true, scope: u.scope } : { ok: false, error: (u.error_description.match(/AADSTS\\d+: [^.]*\\./) ?? [u.error_description])[0] }));`,
      { BP: a.blueprintAppId, SECRET: readFileSync(a.secretFile, 'utf8').trim(), AGENT: a.id, USER_ID: userId },
    );
  }

  test('the agent user signs in through the three legs once the agent holds a delegated grant for it', async () => {
    userId = ok(await cli(['agent-user', 'create', '--agent', 'Other Agent', '--upn', UPN, '-o', 'json'])).json().id;
    expect(await signInAgentUser()).toEqual({ ok: false, error: `AADSTS65001: The user or administrator has not consented to use the application with ID '${agents['Other Agent']!.id}'.` });
    const token = ok(await cli(['mock', 'token', '--scopes', 'DelegatedPermissionGrant.ReadWrite.All,Application.Read.All'])).stdout.trim();
    const granted = await script(
      `
      const h = { Authorization: 'Bearer ' + process.env.TOKEN, 'Content-Type': 'application/json' };
      const graph = await (await fetch(process.env.URL + "/v1.0/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')", { headers: h })).json();
      const r = await fetch(process.env.URL + '/v1.0/oauth2PermissionGrants', { method: 'POST', headers: h, body: JSON.stringify({ clientId: process.env.AGENT, consentType: 'Principal', principalId: process.env.USER_ID, resourceId: graph.id, scope: 'User.Read' }) });
      console.log(JSON.stringify({ status: r.status }));`,
      { TOKEN: token, AGENT: agents['Other Agent']!.id, USER_ID: userId },
    );
    expect(granted).toEqual({ status: 201 });
    expect(await signInAgentUser()).toEqual({ ok: true, scope: 'https://graph.microsoft.com/User.Read' });
    const s = (await cli(['logs', 'signins', '--agent-user', UPN, '--top', '1', '-o', 'json'])).json()[0];
    expect(s).toMatchObject({ userId, appId: agents['Other Agent']!.id, status: { errorCode: 0 }, conditionalAccessStatus: 'notApplied', signInEventTypes: ['nonInteractiveUser'] });
  });

  test('a risk policy for agent users refuses the agent user at high risk (AADSTS53003), the log and what-if agree, and confirm-safe lets it back', async () => {
    const p = ok(await cli(['ca', 'create', '--name', 'Block risky agent users', '--agent-users', '--risk-level', 'high', '--block', '--state', 'on', '--yes', '-o', 'json'])).json();
    expect(await signInAgentUser()).toMatchObject({ ok: true });
    ok(await cli(['risk', 'confirm-compromised', UPN, '--yes', '-o', 'none']));
    expect(await signInAgentUser()).toEqual({ ok: false, error: 'AADSTS53003: Access has been blocked by Conditional Access policies.' });
    const s = (await cli(['logs', 'signins', '--agent-user', UPN, '--top', '1', '-o', 'json'])).json()[0];
    expect(s).toMatchObject({ status: { errorCode: 53003 }, conditionalAccessStatus: 'failure' });
    expect(policyEntry(s, p.id)).toMatchObject({ result: 'failure', enforcedGrantControls: ['Block'], conditionsSatisfied: 'users,application,servicePrincipalRisk' });
    const w = await cli(['ca', 'what-if', '--agent-user', UPN, '-o', 'json']);
    expect(w.json().find((v: any) => v.id === p.id)).toMatchObject({ applies: true, result: 'failure' });
    expect(w.stderr).toContain('would be refused (AADSTS53003) by: Block risky agent users');
    // ca list --agent-user: the policies that apply, with the conditions that matched.
    expect(ok(await cli(['ca', 'list', '--agent-user', UPN, '-o', 'json'])).json().map((v: any) => [v.id, v.reason])).toEqual([[p.id, 'includes all agent users (AllAgentIdUsers); applies to all resources; agent risk high is one of high']]);
    ok(await cli(['risk', 'confirm-safe', UPN, '--yes', '-o', 'none']));
    expect(await signInAgentUser()).toMatchObject({ ok: true });
    ok(await cli(['ca', 'delete', p.id, '--yes', '-o', 'none']));
  });
});

describe('bad input: one line, exit 2, nothing written', () => {
  const cases: [string, string[], RegExp][] = [
    ['an unknown blueprint', ['ca', 'create', '--name', 'x', '--blueprint', 'No Such Blueprint', '--block'], /No blueprint named 'No Such Blueprint'/],
    ['a blueprint without agents (empty include list)', ['ca', 'create', '--name', 'x', '--blueprint', 'Empty Blueprint', '--block'], /has no agent identities/],
    ['--state on off a terminal without --yes', ['ca', 'create', '--name', 'x', '--agent', 'CA Agent', '--block', '--state', 'on'], /pass --yes/],
    ['a policy that would lock out every agent', ['ca', 'create', '--name', 'x', '--all-agents', '--block', '--state', 'on', '--yes'], /would block every agent identity with no exclusion/],
    ['an MFA grant for agent identities', ['ca', 'create', '--name', 'x', '--agent', 'CA Agent', '--grant', 'mfa'], /can only be blocked/],
    ['no target', ['ca', 'create', '--name', 'x', '--block'], /Say whom the policy targets/],
    ['a bad --state', ['ca', 'create', '--name', 'x', '--agent', 'CA Agent', '--block', '--state', 'maybe'], /--state must be report-only, on or off/],
    ['an unknown agent to exclude', ['ca', 'create', '--name', 'x', '--all-agents', '--exclude-agent', 'No Such Agent', '--block'], /No agent identity named 'No Such Agent'/],
    ['an --attribute that is not SET.NAME=VALUE', ['agent', 'update', 'CA Agent', '--attribute', 'Blueprint'], /--attribute 'Blueprint': write SET\.NAME=VALUE/],
  ];
  test.each(cases)('%s', async (_what, args, message) => {
    const before = ok(await cli(['ca', 'list', '--all', '-o', 'json'])).json().length;
    const journalsBefore = journals();
    const r = await cli(args);
    expect(journals()).toBe(journalsBefore);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(r.stdout).toBe('');
    expect(ok(await cli(['ca', 'list', '--all', '-o', 'json'])).json()).toHaveLength(before);
  });

  test('--dry-run prints the exact Graph request and writes nothing', async () => {
    const before = ok(await cli(['ca', 'list', '--all', '-o', 'json'])).json().length;
    const r = ok(await cli(['ca', 'create', '--name', 'Dry', '--agent', 'CA Agent', '--block', '--dry-run', '-o', 'json']));
    expect(r.json()).toEqual({
      dryRun: true,
      method: 'POST',
      url: `${server.url}/beta/identity/conditionalAccess/policies`,
      body: {
        displayName: 'Dry',
        state: 'enabledForReportingButNotEnforced',
        conditions: { clientAppTypes: ['all'], applications: { includeApplications: ['All'] }, users: { includeUsers: ['None'] }, clientApplications: { includeAgentIdServicePrincipals: [agents['CA Agent']!.id] } },
        grantControls: { operator: 'OR', builtInControls: ['block'] },
      },
    });
    expect(ok(await cli(['ca', 'list', '--all', '-o', 'json'])).json()).toHaveLength(before);
  });

  test('--dry-run of a blueprint policy prints the policy body and the tagging it would do first; nothing is tagged or created', async () => {
    const before = ok(await cli(['ca', 'list', '--all', '-o', 'json'])).json().length;
    const journalsBefore = journals();
    const r = ok(await cli(['ca', 'create', '--name', 'Dry BP', '--blueprint', 'Other Blueprint', '--block', '--dry-run', '-o', 'json']));
    expect(r.json()).toEqual({
      dryRun: true,
      method: 'POST',
      url: `${server.url}/beta/identity/conditionalAccess/policies`,
      body: {
        displayName: 'Dry BP',
        state: 'enabledForReportingButNotEnforced',
        conditions: { clientAppTypes: ['all'], applications: { includeApplications: ['All'] }, users: { includeUsers: ['None'] }, clientApplications: { agentIdServicePrincipalFilter: { mode: 'include', rule: ruleFor('Other Agent') } } },
        grantControls: { operator: 'OR', builtInControls: ['block'] },
      },
      // The attribute is defined already (the first blueprint policy defined it).
      before: { definitions: [], tag: { attribute: 'AgentId_Blueprint', agents: 1, through: 'agentid bulk set-attribute (journaled, undoable)' } },
    });
    expect(journals()).toBe(journalsBefore);
    expect(ok(await cli(['ca', 'list', '--all', '-o', 'json'])).json()).toHaveLength(before);
    expect(ok(await cli(['ca', 'what-if', '--agent', 'Other Agent', '-o', 'json'])).json().find((v: any) => v.displayName === 'Block CA Blueprint')).toMatchObject({ applies: false });
  });

  test('ca update --dry-run prints the exact PATCH; ca delete confirms, then deletes and is audited', async () => {
    const p = ok(await cli(['ca', 'create', '--name', 'To delete', '--agent', 'Other Agent', '--block', '-o', 'json'])).json();
    const u = ok(await cli(['ca', 'update', 'To delete', '--state', 'off', '--dry-run', '-o', 'json']));
    expect(u.json()).toEqual({ dryRun: true, method: 'PATCH', url: `${server.url}/beta/identity/conditionalAccess/policies/${p.id}`, body: { state: 'disabled' } });
    expect(ok(await cli(['ca', 'show', p.id, '-o', 'json'])).json().state).toBe('enabledForReportingButNotEnforced');
    const refused = await cli(['ca', 'delete', 'To delete']);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain('pass --yes');
    expect(ok(await cli(['ca', 'show', p.id, '-o', 'json'])).json().id).toBe(p.id);
    expect(ok(await cli(['ca', 'delete', 'To delete', '--yes', '-o', 'json'])).json()).toEqual({ id: p.id, displayName: 'To delete', deleted: true });
    expect((await cli(['ca', 'show', p.id])).code).toBe(3);
    const audits = ok(await cli(['logs', 'audit', '--top', '5', '-o', 'json'])).json();
    expect(audits.find((a: any) => a.activityDisplayName === 'Delete conditional access policy')).toMatchObject({ category: 'Policy', targetResources: [{ id: p.id, displayName: 'To delete', type: 'Policy' }] });
  });
});
