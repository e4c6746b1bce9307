import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { BIN, ROOT, baseEnv, tempHome } from './helpers.js';

// Issue 12 #5: predictable conflicts answered like a tool, not like raw Graph; and #7's grammar
// and group sponsors by name.

const h = tempHome();
afterAll(() => h.remove());
const ADELE = 'adelev@contoso.onmicrosoft.com';

beforeAll(async () => {
  expect((await h.run(['blueprint', 'create', '--name', 'Conflict BP', '--sponsor', 'me'])).code).toBe(0);
  expect((await h.run(['agent', 'create', '--blueprint', 'Conflict BP', '--name', 'Conflict Agent', '--sponsor', 'me'])).code).toBe(0);
});

describe('sponsors and owners', () => {
  test('adding a sponsor already there is a no-op: exit 0, "already a sponsor"', async () => {
    expect((await h.run(['sponsor', 'add', '--blueprint', 'Conflict BP', '--user', ADELE])).code).toBe(0);
    const again = await h.run(['sponsor', 'add', '--blueprint', 'Conflict BP', '--user', ADELE, '-o', 'json']);
    expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: "Adele Vance is already a sponsor of blueprint 'Conflict BP'; nothing changed.\n" });
    expect(again.json()).toMatchObject({ action: 'none', reason: 'already a sponsor' });
  });

  test('adding an owner already there says "already an owner"', async () => {
    expect((await h.run(['owner', 'add', '--blueprint', 'Conflict BP', '--user', ADELE])).code).toBe(0);
    const again = await h.run(['owner', 'add', '--blueprint', 'Conflict BP', '--user', ADELE]);
    expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: "Adele Vance is already an owner of blueprint 'Conflict BP'; nothing changed.\n" });
  });

  test('removing one that is not there is exit 3 naming both objects', async () => {
    const r = await h.run(['owner', 'remove', '--blueprint', 'Conflict BP', '--user', 'meganb@contoso.onmicrosoft.com', '--yes']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^error: Megan Bowen is not an owner of blueprint 'Conflict BP'; 'agentid owner list --blueprint [0-9a-f-]{36}' lists them\.\n$/);
  });

  test('group sponsors by display name; a misspelt one suggests the closest', async () => {
    const add = await h.run(['sponsor', 'add', '--blueprint', 'Conflict BP', '--group', 'AI Platform Team']);
    expect({ code: add.code, stderr: add.stderr }).toEqual({ code: 0, stderr: "Added sponsor AI Platform Team to blueprint 'Conflict BP'.\n" });
    const typo = await h.run(['sponsor', 'add', '--blueprint', 'Conflict BP', '--group', 'AI Platfrm Team']);
    expect({ code: typo.code, stderr: typo.stderr }).toEqual({ code: 3, stderr: "error: No group named 'AI Platfrm Team' in this tenant; did you mean 'AI Platform Team'?\n" });
  });

  test('owners must be users: owner add offers no --group, and says why when given one', async () => {
    const help = await h.run(['owner', 'add', '--help']);
    expect(help.stdout).not.toContain('--group');
    expect(help.stdout).toContain('Add an owner');
    const r = await h.run(['owner', 'add', '--blueprint', 'Conflict BP', '--group', 'AI Platform Team']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: 'error: Owners must be users, not groups: give --user (UPN, object id or "me").\n' });
  });
});

describe('inheritable permissions', () => {
  test('adding scopes of a resource already there merges them; adding them again changes nothing', async () => {
    const GRAPH = '00000003-0000-0000-c000-000000000000';
    const scopes = async () => (await h.run(['blueprint', 'permission', 'list', 'Conflict BP', '--query', `[?resourceAppId=='${GRAPH}'].inheritableScopes.scopes | [0]`])).json();
    expect((await h.run(['blueprint', 'permission', 'add', 'Conflict BP', '--resource', 'graph', '--scopes', 'User.Read', '-o', 'none'])).code).toBe(0);
    const more = await h.run(['blueprint', 'permission', 'add', 'Conflict BP', '--resource', 'graph', '--scopes', 'Mail.Read,User.Read', '-o', 'none']);
    expect({ code: more.code, stderr: more.stderr }).toEqual({ code: 0, stderr: `Agents of 'Conflict BP' now inherit User.Read, Mail.Read of ${GRAPH}.\n` });
    expect(await scopes()).toEqual(['User.Read', 'Mail.Read']);
    const dry = await h.run(['blueprint', 'permission', 'add', 'Conflict BP', '--resource', 'graph', '--scopes', 'mail.read', '--dry-run']);
    expect(dry.json()).toMatchObject({ dryRun: true, action: 'none' });
    const again = await h.run(['blueprint', 'permission', 'add', 'Conflict BP', '--resource', 'graph', '--scopes', 'Mail.Read', '-o', 'none']);
    expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: `Agents of 'Conflict BP' already inherit User.Read, Mail.Read of ${GRAPH}; nothing changed.\n` });
    expect(await scopes()).toEqual(['User.Read', 'Mail.Read']);
  });
});

