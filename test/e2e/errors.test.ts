import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fixture, stderrLines, tempHome, type RunResult } from './helpers.js';

// Failure paths of the built CLI: the exit code, one "error:" line on stderr with no stack trace,
// nothing on stdout, and, for a refused mutation, nothing written to the tenant.

const dir = fixture('contoso-directory.json');
const megan = dir.users[1];
const { security, roleAssignable } = dir.groups;

const ADMIN = 'admin@contoso.onmicrosoft.com';
const h = tempHome();
afterAll(() => h.remove());

let blueprint: { id: string; appId: string };
let twins: { id: string; appId: string }[];
let agentId: string;

/** What a refused command must leave behind: the exact bytes of the tenant file. */
const snapshot = () => readFileSync(h.stateFile, 'utf8');

function refused(r: RunResult, code: number, stderr?: string | RegExp): void {
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code, stdout: '' });
  expect(r.stderr).not.toMatch(/^\s+at /m);
  if (stderr === undefined) return;
  if (typeof stderr === 'string') expect(r.stderr).toBe(stderr);
  else expect(r.stderr).toMatch(stderr);
}

function oneErrorLine(r: RunResult): void {
  const lines = stderrLines(r);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
}

beforeAll(async () => {
  const bp = await h.run(['blueprint', 'create', '--name', 'Errors Blueprint', '--sponsor', 'me']);
  expect(bp.code).toBe(0);
  blueprint = bp.json();
  const agent = await h.run(['agent', 'create', '--blueprint', blueprint.id, '--name', 'Errors Agent', '--sponsor', 'me']);
  expect(agent.code).toBe(0);
  agentId = agent.json().id;
  // Agent sponsors are app-only in Graph: those mutations run as the seeded automation app.
  expect((await h.run(['login', '--profile', 'automation', '--emulated', '--as-app', '--no-verify'])).code).toBe(0);
  expect((await h.run(['profile', 'use', 'local'])).code).toBe(0);
  twins = [];
  for (let i = 0; i < 2; i++) {
    const t = await h.run(['blueprint', 'create', '--name', 'Twin', '--sponsor', 'me']);
    expect(t.code).toBe(0);
    twins.push(t.json());
  }
});

