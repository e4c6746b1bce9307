import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { tempHome, type RunResult } from './helpers.js';

// Issue 12 point 6: one documented shape per command, the same in every format.

const h = tempHome();
afterAll(() => h.remove());

function ok(r: RunResult): RunResult {
  expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
  return r;
}

let created: { id: string; appId: string; principal: { id: string } };

beforeAll(async () => {
  created = ok(await h.run(['blueprint', 'create', '--name', 'Shape Blueprint', '--sponsor', 'me'])).json();
  for (const n of ['Shape One', 'Shape Two']) ok(await h.run(['agent', 'create', '--blueprint', created.appId, '--name', n, '--sponsor', 'me', '-o', 'none']));
});

describe('one shape in every format', () => {
  test('blueprint create: the blueprint at top level with its principal nested, so --query appId works', async () => {
    expect(created).toMatchObject({ displayName: 'Shape Blueprint', appId: expect.any(String), created: true, principal: { appId: created.appId } });
    const q = ok(await h.run(['blueprint', 'create', '--name', 'Shape Query', '--sponsor', 'me', '--query', 'appId']));
    expect(q.stdout).toMatch(/^"[0-9a-f-]{36}"\n$/);
    const yaml = parseYaml(ok(await h.run(['blueprint', 'show', created.id, '-o', 'yaml'])).stdout);
    const json = ok(await h.run(['blueprint', 'show', created.id])).json();
    expect(yaml).toEqual(json);
  });

  test('single-object commands: every table row is a field path of the JSON, and YAML is the JSON', async () => {
    const at = (o: unknown, dotted: string) => dotted.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), o);
    const agent = ok(await h.run(['agent', 'list', '--query', '[0].id'])).json();
    const cases: [string, string[]][] = [
      ['blueprint create', ['blueprint', 'create', '--name', 'Shape Formats', '--sponsor', 'me']],
      ['blueprint show', ['blueprint', 'show', created.id]],
      ['agent show', ['agent', 'show', agent]],
      ['status', ['status']],
    ];
    for (const [what, args] of cases) {
      // A create makes a new object each run: compare its table with its own JSON's paths only.
      const json = ok(await h.run(what === 'blueprint create' ? [...args.slice(0, 3), 'Shape Formats JSON', ...args.slice(4)] : args)).json();
      const table = ok(await h.run([...args, '-o', 'table'])).stdout.split('\n').slice(1).filter(Boolean);
      const labels = table.map((l) => l.split(/\s{2,}|\s+$/)[0]!.trim());
      expect({ what, missing: labels.filter((l) => at(json, l) === undefined) }).toEqual({ what, missing: [] });
      expect(labels.length).toBeGreaterThan(3);
      // status signs in anew on each run, so only its token's expiry may differ.
      const fresh = (o: Record<string, unknown>) => ({ ...o, ...(what === 'status' ? { tokenExpires: 'each run' } : {}) });
      if (what !== 'blueprint create') expect(fresh(parseYaml(ok(await h.run([...args, '-o', 'yaml'])).stdout))).toEqual(fresh(json));
    }
  });

  test('a --query that matches nothing in one object warns, naming the fields', async () => {
    const r = ok(await h.run(['blueprint', 'show', created.id, '--query', 'appid']));
    expect(r.stdout).toBe('null\n');
    expect(r.stderr).toMatch(/^warning: --query 'appid' matched nothing in the result; its top-level fields are: id, appId, /);
    const fine = ok(await h.run(['blueprint', 'show', created.id, '--query', 'appId']));
    expect(fine.stderr).toBe('');
  });

  test('a single-object table shows nested objects as dotted rows, no JSON and no @odata annotations', async () => {
    const r = ok(await h.run(['blueprint', 'show', created.id, '-o', 'table']));
    expect(r.stdout).toMatch(/^principal\.accountEnabled +true$/m);
    expect(r.stdout).toMatch(new RegExp(`^principal\\.id +${created.principal.id}$`, 'm'));
    expect(r.stdout).not.toContain('@odata');
    expect(r.stdout).not.toMatch(/[{}]/);
  });

  test('status -o tsv has no JSON in its columns', async () => {
    const r = ok(await h.run(['status', '-o', 'tsv']));
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stdout).not.toMatch(/[{}[\]"]/);
    expect(r.stdout.split('\t')).toContain('Contoso Admin');
  });

  test('CSV headers are the JSON field names', async () => {
    const csv = ok(await h.run(['agent', 'list', '-o', 'csv'])).stdout.split('\n');
    expect(csv[0]).toBe('displayName,id,accountEnabled,agentIdentityBlueprintId,createdDateTime');
    const json = ok(await h.run(['agent', 'list'])).json()[0];
    for (const field of csv[0]!.split(',')) expect(json).toHaveProperty(field);
  });
});

describe('bulk journals', () => {
  test('bulk status --last and undo --last name the newest journal; undoing twice changes nothing', async () => {
    const none = await h.run(['bulk', 'undo', '--yes']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--last/);
    const disable = ok(await h.run(['bulk', 'disable', '--blueprint', created.id, '--yes']));
    const journal = /Journal: (\S+\.jsonl)/.exec(disable.stderr)![1]!;
    const status = ok(await h.run(['bulk', 'status', '--last']));
    expect(status.json()).toMatchObject({ journal, kind: 'disable', state: 'finished', done: 3 });
    const both = await h.run(['bulk', 'status', journal, '--last']);
    expect(both.code).toBe(2);

    const undo = ok(await h.run(['bulk', 'undo', journal, '--yes']));
    expect(undo.stderr).toContain('Done: 3 changed, 0 already as asked.');
    const again = ok(await h.run(['bulk', 'undo', journal, '--yes']));
    expect(again.stderr).toContain('Nothing to change: 0 changed, 3 already as asked.');
    expect(ok(await h.run(['agent', 'list', '--blueprint', created.id, '--query', '[].accountEnabled'])).json()).toEqual([true, true]);
  });

  test('undo and resume name their journal one way: the argument (no --journal option)', async () => {
    const r = await h.run(['bulk', 'undo', '--last', '--journal', 'x.jsonl', '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--journal'/);
  });
});
