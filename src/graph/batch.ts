import type { ApiVersion, GraphClient } from './client.js';
import { GraphRequestError, graphErrorFromBody, parseRetryAfter } from './errors.js';
import { sleepMs, type Pacer } from './pacer.js';

// JSON $batch (GD concepts/json-batching.md) and the engine that runs many independent requests
// through it: at most 20 requests per batch, several batches in flight, each item's answer read
// on its own (the batch itself answers 200 even when every item failed), and every failed item
// turned into a GraphRequestError by graphErrorFromBody, the one place such errors are made.
//
// Retries are per item and depend on what the status says about the directory's state:
//   429, 503   refused before anything happened (GD concepts/throttling.md): resend after
//              Retry-After (429 also pauses the whole run through the pacer);
//   504, a lost batch (network error, no answer)
//              the outcome is unknown: the write may have been applied. Before resending, the
//              job's reconcile() reads the current state; an idempotent write needs none, a create
//              or a delete must check first, or it would act twice (or report a false failure);
//   424        a dependency inside the batch failed (only with dependsOn): resend;
//   anything else is final and reported, never dropped.
// The engine's own client must not retry by itself (GraphClient's retry middleware would resend
// a 504'd create without reconciling): bulk.ts builds one with maxRetries 0.

export const BATCH_LIMIT = 20;

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface BatchRequest {
  id: string;
  method: Method;
  /** Relative to the version root: `/servicePrincipals/{id}`. */
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
  dependsOn?: string[];
}

