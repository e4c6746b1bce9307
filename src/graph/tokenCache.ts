import { spawn } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

// The persistent token cache for real-tenant sign-in. MSAL (inside @azure/identity) keeps its
// token cache in memory and hands it to a cache plugin before and after every use; this file is
// that plugin, registered through @azure/identity's documented plugin hook (useIdentityPlugin's
// cachePluginControl.setPersistence, the hook @azure/identity-cache-persistence uses).
//
// Where the tokens go: MSAL's serialized cache is encrypted with AES-256-GCM into
// $AGENTID_HOME/token-cache/<name>.bin (0600, in a 0700 folder, written atomically), and the
// 256-bit key is held by the operating system's protected store:
//   Linux, BSD   the Secret Service (GNOME Keyring, KWallet, KeePassXC) through libsecret's
//                `secret-tool`;
//   macOS        the login Keychain through `security`;
//   Windows      DPAPI (CurrentUser), through PowerShell's ProtectedData: the protected key is a
//                file beside the caches, readable only by the same Windows user.
// Keeping only a 32-byte key in the store (not the cache itself, which grows to several KB) keeps
// every store's item small and the same on every OS; it is how browsers keep their "safe
// storage" too. No store, or one that does not answer: tokens stay in memory for the one command
// (the issue: "never a plain-text token on disk"); `agentid status` says which.
//
// The key never goes on a command line (other users can read those): it goes to the store's
// process on stdin, and comes back on stdout. AGENTID_TOKEN_CACHE=memory turns persistence off.
//
// Concurrency: two commands may write the same cache at once. A store write is atomic and a cache
// file is replaced by rename, so the last writer wins whole; the loser's new token is only lost
// from the cache, and the next command gets another. No lock is needed for correctness.

export const TOKEN_CACHE_SERVICE = 'agentid';
export const TOKEN_CACHE_ACCOUNT = 'token-cache-key';
const LABEL = 'agentid token cache key';
const MAGIC = Buffer.from('AIDTC1');
/** A store that hangs (a locked keyring waiting on a desktop prompt) must not hang a command. */
const STORE_TIMEOUT_MS = 10_000;

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The program could not be started (not installed). */
  missing?: boolean;
}
export type Runner = (cmd: string, args: string[], input?: string) => Promise<RunResult>;

/** Runs a store's command with the key on stdin only; never through a shell. */
export const runCommand: Runner = (cmd, args, input) =>
  new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: STORE_TIMEOUT_MS, windowsHide: true });
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err: NodeJS.ErrnoException) => resolve({ code: null, stdout, stderr: err.message, ...(err.code === 'ENOENT' ? { missing: true } : {}) }));
    child.on('close', (code, signal) => resolve({ code, stdout, stderr: signal ? `${stderr}(stopped by ${signal} after ${STORE_TIMEOUT_MS / 1000} s)` : stderr }));
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });

/** The OS's protected store, holding one base64 key. */
export interface KeyStore {
  /** For `status`: which store. */
  readonly label: string;
  /** The key, or undefined when the store has none yet. Throws StoreUnavailable. */
  read(): Promise<string | undefined>;
  write(key: string): Promise<void>;
  remove(): Promise<void>;
}

export class StoreUnavailable extends Error {}

function firstLine(s: string): string {
  return s.trim().split('\n')[0]?.trim() || 'no answer';
}

function unavailable(label: string, r: RunResult, hint = ''): StoreUnavailable {
  // Programs start their messages with their own name ("secret-tool: Cannot autolaunch D-Bus …").
  const said = firstLine(r.stderr).replace(new RegExp(`^${label}:\\s*`), '');
  return new StoreUnavailable(r.missing ? `${label} is not installed${hint}` : `${label} did not answer: ${said}`);
}

/** libsecret's command-line client: `lookup` exits 1 with nothing on stderr when there is no item. */
export function secretToolStore(run: Runner = runCommand): KeyStore {
  const attrs = ['service', TOKEN_CACHE_SERVICE, 'account', TOKEN_CACHE_ACCOUNT];
  const label = 'Secret Service (secret-tool)';
  const hint = ' (install libsecret-tools, and run a Secret Service such as GNOME Keyring)';
  return {
    label,
    async read() {
      const r = await run('secret-tool', ['lookup', ...attrs]);
      if (r.code === 0 && r.stdout.trim()) return r.stdout.trim();
      if (r.code === 1 && !r.stderr.trim()) return undefined;
      throw unavailable('secret-tool', r, hint);
    },
    async write(key) {
      const r = await run('secret-tool', ['store', `--label=${LABEL}`, ...attrs], key);
      if (r.code !== 0) throw unavailable('secret-tool', r, hint);
    },
    async remove() {
      const r = await run('secret-tool', ['clear', ...attrs]);
      if (r.code !== 0 && r.stderr.trim()) throw unavailable('secret-tool', r, hint);
    },
  };
}

