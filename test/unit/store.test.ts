import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FileStore, MemoryStore, type FileStoreOptions } from '../../src/mock/store.js';
import { seedState } from '../../src/mock/seed.js';
import type { TenantState } from '../../src/mock/state.js';

// The emulated tenant's persistence: atomic replace, cross-process locking, stale-lock
// recovery, all-or-nothing writes and deferred flushing.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WRITER = path.join(ROOT, 'test/fixtures/store-writer.mjs');

let dir: string;
let n = 0;
const stateFile = () => path.join(dir, `tenant-${++n}`, 'state.json');
const store = (file: string, opts: Partial<FileStoreOptions> = {}) => new FileStore(file, { seed: seedState, ...opts });
const onDisk = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as TenantState;

function addGroup(s: TenantState, id: string, extra: Record<string, unknown> = {}) {
  s.objects[id] = { id, type: 'group', props: { displayName: id, ...extra } };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'agentid-store-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('FileStore', () => {
  it('seeds the file on first use and reads it back', async () => {
    const file = stateFile();
    const s = store(file);
    expect(await s.read((t) => t.tenant.defaultDomain)).toBe(seedState().tenant.defaultDomain);
    expect(onDisk(file)).toEqual(seedState());
  });

  it('replaces the file atomically: a concurrent reader always finds complete JSON', async () => {
    const file = stateFile();
    const s = store(file);
    // A large state makes a torn (truncated-then-written) file easy to catch.
    await s.write((t) => addGroup(t, 'padding', { description: 'x'.repeat(2_000_000) }));
    let writing = true;
    let reads = 0;
    let torn: unknown;
    const reader = (async () => {
      while (writing && !torn) {
        try {
          // ENOENT or a SyntaxError here means a reader caught the file between two states.
          const parsed = JSON.parse(await readFile(file, 'utf8')) as TenantState;
          if (!parsed.objects.padding) throw new Error('a complete file without the padding object');
          reads++;
        } catch (err) {
          torn = err;
        }
      }
    })();
    try {
      for (let i = 0; i < 30 && !torn; i++) await s.write((t) => addGroup(t, `g${i}`));
    } finally {
      writing = false;
    }
    await reader;
    expect(torn).toBeUndefined();
    expect(reads).toBeGreaterThan(5);
    expect(Object.keys(onDisk(file).objects).filter((k) => /^g\d+$/.test(k))).toHaveLength(30);
    // No temp files or lock left behind.
    expect((await readdir(path.dirname(file))).sort()).toEqual(['state.json']);
  });

  describe('across processes', () => {
    let moduleDir: string;

    // Children run store.ts as it is in src, with whatever it imports (transpiled, not
    // type-checked), so the test never exercises a stale dist/ and needs no build.
    beforeAll(async () => {
      moduleDir = path.join(dir, 'modules');
      await mkdir(moduleDir, { recursive: true });
      await writeFile(path.join(moduleDir, 'package.json'), '{"type":"module"}');
      const pending = ['mock/store.ts'];
      const done = new Set<string>();
      while (pending.length) {
        const rel = pending.pop()!;
        if (done.has(rel)) continue;
        done.add(rel);
        const source = await readFile(path.join(ROOT, 'src', rel), 'utf8');
        for (const { fileName } of ts.preProcessFile(source).importedFiles) {
          if (fileName.startsWith('.')) pending.push(path.posix.join(path.posix.dirname(rel), fileName.replace(/\.js$/, '.ts')));
        }
        const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
        await mkdir(path.join(moduleDir, path.dirname(rel)), { recursive: true });
        await writeFile(path.join(moduleDir, rel.replace(/\.ts$/, '.js')), outputText);
      }
    });

    function worker(file: string, id: number, writes: number): { child: ChildProcess; ready: Promise<void>; done: Promise<void> } {
      const child = spawn(process.execPath, [WRITER, moduleDir, file, String(id), String(writes)], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      const ready = new Promise<void>((resolve, reject) => {
        child.stdout!.once('data', () => resolve());
        child.once('exit', () => reject(new Error(`worker ${id} exited before it was ready: ${stderr}`)));
      });
      const done = new Promise<void>((resolve, reject) => {
        child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker ${id} exited ${code}: ${stderr}`))));
      });
      return { child, ready, done };
    }

    it('loses nothing when six processes write 25 times each at once', async () => {
      const file = stateFile();
      const s = store(file);
      await s.write((t) => addGroup(t, 'counter', { n: 0 }));
      const workers = Array.from({ length: 6 }, (_, i) => worker(file, i, 25));
      await Promise.all(workers.map((w) => w.ready));
      for (const w of workers) w.child.stdin!.end('go\n');
      await Promise.all(workers.map((w) => w.done));

      const state = onDisk(file);
      const written = Object.keys(state.objects).filter((k) => k.startsWith('worker-'));
      expect(written).toHaveLength(150);
      for (let w = 0; w < 6; w++) for (let i = 0; i < 25; i++) expect(state.objects[`worker-${w}-${i}`]).toBeDefined();
      expect(state.objects.counter!.props.n).toBe(150);
      // This process's cached copy is stale; its next read sees the other processes' writes.
      expect(await s.read((t) => t.objects.counter!.props.n)).toBe(150);
      expect((await readdir(path.dirname(file))).sort()).toEqual(['state.json']);
    });
  });

  describe('lock', () => {
    function deadPid(): number {
      const { pid } = spawnSync(process.execPath, ['-e', '']);
      expect(() => process.kill(pid!, 0)).toThrow(); // precondition: that process is gone
      return pid!;
    }

    it('reclaims a lock left by a process that no longer exists', async () => {
      const file = stateFile();
      const s = store(file, { lockTimeoutMs: 2_000 });
      await s.read(() => undefined);
      await writeFile(`${file}.lock`, `${deadPid()} ${Date.now()}`);
      const started = Date.now();
      await s.write((t) => addGroup(t, 'after-crash'));
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(onDisk(file).objects['after-crash']).toBeDefined();
      expect(existsSync(`${file}.lock`)).toBe(false);
    });

    it('waits for, and finally gives up on, a lock held by a live process', async () => {
      const file = stateFile();
      const s = store(file, { lockTimeoutMs: 150 });
      await s.read(() => undefined);
      await writeFile(`${file}.lock`, `${process.ppid} ${Date.now()}`);
      await expect(s.write((t) => addGroup(t, 'blocked'))).rejects.toThrow(/Timed out waiting for the emulated tenant's lock/);
      expect(onDisk(file).objects.blocked).toBeUndefined();
      expect(existsSync(`${file}.lock`)).toBe(true); // not ours to remove
    });

    it('reclaims an unreadable lock only once it is old', async () => {
      const file = stateFile();
      const s = store(file, { lockTimeoutMs: 150 });
      await s.read(() => undefined);
      await writeFile(`${file}.lock`, 'garbage');
      await expect(s.write((t) => addGroup(t, 'too-soon'))).rejects.toThrow(/Timed out/);
      const old = new Date(Date.now() - 60_000);
      await utimes(`${file}.lock`, old, old);
      await s.write((t) => addGroup(t, 'later'));
      expect(onDisk(file).objects.later).toBeDefined();
    });
  });

  describe('a write callback that throws', () => {
    it('leaves the file and the store unchanged in sync mode, and releases the lock', async () => {
      const file = stateFile();
      const s = store(file, { lockTimeoutMs: 500 });
      await s.write((t) => addGroup(t, 'kept'));
      const before = readFileSync(file, 'utf8');
      const boom = new Error('invalid change');
      await expect(
        s.write((t) => {
          addGroup(t, 'half');
          t.tenant.displayName = 'Changed';
          delete t.objects.kept;
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(readFileSync(file, 'utf8')).toBe(before);
      expect(await s.read((t) => [t.objects.half, t.tenant.displayName, t.objects.kept?.id])).toEqual([undefined, seedState().tenant.displayName, 'kept']);
      expect(existsSync(`${file}.lock`)).toBe(false);
      await s.write((t) => addGroup(t, 'next'));
      expect(Object.keys(onDisk(file).objects)).toEqual(expect.arrayContaining(['kept', 'next']));
      expect(onDisk(file).objects.half).toBeUndefined();
    });

    it('leaves the deferred store unchanged and flushes nothing of it', async () => {
      const file = stateFile();
      const s = store(file, { mode: 'deferred' });
      await s.write((t) => addGroup(t, 'kept'));
      await expect(
        s.write((t) => {
          addGroup(t, 'half');
          delete t.objects.kept;
          throw new Error('invalid change');
        }),
      ).rejects.toThrow('invalid change');
      expect(await s.read((t) => [t.objects.half, t.objects.kept?.id])).toEqual([undefined, 'kept']);
      await s.flush();
      expect(onDisk(file).objects.half).toBeUndefined();
      expect(onDisk(file).objects.kept).toBeDefined();
    });

    it('does not block the writes queued after it', async () => {
      const s = store(stateFile());
      const failing = s.write(() => {
        throw new Error('no');
      });
      const next = s.write((t) => addGroup(t, 'queued'));
      await expect(failing).rejects.toThrow('no');
      await next;
      expect(await s.read((t) => t.objects.queued?.id)).toBe('queued');
    });
  });

  describe('deferred mode', () => {
    it('answers from memory at once and flushes to disk within about 100 ms', async () => {
      const file = stateFile();
      const s = store(file, { mode: 'deferred' });
      await s.read(() => undefined);
      await s.write((t) => addGroup(t, 'soon'));
      expect(await s.read((t) => t.objects.soon?.id)).toBe('soon');
      expect(onDisk(file).objects.soon).toBeUndefined(); // not written yet
      const started = Date.now();
      while (!onDisk(file).objects.soon) {
        expect(Date.now() - started).toBeLessThan(1_000);
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(Date.now() - started).toBeGreaterThanOrEqual(80);
      expect(Date.now() - started).toBeLessThan(500);
    });

    it('writes everything on flush()', async () => {
      const file = stateFile();
      const s = store(file, { mode: 'deferred' });
      for (let i = 0; i < 50; i++) await s.write((t) => addGroup(t, `d${i}`));
      await s.flush();
      expect(Object.keys(onDisk(file).objects).filter((k) => /^d\d+$/.test(k))).toHaveLength(50);
      expect(existsSync(`${file}.lock`)).toBe(false);
    });

    it('flush() resolves only once a flush the timer already started is on disk', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const file = stateFile();
      const s = store(file, { mode: 'deferred' });
      await s.write((t) => addGroup(t, 'racing'));
      vi.advanceTimersByTime(100); // the timer's flush starts and is now awaiting the disk
      await s.flush(); // e.g. `mock serve` shutting down right then
      expect(onDisk(file).objects.racing).toBeDefined();
    });
  });
});

describe('MemoryStore', () => {
  it('keeps a write that succeeds', async () => {
    const s = new MemoryStore(seedState());
    expect(await s.write((t) => (addGroup(t, 'g'), 'result'))).toBe('result');
    expect(await s.read((t) => t.objects.g?.id)).toBe('g');
  });

  it('a write callback that throws leaves the state unchanged', async () => {
    const s = new MemoryStore(seedState());
    const before = await s.read((t) => structuredClone(t));
    await expect(
      s.write((t) => {
        addGroup(t, 'half');
        t.tenant.displayName = 'Changed';
        t.objects = {};
        throw new Error('invalid change');
      }),
    ).rejects.toThrow('invalid change');
    expect(await s.read((t) => structuredClone(t))).toEqual(before);
  });

  it('replace() copies the state it is given', async () => {
    const s = new MemoryStore(seedState());
    const next = seedState();
    next.tenant.displayName = 'Fabrikam';
    await s.replace(next);
    next.tenant.displayName = 'mutated afterwards';
    expect(await s.read((t) => t.tenant.displayName)).toBe('Fabrikam');
  });
});
