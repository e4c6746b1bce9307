import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { FileLock } from './lock.js';

// The serve record (issue 11): `agentid mock serve` writes $AGENTID_HOME/mock/serve.json when it
// starts and removes it when it stops. The file is created with O_EXCL under the tenant's lock, so
// it is also the lock that makes the served emulator the only writer of the home for its life:
//   - an in-process CLI on that home sends its requests to the served emulator instead (context.ts);
//   - a second `mock serve`, and `mock reset` / fixture and recording loads, refuse with exit 1;
//   - a sync FileStore write (store.ts) checks it under the tenant lock, so a CLI that raced a
//     starting server fails instead of writing a file the server no longer reads;
//   - a record whose process is gone (kill -9, crash) is stale and is taken over.

export interface ServeRecord {
  pid: number;
  /** Base URL, once the server listens; null while it is starting. */
  url: string | null;
  /** With --tls: the self-signed certificate a client must trust (NODE_EXTRA_CA_CERTS, or the CLI itself). */
  tls: { certPath: string } | null;
  stateFile: string;
  startedAt: string;
}

export function serveRecordPath(stateFile: string): string {
  return path.join(path.dirname(stateFile), 'serve.json');
}

/** A process that exists (EPERM: it exists but is not ours to signal). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parse(text: string): ServeRecord | undefined {
  try {
    const r = JSON.parse(text) as ServeRecord;
    return Number.isInteger(r?.pid) ? r : undefined;
  } catch {
    return undefined;
  }
}

export async function readServeRecord(stateFile: string): Promise<ServeRecord | undefined> {
  try {
    return parse(await fsp.readFile(serveRecordPath(stateFile), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The record of a served emulator of another, live process on this home; else undefined. */
export async function liveServe(stateFile: string): Promise<ServeRecord | undefined> {
  const r = await readServeRecord(stateFile);
  return r && r.pid !== process.pid && processAlive(r.pid) ? r : undefined;
}

/** The same, synchronously (a sync store checks it inside its locked write). */
export function liveServeSync(stateFile: string): ServeRecord | undefined {
  let text: string;
  try {
    text = readFileSync(serveRecordPath(stateFile), 'utf8');
  } catch {
    return undefined;
  }
  const r = parse(text);
  return r && r.pid !== process.pid && processAlive(r.pid) ? r : undefined;
}

/**
 * Waits (a little) for a starting server to publish its URL. Undefined when there is no live
 * server any more; a record that is still starting after the wait is returned as it is.
 */
export async function servedUrl(stateFile: string, waitMs = 10_000): Promise<ServeRecord | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const r = await liveServe(stateFile);
    if (!r || r.url || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 50));
  }
}

export function describeServe(r: ServeRecord): string {
  return r.url ? `${r.url} (pid ${r.pid})` : `pid ${r.pid}, still starting`;
}

/** One line: who serves this home, and what to do (exit 1 by the caller). */
export class ServeRunningError extends Error {
  override name = 'ServeRunningError';
  constructor(
    readonly record: ServeRecord,
    what: string,
    fix = `stop it first (Ctrl-C, or kill ${record.pid}), or use another AGENTID_HOME`,
  ) {
    super(`agentid mock serve is running on this AGENTID_HOME at ${describeServe(record)}, so ${what}: ${fix}.`);
  }
}

export interface ServeClaim {
  /** Publishes the URL (and TLS certificate) once the server listens. */
  publish(update: Pick<ServeRecord, 'url' | 'tls'>): Promise<void>;
  /** Removes the record, if it is still ours. */
  release(): Promise<void>;
}

/**
 * Claims the home for this process's `mock serve`. Refuses (ServeRunningError) while another
 * live server holds it; takes over the record of one that is gone. The check and the creation
 * happen under the tenant lock, so two servers starting at once cannot both win.
 */
export async function claimServe(stateFile: string): Promise<ServeClaim> {
  const file = serveRecordPath(stateFile);
  const record: ServeRecord = { pid: process.pid, url: null, tls: null, stateFile, startedAt: new Date().toISOString() };
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await new FileLock(`${stateFile}.lock`).run(async () => {
    const existing = await readServeRecord(stateFile).catch(() => undefined);
    if (existing && existing.pid !== process.pid && processAlive(existing.pid)) throw new ServeRunningError(existing, 'a second one cannot serve it');
    // Stale (its process is gone) or unreadable: ours now.
    await fsp.rm(file, { force: true });
    const h = await fsp.open(file, 'wx', 0o600);
    try {
      await h.writeFile(JSON.stringify(record, null, 2) + '\n');
    } finally {
      await h.close();
    }
  });
  return {
    publish: async (update) => {
      Object.assign(record, update);
      // Replaced by rename: the file (the lock) exists at every instant.
      const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
      await fsp.writeFile(tmp, JSON.stringify(record, null, 2) + '\n', { mode: 0o600 });
      await fsp.rename(tmp, file);
    },
    release: async () => {
      const current = await readServeRecord(stateFile).catch(() => undefined);
      if (current?.pid === process.pid) await fsp.rm(file, { force: true });
    },
  };
}
