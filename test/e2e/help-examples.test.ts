import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { BIN, baseEnv, tempHome } from './helpers.js';

// Issue 12 #7: every --help example must be runnable; the `mock serve` one used to hang (its
// command substitution waited on the server's stdout for ever). It runs here as written.

const h = tempHome();
afterAll(() => h.remove());

describe('help examples', () => {
  test("mock serve's background example runs, lists, and ends", async () => {
    const help = (await h.run(['mock', 'serve', '--help'])).stdout;
    const example = help.split('\n').map((l) => l.replace(/^ {2}\$ /, '')).find((l) => l.includes('AGENTID_GRAPH_URL='));
    expect(example).toBeDefined();
    const bin = path.join(h.home, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(path.join(bin, 'agentid'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    chmodSync(path.join(bin, 'agentid'), 0o755);
    const out = execFileSync('bash', ['-c', example!], { cwd: h.home, env: { ...baseEnv(h.home), PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8', timeout: 25_000, stdio: ['ignore', 'pipe', 'ignore'] });
    expect(out).toBe('[]\n');
  }, 30_000);
});
