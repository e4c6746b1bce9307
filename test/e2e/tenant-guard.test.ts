import { afterAll, describe, expect, test } from 'vitest';
import { startServer, tempHome } from './helpers.js';

// Issue 12 #1: a pipeline never runs against the emulated tenant by accident.

const h = tempHome();
afterAll(() => h.remove());
const NOTE = "Note: emulated tenant Contoso (in-process, profile local), not a real one; 'agentid login' signs in to a real tenant, -q or AGENTID_EMULATED_NOTE=off hides this note.\n";
const noted = { AGENTID_EMULATED_NOTE: undefined };

describe('half-set AZURE_* variables', () => {
  test.each([
    [{ AZURE_CLIENT_ID: 'abc' }, 'AZURE_CLIENT_ID is set but AZURE_TENANT_ID is not'],
    [{ AZURE_TENANT_ID: 'contoso.onmicrosoft.com' }, 'AZURE_TENANT_ID is set but AZURE_CLIENT_ID is not'],
    [{ AZURE_CLIENT_SECRET: 'x' }, 'AZURE_CLIENT_SECRET is set but AZURE_TENANT_ID and AZURE_CLIENT_ID are not'],
    [{ AZURE_CLIENT_CERTIFICATE_PATH: '/tmp/c.pem', AZURE_CLIENT_ID: 'abc' }, 'AZURE_CLIENT_ID and AZURE_CLIENT_CERTIFICATE_PATH are set but AZURE_TENANT_ID is not'],
    [{ AZURE_FEDERATED_TOKEN_FILE: '/tmp/t' }, 'AZURE_FEDERATED_TOKEN_FILE is set but AZURE_TENANT_ID and AZURE_CLIENT_ID are not'],
  ])('%j is exit 2 naming the missing variable, and nothing on stdout', async (env, start) => {
    const r = await h.run(['agent', 'list', '--query', 'length(@)'], { env });
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`^error: ${start}: signing in from the environment needs AZURE_TENANT_ID, AZURE_CLIENT_ID and one of`));
  });

  test('tenant and client id without any credential is exit 2 naming the credential variables', async () => {
    const r = await h.run(['agent', 'list', '--query', 'length(@)'], { env: { AZURE_TENANT_ID: 'contoso.onmicrosoft.com', AZURE_CLIENT_ID: 'abc', ACTIONS_ID_TOKEN_REQUEST_URL: undefined, ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined } });
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(/^error: AZURE_TENANT_ID and AZURE_CLIENT_ID are set, but none of AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE .*\n$/);
  });

  test('an explicitly chosen profile ignores them', async () => {
    const r = await h.run(['--profile', 'local', 'agent', 'list', '--query', 'length(@)'], { env: { AZURE_CLIENT_ID: 'abc' } });
    expect(r.code).toBe(0);
  });
});

describe('the emulated tenant says so', () => {
  test('off a terminal, one note line on stderr; data untouched on stdout', async () => {
    const r = await h.run(['agent', 'list', '--query', 'length(@)'], { env: noted });
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: '0\n', stderr: NOTE });
  });

  test('-q hides the note', async () => {
    const r = await h.run(['-q', 'agent', 'list', '--query', 'length(@)'], { env: noted });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  });

  test('a served emulator is named by its URL', async () => {
    const s = await startServer(h.home);
    try {
      const r = await h.run(['agent', 'list', '--query', 'length(@)'], { env: { ...noted, AGENTID_GRAPH_URL: s.url } });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`Note: emulated tenant Contoso (served at ${new URL(s.url).origin}, profile local)`);
    } finally {
      await s.stop();
    }
  });

  test('status -o json says emulated: true', async () => {
    const r = await h.run(['status', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(r.json().emulated).toBe(true);
  });

  test('AGENTID_REQUIRE_REAL_TENANT=1 makes the emulated tenant an error, exit 4, before any request', async () => {
    for (const args of [['agent', 'list'], ['status'], ['blueprint', 'create', '--name', 'Never', '--sponsor', 'me']]) {
      const r = await h.run(args, { env: { AGENTID_REQUIRE_REAL_TENANT: '1' } });
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 4, stdout: '' });
      expect(r.stderr).toMatch(/^error: AGENTID_REQUIRE_REAL_TENANT is set and this command would talk to the emulated tenant: sign in to a real tenant/);
    }
    expect((await h.run(['blueprint', 'list', '--query', "[?displayName=='Never'] | length(@)"])).stdout).toBe('0\n');
  });
});
