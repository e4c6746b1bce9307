import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ROOT, fixture, mapLimit, subcommands, tempHome, type RunResult } from './helpers.js';

// --help is the documentation people read first: every group and every leaf has examples, the
// root lists every group and the exit codes, and none of it needs a tenant.

const h = tempHome();
afterAll(() => h.remove());

const tree: Record<string, string[]> = fixture('command-tree.json');
delete (tree as Record<string, unknown>)['@comment'];


describe('--help', () => {
  test('lists every command group and the exit codes at the root', async () => {
    const r = await h.run(['--help']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const groups = Object.keys(tree).filter((k) => !k.includes(' '));
    expect(subcommands(r.stdout)).toEqual(expect.arrayContaining(groups));
    expect(r.stdout).toContain(
      [
        'Exit codes:',
        '  0    success',
        '  1    the operation failed (a Graph error, or some items of a bulk run failed)',
        '  2    usage error or bad input',
        '  3    not found',
        '  4    not signed in, or permission denied',
        '  130  cancelled',
      ].join('\n'),
    );
  });

  test('answers on every group and leaf with exit 0 and examples', async () => {
    // Walk the live tree from the root's own listing, so a command added later is checked too.
    const seen = new Map<string, RunResult>();
    let frontier = subcommands((await h.run(['--help'])).stdout);
    while (frontier.length) {
      const results = await mapLimit(frontier, 4, (cmd) => h.run([...cmd.split(' '), '--help']));
      const next: string[] = [];
      frontier.forEach((cmd, i) => {
        seen.set(cmd, results[i]!);
        for (const sub of subcommands(results[i]!.stdout)) next.push(`${cmd} ${sub}`);
      });
      frontier = next;
    }
    const missing: string[] = [];
    for (const [group, leaves] of Object.entries(tree)) {
      if (!seen.has(group)) missing.push(group);
      for (const leaf of leaves) if (!seen.has(`${group} ${leaf}`)) missing.push(`${group} ${leaf}`);
    }
    expect(missing).toEqual([]);
    const bad = [...seen].filter(([, r]) => r.code !== 0 || r.stderr !== '' || !r.stdout.startsWith(`Usage: agentid `) || !/\nExamples:\n  \$ agentid /.test(r.stdout));
    expect(bad.map(([cmd, r]) => ({ cmd, code: r.code, stderr: r.stderr, hasExamples: r.stdout.includes('Examples:') }))).toEqual([]);
  });

  test('help <group> is the same as <group> --help', async () => {
    const [a, b] = await Promise.all([h.run(['help', 'agent']), h.run(['agent', '--help'])]);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
  });

  test('--version and -v print package.json\'s version', async () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const r = await h.run([flag]);
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    }
  });

  test('needs no tenant: --help creates no state', async () => {
    await h.run(['blueprint', 'create', '--help']);
    expect(() => readFileSync(h.stateFile)).toThrow();
  });
});