describe('bad input is a usage error (exit 2) and writes nothing', () => {
  test('rejects a malformed group id with one error line', async () => {
    const before = snapshot();
    const r = await h.run(['sponsor', 'add', '--agent', agentId, '--group', '7a2b0d3c-0001-4b6c']);
    refused(r, 2, "error: '7a2b0d3c-0001-4b6c' is not a group object id.\n");
    expect(snapshot()).toBe(before);
  });

  test('rejects a sponsor that is neither a UPN, an object id nor "me"', async () => {
    const before = snapshot();
    const r = await h.run(['blueprint', 'create', '--name', 'Never', '--sponsor', '6e1f0c2a-0002-4a5b']);
    refused(r, 2, `error: '6e1f0c2a-0002-4a5b' is not a user reference: give a UPN (name@domain), an object id, or "me".\n`);
    expect(snapshot()).toBe(before);
    expect((await h.run(['blueprint', 'list', '--query', "[?displayName=='Never']"])).json()).toEqual([]);
  });

  test('rejects a malformed UPN as bad input, not as a missing user', async () => {
    const before = snapshot();
    for (const upn of ['meganb@', '@contoso.onmicrosoft.com', 'meganb@contoso']) {
      const r = await h.run(['blueprint', 'create', '--name', 'Never', '--sponsor', upn]);
      refused(r, 2);
      oneErrorLine(r);
      expect(r.stderr).toContain(`'${upn}'`);
    }
    const r = await h.run(['owner', 'add', '--agent', agentId, '--user', 'adelev@']);
    refused(r, 2);
    oneErrorLine(r);
    expect(snapshot()).toBe(before);
  });

  test('rejects an agent user UPN that is not name@domain', async () => {
    const before = snapshot();
    const r = await h.run(['agent-user', 'create', '--agent', agentId, '--upn', 'sales emea']);
    refused(r, 2, "error: --upn must be name@domain with one of the tenant's verified domains, e.g. sales-agent@contoso.onmicrosoft.com.\n");
    expect(snapshot()).toBe(before);
  });

  test('rejects a --key-id that is not a GUID', async () => {
    const r = await h.run(['blueprint', 'credential', 'remove', blueprint.id, '--key-id', 'abc', '--yes']);
    refused(r, 2, "error: --key-id must be a GUID, not 'abc'.\n");
  });

  test('requires --sponsor and names it', async () => {
    const before = snapshot();
    const bp = await h.run(['blueprint', 'create', '--name', 'No Sponsor']);
    refused(bp, 2, 'error: At least one --sponsor is required: a UPN, a user or group object id, or "me".\n');
    const agent = await h.run(['agent', 'create', '--blueprint', blueprint.id, '--name', 'No Sponsor']);
    refused(agent, 2, 'error: At least one --sponsor is required: a UPN, a user or group object id, or "me".\n');
    expect(snapshot()).toBe(before);
  });

  test('lists both ids when a name matches two blueprints, and deletes neither', async () => {
    const before = snapshot();
    const r = await h.run(['blueprint', 'delete', 'Twin', '--yes']);
    refused(r, 2);
    oneErrorLine(r);
    expect(r.stderr).toMatch(/^error: 2 blueprints are named 'Twin': .* Use an object id instead\.\n$/);
    for (const t of twins) expect(r.stderr).toContain(`Twin (id ${t.id}, appId ${t.appId})`);
    expect(snapshot()).toBe(before);
  });

  test('rejects an unknown -o format before doing anything', async () => {
    const before = snapshot();
    const msg = "error: Unknown output format 'xml'. Use one of: table, json, jsonc, yaml, yamlc, csv, tsv, ndjson, none.\n";
    refused(await h.run(['blueprint', 'list', '-o', 'xml']), 2, msg);
    refused(await h.run(['blueprint', 'create', '--name', 'Never', '--sponsor', 'me', '-o', 'xml']), 2, msg);
    expect(snapshot()).toBe(before);
  });

  test('rejects an invalid --query before doing anything', async () => {
    const before = snapshot();
    const r = await h.run(['blueprint', 'list', '--query', '[.']);
    refused(r, 2, /^error: Invalid --query expression: .+\n$/);
    oneErrorLine(r);
    refused(await h.run(['blueprint', 'create', '--name', 'Never', '--sponsor', 'me', '--query', '[.']), 2, r.stderr);
    expect(snapshot()).toBe(before);
  });

  test('rejects an unknown option', async () => {
    refused(await h.run(['blueprint', 'list', '--frobnicate']), 2, "error: unknown option '--frobnicate'\n(run with --help for usage)\n");
  });

  test('rejects an unknown command and an unknown group', async () => {
    refused(await h.run(['blueprint', 'frobnicate']), 2, "error: unknown command 'frobnicate' for 'agentid blueprint' ('agentid blueprint --help' lists them)\n");
    refused(await h.run(['frobnicate']), 2, "error: unknown command 'frobnicate' for 'agentid' ('agentid --help' lists them)\n");
  });

  test('rejects an AGENTID_GRAPH_URL that is not a URL', async () => {
    const r = await h.run(['agent', 'list'], { env: { AGENTID_GRAPH_URL: 'not a url' } });
    refused(r, 2);
    oneErrorLine(r);
    expect(r.stderr).toContain('AGENTID_GRAPH_URL');
  });
});

describe('confirmations off a terminal', () => {
  test('refuses to delete without --yes off a terminal, and deletes nothing', async () => {
    const before = snapshot();
    for (const args of [
      ['agent', 'delete', agentId],
      ['blueprint', 'delete', blueprint.id, '--leave-agents'],
      ['--profile', 'automation', 'sponsor', 'remove', '--agent', agentId, '--user', ADMIN],
      ['mock', 'reset'],
    ]) {
      const r = await h.run(args);
      refused(r, 2);
      oneErrorLine(r);
      expect(r.stderr).toContain('--yes');
    }
    // Even an answer waiting on stdin is not read as consent: only a terminal can be asked.
    refused(await h.run(['agent', 'delete', agentId], { input: 'y\n' }), 2);
    expect(snapshot()).toBe(before);
    expect((await h.run(['agent', 'show', agentId, '--query', 'id'])).json()).toBe(agentId);
  });
});

