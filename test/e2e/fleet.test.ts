import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { killWhen, ROOT, startServer, tempHome, type RunResult } from './helpers.js';
import type { TenantState } from '../../src/mock/state.js';

// agentid export / plan / apply (issue #16), end to end on the emulator: a 3 × 50 fleet applied,
// planned, edited, pruned, re-applied, undone; kill -9 mid-apply and bulk resume; and every kind
// of bad file refused with one line, exit 2, nothing written.

const homes: ReturnType<typeof tempHome>[] = [];
const servers: ChildProcess[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.kill('SIGTERM');
});
afterAll(() => {
  for (const h of homes) h.remove();
});

const MEGAN = 'meganb@contoso.onmicrosoft.com';
const ADELE = 'adelev@contoso.onmicrosoft.com';
const ALEX = 'alexw@contoso.onmicrosoft.com';
const AUTOMATION = 'c0a1b2c3-0001-4d5e-8f90-000000000301';
const APP_SECRET = 'Emulated~Automation.Secret.0001';

interface Shape {
  agents: Record<string, string[]>; // blueprint → agent names
  sponsorOf?: Record<string, string>; // "bp/agent" → explicit sponsor
  disabled?: string[]; // "bp/agent"
}

function fleetYaml(s: Shape): string {
  const lines = ['apiVersion: agentid/v1', 'kind: AgentFleet', 'blueprints:'];
  for (const [bp, agents] of Object.entries(s.agents)) {
    lines.push(`  ${bp}:`, `    displayName: ${bp.toUpperCase()}`, `    sponsors: [${MEGAN}]`, '    agents:');
    for (const a of agents) {
      const props = [
        ...(s.sponsorOf?.[`${bp}/${a}`] ? [`sponsors: [${s.sponsorOf[`${bp}/${a}`]}]`] : []),
        ...(s.disabled?.includes(`${bp}/${a}`) ? ['enabled: false'] : []),
      ];
      lines.push(`      "${a}": { ${props.join(', ')} }`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const names = (bp: string, from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${bp} agent ${String(from + i).padStart(2, '0')}`);
const ok = (r: RunResult) => expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
const readState = (h: ReturnType<typeof tempHome>): TenantState => JSON.parse(readFileSync(h.stateFile, 'utf8')) as TenantState;
const directoryHash = (h: ReturnType<typeof tempHome>) => {
  const s = readState(h);
  return createHash('sha256').update(JSON.stringify([s.objects, s.oauth2PermissionGrants, s.appRoleAssignments])).digest('hex');
};

describe('agentid plan / apply / undo on a 3 × 50 fleet (in-process emulator)', () => {
  const h = tempHome('agentid-fleet-');
  homes.push(h);
  const file = path.join(h.home, 'agentid.yaml');
  const original: Shape = {
    agents: { 'fleet-a': names('fleet-a', 0, 50), 'fleet-b': names('fleet-b', 0, 50), 'fleet-c': names('fleet-c', 0, 50) },
    sponsorOf: { 'fleet-a/fleet-a agent 00': ADELE },
  };
  const edited: Shape = {
    agents: { ...original.agents, 'fleet-c': [...names('fleet-c', 0, 48), ...names('fleet-c', 50, 55)] },
    sponsorOf: { 'fleet-a/fleet-a agent 00': ALEX },
    disabled: ['fleet-b/fleet-b agent 10'],
  };
  const editJournal = path.join(h.home, 'edit.jsonl');
  const pruned: string[] = [];
  // As a CI pipeline runs: an app signed in with client credentials (Graph refuses delegated
  // callers changes to an agent identity's sponsors, GD agentidentity-post-sponsors.md).
  const app = (args: string[]) => h.run(['--profile', 'app', ...args], { env: { APP_SECRET } });

  test('apply creates the fleet, and plan then shows no changes (exit 0 with --detailed-exitcode)', async () => {
    ok(await h.run(['login', '--profile', 'app', '--emulated', '--client-id', AUTOMATION, '--client-secret-env', 'APP_SECRET'], { env: { APP_SECRET } }));
    writeFileSync(file, fleetYaml(original));
    const first = await app(['plan', '-f', file, '-o', 'json', '--detailed-exitcode']);
    expect(first.code).toBe(10);
    expect(first.json().summary).toMatchObject({ create: 153, update: 0, delete: 0 });
    const r = await app(['apply', '-f', file, '--yes', '-o', 'json']);
    ok(r);
    // 3 blueprints, 3 principals, 150 agents.
    expect(r.json<any[]>().filter((x) => x.status === 'done')).toHaveLength(156);
    const plan = await app(['plan', '-f', file, '-o', 'json', '--detailed-exitcode']);
    ok(plan);
    expect(plan.json()).toMatchObject({ summary: { create: 0, update: 0, delete: 0, unchanged: { blueprint: 3, agent: 150, agentUser: 0 }, pending: false }, changes: [] });
    expect(plan.stderr).toBe(`No changes: the tenant matches ${file} (153 object(s) unchanged).\n`);
  });

  test('export then plan on the same tenant shows no changes', async () => {
    const exp = await app(['export']);
    ok(exp);
    expect(exp.stdout).toMatch(/^# agentid desired state/);
    const exported = path.join(h.home, 'exported.yaml');
    writeFileSync(exported, exp.stdout);
    const plan = await app(['plan', '-f', exported, '-o', 'json', '--prune', '--detailed-exitcode']);
    ok(plan);
    expect(plan.json().changes).toEqual([]);
    const json = await app(['export', '--blueprint', 'fleet-b', '-o', 'json']);
    ok(json);
    expect(Object.keys(json.json().blueprints)).toEqual(['fleet-b']);
    expect(Object.keys(json.json().blueprints['fleet-b'].agents)).toHaveLength(50);
    // The JSON form is a fleet file too.
    const exportedJson = path.join(h.home, 'exported.json');
    writeFileSync(exportedJson, json.stdout);
    const planJson = await app(['plan', '-f', exportedJson, '-o', 'json', '--prune', '--detailed-exitcode']);
    ok(planJson);
    expect(planJson.json().summary).toMatchObject({ create: 0, update: 0, delete: 0, unchanged: { blueprint: 1, agent: 50, agentUser: 0 } });
  });

  test('an edited file: plan lists exactly the renamed sponsor, the disabled agent, 5 new agents and 2 pruned ones', async () => {
    writeFileSync(file, fleetYaml(edited));
    const noPrune = await app(['plan', '-f', file, '-o', 'json']);
    ok(noPrune);
    expect(noPrune.json().summary).toMatchObject({ create: 5, update: 2, delete: 0 });
    const r = await app(['plan', '-f', file, '--prune', '-o', 'json', '--detailed-exitcode']);
    expect(r.code).toBe(10);
    const changes = r.json().changes.map((c: any) => ({ action: c.action, key: c.key, properties: c.properties }));
    expect(changes.filter((c: any) => c.action === 'update')).toEqual([
      { action: 'update', key: 'fleet-a/fleet-a agent 00', properties: [{ property: 'sponsors', before: [ADELE], after: [ALEX] }] },
      { action: 'update', key: 'fleet-b/fleet-b agent 10', properties: [{ property: 'enabled', before: true, after: false }] },
    ]);
    expect(changes.filter((c: any) => c.action === 'create').map((c: any) => c.key)).toEqual(names('fleet-c', 50, 55).map((n) => `fleet-c/${n}`));
    expect(changes.filter((c: any) => c.action === 'delete').map((c: any) => c.key).sort()).toEqual(['fleet-c/fleet-c agent 48', 'fleet-c/fleet-c agent 49']);
    expect(changes).toHaveLength(9);
    pruned.push(...r.json().changes.filter((c: any) => c.action === 'delete').map((c: any) => c.id as string));
    expect(r.json().summary.unchanged).toEqual({ blueprint: 3, agent: 146, agentUser: 0 });

    const table = await app(['plan', '-f', file, '--prune', '-o', 'table']);
    ok(table);
    const rows = table.stdout.trimEnd().split('\n').map((l) => l.trimEnd().split(/ {2,}/));
    expect(rows[0]).toEqual(['Action', 'Type', 'Object', 'Changes']);
    expect(rows).toContainEqual(['update', 'agent identity', 'fleet-a/fleet-a agent 00', `sponsors: ${ADELE} → ${ALEX}`]);
    expect(rows).toContainEqual(['update', 'agent identity', 'fleet-b/fleet-b agent 10', 'enabled: true → false']);
    expect(rows).toContainEqual(['delete', 'agent identity', 'fleet-c/fleet-c agent 49']);
    expect(rows).toHaveLength(10);

    const md = await app(['plan', '-f', file, '--prune', '-o', 'markdown']);
    ok(md);
    expect(md.stdout).toContain('**Plan: 5 to create, 2 to update, 2 to delete; 149 unchanged.**');
    expect(md.stdout).toContain(`| agent identity | fleet-a/fleet-a agent 00 | sponsors | ${ADELE} | ${ALEX} |`);
    expect(md.stdout).toContain('#### To delete (soft: restorable for 30 days) (2)');
  });

  test('--max-deletes refuses a plan that deletes more, before anything is written', async () => {
    const before = directoryHash(h);
    const r = await app(['apply', '-f', file, '--prune', '--max-deletes', '1', '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: The plan deletes 2 object(s), more than --max-deletes 1; review it (agentid plan --prune), then raise --max-deletes if that is intended.\n');
    expect(directoryHash(h)).toBe(before);
  });

  test('--max-deletes defaults to 10: a prune of 11 agents is refused until it is raised', async () => {
    const before = directoryHash(h);
    const eleven = path.join(h.home, 'eleven.yaml');
    writeFileSync(eleven, fleetYaml({ ...original, agents: { ...original.agents, 'fleet-c': names('fleet-c', 0, 39) } }));
    const r = await app(['apply', '-f', eleven, '--prune', '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: The plan deletes 11 object(s), more than --max-deletes 10; review it (agentid plan --prune), then raise --max-deletes if that is intended.\n');
    expect(directoryHash(h)).toBe(before);
    const dry = await app(['apply', '-f', eleven, '--prune', '--max-deletes', '11', '--dry-run', '-o', 'json']);
    ok(dry);
    expect(dry.json().summary).toMatchObject({ create: 0, update: 0, delete: 11 });
    expect(directoryHash(h)).toBe(before);
  });

  test('apply the edit; a re-apply is a no-op; undo restores the original fleet', async () => {
    const r = await app(['apply', '-f', file, '--prune', '--yes', '--journal', editJournal, '-o', 'json']);
    ok(r);
    const rows = r.json<any[]>();
    expect(rows.filter((x) => x.status === 'done').map((x) => x.action).sort()).toEqual(['add sponsor', 'create agent identity', 'create agent identity', 'create agent identity', 'create agent identity', 'create agent identity', 'delete (soft)', 'delete (soft)', 'disable', 'remove sponsor']);
    // Prune goes last: the journal records both soft deletes after every other change.
    const done = readFileSync(editJournal, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((x) => x.t === 'done').map((x) => x.key as string);
    expect(done).toHaveLength(10);
    expect(done.slice(-2).every((k) => k.startsWith('fleet:delete:agent:'))).toBe(true);
    expect(done.slice(0, -2).some((k) => k.startsWith('fleet:delete:'))).toBe(false);
    const plan = await app(['plan', '-f', file, '--prune', '-o', 'json', '--detailed-exitcode']);
    ok(plan);
    expect(plan.json().changes).toEqual([]);
    const journals = readdirSync(path.join(h.home, 'journals'));
    const again = await app(['apply', '-f', file, '--prune', '--yes']);
    ok(again);
    expect(again.stdout).toBe('');
    expect(readdirSync(path.join(h.home, 'journals'))).toEqual(journals);

    const undo = await app(['bulk', 'undo', editJournal, '--yes', '-o', 'json']);
    ok(undo);
    writeFileSync(file, fleetYaml(original));
    const back = await app(['plan', '-f', file, '--prune', '-o', 'json', '--detailed-exitcode']);
    ok(back);
    expect(back.json().changes).toEqual([]);
    // The pruned agents came back from deleted items (same objects), not as new ones.
    expect(pruned).toHaveLength(2);
    const objects = readState(h).objects;
    for (const id of pruned) expect(objects[id]).toMatchObject({ type: 'agentIdentity' });
    for (const id of pruned) expect(objects[id]!.deletedDateTime ?? null).toBeNull();
  });

  test('apply --plan runs a saved plan, and refuses one the tenant no longer matches', async () => {
    writeFileSync(file, fleetYaml(edited));
    const saved = path.join(h.home, 'plan.json');
    const p = await app(['plan', '-f', file, '-o', 'json']);
    writeFileSync(saved, p.stdout);
    // Someone changes the tenant after the plan was made.
    ok(await app(['agent', 'disable', 'fleet-a agent 01']));
    const stale = await app(['apply', '--plan', saved, '--yes']);
    expect(stale.code).toBe(2);
    expect(stale.stderr).toMatch(/^error: --plan .*plan\.json no longer matches the tenant \(it changed since the plan was made\); run agentid plan again/);
    const p2 = await app(['plan', '-f', file, '-o', 'json']);
    // The new plan puts back what was changed by hand, besides the edit.
    expect(p2.json().changes.filter((c: any) => c.key === 'fleet-a/fleet-a agent 01')).toEqual([{ action: 'update', type: 'agent', key: 'fleet-a/fleet-a agent 01', id: expect.any(String), properties: [{ property: 'enabled', before: false, after: true }] }]);
    writeFileSync(saved, p2.stdout);
    ok(await app(['apply', '--plan', saved, '--yes', '-o', 'none']));
    const after = await app(['plan', '-f', file, '-o', 'json', '--detailed-exitcode']);
    ok(after);
    expect(after.json().changes).toEqual([]);
  });
});

describe('bad fleet files: one clear line, exit 2, nothing written', () => {
  const h = tempHome('agentid-fleet-bad-');
  homes.push(h);
  const good = [
    'apiVersion: agentid/v1',
    'kind: AgentFleet',
    'blueprints:',
    '  bad-bp:',
    '    displayName: Bad BP',
    `    sponsors: [${MEGAN}]`,
    '    agents:',
    '      Agent One: {}',
    '      Agent Two:',
    '        enabled: true',
  ];
  const cases: [string, string[], RegExp][] = [
    ['a schema error names the path and the line', good.map((l) => (l === '        enabled: true' ? '        enabled: "yes"' : l)), /^error: .*agentid\.yaml:10 \(blueprints\.bad-bp\.agents\["Agent Two"\]\.enabled\): Invalid input: expected boolean, received string\.$/],
    ['an unknown key', [...good.slice(0, 5), '    colour: blue', ...good.slice(5)], /^error: .*agentid\.yaml:6 \(blueprints\.bad-bp\.colour\): unknown key 'colour' \(see agentid schema\)\.$/],
    ['a duplicate key', [...good, '      Agent One: {}'], /^error: .*agentid\.yaml:11: duplicate key 'Agent One': each blueprint, agent and agent user must appear once/],
    ['an unknown sponsor', good.map((l) => l.replace(MEGAN, 'nobody@contoso.onmicrosoft.com')), /^error: .*agentid\.yaml:6 \(blueprints\.bad-bp\.sponsors\[0\]\): unknown sponsor or owner 'nobody@contoso\.onmicrosoft\.com'/],
    ['a blueprint referenced but missing', [...good, 'agentUsers:', '  one@contoso.onmicrosoft.com:', '    blueprint: no-such-bp', '    agent: Agent One'], /^error: .*agentid\.yaml:13 \(agentUsers\["one@contoso\.onmicrosoft\.com"\]\.blueprint\): blueprint 'no-such-bp' is not in the file \(blueprints: bad-bp\)\.$/],
    ['a secret value inline', [...good.slice(0, 6), '    clientSecret: s3cr3t-value', ...good.slice(6)], /^error: .*agentid\.yaml:7 \(blueprints\.bad-bp\.clientSecret\): a secret value does not belong in .*; reference it instead: clientSecret: \{ secretFile: PATH \}/],
    ['a secretText key', [...good.slice(0, 6), '    clientSecret: { secretFile: ./x, secretText: abc }', ...good.slice(6)], /^error: .*agentid\.yaml:7 \(blueprints\.bad-bp\.clientSecret\.secretText\): a secret value does not belong/],
    ['an unset environment variable', good.map((l) => l.replace(MEGAN, '"${FLEET_SPONSOR}"')), /^error: .*agentid\.yaml:6 \(blueprints\.bad-bp\.sponsors\[0\]\): environment variable FLEET_SPONSOR is not set/],
    ['a custom security attribute the tenant does not define', [...good, '        attributes: { Dept: { Code: x } }'], /^error: .*agentid\.yaml:11 \(blueprints\.bad-bp\.agents\["Agent Two"\]\.attributes\.Dept\.Code\): custom security attribute Dept_Code is not defined in this tenant \(no attribute Code in set Dept\); define it first/],
    ['a new agent with sponsors: []', good.map((l) => (l === '      Agent One: {}' ? '      Agent One: { sponsors: [] }' : l)), /^error: .*agentid\.yaml:8 \(blueprints\.bad-bp\.agents\["Agent One"\]\.sponsors\): a new agent identity needs at least one sponsor \(Graph refuses to create one without\); list its sponsors\.$/],
    ['a wrong apiVersion', ['apiVersion: agentid/v2', ...good.slice(1)], /^error: .*agentid\.yaml:1 \(apiVersion\): apiVersion must be agentid\/v1\.$/],
  ];

  test.each(cases)('%s', async (_name, lines, message) => {
    ok(await h.run(['mock', 'status', '-o', 'none']));
    const before = directoryHash(h);
    const f = path.join(h.home, 'agentid.yaml');
    writeFileSync(f, `${lines.join('\n')}\n`);
    for (const args of [['plan', '-f', f], ['apply', '-f', f, '--yes']]) {
      const r = await h.run(args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.stderr.trimEnd()).toMatch(message);
    }
    expect(directoryHash(h)).toBe(before);
    expect(existsSync(path.join(h.home, 'journals'))).toBe(false);
  });

  test('${VAR} is substituted, and $${VAR} stays literal', async () => {
    const f = path.join(h.home, 'env.yaml');
    writeFileSync(f, `${good.map((l) => l.replace(MEGAN, '"${FLEET_SPONSOR}"').replace('Bad BP', () => 'Bad $${NOT_A_VAR}')).join('\n')}\n`);
    const r = await h.run(['plan', '-f', f, '-o', 'json'], { env: { FLEET_SPONSOR: MEGAN } });
    ok(r);
    expect(r.json().changes[0].properties.slice(0, 1)).toEqual([{ property: 'displayName', before: null, after: 'Bad ${NOT_A_VAR}' }]);
  });

  test('agentid schema prints the JSON Schema the package ships', async () => {
    const r = await h.run(['schema']);
    ok(r);
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(readFileSync(path.join(ROOT, 'schema', 'agentid.schema.json'), 'utf8')));
  });
});

describe('every field of the file: apply, plan, export round trip (in-process emulator)', () => {
  const h = tempHome('agentid-fleet-rich-');
  homes.push(h);
  const app = (args: string[]) => h.run(['--profile', 'app', ...args], { env: { APP_SECRET } });
  const GRAPH = '00000003-0000-0000-c000-000000000000';
  const EXO = '00000002-0000-0ff1-ce00-000000000000';
  const rich = [
    'apiVersion: agentid/v1',
    'kind: AgentFleet',
    'blueprints:',
    '  rich-bp:',
    '    displayName: Rich BP',
    '    description: Every field of a blueprint',
    `    sponsors: [${MEGAN}, ${ADELE}]`,
    `    owners: [${ALEX}]`,
    '    tags: [team:rich, env:test]',
    '    enabled: false',
    '    inheritablePermissions:',
    `      ${GRAPH}: { scopes: [User.Read, Mail.Read] }`,
    `      ${EXO}: { none: true }`,
    '    federatedCredentials:',
    '      gh-main: { issuer: https://token.actions.githubusercontent.com, subject: "repo:contoso/agents:ref:refs/heads/main", description: main branch }',
    '    clientSecret: { displayName: ci, secretFile: ./secrets/rich.secret }',
    '    agents:',
    `      Rich One: { owners: [${ALEX}] }`,
    `      Rich Two: { enabled: false, sponsors: [${ADELE}] }`,
    'agentUsers:',
    '  rich-one@contoso.onmicrosoft.com: { blueprint: rich-bp, agent: Rich One, displayName: Rich One User }',
    '  rich-two@contoso.onmicrosoft.com: { blueprint: rich-bp, agent: Rich Two, enabled: false }',
  ];

  test('a blueprint with every field, agents and agent users: applied, then plan --prune and export-then-plan show no changes; the secret goes only to its 0600 file', async () => {
    ok(await h.run(['login', '--profile', 'app', '--emulated', '--client-id', AUTOMATION, '--client-secret-env', 'APP_SECRET'], { env: { APP_SECRET } }));
    const file = path.join(h.home, 'agentid.yaml');
    writeFileSync(file, `${rich.join('\n')}\n`);
    const journal = path.join(h.home, 'rich.jsonl');
    const r = await app(['apply', '-f', file, '--yes', '--journal', journal, '-o', 'json']);
    ok(r);
    expect(r.json<any[]>().map((x) => `${x.status} ${x.action}`).sort()).toEqual([
      'done create agent identity', 'done create agent identity', 'done create agent user', 'done create agent user',
      'done create blueprint', 'done create blueprint principal', 'done set federated credential',
      'done set inheritable permission', 'done set inheritable permission',
    ]);
    const secretFile = path.join(h.home, 'secrets', 'rich.secret');
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    const secret = readFileSync(secretFile, 'utf8').trim();
    expect(secret.length).toBeGreaterThan(10);
    for (const text of [r.stdout, r.stderr, readFileSync(journal, 'utf8')]) expect(text).not.toContain(secret);

    const s = readState(h);
    const byName = (type: string, name: string) => Object.values(s.objects).find((o) => o.type === type && o.props.displayName === name)!;
    expect(byName('agentIdentityBlueprintPrincipal', 'Rich BP').props.accountEnabled).toBe(false);
    expect(byName('agentIdentity', 'Rich Two').props.accountEnabled).toBe(false);
    expect(byName('agentUser', 'Rich One User').props).toMatchObject({ userPrincipalName: 'rich-one@contoso.onmicrosoft.com', accountEnabled: true, identityParentId: byName('agentIdentity', 'Rich One').id });

    // --prune leaves the app that created the blueprint as its owner: the file lists users.
    const plan = await app(['plan', '-f', file, '--prune', '-o', 'json', '--detailed-exitcode']);
    ok(plan);
    expect(plan.json().summary).toMatchObject({ create: 0, update: 0, delete: 0, unchanged: { blueprint: 1, agent: 2, agentUser: 2 } });
    const again = await app(['apply', '-f', file, '--prune', '--yes']);
    ok(again);
    expect(again.stderr).toBe(`No changes: the tenant matches ${file}.\n`);

    const exp = await app(['export']);
    ok(exp);
    expect(exp.stdout).toContain(`      ${EXO}:\n        none: true\n`);
    expect(exp.stdout).not.toContain('clientSecret');
    const exported = path.join(h.home, 'exported.yaml');
    writeFileSync(exported, exp.stdout);
    const round = await app(['plan', '-f', exported, '--prune', '-o', 'json', '--detailed-exitcode']);
    ok(round);
    expect(round.json().changes).toEqual([]);

    // sponsors: [] cannot empty an object that has sponsors (Graph keeps at least one).
    const emptied = path.join(h.home, 'emptied.yaml');
    writeFileSync(emptied, `${rich.map((l) => l.replace(`Rich One: { owners: [${ALEX}] }`, `Rich One: { owners: [${ALEX}], sponsors: [] }`)).join('\n')}\n`);
    const refused = await app(['plan', '-f', emptied]);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/^error: .*emptied\.yaml:18 \(blueprints\.rich-bp\.agents\["Rich One"\]\.sponsors\): sponsors: \[\] would remove every sponsor of this agent identity, which Graph refuses \(an object keeps at least one\); list the sponsors it should have\.\n$/);
  });

  test("the README's GitHub Actions workflow uses real agentid flags: its plan step exits 10 with a markdown plan, its apply step applies", async () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Declarative fleets'));
    const block = /A GitHub Actions workflow: plan on pull requests[\s\S]*?```yaml\n([\s\S]*?)```/.exec(section)![1]!;
    const workflow = parseYaml(block) as { jobs: Record<string, { steps: { run?: string }[] }> };
    const steps = Object.entries(workflow.jobs).flatMap(([job, j]) => j.steps.filter((st) => st.run?.startsWith('agentid ')).map((st) => [job, st.run!] as const));
    expect(steps.map(([job]) => job)).toEqual(['plan', 'apply']);
    const file = path.join(h.home, 'agentid.yaml');
    writeFileSync(file, `${rich.map((l) => l.replace('Rich Two: { enabled: false', 'Rich Two: { enabled: true')).join('\n')}\n`);
    const argv = (cmd: string) => cmd.split(/\s*[>;]/)[0]!.trim().split(/\s+/).slice(1).map((a) => (a === 'agentid.yaml' ? file : a));
    const plan = await app(argv(steps[0]![1]));
    expect(plan.code, plan.stderr).toBe(10);
    expect(plan.stdout).toContain(`| agent identity | rich-bp/Rich Two | enabled | false | true |`);
    const apply = await app(argv(steps[1]![1]));
    ok(apply);
    ok(await app(argv(steps[0]![1])));
  });

  test('export of the contoso fixture (orphaned agents, owners, tags, permissions, credentials, agent users) plans as no changes', async () => {
    const h = tempHome('agentid-fleet-contoso-');
    homes.push(h);
    ok(await h.run(['mock', 'reset', '--fixture', 'contoso', '--yes', '-o', 'none']));
    const exp = await h.run(['export']);
    ok(exp);
    // Two fixture agents have no sponsor left, and one inheritable permission is noScopes.
    expect(exp.stdout.match(/^ {8}sponsors: \[\]$/gm)).toHaveLength(2);
    expect(exp.stdout).toMatch(/^ {8}none: true$/m);
    const exported = path.join(h.home, 'contoso.yaml');
    writeFileSync(exported, exp.stdout);
    const before = directoryHash(h);
    const plan = await h.run(['plan', '-f', exported, '--prune', '-o', 'json', '--detailed-exitcode']);
    ok(plan);
    expect(plan.json().summary).toMatchObject({ create: 0, update: 0, delete: 0, unchanged: { blueprint: 4, agent: 320, agentUser: 129 }, pending: false });
    expect(directoryHash(h)).toBe(before);
  });
});

describe('kill -9 during apply, then bulk resume (served emulator)', () => {
  test('3 × 50: resume finishes the apply: every agent once, and plan shows no changes', async () => {
    const h = tempHome('agentid-fleet-kill-');
    homes.push(h);
    const server = await startServer(h.home, ['--latency', '60', '--throttle', 'off']);
    servers.push(server.child);
    const env = { AGENTID_GRAPH_URL: server.url };
    const file = path.join(h.home, 'agentid.yaml');
    const fleet = { 'kill-a': names('kill-a', 0, 50), 'kill-b': names('kill-b', 0, 50), 'kill-c': names('kill-c', 0, 50) };
    writeFileSync(file, fleetYaml({ agents: fleet }));
    const journal = path.join(h.home, 'apply.jsonl');
    await killWhen(h.home, ['apply', '-f', file, '--yes', '--concurrency', '1', '--journal', journal], env, journal, (recs) => recs.filter((r) => r.t === 'done').length >= 10);
    const status = await h.run(['bulk', 'status', journal, '-o', 'json'], { env });
    expect(status.json().state).toBe('unfinished (agentid bulk resume)');
    ok(await h.run(['bulk', 'resume', journal, '--yes', '-o', 'none'], { env }));
    const plan = await h.run(['plan', '-f', file, '-o', 'json', '--detailed-exitcode'], { env });
    ok(plan);
    expect(plan.json().summary.unchanged).toEqual({ blueprint: 3, agent: 150, agentUser: 0 });
    await new Promise((r) => setTimeout(r, 300));
    const agents = Object.values(readState(h).objects).filter((o) => o.type === 'agentIdentity' && !o.deletedDateTime).map((o) => o.props.displayName as string);
    expect(agents.sort()).toEqual(Object.values(fleet).flat().sort());
  }, 60_000);
});
