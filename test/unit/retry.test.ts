import { afterEach, describe, expect, it, vi } from 'vitest';
import { RetryMiddleware, type RetryOptions } from '../../src/graph/middleware/retry.js';
import type { Context, Middleware } from '../../src/graph/middleware/types.js';

// RetryMiddleware alone: the next link is a script of responses, sleep/random/now are injected,
// so no test waits for real.

const URL_ = 'https://graph.microsoft.com/v1.0/servicePrincipals/microsoft.graph.agentIdentity';
const NOW = new Date('2026-03-01T12:00:00.000Z');

function reply(status: number, headers: Record<string, string> = {}): Response {
  return new Response(status === 204 ? null : JSON.stringify({ status }), { status, headers });
}

/** A strict next middleware: each call consumes one scripted response; running out fails. */
class ScriptedNext implements Middleware {
  calls = 0;
  readonly answered: Response[] = [];
  constructor(private readonly script: Response[]) {}
  async execute(context: Context): Promise<void> {
    const res = this.script[this.calls++];
    if (!res) throw new Error(`unexpected request #${this.calls}: the script has only ${this.script.length} responses`);
    this.answered.push(res);
    context.response = res;
  }
}

interface Harness {
  retry: RetryMiddleware;
  next: ScriptedNext;
  sleeps: number[];
  retries: Parameters<NonNullable<RetryOptions['onRetry']>>[0][];
}

function harness(script: Response[], opts: RetryOptions = {}): Harness {
  const sleeps: number[] = [];
  const retries: Harness['retries'] = [];
  const retry = new RetryMiddleware({
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    now: () => NOW,
    onRetry: (info) => retries.push(info),
    ...opts,
  });
  const next = new ScriptedNext(script);
  retry.setNext(next);
  return { retry, next, sleeps, retries };
}

