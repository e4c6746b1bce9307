import { existsSync, promises as fsp, renameSync } from 'node:fs';

// The served emulator's write-ahead log (issue 11). `mock serve` keeps the tenant in memory and
// rewrites tenant.json only now and then (a checkpoint serialises the whole tenant: ~10% of the
// server's time at most). Every write also appends one line to tenant.json.wal: the new value of
// each unit the write changed (['objects', id], ['tenant'], …, as runWithUndo reports them).
// The server answers a request only once the lines of every write before its answer are written
// and fsynced (group commit: the requests answered together share one fsync), so kill -9 loses
// no write that was answered: the next process that opens the tenant replays the log onto
// tenant.json.
//
// A checkpoint renames the log to tenant.json.wal.old at the instant it serialises the tenant,
// writes tenant.json, then deletes the old log. Replaying a line is idempotent (it sets final
// values, shorter paths first), so a crash at any point leaves snapshot + logs equal to every
// answered write, and more is harmless: lines written to the old log after the rename hold only
// writes the snapshot already has.

type Op = [string[], unknown] | [string[]];

function valueAt(root: unknown, p: string[]): { has: boolean; value: unknown } {
  let cur = root as Record<string, unknown> | undefined;
  for (let i = 0; i < p.length - 1; i++) {
    const next = cur?.[p[i]!];
    if (typeof next !== 'object' || next === null) return { has: false, value: undefined };
    cur = next as Record<string, unknown>;
  }
  const last = p[p.length - 1]!;
  return cur && Object.prototype.hasOwnProperty.call(cur, last) ? { has: true, value: cur[last] } : { has: false, value: undefined };
}

/** One log line for a write that changed `paths` of `state` (now holding the new values). */
export function encodeEntry(state: object, paths: string[][]): string {
  const ops: Op[] = [...paths]
    .sort((a, b) => a.length - b.length)
    .map((p) => {
      const { has, value } = valueAt(state, p);
      return has && value !== undefined ? [p, value] : [p];
    });
  return JSON.stringify(ops) + '\n';
}

/** Applies log text to a state in place; a torn last line (a crash mid-append) is skipped. */
export function applyLog(state: object, text: string): number {
  let applied = 0;
  for (const line of text.split('\n')) {
    if (!line) continue;
    let ops: Op[];
    try {
      ops = JSON.parse(line) as Op[];
    } catch {
      continue;
    }
    for (const op of ops) {
      const p = op[0];
      let cur = state as Record<string, unknown>;
      for (let i = 0; i < p.length - 1; i++) {
        const k = p[i]!;
        if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
        cur = cur[k] as Record<string, unknown>;
      }
      const last = p[p.length - 1]!;
      if (op.length === 2) cur[last] = op[1];
      else delete cur[last];
    }
    applied++;
  }
  return applied;
}

export function walFiles(stateFile: string): { current: string; old: string } {
  return { current: `${stateFile}.wal`, old: `${stateFile}.wal.old` };
}

/** Reads both logs (old first), '' where absent. */
export async function readLogs(stateFile: string): Promise<string> {
  const { current, old } = walFiles(stateFile);
  const read = (f: string) => fsp.readFile(f, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  return (await read(old)) + (await read(current));
}

export async function hasLogs(stateFile: string): Promise<boolean> {
  const { current, old } = walFiles(stateFile);
  const size = (f: string) => fsp.stat(f).then((s) => s.size, () => 0);
  return (await size(old)) + (await size(current)) > 0;
}

export async function removeLogs(stateFile: string): Promise<void> {
  const { current, old } = walFiles(stateFile);
  await fsp.rm(old, { force: true });
  await fsp.rm(current, { force: true });
}

export class WriteAheadLog {
  private queue: string[] = [];
  private enqueued = 0;
  private durableSeq = 0;
  private committing: Promise<void> | null = null;
  /** fsync calls made, and lines written (bench and tests read them). */
  readonly stats = { commits: 0, lines: 0 };

  constructor(private readonly stateFile: string) {}

  append(line: string): void {
    this.queue.push(line);
    this.enqueued++;
  }

  /** True when some appended line is not yet on disk. */
  get pending(): boolean {
    return this.durableSeq < this.enqueued;
  }

  /** Resolves once every line appended before the call is written and fsynced. */
  async durable(): Promise<void> {
    const target = this.enqueued;
    while (this.durableSeq < target) {
      this.committing ??= this.commit().finally(() => (this.committing = null));
      await this.committing;
    }
  }

  private async commit(): Promise<void> {
    const lines = this.queue;
    const upto = this.enqueued;
    this.queue = [];
    if (lines.length) {
      // Opened per commit, by name: a checkpoint may have renamed the file meanwhile (rotate).
      const h = await fsp.open(walFiles(this.stateFile).current, 'a', 0o600);
      try {
        await h.writeFile(lines.join(''));
        await h.datasync();
      } finally {
        await h.close();
      }
      this.stats.commits++;
      this.stats.lines += lines.length;
    }
    this.durableSeq = Math.max(this.durableSeq, upto);
  }

  /**
   * At the instant a checkpoint serialises the state: the current log becomes the old one (a
   * commit already under way finishes into it; it holds only writes the checkpoint has).
   */
  rotateSync(): void {
    const { current, old } = walFiles(this.stateFile);
    // An old log a failed checkpoint left stays (its lines are older than this checkpoint's
    // state, so dropOld may remove it once this one is on disk); the current one then keeps
    // growing until the next checkpoint.
    if (existsSync(old)) return;
    try {
      renameSync(current, old);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  /** After the checkpoint is on disk. */
  async dropOld(): Promise<void> {
    await fsp.rm(walFiles(this.stateFile).old, { force: true });
  }
}
