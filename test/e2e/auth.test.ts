import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ROOT, baseEnv, startServer, stderrLines, tempHome } from './helpers.js';

// Sign-in end to end: the local profile (no prompt), a served emulator over TLS signed in to by
// @azure/identity's own ClientSecretCredential (the real-tenant code path, pointed at the
// emulator through AZURE_AUTHORITY_HOST, the certificate trusted through NODE_EXTRA_CA_CERTS),
// 401/403 from a served emulator, CI mode never prompting, and planted secrets and tokens that
// must never reach a profile file or --debug output.

const TENANT = '3f2a7c1e-5b8d-4e6f-9a0b-1c2d3e4f5a6b';
const AUTOMATION = 'c0a1b2c3-0001-4d5e-8f90-000000000301';
const SECRET = 'Emulated~Automation.Secret.0001'; // the seeded app's test secret (the emulator keeps a hash)
const JWT = /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./;

const h = tempHome();
const tlsHome = tempHome();
const servers: { stop: () => Promise<unknown> }[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
  h.remove();
  tlsHome.remove();
});

/** A Node child that trusts the emulator's certificate, running an ESM snippet. */
function nodeScript(code: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, env: { ...baseEnv(tlsHome.home), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (c) => resolve({ code: c, stdout, stderr }));
  });
}

describe('the local profile', () => {
  test('signs in as the emulated Agent ID Administrator with no prompt, and status says so', async () => {
    const r = await h.run(['status', '-o', 'json']);
    expect(r.code).toBe(0);
    const s = r.json();
    expect(s).toMatchObject({
      profile: 'local',
      selectedBy: 'default',
      emulated: true,
      tenant: { id: TENANT, name: 'Contoso (contoso.onmicrosoft.com)' },
      identity: { type: 'user', userPrincipalName: 'admin@contoso.onmicrosoft.com' },
      permissionType: 'delegated (scp)',
    });
    expect(s.directoryRoles).toContain('Agent ID Administrator');
    expect(s.permissions).toContain('AgentIdentity.ReadWrite.All');
    expect(s.permissions).not.toContain('Directory.AccessAsUser.All');
  });

  test('lists local as the only profile of a fresh install', async () => {
    const r = await h.run(['profile', 'list', '--query', '[].{n:name,c:current,t:target}']);
    expect(r.json()).toEqual([{ n: 'local', c: '*', t: 'emulated' }]);
  });
});

