import { mkdtempSync, appendFileSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Pacer } from '../../src/graph/pacer.js';
import { BatchEngine, type Job } from '../../src/graph/batch.js';
import { JournalWriter, readJournal } from '../../src/graph/journal.js';
import { GraphClient } from '../../src/graph/client.js';
import { opReconcile, opRequest, type Op } from '../../src/graph/bulk.js';
import { createMockHandler } from '../../src/mock/handler.js';
import { MemoryStore } from '../../src/mock/store.js';
import { SEED_IDS, seedState } from '../../src/mock/seed.js';
import { addBulkAgents } from '../../src/mock/bulkSeed.js';
import { Traffic } from '../../src/mock/traffic.js';
import { GraphRequestError } from '../../src/graph/errors.js';

// The bulk engine's parts on their own: the pacer with a fake clock, the journal's records and
// how it reads a killed run, and the $batch engine against the in-process emulator with faults.

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'agentid-engine-'));
  dirs.push(d);
  return d;
};

function fakeClock() {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms), advance: (ms: number) => void (t += ms) };
}

describe('pacer', () => {
  test('lets a burst up to the write quota through at once, then paces at the quota rate', async () => {
    const c = fakeClock();
    const p = new Pacer({ now: c.now, sleep: c.sleep, ruQuota: 1e9 });
    await p.acquire({ writes: 3000, ru: 0 });
    expect(c.now()).toBe(0);
    await p.acquire({ writes: 20, ru: 0 });
    // 3,000 writes per 150 s = one write per 50 ms.
    expect(c.now()).toBe(1000);
  });

  test('a 429 holds every sender until Retry-After has passed', async () => {
    const c = fakeClock();
    const p = new Pacer({ now: c.now, sleep: c.sleep });
    p.throttledFor(2000);
    await p.acquire({ writes: 0, ru: 0 });
    expect(c.now()).toBeGreaterThanOrEqual(2000);
    expect(p.throttled).toBe(1);
  });

  test('x-ms-throttle-limit-percentage lowers the estimate, crediting the refill since the request was sent', async () => {
    const c = fakeClock();
    const p = new Pacer({ now: c.now, sleep: c.sleep, ruQuota: 1e9 });
    c.advance(1000);
    p.observeLimitPercentage('1.00', 0); // 1 s ago the service saw the budget used up: 20 writes back since
    await p.acquire({ writes: 20, ru: 0 });
    expect(c.now()).toBe(1000);
    await p.acquire({ writes: 1, ru: 0 });
    expect(c.now()).toBe(1050);
  });

  test('time scale shortens the windows', async () => {
    const c = fakeClock();
    const p = new Pacer({ now: c.now, sleep: c.sleep, timeScale: 10, ruQuota: 1e9 });
    await p.acquire({ writes: 3000, ru: 0 });
    await p.acquire({ writes: 20, ru: 0 });
    expect(c.now()).toBe(100);
  });
});

describe('journal', () => {
  test('reads a killed run: done items stay done, sent-but-unanswered ones are uncertain, a torn tail is ignored', async () => {
    const file = path.join(tmp(), 'j.jsonl');
    const item = (key: string) => ({ t: 'item' as const, key, phase: 0, op: { kind: 'x' }, label: key, objectType: 'agentIdentity' });
    const w = await JournalWriter.create(file, { id: 'r1', kind: 'disable', createdAt: '2026-01-01T00:00:00Z', args: {} }, [item('a'), item('b'), item('c'), { ...item('d'), skip: 'already disabled' }]);
    await w.intent(['a', 'b']);
    await w.done('a', 204);
    await w.close();
    appendFileSync(file, '{"t":"done","key":"b","at":"2026-01-01T00:0'); // kill -9 mid-write
    const j = readJournal(file);
    expect(j.planned).toBe(true);
    expect(j.ended).toBe(false);
    expect(j.tornLines).toBe(1);
    expect(j.items.map((s) => s.status)).toEqual(['done', 'uncertain', 'pending', 'skipped']);

    // Resuming appends on a fresh line after the torn one.
    const w2 = await JournalWriter.append(file);
    await w2.done('b', 204, undefined, true);
    await w2.end();
    await w2.close();
    const j2 = readJournal(file);
    expect(j2.items.map((s) => s.status)).toEqual(['done', 'done', 'pending', 'skipped']);
    expect(j2.byKey.get('b')!.reconciled).toBe(true);
    expect(j2.ended).toBe(true);
  });

  test('never writes a secret: results keep ids only', async () => {
    const file = path.join(tmp(), 'j.jsonl');
    const w = await JournalWriter.create(file, { id: 'r', kind: 'create', createdAt: 'now', args: {} }, []);
    await w.done('k', 201, { id: 'x' });
    await w.close();
    expect(readFileSync(file, 'utf8')).not.toMatch(/secretText|password|token/i);
  });
});

