import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { killWhen, startServer, tempHome, type RunResult } from './helpers.js';
import type { TenantState } from '../../src/mock/state.js';

// Issue #16 × #13: agents in a fleet file declare custom security attributes. Applied through the
// journaled setAttribute op, planned per attribute against the live values, undone by bulk undo,
// exported; an attribute the tenant does not define stops the plan with exit 2 before anything is
// written. Run as CI runs apply: the automation app (client credentials), which holds
// CustomSecAttributeAssignment.ReadWrite.All and CustomSecAttributeDefinition.ReadWrite.All.
//
// agentid has no command that defines attributes (an Attribute Definition Administrator's job in
// Entra; `ca create --blueprint` defines only its own AgentId_Blueprint), so the test tenant gets
// its attribute sets and definitions as the emulator stores what POST /directory/attributeSets and
// /directory/customSecurityAttributeDefinitions create (src/mock/customSecurityAttributes.ts).

const homes: ReturnType<typeof tempHome>[] = [];
const servers: ChildProcess[] = [];
afterAll(() => {
  for (const s of servers) s.kill('SIGTERM');
  for (const h of homes) h.remove();
});

const MEGAN = 'meganb@contoso.onmicrosoft.com';
const ok = (r: RunResult) => expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
const readState = (h: ReturnType<typeof tempHome>): TenantState => JSON.parse(readFileSync(h.stateFile, 'utf8')) as TenantState;
const directoryHash = (h: ReturnType<typeof tempHome>) => createHash('sha256').update(JSON.stringify(readState(h).objects)).digest('hex');

function defineAttributes(h: ReturnType<typeof tempHome>): void {
  const s = readState(h) as TenantState & Record<string, unknown>;
  const def = (set: string, name: string, o: Record<string, unknown> = {}) => ({ id: `${set}_${name}`, attributeSet: set, description: null, isCollection: false, isSearchable: true, name, status: 'Available', type: 'String', usePreDefinedValuesOnly: false, '@allowedValues': [], ...o });
  s.attributeSets = { Engineering: { id: 'Engineering', description: null, maxAttributesPerSet: 25 }, Compliance: { id: 'Compliance', description: null, maxAttributesPerSet: 25 } };
  s.customSecurityAttributeDefinitions = Object.fromEntries(
    [def('Engineering', 'Project'), def('Engineering', 'CostCenter'), def('Engineering', 'Key'), def('Compliance', 'Tier'), def('Compliance', 'Level', { type: 'Integer' }), def('Compliance', 'Regions', { isCollection: true }), def('Compliance', 'Legacy', { status: 'Deprecated' })].map((d) => [d.id, d]),
  );
  writeFileSync(h.stateFile, JSON.stringify(s));
}

/** The agents' customSecurityAttributes as the tenant holds them, without the @odata annotations. */
function attributesOf(h: ReturnType<typeof tempHome>, agent: string): Record<string, Record<string, unknown>> {
  const o = Object.values(readState(h).objects).find((x) => x.type === 'agentIdentity' && x.props.displayName === agent && !x.deletedDateTime);
  const attrs = (o?.props.customSecurityAttributes ?? {}) as Record<string, Record<string, unknown>>;
  return Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).filter(([n]) => !n.includes('@')))]));
}

const fleet = (agents: string[]) =>
  ['apiVersion: agentid/v1', 'kind: AgentFleet', 'blueprints:', '  attr-bp:', '    displayName: Attr BP', `    sponsors: [${MEGAN}]`, '    agents:', ...agents.map((a) => `      ${a}`), ''].join('\n');