describe('@azure/identity against `mock serve --tls`', () => {
  let url = '';
  let ca = '';
  test('serves https with a self-signed certificate and names it on stderr', async () => {
    const server = await startServer(tlsHome.home, ['--tls']);
    servers.push(server);
    url = server.url;
    ca = path.join(tlsHome.home, 'mock', 'tls', 'cert.pem');
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    await expect.poll(() => server.stderr()).toContain(`TLS certificate: ${ca}`);
    expect(statSync(path.join(tlsHome.home, 'mock', 'tls', 'key.pem')).mode & 0o777).toBe(0o600);
  });

  test("ClientSecretCredential signs in through the emulator's discovery and token endpoints; Graph then answers 200, and 401 without the token", async () => {
    const code = `
      import { ClientSecretCredential } from '@azure/identity';
      const url = process.env.URL;
      const cred = new ClientSecretCredential('${TENANT}', '${AUTOMATION}', process.env.APP_SECRET, { authorityHost: url, disableInstanceDiscovery: true });
      const t = await cred.getToken('https://graph.microsoft.com/.default');
      const claims = JSON.parse(Buffer.from(t.token.split('.')[1], 'base64url').toString());
      const withToken = await fetch(url + '/v1.0/servicePrincipals/microsoft.graph.agentIdentity', { headers: { Authorization: 'Bearer ' + t.token } });
      const without = await fetch(url + '/v1.0/servicePrincipals/microsoft.graph.agentIdentity');
      console.log(JSON.stringify({ idtyp: claims.idtyp, appid: claims.appid, withToken: withToken.status, without: without.status, error: (await without.json()).error.code }));
    `;
    const r = await nodeScript(code, { URL: url, APP_SECRET: SECRET, NODE_EXTRA_CA_CERTS: ca });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ idtyp: 'app', appid: AUTOMATION, withToken: 200, without: 401, error: 'InvalidAuthenticationToken' });
  });

  test('agentid login builds that credential from --client-secret-env, saves a profile without the secret, and status reads its token', async () => {
    const env = { APP_SECRET: SECRET, NODE_EXTRA_CA_CERTS: ca };
    const login = await tlsHome.run(['login', '--profile', 'ci', '--tenant', TENANT, '--client-id', AUTOMATION, '--client-secret-env', 'APP_SECRET', '--graph-url', url, '--authority-host', url, '-o', 'json'], { env });
    expect({ code: login.code, stderr: login.stderr }).toEqual({ code: 0, stderr: `Signed in to ${TENANT} as app Contoso Agent Automation (${AUTOMATION}).\nCreated profile 'ci'; it is now the current profile.\n` });
    expect(login.json()).toEqual({ name: 'ci', target: 'real', credential: 'clientSecret', cloud: 'public', apiVersion: 'v1.0', tenantId: TENANT, clientId: AUTOMATION, graphUrl: url, authorityHost: url, clientSecretEnv: 'APP_SECRET' });
    const config = readFileSync(path.join(tlsHome.home, 'config.json'), 'utf8');
    expect(config).not.toContain(SECRET);
    expect(config).not.toMatch(JWT);
    expect(statSync(path.join(tlsHome.home, 'config.json')).mode & 0o777).toBe(0o600);

    const status = await tlsHome.run(['status', '-o', 'json'], { env });
    expect(status.code).toBe(0);
    expect(status.json()).toMatchObject({ profile: 'ci', selectedBy: 'profile use', emulated: false, identity: { type: 'application', clientAppId: AUTOMATION }, permissionType: 'application (roles)', warnings: [] });

    // --debug shows the requests, never the secret or the bearer token.
    const debug = await tlsHome.run(['--debug', 'agent', 'list'], { env });
    expect(debug.code).toBe(0);
    expect(debug.stderr).toContain('Authorization: REDACTED');
    for (const text of [debug.stderr, debug.stdout]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toMatch(JWT);
    }
  });

  test('a wrong secret is exit 4 with the Entra error, and nothing is saved', async () => {
    const env = { AZURE_AUTHORITY_HOST: url, APP_SECRET: 'wrong', NODE_EXTRA_CA_CERTS: ca };
    const before = readFileSync(path.join(tlsHome.home, 'config.json'), 'utf8');
    const r = await tlsHome.run(['login', '--profile', 'bad', '--tenant', TENANT, '--client-id', AUTOMATION, '--client-secret-env', 'APP_SECRET', '--graph-url', url], { env });
    expect(r.code).toBe(4);
    expect(stderrLines(r)).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: Sign-in failed \(client secret from \$APP_SECRET\): .*AADSTS7000215: Invalid client secret provided/);
    expect(readFileSync(path.join(tlsHome.home, 'config.json'), 'utf8')).toBe(before);
  });

  test('a CLI pointed at the served emulator signs in as its administrator with no prompt', async () => {
    const r = await tlsHome.run(['status', '-o', 'json', '--query', '{p:profile,s:selectedBy,u:identity.userPrincipalName}'], { env: { AGENTID_GRAPH_URL: url, NODE_EXTRA_CA_CERTS: ca } });
    expect(r.code).toBe(0);
    expect(r.json()).toEqual({ p: 'local', s: 'AGENTID_GRAPH_URL', u: 'admin@contoso.onmicrosoft.com' });
  });
});

describe('mock token and the served emulator’s 403', () => {
  const home = tempHome();
  afterAll(() => home.remove());
  test('a token with a read scope reads agents and is refused a blueprint create', async () => {
    const server = await startServer(home.home);
    servers.push(server);
    const token = (await home.run(['mock', 'token', '--scopes', 'AgentIdentity.Read.All'])).stdout.trim();
    expect(token).toMatch(JWT);
    const auth = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
    expect((await fetch(`${server.url}/v1.0/servicePrincipals/microsoft.graph.agentIdentity`, { headers: auth })).status).toBe(200);
    const post = await fetch(`${server.url}/v1.0/applications/microsoft.graph.agentIdentityBlueprint`, { method: 'POST', headers: auth, body: JSON.stringify({ displayName: 'x', 'sponsors@odata.bind': ['https://graph.microsoft.com/v1.0/users/6e1f0c2a-0001-4a5b-8c9d-000000000001'] }) });
    expect(post.status).toBe(403);
    expect(((await post.json()) as { error: { code: string } }).error.code).toBe('Authorization_RequestDenied');
  });

  test('refuses --roles without --app, off a terminal, with exit 2', async () => {
    const r = await home.run(['mock', 'token', '--roles', 'AgentIdentity.Read.All']);
    expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ code: 2, stdout: '', stderr: 'error: --roles needs --app APPID: the app whose app-only token carries them.\n' });
  });
});

