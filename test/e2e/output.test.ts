import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tempHome } from './helpers.js';

// How results reach a pipe: JSON by default, every -o format rendered from the same data, data on
// stdout and human messages on stderr. (Terminal rendering needs a TTY; test/unit/output.test.ts
// covers it.)

const h = tempHome();
afterAll(() => h.remove());

interface Bp {
  id: string;
  appId: string;
  displayName: string;
  uniqueName: string | null;
  createdDateTime: string;
}
let list: Bp[];

beforeAll(async () => {
  // A comma and a quote in a name exercise CSV quoting.
  for (const [name, unique] of [
    ['Alpha', 'alpha'],
    ['Beta, "the second"', 'beta'],
  ] as const) {
    const r = await h.run(['blueprint', 'create', '--name', name, '--sponsor', 'me', '--unique-name', unique, '-o', 'none']);
    expect(r.code).toBe(0);
  }
  const r = await h.run(['blueprint', 'list', '-o', 'json']);
  expect(r.code).toBe(0);
  list = r.json();
  expect(list.map((b) => b.displayName).sort()).toEqual(['Alpha', 'Beta, "the second"']);
});

describe('output formats off a terminal', () => {
  test('prints JSON by default when piped', async () => {
    const r = await h.run(['blueprint', 'list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(JSON.stringify(list, null, 2) + '\n');
    expect(r.stderr).toBe('');
  });

  test('prints a plain table with no ANSI escapes when piped, even with FORCE_COLOR set', async () => {
    const r = await h.run(['blueprint', 'list', '-o', 'table'], { env: { FORCE_COLOR: '1' } });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/\u001b\[/);
    expect(r.stderr).not.toMatch(/\u001b\[/);
    // gh-style: header, then one row per object, columns separated by at least two spaces.
    const header = ['Name', 'Object id', 'App id', 'Unique name', 'Created'];
    const rows = list.map((b) => [b.displayName, b.id, b.appId, b.uniqueName ?? '', b.createdDateTime]);
    const widths = header.map((hd, i) => Math.max(hd.length, ...rows.map((row) => row[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
    expect(r.stdout).toBe([header, ...rows].map(line).join('\n') + '\n');
  });

  test('prints a CSV header and one quoted-as-needed row per object', async () => {
    const r = await h.run(['blueprint', 'list', '-o', 'csv']);
    expect(r.code).toBe(0);
    const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    const expected = ['displayName,id,appId,uniqueName,createdDateTime', ...list.map((b) => [b.displayName, b.id, b.appId, b.uniqueName ?? '', b.createdDateTime].map(quote).join(','))];
    expect(r.stdout).toBe(expected.join('\n') + '\n');
    expect(r.stdout).toContain('"Beta, ""the second"""');
  });

  test('prints a CSV header alone for an empty list', async () => {
    const r = await h.run(['agent', 'list', '-o', 'csv']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('displayName,id,accountEnabled,agentIdentityBlueprintId,createdDateTime\n');
  });

  test('prints one JSON object per line with -o ndjson', async () => {
    const r = await h.run(['blueprint', 'list', '-o', 'ndjson']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(list.length);
    expect(lines.map((l) => JSON.parse(l))).toEqual(list);
  });

  test('prints YAML that reads back as the JSON result', async () => {
    const r = await h.run(['blueprint', 'list', '-o', 'yaml']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^- /);
    expect(parseYaml(r.stdout)).toEqual(list);
  });

  test('applies --query to the JSON result', async () => {
    const r = await h.run(['blueprint', 'list', '--query', 'sort_by(@, &uniqueName)[].{name:displayName,unique:uniqueName}']);
    expect(r.code).toBe(0);
    expect(r.json()).toEqual([
      { name: 'Alpha', unique: 'alpha' },
      { name: 'Beta, "the second"', unique: 'beta' },
    ]);
    const scalar = await h.run(['blueprint', 'show', 'Alpha', '--query', 'uniqueName', '-o', 'tsv']);
    expect(scalar.stdout).toBe('alpha\n');
  });

  test('renders a --query projection as a table with the projected columns', async () => {
    const r = await h.run(['blueprint', 'list', '-o', 'table', '--query', "[?uniqueName=='alpha'].{name:displayName,unique:uniqueName}"]);
    expect(r.stdout).toBe('name   unique\nAlpha  alpha\n');
  });

  test('prints nothing with -o none, for a list and for a mutation', async () => {
    const r = await h.run(['blueprint', 'list', '-o', 'none']);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: '', stderr: '' });
    const c = await h.run(['blueprint', 'create', '--name', 'Gamma', '--sponsor', 'me', '-o', 'none']);
    expect(c.code).toBe(0);
    expect(c.stdout).toBe('');
    expect(c.stderr).toMatch(/^Created blueprint 'Gamma' \(appId [0-9a-f-]{36}\) and its principal\.\n$/);
  });

  test('keeps data on stdout and messages on stderr', async () => {
    const r = await h.run(['agent', 'create', '--blueprint', 'Alpha', '--name', 'Alpha One', '--sponsor', 'me']);
    expect(r.code).toBe(0);
    const agent = r.json();
    expect(agent).toMatchObject({ displayName: 'Alpha One', agentIdentityBlueprintId: list.find((b) => b.displayName === 'Alpha')!.appId });
    expect(r.stderr).toBe(`Created agent 'Alpha One' (${agent.id}) from blueprint 'Alpha'.\n`);
  });

  test('--quiet silences messages but not data', async () => {
    const r = await h.run(['agent', 'disable', 'Alpha One', '--quiet', '--query', 'accountEnabled']);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: 'false\n', stderr: '' });
  });

  test('global options work before the group name too', async () => {
    const r = await h.run(['-o', 'csv', '--query', 'sort([].uniqueName)', 'blueprint', 'list']);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: 'Result\nalpha\nbeta\n' });
  });
});