describe('fleet agent attributes: apply, plan, edit, undo, export (in-process emulator)', () => {
  const h = tempHome('agentid-fleet-attr-');
  homes.push(h);
  const file = path.join(h.home, 'agentid.yaml');
  const app = (args: string[], env: Record<string, string> = {}) => h.run(['--profile', 'app', ...args], { env });
  const original = fleet([
    '"Agent One": { attributes: { Engineering: { Project: Baker, CostCenter: "42" }, Compliance: { Tier: gold } } }',
    '"Agent Two": { attributes: { Engineering: { Project: Baker } } }',
    '"Agent Three": {}',
  ]);
  let firstJournal = '';
  let editJournal = '';

  test('apply sets the attributes (new agents too); plan then shows no changes and a re-apply is a no-op', async () => {
    ok(await h.run(['login', '--profile', 'app', '--emulated', '--as-app', 'automation']));
    defineAttributes(h);
    writeFileSync(file, original);
    const plan = await app(['plan', '-f', file, '-o', 'json']);
    ok(plan);
    const one = plan.json().changes.find((c: any) => c.key === 'attr-bp/Agent One');
    expect(one.properties.filter((p: any) => p.property.startsWith('attributes.'))).toEqual([
      { property: 'attributes.Engineering.Project', before: null, after: 'Baker' },
      { property: 'attributes.Engineering.CostCenter', before: null, after: '42' },
      { property: 'attributes.Compliance.Tier', before: null, after: 'gold' },
    ]);
    const r = await app(['apply', '-f', file, '--yes', '-o', 'json']);
    ok(r);
    expect(r.json<any[]>().filter((x) => x.action === 'set custom security attribute' && x.status === 'done')).toHaveLength(4);
    expect(attributesOf(h, 'Agent One')).toEqual({ Engineering: { Project: 'Baker', CostCenter: '42' }, Compliance: { Tier: 'gold' } });
    expect(attributesOf(h, 'Agent Two')).toEqual({ Engineering: { Project: 'Baker' } });
    expect(attributesOf(h, 'Agent Three')).toEqual({});
    firstJournal = path.join(h.home, 'journals', readdirSync(path.join(h.home, 'journals')).find((f) => f.includes('-apply-'))!);

    const again = await app(['plan', '-f', file, '-o', 'json', '--detailed-exitcode']);
    ok(again);
    expect(again.json().changes).toEqual([]);
    expect(again.json().summary.unchanged).toEqual({ blueprint: 1, agent: 3, agentUser: 0 });
    const journals = readdirSync(path.join(h.home, 'journals'));
    const reapply = await app(['apply', '-f', file, '--yes']);
    ok(reapply);
    expect(reapply.stdout).toBe('');
    expect(reapply.stderr).toMatch(/No changes: the tenant matches/);
    expect(readdirSync(path.join(h.home, 'journals'))).toEqual(journals);
  });

  test('the attributes cost the plan one read (the definitions), not a read per agent', async () => {
    // The same agents without attributes: the difference is the definitions list alone, since the
    // attributes come in the agents' own pages.
    const bare = path.join(h.home, 'bare.yaml');
    writeFileSync(bare, fleet(['"Agent One": {}', '"Agent Two": {}', '"Agent Three": {}']));
    const reads = async (f: string) => {
      const r = await app(['plan', '-f', f, '-o', 'none'], { AGENTID_FLEET_READS: '1' });
      ok(r);
      return Number(/Read the tenant in (\d+) request/.exec(r.stderr)![1]);
    };
    expect((await reads(file)) - (await reads(bare))).toBe(1);
  });

  test('an edited value, a removed one (null) and an added one: plan lists exactly those, apply makes them, undo restores', async () => {
    const edited = fleet([
      '"Agent One": { attributes: { Engineering: { Project: Cedar, CostCenter: null }, Compliance: { Tier: gold } } }',
      '"Agent Two": { attributes: { Engineering: { Project: Baker } } }',
      '"Agent Three": { attributes: { Compliance: { Tier: silver } } }',
    ]);
    writeFileSync(file, edited);
    const plan = await app(['plan', '-f', file, '-o', 'json', '--detailed-exitcode']);
    expect(plan.code, plan.stderr).toBe(10);
    expect(plan.json().changes.map((c: any) => [c.action, c.key, c.properties])).toEqual([
      ['update', 'attr-bp/Agent One', [{ property: 'attributes.Engineering.Project', before: 'Baker', after: 'Cedar' }, { property: 'attributes.Engineering.CostCenter', before: '42', after: null }]],
      ['update', 'attr-bp/Agent Three', [{ property: 'attributes.Compliance.Tier', before: null, after: 'silver' }]],
    ]);
    const md = await app(['plan', '-f', file, '-o', 'markdown']);
    ok(md);
    expect(md.stdout).toContain('| agent identity | attr-bp/Agent One | attributes.Engineering.Project | Baker | Cedar |');

    editJournal = path.join(h.home, 'edit.jsonl');
    ok(await app(['apply', '-f', file, '--yes', '--journal', editJournal, '-o', 'none']));
    expect(attributesOf(h, 'Agent One')).toEqual({ Engineering: { Project: 'Cedar' }, Compliance: { Tier: 'gold' } });
    expect(attributesOf(h, 'Agent Three')).toEqual({ Compliance: { Tier: 'silver' } });
    const after = await app(['plan', '-f', file, '-o', 'json', '--detailed-exitcode']);
    ok(after);
    expect(after.json().changes).toEqual([]);
    // The journal holds each prior value: that is what undo writes back.
    const items = readFileSync(editJournal, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((x) => x.t === 'item');
    expect(items.map((x) => [x.op.kind, x.op.set, x.op.name, x.op.value, x.prior])).toEqual(
      expect.arrayContaining([
        ['setAttribute', 'Engineering', 'Project', 'Cedar', { value: 'Baker' }],
        ['setAttribute', 'Engineering', 'CostCenter', null, { value: '42' }],
        ['setAttribute', 'Compliance', 'Tier', 'silver', { value: null }],
      ]),
    );

    ok(await app(['bulk', 'undo', editJournal, '--yes', '-o', 'none']));
    expect(attributesOf(h, 'Agent One')).toEqual({ Engineering: { Project: 'Baker', CostCenter: '42' }, Compliance: { Tier: 'gold' } });
    expect(attributesOf(h, 'Agent Three')).toEqual({});
    writeFileSync(file, original);
    const back = await app(['plan', '-f', file, '-o', 'json', '--detailed-exitcode']);
    ok(back);
    expect(back.json().changes).toEqual([]);
  });

  test('apply --plan: a saved plan with attributes applies, and is refused once an attribute changed under it', async () => {
    writeFileSync(file, original.replace('Tier: gold', 'Tier: bronze'));
    const saved = path.join(h.home, 'plan.json');
    const p = await app(['plan', '-f', file, '-o', 'json']);
    ok(p);
    writeFileSync(saved, p.stdout);
    // Someone changes an attribute the plan read: the plan no longer matches.
    ok(await app(['agent', 'update', 'Agent Two', '--attribute', 'Engineering.Project=Drift', '-o', 'none']));
    const stale = await app(['apply', '--plan', saved, '--yes']);
    expect(stale.code).toBe(2);
    expect(stale.stderr).toMatch(/no longer matches the tenant/);
    ok(await app(['agent', 'update', 'Agent Two', '--attribute', 'Engineering.Project=Baker', '-o', 'none']));
    ok(await app(['apply', '--plan', saved, '--yes', '-o', 'none']));
    expect(attributesOf(h, 'Agent One').Compliance).toEqual({ Tier: 'bronze' });
    writeFileSync(file, original);
    ok(await app(['apply', '-f', file, '--yes', '-o', 'none']));
  });

  test('export writes the attributes, and plan on the exported file shows no changes', async () => {
    const r = await app(['export']);
    ok(r);
    const doc = parseYaml(r.stdout);
    expect(doc.blueprints['attr-bp'].agents['Agent One'].attributes).toEqual({ Compliance: { Tier: 'gold' }, Engineering: { CostCenter: '42', Project: 'Baker' } });
    expect(doc.blueprints['attr-bp'].agents['Agent Two'].attributes).toEqual({ Engineering: { Project: 'Baker' } });
    expect(doc.blueprints['attr-bp'].agents['Agent Three'].attributes).toBeUndefined();
    const exported = path.join(h.home, 'exported.yaml');
    writeFileSync(exported, r.stdout);
    const plan = await app(['plan', '-f', exported, '-o', 'json', '--detailed-exitcode']);
    ok(plan);
    expect(plan.json().changes).toEqual([]);
    // The JSON form round-trips the same way.
    const j = await app(['export', '-o', 'json']);
    ok(j);
    expect(JSON.parse(j.stdout).blueprints['attr-bp'].agents['Agent One'].attributes).toEqual(doc.blueprints['attr-bp'].agents['Agent One'].attributes);
  });

  test("an attribute called Key is a name, not an inline secret: it plans as a change", async () => {
    const f = path.join(h.home, 'key.yaml');
    writeFileSync(f, original.replace('Tier: gold }', 'Tier: gold }, Engineering: { Key: abc }').replace('Engineering: { Project: Baker, CostCenter: "42" }, ', ''));
    const p = await app(['plan', '-f', f, '-o', 'json']);
    ok(p);
    expect(p.json().changes.map((c: any) => c.properties)).toEqual([[{ property: 'attributes.Engineering.Key', before: null, after: 'abc' }]]);
  });

  test('a caller without the attribute permissions: export leaves them out and says so; plan of a file naming them says which permissions', async () => {
    ok(await h.run(['login', '--profile', 'reader', '--emulated', '--as-app', 'reader']));
    const r = await h.run(['--profile', 'reader', 'export']);
    ok(r);
    expect(r.stderr).toMatch(/^warning: Left out: custom security attributes; reading them needs CustomSecAttributeAssignment\.Read\.All/m);
    expect(parseYaml(r.stdout).blueprints['attr-bp'].agents['Agent One'].attributes).toBeUndefined();
    const p = await h.run(['--profile', 'reader', 'plan', '-f', file]);
    expect(p.code).toBe(4);
    expect(p.stderr.trimEnd()).toMatch(/^error: Authorization_RequestDenied: .* plan reads them with CustomSecAttributeAssignment\.Read\.All and CustomSecAttributeDefinition\.Read\.All .*\(request-id: /);
  });
});

describe('fleet attributes the tenant cannot take: exit 2 naming the line, nothing written', () => {
  const h = tempHome('agentid-fleet-attr-bad-');
  homes.push(h);
  const cases: [string, string, RegExp][] = [
    ['an attribute with no definition', '"Agent Two": { attributes: { Engineering: { Owner: x } } }', /^error: .*agentid\.yaml:9 \(blueprints\.attr-bp\.agents\["Agent Two"\]\.attributes\.Engineering\.Owner\): custom security attribute Engineering_Owner is not defined in this tenant \(no attribute Owner in set Engineering\); define it first .*, or remove it from the file\.$/],
    ['an attribute set that does not exist', '"Agent Two": { attributes: { Finance: { Code: x } } }', /^error: .*agentid\.yaml:9 \(blueprints\.attr-bp\.agents\["Agent Two"\]\.attributes\.Finance\.Code\): custom security attribute Finance_Code is not defined in this tenant/],
    ['an Integer attribute', '"Agent Two": { attributes: { Compliance: { Level: "3" } } }', /^error: .*agentid\.yaml:9 \(.*attributes\.Compliance\.Level\): custom security attribute Compliance_Level is an attribute of type Integer; agentid\/v1 files set single-valued String attributes only/],
    ['a multi-valued attribute', '"Agent Two": { attributes: { Compliance: { Regions: eu } } }', /^error: .*agentid\.yaml:9 \(.*attributes\.Compliance\.Regions\): custom security attribute Compliance_Regions is a multi-valued attribute of type String/],
    ['a new value for a deprecated attribute', '"Agent Two": { attributes: { Compliance: { Legacy: x } } }', /^error: .*agentid\.yaml:9 \(.*attributes\.Compliance\.Legacy\): custom security attribute Compliance_Legacy is Deprecated: Graph assigns no new values to it/],
    ['an empty value', '"Agent Two": { attributes: { Compliance: { Tier: "" } } }', /^error: .*agentid\.yaml:9 \(.*attributes\.Compliance\.Tier\): an attribute value is a non-empty string; null removes the attribute\.$/],
    ['a number value', '"Agent Two": { attributes: { Compliance: { Tier: 3 } } }', /^error: .*agentid\.yaml:9 \(.*attributes\.Compliance\.Tier\): Invalid input: expected string, received number\.$/],
    ['a set name with a space', '"Agent Two": { attributes: { "Com pliance": { Tier: x } } }', /^error: .*agentid\.yaml:9 \(.*attributes\["Com pliance"\]\): up to 32 letters and digits \(no spaces or special characters\)\.$/],
  ];

  let ready = false;
  test.each(cases)('%s', async (_name, agentTwo, message) => {
    const f = path.join(h.home, 'agentid.yaml');
    if (!ready) {
      ok(await h.run(['login', '--profile', 'app', '--emulated', '--as-app', 'automation']));
      defineAttributes(h);
      // Agent Two exists; a half-applied run would set Agent One's valid attribute and create Agent Three.
      writeFileSync(f, fleet(['"Agent One": {}', '"Agent Two": {}']));
      ok(await h.run(['--profile', 'app', 'apply', '-f', f, '--yes', '-o', 'none']));
      rmSync(path.join(h.home, 'journals'), { recursive: true, force: true });
      ready = true;
    }
    const before = directoryHash(h);
    writeFileSync(f, fleet(['"Agent One": { attributes: { Engineering: { Project: Baker } } }', agentTwo, '"Agent Three": {}']));
    for (const args of [['plan', '-f', f], ['apply', '-f', f, '--yes']]) {
      const r = await h.run(['--profile', 'app', ...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.stderr.trimEnd()).toMatch(message);
    }
    expect(directoryHash(h)).toBe(before);
    expect(existsSync(path.join(h.home, 'journals'))).toBe(false);
  });
});

describe('kill -9 during an apply that sets attributes (served emulator)', () => {
  test('bulk resume finishes it: every new agent holds its attribute once, and plan shows no changes', async () => {
    const h = tempHome('agentid-fleet-attr-kill-');
    homes.push(h);
    ok(await h.run(['mock', 'status', '-o', 'none']));
    defineAttributes(h);
    const server = await startServer(h.home, ['--latency', '60', '--throttle', 'off']);
    servers.push(server.child);
    const env = { AGENTID_GRAPH_URL: server.url };
    const names = Array.from({ length: 30 }, (_, i) => `Kill Agent ${String(i).padStart(2, '0')}`);
    const file = path.join(h.home, 'agentid.yaml');
    writeFileSync(file, fleet(names.map((n, i) => `"${n}": { attributes: { Engineering: { Project: P${i} } } }`)));
    const journal = path.join(h.home, 'apply.jsonl');
    // Killed once the agents are created (32 items: blueprint, principal, 30 agents) and some
    // attributes may be on their way.
    await killWhen(h.home, ['apply', '-f', file, '--yes', '--concurrency', '1', '--journal', journal], env, journal, (recs) => recs.filter((r) => r.t === 'done').length >= 32);
    const status = await h.run(['bulk', 'status', journal, '-o', 'json'], { env });
    expect(status.json().state).toBe('unfinished (agentid bulk resume)');
    ok(await h.run(['bulk', 'resume', journal, '--yes', '-o', 'none'], { env }));
    const plan = await h.run(['plan', '-f', file, '-o', 'json', '--detailed-exitcode'], { env });
    ok(plan);
    expect(plan.json().summary.unchanged).toEqual({ blueprint: 1, agent: 30, agentUser: 0 });
    await new Promise((r) => setTimeout(r, 300));
    for (const [i, n] of names.entries()) expect(attributesOf(h, n)).toEqual({ Engineering: { Project: `P${i}` } });
  }, 60_000);
});