describe('CI never prompts', () => {
  test.each<[string[], string]>([
    [['login', '--profile', 'x'], 'error: Missing a sign-in method: pass one of --device-code, --browser, --client-secret-env, --client-secret-stdin, --certificate, --federated-token-file, --github-oidc, --managed-identity, --azure-cli, --emulated.\n'],
    [['login', '--profile', 'x', '--certificate', '/tmp/app.pem'], 'error: Missing required option --tenant.\n'],
    [['login', '--profile', 'x', '--tenant', TENANT, '--federated-token-file', '/tmp/t'], 'error: Missing required option --client-id.\n'],
    [['login', '--profile', 'x', '--device-code', '--azure-cli'], 'error: Choose one sign-in method: --device-code, --browser, --client-secret-env, --client-secret-stdin, --certificate, --federated-token-file, --github-oidc, --managed-identity, --azure-cli, --emulated.\n'],
    [['login', '--client-secret-env', 'not a name'], 'error: --client-secret-env takes the NAME of an environment variable (the secret itself is never an argument).\n'],
    [['profile', 'use'], 'error: Missing a profile name: give it on the command line (there is no terminal to ask on).\n'],
    [['login', '--profile', 'x', '--tenant', TENANT, '--device-code'], 'error: --device-code signs in interactively and there is no terminal here; run it on a terminal, or save the profile with --no-verify.\n'],
    [['--profile', 'nope', 'agent', 'list'], "error: No profile 'nope' (from --profile); profiles: local. Create one with 'agentid login --profile nope …'.\n"],
  ])('agentid %j exits 2 with one line naming what is missing', async (args, stderr) => {
    const r = await h.run(args);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 2, stdout: '', stderr });
  });

  test('a device-code profile never waits for a sign-in off a terminal: exit 4 at once, no network', async () => {
    expect((await h.run(['login', '--profile', 'dc', '--tenant', 'contoso.onmicrosoft.com', '--device-code', '--no-verify', '-o', 'none'])).code).toBe(0);
    const r = await h.run(['--profile', 'dc', 'agent', 'list']);
    expect(r.code).toBe(4);
    expect(stderrLines(r)).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: Profile 'dc' signs in interactively \(device code sign-in\) and no cached sign-in is usable off a terminal; run 'agentid login --profile dc' on a terminal/);
    expect((await h.run(['profile', 'remove', 'dc', '--yes'])).code).toBe(0);
    await h.run(['profile', 'use', 'local']);
  });

  test('removing a profile needs --yes off a terminal', async () => {
    const env = { APP_SECRET: SECRET };
    expect((await h.run(['login', '--profile', 'app', '--emulated', '--client-id', AUTOMATION, '--client-secret-env', 'APP_SECRET'], { env })).code).toBe(0);
    const r = await h.run(['profile', 'remove', 'app']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: "error: Not confirmed: Remove profile 'app'? There is no terminal to ask on; pass --yes to confirm.\n" });
    expect((await h.run(['profile', 'remove', 'app', '--yes'])).code).toBe(0);
    expect((await h.run(['profile', 'list', '--query', '[].name'])).json()).toEqual(['local']);
  });

  test('a secret piped on stdin signs an emulated app in, and is written nowhere', async () => {
    const r = await h.run(['login', '--profile', 'piped', '--emulated', '--client-id', AUTOMATION, '--client-secret-stdin'], { input: `${SECRET}\n` });
    expect(r.code).toBe(0);
    const use = await h.run(['--profile', 'piped', '--debug', 'agent', 'list'], { input: `${SECRET}\n` });
    expect(use.code).toBe(0);
    for (const f of readdirSync(h.home)) if (f.endsWith('.json')) expect(readFileSync(path.join(h.home, f), 'utf8')).not.toContain(SECRET);
    expect(readFileSync(h.stateFile, 'utf8')).not.toContain(SECRET);
    expect(use.stderr).not.toContain(SECRET);
    expect(use.stderr).not.toMatch(JWT);
    await h.run(['profile', 'use', 'local']);
  });
});

describe('completion', () => {
  test.each(['bash', 'zsh', 'fish'])('prints a %s script that knows the groups and their verbs', async (shell) => {
    const r = await h.run(['completion', shell]);
    expect(r.code).toBe(0);
    for (const word of ['blueprint', 'agent-user', 'login', 'status', 'create', '--sponsor']) expect(r.stdout).toContain(word);
  });

  test('the bash script is valid bash', async () => {
    const r = await h.run(['completion', 'bash']);
    const file = path.join(h.home, 'agentid.bash');
    writeFileSync(file, r.stdout);
    const check = await new Promise<number | null>((resolve) => spawn('bash', ['-n', file]).on('close', resolve));
    expect(check).toBe(0);
  });

  test('refuses another shell with exit 2', async () => {
    const r = await h.run(['completion', 'powershell']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: "error: completion: 'powershell' is not a supported shell; use bash, zsh or fish.\n" });
  });
});