function context(method = 'GET', signal?: AbortSignal): Context {
  return { request: URL_, options: { method, headers: {}, ...(signal ? { signal } : {}) } };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('RetryMiddleware', () => {
  it('waits the Retry-After seconds of a 429 and then returns the success', async () => {
    const h = harness([reply(429, { 'Retry-After': '7' }), reply(200)]);
    const ctx = context();
    await h.retry.execute(ctx);
    expect(h.sleeps).toEqual([7_000]);
    expect(h.next.calls).toBe(2);
    expect(ctx.response?.status).toBe(200);
  });

  it('reads a fractional Retry-After in seconds', async () => {
    const h = harness([reply(429, { 'Retry-After': '1.5' }), reply(200)]);
    await h.retry.execute(context());
    expect(h.sleeps).toEqual([1_500]);
  });

  it('honours Retry-After given as an HTTP date, measured from the injected clock', async () => {
    const when = new Date(NOW.getTime() + 12_000).toUTCString();
    const h = harness([reply(503, { 'Retry-After': when }), reply(200)]);
    await h.retry.execute(context());
    expect(h.sleeps).toEqual([12_000]);
  });

  it('does not wait at all for a Retry-After date already in the past', async () => {
    const when = new Date(NOW.getTime() - 60_000).toUTCString();
    const h = harness([reply(429, { 'Retry-After': when }), reply(200)]);
    await h.retry.execute(context());
    expect(h.sleeps).toEqual([0]);
  });

  it('backs off exponentially with full jitter when there is no Retry-After', async () => {
    const randoms = [0.25, 0.5, 0.75, 1];
    const h = harness([reply(429), reply(503), reply(504), reply(429), reply(200)], {
      baseDelayMs: 1_000,
      random: () => randoms.shift()!,
    });
    await h.retry.execute(context());
    // base * 2^attempt * random: 1000*1*0.25, 1000*2*0.5, 1000*4*0.75, 1000*8*1
    expect(h.sleeps).toEqual([250, 1_000, 3_000, 8_000]);
  });

  it('falls back to backoff when Retry-After is unreadable', async () => {
    const h = harness([reply(429, { 'Retry-After': 'soon' }), reply(200)], { baseDelayMs: 400 });
    await h.retry.execute(context());
    expect(h.sleeps).toEqual([200]);
  });

  it('caps every wait at maxDelayMs, whether Retry-After or backoff asked for more', async () => {
    const h = harness([reply(429, { 'Retry-After': '3600' }), reply(503), reply(503), reply(200)], {
      maxDelayMs: 2_500,
      baseDelayMs: 2_000,
      random: () => 1,
    });
    await h.retry.execute(context());
    // Retry-After 3600 s → cap; backoff 2000*2 = 4000 → cap; 2000*4 = 8000 → cap.
    expect(h.sleeps).toEqual([2_500, 2_500, 2_500]);
  });

  it('stops after maxRetries and passes the last 429 up the chain unchanged', async () => {
    const script = [reply(429, { 'Retry-After': '1' }), reply(429, { 'Retry-After': '1' }), reply(429, { 'Retry-After': '1' }), reply(429, { 'Retry-After': '2' })];
    const h = harness(script, { maxRetries: 3 });
    const ctx = context();
    await h.retry.execute(ctx);
    expect(h.next.calls).toBe(4);
    expect(h.sleeps).toEqual([1_000, 1_000, 1_000]);
    expect(ctx.response).toBe(script[3]);
    expect(ctx.response?.headers.get('Retry-After')).toBe('2');
  });

  it('sends once and never waits when maxRetries is 0', async () => {
    const h = harness([reply(429, { 'Retry-After': '1' })], { maxRetries: 0 });
    const ctx = context();
    await h.retry.execute(ctx);
    expect(h.next.calls).toBe(1);
    expect(h.sleeps).toEqual([]);
    expect(ctx.response?.status).toBe(429);
  });

  it('defaults to five retries', async () => {
    const h = harness(Array.from({ length: 6 }, () => reply(503)));
    await h.retry.execute(context());
    expect(h.next.calls).toBe(6);
    expect(h.sleeps).toHaveLength(5);
  });

  it.each([400, 401, 403, 404, 409, 500, 502])('does not retry a %i', async (status) => {
    const h = harness([reply(status, { 'Retry-After': '1' })]);
    const ctx = context();
    await h.retry.execute(ctx);
    expect(h.next.calls).toBe(1);
    expect(h.sleeps).toEqual([]);
    expect(h.retries).toEqual([]);
    expect(ctx.response?.status).toBe(status);
  });

  it.each([200, 201, 204])('returns a %i at once', async (status) => {
    const h = harness([reply(status)]);
    await h.retry.execute(context());
    expect(h.next.calls).toBe(1);
    expect(h.sleeps).toEqual([]);
  });

  it.each([503, 504])('retries a %i', async (status) => {
    const h = harness([reply(status, { 'Retry-After': '3' }), reply(200)]);
    const ctx = context();
    await h.retry.execute(ctx);
    expect(h.next.calls).toBe(2);
    expect(h.sleeps).toEqual([3_000]);
    expect(ctx.response?.status).toBe(200);
  });

  it('does not resend a POST after a 504, which may already have been applied', async () => {
    const h = harness([reply(504)]);
    const ctx = context('POST');
    await h.retry.execute(ctx);
    expect(h.next.calls).toBe(1);
    expect(h.sleeps).toEqual([]);
    expect(ctx.response?.status).toBe(504);
  });

  it('retries writes too, resending the same request', async () => {
    const h = harness([reply(429, { 'Retry-After': '1' }), reply(201)]);
    const ctx = context('POST');
    await h.retry.execute(ctx);
    expect(h.next.calls).toBe(2);
    expect(ctx.response?.status).toBe(201);
  });

  it('tells onRetry the attempt, status, delay, method and path of every wait', async () => {
    const h = harness([reply(429, { 'Retry-After': '4' }), reply(503), reply(200)], { baseDelayMs: 1_000, random: () => 0.5 });
    await h.retry.execute(context('PATCH'));
    const path = '/v1.0/servicePrincipals/microsoft.graph.agentIdentity';
    expect(h.retries).toEqual([
      { attempt: 1, status: 429, delayMs: 4_000, method: 'PATCH', path },
      { attempt: 2, status: 503, delayMs: 1_000, method: 'PATCH', path },
    ]);
  });

  it('passes the request signal to sleep', async () => {
    const seen: (AbortSignal | undefined)[] = [];
    const controller = new AbortController();
    const h = harness([reply(429, { 'Retry-After': '1' }), reply(200)], {
      sleep: async (_ms, signal) => {
        seen.push(signal);
      },
    });
    await h.retry.execute(context('GET', controller.signal));
    expect(seen).toEqual([controller.signal]);
  });

  it('rejects promptly when the signal is aborted during a wait, without sending again', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    // The default (real) sleep, driven by fake timers: Retry-After asks for 30 s.
    const h = harness([reply(429, { 'Retry-After': '30' }), reply(200)], { sleep: undefined });
    let settled = false;
    const run = h.retry.execute(context('GET', controller.signal)).finally(() => {
      settled = true;
    });
    run.catch(() => undefined);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(settled).toBe(false);
    controller.abort(new DOMException('The user cancelled.', 'AbortError'));
    // No timer needs to fire for the rejection: it is a few microtasks away.
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(true);
    await expect(run).rejects.toMatchObject({ name: 'AbortError', message: 'The user cancelled.' });
    expect(h.next.calls).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects at once when the signal was aborted before the wait began', async () => {
    const controller = new AbortController();
    controller.abort();
    const h = harness([reply(503), reply(200)], { sleep: undefined, baseDelayMs: 60_000 });
    const started = Date.now();
    await expect(h.retry.execute(context('GET', controller.signal))).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(h.next.calls).toBe(1);
  });

  it('discards the body of a throttled response before retrying', async () => {
    const first = reply(429, { 'Retry-After': '1' });
    const h = harness([first, reply(200)]);
    await h.retry.execute(context());
    // A cancelled stream is locked or disturbed; either way it can no longer be read.
    await expect(first.text()).rejects.toThrow();
  });
});