describe('--dry-run', () => {
  test('writes nothing, for every kind of mutation', async () => {
    const status = async () => (await h.run(['mock', 'status'])).json();
    const statusBefore = await status();
    const before = snapshot();
    const dryFile = path.join(h.home, 'dry.secret');
    const mutations = [
      ['blueprint', 'create', '--name', 'Dry', '--sponsor', 'me', '--unique-name', 'dry'],
      ['blueprint', 'update', blueprint.id, '--name', 'Renamed'],
      ['blueprint', 'disable', blueprint.id],
      ['blueprint', 'delete', blueprint.id, '--leave-agents'],
      ['blueprint', 'permission', 'add', blueprint.id, '--resource', 'graph', '--all'],
      ['blueprint', 'permission', 'remove', blueprint.id, '--resource', 'graph'],
      ['blueprint', 'credential', 'add', blueprint.id, '--secret-file', dryFile],
      ['blueprint', 'credential', 'remove', blueprint.id, '--key-id', '00000000-0000-4000-8000-000000000001'],
      ['blueprint', 'credential', 'add', blueprint.id, '--federated', '--name', 'dry', '--issuer', 'https://token.actions.githubusercontent.com', '--subject', 'repo:a/b:ref:refs/heads/main'],
      ['agent', 'create', '--blueprint', blueprint.id, '--name', 'Dry Agent', '--sponsor', 'me'],
      ['agent', 'update', agentId, '--name', 'Renamed'],
      ['agent', 'disable', agentId],
      ['agent', 'delete', agentId],
      ['agent-user', 'create', '--agent', agentId, '--upn', 'dry@contoso.onmicrosoft.com'],
      ['--profile', 'automation', 'sponsor', 'add', '--agent', agentId, '--user', megan.userPrincipalName],
      ['--profile', 'automation', 'sponsor', 'remove', '--agent', agentId, '--user', ADMIN],
      ['owner', 'add', '--blueprint', blueprint.id, '--user', megan.userPrincipalName],
      ['owner', 'remove', '--blueprint', blueprint.id, '--user', 'me'],
    ];
    for (const args of mutations) {
      const r = await h.run([...args, '--dry-run']);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: 'Dry run: nothing was changed.\n' });
      expect(r.json()).toMatchObject({ dryRun: true, action: expect.any(String) });
    }
    expect(snapshot()).toBe(before);
    expect(await status()).toEqual(statusBefore);
    expect(existsSync(dryFile)).toBe(false);
  });
});

describe('Graph errors', () => {
  test('shows the Graph error code and request-id for a refused sponsor, exit 1, nothing created', async () => {
    const before = snapshot();
    for (const group of [security, roleAssignable]) {
      const r = await h.run(['blueprint', 'create', '--name', 'Bad Sponsor', '--sponsor', group.id]);
      refused(r, 1);
      oneErrorLine(r);
      expect(r.stderr).toMatch(new RegExp(`^error: Request_BadRequest: Object '${group.id}' cannot be a sponsor\\..* \\(request-id: [0-9a-f-]{36}, date: \\S+\\)\\n$`));
    }
    expect(snapshot()).toBe(before);
  });
});

describe('exit codes', () => {
  test('maps success, Graph failure, usage error and not-found to 0, 1, 2 and 3', async () => {
    const cases: [string[], number][] = [
      [['blueprint', 'list'], 0],
      [['agent', 'show', agentId], 0],
      [['sponsor', 'add', '--blueprint', blueprint.id, '--group', security.id], 1],
      [['blueprint', 'list', '--top', '0'], 2],
      [['agent', 'list', '--enabled', '--disabled'], 2],
      [['blueprint', 'show', 'No Such Blueprint'], 3],
      [['blueprint', 'show', '00000000-0000-4000-8000-000000000000'], 3],
      [['agent', 'show', '00000000-0000-4000-8000-000000000000'], 3],
      [['agent-user', 'show', 'nobody@contoso.onmicrosoft.com'], 3],
      [['sponsor', 'add', '--agent', agentId, '--user', 'nobody@contoso.onmicrosoft.com'], 3],
    ];
    for (const [args, code] of cases) {
      const r = await h.run(args);
      expect({ args, code: r.code }).toEqual({ args, code });
      if (code !== 0) {
        expect(r.stdout).toBe('');
        oneErrorLine(r);
      }
    }
  });

  test('names what was not found', async () => {
    refused(await h.run(['blueprint', 'show', 'No Such Blueprint']), 3, "error: No blueprint named 'No Such Blueprint'.\n");
    refused(
      await h.run(['agent', 'create', '--blueprint', 'No Such Blueprint', '--name', 'x', '--sponsor', 'me']),
      3,
      "error: No blueprint named 'No Such Blueprint'.\n",
    );
  });
});
