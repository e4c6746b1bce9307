import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { FileStore } from '../../src/mock/store.js';
import { seedState } from '../../src/mock/seed.js';
import type { TenantState } from '../../src/mock/state.js';
import { applyLog, encodeEntry } from '../../src/mock/wal.js';
import { serveRecordPath } from '../../src/mock/serveRecord.js';

// Issue 11: the served (deferred) store's write-ahead log. A write is in the log once durable()
// resolved; a store that is dropped without a checkpoint (kill -9) loses none of those, the next
// store on the file replays them; while a live server holds the home, other stores read the log
// without touching it and refuse to write.

let dir: string;
let n = 0;
const stateFile = () => path.join(dir, `t${++n}`, 'tenant.json');
const onDisk = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as TenantState;
const addGroup = (s: TenantState, id: string) => {
  s.objects[id] = { id, type: 'group', props: { displayName: id } };
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'agentid-wal-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('write-ahead log of the served store', () => {
  // The checkpoint timer never fires: a served store that is simply dropped is a kill -9.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a durable write survives a store dropped before its checkpoint; the next store replays and removes the log', async () => {
    const file = stateFile();
    const served = new FileStore(file, { seed: seedState, mode: 'deferred' });
    await served.write((s) => addGroup(s, 'checkpointed'));
    await served.flush();
    await served.write((s) => addGroup(s, 'logged'));
    await served.write((s) => {
      delete s.objects.checkpointed;
      s.tenant.displayName = 'Renamed';
    });
    await served.durable();
    // "kill -9": the served store is never flushed again.
    expect(onDisk(file).objects.logged).toBeUndefined();
    expect(existsSync(`${file}.wal`)).toBe(true);

    const next = new FileStore(file, { seed: seedState });
    expect(await next.read((s) => [s.objects.logged?.id, s.objects.checkpointed, s.tenant.displayName])).toEqual(['logged', undefined, 'Renamed']);
    expect(onDisk(file).objects.logged).toBeDefined();
    expect(existsSync(`${file}.wal`)).toBe(false);
  });

  it('a checkpoint rotates the log: writes before and after it are all kept', async () => {
    const file = stateFile();
    const served = new FileStore(file, { seed: seedState, mode: 'deferred' });
    const checkpoints: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      await served.write((s) => addGroup(s, `g${i}`));
      if (i % 7 === 3) checkpoints.push(served.flush()); // checkpoints racing the writes
      if (i % 5 === 0) await served.durable();
    }
    await served.durable();
    await Promise.all(checkpoints);
    const next = new FileStore(file, { seed: seedState });
    expect(await next.read((s) => Object.keys(s.objects).filter((k) => /^g\d+$/.test(k)).length)).toBe(20);
  });

  it('replaying lines the snapshot already holds changes nothing (idempotent)', () => {
    const state = seedState();
    const lines: string[] = [];
    addGroup(state, 'a');
    lines.push(encodeEntry(state, [['objects', 'a']]));
    state.objects = {};
    lines.push(encodeEntry(state, [['objects']]));
    addGroup(state, 'b');
    lines.push(encodeEntry(state, [['objects', 'b']]));
    delete state.objects.b;
    state.tenant.displayName = 'X';
    lines.push(encodeEntry(state, [['objects', 'b'], ['tenant']]));
    const replayed = structuredClone(state);
    applyLog(replayed, lines.join('') + '{"torn');
    expect(replayed).toEqual(state);
  });

  it("while a live server holds the home, another store reads its log without consuming it, and refuses to write", async () => {
    const file = stateFile();
    const served = new FileStore(file, { seed: seedState, mode: 'deferred' });
    await served.write((s) => addGroup(s, 'served'));
    await served.durable();
    // The record of a live process that is not this one (the test runner's parent).
    writeFileSync(serveRecordPath(file), JSON.stringify({ pid: process.ppid, url: 'http://127.0.0.1:1', tls: null, stateFile: file, startedAt: new Date().toISOString() }));
    const other = new FileStore(file, { seed: seedState, lockTimeoutMs: 2_000 });
    expect(await other.read((s) => s.objects.served?.id)).toBe('served');
    expect(existsSync(`${file}.wal`)).toBe(true);
    await expect(other.write((s) => addGroup(s, 'forked'))).rejects.toThrow(/^agentid mock serve is running on this AGENTID_HOME at http:\/\/127\.0\.0\.1:1 \(pid \d+\), so this command cannot write its file directly: run the command again/);
    expect(onDisk(file).objects.forked).toBeUndefined();
  });
});
