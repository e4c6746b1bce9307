import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { open } from '../../src/graph/tokenCache.js';
import { runOnTerminal, startServer, tempHome } from './helpers.js';

// The persistent token cache end to end: @azure/identity's ClientSecretCredential signs in to
// `mock serve --tls` (the real-tenant path), and the emulator's own sign-in log counts how often
// it really did. With a protected store the next commands sign in from the cache; without one,
// or with AGENTID_TOKEN_CACHE=memory, every command signs in again. Two stores: a stand-in
// `secret-tool` on PATH (always runs, and lets the test read the key to check the sealed file),
// and the real Secret Service (GNOME Keyring in a private D-Bus session) where it is installed.

const TENANT = '3f2a7c1e-5b8d-4e6f-9a0b-1c2d3e4f5a6b';
const AUTOMATION = 'c0a1b2c3-0001-4d5e-8f90-000000000301';
const SECRET = 'Emulated~Automation.Secret.0001';
const JWT = /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+/;

const h = tempHome();
const fakeDir = path.join(h.home, 'fake-secret-service');
const binDir = path.join(h.home, 'bin');
let url = '';
let server: Awaited<ReturnType<typeof startServer>> | undefined;

// The stand-in keeps the item in a file, and logs every command line it was given.
const FAKE_SECRET_TOOL = `#!/bin/sh
echo "$*" >> "$FAKE_SECRET_DIR/argv.log"
if [ -n "$FAKE_SECRET_FAIL" ]; then echo 'secret-tool: Cannot autolaunch D-Bus without X11 $DISPLAY' >&2; exit 1; fi
case "$1" in
  lookup) if [ -f "$FAKE_SECRET_DIR/item" ]; then cat "$FAKE_SECRET_DIR/item"; exit 0; fi; exit 1 ;;
  store) cat > "$FAKE_SECRET_DIR/item" ;;
  clear) rm -f "$FAKE_SECRET_DIR/item" ;;
esac
`;

beforeAll(async () => {
  mkdirSync(fakeDir, { recursive: true });
  mkdirSync(binDir, { recursive: true });
  writeFileSync(path.join(binDir, 'secret-tool'), FAKE_SECRET_TOOL);
  chmodSync(path.join(binDir, 'secret-tool'), 0o755);
  server = await startServer(h.home, ['--tls']);
  url = server.url;
});
afterAll(async () => {
  await server?.stop();
  h.remove();
});

const ca = () => path.join(h.home, 'mock', 'tls', 'cert.pem');
/** The environment of a CLI with a protected store: the token cache is on (tests default it off). */
const withStore = (extra: Record<string, string | undefined> = {}) => ({
  APP_SECRET: SECRET,
  NODE_EXTRA_CA_CERTS: ca(),
  AGENTID_TOKEN_CACHE: undefined,
  PATH: `${binDir}${path.delimiter}${process.env.PATH}`,
  FAKE_SECRET_DIR: fakeDir,
  ...extra,
});

/** How many times the automation app signed in to the emulated tenant (its sign-in log). */
async function appSignIns(): Promise<number> {
  const r = await h.run(['logs', 'signins', '--event-type', 'servicePrincipal', '-o', 'json', '--query', `length([?appId=='${AUTOMATION}'])`], { env: { AGENTID_GRAPH_URL: url, NODE_EXTRA_CA_CERTS: ca() } });
  expect(r.code, r.stderr).toBe(0);
  return r.json<number>();
}

/** Every file under dir, as text, for "no token anywhere" checks. */
function allFiles(dir: string): { file: string; text: string }[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .map((file) => ({ file, text: readFileSync(file).toString('latin1') }));
}

const login = (profile: string, env: Record<string, string | undefined>) =>
  h.run(['login', '--profile', profile, '--tenant', TENANT, '--client-id', AUTOMATION, '--client-secret-env', 'APP_SECRET', '--graph-url', url, '--authority-host', url, '-o', 'none'], { env });

