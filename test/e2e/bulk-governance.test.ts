import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { journalRecords, killWhen, startServer, tempHome, type RunResult } from './helpers.js';
import type { TenantState } from '../../src/mock/state.js';

// The bulk fixes of issue #14 on the contoso fixture: sponsor replace (add before remove, undo),
// sponsor add --orphaned (the report's orphans), delete --stale-days (soft delete, undo restores
// from deleted items). Sponsor writes on agent identities are app-only in Graph (GD
// agentidentity-post-sponsors-permissions.md: delegated "Not supported"), so they run as the
// emulated automation app; the delete reads sign-ins, which the admin's delegated token may.

const APP_SECRET = 'Emulated~Automation.Secret.0001';
const HANA = 'hana.sato@contoso.onmicrosoft.com'; // disabled: left the company
const LEE = 'leeg@contoso.onmicrosoft.com';
const homes: ReturnType<typeof tempHome>[] = [];
afterAll(() => {
  for (const h of homes) h.remove();
});

async function fixtureHome() {
  const h = tempHome('agentid-bulkgov-');
  homes.push(h);
  expect((await h.run(['mock', 'reset', '--fixture', 'contoso', '--yes'])).code).toBe(0);
  const login = await h.run(['login', '--profile', 'app', '--emulated', '--client-id', 'c0a1b2c3-0001-4d5e-8f90-000000000301', '--client-secret-env', 'APP_SECRET'], { env: { APP_SECRET } });
  expect(login.code, login.stderr).toBe(0);
  await h.run(['profile', 'use', 'local']);
  const asApp = (args: string[]) => h.run(['--profile', 'app', ...args], { env: { APP_SECRET } });
  const state = () => JSON.parse(readFileSync(h.stateFile, 'utf8')) as TenantState;
  return { h, asApp, state };
}

/** The served emulator's state as it holds it now (it flushes to disk every 100 ms). */
async function servedState(h: ReturnType<typeof tempHome>): Promise<TenantState> {
  await new Promise((r) => setTimeout(r, 300));
  return JSON.parse(readFileSync(h.stateFile, 'utf8')) as TenantState;
}

const sponsorsOf = (s: TenantState, ids: string[]) => Object.fromEntries(ids.map((id) => [id, [...(s.objects[id]!.sponsors ?? [])].sort()]));
const ok = (r: RunResult) => {
  expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
  return r;
};

