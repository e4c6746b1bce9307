import { promises as fsp, constants as fsc } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { TenantState } from './state.js';
import { STATE_SCHEMA_VERSION } from './state.js';
import { runWithUndo } from './undo.js';
import { FileLock } from './lock.js';

// Handlers see the tenant only through this interface. `write` callbacks must validate fully
// before they mutate: a callback that throws leaves the store as it was (FileStore re-reads
// the file; MemoryStore restores its snapshot), but only because we pay for that, so handlers
// should not rely on it for control flow.
export interface Store {
  read<T>(fn: (state: TenantState) => T): Promise<T>;
  write<T>(fn: (state: TenantState) => T): Promise<T>;
  /** Replace the whole state (mock reset, fixtures). */
  replace(state: TenantState): Promise<void>;
  /** Persist anything a deferred store still holds (serve on shutdown). */
  flush(): Promise<void>;
}

export class MemoryStore implements Store {
  constructor(private state: TenantState) {}
  async read<T>(fn: (s: TenantState) => T): Promise<T> {
    return fn(this.state);
  }
  async write<T>(fn: (s: TenantState) => T): Promise<T> {
    return runWithUndo(this.state, fn);
  }
  async replace(state: TenantState): Promise<void> {
    this.state = structuredClone(state);
  }
  async flush(): Promise<void> {}
}

interface FileIdentity {
  mtimeMs: number;
  size: number;
  ino: number;
}

export interface FileStoreOptions {
  /** Builds the state when the file does not exist yet. */
  seed: () => TenantState;
  /**
   * 'sync' (the in-process CLI): every write takes the lock, re-reads the file if another
   * process changed it, writes a temp file, fsyncs and renames it over the old one.
   * 'deferred' (`mock serve`, the only writer while it runs): writes stay in memory and are
   * flushed atomically shortly after, so thousands of writes a second stay cheap.
   */
  mode?: 'sync' | 'deferred';
  lockTimeoutMs?: number;
}

/**
 * One JSON file under AGENTID_HOME. Several CLI processes may run at once: a write takes an
 * exclusive lock file (O_EXCL), re-reads the state if the file changed since this process
 * last saw it, applies the change and replaces the file by rename, so readers never see a
 * half-written file and no process overwrites another's write with a stale copy.
 */
export class FileStore implements Store {
  private cache: TenantState | null = null;
  private seen: FileIdentity | null = null;
  private readonly lock: FileLock;
  private dirty = false;
  private flushTimer: NodeJS.Timeout | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly opts: FileStoreOptions,
  ) {
    this.lock = new FileLock(`${file}.lock`, opts.lockTimeoutMs);
  }

  async read<T>(fn: (s: TenantState) => T): Promise<T> {
    if (this.opts.mode === 'deferred' && this.cache) return fn(this.cache);
    const state = await this.load();
    return fn(state);
  }

  write<T>(fn: (s: TenantState) => T): Promise<T> {
    // Writes from one process are serialised here; across processes, by the lock file.
    const run = this.chain.then(() => (this.opts.mode === 'deferred' ? this.writeDeferred(fn) : this.writeSync(fn)));
    this.chain = run.catch(() => undefined);
    return run;
  }

  async replace(state: TenantState): Promise<void> {
    await this.write((s) => {
      for (const k of Object.keys(s)) delete (s as unknown as Record<string, unknown>)[k];
      Object.assign(s, structuredClone(state));
    });
  }

  async flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    // Flushes run one after another: a flush() called while the timer's flush is still writing
    // (serve shutting down) must not see `dirty` already cleared and return before the disk has it.
    const run = this.flushing.then(async () => {
      if (!this.dirty || !this.cache) return;
      this.dirty = false;
      await this.withLock(() => this.persist(this.cache!));
    });
    this.flushing = run.catch(() => undefined);
    return run;
  }

  private async writeSync<T>(fn: (s: TenantState) => T): Promise<T> {
    return this.withLock(async () => {
      const state = await this.load();
      let result: T;
      try {
        result = fn(state);
      } catch (err) {
        this.cache = null; // a half-applied change must not survive in memory
        this.seen = null;
        throw err;
      }
      await this.persist(state);
      return result;
    });
  }

  private async writeDeferred<T>(fn: (s: TenantState) => T): Promise<T> {
    if (!this.cache) await this.withLock(() => this.load());
    // Unflushed writes exist only in memory, so a failed callback is undone in place.
    const result = runWithUndo(this.cache!, fn);
    this.dirty = true;
    if (!this.flushTimer) {
      // Each flush serialises and fsyncs the whole state; under a stream of writes it waits
      // ten times its own last cost, so persisting never takes more than ~10% of the server.
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        void this.flush();
      }, Math.max(100, 10 * this.lastPersistMs));
      this.flushTimer.unref();
    }
    return result;
  }

  /** Current state, re-read only when the file changed since we last saw it. */
  private async load(): Promise<TenantState> {
    let st: FileIdentity;
    try {
      const s = await fsp.stat(this.file);
      st = { mtimeMs: s.mtimeMs, size: s.size, ino: s.ino };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // First use: create the seeded tenant (under the lock, so two first runs agree).
      const seeded = this.opts.seed();
      await this.withLockIfFree(async () => {
        try {
          await fsp.access(this.file, fsc.F_OK);
        } catch {
          await this.persist(seeded);
        }
      });
      return this.load();
    }
    if (this.cache && this.seen && sameFile(this.seen, st)) return this.cache;
    const text = await fsp.readFile(this.file, 'utf8');
    const parsed = JSON.parse(text) as TenantState;
    if (parsed.schemaVersion !== STATE_SCHEMA_VERSION) {
      throw new Error(
        `The emulated tenant at ${this.file} has schema version ${parsed.schemaVersion}; this agentid needs ${STATE_SCHEMA_VERSION}. Run 'agentid mock reset' to recreate it.`,
      );
    }
    this.cache = parsed;
    this.seen = st;
    return parsed;
  }

  private lastPersistMs = 0;

  private async persist(state: TenantState): Promise<void> {
    const started = performance.now();
    await fsp.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const handle = await fsp.open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(JSON.stringify(state));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, this.file);
    const s = await fsp.stat(this.file);
    this.cache = state;
    this.seen = { mtimeMs: s.mtimeMs, size: s.size, ino: s.ino };
    this.lastPersistMs = performance.now() - started;
  }

  private withLockIfFree<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.held ? fn() : this.lock.run(fn);
  }

  private withLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.run(fn);
  }

}

function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.mtimeMs === b.mtimeMs && a.size === b.size && a.ino === b.ino;
}