describe.skipIf(process.platform !== 'linux')('persistent token cache (a stand-in secret-tool)', () => {
  const cacheFile = () => path.join(h.home, 'token-cache', 'agentid.ci.bin');

  test('login signs in once; the next commands, in new processes, sign in from the cache', async () => {
    const before = await appSignIns();
    const r = await login('ci', withStore());
    expect(r.code, r.stderr).toBe(0);
    expect(await appSignIns()).toBe(before + 1);
    expect(statSync(cacheFile()).mode & 0o777).toBe(0o600);

    for (const args of [['agent', 'list', '-o', 'json'], ['blueprint', 'list', '-o', 'json']]) {
      const c = await h.run(args, { env: withStore() });
      expect(c.code, c.stderr).toBe(0);
    }
    const status = await h.run(['status', '-o', 'json', '--query', 'tokenCache'], { env: withStore() });
    expect(status.json()).toEqual({ persistent: true, store: 'Secret Service (secret-tool)', location: path.join(h.home, 'token-cache') });
    expect(await appSignIns()).toBe(before + 1);
  });

  test('the cache file is MSAL’s cache sealed with the key from the store; no token is readable anywhere on disk, and the key was never an argument', async () => {
    const key = Buffer.from(readFileSync(path.join(fakeDir, 'item'), 'utf8').trim(), 'base64');
    expect(key).toHaveLength(32);
    const plain = open(key, 'agentid.ci', readFileSync(cacheFile()));
    const cache = JSON.parse(plain!) as { AccessToken: Record<string, { secret: string; client_id: string }> };
    const entries = Object.values(cache.AccessToken);
    expect(entries).toHaveLength(1);
    expect(entries[0]!.client_id).toBe(AUTOMATION);
    const token = entries[0]!.secret;
    expect(token).toMatch(JWT);
    for (const { file, text } of allFiles(h.home)) {
      expect(text.includes(token), `token in ${file}`).toBe(false);
      expect(text.includes(SECRET), `secret in ${file}`).toBe(false);
    }
    const argv = readFileSync(path.join(fakeDir, 'argv.log'), 'utf8');
    expect(argv).toContain('lookup service agentid account token-cache-key');
    expect(argv).not.toContain(key.toString('base64'));
  });

  test('AGENTID_TOKEN_CACHE=memory: every command signs in anew, and status says why', async () => {
    const before = await appSignIns();
    const status = await h.run(['status', '-o', 'json', '--query', 'tokenCache'], { env: withStore({ AGENTID_TOKEN_CACHE: 'memory' }) });
    expect(status.json()).toEqual({ persistent: false, reason: 'AGENTID_TOKEN_CACHE=memory' });
    expect((await h.run(['agent', 'list', '-o', 'none'], { env: withStore({ AGENTID_TOKEN_CACHE: 'memory' }) })).code).toBe(0);
    expect(await appSignIns()).toBe(before + 2);
  });

  test('a store that does not answer: memory only, the command still works, and nothing is written', async () => {
    const before = await appSignIns();
    const env = withStore({ FAKE_SECRET_FAIL: '1' });
    const written = statSync(cacheFile()).mtimeMs;
    const status = await h.run(['status', '-o', 'json', '--query', 'tokenCache'], { env });
    expect(status.code, status.stderr).toBe(0);
    expect(status.json()).toEqual({ persistent: false, reason: 'secret-tool did not answer: Cannot autolaunch D-Bus without X11 $DISPLAY' });
    const table = await h.run(['status', '-o', 'table'], { env });
    expect(table.stdout).toMatch(/tokenCache\s+memory only \(secret-tool did not answer/);
    expect(await appSignIns()).toBe(before + 2);
    expect(statSync(cacheFile()).mtimeMs).toBe(written);
  });

  test('logout deletes the profile’s cache (the next command signs in again); logout --all also deletes the key', async () => {
    const out = await h.run(['logout'], { env: withStore() });
    expect(out.stderr).toContain("Signed out of profile 'ci': its cached tokens are deleted.");
    expect(existsSync(cacheFile())).toBe(false);
    const before = await appSignIns();
    expect((await h.run(['agent', 'list', '-o', 'none'], { env: withStore() })).code).toBe(0);
    expect(await appSignIns()).toBe(before + 1);
    expect(existsSync(cacheFile())).toBe(true);

    const all = await h.run(['logout', '--all'], { env: withStore() });
    expect(all.code).toBe(0);
    expect(all.stderr).toContain('deleted 1 token cache file(s), and the cache key in Secret Service (secret-tool).');
    expect(existsSync(path.join(fakeDir, 'item'))).toBe(false);
    expect(readdirSync(path.join(h.home, 'token-cache'))).toEqual([]);
  });

  test('device code: signed in once on a terminal, a pipeline’s later commands sign in silently from the cache; without it they cannot', async () => {
    const at = ['--tenant', TENANT, '--graph-url', url, '--authority-host', url];
    const r = await runOnTerminal(h.home, ['login', '--profile', 'dc', ...at, '--device-code', '-o', 'none'], path.join(h.home, 'login.out'), withStore());
    expect(r.code, r.terminal).toBe(0);
    expect(r.terminal).toMatch(/enter the code [A-Z0-9]{9} to authenticate/);
    expect(r.terminal).toContain(`Signed in to ${TENANT} as admin@contoso.onmicrosoft.com.`);
    expect(existsSync(path.join(h.home, 'token-cache', 'agentid.dc.bin'))).toBe(true);

    // Off a terminal (CI=true), no prompt is possible: the cached account is the only way in.
    const silent = await h.run(['--profile', 'dc', 'agent', 'list', '-o', 'json', '--query', 'length(@)'], { env: withStore() });
    expect({ code: silent.code, stderr: silent.stderr }).toEqual({ code: 0, stderr: '' });
    const who = await h.run(['--profile', 'dc', 'status', '-o', 'json', '--query', '{upn:identity.userPrincipalName,cache:tokenCache.persistent}'], { env: withStore() });
    expect(who.json()).toEqual({ upn: 'admin@contoso.onmicrosoft.com', cache: true });

    const memory = await h.run(['--profile', 'dc', 'agent', 'list', '-o', 'json'], { env: withStore({ AGENTID_TOKEN_CACHE: 'memory' }) });
    expect(memory.code).toBe(4);
    expect(memory.stderr).toMatch(/^error: Profile 'dc' signs in interactively \(device code sign-in\) and no cached sign-in is usable off a terminal; run 'agentid login --profile dc' on a terminal/);
  });

  test('profile remove deletes the removed profile’s cache', async () => {
    expect((await login('gone', withStore())).code).toBe(0);
    expect(existsSync(path.join(h.home, 'token-cache', 'agentid.gone.bin'))).toBe(true);
    const r = await h.run(['profile', 'remove', 'gone', '--yes'], { env: withStore() });
    expect(r.stderr).toContain("Removed profile 'gone' and its cached tokens.");
    expect(existsSync(path.join(h.home, 'token-cache', 'agentid.gone.bin'))).toBe(false);
  });
});

// The real Secret Service: GNOME Keyring in a D-Bus session of the test's own, with its own HOME.
const realTools = ['secret-tool', 'gnome-keyring-daemon', 'dbus-run-session'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
const canRunReal = process.platform === 'linux' && realTools.length === 0;
if (!canRunReal) console.log(`token-cache: the real Secret Service test is skipped: ${realTools.join(', ') || process.platform} not found (install libsecret-tools and gnome-keyring)`);

describe.skipIf(!canRunReal)('persistent token cache in the real Secret Service (GNOME Keyring)', () => {
  let session: ChildProcess | undefined;
  let bus = '';
  const keyringHome = path.join(h.home, 'keyring-home');

  beforeAll(async () => {
    mkdirSync(keyringHome, { recursive: true });
    const script = 'printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; echo "$DBUS_SESSION_BUS_ADDRESS"; exec sleep 600';
    session = spawn('dbus-run-session', ['--', 'sh', '-c', script], { env: { ...process.env, HOME: keyringHome }, stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    bus = await new Promise<string>((resolve, reject) => {
      let out = '';
      session!.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('\n')) resolve(out.trim());
      });
      session!.on('exit', (code) => reject(new Error(`dbus-run-session exited (${code})`)));
    });
  });
  afterAll(() => {
    if (session?.pid) process.kill(-session.pid, 'SIGTERM');
  });

  const realEnv = () => ({ APP_SECRET: SECRET, NODE_EXTRA_CA_CERTS: ca(), AGENTID_TOKEN_CACHE: undefined, DBUS_SESSION_BUS_ADDRESS: bus, HOME: keyringHome });
  const lookup = () => spawnSync('secret-tool', ['lookup', 'service', 'agentid', 'account', 'token-cache-key'], { env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: bus, HOME: keyringHome }, encoding: 'utf8' });

  test('the key lands in the keyring, and the second command signs in from the cache', async () => {
    const before = await appSignIns();
    const r = await login('keyring', realEnv());
    expect(r.code, r.stderr).toBe(0);
    expect((await h.run(['agent', 'list', '-o', 'none'], { env: realEnv() })).code).toBe(0);
    const status = await h.run(['status', '-o', 'json', '--query', 'tokenCache.store'], { env: realEnv() });
    expect(status.json()).toBe('Secret Service (secret-tool)');
    expect(await appSignIns()).toBe(before + 1);
    const item = lookup();
    expect(item.status).toBe(0);
    expect(Buffer.from(item.stdout.trim(), 'base64')).toHaveLength(32);
  });

  test('logout --all removes the key from the keyring', async () => {
    expect((await h.run(['logout', '--all'], { env: realEnv() })).code).toBe(0);
    const item = lookup();
    expect({ status: item.status, stdout: item.stdout }).toEqual({ status: 1, stdout: '' });
  });
});
