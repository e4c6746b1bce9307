import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startServer, tempHome } from './helpers.js';

// Issue 6 through the real CLI: record a session (--record), replay it strictly (mock serve
// --replay), seed a writable emulator from it (mock reset --seed), anonymise a recording, and
// load the bundled contoso fixture tenant.

const live = tempHome('agentid-rec-');
const replayHome = tempHome('agentid-replay-');
const REC = path.join(live.home, 'recordings');
let secret = '';
let liveAgents = '';

// The session that is recorded, then replayed command for command.
const SCRIPT: string[][] = [
  ['blueprint', 'create', '--name', 'Sales Agent', '--sponsor', 'meganb@contoso.onmicrosoft.com', '-o', 'json'],
  ['blueprint', 'credential', 'add', 'Sales Agent', '--display-name', 'ci', '-o', 'json'],
  ['agent', 'create', '--blueprint', 'Sales Agent', '--name', 'Sales Agent EMEA', '--sponsor', 'me', '-o', 'json'],
  ['agent', 'list', '-o', 'json'],
  ['blueprint', 'show', 'Sales Agent', '-o', 'json'],
  ['agent', 'disable', 'Sales Agent EMEA', '-o', 'json'],
  ['agent', 'list', '-o', 'json'],
];
const liveOut: { code: number | null; stdout: string }[] = [];

const filesOf = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
const bytesOf = (dir: string) => filesOf(dir).map((n) => readFileSync(path.join(dir, n), 'utf8')).join('\n');

beforeAll(async () => {
  for (const args of SCRIPT) {
    const r = await live.run(['--record', REC, ...args]);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    liveOut.push({ code: r.code, stdout: r.stdout });
  }
  secret = JSON.parse(liveOut[1]!.stdout).secretText;
  expect(secret.length).toBeGreaterThanOrEqual(16);
  liveAgents = liveOut[3]!.stdout;
});

afterAll(() => {
  live.remove();
  replayHome.remove();
});

describe('--record', () => {
  test('writes one file per request/response pair: method, path, query, status, headers, body', () => {
    const files = filesOf(REC);
    expect(files.length).toBeGreaterThanOrEqual(8);
    expect(files[0]).toMatch(/^0001-GET-/);
    const post = files.map((n) => JSON.parse(readFileSync(path.join(REC, n), 'utf8'))).find((r) => r.request.method === 'POST' && r.request.path === '/applications/microsoft.graph.agentIdentityBlueprint');
    expect(post).toMatchObject({
      recordingVersion: 1,
      request: { method: 'POST', version: 'v1.0', query: {}, headers: { 'content-type': 'application/json' }, body: { displayName: 'Sales Agent' } },
      response: { status: 201, body: { '@odata.type': '#microsoft.graph.agentIdentityBlueprint', displayName: 'Sales Agent' } },
    });
    expect(Object.keys(post.response.headers)).toEqual(['content-type']);
  });

  test('a planted secret, the bearer token and every unlisted header appear in no byte of any fixture', () => {
    const all = bytesOf(REC);
    expect(all).not.toContain(secret);
    expect(all).not.toContain(secret.slice(0, 8));
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{5,}\./); // no JWT (access token)
    expect(all.toLowerCase()).not.toContain('authorization');
    expect(all.toLowerCase()).not.toContain('bearer');
    // Only listed headers are kept (request-id, client-request-id, x-ms-ags-diagnostic are not).
    for (const r of filesOf(REC).map((n) => JSON.parse(readFileSync(path.join(REC, n), 'utf8')))) {
      for (const h of [...Object.keys(r.request.headers), ...Object.keys(r.response.headers)]) expect(['content-type', 'consistencylevel', 'odata-version', 'prefer', 'location']).toContain(h);
    }
    const addPassword = filesOf(REC).find((n) => n.includes('addPassword'))!;
    expect(JSON.parse(readFileSync(path.join(REC, addPassword), 'utf8')).response.body).toMatchObject({ secretText: 'REDACTED', hint: 'REDACTED', displayName: 'ci' });
  });

  test('--anonymize replaces ids, UPNs and names with stand-ins that agree across files and commands', async () => {
    const dir = path.join(live.home, 'anon');
    expect((await live.run(['--record', dir, '--anonymize', 'agent', 'list', '-o', 'json'])).code).toBe(0);
    expect((await live.run(['--record', dir, '--anonymize', 'sponsor', 'list', '--agent', 'Sales Agent EMEA', '-o', 'json'])).code).toBe(0);
    const realAgent = JSON.parse(liveAgents)[0];
    const all = bytesOf(dir);
    for (const real of [realAgent.id, 'Sales Agent EMEA', 'admin@contoso.onmicrosoft.com', 'contoso.onmicrosoft.com', '6e1f0c2a-0001-4a5b-8c9d-000000000001']) expect(all).not.toContain(real);
    const recs = filesOf(dir).map((n) => JSON.parse(readFileSync(path.join(dir, n), 'utf8')));
    const listed = recs[0].response.body.value[0];
    expect(listed.displayName).toMatch(/^Name [0-9a-f]{10}$/);
    // The second command looked the agent up by name and then by id: both map to the same stand-ins.
    expect(all.split(listed.id).length).toBeGreaterThan(2);
    expect(all).toContain(`displayName eq '${listed.displayName}'`);
    // Well-known first-party ids stay readable.
    expect(listed.agentIdentityBlueprintId).not.toBe(realAgent.agentIdentityBlueprintId);
  });
});

