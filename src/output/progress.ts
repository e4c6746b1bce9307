// Progress of a bulk run on stderr (stdout stays the final report). On a terminal: one line
// redrawn in place, at most ten times a second: bar, done/total, failed, throttled, rate, ETA.
// Elsewhere (CI logs, pipes): a plain line every few seconds, so a log shows the run is alive
// without filling up.

export interface ProgressCounts {
  total: number;
  done: number;
  failed: number;
  skipped: number;
  throttled: number;
}

export interface ProgressOptions {
  tty: boolean;
  quiet?: boolean;
  /** Off a terminal: a line at most this often. */
  intervalMs?: number;
  now?: () => number;
  width?: number;
}

export interface ProgressView {
  update(p: ProgressCounts): void;
  finish(): void;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** The figures both renderings share; `startDone` excludes work finished before a resume. */
export function progressLine(p: ProgressCounts, elapsedMs: number, startDone: number): string {
  const work = p.total - p.skipped;
  const finished = p.done + p.failed - startDone;
  const rate = elapsedMs > 0 ? (finished * 1000) / elapsedMs : 0;
  const left = work - p.done - p.failed;
  const eta = rate > 0 ? formatDuration(left / rate) : '?';
  return `${p.done}/${work} done · ${p.failed} failed · ${p.throttled} throttled · ${rate.toFixed(rate < 10 ? 1 : 0)}/s · ETA ${eta}`;
}

export function createProgress(err: NodeJS.WritableStream, opts: ProgressOptions): ProgressView {
  const now = opts.now ?? Date.now;
  const started = now();
  let startDone: number | undefined;
  let last = 0;
  let latest: ProgressCounts | undefined;
  const interval = opts.intervalMs ?? 5000;
  const width = opts.width ?? 24;
  const draw = (p: ProgressCounts, final: boolean) => {
    const elapsed = now() - started;
    const line = progressLine(p, elapsed, startDone ?? 0);
    if (opts.tty) {
      const work = Math.max(1, p.total - p.skipped);
      const filled = Math.min(width, Math.round(((p.done + p.failed) / work) * width));
      err.write(`\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${line}${final ? '\n' : ''}`);
    } else {
      err.write(`progress: ${line}\n`);
    }
  };
  return {
    update(p) {
      if (opts.quiet) return;
      startDone ??= p.done + p.failed;
      latest = { ...p };
      const t = now();
      if (t - last >= (opts.tty ? 100 : interval)) {
        last = t;
        draw(latest, false);
      }
    },
    finish() {
      if (opts.quiet || !latest) return;
      draw(latest, true);
    },
  };
}