/** macOS's `security`: exit 44 is errSecItemNotFound. Writes go through `security -i` so that the key is read from stdin. */
export function keychainStore(run: Runner = runCommand): KeyStore {
  const item = ['-s', TOKEN_CACHE_SERVICE, '-a', TOKEN_CACHE_ACCOUNT];
  const label = 'macOS Keychain';
  return {
    label,
    async read() {
      const r = await run('/usr/bin/security', ['find-generic-password', ...item, '-w']);
      if (r.code === 0 && r.stdout.trim()) return r.stdout.trim();
      if (r.code === 44) return undefined;
      throw unavailable('security', r);
    },
    async write(key) {
      if (!/^[A-Za-z0-9+/=]+$/.test(key)) throw new Error('a token cache key is base64');
      const r = await run('/usr/bin/security', ['-i'], `add-generic-password -U -s ${TOKEN_CACHE_SERVICE} -a ${TOKEN_CACHE_ACCOUNT} -l "${LABEL}" -w "${key}"\n`);
      if (r.code !== 0 || /error/i.test(r.stderr)) throw unavailable('security', r);
    },
    async remove() {
      const r = await run('/usr/bin/security', ['delete-generic-password', ...item]);
      if (r.code !== 0 && r.code !== 44) throw unavailable('security', r);
    },
  };
}

const PS_ARGS = ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command'];
const psScript = (fn: 'Protect' | 'Unprotect') =>
  `$ErrorActionPreference='Stop';Add-Type -AssemblyName System.Security;$b=[Convert]::FromBase64String([Console]::In.ReadToEnd().Trim());[Console]::Out.Write([Convert]::ToBase64String([Security.Cryptography.ProtectedData]::${fn}($b,$null,'CurrentUser')))`;

/** Windows: DPAPI protects the key for the current user; the protected blob is a file. */
export function dpapiStore(dir: string, run: Runner = runCommand): KeyStore {
  const file = path.join(dir, 'key.dpapi');
  const label = 'Windows DPAPI';
  return {
    label,
    async read() {
      const blob = await fsp.readFile(file, 'utf8').catch(() => undefined);
      if (!blob) return undefined;
      const r = await run('powershell.exe', [...PS_ARGS, psScript('Unprotect')], blob);
      if (r.code === 0 && r.stdout.trim()) return r.stdout.trim();
      // A blob another Windows user (or machine) protected cannot be opened: start afresh.
      if (r.code !== null) return undefined;
      throw unavailable('PowerShell', r);
    },
    async write(key) {
      const r = await run('powershell.exe', [...PS_ARGS, psScript('Protect')], key);
      if (r.code !== 0 || !r.stdout.trim()) throw unavailable('PowerShell', r);
      await writeAtomic(file, Buffer.from(r.stdout.trim()));
    },
    async remove() {
      await fsp.rm(file, { force: true });
    },
  };
}

/** The protected store of this OS, or why there is none. */
export function keyStoreFor(platform: NodeJS.Platform, dir: string, run: Runner = runCommand): KeyStore | undefined {
  if (platform === 'darwin') return keychainStore(run);
  if (platform === 'win32') return dpapiStore(dir, run);
  if (platform === 'linux' || platform === 'freebsd' || platform === 'openbsd') return secretToolStore(run);
  return undefined;
}

async function writeAtomic(file: string, data: Buffer): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await fsp.writeFile(tmp, data, { mode: 0o600 });
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

/** AES-256-GCM with the cache's name as associated data: a file renamed to another profile's name does not open. */
export function seal(key: Buffer, name: string, plain: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(name));
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return Buffer.concat([MAGIC, iv, cipher.getAuthTag(), body]);
}