describe('mock serve --replay', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    server = await startServer(replayHome.home, ['--replay', REC]);
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('replays the recorded session command for command, with the recorded output byte for byte', async () => {
    const env = { AGENTID_GRAPH_URL: server.url };
    for (const [i, args] of SCRIPT.entries()) {
      const r = await replayHome.run(args, { env });
      if (i === 1) {
        // The secret was never recorded: its replay says so instead of inventing one.
        expect(r.code).toBe(0);
        expect(JSON.parse(r.stdout)).toMatchObject({ secretText: 'REDACTED', displayName: 'ci' });
        continue;
      }
      // A credential's hint is the secret's first characters: recorded as REDACTED, like the secret.
      const recorded = liveOut[i]!.stdout.replace(/"hint": "[^"]*"/g, '"hint": "REDACTED"');
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: liveOut[i]!.code, stdout: recorded });
    }
  });

  test('an unrecorded request is a Graph-shaped error naming the request and the way out', async () => {
    const r = await replayHome.run(['agent', 'list', '--top', '3'], { env: { AGENTID_GRAPH_URL: server.url } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: Replay_NoMatchingRecording: No recording in .* matches GET \/v1\.0\/servicePrincipals\/microsoft\.graph\.agentIdentity\?\$top=3 /);
    expect(r.stderr).toContain('Recorded for this path: GET /v1.0/serviceprincipals/microsoft.graph.agentidentity');
    expect(r.stderr).toContain(`Record it with 'agentid --record ${REC} …'`);

    const res = await fetch(`${server.url}/v1.0/groups?$top=1`, { headers: { 'client-request-id': '11111111-2222-4333-8444-555555555555' } });
    expect(res.status).toBe(501);
    const body = (await res.json()) as { error: { code: string; message: string; innerError: Record<string, string> } };
    expect(Object.keys(body.error)).toEqual(['code', 'message', 'innerError']);
    expect(body.error.code).toBe('Replay_NoMatchingRecording');
    expect(body.error.message).toContain('GET /v1.0/groups?$top=1');
    expect(body.error.innerError).toMatchObject({ 'client-request-id': '11111111-2222-4333-8444-555555555555' });
    expect(body.error.innerError.date).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
    expect(res.headers.get('request-id')).toBe(body.error.innerError['request-id']);
  });

  test('query order and case do not matter; the method does', async () => {
    const a = await fetch(`${server.url}/v1.0/servicePrincipals/microsoft.graph.agentIdentity`);
    expect(a.status).toBe(200);
    const b = await fetch(`${server.url}/v1.0/servicePrincipals/microsoft.graph.agentIdentity`, { method: 'DELETE' });
    expect(b.status).toBe(501);
  });
});