describe('agentid bulk sponsor replace', () => {
  test('adds --to, then removes --from, on every object --from sponsors; undo puts the sponsors back as they were', async () => {
    const { h, asApp, state } = await fixtureHome();
    const hana = Object.values(state().objects).find((o) => o.props.userPrincipalName === HANA)!.id;
    const lee = Object.values(state().objects).find((o) => o.props.userPrincipalName === LEE)!.id;
    const sponsored = Object.values(state().objects).filter((o) => o.sponsors?.includes(hana)).map((o) => o.id);
    expect(sponsored.length).toBeGreaterThan(0);
    const before = sponsorsOf(state(), sponsored);

    const dry = ok(await asApp(['bulk', 'sponsor', 'replace', '--from', HANA, '--to', LEE, '--dry-run', '-o', 'json']));
    expect(dry.json().changes).toBe(sponsored.length * 2);
    expect(sponsorsOf(state(), sponsored)).toEqual(before);

    const journal = path.join(h.home, 'replace.jsonl');
    const run = ok(await asApp(['bulk', 'sponsor', 'replace', '--from', HANA, '--to', LEE, '--yes', '--journal', journal, '-o', 'json']));
    expect(run.json<{ status: string }[]>().every((r) => r.status === 'done')).toBe(true);
    for (const id of sponsored) {
      expect(state().objects[id]!.sponsors).toContain(lee);
      expect(state().objects[id]!.sponsors).not.toContain(hana);
    }
    // The journal shows the order: each removal waited for its add.
    const lines = readFileSync(journal, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const removes = lines.filter((l) => l.t === 'item' && l.op.kind === 'removeSponsor');
    expect(removes.length).toBe(sponsored.length);
    for (const r of removes) expect(r.phase).toBe(1);

    ok(await asApp(['bulk', 'undo', journal, '--yes', '-o', 'none']));
    expect(sponsorsOf(state(), sponsored)).toEqual(before);
  }, 60_000);

  test('killed (kill -9) before a write, with the adds in flight, and between the adds and the removals: no object is ever left without a sponsor, and resume finishes', async () => {
    const points: [string, (recs: any[]) => boolean][] = [
      ['plan written, nothing sent', (r) => r.some((x) => x.t === 'planned')],
      ['adds in flight', (r) => r.some((x) => x.t === 'intent')],
      ['adds done, removals in flight', (r) => r.filter((x) => x.t === 'intent').length >= 2],
    ];
    for (const [name, when] of points) {
      const { h, state } = await fixtureHome();
      const hana = Object.values(state().objects).find((o) => o.props.userPrincipalName === HANA)!.id;
      const lee = Object.values(state().objects).find((o) => o.props.userPrincipalName === LEE)!.id;
      const sponsored = Object.values(state().objects).filter((o) => o.sponsors?.includes(hana)).map((o) => o.id);
      const server = await startServer(h.home, ['--latency', '80', '--throttle', 'off']);
      try {
        const env = { AGENTID_GRAPH_URL: server.url, APP_SECRET };
        const journal = path.join(h.home, 'replace.jsonl');
        await killWhen(h.home, ['--profile', 'app', 'bulk', 'sponsor', 'replace', '--from', HANA, '--to', LEE, '--yes', '--concurrency', '1', '--journal', journal], env, journal, when);
        const mid = await servedState(h);
        for (const id of sponsored) {
          const now = mid.objects[id]!.sponsors ?? [];
          expect(now.length, `${name}: ${id}`).toBeGreaterThan(0);
          // hana is only ever gone once lee is there.
          if (!now.includes(hana)) expect(now, `${name}: ${id}`).toContain(lee);
        }
        const doneBefore = new Set(journalRecords(journal).filter((x) => x.t === 'done').map((x) => x.key));
        const before = journalRecords(journal).length;
        const r = await h.run(['--profile', 'app', 'bulk', 'resume', journal, '--yes', '-o', 'json'], { env });
        expect({ name, code: r.code, stderr: r.code ? r.stderr : '' }).toEqual({ name, code: 0, stderr: '' });
        const after = await servedState(h);
        for (const id of sponsored) {
          expect(after.objects[id]!.sponsors, `${name}: ${id}`).toContain(lee);
          expect(after.objects[id]!.sponsors, `${name}: ${id}`).not.toContain(hana);
        }
        // Nothing finished before the kill was sent again.
        const resent = journalRecords(journal).slice(before).filter((x) => x.t === 'intent').flatMap((x) => x.keys as string[]);
        expect(resent.filter((k) => doneBefore.has(k)), name).toEqual([]);
      } finally {
        await server.stop();
      }
    }
  }, 120_000);

  test('refuses --from and --to naming the same sponsor (exit 2), and needs both', async () => {
    const { asApp } = await fixtureHome();
    const same = await asApp(['bulk', 'sponsor', 'replace', '--from', LEE, '--to', LEE, '--yes']);
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(/--from and --to name the same sponsor/);
    const missing = await asApp(['bulk', 'sponsor', 'replace', '--from', LEE]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--to is required/);
  }, 60_000);
});

describe('agentid bulk sponsor add --orphaned', () => {
  test('gives every orphan the report finds the sponsor; afterwards the report finds none', async () => {
    const { asApp, h } = await fixtureHome();
    const orphans = ok(await h.run(['report', '-o', 'json'])).json<{ rule: string; objectId: string }[]>().filter((f) => f.rule.startsWith('orphaned.') && f.rule !== 'orphaned.no-owner');
    expect(orphans.length).toBeGreaterThan(0);
    const run = ok(await asApp(['bulk', 'sponsor', 'add', '--user', LEE, '--orphaned', '--yes', '-o', 'json']));
    expect(new Set(run.json<{ objectId: string }[]>().map((r) => r.objectId))).toEqual(new Set(orphans.map((o) => o.objectId)));
    const after = ok(await h.run(['report', '-o', 'json'])).json<{ rule: string }[]>();
    expect(after.filter((f) => f.rule === 'orphaned.no-sponsor' || f.rule === 'orphaned.inactive-sponsors')).toEqual([]);
  }, 60_000);

  test('needs --orphaned and exactly one of --user and --group', async () => {
    const { asApp } = await fixtureHome();
    expect((await asApp(['bulk', 'sponsor', 'add', '--user', LEE, '--yes'])).stderr).toMatch(/--orphaned is required/);
    const both = await asApp(['bulk', 'sponsor', 'add', '--user', LEE, '--group', '7a2b0d3c-0001-4b6c-9dae-000000000101', '--orphaned', '--yes']);
    expect(both.code).toBe(2);
  }, 60_000);
});

describe('agentid bulk delete --stale-days', () => {
  test('soft-deletes the stale agents after confirmation; undo restores them from deleted items', async () => {
    const { h, state } = await fixtureHome();
    const unconfirmed = await h.run(['bulk', 'delete', '--stale-days', '30', '--agents-only']);
    expect(unconfirmed.code).toBe(2);
    const stale = ok(await h.run(['report', '-o', 'json'])).json<{ rule: string; objectId: string }[]>().filter((f) => f.rule === 'stale.no-recent-sign-in').map((f) => f.objectId);
    expect(stale).toHaveLength(2);
    const journal = path.join(h.home, 'delete.jsonl');
    const run = ok(await h.run(['bulk', 'delete', '--stale-days', '30', '--agents-only', '--yes', '--journal', journal, '-o', 'json']));
    expect(run.json<{ objectId: string; status: string }[]>().map((r) => [r.objectId, r.status]).sort()).toEqual(stale.map((id) => [id, 'done']).sort());
    for (const id of stale) expect(state().objects[id]!.deletedDateTime).toBeTruthy();
    ok(await h.run(['bulk', 'undo', journal, '--yes', '-o', 'none']));
    for (const id of stale) expect(state().objects[id]!.deletedDateTime).toBeUndefined();
  }, 60_000);

  test('an agent that never signed in is deleted once it is older than --stale-days, not before', async () => {
    const { h } = await fixtureHome();
    const never = ok(await h.run(['report', '-o', 'json'])).json<{ rule: string; object: string; objectId: string }[]>().find((f) => f.rule === 'stale.never-signed-in')!;
    expect(never.object).toBe('HR Onboarding Agent APAC 001'); // two weeks old
    const planned = async (days: string) => ok(await h.run(['bulk', 'delete', '--stale-days', days, '--agents-only', '--dry-run', '-o', 'json'])).json<{ items: { objectId: string }[] }>().items.map((i) => i.objectId);
    expect(await planned('10')).toContain(never.objectId);
    expect(await planned('20')).not.toContain(never.objectId);
  }, 60_000);

  test('--agents-only is required', async () => {
    const { h } = await fixtureHome();
    const r = await h.run(['bulk', 'delete', '--stale-days', '30', '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--agents-only is required/);
  }, 60_000);
});
