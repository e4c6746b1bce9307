// Client-side pacing for bulk runs: stay inside Graph's identity-and-access quotas instead of
// running into them (GD concepts/throttling-limits.md, "Identity and access service limits":
// per app + tenant, 3,000 writes per 2 min 30 s and 3,500–8,000 resource units per 10 s; GD
// concepts/throttling.md: "reduce the number of operations per request … reduce the frequency
// of calls"). Two token buckets mirror those budgets; a batch takes its writes and resource
// units before it is sent, and waits when they are not there.
//
// The buckets start full: a fresh app may burst up to its quota [INFERRED: the docs give
// budgets per window, not how they refill]. Another client of the same app can have spent part
// of it, so the pacer also listens to the service:
//   - x-ms-throttle-limit-percentage (sent once more than 80% of a budget is used) lowers our
//     estimate of what is left to what the service says is left;
//   - a 429 empties the buckets and holds every sender until Retry-After has passed, so one
//     refusal costs one round of in-flight requests, not a storm of retries.
// The tenant-size budget defaults to S (3,500 RU per 10 s), the smallest, as a client cannot
// know the tenant's user count cheaply.
//
// AGENTID_TIME_SCALE (the same knob as `mock serve --time-scale`) shortens the windows for an
// emulator whose clock runs faster; a real tenant is always 1.

import { abortableSleep } from './middleware/retry.js';

export const WRITE_QUOTA = 3000;
export const WRITE_WINDOW_MS = 150_000;
export const RU_QUOTA_SMALL = 3500;
export const RU_WINDOW_MS = 10_000;

export interface PacerOptions {
  writeQuota?: number;
  writeWindowMs?: number;
  ruQuota?: number;
  ruWindowMs?: number;
  timeScale?: number;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface Cost {
  writes: number;
  ru: number;
}

class Bucket {
  level: number;
  private updated: number;
  readonly perMs: number;
  constructor(
    readonly capacity: number,
    windowMs: number,
    now: number,
  ) {
    this.level = capacity;
    this.updated = now;
    this.perMs = capacity / windowMs;
  }
  refill(now: number): void {
    this.level = Math.min(this.capacity, this.level + (now - this.updated) * this.perMs);
    this.updated = now;
  }
  waitMs(cost: number): number {
    // A single request larger than the bucket can never fit; let it go when the bucket is full.
    const need = Math.min(cost, this.capacity);
    return this.level >= need ? 0 : (need - this.level) / this.perMs;
  }
}

export class Pacer {
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly writes: Bucket;
  private readonly ru: Bucket;
  private holdUntil = 0;
  private queue: Promise<void> = Promise.resolve();
  /** How long senders waited in total, and how many 429s were seen (for the progress line). */
  waitedMs = 0;
  throttled = 0;

  constructor(opts: PacerOptions = {}) {
    const scale = opts.timeScale && opts.timeScale > 0 ? opts.timeScale : 1;
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms, signal) => sleepMs(ms, signal));
    const t = this.now();
    this.writes = new Bucket(opts.writeQuota ?? WRITE_QUOTA, (opts.writeWindowMs ?? WRITE_WINDOW_MS) / scale, t);
    this.ru = new Bucket(opts.ruQuota ?? RU_QUOTA_SMALL, (opts.ruWindowMs ?? RU_WINDOW_MS) / scale, t);
  }

  /**
   * Waits until `cost` fits, then takes it. Callers are served in arrival order (a large batch
   * is not overtaken forever by small ones).
   */
  acquire(cost: Cost, signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(() => this.take(cost, signal));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async take(cost: Cost, signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const now = this.now();
      this.writes.refill(now);
      this.ru.refill(now);
      const wait = Math.max(this.holdUntil - now, this.writes.waitMs(cost.writes), this.ru.waitMs(cost.ru));
      if (wait <= 0) {
        this.writes.level -= cost.writes;
        this.ru.level -= cost.ru;
        return;
      }
      this.waitedMs += wait;
      await this.sleep(Math.ceil(wait), signal);
    }
  }

  /** A 429: nothing is left, and nobody sends before Retry-After has passed. */
  throttledFor(retryAfterMs: number): void {
    this.throttled++;
    const now = this.now();
    this.writes.refill(now);
    this.ru.refill(now);
    this.writes.level = Math.min(this.writes.level, 0);
    this.ru.level = Math.min(this.ru.level, 0);
    this.holdUntil = Math.max(this.holdUntil, now + retryAfterMs);
  }

  /**
   * x-ms-throttle-limit-percentage: the service's view of how much of a budget is used
   * (0.8–1.8), as it was when it evaluated a request sent at `sentAt`. The budget has refilled
   * since, so that is credited: without it, every answer would throw away a round trip's worth
   * of refill, and with 500 ms round trips a run took twice the time the quota allows.
   */
  observeLimitPercentage(value: string | null | undefined, sentAt?: number): void {
    if (!value) return;
    const used = Number(value);
    if (!Number.isFinite(used) || used < 0.8) return;
    const now = this.now();
    const since = Math.max(0, now - (sentAt ?? now));
    // The header does not say which budget it is about: assume both, which only slows us down.
    for (const b of [this.writes, this.ru]) {
      b.refill(now);
      b.level = Math.min(b.level, Math.max(0, 1 - used) * b.capacity + since * b.perMs);
    }
  }

  /** Writes per second the write budget sustains (for ETAs). */
  get sustainedWritesPerSecond(): number {
    return this.writes.perMs * 1000;
  }
}

/** Abortable sleep; one implementation for the retry middleware, the pacer and the batch engine. */
export const sleepMs = abortableSleep;

/** The pacer for a target: AGENTID_TIME_SCALE only makes sense against a served emulator. */
export function timeScaleFromEnv(env: NodeJS.ProcessEnv): number {
  const n = Number(env.AGENTID_TIME_SCALE ?? '1');
  return Number.isFinite(n) && n > 0 ? n : 1;
}
