import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { baseEnv, BIN, journalRecords, killWhen, ROOT, tempHome, type RunResult } from './helpers.js';
import { createFileStore } from '../../src/mock/inprocess.js';
import { seedState } from '../../src/mock/seed.js';
import { addBulkAgents, type BulkSeedOptions, type SeededBlueprint } from '../../src/mock/bulkSeed.js';
import type { TenantState } from '../../src/mock/state.js';

// agentid bulk, end to end (issue #4 §9): the built CLI against the in-process emulator and
// against `mock serve` with injected faults and latency; kill -9 at several points of a run
// and `bulk resume`; undo back to the exact prior state; dry runs and unconfirmed runs that
// write nothing.

const homes: ReturnType<typeof tempHome>[] = [];
const servers: ChildProcess[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.kill('SIGTERM');
});
afterAll(() => {
  for (const h of homes) h.remove();
});

async function tenantWith(opts: BulkSeedOptions): Promise<{ h: ReturnType<typeof tempHome>; seeded: SeededBlueprint[] }> {
  const h = tempHome('agentid-bulk-');
  homes.push(h);
  const state = seedState();
  const seeded = addBulkAgents(state, opts);
  await createFileStore(h.stateFile).replace(state);
  return { h, seeded };
}

const readState = (h: ReturnType<typeof tempHome>): TenantState => JSON.parse(readFileSync(h.stateFile, 'utf8')) as TenantState;
/** The directory as Graph shows it (the state file also keeps sign-in material the CLI may add). */
const directory = (h: ReturnType<typeof tempHome>) => {
  const s = readState(h);
  return JSON.stringify([s.objects, s.oauth2PermissionGrants, s.appRoleAssignments]);
};

function enabledMap(state: TenantState): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const o of Object.values(state.objects)) {
    if (['agentIdentity', 'agentIdentityBlueprintPrincipal', 'agentUser'].includes(o.type)) out[o.id] = o.props.accountEnabled as boolean;
  }
  return out;
}

/** `mock serve` with extra flags; resolves with its URL. */
async function serve(h: ReturnType<typeof tempHome>, args: string[]): Promise<string> {
  const child = spawn(process.execPath, [BIN, 'mock', 'serve', '--port', '0', ...args], { cwd: ROOT, env: baseEnv(h.home), stdio: ['ignore', 'pipe', 'pipe'] });
  servers.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.on('exit', (code) => reject(new Error(`mock serve exited ${code}`)));
  });
}

/** The served emulator's state as it holds it now (it flushes to disk every 100 ms). */
async function servedState(h: ReturnType<typeof tempHome>): Promise<TenantState> {
  await new Promise((r) => setTimeout(r, 300));
  return readState(h);
}

const ok = (r: RunResult) => expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });

