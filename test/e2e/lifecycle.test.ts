import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fixture, stderrLines, tempHome, type RunResult } from './helpers.js';

// One blueprint's whole life, in order, against one emulated tenant: each test builds on the
// state the previous ones left, the way an operator's session would.

const dir = fixture('contoso-directory.json');
const fic = fixture('federated-identity-credential.json');
const [admin, megan, adele] = dir.users;
const m365 = dir.groups.microsoft365;

const BP = 'Sales Agent';
const AGENTS = ['Sales Agent EMEA', 'Sales Agent APAC', 'Sales Agent AMER'];
const UPN = 'sales-emea@contoso.onmicrosoft.com';
const GRAPH_ERROR = /^error: [A-Za-z_]+: .+ \(request-id: [0-9a-f-]{36}, date: [0-9T:-]+\)$/;

const h = tempHome();

// Graph adds and removes an agent identity's sponsors only app-only (GD
// agentidentity-post-sponsors-permissions.md: delegated "Not supported"), and so does the emulator:
// those steps run as the emulated automation app, through a profile that reads its secret from
// the environment. The plain test secret lives here only; the emulator keeps its hash.
const APP_SECRET = 'Emulated~Automation.Secret.0001';
let appProfile: Promise<RunResult> | undefined;
async function asApp(args: string[]): Promise<RunResult> {
  appProfile ??= h
    .run(['login', '--profile', 'app', '--emulated', '--client-id', 'c0a1b2c3-0001-4d5e-8f90-000000000301', '--client-secret-env', 'APP_SECRET'], { env: { APP_SECRET } })
    .then(async (r) => (await h.run(['profile', 'use', 'local']), r));
  expect((await appProfile).code).toBe(0);
  return h.run(['--profile', 'app', ...args], { env: { APP_SECRET } });
}
afterAll(() => h.remove());

function ok(r: RunResult): RunResult {
  expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
  return r;
}

let blueprint: { id: string; appId: string };
let agentIds: string[] = [];
let secret: { keyId: string; secretText: string; hint: string };

