import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';

// The bulk journal: one append-only JSON-lines file per run, the record from which `bulk resume`
// finishes a run and `bulk undo` reverses it. Its order of records is what makes a kill -9 at any
// moment safe:
//   run      the command and its options;
//   item     one per planned change: the object, its state before the run, the change (the
//            whole plan is written, and fsynced, before the first write to Graph);
//   planned  the plan is complete (a journal without it changed nothing: rerun the command);
//   intent   the keys of a batch, fsynced before the batch is sent;
//   done / failed   each item's outcome, appended and fsynced as it arrives;
//   end      the run finished (resume has nothing left to do).
// An item with an intent and no later outcome may or may not have been applied: resume does not
// resend it blindly but asks Graph first (the job's reconcile()), so nothing is done twice. An
// item with neither was never sent. A torn last line (the process died mid-write) is ignored: it
// can only be an intent, whose batch was then never sent, or an outcome, which is then unknown
// and reconciled like any other.
//
// Writes are group-committed: outcomes that arrive while an fsync is running share the next one,
// so a 5,000-item run costs a few hundred fsyncs, not 5,000, and each outcome is still on disk
// before the engine moves past it. Journals hold ids, states and error codes, never secrets.

export const JOURNAL_VERSION = 1;

export interface RunRecord {
  t: 'run';
  v: number;
  id: string;
  kind: string;
  createdAt: string;
  /** The command line's meaning, for `bulk status` and for resuming with the same settings. */
  args: Record<string, unknown>;
  /** The journal this run undoes. */
  undoOf?: string;
}

export interface ItemRecord<Op = unknown> {
  t: 'item';
  key: string;
  /** Items of a lower phase finish before a higher phase starts (principal first). */
  phase: number;
  op: Op;
  label: string;
  objectType: string;
  objectId?: string;
  blueprint?: string;
  /** What Graph held before the run, as far as this change touches it. */
  prior?: unknown;
  /** Planned but needing no write (already in the wanted state, or already exists). */
  skip?: string;
  /** Another item's key that must be done first (an agent before its agent user). */
  after?: string;
}

export interface ErrorSummary {
  status: number;
  code: string;
  message: string;
  requestId?: string | undefined;
}

type Rec =
  | RunRecord
  | ItemRecord
  | { t: 'planned'; count: number }
  | { t: 'intent'; keys: string[]; at: string }
  | { t: 'done'; key: string; at: string; status: number; result?: unknown; reconciled?: boolean }
  | { t: 'failed'; key: string; at: string; error: ErrorSummary }
  | { t: 'end'; at: string };

export type ItemStatus = 'pending' | 'uncertain' | 'done' | 'failed' | 'skipped';

export interface ItemState<Op = unknown> {
  item: ItemRecord<Op>;
  status: ItemStatus;
  /** When the last unanswered attempt was sent (reconcile compares against it). */
  intentAt?: string;
  result?: unknown;
  error?: ErrorSummary;
  reconciled?: boolean;
  attempts: number;
}

export interface JournalState<Op = unknown> {
  file: string;
  run: RunRecord;
  planned: boolean;
  ended: boolean;
  items: ItemState<Op>[];
  byKey: Map<string, ItemState<Op>>;
  /** Lines cut short by a crash; their records never took effect. */
  tornLines: number;
}

/** Reads a journal; a torn final line is ignored, anything else unreadable is an error. */
export function readJournal<Op = unknown>(file: string): JournalState<Op> {
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  let run: RunRecord | undefined;
  let planned = false;
  let ended = false;
  let torn = 0;
  const items: ItemState<Op>[] = [];
  const byKey = new Map<string, ItemState<Op>>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.trim()) continue;
    let rec: Rec;
    try {
      rec = JSON.parse(line) as Rec;
    } catch {
      // The torn tail of a killed run (resume starts on a fresh line, so it may sit mid-file).
      torn++;
      continue;
    }
    switch (rec.t) {
      case 'run':
        run = rec;
        break;
      case 'item': {
        const st: ItemState<Op> = { item: rec as ItemRecord<Op>, status: rec.skip ? 'skipped' : 'pending', attempts: 0 };
        items.push(st);
        byKey.set(rec.key, st);
        break;
      }
      case 'planned':
        planned = true;
        break;
      case 'intent':
        for (const k of rec.keys) {
          const st = byKey.get(k);
          if (st && st.status !== 'done') {
            st.status = 'uncertain';
            st.intentAt = rec.at;
            st.attempts++;
          }
        }
        break;
      case 'done': {
        const st = byKey.get(rec.key);
        if (st) {
          st.status = 'done';
          st.result = rec.result;
          st.reconciled = rec.reconciled;
          delete st.error;
        }
        break;
      }
      case 'failed': {
        const st = byKey.get(rec.key);
        if (st && st.status !== 'done') {
          st.status = 'failed';
          st.error = rec.error;
        }
        break;
      }
      case 'end':
        ended = true;
        break;
    }
  }
  if (!run || run.v !== JOURNAL_VERSION) throw new Error(`${file} is not an agentid bulk journal (version ${JOURNAL_VERSION}).`);
  return { file, run, planned, ended, items, byKey, tornLines: torn };
}