describe('bad replay and seed input', () => {
  test('a missing recordings directory is bad input (exit 2) naming the fix', async () => {
    const r = await replayHome.run(['mock', 'serve', '--replay', path.join(replayHome.home, 'nope')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: No recordings directory .*nope; record one with 'agentid --record .*nope …'\.\n$/);
  });

  test('--anonymize without --record, and --record naming a file, are usage errors before any request', async () => {
    const a = await replayHome.run(['--anonymize', 'agent', 'list']);
    expect({ code: a.code, stderr: a.stderr }).toEqual({ code: 2, stderr: 'error: --anonymize applies to a recording; add --record DIR (or set AGENTID_RECORD).\n' });
    const file = path.join(REC, filesOf(REC)[0]!);
    const b = await replayHome.run(['agent', 'list'], { env: { AGENTID_RECORD: file } });
    expect({ code: b.code, stderr: b.stderr }).toEqual({ code: 2, stderr: `error: --record ${file} is a file; name a directory (it is created if missing) for the recordings.\n` });
  });

  test('--replay with --seed is a usage error', async () => {
    const r = await replayHome.run(['mock', 'serve', '--replay', REC, '--seed', REC]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--replay and --seed exclude each other');
  });
});

describe('mock reset --seed', () => {
  test('builds the tenant from the recorded objects, and writes work on top of them', async () => {
    const h = tempHome('agentid-seed-');
    try {
      const seeded = await h.run(['mock', 'reset', '--seed', REC, '--yes']);
      expect(seeded.code).toBe(0);
      expect(seeded.stderr).toMatch(/Seeded the emulated tenant from \d+ recordings/);
      const agents = (await h.run(['agent', 'list', '-o', 'json'])).json();
      expect(agents.map((a: { displayName: string; accountEnabled: boolean }) => [a.displayName, a.accountEnabled])).toEqual([['Sales Agent EMEA', false]]);
      expect((await h.run(['agent', 'enable', 'Sales Agent EMEA'])).code).toBe(0);
      const second = await h.run(['agent', 'create', '--blueprint', 'Sales Agent', '--name', 'Sales Agent AMER', '--sponsor', 'me', '-o', 'json']);
      expect(second.code).toBe(0);
      const after = (await h.run(['agent', 'list', '--query', '[].[displayName,accountEnabled]'])).json();
      expect(after.sort()).toEqual([['Sales Agent AMER', true], ['Sales Agent EMEA', true]]);
    } finally {
      h.remove();
    }
  });
});

describe('mock reset --fixture contoso', () => {
  test('loads the bundled tenant: blueprints, hundreds of agents, disabled ones, and 30 days of logs', async () => {
    const h = tempHome('agentid-contoso-');
    try {
      const r = await h.run(['mock', 'reset', '--fixture', 'contoso', '--yes']);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/Loaded fixture 'contoso': 320 agent identities, \d+ sign-ins and \d+ audit events/);
      const bps = (await h.run(['blueprint', 'list', '--query', '[].displayName'])).json();
      expect(bps.sort()).toEqual(['Finance Agent', 'HR Onboarding Agent', 'Sales Agent', 'Support Agent']);
      const disabled = (await h.run(['agent', 'list', '--disabled', '--query', 'length(@)'])).json();
      expect(disabled).toBeGreaterThan(5);
      const bad = await h.run(['mock', 'reset', '--fixture', 'fabrikam', '--yes']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toBe("error: No fixture 'fabrikam': name a bundled one (contoso) or a directory holding fixture.json.\n");
    } finally {
      h.remove();
    }
  });
});
