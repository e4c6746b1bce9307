import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { BIN, ROOT, baseEnv, tempHome, type RunResult } from './helpers.js';

// Issue 12 point 7, the az habits: --only-show-errors, --verbose, -o jsonc/yamlc, a stored
// default output format (agentid config), and --filter / --search on lists.

const h = tempHome();
afterAll(() => h.remove());

function ok(r: RunResult): RunResult {
  expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
  return r;
}

/** stdout and stderr on a pseudo-terminal, as a person sees them. */
function onTerminal(args: string[]): Promise<string> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', [process.execPath, BIN, ...args].map(quote).join(' '), '/dev/null'], { cwd: ROOT, env: baseEnv(h.home, { CI: undefined, TERM: 'xterm' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('close', () => resolve(out));
  });
}

let bp: { id: string; appId: string };
beforeAll(async () => {
  bp = ok(await h.run(['blueprint', 'create', '--name', 'Habit Sales', '--sponsor', 'me'])).json();
  ok(await h.run(['blueprint', 'create', '--name', 'Habit Support', '--sponsor', 'me', '-o', 'none']));
  for (const n of ['Habit Sales EMEA', 'Habit Sales APAC', 'Habit Other']) ok(await h.run(['agent', 'create', '--blueprint', bp.id, '--name', n, '--sponsor', 'me', '-o', 'none']));
  ok(await h.run(['agent', 'disable', 'Habit Sales APAC', '-o', 'none']));
});

describe('agentid config: a default output format', () => {
  test('config set output yaml makes yaml the default; -o still wins; get, list and unset', async () => {
    ok(await h.run(['config', 'set', 'output', 'yaml']));
    const listed = ok(await h.run(['blueprint', 'list', '--query', '[].displayName']));
    expect(parseYaml(listed.stdout)).toEqual(expect.arrayContaining(['Habit Sales', 'Habit Support']));
    expect(listed.stdout).toMatch(/^- Habit/m);
    expect(ok(await h.run(['blueprint', 'list', '-o', 'json', '--query', 'length(@)'])).stdout).toBe('2\n');
    expect(ok(await h.run(['config', 'get', 'output', '-o', 'json'])).json()).toEqual({ key: 'output', value: 'yaml' });
    expect(ok(await h.run(['config', 'list', '-o', 'json'])).json()).toEqual([{ key: 'output', value: 'yaml' }]);
    ok(await h.run(['config', 'unset', 'output']));
    expect(ok(await h.run(['config', 'list'])).stdout).toBe('[]\n');
    const unset = await h.run(['config', 'get', 'output']);
    expect(unset.code).toBe(3);
  });

  test('an unknown setting or value is exit 2, naming what is allowed', async () => {
    const key = await h.run(['config', 'set', 'colour', 'on']);
    expect(key.code).toBe(2);
    expect(key.stderr).toBe("error: Unknown setting 'colour'; agentid config knows: output.\n");
    const value = await h.run(['config', 'set', 'output', 'xml']);
    expect(value.code).toBe(2);
    expect(value.stderr).toMatch(/'xml' is not a value for output: output is one of table, json, jsonc/);
  });
});

describe('stderr: --only-show-errors and --verbose', () => {
  test('--only-show-errors drops warnings and notices but keeps errors', async () => {
    const warned = ok(await h.run(['blueprint', 'show', bp.id, '--query', 'appid']));
    expect(warned.stderr).toMatch(/^warning:/);
    const quiet = ok(await h.run(['blueprint', 'show', bp.id, '--query', 'appid', '--only-show-errors']));
    expect(quiet.stderr).toBe('');
    const disabled = ok(await h.run(['agent', 'enable', 'Habit Other', '--only-show-errors', '-o', 'none']));
    expect(disabled.stderr).toBe('');
    const failed = await h.run(['agent', 'show', 'No Such Agent', '--only-show-errors']);
    expect(failed.code).toBe(3);
    expect(failed.stderr).toMatch(/^error: /);
  });

  test('--verbose logs one line per Graph request, without headers', async () => {
    const r = ok(await h.run(['agent', 'list', '--verbose', '-o', 'none']));
    expect(r.stderr).toMatch(/^\[verbose\] 200 GET \/v1\.0\/servicePrincipals\/microsoft\.graph\.agentIdentity \(\d+ ms\)\n$/);
  });
});

describe('-o jsonc and -o yamlc', () => {
  test('piped they are plain json and yaml', async () => {
    const json = ok(await h.run(['blueprint', 'show', bp.id])).stdout;
    expect(ok(await h.run(['blueprint', 'show', bp.id, '-o', 'jsonc'])).stdout).toBe(json);
    expect(ok(await h.run(['blueprint', 'show', bp.id, '-o', 'yamlc'])).stdout).toBe(ok(await h.run(['blueprint', 'show', bp.id, '-o', 'yaml'])).stdout);
  });

  test('on a terminal they are coloured', async () => {
    const jsonc = await onTerminal(['blueprint', 'show', bp.id, '-o', 'jsonc', '-q']);
    expect(jsonc).toContain('\u001b[36m"appId"\u001b[39m: \u001b[32m"');
    const yamlc = await onTerminal(['blueprint', 'show', bp.id, '-o', 'yamlc', '-q']);
    expect(yamlc).toContain('\u001b[36mappId\u001b[39m: ');
  });
});

describe('--filter and --search on lists', () => {
  const names = (r: RunResult) => r.json().map((x: { displayName: string }) => x.displayName).sort();

  test('--search matches words of the display name (an advanced query with ConsistencyLevel: eventual)', async () => {
    const r = ok(await h.run(['agent', 'list', '--search', 'EMEA', '--debug']));
    expect(names(r)).toEqual(['Habit Sales EMEA']);
    expect(r.stderr).toMatch(/\$search=/);
    expect(r.stderr).toMatch(/ConsistencyLevel: eventual/i);
    expect(names(ok(await h.run(['blueprint', 'list', '--search', 'Support'])))).toEqual(['Habit Support']);
  });

  test('--filter passes OData through, combined with the command\'s own filters', async () => {
    expect(names(ok(await h.run(['agent', 'list', '--filter', "startswith(displayName,'Habit Sales')"])))).toEqual(['Habit Sales APAC', 'Habit Sales EMEA']);
    expect(names(ok(await h.run(['agent', 'list', '--blueprint', bp.id, '--disabled', '--filter', "startswith(displayName,'Habit')"])))).toEqual(['Habit Sales APAC']);
    // ne is an advanced operator: sent with ConsistencyLevel: eventual and $count=true, so Graph accepts it.
    expect(names(ok(await h.run(['agent', 'list', '--filter', "displayName ne 'Habit Other'"])))).toEqual(['Habit Sales APAC', 'Habit Sales EMEA']);
    expect(ok(await h.run(['agent-user', 'list', '--filter', 'accountEnabled eq false'])).json()).toEqual([]);
  });

  test("a filter Graph refuses is Graph's error, exit 1", async () => {
    const r = await h.run(['agent', 'list', '--filter', 'displayName eq']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: \w+: .*request-id/);
  });
});