export class JournalWriter {
  private pending: string[] = [];
  private flushing: Promise<void> | undefined;
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];

  private constructor(
    readonly file: string,
    private readonly handle: fsp.FileHandle,
    private readonly now: () => Date,
  ) {}

  /** A new journal holding the run and its whole plan, on disk before this returns. */
  static async create<Op>(file: string, run: Omit<RunRecord, 't' | 'v'>, items: ItemRecord<Op>[], now: () => Date = () => new Date()): Promise<JournalWriter> {
    await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const handle = await fsp.open(file, 'wx', 0o600);
    const w = new JournalWriter(file, handle, now);
    const lines = [JSON.stringify({ t: 'run', v: JOURNAL_VERSION, ...run }), ...items.map((i) => JSON.stringify(i)), JSON.stringify({ t: 'planned', count: items.length })];
    await handle.write(lines.join('\n') + '\n');
    await handle.sync();
    await syncDir(path.dirname(file));
    return w;
  }

  /** Appends to an existing journal (bulk resume). */
  static async append(file: string, now: () => Date = () => new Date()): Promise<JournalWriter> {
    const handle = await fsp.open(file, 'a');
    const w = new JournalWriter(file, handle, now);
    // A torn tail would glue itself to our first record: start on a fresh line.
    const stat = await handle.stat();
    if (stat.size > 0) {
      const buf = Buffer.alloc(1);
      const rh = await fsp.open(file, 'r');
      try {
        await rh.read(buf, 0, 1, stat.size - 1);
      } finally {
        await rh.close();
      }
      if (buf[0] !== 0x0a) await handle.write('\n');
    }
    return w;
  }

  intent(keys: string[]): Promise<void> {
    return this.write({ t: 'intent', keys, at: this.now().toISOString() });
  }

  done(key: string, status: number, result?: unknown, reconciled?: boolean): Promise<void> {
    return this.write({ t: 'done', key, at: this.now().toISOString(), status, ...(result !== undefined ? { result } : {}), ...(reconciled ? { reconciled } : {}) });
  }

  failed(key: string, error: ErrorSummary): Promise<void> {
    return this.write({ t: 'failed', key, at: this.now().toISOString(), error });
  }

  end(): Promise<void> {
    return this.write({ t: 'end', at: this.now().toISOString() });
  }

  async close(): Promise<void> {
    await this.flushing;
    await this.handle.close();
  }

  private write(rec: Rec): Promise<void> {
    this.pending.push(JSON.stringify(rec));
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.flushing) this.flushing = this.flushLoop();
    return p;
  }

  private async flushLoop(): Promise<void> {
    while (this.pending.length) {
      const lines = this.pending;
      const waiters = this.waiters;
      this.pending = [];
      this.waiters = [];
      try {
        await this.handle.write(lines.join('\n') + '\n');
        await this.handle.datasync();
        for (const w of waiters) w.resolve();
      } catch (err) {
        for (const w of waiters) w.reject(err);
      }
    }
    this.flushing = undefined;
  }
}

async function syncDir(dir: string): Promise<void> {
  try {
    const h = await fsp.open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    /* not every platform can fsync a directory */
  }
}

/** AGENTID_HOME/journals/2026-05-01T10-11-12Z-disable-3f2a.jsonl */
export function defaultJournalPath(home: string, kind: string, now: Date, suffix: string): string {
  const stamp = now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  return path.join(home, 'journals', `${stamp}-${kind}-${suffix}.jsonl`);
}

/**
 * The newest journal in $AGENTID_HOME/journals (`bulk undo --last`): names start with their
 * run's UTC time, so they sort by age; runs started in the same second go by modification time.
 */
export async function newestJournal(home: string): Promise<string | undefined> {
  const dir = path.join(home, 'journals');
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).filter((n) => n.endsWith('.jsonl'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const stamped = await Promise.all(names.map(async (n) => ({ n, stamp: n.slice(0, 20), mtime: (await fsp.stat(path.join(dir, n))).mtimeMs })));
  stamped.sort((a, b) => (a.stamp === b.stamp ? a.mtime - b.mtime : a.stamp < b.stamp ? -1 : 1));
  const last = stamped.at(-1);
  return last ? path.join(dir, last.n) : undefined;
}