export interface BatchItemResponse {
  id: string;
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

/**
 * One round trip: POST /$batch with up to 20 requests; answers by request id. The requests'
 * urls are relative to the batch's version root, so a batch is all v1.0 or all beta: `version`
 * sends it to /beta/$batch (for a beta-only API, e.g. riskyAgents), else the client's version.
 */
export async function sendBatch(client: GraphClient, requests: BatchRequest[], signal?: AbortSignal, version?: ApiVersion): Promise<Map<string, BatchItemResponse>> {
  if (requests.length === 0) return new Map();
  if (requests.length > BATCH_LIMIT) throw new Error(`A $batch holds at most ${BATCH_LIMIT} requests, not ${requests.length}.`);
  const body = {
    requests: requests.map((r) => {
      const headers = { ...(r.headers ?? {}) };
      // "When a body is supplied, a Content-Type header must be included."
      if (r.body !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
      return {
        id: r.id,
        method: r.method,
        url: r.url,
        ...(Object.keys(headers).length ? { headers } : {}),
        ...(r.body !== undefined ? { body: r.body } : {}),
        ...(r.dependsOn?.length ? { dependsOn: r.dependsOn } : {}),
      };
    }),
  };
  const res = await client.request<{ responses?: BatchItemResponse[] }>('POST', '/$batch', { body, ...(signal ? { signal } : {}), ...(version ? { version } : {}) });
  const out = new Map<string, BatchItemResponse>();
  for (const r of res.body?.responses ?? []) {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = String(v);
    out.set(String(r.id), { id: String(r.id), status: r.status, headers, body: r.body });
  }
  return out;
}

/** The error for one failed item, built by the same function as any other Graph failure. */
export function itemError(item: BatchItemResponse, request: BatchRequest): GraphRequestError {
  return graphErrorFromBody(item.status, item.body, new Headers(item.headers), { method: request.method, path: request.url.split('?')[0] });
}

export type Reconciled = { done: true; result?: unknown } | { done: false };

export interface Job {
  key: string;
  /** Built when the job is sent, so it can use the result of the job it runs `after`. */
  request: () => Omit<BatchRequest, 'id'>;
  /** Another job's key: this one waits for it, and fails when it fails. */
  after?: string;
  /** Resource units of the request (default 1; GD throttling-limits.md). */
  ru?: number;
  /** Non-2xx statuses that mean the change is already in place (404 on a delete). */
  accept?: number[];
  /** After an unknown outcome: read the state and say whether the change is already there. */
  reconcile?: () => Promise<Reconciled>;
  /** The outcome of an earlier attempt was unknown (a resumed run, or a 504). */
  uncertain?: boolean;
  /** A beta-only API: sent in a /beta/$batch, never in one batch with jobs of another version. */
  version?: ApiVersion;
}

export interface JobOutcome {
  job: Job;
  status: number;
  /** The answer's body (the created object for a POST); absent when reconciled or accepted. */
  result?: unknown;
  reconciled?: boolean;
}

export interface EngineHooks {
  /** Called with the jobs about to be sent, before the request leaves (the journal's intents). */
  beforeSend?: (jobs: Job[]) => Promise<void>;
  onDone: (outcome: JobOutcome) => Promise<void>;
  onFailed: (job: Job, error: GraphRequestError) => Promise<void>;
  /** An item (or a whole batch) was refused with 429. */
  onThrottled?: (count: number) => void;
}

export interface EngineOptions {
  /** $batch requests in flight at once. */
  concurrency?: number;
  /** Attempts per job before a transient failure becomes final. */
  maxAttempts?: number;
  /** Backoff when an answer names no Retry-After (doubles per attempt, jittered). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

interface Pending {
  job: Job;
  attempts: number;
  notBefore: number;
  uncertain: boolean;
  lastError?: GraphRequestError;
}

const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

export class BatchEngine {
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;

  constructor(
    private readonly client: GraphClient,
    private readonly pacer: Pacer,
    opts: EngineOptions = {},
  ) {
    this.concurrency = Math.max(1, opts.concurrency ?? 8);
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 10);
    this.baseDelayMs = opts.baseDelayMs ?? 1_000;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? sleepMs;
    this.random = opts.random ?? Math.random;
  }

  /** Runs every job to a final outcome (done or failed), or until `signal` aborts. */
  async run(jobs: Job[], hooks: EngineHooks, signal?: AbortSignal): Promise<void> {
    const queue: Pending[] = jobs.map((job) => ({ job, attempts: 0, notBefore: 0, uncertain: !!job.uncertain }));
    const state = new Map<string, 'pending' | 'done' | 'failed'>(jobs.map((j) => [j.key, 'pending']));
    let inFlight = 0;
    let wake: (() => void) | undefined;
    const poke = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };

    signal?.addEventListener('abort', () => poke(), { once: true });
    const finishDone = async (o: JobOutcome) => {
      state.set(o.job.key, 'done');
      await hooks.onDone(o);
    };
    const finishFailed = async (job: Job, err: GraphRequestError) => {
      state.set(job.key, 'failed');
      await hooks.onFailed(job, err);
    };

    /** Up to 20 jobs that may go now; jobs whose predecessor failed fail here. */
    const takeReady = async (): Promise<Pending[]> => {
      const now = this.now();
      const picked: Pending[] = [];
      for (let i = 0; i < queue.length && picked.length < BATCH_LIMIT; ) {
        const p = queue[i]!;
        // One batch, one version root (GD json-batching.md: urls are relative to the batch's).
        if (picked.length && p.job.version !== picked[0]!.job.version) {
          i++;
          continue;
        }
        const dep = p.job.after ? state.get(p.job.after) : 'done';
        if (dep === 'failed') {
          queue.splice(i, 1);
          await finishFailed(p.job, new GraphRequestError({ status: 424, code: 'FailedDependency', message: `Not attempted: '${p.job.after}', which it depends on, failed.` }));
          continue;
        }
        if (p.notBefore <= now && dep !== 'pending') {
          picked.push(p);
          queue.splice(i, 1);
          continue;
        }
        i++;
      }
      return picked;
    };

    const retryLater = (p: Pending, err: GraphRequestError, delayMs: number, uncertain: boolean) => {
      p.attempts++;
      p.lastError = err;
      p.uncertain = p.uncertain || uncertain;
      if (p.attempts >= this.maxAttempts) return false;
      p.notBefore = this.now() + delayMs;
      queue.push(p);
      return true;
    };

    const backoff = (attempts: number, hintedMs?: number) =>
      Math.min(this.maxDelayMs, hintedMs ?? this.baseDelayMs * 2 ** attempts * (0.5 + this.random() / 2));

    const sendOnce = async (batch: Pending[]) => {
      // Unknown outcomes first: ask the directory instead of acting twice.
      const toSend: Pending[] = [];
      for (const p of batch) {
        if (p.uncertain && p.job.reconcile) {
          let r: Reconciled;
          try {
            r = await p.job.reconcile();
          } catch (err) {
            const e = err instanceof GraphRequestError ? err : new GraphRequestError({ status: 0, code: 'ReconcileFailed', message: String((err as Error)?.message ?? err) });
            if (!retryLater(p, e, backoff(p.attempts, e.retryAfterSeconds !== undefined ? e.retryAfterSeconds * 1000 : undefined), true)) await finishFailed(p.job, e);
            continue;
          }
          if (r.done) {
            await finishDone({ job: p.job, status: 200, ...(r.result !== undefined ? { result: r.result } : {}), reconciled: true });
            continue;
          }
          p.uncertain = false;
        }
        toSend.push(p);
      }
      if (!toSend.length) return;
      const requests = toSend.map((p, i) => ({ ...p.job.request(), id: String(i + 1) }) as BatchRequest);
      const writes = requests.filter((r) => WRITE_METHODS.has(r.method)).length;
      const ru = toSend.reduce((n, p) => n + (p.job.ru ?? 1), 0);
      await this.pacer.acquire({ writes, ru }, signal);
      await hooks.beforeSend?.(toSend.map((p) => p.job));
      let answers: Map<string, BatchItemResponse>;
      const sentAt = this.now();
      try {
        answers = await sendBatch(this.client, requests, signal, toSend[0]!.job.version);
      } catch (err) {
        if (signal?.aborted) {
          // Ctrl-C: these stay unfinished in the journal; resume reconciles them.
          return;
        }
        const e = err instanceof GraphRequestError ? err : new GraphRequestError({ status: 0, code: 'NetworkError', message: String((err as Error)?.message ?? err) });
        const hinted = e.retryAfterSeconds !== undefined ? e.retryAfterSeconds * 1000 : undefined;
        if (e.status === 429) {
          this.pacer.throttledFor(hinted ?? backoff(0));
          hooks.onThrottled?.(toSend.length);
        }
        // 429/503: refused whole; 0/5xx: nobody knows which items were applied.
        const refused = e.status === 429 || e.status === 503;
        const transient = refused || e.status === 0 || e.status >= 500;
        for (const p of toSend) {
          if (!transient || !retryLater(p, e, backoff(p.attempts, hinted), !refused)) await finishFailed(p.job, e);
        }
        return;
      }
      let throttled = 0;
      for (let i = 0; i < toSend.length; i++) {
        const p = toSend[i]!;
        const req = requests[i]!;
        const a = answers.get(req.id);
        if (!a) {
          // An answer missing from the batch: unknown outcome.
          const e = new GraphRequestError({ status: 0, code: 'MissingBatchResponse', message: `The $batch answer had no response for request ${req.id}.` });
          if (!retryLater(p, e, backoff(p.attempts), true)) await finishFailed(p.job, e);
          continue;
        }
        this.pacer.observeLimitPercentage(a.headers['x-ms-throttle-limit-percentage'], sentAt);
        if ((a.status >= 200 && a.status < 300) || p.job.accept?.includes(a.status)) {
          await finishDone({ job: p.job, status: a.status, ...(a.body !== undefined && a.status < 300 ? { result: a.body } : {}) });
          continue;
        }
        const e = itemError(a, req);
        const hinted = parseRetryAfter(a.headers['retry-after'] ?? null, new Date(this.now()));
        if (a.status === 429) {
          throttled++;
          this.pacer.throttledFor(hinted ?? backoff(0));
        }
        const transient = a.status === 429 || a.status === 503 || a.status === 504 || a.status === 424;
        if (!transient || !retryLater(p, e, backoff(p.attempts, hinted), a.status === 504)) await finishFailed(p.job, e);
      }
      if (throttled) hooks.onThrottled?.(throttled);
    };

    const worker = async () => {
      for (;;) {
        if (signal?.aborted) return;
        const batch = await takeReady();
        if (batch.length) {
          inFlight++;
          try {
            await sendOnce(batch);
          } finally {
            inFlight--;
            poke();
          }
          continue;
        }
        if (!queue.length && inFlight === 0) {
          poke();
          return;
        }
        if (!queue.length) {
          // Others are still sending; what they requeue may need us.
          await new Promise<void>((r) => {
            const prev = wake;
            wake = () => {
              prev?.();
              r();
            };
          });
          continue;
        }
        // Everything queued waits for a time or for a predecessor still in flight.
        const timed = queue.filter((p) => !p.job.after || state.get(p.job.after) !== 'pending');
        const earliest = timed.length ? Math.min(...timed.map((p) => p.notBefore)) : Infinity;
        const ms = Math.max(1, earliest - this.now());
        await Promise.race([
          ...(Number.isFinite(ms) ? [this.sleep(Math.min(ms, 1000), signal).catch(() => undefined)] : []),
          new Promise<void>((r) => {
            const prev = wake;
            wake = () => {
              prev?.();
              r();
            };
          }),
        ]);
      }
    };
    await Promise.all(Array.from({ length: this.concurrency }, worker));
    // Whatever is left after an abort stays pending for `bulk resume`.
  }
}
