import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { FileLock } from './lock.js';

// The emulated tenant's sign-in and audit logs. They do not live in tenant.json: a tenant with
// 200,000 sign-ins would make every directory write rewrite hundreds of megabytes. Each log is
// an append-only NDJSON file next to tenant.json (mock/signIns.ndjson, mock/directoryAudits.ndjson)
// and, in memory, an array kept in time order so that a page is a binary search plus a scan.
//
// Several processes may append at once (the in-process CLI, `mock signins generate`, a served
// emulator): appends take the same kind of O_EXCL lock file tenant.json uses, and each process
// reads only the bytes appended since it last looked, so a served emulator sees sign-ins that
// `mock signins generate` wrote from another process without re-reading the whole file.

export type LogKind = 'signIns' | 'directoryAudits';
export const LOG_KINDS: readonly LogKind[] = ['signIns', 'directoryAudits'];

/** The property that orders each log (newest first in every list, GD signin-list.md). */
export const TIME_PROPERTY: Record<LogKind, string> = { signIns: 'createdDateTime', directoryAudits: 'activityDateTime' };

/**
 * Retention (ED reference-reports-data-retention.md): 7 days on Microsoft Entra ID Free, 30 days
 * on P1/P2, for both sign-ins and audit logs. The sign-in API needs P1/P2 anyway (GD signin.md),
 * so the emulated Contoso tenant is a P2 tenant: 30 days unless told otherwise.
 */
export const RETENTION_DAYS = { free: 7, premium: 30 } as const;
export type LicenseTier = keyof typeof RETENTION_DAYS;

/** The emulated tenant's licence: AGENTID_MOCK_LICENSE=free gives Free's 7 days and no sign-in API. */
export function licenseTier(env: NodeJS.ProcessEnv = process.env): LicenseTier {
  return env.AGENTID_MOCK_LICENSE?.trim().toLowerCase() === 'free' ? 'free' : 'premium';
}
const DAY_MS = 24 * 3600 * 1000;

export type LogRecord = Record<string, unknown> & { id: string };

export interface LogEntry {
  /** Epoch milliseconds of the record's time property. */
  t: number;
  record: LogRecord;
}

export interface LogStore {
  append(kind: LogKind, records: LogRecord[]): Promise<void>;
  /** Entries in ascending time order (ties by id), already limited to the retention window. */
  entries(kind: LogKind, now: Date): Promise<readonly LogEntry[]>;
  /** Persist what is still pending (mock serve on shutdown). */
  flush(): Promise<void>;
  /** Forget every record (mock reset). */
  clear(): Promise<void>;
  readonly tier: LicenseTier;
  readonly retentionDays: number;
}

function entryOf(kind: LogKind, record: LogRecord): LogEntry {
  const t = Date.parse(String(record[TIME_PROPERTY[kind]]));
  return { t: Number.isNaN(t) ? 0 : t, record };
}

export function compareEntries(a: LogEntry, b: LogEntry): number {
  return a.t - b.t || (a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0);
}