describe('agent users', () => {
  test('a UPN on an unverified domain lists the verified domains, exit 2, nothing created', async () => {
    const r = await h.run(['agent-user', 'create', '--agent', 'Conflict Agent', '--upn', 'bot@fabrikam.com']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: "error: --upn bot@fabrikam.com: 'fabrikam.com' is not a verified domain of this tenant; use one of contoso.onmicrosoft.com.\n" });
  });
});

describe('names', () => {
  test('a name that matches nothing suggests the closest names', async () => {
    const r = await h.run(['blueprint', 'show', 'Conflict B']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 3, stderr: "error: No blueprint named 'Conflict B'; did you mean 'Conflict BP'?\n" });
    const a = await h.run(['agent', 'show', 'Conflict Agnt']);
    expect({ code: a.code, stderr: a.stderr }).toEqual({ code: 3, stderr: "error: No agent identity named 'Conflict Agnt'; did you mean 'Conflict Agent'?\n" });
  });

  test('creating a second object with a taken name warns on stderr (off a terminal it goes ahead)', async () => {
    const r = await h.run(['agent', 'create', '--blueprint', 'Conflict BP', '--name', 'Conflict Agent', '--sponsor', 'me', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^warning: An agent is already named 'Conflict Agent' in blueprint 'Conflict BP' \([0-9a-f-]{36}\); another makes the name ambiguous, so refer to them by id\.\n/);
    const bp = await h.run(['blueprint', 'create', '--name', 'Conflict BP', '--sponsor', 'me', '--dry-run']);
    expect(bp.stderr).toMatch(/^warning: A blueprint is already named 'Conflict BP' in this tenant/);
  });
});

describe('a taken name on a terminal', () => {
  test('asks before creating a second one; answering no creates nothing, exit 0', async () => {
    const quote = (x: string) => `'${x.replace(/'/g, `'\\''`)}'`;
    const args = ['blueprint', 'create', '--name', 'Conflict BP', '--sponsor', 'me'];
    const r = await new Promise<{ code: number | null; terminal: string }>((resolve) => {
      const child = spawn('script', ['-qec', [process.execPath, BIN, ...args].map(quote).join(' '), '/dev/null'], { cwd: ROOT, env: baseEnv(h.home, { CI: undefined, TERM: 'dumb' }), stdio: ['pipe', 'pipe', 'pipe'] });
      let terminal = '';
      const onData = (d: string) => {
        terminal += d;
        if (terminal.includes('(y/N)') && !child.stdin.writableEnded) child.stdin.end('n\r');
      };
      child.stdout.setEncoding('utf8').on('data', onData);
      child.stderr.setEncoding('utf8').on('data', onData);
      child.on('close', (code) => resolve({ code, terminal }));
    });
    const screen = r.terminal.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\s+/g, ' ');
    expect(r.code).toBe(0);
    expect(screen).toMatch(/A blueprint is already named 'Conflict BP' in this tenant .*Create another\? No/);
    expect(screen).toContain('Cancelled: nothing was created.');
    expect((await h.run(['blueprint', 'list', '--query', "length([?displayName=='Conflict BP'])"])).json()).toBe(1);
  });
});

describe('unreachable hosts', () => {
  test('an unreachable Graph names the host and the variable that set it', async () => {
    const r = await h.run(['agent', 'list'], { env: { AGENTID_GRAPH_URL: 'http://127.0.0.1:9' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: NetworkError: Could not reach Microsoft Graph at 127\.0\.0\.1:9: .*; the Graph URL is set by AGENTID_GRAPH_URL\n$/);
  });

  test('an unreachable sign-in host names the host and the flag that set it', async () => {
    const r = await h.run(['login', '--profile', 'dead', '--tenant', 'contoso.onmicrosoft.com', '--client-id', 'c0a1b2c3-0001-4d5e-8f90-000000000301', '--client-secret-env', 'S', '--authority-host', 'https://127.0.0.1:9', '--graph-url', 'https://127.0.0.1:9'], { env: { S: 'x' } });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^error: Sign-in failed \(client secret from \$S\): could not reach the sign-in host 127\.0\.0\.1:9, set by --authority-host of profile 'dead' \(agentid login --authority-host URL\)/);
  });
});

describe('help names least-privileged permissions', () => {
  test('list commands name read permissions, as the Graph reference pages do', async () => {
    const owner = (await h.run(['owner', 'list', '--help'])).stdout;
    expect(owner).toContain('Least-privileged Graph permission: Application.Read.All (agents), AgentIdentityBlueprint.Read.All (blueprints)');
    const sponsor = (await h.run(['sponsor', 'list', '--help'])).stdout;
    expect(sponsor).toContain('AgentIdentityBlueprint.Read.All (blueprints)');
    expect(sponsor).toContain('app-only');
  });

  test('credential add: --name labels a secret; --display-name still works, hidden', async () => {
    const r = await h.run(['blueprint', 'credential', 'add', 'Conflict BP', '--name', 'ci-label', '--dry-run', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ displayName: 'ci-label' });
    const old = await h.run(['blueprint', 'credential', 'add', 'Conflict BP', '--display-name', 'old-label', '--dry-run', '-o', 'json']);
    expect(old.json()).toMatchObject({ displayName: 'old-label' });
    expect((await h.run(['blueprint', 'credential', 'add', '--help'])).stdout).not.toContain('--display-name');
  });
});