describe('bulk disable / enable / undo (in-process emulator)', () => {
  test('--dry-run prints the plan per blueprint and action, and writes nothing', async () => {
    const { h } = await tenantWith({ blueprints: 2, agentsPerBlueprint: 5, disabledEvery: 5 });
    const before = directory(h);
    const r = await h.run(['bulk', 'disable', '--blueprint', 'Bulk Blueprint 1', '--blueprint', 'Bulk Blueprint 2', '--dry-run', '-o', 'json']);
    ok(r);
    const plan = r.json();
    expect(plan.dryRun).toBe(true);
    expect(plan.summary).toContainEqual({ blueprint: 'Bulk Blueprint 1', action: 'disable', objectType: 'agentIdentity', count: 4, skipped: 1 });
    expect(plan.summary).toContainEqual({ blueprint: 'Bulk Blueprint 2', action: 'disable', objectType: 'agentIdentityBlueprintPrincipal', count: 1, skipped: 0 });
    expect(plan.items).toHaveLength(12);
    expect(directory(h)).toBe(before);
    expect(existsSync(path.join(h.home, 'journals'))).toBe(false);
  });

  test('off a terminal without --yes: exit 2 naming --yes, nothing written, no journal', async () => {
    const { h } = await tenantWith({ blueprints: 1, agentsPerBlueprint: 3 });
    const before = directory(h);
    const r = await h.run(['bulk', 'disable', '--blueprint', 'Bulk Blueprint 1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: Not confirmed: Disable: 4 change\(s\) — 1 blueprint principal, 3 agent identities across 1 blueprint\(s\)\. Proceed\? .*pass --yes/m);
    expect(r.stdout).toBe('');
    expect(directory(h)).toBe(before);
    expect(existsSync(path.join(h.home, 'journals'))).toBe(false);
  });

  test('disables principal first, then agents and agent users; undo restores exactly the prior state', async () => {
    const { h, seeded } = await tenantWith({ blueprints: 1, agentsPerBlueprint: 30, disabledEvery: 4, agentUserEvery: 5 });
    const before = enabledMap(readState(h));
    const journal = path.join(h.home, 'run.jsonl');
    const r = await h.run(['bulk', 'disable', '--blueprint', seeded[0]!.appId, '--include-agent-users', '--yes', '--journal', journal, '-o', 'json']);
    ok(r);
    const rows = r.json<any[]>();
    expect(rows.filter((x) => x.status === 'done')).toHaveLength(1 + 30 - 8 + 6);
    expect(rows.filter((x) => x.status === 'skipped').every((x) => x.detail === 'already disabled')).toBe(true);
    expect(Object.values(enabledMap(readState(h))).every((v) => v === false)).toBe(true);
    // The principal's write was sent, and answered, before any agent's.
    const recs = journalRecords(journal);
    const firstIntent = recs.find((x) => x.t === 'intent');
    expect(firstIntent.keys).toEqual([`principal:${seeded[0]!.principalId}`]);
    expect(recs.findIndex((x) => x.t === 'done' && x.key.startsWith('principal:'))).toBeLessThan(recs.findIndex((x) => x.t === 'intent' && x.keys[0].startsWith('agent')));

    const status = await h.run(['bulk', 'status', journal, '-o', 'json']);
    expect(status.json()).toMatchObject({ kind: 'disable', state: 'finished', total: 37, done: 29, skipped: 8, failed: 0 });

    const u = await h.run(['bulk', 'undo', journal, '--yes', '-o', 'json']);
    ok(u);
    expect(enabledMap(readState(h))).toEqual(before);
  });

  test('--agents-file changes only the listed agents', async () => {
    const { h, seeded } = await tenantWith({ blueprints: 1, agentsPerBlueprint: 6 });
    const file = path.join(h.home, 'ids.csv');
    const chosen = seeded[0]!.agentIds.slice(0, 2);
    writeFileSync(file, `id,note\n${chosen[0]},x\n${chosen[1]},y\n`);
    ok(await h.run(['bulk', 'disable', '--agents-file', file, '--yes']));
    const m = enabledMap(readState(h));
    expect(seeded[0]!.agentIds.map((id) => m[id])).toEqual([false, false, true, true, true, true]);
    expect(m[seeded[0]!.principalId]).toBe(true);
  });
});

describe('bulk against a served emulator with faults', () => {
  test('20% injected 429/503/504 lose nothing: disable, revoke and undo all finish exactly', async () => {
    const { h, seeded } = await tenantWith({ blueprints: 2, agentsPerBlueprint: 40, grants: true, agentUserEvery: 4 });
    const url = await serve(h, ['--fault-rate', '0.2', '--throttle', 'off', '--time-scale', '50']);
    const env = { AGENTID_GRAPH_URL: url, AGENTID_TIME_SCALE: '50' };
    const before = await servedState(h);
    const grantsBefore = Object.values(before.oauth2PermissionGrants ?? {}).map((g) => `${g.clientId}|${g.resourceId}|${g.scope}`).sort();
    const rolesBefore = Object.values(before.appRoleAssignments ?? {}).map((a) => `${a.principalId}|${a.resourceId}|${a.appRoleId}`).sort();

    const d = await h.run(['bulk', 'disable', '--blueprint', seeded[0]!.appId, '--blueprint', seeded[1]!.appId, '--include-agent-users', '--yes', '-o', 'json'], { env });
    ok(d);
    expect(d.json<any[]>().every((x) => x.status === 'done')).toBe(true);
    expect(Object.values(enabledMap(await servedState(h))).every((v) => v === false)).toBe(true);

    const journal = path.join(h.home, 'revoke.jsonl');
    const rv = await h.run(['bulk', 'revoke', '--blueprint', seeded[0]!.appId, '--grants', '--app-roles', '--yes', '--journal', journal, '-o', 'json'], { env });
    ok(rv);
    expect(rv.json<any[]>()).toHaveLength(2 * 41);
    const mid = await servedState(h);
    expect(Object.values(mid.oauth2PermissionGrants ?? {}).filter((g) => seeded[0]!.agentIds.includes(g.clientId))).toEqual([]);

    const u = await h.run(['bulk', 'undo', journal, '--yes', '-o', 'json'], { env });
    ok(u);
    const after = await servedState(h);
    expect(Object.values(after.oauth2PermissionGrants ?? {}).map((g) => `${g.clientId}|${g.resourceId}|${g.scope}`).sort()).toEqual(grantsBefore);
    expect(Object.values(after.appRoleAssignments ?? {}).map((a) => `${a.principalId}|${a.resourceId}|${a.appRoleId}`).sort()).toEqual(rolesBefore);
  });

  test('kill -9 before the first write, with a batch in flight, and midway: resume finishes, nothing lost, nothing twice', async () => {
    const points: [string, (recs: any[]) => boolean][] = [
      ['plan written, nothing sent', (r) => r.some((x) => x.t === 'planned')],
      ['first batch in flight', (r) => r.some((x) => x.t === 'intent')],
      ['midway', (r) => r.filter((x) => x.t === 'done').length >= 41],
    ];
    for (const [name, when] of points) {
      const { h, seeded } = await tenantWith({ blueprints: 1, agentsPerBlueprint: 100, disabledEvery: 10 });
      const url = await serve(h, ['--latency', '60', '--throttle', 'off']);
      const env = { AGENTID_GRAPH_URL: url };
      const journal = path.join(h.home, 'run.jsonl');
      await killWhen(h.home, ['bulk', 'disable', '--blueprint', seeded[0]!.appId, '--yes', '--concurrency', '1', '--journal', journal], env, journal, when);
      const beforeResume = journalRecords(journal);
      const doneBefore = new Set(beforeResume.filter((x) => x.t === 'done').map((x) => x.key));
      const r = await h.run(['bulk', 'resume', journal, '--yes', '-o', 'json'], { env });
      expect({ name, code: r.code, stderr: r.code ? r.stderr : '' }).toEqual({ name, code: 0, stderr: '' });
      expect(r.json<any[]>().filter((x) => x.status === 'done').length, name).toBe(1 + 90);
      expect(Object.values(enabledMap(await servedState(h))).every((v) => v === false), name).toBe(true);
      // Nothing done twice: no item finished before the kill was sent again, and every item has one outcome.
      const resumed = journalRecords(journal).slice(beforeResume.length);
      const resent = resumed.filter((x) => x.t === 'intent').flatMap((x) => x.keys);
      expect(resent.filter((k: string) => doneBefore.has(k)), name).toEqual([]);
      const dones = journalRecords(journal).filter((x) => x.t === 'done').map((x) => x.key);
      expect(new Set(dones).size, name).toBe(dones.length);
    }
  });

  test('kill -9 during bulk create, then resume: every agent exists exactly once', async () => {
    const { h, seeded } = await tenantWith({ blueprints: 1, agentsPerBlueprint: 0 });
    const url = await serve(h, ['--latency', '60', '--throttle', 'off', '--fault-rate', '0.1']);
    const env = { AGENTID_GRAPH_URL: url };
    const file = path.join(h.home, 'agents.csv');
    const rows = Array.from({ length: 45 }, (_, i) => `Agent ${i},meganb@contoso.onmicrosoft.com,,${i % 3 === 0 ? `agent-${i}@contoso.onmicrosoft.com` : ''}`);
    writeFileSync(file, `name,sponsors,owners,agentUserUpn\n${rows.join('\n')}\n`);
    const journal = path.join(h.home, 'create.jsonl');
    await killWhen(h.home, ['bulk', 'create', '--blueprint', seeded[0]!.appId, '--file', file, '--yes', '--concurrency', '1', '--journal', journal], env, journal, (r) => r.filter((x) => x.t === 'intent').length >= 2);
    const r = await h.run(['bulk', 'resume', journal, '--yes', '-o', 'json'], { env });
    ok(r);
    const state = await servedState(h);
    const names = Object.values(state.objects).filter((o) => o.type === 'agentIdentity' && !o.deletedDateTime).map((o) => o.props.displayName as string);
    expect(names.sort()).toEqual(Array.from({ length: 45 }, (_, i) => `Agent ${i}`).sort());
    expect(Object.values(state.objects).filter((o) => o.type === 'agentUser')).toHaveLength(15);
    // A re-run skips everything.
    const again = await h.run(['bulk', 'create', '--blueprint', seeded[0]!.appId, '--file', file, '--yes', '-o', 'json'], { env });
    ok(again);
    expect(again.json<any[]>().every((x) => x.status === 'skipped')).toBe(true);
  });
});
