import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BIN, baseEnv, tempHome } from './helpers.js';

// Issue 12 #7: bash completion driven the way bash drives it (COMP_WORDS / COMP_CWORD and the
// registered function), against the script `agentid completion bash` prints. zsh runs the same
// function through bashcompinit; fish gets its own script. Both run where installed.

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
    expect(complete('agent', 'list', '-o', '')).toEqual(['table', 'json', 'jsonc', 'yaml', 'yamlc', 'csv', 'tsv', 'ndjson', 'none']);
    expect(complete('agent', 'list', '--output', 'j')).toEqual(['json', 'jsonc']);
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

  const installed = (shell: string) => {
    try {
      execFileSync(shell, ['-c', 'exit 0'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };

  test.skipIf(!installed('zsh'))('zsh (where installed) runs the function as bashcompinit does and gets the same candidates', async () => {
    const file = path.join(h.home, 'agentid.zsh');
    writeFileSync(file, (await h.run(['completion', 'zsh'])).stdout);
    // bashcompinit's compgen calls the function under `emulate -L sh` (0-based arrays); zsh's
    // compadd, not the function, then keeps the candidates that match the word being typed.
    const zsh = (...words: string[]) => {
      const all = ['agentid', ...words].map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
      const program = `source ${JSON.stringify(file)}; t() { emulate -L sh; setopt kshglob noshglob braceexpand; COMP_WORDS=(${all}); COMP_CWORD=${words.length}; COMPREPLY=(); _agentid_complete; printf '%s\\n' "\${COMPREPLY[@]}"; }; t`;
      return execFileSync('zsh', ['-f', '-c', program], { env: { ...baseEnv(h.home), PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8' }).split('\n').filter(Boolean);
    };
    expect(zsh('')).toContain('blueprint');
    expect(zsh('blueprint', 'show', '')).toEqual(['Sales\\ Agent']);
    expect(zsh('agent', 'list', '-o', '')).toEqual(expect.arrayContaining(['json', 'jsonc', 'yamlc']));
    expect(zsh('blueprint', 'delete', 'Sales Agent', '--')).toContain('--with-agents');
    expect(zsh('--profile', '')).toEqual(expect.arrayContaining(['automation', 'local']));
  });

  test.skipIf(!installed('fish'))('fish (where installed): subcommands, flags after arguments, global flags, values and names', async () => {
    const file = path.join(h.home, 'agentid.fish');
    writeFileSync(file, (await h.run(['completion', 'fish'])).stdout);
    const fish = (line: string) =>
      execFileSync('fish', ['--no-config', '-c', `source ${JSON.stringify(file)}; complete -C ${JSON.stringify(line)}`], { env: { ...baseEnv(h.home), PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0]);
    expect(fish('agentid blu')).toEqual(['blueprint']);
    expect(fish('agentid blueprint credential ')).toEqual(['add', 'list', 'remove']);
    expect(fish("agentid blueprint delete 'Sales Agent' --w")).toEqual(['--with-agents']);
    expect(fish('agentid agent list --prof')).toEqual(['--profile']);
    expect(fish('agentid agent list -o ')).toEqual(['csv', 'json', 'jsonc', 'ndjson', 'none', 'table', 'tsv', 'yaml', 'yamlc']);
    expect(fish('agentid login --cloud us')).toEqual(['usgov', 'usgovdod']);
    expect(fish('agentid --profile ')).toEqual(['automation', 'local']);
    expect(fish('agentid blueprint show ')).toEqual(['Sales Agent']);
    expect(fish('agentid agent list --blueprint ')).toEqual(['Sales Agent']);
    expect(fish('agentid owner add --gr')).toEqual([]);
  });
});
