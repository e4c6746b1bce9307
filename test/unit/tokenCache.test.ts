import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  dpapiStore,
  keychainStore,
  open,
  openVault,
  removeCacheFiles,
  seal,
  secretToolStore,
  StoreUnavailable,
  TokenVault,
  type CacheContext,
  type KeyStore,
  type RunResult,
  type Runner,
} from '../../src/graph/tokenCache.js';

// The persistent token cache: the envelope (AES-256-GCM, key in the OS store), the three stores
// driven through a recording runner (the key must travel on stdin, never on a command line), and
// the MSAL cache plugin. The real Secret Service is exercised in test/e2e/token-cache.test.ts.

const homes: string[] = [];
afterAll(() => homes.forEach((h) => rmSync(h, { recursive: true, force: true })));
function home(): string {
  const h = mkdtempSync(path.join(os.tmpdir(), 'agentid-tc-'));
  homes.push(h);
  return h;
}

const PLANTED_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJwbGFudGVkIjoidG9rZW4ifQ.c2lnbmF0dXJlLXBsYW50ZWQ';
const CACHE = JSON.stringify({ AccessToken: { k: { secret: PLANTED_TOKEN, credential_type: 'AccessToken' } }, RefreshToken: {}, Account: {}, IdToken: {}, AppMetadata: {} });

class MemoryKeyStore implements KeyStore {
  readonly label = 'test store';
  value: string | undefined;
  writes = 0;
  fail: string | undefined;
  async read() {
    if (this.fail) throw new StoreUnavailable(this.fail);
    return this.value;
  }
  async write(key: string) {
    if (this.fail) throw new StoreUnavailable(this.fail);
    this.writes++;
    this.value = key;
  }
  async remove() {
    this.value = undefined;
  }
}

/** A runner that records each call and answers from a script. */
function recorder(answer: (cmd: string, args: string[], input?: string) => Partial<RunResult>) {
  const calls: { cmd: string; args: string[]; input?: string }[] = [];
  const run: Runner = async (cmd, args, input) => {
    calls.push({ cmd, args, ...(input !== undefined ? { input } : {}) });
    return { code: 0, stdout: '', stderr: '', ...answer(cmd, args, input) };
  };
  return { run, calls };
}

function msalContext(initial = '', changed = false) {
  let cache = initial;
  const ctx: CacheContext & { cache(): string } = {
    cacheHasChanged: changed,
    tokenCache: { serialize: () => cache, deserialize: (c) => (cache = c) },
    cache: () => cache,
  };
  return ctx;
}

describe('the envelope', () => {
  const key = Buffer.alloc(32, 7);

  it('opens what it sealed, and nothing else', () => {
    const sealed = seal(key, 'agentid.ci', CACHE);
    expect(open(key, 'agentid.ci', sealed)).toBe(CACHE);
    expect(sealed.toString('latin1')).not.toContain(PLANTED_TOKEN);
    expect(sealed.toString('latin1')).not.toContain('AccessToken');
    // another key, another profile's name (the file renamed), a changed byte, not our format
    expect(open(Buffer.alloc(32, 8), 'agentid.ci', sealed)).toBeUndefined();
    expect(open(key, 'agentid.prod', sealed)).toBeUndefined();
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 1] ^= 1;
    expect(open(key, 'agentid.ci', flipped)).toBeUndefined();
    expect(open(key, 'agentid.ci', Buffer.from(CACHE))).toBeUndefined();
  });

  it('uses a fresh IV each time', () => {
    expect(seal(key, 'n', CACHE).equals(seal(key, 'n', CACHE))).toBe(false);
  });
});