describe('blueprint, agents and agent user from creation to deletion', () => {
  beforeAll(async () => {
    // Nothing before the first command: the tenant file is created on first use.
    expect(() => statSync(h.stateFile)).toThrow();
  });

  test('creates a blueprint and its principal, reporting created:true', async () => {
    const r = ok(await h.run(['blueprint', 'create', '--name', BP, '--sponsor', megan.userPrincipalName, '--unique-name', 'sales-agent']));
    const out = r.json();
    expect(out.created).toBe(true);
    expect(out).toMatchObject({ displayName: BP, uniqueName: 'sales-agent', '@odata.type': '#microsoft.graph.agentIdentityBlueprint' });
    expect(out.principal).toMatchObject({ appId: out.appId, accountEnabled: true, '@odata.type': '#microsoft.graph.agentIdentityBlueprintPrincipal' });
    expect(r.stderr).toBe(`Created blueprint '${BP}' (appId ${out.appId}) and its principal.\n`);
    blueprint = { id: out.id, appId: out.appId };
  });

  test('re-running create with the same --unique-name changes nothing and reports created:false', async () => {
    const r = ok(await h.run(['blueprint', 'create', '--name', BP, '--sponsor', megan.userPrincipalName, '--unique-name', 'sales-agent']));
    expect(r.json()).toMatchObject({ created: false, id: blueprint.id, appId: blueprint.appId });
    expect(r.stderr).toBe("Blueprint with unique name 'sales-agent' already exists; nothing changed.\n");
    const list = ok(await h.run(['blueprint', 'list'])).json();
    expect(list.map((b: { id: string }) => b.id)).toEqual([blueprint.id]);
  });

  test('adds and lists an inheritable permission on Microsoft Graph scopes', async () => {
    const add = ok(await h.run(['blueprint', 'permission', 'add', BP, '--resource', 'graph', '--scopes', 'User.Read,Mail.Read']));
    expect(add.json()).toMatchObject({ resourceAppId: '00000003-0000-0000-c000-000000000000', inheritableScopes: { kind: 'enumerated', scopes: ['User.Read', 'Mail.Read'] } });
    const list = ok(await h.run(['blueprint', 'permission', 'list', BP, '-o', 'csv']));
    expect(list.stdout).toBe('resourceAppId,inheritableScopes.kind,inheritableScopes.scopes\n00000003-0000-0000-c000-000000000000,enumerated,User.Read Mail.Read\n');
  });

  test('prints a new client secret once, with a warning on stderr', async () => {
    const r = ok(await h.run(['blueprint', 'credential', 'add', BP, '--display-name', 'ci']));
    secret = r.json();
    expect(secret).toMatchObject({ displayName: 'ci', keyId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(secret.secretText.length).toBeGreaterThanOrEqual(32);
    expect(secret.hint).toBe(secret.secretText.slice(0, 3));
    expect(r.stderr).toBe('warning: This is the only time the secret is shown. Store it now (or use --secret-file next time).\n');
  });

  test('lists secrets by hint only: the secret text is never shown again nor stored', async () => {
    const json = ok(await h.run(['blueprint', 'credential', 'list', BP]));
    expect(json.json()).toEqual([{ type: 'secret', id: secret.keyId, name: 'ci', detail: `hint ${secret.hint}…`, expires: expect.any(String) }]);
    const table = ok(await h.run(['blueprint', 'credential', 'list', BP, '-o', 'table']));
    const show = ok(await h.run(['blueprint', 'show', BP]));
    for (const out of [json.stdout, table.stdout, show.stdout, readFileSync(h.stateFile, 'utf8')]) expect(out).not.toContain(secret.secretText);
    expect(show.stdout).not.toMatch(/"secretText":\s*"/);
  });

  test('--secret-file writes the secret to a new 0600 file and leaves it out of the output', async () => {
    const file = path.join(h.home, 'sales.secret');
    const r = ok(await h.run(['blueprint', 'credential', 'add', BP, '--secret-file', file]));
    const out = r.json();
    expect(out).not.toHaveProperty('secretText');
    expect(out).toMatchObject({ secretFile: file, keyId: expect.any(String) });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const written = readFileSync(file, 'utf8');
    expect(written).toMatch(/^\S{32,}\n$/);
    expect(written.slice(0, 3)).toBe(out.hint);
    expect(r.stdout + r.stderr).not.toContain(written.trim());
    expect(r.stderr).toBe(`Added a client secret to '${BP}'; it was written to ${file} (mode 0600) and is not shown.\n`);
  });

  test('--secret-file refuses an existing file with exit 2 and creates no secret', async () => {
    const file = path.join(h.home, 'existing.secret');
    writeFileSync(file, 'keep me\n');
    const before = ok(await h.run(['blueprint', 'credential', 'list', BP])).json();
    const r = await h.run(['blueprint', 'credential', 'add', BP, '--secret-file', file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`error: --secret-file ${file} already exists; choose a new path (agentid never overwrites a file with a secret).\n`);
    expect(readFileSync(file, 'utf8')).toBe('keep me\n');
    expect(ok(await h.run(['blueprint', 'credential', 'list', BP])).json()).toEqual(before);
    expect(before).toHaveLength(2);
  });

  test('adds, lists and removes a federated identity credential', async () => {
    const add = ok(
      await h.run(['blueprint', 'credential', 'add', BP, '--federated', '--name', fic.name, '--issuer', fic.issuer, '--subject', fic.subject, '--description', fic.description]),
    );
    expect(add.json()).toMatchObject(fic);
    expect(add.stderr).toBe(`Added federated credential '${fic.name}' to '${BP}'.\n`);
    const list = ok(await h.run(['blueprint', 'credential', 'list', BP, '--query', "[?type=='federated']"])).json();
    expect(list).toEqual([{ type: 'federated', id: add.json().id, name: fic.name, detail: `${fic.issuer} ${fic.subject}`, expires: null }]);
    const rm = ok(await h.run(['blueprint', 'credential', 'remove', BP, '--name', fic.name, '--yes']));
    expect(rm.json()).toEqual({ blueprintId: blueprint.id, removed: fic.name });
    const after = ok(await h.run(['blueprint', 'credential', 'list', BP, '--query', '[].type'])).json();
    expect(after).toEqual(['secret', 'secret']);
  });

  test('creates three agent identities from the blueprint', async () => {
    for (const name of AGENTS) {
      const r = ok(await h.run(['agent', 'create', '--blueprint', BP, '--name', name, '--sponsor', 'me']));
      const a = r.json();
      expect(a).toMatchObject({ displayName: name, agentIdentityBlueprintId: blueprint.appId, accountEnabled: true });
      expect(r.stderr).toBe(`Created agent '${name}' (${a.id}) from blueprint '${BP}'.\n`);
      agentIds.push(a.id);
    }
  });

  test('lists the three agents of the blueprint', async () => {
    const r = ok(await h.run(['agent', 'list', '--blueprint', BP, '--query', 'sort_by(@, &displayName)[].{name:displayName,id:id}']));
    const expected = AGENTS.map((name, i) => ({ name, id: agentIds[i] })).sort((a, b) => a.name.localeCompare(b.name));
    expect(r.json()).toEqual(expected);
  });

  test('creates the agent user of an agent', async () => {
    const r = ok(await h.run(['agent-user', 'create', '--agent', AGENTS[0]!, '--upn', UPN]));
    expect(r.json()).toMatchObject({ userPrincipalName: UPN, identityParentId: agentIds[0], displayName: AGENTS[0] });
    expect(r.stderr).toBe(`Created agent user ${UPN} for agent '${AGENTS[0]}'.\n`);
  });

  test('refuses a second agent user for the same agent in one line naming the existing one, exit 1', async () => {
    const r = await h.run(['agent-user', 'create', '--agent', AGENTS[0]!, '--upn', 'sales-emea-2@contoso.onmicrosoft.com']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(stderrLines(r)).toHaveLength(1);
    expect(r.stderr).toBe(`error: Agent '${AGENTS[0]}' already has agent user ${UPN} (an agent has at most one); see it with 'agentid agent-user show ${UPN}'.\n`);
    const users = ok(await h.run(['agent-user', 'list', '--query', '[].userPrincipalName'])).json();
    expect(users).toEqual([UPN]);
  });

  test('adds, lists and removes a group sponsor', async () => {
    const add = ok(await asApp(['sponsor', 'add', '--agent', AGENTS[0]!, '--group', m365.id]));
    expect(add.json()).toEqual({ target: { kind: 'agent', id: agentIds[0] }, sponsor: { kind: 'group', id: m365.id, displayName: m365.displayName }, action: 'added' });
    expect(add.stderr).toBe(`Added sponsor ${m365.displayName} to agent '${AGENTS[0]}'.\n`);
    const list = ok(await h.run(['sponsor', 'list', '--agent', AGENTS[0]!, '-o', 'csv']));
    expect(list.stdout).toBe(`displayName,id,@odata.type,userPrincipalName\n${admin.displayName},${admin.id},user,${admin.userPrincipalName}\n${m365.displayName},${m365.id},group,\n`);
    const rm = ok(await asApp(['sponsor', 'remove', '--agent', AGENTS[0]!, '--group', m365.id, '--yes']));
    expect(rm.json()).toMatchObject({ action: 'removed', sponsor: { id: m365.id } });
    const after = ok(await h.run(['sponsor', 'list', '--agent', AGENTS[0]!, '--query', '[].id'])).json();
    expect(after).toEqual([admin.id]);
  });

  test('refuses to remove the last sponsor with Graph\'s error', async () => {
    const r = await asApp(['sponsor', 'remove', '--agent', AGENTS[0]!, '--user', admin.id, '--yes']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd()).toMatch(GRAPH_ERROR);
    expect(r.stderr).toContain('At least one sponsor is required');
    expect(ok(await h.run(['sponsor', 'list', '--agent', AGENTS[0]!, '--query', '[].id'])).json()).toEqual([admin.id]);
  });

  test('adds, lists and removes an owner', async () => {
    ok(await h.run(['owner', 'add', '--agent', AGENTS[0]!, '--user', adele.userPrincipalName]));
    const list = ok(await h.run(['owner', 'list', '--agent', AGENTS[0]!, '-o', 'csv']));
    expect(list.stdout).toBe(`displayName,id,@odata.type,userPrincipalName\n${adele.displayName},${adele.id},user,${adele.userPrincipalName}\n`);
    const rm = ok(await h.run(['owner', 'remove', '--agent', AGENTS[0]!, '--user', adele.userPrincipalName, '--yes']));
    expect(rm.stderr).toBe(`Removed owner ${adele.displayName} from agent '${AGENTS[0]}'.\n`);
    expect(ok(await h.run(['owner', 'list', '--agent', AGENTS[0]!])).json()).toEqual([]);
  });

  test('disables an agent, which then lists under --disabled only', async () => {
    const r = ok(await h.run(['agent', 'disable', AGENTS[1]!]));
    expect(r.json()).toMatchObject({ id: agentIds[1], accountEnabled: false });
    expect(r.stderr).toBe(`Disabled agent '${AGENTS[1]}'.\n`);
    expect(ok(await h.run(['agent', 'list', '--disabled', '--query', '[].id'])).json()).toEqual([agentIds[1]]);
    const enabled = ok(await h.run(['agent', 'list', '--enabled', '--query', '[].id'])).json();
    expect(enabled.sort()).toEqual([agentIds[0], agentIds[2]].sort());
  });

  test('enables the agent again', async () => {
    ok(await h.run(['agent', 'enable', AGENTS[1]!]));
    expect(ok(await h.run(['agent', 'list', '--disabled'])).json()).toEqual([]);
    expect(ok(await h.run(['agent', 'show', agentIds[1]!, '--query', 'accountEnabled'])).stdout).toBe('true\n');
  });

  test('disables and enables the agent user', async () => {
    const off = ok(await h.run(['agent-user', 'disable', UPN]));
    expect(off.stderr).toBe(`Disabled agent user ${UPN}.\n`);
    expect(ok(await h.run(['agent-user', 'show', UPN, '--query', 'accountEnabled'])).stdout).toBe('false\n');
    ok(await h.run(['agent-user', 'enable', UPN]));
    expect(ok(await h.run(['agent-user', 'show', UPN, '--query', 'accountEnabled'])).stdout).toBe('true\n');
  });

  test("disables and enables the blueprint's principal", async () => {
    const off = ok(await h.run(['blueprint', 'disable', BP]));
    expect(off.stderr).toBe(`Disabled the principal of blueprint '${BP}'.\n`);
    expect(ok(await h.run(['blueprint', 'show', BP, '--query', 'principal.accountEnabled'])).stdout).toBe('false\n');
    ok(await h.run(['blueprint', 'enable', BP]));
    expect(ok(await h.run(['blueprint', 'show', blueprint.appId, '--query', 'principal.accountEnabled'])).stdout).toBe('true\n');
  });

  test('deletes an agent with --yes', async () => {
    const r = ok(await h.run(['agent', 'delete', AGENTS[2]!, '--yes']));
    expect(r.json()).toEqual({ id: agentIds[2], displayName: AGENTS[2], deleted: true });
    expect(r.stderr).toBe(`Deleted agent '${AGENTS[2]}'.\n`);
    const left = ok(await h.run(['agent', 'list', '--blueprint', BP, '--query', '[].id'])).json();
    expect(left.sort()).toEqual([agentIds[0], agentIds[1]].sort());
  });

  test('deletes the agent user with --yes', async () => {
    const r = ok(await h.run(['agent-user', 'delete', UPN, '--yes']));
    expect(r.json()).toMatchObject({ userPrincipalName: UPN, deleted: true });
    expect(ok(await h.run(['agent-user', 'list'])).json()).toEqual([]);
  });

  test('deletes the blueprint with --leave-agents --yes, naming the orphans, and the blueprint list is empty', async () => {
    const r = ok(await h.run(['blueprint', 'delete', BP, '--leave-agents', '--yes']));
    expect(r.json()).toMatchObject({ id: blueprint.id, appId: blueprint.appId, displayName: BP, deleted: true, agentsAction: 'leave', agentUsers: [], journal: null });
    expect(r.json().agents.map((a: { displayName: string }) => a.displayName).sort()).toEqual([AGENTS[1], AGENTS[0]]);
    expect(r.stderr).toBe(`Deleted blueprint '${BP}'.\nwarning: Left 2 agent identities and 0 agent users orphaned; list them with: agentid agent list --blueprint ${blueprint.appId}\n`);
    const list = ok(await h.run(['blueprint', 'list']));
    expect(list.stdout).toBe('[]\n');
    expect(list.stderr).toBe('');
  });
});
