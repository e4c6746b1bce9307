import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tempHome } from './helpers.js';

// Issue 12 #2: agent sponsors are app-only in Graph. The default (delegated) profile keeps
// Graph's 403, but says so and names the one command that gets an app profile; --dry-run checks
// the same permission; `login --emulated --as-app` is that command, with no secret to find.

const h = tempHome();
afterAll(() => h.remove());
const U = 'adelev@contoso.onmicrosoft.com';

beforeAll(async () => {
  expect((await h.run(['blueprint', 'create', '--name', 'Sales Agent', '--sponsor', 'me'])).code).toBe(0);
  expect((await h.run(['agent', 'create', '--blueprint', 'Sales Agent', '--name', 'Sales Agent EMEA', '--sponsor', 'me'])).code).toBe(0);
});

const HINT = "on the emulated tenant run 'agentid login --profile automation --emulated --as-app' once, then repeat the command (with --profile automation)";

describe('agent sponsors on a delegated profile', () => {
  test('--dry-run refuses as the real call does: exit 4 naming the app-only rule and the command', async () => {
    const r = await h.run(['sponsor', 'add', '--agent', 'Sales Agent EMEA', '--user', U, '--dry-run']);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 4,
      stdout: '',
      stderr: `error: Adding a sponsor of an agent identity is app-only in Graph (no delegated permission exists), and profile 'local' signs in as a user: ${HINT}.\n`,
    });
  });

  test('the real call gets the same answer: Graph\'s 403 explained, exit 4, the command that gets an app profile named', async () => {
    const r = await h.run(['sponsor', 'add', '--agent', 'Sales Agent EMEA', '--user', U]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 4,
      stdout: '',
      stderr: `error: Adding a sponsor of an agent identity is app-only in Graph (no delegated permission exists), and profile 'local' signs in as a user: ${HINT}.\n`,
    });
  });

  test('login --emulated --as-app makes the seeded automation app a profile, with no secret', async () => {
    const r = await h.run(['login', '--profile', 'automation', '--emulated', '--as-app', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(r.json()).toEqual({ name: 'automation', target: 'emulated', credential: 'emulated', cloud: 'public', apiVersion: 'v1.0', emulatedApp: 'automation' });
    expect(r.stderr).toContain('as app Contoso Agent Automation');
    const s = await h.run(['status', '-o', 'json']);
    expect(s.json()).toMatchObject({ profile: 'automation', emulated: true, identity: { type: 'application', name: 'Contoso Agent Automation' } });
    // back to the administrator for the rest
    expect((await h.run(['profile', 'use', 'local'])).code).toBe(0);
  });

  test('with the app profile the dry run and the real call succeed', async () => {
    const dry = await h.run(['--profile', 'automation', 'sponsor', 'add', '--agent', 'Sales Agent EMEA', '--user', U, '--dry-run']);
    expect(dry.code).toBe(0);
    const real = await h.run(['--profile', 'automation', 'sponsor', 'add', '--agent', 'Sales Agent EMEA', '--user', U]);
    expect({ code: real.code, stderr: real.stderr }).toEqual({ code: 0, stderr: `Added sponsor Adele Vance to agent 'Sales Agent EMEA'.\n` });
  });

  test('the reader app holds no write permission: the dry run names the permission', async () => {
    expect((await h.run(['login', '--profile', 'reader', '--emulated', '--as-app', 'reader'])).code).toBe(0);
    const r = await h.run(['--profile', 'reader', 'sponsor', 'remove', '--agent', 'Sales Agent EMEA', '--user', U, '--yes', '--dry-run']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^error: Removing a sponsor of an agent identity needs the application permission AgentIdentity\.ReadWrite\.All, which the token of profile 'reader' does not hold/);
  });

  test('--as-app takes no client id or secret', async () => {
    const r = await h.run(['login', '--profile', 'x', '--emulated', '--as-app', '--client-id', 'c0a1b2c3-0001-4d5e-8f90-000000000301']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: "error: --as-app goes with --emulated alone: it signs in as the emulated tenant's seeded app, with no client id or secret to give.\n" });
  });
});