describe('TokenVault', () => {
  it('creates the key once in the store, and keeps the cache encrypted in a 0600 file in a 0700 folder', async () => {
    const h = home();
    const store = new MemoryKeyStore();
    const vault = new TokenVault(h, store);
    expect(await vault.state()).toEqual({ persistent: true, store: 'test store', dir: path.join(h, 'token-cache') });
    await vault.save('agentid.ci', CACHE);
    await vault.save('agentid.ci', CACHE);
    await vault.save('agentid.prod', CACHE);
    expect(store.writes).toBe(1);
    expect(Buffer.from(store.value!, 'base64')).toHaveLength(32);
    const file = path.join(h, 'token-cache', 'agentid.ci.bin');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(h, 'token-cache')).mode & 0o777).toBe(0o700);
    expect(readFileSync(file).toString('latin1')).not.toContain(PLANTED_TOKEN);
    expect(readdirSync(path.join(h, 'token-cache')).sort()).toEqual(['agentid.ci.bin', 'agentid.prod.bin']);
    // A later command (a new vault over the same store) reads it back.
    expect(await new TokenVault(h, store).load('agentid.ci')).toBe(CACHE);
  });

  it('reads nothing when the key is gone or changed (and the next save starts afresh)', async () => {
    const h = home();
    const store = new MemoryKeyStore();
    await new TokenVault(h, store).save('agentid.ci', CACHE);
    store.value = Buffer.alloc(32, 1).toString('base64');
    expect(await new TokenVault(h, store).load('agentid.ci')).toBeUndefined();
    store.value = undefined;
    const v = new TokenVault(h, store);
    expect(await v.load('agentid.ci')).toBeUndefined();
    await v.save('agentid.ci', 'new');
    expect(await new TokenVault(h, store).load('agentid.ci')).toBe('new');
  });

  it('refuses a stored key that is not 256 bits, saying how to recover', async () => {
    const store = new MemoryKeyStore();
    store.value = 'c2hvcnQ=';
    expect(await new TokenVault(home(), store).state()).toEqual({ persistent: false, reason: expect.stringContaining('agentid logout --all') });
  });

  it('reports a store that does not answer as memory-only, with its reason', async () => {
    const store = new MemoryKeyStore();
    store.fail = 'secret-tool did not answer: Cannot autolaunch D-Bus without X11 $DISPLAY';
    expect(await new TokenVault(home(), store).state()).toEqual({ persistent: false, reason: store.fail });
  });

  it("refuses a cache name that could leave the vault's folder", async () => {
    await expect(new TokenVault(home(), new MemoryKeyStore()).save('../escape', CACHE)).rejects.toThrow(/not a token cache name/);
  });

  it('forget() deletes every cache file and the key', async () => {
    const h = home();
    const store = new MemoryKeyStore();
    const vault = new TokenVault(h, store);
    await vault.save('agentid.a', CACHE);
    await vault.save('agentid.b', CACHE);
    await vault.forget();
    expect(readdirSync(path.join(h, 'token-cache'))).toEqual([]);
    expect(store.value).toBeUndefined();
  });
});

describe("MSAL's cache plugin", () => {
  it('loads the cache before MSAL reads it, and saves it only when MSAL changed it', async () => {
    const h = home();
    const store = new MemoryKeyStore();
    const plugin = new TokenVault(h, store).plugin('agentid.ci');
    const first = msalContext('', false);
    await plugin.beforeCacheAccess(first);
    expect(first.cache()).toBe('');
    await plugin.afterCacheAccess(first);
    expect(readdirSync(h)).toEqual([]); // unchanged: nothing written, no key made
    expect(store.writes).toBe(0);

    const changed = msalContext(CACHE, true);
    await plugin.afterCacheAccess(changed);
    const next = msalContext('', false);
    await new TokenVault(h, store).plugin('agentid.ci').beforeCacheAccess(next);
    expect(next.cache()).toBe(CACHE);
  });

  it('keeps MSAL working from memory when the store fails, and says so to --debug', async () => {
    const store = new MemoryKeyStore();
    const said: string[] = [];
    const plugin = new TokenVault(home(), store, (m) => said.push(m)).plugin('agentid.ci');
    store.fail = 'secret-tool did not answer: locked';
    await expect(plugin.afterCacheAccess(msalContext(CACHE, true))).resolves.toBeUndefined();
    expect(said).toEqual(['token cache: not saved, tokens stay in memory (secret-tool did not answer: locked)']);
    expect(said.join()).not.toContain(PLANTED_TOKEN);
  });
});

describe('removeCacheFiles', () => {
  it("removes one profile's files (both of @azure/identity's names), not a profile whose name starts the same", async () => {
    const h = home();
    mkdirSync(path.join(h, 'token-cache'));
    for (const f of ['agentid.ci.bin', 'agentid.ci.nocae.bin', 'agentid.ci.cae.bin', 'agentid.ci.x.bin', 'agentid.prod.bin']) writeFileSync(path.join(h, 'token-cache', f), 'x');
    expect((await removeCacheFiles(h, 'agentid.ci')).sort()).toEqual(['agentid.ci.bin', 'agentid.ci.cae.bin', 'agentid.ci.nocae.bin']);
    expect(readdirSync(path.join(h, 'token-cache')).sort()).toEqual(['agentid.ci.x.bin', 'agentid.prod.bin']);
    expect(await removeCacheFiles(h)).toHaveLength(2);
    expect(await removeCacheFiles(home(), 'agentid.none')).toEqual([]);
  });
});