/** First index whose entry is not before (t, id) in ascending order. */
export function lowerBound(list: readonly LogEntry[], t: number, id: string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const e = list[mid]!;
    if (e.t < t || (e.t === t && e.record.id < id)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Merges records into a sorted list; appends in time order (the usual case) cost nothing extra. */
function insertSorted(list: LogEntry[], added: LogEntry[]): void {
  let sorted = true;
  for (const e of added) {
    const last = list[list.length - 1];
    if (last && compareEntries(last, e) > 0) sorted = false;
    list.push(e);
  }
  if (!sorted) list.sort(compareEntries);
}

function withinRetention(list: readonly LogEntry[], now: Date, days: number): readonly LogEntry[] {
  const cutoff = now.getTime() - days * DAY_MS;
  const start = lowerBound(list, cutoff, '');
  return start === 0 ? list : list.slice(start);
}

/** Logs held only in memory: unit tests and emulators built without a home directory. */
export class MemoryLogStore implements LogStore {
  private readonly lists: Record<LogKind, LogEntry[]> = { signIns: [], directoryAudits: [] };
  readonly retentionDays: number;
  constructor(readonly tier: LicenseTier = 'premium') {
    this.retentionDays = RETENTION_DAYS[tier];
  }
  async append(kind: LogKind, records: LogRecord[]): Promise<void> {
    insertSorted(this.lists[kind], records.map((r) => entryOf(kind, r)));
  }
  async entries(kind: LogKind, now: Date): Promise<readonly LogEntry[]> {
    return withinRetention(this.lists[kind], now, this.retentionDays);
  }
  async flush(): Promise<void> {}
  async clear(): Promise<void> {
    this.lists.signIns = [];
    this.lists.directoryAudits = [];
  }
}

interface FileLog {
  list: LogEntry[];
  /** Bytes of the file already read into `list`, and the file they belong to. */
  offset: number;
  ino: number;
  /** Lines this process has added but not yet written (deferred mode). */
  pending: string[];
  /** The read of the file's tail in progress: reads take turns (see readTail). */
  reading?: Promise<void>;
}

export interface FileLogStoreOptions {
  /**
   * 'sync' (the in-process CLI): every append is written under the lock before it returns.
   * 'deferred' (`mock serve`): appends are in memory at once and written shortly after, so a
   * burst of writes costs one file append.
   */
  mode?: 'sync' | 'deferred';
  tier?: LicenseTier;
  lockTimeoutMs?: number;
}

export class FileLogStore implements LogStore {
  private readonly logs = new Map<LogKind, FileLog>();
  private flushTimer: NodeJS.Timeout | null = null;
  readonly tier: LicenseTier;
  readonly retentionDays: number;

  constructor(
    readonly dir: string,
    private readonly opts: FileLogStoreOptions = {},
  ) {
    this.tier = opts.tier ?? 'premium';
    this.retentionDays = RETENTION_DAYS[this.tier];
  }

  fileOf(kind: LogKind): string {
    return path.join(this.dir, `${kind}.ndjson`);
  }

  async append(kind: LogKind, records: LogRecord[]): Promise<void> {
    if (records.length === 0) return;
    const log = await this.log(kind);
    const lines = records.map((r) => JSON.stringify(r) + '\n');
    if (this.opts.mode === 'deferred') {
      insertSorted(log.list, records.map((r) => entryOf(kind, r)));
      log.pending.push(...lines);
      this.scheduleFlush();
      return;
    }
    await this.withLock(async () => {
      await this.readTail(kind, log);
      await this.writeLines(kind, log, lines);
      insertSorted(log.list, records.map((r) => entryOf(kind, r)));
    });
  }

  async entries(kind: LogKind, now: Date): Promise<readonly LogEntry[]> {
    const log = await this.log(kind);
    // Another process may have appended (generate, a second CLI): pick up only the new bytes.
    await this.readTail(kind, log);
    return withinRetention(log.list, now, this.retentionDays);
  }

  private flushing: Promise<void> = Promise.resolve();

  /** Flushes take turns (the timer's, and the served emulator's before each answer, issue 11). */
  flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (![...this.logs.values()].some((l) => l.pending.length > 0)) return this.flushing;
    const run = this.flushing.then(() => this.flushNow());
    this.flushing = run.catch(() => undefined);
    return run;
  }

  private async flushNow(): Promise<void> {
    const dirty = [...this.logs.entries()].filter(([, l]) => l.pending.length > 0);
    if (dirty.length === 0) return;
    await this.withLock(async () => {
      for (const [kind, log] of dirty) {
        const lines = log.pending;
        log.pending = [];
        // Lines other processes appended meanwhile are read (and merged) before ours are written,
        // so our own lines are never read back as if they were new.
        await this.readTail(kind, log);
        await this.writeLines(kind, log, lines);
      }
    });
  }

  async clear(): Promise<void> {
    await this.withLock(async () => {
      for (const kind of LOG_KINDS) {
        await fsp.rm(this.fileOf(kind), { force: true });
        this.logs.set(kind, { list: [], offset: 0, ino: 0, pending: [] });
      }
    });
  }

  /**
   * Rewrites a log without the records past retention. Appends never do this (they must stay
   * cheap); `mock signins generate` calls it, since it is what fills logs up.
   */
  async compact(now: Date): Promise<void> {
    await this.withLock(async () => {
      for (const kind of LOG_KINDS) {
        const log = await this.log(kind);
        await this.readTail(kind, log);
        const kept = withinRetention(log.list, now, this.retentionDays);
        if (kept.length === log.list.length) continue;
        const file = this.fileOf(kind);
        const tmp = `${file}.${process.pid}.tmp`;
        await fsp.writeFile(tmp, kept.map((e) => JSON.stringify(e.record) + '\n').join(''), { mode: 0o600 });
        await fsp.rename(tmp, file);
        const st = await fsp.stat(file);
        log.list = [...kept];
        log.offset = st.size;
        log.ino = st.ino;
      }
    });
  }

  private async log(kind: LogKind): Promise<FileLog> {
    let log = this.logs.get(kind);
    if (!log) {
      log = { list: [], offset: 0, ino: 0, pending: [] };
      this.logs.set(kind, log);
    }
    return log;
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      void this.flush().catch(() => undefined);
    }, 100);
    this.flushTimer.unref();
  }

  /**
   * Reads what was appended to the file since this process last looked. Reads of one log take
   * turns: two that overlapped (two queries to a served emulator, or a query and a flush) both
   * started from the same offset and added the same records twice.
   */
  private readTail(kind: LogKind, log: FileLog): Promise<void> {
    const next = (log.reading ?? Promise.resolve()).then(() => this.readTailNow(kind, log));
    log.reading = next.catch(() => undefined);
    return next;
  }

  private async readTailNow(kind: LogKind, log: FileLog): Promise<void> {
    let st: { size: number; ino: number };
    try {
      st = await fsp.stat(this.fileOf(kind));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (log.offset > 0) Object.assign(log, { list: log.pending.map((l) => entryOf(kind, JSON.parse(l) as LogRecord)), offset: 0, ino: 0 }); // reset elsewhere
      return;
    }
    if (st.ino !== log.ino || st.size < log.offset) {
      // Replaced (compaction, reset): start over, keeping what this process has not written yet.
      log.list = log.pending.map((l) => entryOf(kind, JSON.parse(l) as LogRecord)).sort(compareEntries);
      log.offset = 0;
      log.ino = st.ino;
    }
    if (st.size === log.offset) return;
    const handle = await fsp.open(this.fileOf(kind), 'r');
    try {
      const length = st.size - log.offset;
      const buf = Buffer.alloc(length);
      await handle.read(buf, 0, length, log.offset);
      // Only whole lines: a writer in another process may be mid-append (it holds the lock, we
      // may not), so a trailing partial line is left for next time.
      const end = buf.lastIndexOf(0x0a);
      if (end < 0) return;
      const text = buf.subarray(0, end + 1).toString('utf8');
      const added: LogEntry[] = [];
      for (const line of text.split('\n')) {
        if (!line) continue;
        try {
          added.push(entryOf(kind, JSON.parse(line) as LogRecord));
        } catch {
          /* a torn line from a crashed writer: skip it rather than lose the whole log */
        }
      }
      insertSorted(log.list, added);
      log.offset += end + 1;
    } finally {
      await handle.close();
    }
  }

  private async writeLines(kind: LogKind, log: FileLog, lines: string[]): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const text = lines.join('');
    const handle = await fsp.open(this.fileOf(kind), 'a', 0o600);
    try {
      await handle.writeFile(text);
      const st = await handle.stat();
      log.offset = st.size;
      log.ino = st.ino;
    } finally {
      await handle.close();
    }
  }

  private lockFile: FileLock | undefined;

  private withLock<T>(fn: () => Promise<T>): Promise<T> {
    this.lockFile ??= new FileLock(path.join(this.dir, 'logs.lock'), this.opts.lockTimeoutMs);
    return this.lockFile.run(fn);
  }
}

/** The log directory for a tenant state file: the same mock/ folder. */
export function logDirOf(stateFile: string): string {
  return path.dirname(stateFile);
}