/** The plain cache, or undefined for a file that is not ours, was changed, or was sealed with another key. */
export function open(key: Buffer, name: string, sealed: Buffer): string | undefined {
  if (sealed.length < MAGIC.length + 28 || !sealed.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  try {
    const iv = sealed.subarray(MAGIC.length, MAGIC.length + 12);
    const tag = sealed.subarray(MAGIC.length + 12, MAGIC.length + 28);
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(name));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(sealed.subarray(MAGIC.length + 28)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

export type CacheState = { persistent: true; store: string; dir: string } | { persistent: false; reason: string };

/** What MSAL hands a cache plugin (msal-node's TokenCacheContext, structurally). */
export interface CacheContext {
  cacheHasChanged: boolean;
  tokenCache: { serialize(): string; deserialize(cache: string): void };
}
export interface CachePlugin {
  beforeCacheAccess(ctx: CacheContext): Promise<void>;
  afterCacheAccess(ctx: CacheContext): Promise<void>;
}

const CACHE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The encrypted cache files of one agentid home, and the key that opens them. */
export class TokenVault {
  private key: Promise<Buffer | undefined> | undefined;
  readonly dir: string;

  constructor(
    home: string,
    private readonly store: KeyStore,
    private readonly onError: (message: string) => void = () => {},
  ) {
    this.dir = path.join(home, 'token-cache');
  }

  get storeLabel(): string {
    return this.store.label;
  }

  /** Whether the store answers; reads the key once per process. */
  async state(): Promise<CacheState> {
    try {
      await this.readKey();
      return { persistent: true, store: this.storeLabel, dir: this.dir };
    } catch (err) {
      return { persistent: false, reason: (err as Error).message };
    }
  }

  private readKey(): Promise<Buffer | undefined> {
    this.key ??= this.store.read().then((b64) => (b64 ? keyOf(b64) : undefined));
    return this.key;
  }

  private async keyForWrite(): Promise<Buffer> {
    const existing = await this.readKey();
    if (existing) return existing;
    await this.store.write(randomBytes(32).toString('base64'));
    // Two first commands may both create a key; whichever the store kept is the key.
    const kept = await this.store.read();
    if (!kept) throw new StoreUnavailable(`${this.store.label} did not keep the token cache key`);
    const key = keyOf(kept);
    this.key = Promise.resolve(key);
    return key;
  }

  private file(name: string): string {
    if (!CACHE_NAME.test(name)) throw new Error(`not a token cache name: ${name}`);
    return path.join(this.dir, `${name}.bin`);
  }

  async load(name: string): Promise<string | undefined> {
    const sealed = await fsp.readFile(this.file(name)).catch(() => undefined);
    if (!sealed) return undefined;
    const key = await this.readKey();
    return key ? open(key, name, sealed) : undefined;
  }

  async save(name: string, plain: string): Promise<void> {
    await writeAtomic(this.file(name), seal(await this.keyForWrite(), name, plain));
  }

  /** Deletes every cache file and the key in the OS store: `logout --all`. */
  async forget(): Promise<void> {
    await removeCacheFiles(path.dirname(this.dir));
    await this.store.remove();
    this.key = undefined;
  }

  /** MSAL's cache plugin for one cache name. A store that fails leaves MSAL's memory cache working. */
  plugin(name: string): CachePlugin {
    return {
      beforeCacheAccess: async (ctx) => {
        try {
          const plain = await this.load(name);
          if (plain) ctx.tokenCache.deserialize(plain);
        } catch (err) {
          this.onError(`token cache: not read (${(err as Error).message})`);
        }
      },
      afterCacheAccess: async (ctx) => {
        if (!ctx.cacheHasChanged) return;
        try {
          await this.save(name, ctx.tokenCache.serialize());
        } catch (err) {
          this.onError(`token cache: not saved, tokens stay in memory (${(err as Error).message})`);
        }
      },
    };
  }
}

function keyOf(b64: string): Buffer {
  const key = Buffer.from(b64, 'base64');
  if (key.length !== 32) throw new StoreUnavailable('the stored token cache key is not a 256-bit key; remove it with `agentid logout --all`');
  return key;
}

/**
 * Deletes the cache files of one cache name (both of @azure/identity's: ".nocae" and ".cae"), or
 * all of them; needs no store, so it works with the store gone. Returns the files it removed.
 */
export async function removeCacheFiles(home: string, name?: string): Promise<string[]> {
  const dir = path.join(home, 'token-cache');
  const files = await fsp.readdir(dir).catch(() => [] as string[]);
  const gone = files.filter((f) => f.endsWith('.bin') && (name === undefined || [`${name}.bin`, `${name}.nocae.bin`, `${name}.cae.bin`].includes(f)));
  await Promise.all(gone.map((f) => fsp.rm(path.join(dir, f), { force: true })));
  return gone;
}

/** The cache name for a profile: @azure/identity adds ".nocae" or ".cae" to it. */
export function cacheNameFor(profileName: string): string {
  return `agentid.${profileName}`;
}

export interface VaultOptions {
  home: string;
  env: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  run?: Runner;
  onError?: (message: string) => void;
}

/** The vault for this machine, or why tokens stay in memory. */
export function openVault(o: VaultOptions): TokenVault | { reason: string } {
  if ((o.env.AGENTID_TOKEN_CACHE ?? '').toLowerCase() === 'memory') return { reason: 'AGENTID_TOKEN_CACHE=memory' };
  const platform = o.platform ?? process.platform;
  const dir = path.join(o.home, 'token-cache');
  const store = keyStoreFor(platform, dir, o.run);
  if (!store) return { reason: `no protected store is known on ${platform}` };
  return new TokenVault(o.home, store, o.onError);
}
