import { parseRetryAfter } from '../errors.js';
import { ChainedMiddleware, urlOf, type Context } from './types.js';

export interface RetryOptions {
  /** Attempts after the first. */
  maxRetries?: number;
  /** No single wait longer than this, whatever Retry-After says. */
  maxDelayMs?: number;
  /** First backoff when the response names no Retry-After; doubles per attempt. */
  baseDelayMs?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  now?: () => Date;
  /** Told about every wait, e.g. to count throttling in a progress bar. */
  onRetry?: (info: { attempt: number; status: number; delayMs: number; method: string; path: string }) => void;
}

const RETRY_STATUSES = new Set([429, 503, 504]);

/**
 * Bounded retry for 429/503/504 (GD concepts/throttling.md): wait what Retry-After says
 * (delta-seconds or an HTTP date), otherwise an exponential backoff with full jitter, never
 * more than maxDelayMs at once and never more than maxRetries times, after which the last
 * response goes up the chain as it is. Writes are retried after 429 and 503 too: Graph refuses
 * those before it acts. A 504 is different: the gateway gave up waiting, and the request may
 * have been applied, so a POST (a create, an action, a $ref add) is not resent after a 504 —
 * the caller sees the error and can check before trying again. Other verbs are idempotent here. cli-microsoft365's
 * request.ts retries 429 forever by recursion; this is the bounded alternative.
 */
export class RetryMiddleware extends ChainedMiddleware {
  private readonly maxRetries: number;
  private readonly maxDelayMs: number;
  private readonly baseDelayMs: number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => Date;

  constructor(private readonly opts: RetryOptions = {}) {
    super();
    this.maxRetries = opts.maxRetries ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
    this.baseDelayMs = opts.baseDelayMs ?? 1_000;
    this.sleep = opts.sleep ?? abortableSleep;
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? (() => new Date());
  }

  async execute(context: Context): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      await this.callNext(context);
      const res = context.response;
      if (!res || !RETRY_STATUSES.has(res.status) || attempt >= this.maxRetries) return;
      if (res.status === 504 && (context.options?.method ?? 'GET').toUpperCase() === 'POST') return;
      const hinted = parseRetryAfter(res.headers.get('Retry-After'), this.now());
      const backoff = this.baseDelayMs * 2 ** attempt * this.random();
      const delayMs = Math.min(this.maxDelayMs, hinted ?? backoff);
      const url = urlOf(context);
      this.opts.onRetry?.({ attempt: attempt + 1, status: res.status, delayMs, method: context.options?.method ?? 'GET', path: url.pathname });
      // Drain the discarded body so the connection can be reused.
      await res.body?.cancel().catch(() => undefined);
      await this.sleep(delayMs, context.options?.signal ?? undefined);
      context.response = undefined;
    }
  }
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
