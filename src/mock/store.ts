import { promises as fsp, constants as fsc } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { TenantState } from './state.js';
import { STATE_SCHEMA_VERSION } from './state.js';
import { runWithUndo } from './undo.js';
import { FileLock } from './lock.js';
import { WriteAheadLog, applyLog, encodeEntry, hasLogs, readLogs, removeLogs } from './wal.js';
import { ServeRunningError, liveServeSync } from './serveRecord.js';

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
  /** Resolves once every write made so far survives a kill -9 (the served store's log, issue 11). */
  durable?(): Promise<void>;
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
   * 'deferred' (`mock serve`, the only writer while it runs: its serve record keeps every other
   * process off, serveRecord.ts): writes stay in memory, each appends its changes to a
   * write-ahead log that durable() fsyncs before the server answers (wal.ts), and the whole
   * state is checkpointed atomically shortly after, so thousands of writes a second stay cheap
   * and kill -9 loses no answered write.
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
  private readonly wal: WriteAheadLog | null;

  constructor(
    readonly file: string,
    private readonly opts: FileStoreOptions,
  ) {
    this.lock = new FileLock(`${file}.lock`, opts.lockTimeoutMs);
    this.wal = opts.mode === 'deferred' ? new WriteAheadLog(file) : null;
  }

  /** Deferred: every write so far is in the fsynced write-ahead log. Sync writes are at once. */
  durable(): Promise<void> {
    return this.wal ? this.wal.durable() : Promise.resolve();
  }

  /** Deferred, on shutdown: the last checkpoint, then no log left behind. */
  async close(): Promise<void> {
    await this.flush();
    await this.durable();
    if (this.wal) await this.withLock(() => removeLogs(this.file));
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
      await this.withLock(async () => {
        const state = this.cache!;
        // Serialised and the log rotated in one tick: the old log then holds nothing newer.
        const text = JSON.stringify(state);
        this.wal?.rotateSync();
        await this.persist(state, text);
        await this.wal?.dropOld();
      });
    });
    this.flushing = run.catch(() => undefined);
    return run;
  }

  private async writeSync<T>(fn: (s: TenantState) => T): Promise<T> {
    return this.withLock(async () => {
      // Checked under the lock a starting `mock serve` takes to claim the home: a write either
      // lands before the server reads the file, or is refused.
      const served = liveServeSync(this.file);
      if (served) throw new ServeRunningError(served, 'this command cannot write its file directly', 'run the command again: it then goes through the served emulator');
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
    // Unflushed writes exist only in memory, so a failed callback is undone in place; one that
    // succeeds logs the new values of what it changed.
    const state = this.cache!;
    const result = runWithUndo(state, fn, (paths) => {
      if (paths.length) this.wal!.append(encodeEntry(state, paths));
    });
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
    // A served emulator's write-ahead log: while it runs, read it with the snapshot (every
    // answered write); once its process is gone (kill -9), replay it into the file.
    if (await hasLogs(this.file)) {
      if (this.opts.mode !== 'deferred' && liveServeSync(this.file)) return this.withLockIfFree(() => this.durableView());
      await this.withLockIfFree(() => this.recover());
    }
    return this.loadSnapshot();
  }

  private async durableView(): Promise<TenantState> {
    const state = await this.loadSnapshot();
    const copy = structuredClone(state);
    applyLog(copy, await readLogs(this.file));
    return copy;
  }

  /** Replays a dead server's log into tenant.json (under the lock), then removes the log. */
  private async recover(): Promise<void> {
    if (!(await hasLogs(this.file))) return;
    this.cache = null;
    this.seen = null;
    const state = await this.loadSnapshot();
    applyLog(state, await readLogs(this.file));
    await this.persist(state);
    await removeLogs(this.file);
  }

  private async loadSnapshot(): Promise<TenantState> {
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
      return this.loadSnapshot();
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

  private async persist(state: TenantState, text = JSON.stringify(state)): Promise<void> {
    const started = performance.now();
    await fsp.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const handle = await fsp.open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(text);
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
