import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BIN, ROOT, baseEnv, fixture, tempHome, type RunResult } from './helpers.js';

// `agentid logs` end to end, against the in-process emulated tenant: every CLI mutation lands in
// the audit log under its base-type activity, sign-in exports follow every page, and a listing
// cut short (closed pipe, Ctrl-C) leaves only whole lines behind.

const dir = fixture('contoso-directory.json');
const [admin, megan, adele] = dir.users;
const m365 = dir.groups.microsoft365;

const h = tempHome('agentid-e2e-logs-');
afterAll(() => h.remove());

function ok(r: RunResult): RunResult {
  expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
  return r;
}

const latestActivity = async (): Promise<any> => ok(await h.run(['logs', 'audit', '--top', '1', '-o', 'json'])).json()[0];

describe('each CLI mutation shows up in the audit log', () => {
  // [command, activity it must record, type of the first target]
  const steps: [string[], string, string][] = [
    [['blueprint', 'create', '--name', 'Audit BP', '--sponsor', megan.userPrincipalName], 'Add service principal', 'ServicePrincipal'],
    [['blueprint', 'update', 'Audit BP', '--description', 'audited'], 'Update application', 'Application'],
    [['blueprint', 'credential', 'add', 'Audit BP', '--display-name', 'ci', '--secret-file', path.join(h.home, 'secret.txt')], 'Update application – Certificates and secrets management', 'Application'],
    [['blueprint', 'permission', 'add', 'Audit BP', '--resource', 'graph', '--scopes', 'User.Read'], 'Update application', 'Application'],
    [['owner', 'add', '--blueprint', 'Audit BP', '--user', adele.userPrincipalName], 'Add owner to application', 'Application'],
    [['sponsor', 'add', '--blueprint', 'Audit BP', '--group', m365.id], 'Update application', 'Application'],
    [['agent', 'create', '--blueprint', 'Audit BP', '--name', 'Audit Agent', '--sponsor', 'me'], 'Add service principal', 'ServicePrincipal'],
    [['agent', 'disable', 'Audit Agent'], 'Update service principal', 'ServicePrincipal'],
    [['owner', 'add', '--agent', 'Audit Agent', '--user', adele.userPrincipalName], 'Add owner to service principal', 'ServicePrincipal'],
    [['agent-user', 'create', '--agent', 'Audit Agent', '--upn', 'audit-agent@contoso.onmicrosoft.com'], 'Add user', 'User'],
    [['agent-user', 'disable', 'audit-agent@contoso.onmicrosoft.com'], 'Update user', 'User'],
    [['agent-user', 'delete', 'audit-agent@contoso.onmicrosoft.com', '--yes'], 'Delete user', 'User'],
    [['agent', 'delete', 'Audit Agent', '--yes'], 'Delete service principal', 'ServicePrincipal'],
  ];

  test.each(steps.map((s, i) => [i + 1, s[0].slice(0, 2).join(' '), ...s] as const))('%i. %s → %s', async (_i, _name, args, activity, type) => {
    ok(await h.run([...args, '-o', 'none']));
    const a = await latestActivity();
    expect(a.activityDisplayName).toBe(activity);
    expect(a.result).toBe('success');
    expect(a.initiatedBy.user.userPrincipalName).toBe(admin.userPrincipalName);
    expect(a.targetResources[0].type).toBe(type);
  });

  test('blueprint delete logs the application and its principal; filters find them by target and activity', async () => {
    const bp = ok(await h.run(['blueprint', 'show', 'Audit BP', '-o', 'json'])).json();
    ok(await h.run(['blueprint', 'delete', 'Audit BP', '--yes', '-o', 'none']));
    const deletes = ok(await h.run(['logs', 'audit', '--activity', 'Delete*', '--since', '1h', '-o', 'json'])).json();
    expect(deletes.map((a: any) => a.activityDisplayName).sort()).toEqual(['Delete application', 'Delete service principal', 'Delete service principal', 'Delete user']);
    const onBlueprint = ok(await h.run(['logs', 'audit', '--target', bp.id, '--all', '-o', 'json'])).json();
    expect(onBlueprint.map((a: any) => a.activityDisplayName)).toEqual([
      'Delete application',
      'Update application',
      'Add owner to application',
      'Update application',
      'Update application – Certificates and secrets management',
      'Update application',
      'Add application',
    ]);
    const users = ok(await h.run(['logs', 'audit', '--category', 'UserManagement', '--all', '-o', 'json'])).json();
    expect(users.map((a: any) => a.activityDisplayName)).toEqual(['Delete user', 'Update user', 'Add user']);
  });

  test('the table on stdout names activity, initiator and target; bad flags are exit 2 before any request', async () => {
    const r = ok(await h.run(['logs', 'audit', '--top', '2', '-o', 'table']));
    expect(r.stdout.split('\n')[0]).toMatch(/^Time\s+Activity\s+Category\s+Result\s+Initiated by\s+Target\s+Type$/);
    expect(r.stdout).toContain(admin.userPrincipalName);
    const bad = await h.run(['logs', 'audit', '--since', 'last tuesday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("error: --since 'last tuesday' is neither a duration (30m, 24h, 7d) nor a date or time (2026-01-15, 2026-01-15T09:00:00Z).\n");
    const both = await h.run(['logs', 'signins', '--top', '5', '--all']);
    expect(both.code).toBe(2);
  });
});

describe('sign-ins: generated history, filters, paging to the end', () => {
  let agentId: string;
  beforeAll(async () => {
    ok(await h.run(['blueprint', 'create', '--name', 'Signin BP', '--sponsor', megan.userPrincipalName, '-o', 'none']));
    agentId = ok(await h.run(['agent', 'create', '--blueprint', 'Signin BP', '--name', 'Signin Agent', '--sponsor', 'me', '-o', 'json'])).json().id;
    ok(await h.run(['agent-user', 'create', '--agent', 'Signin Agent', '--upn', 'signin-agent@contoso.onmicrosoft.com', '-o', 'none']));
    const gen = ok(await h.run(['mock', 'signins', 'generate', '--count', '2500', '--days', '3', '--failure-rate', '0.1', '-o', 'json'])).json();
    expect(gen).toMatchObject({ count: 2500, actors: 3 });
  });

  test('--all follows @odata.nextLink to the end: every row once, newest first', async () => {
    const r = ok(await h.run(['logs', 'signins', '--all', '-o', 'ndjson']));
    const rows = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(2500);
    expect(new Set(rows.map((x) => x.id)).size).toBe(2500);
    const times = rows.map((x) => x.createdDateTime);
    expect([...times].sort().reverse()).toEqual(times);
    expect(r.stderr).not.toContain('More sign-ins');
  });

  test('without --all one page of 1,000 comes back, and stderr says there is more', async () => {
    const r = ok(await h.run(['logs', 'signins', '-o', 'ndjson']));
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1000);
    expect(r.stderr).toContain('More sign-ins match; add --all to read every page, or --top N.');
  });

  test('--agent and --status reach the emulator as $filter: only that agent, only failures', async () => {
    const rows = ok(await h.run(['logs', 'signins', '--agent', 'Signin Agent', '--status', 'failure', '--all', '-o', 'json'])).json();
    expect(rows.length).toBeGreaterThan(0);
    for (const s of rows) {
      expect(s.appId).toBe(agentId);
      expect(s.status.errorCode).not.toBe(0);
    }
    const users = ok(await h.run(['logs', 'signins', '--agent-user', 'signin-agent@contoso.onmicrosoft.com', '--top', '20', '-o', 'json'])).json();
    expect(users).toHaveLength(20);
    expect(users.every((s: any) => s.agent.agentType === 'agentIDuser' && s.signInEventTypes[0] === 'nonInteractiveUser')).toBe(true);
  });

  test('--summary: one row per agent, failures and distinct addresses counted', async () => {
    const all = ok(await h.run(['logs', 'signins', '--all', '-o', 'json'])).json();
    const summary = ok(await h.run(['logs', 'signins', '--summary', '-o', 'json'])).json();
    expect(summary.reduce((n: number, g: any) => n + g.signIns, 0)).toBe(2500);
    const agent = summary.find((g: any) => g.appId === agentId);
    const mine = all.filter((s: any) => s.appId === agentId);
    expect(agent).toMatchObject({
      agent: 'Signin Agent',
      signIns: mine.length,
      failures: mine.filter((s: any) => s.status.errorCode !== 0).length,
      distinctIpAddresses: new Set(mine.map((s: any) => s.ipAddress)).size,
    });
  });

  test('generate refuses what it cannot do, with exit 2', async () => {
    const r = await h.run(['mock', 'signins', 'generate', '--count', '10', '--days', '45']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--days is at most 30/);
  });
});

describe('streamed output stays valid when cut short', () => {
  test('a reader that stops after the first lines (| head) gets whole ndjson lines, exit 0', async () => {
    const { lines, code } = await new Promise<{ lines: string[]; code: number | null }>((resolve) => {
      const child = spawn(process.execPath, [BIN, 'logs', 'signins', '--all', '-o', 'ndjson'], { cwd: ROOT, env: baseEnv(h.home), stdio: ['ignore', 'pipe', 'ignore'] });
      let buf = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        if (buf.split('\n').length > 5) child.stdout.destroy();
      });
      child.on('close', (c) => resolve({ lines: buf.split('\n').slice(0, -1), code: c }));
    });
    expect(code).toBe(0);
    expect(lines.length).toBeGreaterThanOrEqual(5);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
  });

  test('Ctrl-C during --follow stops with exit 130 and a JSON array that still parses', async () => {
    const { out, code } = await new Promise<{ out: string; code: number | null }>((resolve) => {
      const child = spawn(process.execPath, [BIN, 'logs', 'signins', '--follow', '--interval', '1', '--top', '50', '-o', 'json'], { cwd: ROOT, env: baseEnv(h.home), stdio: ['ignore', 'pipe', 'ignore'] });
      let buf = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        const first = buf === '';
        buf += d;
        if (first) setTimeout(() => child.kill('SIGINT'), 300);
      });
      child.on('close', (c) => resolve({ out: buf, code: c }));
    });
    expect(code).toBe(130);
    const rows = JSON.parse(out);
    expect(rows).toHaveLength(50);
    // --follow reads like tail -f: oldest first.
    expect(rows[0].createdDateTime <= rows[49].createdDateTime).toBe(true);
  });
});
