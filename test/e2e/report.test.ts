import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tempHome } from './helpers.js';
import { RULES } from '../../src/graph/governance/rules.js';

// agentid report (issue #14) on a fresh `mock reset --fixture contoso`: every rule the fixture
// seeds a case for is found, with the objects fixtures/build-contoso.mjs names; the CI gate's
// exit codes; and the --html page, loaded in a real headless Chromium when one is installed.

const h = tempHome('agentid-report-');
let findings: { rule: string; severity: string; object: string; objectId: string; objectType: string; blueprint: string | null; fix: string; why: string }[] = [];

beforeAll(async () => {
  const r = await h.run(['mock', 'reset', '--fixture', 'contoso', '--yes']);
  expect(r.code, r.stderr).toBe(0);
  const rep = await h.run(['report', '-o', 'json']);
  expect(rep.code, rep.stderr).toBe(0);
  findings = rep.json();
}, 60_000);
afterAll(() => h.remove());

describe('agentid report on the contoso fixture', () => {
  test('finds each seeded governance case under its rule', () => {
    const of = (rule: string) => findings.filter((f) => f.rule === rule).map((f) => f.object);
    expect(of('orphaned.no-sponsor')).toContain('Finance Agent AMER 002'); // its only sponsor was deleted
    expect(of('orphaned.inactive-sponsors').length).toBeGreaterThan(1); // sponsored by users who left
    // … or only by a Microsoft 365 group without members (read through /groups/{id}/members).
    const emptyGroup = findings.filter((f) => f.rule === 'orphaned.inactive-sponsors' && f.why.includes('(empty group)'));
    expect(emptyGroup.map((f) => [f.object, f.why])).toEqual([['HR Onboarding Agent EMEA 003', 'Its sponsors cannot act: HR Agent Review Board (empty group).']]);
    expect(of('orphaned.no-owner')).toEqual(['HR Onboarding Agent']);
    expect(of('stale.no-recent-sign-in').sort()).toEqual(['Sales Agent AMER 002', 'Support Agent EMEA 001']);
    expect(of('stale.never-signed-in')).toEqual(['HR Onboarding Agent APAC 001']);
    expect(of('credentials.expired')).toEqual(['Sales Agent']);
    expect(of('credentials.expiring').sort()).toEqual(['Finance Agent', 'HR Onboarding Agent']);
    expect(of('credentials.unsafe-federation')).toEqual(['Finance Agent']);
    expect(of('credentials.mixed-kinds').sort()).toEqual(['Finance Agent', 'Support Agent']);
    expect(of('privilege.high-permission')).toEqual(['Finance Agent APAC 003']);
    expect(of('privilege.inherit-all-scopes')).toEqual(['Support Agent']);
    expect(of('privilege.directory-role')).toEqual(['Support Agent APAC 003']);
    expect(of('drift.agent-user-parent-deleted')).toEqual(['Retired Agent']);
    expect(of('drift.agent-user-parent-disabled')).toHaveLength(1);
    expect(of('drift.disabled-agent-live-blueprint').length).toBeGreaterThan(0);
  });

  test('every rule is found at least once on the fixture', () => {
    expect(RULES.filter((r) => !findings.some((f) => f.rule === r.id)).map((r) => r.id)).toEqual([]);
  });

  test('every finding names its severity, why, and a fixing agentid command with real values filled in', () => {
    for (const f of findings) {
      expect(RULES.find((r) => r.id === f.rule)?.severity).toBe(f.severity);
      expect(f.why.length).toBeGreaterThan(10);
      expect(f.fix).not.toMatch(/\{\w+\}/);
    }
    const expired = findings.find((f) => f.rule === 'credentials.expired')!;
    expect(expired.fix).toMatch(/^agentid blueprint credential remove [0-9a-f-]{36} --key-id [0-9a-f-]{36}$/);
    const orphan = findings.find((f) => f.object === 'Finance Agent AMER 002')!;
    expect(orphan.fix).toContain(`agentid sponsor add --agent ${orphan.objectId} --user UPN`);
  });

  test('-o csv carries each finding\'s severity, rule, object, blueprint, why and fix', async () => {
    const r = await h.run(['report', '-o', 'csv']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('severity,rule,objectType,object,blueprint,why,fix');
    expect(lines).toHaveLength(findings.length + 1);
    const expired = lines.find((l) => l.startsWith('high,credentials.expired,'))!;
    expect(expired).toContain('expired on');
    expect(expired).toMatch(/,agentid blueprint credential remove [0-9a-f-]{36} --key-id [0-9a-f-]{36}$/);
  });

  test('reads by pages and $batch only: no GET of a single object, and at most one $batch per 20 per-object lists', async () => {
    const r = await h.run(['--debug', 'report', '-o', 'none']);
    expect(r.code, r.stderr).toBe(0);
    const responses = r.stderr.split('\n').filter((l) => /^\[debug\] < \d{3} (GET|POST|PATCH|DELETE) /.test(l)).map((l) => l.split(' ').slice(3, 5).join(' '));
    const batches = responses.filter((x) => x.startsWith('POST ') && x.includes('/$batch'));
    const gets = responses.filter((x) => x.startsWith('GET '));
    expect(responses.length).toBe(batches.length + gets.length); // reads only
    // No object is read on its own: no GET path names an object id.
    expect(gets.filter((x) => /\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.test(x.split('?')[0]!))).toEqual([]);
    // Per object, Graph offers sponsors, owners, federated and inheritable lists and app role
    // assignments only one object at a time: 20 of those to a $batch.
    const perObject = 4 + 320 + 130 + 4 * 3 + (4 + 320) + 1; // sponsors (blueprints, agents, agent users), owners/federated/inheritable, app roles, sponsor groups
    expect(batches.length).toBeLessThanOrEqual(Math.ceil(perObject / 20) + 3);
  });

  test('--rules lists every rule with its id, severity and fix', async () => {
    const r = await h.run(['report', '--rules', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(r.json<{ id: string }[]>().map((x) => x.id)).toEqual(RULES.map((x) => x.id));
  });

  test('--fail-on high exits 1 after printing the findings; without it the same report exits 0', async () => {
    const r = await h.run(['report', '--fail-on', 'high', '-o', 'json']);
    expect(r.code).toBe(1);
    expect(r.json().length).toBe(findings.length);
    expect(r.stderr).toMatch(/\d+ finding\(s\) at or above high \(--fail-on high\)/);
  });

  test('--blueprint limits the report to one blueprint and its agents', async () => {
    const r = await h.run(['report', '--blueprint', 'HR Onboarding Agent', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const bps = new Set(r.json<{ blueprint: string | null }[]>().map((f) => f.blueprint));
    expect([...bps]).toEqual(['HR Onboarding Agent']);
  });

  test('bad input is one line and exit 2', async () => {
    const r = await h.run(['report', '--fail-on', 'critical']);
    expect(r.code).toBe(2);
    const s = await h.run(['report', '--stale-days', '0']);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/--stale-days must be a whole number of 1 or more/);
  });
});

describe('agentid report --html', () => {
  test('writes one self-contained page that a real browser renders: counts, a row per orphan, drawn charts', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'agentid-report-html-'));
    const file = path.join(dir, 'report.html');
    const r = await h.run(['report', '--html', file, '-o', 'none']);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(file, 'utf8');
    // Self-contained: no external script, stylesheet or fetch; Chart.js is inlined.
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/cdn/i);
    expect(html).toMatch(/Chart\.js v4\.\d+\.\d+/);

    const chromium = '/usr/bin/chromium';
    if (!existsSync(chromium)) {
      console.warn(`skipped: the browser half of this test needs Debian's chromium at ${chromium} (apt-get install chromium; .ci/run tries)`);
      return;
    }
    const { chromium: pw } = await import('playwright-core');
    const profile = mkdtempSync(path.join(os.tmpdir(), 'agentid-chromium-'));
    const context = await pw.launchPersistentContext(profile, {
      executablePath: chromium,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 1800 },
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const requests: string[] = [];
      page.on('request', (req) => {
        if (!req.url().startsWith('file:')) requests.push(req.url());
      });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`file://${file}`);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);

      const text = async (sel: string) => (await page.textContent(sel))?.trim();
      expect(await text('#count-agents .n')).toBe('320');
      expect(await text('#count-findings .n')).toBe(String(findings.length));
      expect(await text('#finding-count')).toBe(`${findings.length} of ${findings.length} findings shown`);
      // One row per orphan the fixture seeds, found by object id.
      const orphans = findings.filter((f) => f.rule === 'orphaned.no-sponsor');
      expect(await page.locator('tr.finding[data-rule="orphaned.no-sponsor"]').count()).toBe(orphans.length);
      for (const o of orphans) expect(await page.locator(`tr.finding[data-rule="orphaned.no-sponsor"][data-object-id="${o.objectId}"]`).count()).toBe(1);
      // … and for the orphans whose sponsors cannot act (disabled users, the empty group).
      const inactive = findings.filter((f) => f.rule === 'orphaned.inactive-sponsors');
      expect(await page.locator('tr.finding[data-rule="orphaned.inactive-sponsors"]').count()).toBe(inactive.length);
      for (const o of inactive) expect(await page.locator(`tr.finding[data-rule="orphaned.inactive-sponsors"][data-object-id="${o.objectId}"]`).count(), o.object).toBe(1);
      // Filters: a rule narrows the table and the counter.
      await page.selectOption('#f-rule', 'stale.no-recent-sign-in');
      expect(await text('#finding-count')).toBe(`2 of ${findings.length} findings shown`);
      await page.selectOption('#f-rule', '');
      // A row of the summary by rule does the same.
      await page.click('#by-rule tr[data-rule="orphaned.no-sponsor"]');
      expect(await text('#finding-count')).toBe(`${orphans.length} of ${findings.length} findings shown`);
      await page.selectOption('#f-rule', '');
      // Today is drawn as a partial day, not as a drop in sign-ins.
      const lastLabel = await page.evaluate(() => {
        const chart = (globalThis as any).Chart.getChart('chart-signins');
        return chart.data.labels[chart.data.labels.length - 1] as string;
      });
      expect(lastLabel).toMatch(/^\d{4}-\d{2}-\d{2} \(so far\)$/);
      // The charts were drawn: each canvas has pixels that are not blank.
      for (const id of ['chart-blueprints', 'chart-signins']) {
        const painted = await page.evaluate((cid) => {
          // Runs in the page; this file is type-checked without the DOM library.
          const c = (globalThis as any).document.getElementById(cid);
          const d: Uint8ClampedArray = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
          return { n, w: c.width, h: c.height };
        }, id);
        expect(painted.w).toBeGreaterThan(100);
        expect(painted.n, id).toBeGreaterThan(1000);
      }
      const shot = path.join(dir, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(existsSync(shot)).toBe(true);
      console.log(`screenshot: ${shot}`);
    } finally {
      await context.close();
    }
  }, 90_000);
});