describe('the OS stores', () => {
  const KEY = Buffer.alloc(32, 9).toString('base64');

  it('secret-tool: the key goes on stdin, never in the arguments; a missing item and a missing Secret Service differ', async () => {
    let stored = '';
    const { run, calls } = recorder((_cmd, args, input) => {
      if (args[0] === 'store') stored = input ?? '';
      if (args[0] === 'lookup') return stored ? { stdout: `${stored}` } : { code: 1 };
      return {};
    });
    const store = secretToolStore(run);
    expect(await store.read()).toBeUndefined();
    await store.write(KEY);
    expect(await store.read()).toBe(KEY);
    await store.remove();
    expect(calls.map((c) => [c.cmd, ...c.args].join(' '))).toEqual([
      'secret-tool lookup service agentid account token-cache-key',
      'secret-tool store --label=agentid token cache key service agentid account token-cache-key',
      'secret-tool lookup service agentid account token-cache-key',
      'secret-tool clear service agentid account token-cache-key',
    ]);
    expect(calls[1]!.input).toBe(KEY);
    expect(calls.flatMap((c) => c.args).join(' ')).not.toContain(KEY);

    const noBus = secretToolStore(recorder(() => ({ code: 1, stderr: 'secret-tool: Cannot autolaunch D-Bus without X11 $DISPLAY\n' })).run);
    await expect(noBus.read()).rejects.toThrow('secret-tool did not answer: Cannot autolaunch D-Bus without X11 $DISPLAY');
    const missing = secretToolStore(recorder(() => ({ code: null, missing: true, stderr: 'spawn secret-tool ENOENT' })).run);
    await expect(missing.read()).rejects.toThrow(/secret-tool is not installed \(install libsecret-tools/);
  });

  it('macOS Keychain: item not found (44) is no key; the key is written through `security -i` on stdin', async () => {
    const { run, calls } = recorder((_cmd, args) => (args[0] === 'find-generic-password' ? { code: 44, stderr: 'security: SecKeychainSearchCopyNext: The specified item could not be found in the keychain.' } : {}));
    const store = keychainStore(run);
    expect(await store.read()).toBeUndefined();
    await store.write(KEY);
    await store.remove();
    expect(calls[1]).toEqual({ cmd: '/usr/bin/security', args: ['-i'], input: `add-generic-password -U -s agentid -a token-cache-key -l "agentid token cache key" -w "${KEY}"\n` });
    expect(calls.flatMap((c) => c.args).join(' ')).not.toContain(KEY);
    expect(calls[2]!.args).toEqual(['delete-generic-password', '-s', 'agentid', '-a', 'token-cache-key']);
    await expect(keychainStore(recorder(() => ({ code: 51, stderr: 'User interaction is not allowed.' })).run).read()).rejects.toThrow('security did not answer: User interaction is not allowed.');
  });

  it('Windows DPAPI: the file holds what ProtectedData returned, never the key; the key travels on stdin both ways', async () => {
    const h = home();
    const protectedBlob = Buffer.from('dpapi-protected-blob').toString('base64');
    const { run, calls } = recorder((_cmd, args, input) => {
      const script = args[args.length - 1]!;
      if (script.includes('::Protect(')) return { stdout: protectedBlob };
      if (script.includes('::Unprotect(')) return input === protectedBlob ? { stdout: KEY } : { code: 1, stderr: 'Key not valid for use in specified state.' };
      return {};
    });
    const store = dpapiStore(path.join(h, 'token-cache'), run);
    expect(await store.read()).toBeUndefined();
    expect(calls).toHaveLength(0); // no file yet: no PowerShell started
    await store.write(KEY);
    const file = path.join(h, 'token-cache', 'key.dpapi');
    expect(readFileSync(file, 'utf8')).toBe(protectedBlob);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await store.read()).toBe(KEY);
    expect(calls.map((c) => c.cmd)).toEqual(['powershell.exe', 'powershell.exe']);
    expect(calls.flatMap((c) => c.args).join(' ')).not.toContain(KEY);
    expect(calls[0]!.input).toBe(KEY);
    // A blob protected for another user does not open: a new key is made on the next save.
    writeFileSync(file, 'b3RoZXI=');
    expect(await store.read()).toBeUndefined();
    await store.remove();
    expect(readdirSync(path.join(h, 'token-cache'))).toEqual([]);
  });
});

describe('openVault', () => {
  it('chooses the store of the OS, and memory when told or when none is known', () => {
    const h = home();
    expect(openVault({ home: h, env: { AGENTID_TOKEN_CACHE: 'memory' }, platform: 'linux' })).toEqual({ reason: 'AGENTID_TOKEN_CACHE=memory' });
    expect(openVault({ home: h, env: {}, platform: 'aix' })).toEqual({ reason: 'no protected store is known on aix' });
    for (const [platform, label] of [['linux', 'Secret Service (secret-tool)'], ['darwin', 'macOS Keychain'], ['win32', 'Windows DPAPI']] as const) {
      const v = openVault({ home: h, env: {}, platform });
      expect(v).toBeInstanceOf(TokenVault);
      expect((v as TokenVault).dir).toBe(path.join(h, 'token-cache'));
      expect((v as TokenVault).storeLabel).toBe(label);
    }
  });
});
