import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BIN, baseEnv, tempHome } from './helpers.js';

// Issue 12 #7: bash completion driven the way bash drives it (COMP_WORDS / COMP_CWORD and the
// registered function), against the script `agentid completion bash` prints. zsh runs the same
// function through bashcompinit; fish is not installed on this machine, so only its script is
// checked for shape.

const h = tempHome();
afterAll(() => h.remove());
let script = '';
const bin = path.join(h.home, 'bin');

beforeAll(async () => {
  expect((await h.run(['blueprint', 'create', '--name', 'Sales Agent', '--sponsor', 'me'])).code).toBe(0);
  expect((await h.run(['agent', 'create', '--blueprint', 'Sales Agent', '--name', 'Sales Agent EMEA', '--sponsor', 'me'])).code).toBe(0);
  expect((await h.run(['login', '--profile', 'automation', '--emulated', '--as-app'])).code).toBe(0);
  expect((await h.run(['profile', 'use', 'local'])).code).toBe(0);
  const r = await h.run(['completion', 'bash']);
  expect(r.code).toBe(0);
  script = path.join(h.home, 'agentid.bash');
  writeFileSync(script, r.stdout);
  // `agentid` on PATH, as an installed CLI would be: the script calls it for names.
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'agentid'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
  chmodSync(path.join(bin, 'agentid'), 0o755);
});

/** What bash offers after `agentid <words…>` (the last word is the one being completed). */
function complete(...words: string[]): string[] {
  const all = ['agentid', ...words];
  const program = `source ${JSON.stringify(script)}; COMP_WORDS=(${all.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ')}); COMP_CWORD=${all.length - 1}; _agentid_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const out = execFileSync('bash', ['-c', program], { env: { ...baseEnv(h.home), PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}

describe('bash completion', () => {
  test('groups at the root, subcommands below', () => {
    expect(complete('blu')).toEqual(['blueprint']);
    expect(complete('blueprint', 'cr')).toContain('create');
  });

  test('flags after a positional argument', () => {
    expect(complete('blueprint', 'show', 'Sales', '--')).toEqual(expect.arrayContaining(['--help', '--output', '--query']));
    expect(complete('blueprint', 'update', 'X', '--desc')).toEqual(['--description']);
  });

  test('global flags after subcommands', () => {
    expect(complete('agent', 'list', '--pro')).toEqual(['--profile']);
    expect(complete('agent', 'list', '--que')).toEqual(['--query']);
  });

  test('values of -o, --cloud, --status and --api-version', () => {
    expect(complete('agent', 'list', '-o', '')).toEqual(['table', 'json', 'yaml', 'csv', 'tsv', 'ndjson', 'none']);
    expect(complete('agent', 'list', '--output', 'j')).toEqual(['json']);
    expect(complete('login', '--cloud', 'us')).toEqual(['usgov', 'usgovdod']);
    expect(complete('logs', 'signins', '--status', '')).toEqual(['success', 'failure']);
  });

  test('profile names, from config.json', () => {
    expect(complete('--profile', '')).toEqual(['automation', 'local']);
    expect(complete('profile', 'use', 'au')).toEqual(['automation']);
  });

  test('blueprint and agent names, quoted for the shell, with no network call', () => {
    expect(complete('blueprint', 'show', 'Sa')).toEqual(['Sales\\ Agent']);
    expect(complete('agent', 'list', '--blueprint', '')).toEqual(['Sales\\ Agent']);
    expect(complete('agent', 'disable', 'Sales')).toEqual(['Sales\\ Agent\\ EMEA']);
  });

  test('a served or real profile completes names from the cache a list command wrote', async () => {
    // automation is emulated in-process too, but its own cache file is what list writes.
    expect((await h.run(['--profile', 'automation', 'blueprint', 'list', '-o', 'none'])).code).toBe(0);
    const names = execFileSync(process.execPath, [BIN, '--profile', 'automation', 'completion', 'names', 'blueprint'], { env: baseEnv(h.home), encoding: 'utf8' });
    expect(names).toBe('Sales Agent\n');
  });

  test('owner add offers no --group; sponsor add does', () => {
    expect(complete('owner', 'add', '--gr')).toEqual([]);
    expect(complete('sponsor', 'add', '--gr')).toEqual(['--group']);
  });
});

describe('other shells', () => {
  test('zsh wraps the same bash function; fish gets one complete line per flag', async () => {
    const zsh = await h.run(['completion', 'zsh']);
    expect(zsh.stdout).toContain('bashcompinit');
    expect(zsh.stdout).toContain('_agentid_complete()');
    const fish = await h.run(['completion', 'fish']);
    expect(fish.stdout).toContain('complete -c agentid');
  });
});