/** A seeded PRNG so fault patterns repeat. */
function prng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

describe('$batch engine against the emulator', () => {
  function setup(faultRate: number) {
    const store = new MemoryStore(seedState());
    const handler = createMockHandler({ store, traffic: new Traffic({ faults: { rate: faultRate, random: prng(7), timeScale: 100 } }) });
    const client = new GraphClient({ baseUrl: 'https://graph.microsoft.com', version: 'v1.0', transport: (r) => handler(r), token: async () => undefined, retry: { maxRetries: 0 } });
    return { store, client };
  }

  test('30% faults (429/503 before, 504 after acting): every create is applied exactly once and every item is reported', async () => {
    const { store, client } = setup(0.3);
    const seeded = await store.write((s) => addBulkAgents(s, { blueprints: 1, agentsPerBlueprint: 50 }));
    const ops: Op[] = seeded[0]!.agentIds.map((id) => ({ kind: 'createGrant', grant: { clientId: id, consentType: 'AllPrincipals', principalId: null, resourceId: SEED_IDS.graphServicePrincipal, scope: 'User.Read' } }));
    const jobs: Job[] = ops.map((op, i) => ({ key: String(i), request: () => opRequest(client, op), reconcile: () => opReconcile(client, op, undefined) }));
    const done = new Set<string>();
    const failed: GraphRequestError[] = [];
    let throttled = 0;
    const engine = new BatchEngine(client, new Pacer(), { baseDelayMs: 1, maxAttempts: 30, concurrency: 4 });
    await engine.run(jobs, { onDone: async (o) => void done.add(o.job.key), onFailed: async (_j, e) => void failed.push(e), onThrottled: (n) => (throttled += n) });
    expect(failed).toEqual([]);
    expect(done.size).toBe(50);
    expect(throttled).toBeGreaterThan(0);
    const grants = await store.read((s) => Object.values(s.oauth2PermissionGrants ?? {}));
    expect(grants).toHaveLength(50);
  });

  test('a final failure is reported with Graph’s code, never dropped; a job after it fails as a dependency', async () => {
    const { client } = setup(0);
    const jobs: Job[] = [
      { key: 'bad', request: () => ({ method: 'PATCH', url: '/servicePrincipals/00000000-0000-0000-0000-0000000000aa', body: { accountEnabled: false } }) },
      { key: 'next', after: 'bad', request: () => ({ method: 'GET', url: '/organization' }) },
    ];
    const failed: [string, GraphRequestError][] = [];
    await new BatchEngine(client, new Pacer()).run(jobs, { onDone: async () => undefined, onFailed: async (j, e) => void failed.push([j.key, e]) });
    expect(failed.map(([k, e]) => [k, e.status, e.code])).toEqual([
      ['bad', 404, 'Request_ResourceNotFound'],
      ['next', 424, 'FailedDependency'],
    ]);
    expect(failed[0]![1]).toBeInstanceOf(GraphRequestError);
  });
});
