import { spawn } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BIN, ROOT, baseEnv, mapLimit, startServer, subcommands, tempHome } from './helpers.js';

// Issue 12 #2 and #7: every --help example works on a fresh install. This walks the live command
// tree (as help.test.ts does), collects every `$ agentid …` line of every --help, and runs each one
// as written, in bash, against the emulated tenant of a fresh home, then counts the failures.
//
// What an example may assume is what its reader has: the objects it names exist ("Sales Agent",
// "Sales Agent EMEA", its agent user, the CA policy "Block Sales agents"…), made once by SETUP
// below and copied into a fresh home per example; the files it reads exist (PRE below, one small
// step per example, run by the same `agentid`); an id shown abbreviated ("1d5f…") is the reader's
// own id of that object, so the run puts in the real one (IDS below); an app-only operation runs
// under the emulated tenant's app profile (`agentid login --emulated --as-app`), as its --help and
// its 403 say. A long-running example (a server, --follow) counts as working when it has started
// and answers (or keeps running without an error) until it is stopped. The only changes to an
// example's own words: a real-tenant sign-in gets the served emulator's URL as its Graph and
// sign-in host (REAL_LOGIN), and `--port 8080` becomes `--port 0` if 8080 is taken here.

const h = tempHome('agentid-examples-');
afterAll(() => h.remove());


/** `agentid ARGS --help`, answered in this process by the built CLI's main() (help needs no tenant). */
async function helpOf(args: string[]): Promise<string> {
  const { main } = (await import(pathToFileURL(path.join(ROOT, 'dist', 'bundle', 'main.js')).href)) as { main: (argv: string[], io: unknown) => Promise<number> };
  let out = '';
  const stdout = new PassThrough().setEncoding('utf8').on('data', (d: string) => (out += d));
  const stderr = new PassThrough().setEncoding('utf8').on('data', () => undefined);
  const code = await main(['node', 'agentid', ...args, '--help'], { stdout, stderr, stdin: Readable.from([]), env: baseEnv(h.home) });
  if (code !== 0) throw new Error(`agentid ${args.join(' ')} --help exited ${code}`);
  return out;
}

/** Every example line of every command's --help, once each, with the first command showing it. */
async function collectExamples(): Promise<{ cmd: string; line: string }[]> {
  const found = new Map<string, string>();
  let frontier = [''];
  while (frontier.length) {
    const next: string[] = [];
    for (const cmd of frontier) {
      const help = await helpOf(cmd.split(' ').filter(Boolean));
      const examples = /\nExamples:\n([\s\S]*?)(?:\n\n|$)/.exec(help)?.[1] ?? '';
      for (const l of examples.split('\n')) {
        const line = /^ {2}\$ (.*)$/.exec(l)?.[1]?.trim();
        if (line && !line.startsWith('#') && !found.has(line)) found.set(line, cmd);
      }
      for (const sub of subcommands(help)) next.push(`${cmd} ${sub}`.trim());
    }
    frontier = next;
  }
  return [...found].map(([line, cmd]) => ({ cmd, line }));
}

const UPN = 'sales-emea@contoso.onmicrosoft.com';

/** The tenant every example may assume, built with agentid itself; `> .x` keeps an id for IDS. */
const SETUP: string[] = [
  'agentid blueprint create --name "Sales Agent" --sponsor me --unique-name sales-agent -o json --query id > .bp',
  'agentid blueprint create --name "Support Agent" --sponsor me --unique-name support-agent -o none',
  'agentid agent create --blueprint "Sales Agent" --name "Sales Agent EMEA" --sponsor me -o json --query id > .agent',
  'agentid agent create --blueprint "Support Agent" --name "Support bot 7" --sponsor me -o json --query id > .agent2',
  `agentid agent-user create --agent "Sales Agent EMEA" --upn ${UPN} -o json --query id > .user`,
  'agentid blueprint credential add "Sales Agent" --secret-file ./setup.secret -o json --query keyId > .key',
  'agentid blueprint credential add "Sales Agent" --federated --name gh-main --issuer https://token.actions.githubusercontent.com --subject repo:contoso/sales:ref:refs/heads/main -o none',
  'agentid blueprint permission add "Sales Agent" --resource graph --scopes User.Read -o none',
  'agentid ca create --name "Block Sales agents" --blueprint "Sales Agent" --block -o json --query id > .ca',
  // ID Protection's view of an agent confirmed compromised, for the risk examples that read it.
  `agentid risk confirm-compromised "Sales Agent EMEA" ${UPN} --yes -o none`,
  // The app profile app-only examples run under, and two real-tenant profiles (saved, not signed
  // in; their tenant is the served emulator, see REAL_LOGIN) for the examples that use profiles.
  'agentid login --profile automation --emulated --as-app -o none',
  'agentid --profile automation sponsor add --agent "Sales Agent EMEA" --user adelev@contoso.onmicrosoft.com -o none',
  'agentid owner add --agent "Sales Agent EMEA" --user adelev@contoso.onmicrosoft.com -o none',
  'agentid login --profile contoso --tenant contoso.onmicrosoft.com --device-code --graph-url "$REAL_URL" --authority-host "$REAL_URL" --no-verify -o none',
  'agentid login --profile ci --tenant $TENANT --client-id $APP --client-secret-env AGENTID_SECRET --graph-url "$REAL_URL" --authority-host "$REAL_URL" --no-verify -o none',
  'agentid profile use local -o none',
];

/** Abbreviated ids in examples, and the setup value each one stands for. */
const IDS: Record<string, string> = {
  '1d5f…': '.bp',
  '2c9e…': '.bp',
  '5b1c…': '.agent',
  '5d8c…': '.agent',
  '7e1a…': '.agent2',
  '7d2e…': '.agent2',
  '8d2e…': '.user',
  '7f0c…': '.ca',
  '0d1c…': '.key',
  '6e2a…': '.key',
};

/** What an example needs first, beyond SETUP: files it reads, objects in the state it acts on. */
const PRE: [RegExp, string[]][] = [
  [/^agentid blueprint restore/, ['agentid blueprint delete "Sales Agent" --with-agents --yes -o none']],
  [/^agentid agent restore|^agentid deleted (purge|list)/, ['agentid agent delete "Sales Agent EMEA" --yes -o none']],
  [/^agentid agent-user restore/, [`agentid agent-user delete ${UPN} --yes -o none`]],
  [/^agentid agent-user create --agent "Sales Agent EMEA"/, [`agentid agent-user delete ${UPN} --yes -o none`, `agentid deleted purge ${UPN} --yes -o none`]],
  [/--certificate \.\/sales\.cer/, ['cp setup.cer sales.cer']],
  [/credential add .*--federated --name gh-main/, ['agentid blueprint credential remove "Sales Agent" --name gh-main --yes -o none']],
  [/--agents-file compromised\.txt/, ['agentid agent list -o tsv --query "[].id" > compromised.txt']],
  [/^agentid config (get|unset) output/, ['agentid config set output json']],
  [/--file agents\.csv/, [`printf 'name,sponsors,owners,agentUserUpn\\nSales Agent APAC,me,,sales-apac@contoso.onmicrosoft.com\\nSales Agent LATAM,meganb@contoso.onmicrosoft.com;me,adelev@contoso.onmicrosoft.com,\\n' > agents.csv`]],
  [/--file agents\.yaml/, [`printf -- '- name: Sales Agent APAC\\n  sponsors: [me]\\n  agentUserUpn: sales-apac@contoso.onmicrosoft.com\\n' > agents.yaml`]],
  [/^agentid bulk (undo|resume|status) --last/, ['agentid bulk disable --blueprint "Sales Agent" --yes -o none']],
  [/journals\/2026-05-01T10-11-12Z-disable-3f2a9c1d\.jsonl/, ['agentid bulk disable --blueprint "Sales Agent" --yes -o none', 'mv "$(ls -t ~/.agentid/journals/*.jsonl | head -1)" ~/.agentid/journals/2026-05-01T10-11-12Z-disable-3f2a9c1d.jsonl']],
  [/-f agentid\.yaml|--plan plan\.json|journals\/2026-05-01T10-11-12Z-apply-3f2a9c1d\.jsonl/, ['agentid export > agentid.yaml']],
  [/--plan plan\.json/, ['agentid plan -f agentid.yaml -o json > plan.json']],
  [/journals\/2026-05-01T10-11-12Z-apply-3f2a9c1d\.jsonl/, ['sed -i "/Support bot 7:/{n;s/enabled: true/enabled: false/}" agentid.yaml', 'agentid apply -f agentid.yaml --yes -o none', 'mv "$(ls -t ~/.agentid/journals/*.jsonl | head -1)" ~/.agentid/journals/2026-05-01T10-11-12Z-apply-3f2a9c1d.jsonl']],
  [/^agentid incident (release|status) \.\/(inc-[\w-]+)/, ['agentid incident contain --blueprint "Sales Agent" --out "./$INC" --yes -o none']],
  [/\.\/recordings/, ['agentid --record ./recordings agent list -o none']],
];

/** Operations Graph allows only app-only: their examples run under the app profile. */
const APP_ONLY = [/^agentid sponsor (add|remove) --agent\b/, /^agentid bulk sponsor\b/];

/** Examples whose exit code is their answer: the code, and what stderr says with it. */
const ANSWERS: [RegExp, number, RegExp][] = [[/--fail-on\b/, 1, /finding\(s\) at or above/]];

/**
 * Examples that sign in to a real tenant. Their "real tenant" is the emulator served over TLS
 * (trusted through NODE_EXTRA_CA_CERTS), with its Graph and sign-in host given as the flags a
 * sovereign-cloud or proxy user would pass; $TENANT and $APP are its tenant and seeded app,
 * AGENTID_SECRET that app's test secret, and a loopback stand-in answers GitHub's OIDC token
 * request. A device-code sign-in runs on a pseudo-terminal, where the emulated admin approves it.
 */
const REAL_LOGIN = /^agentid login (?!.*--emulated)/;
const TERMINAL = /--device-code|AGENTID_PROFILE=contoso agentid status/;
const TENANT_ID = '3f2a7c1e-5b8d-4e6f-9a0b-1c2d3e4f5a6b';
const APP_ID = 'c0a1b2c3-0001-4d5e-8f90-000000000301';
const APP_SECRET = 'Emulated~Automation.Secret.0001'; // the seeded app's test secret (the emulator keeps a hash)
const GITHUB_REQUEST_TOKEN = 'ghs_examplesRequestToken0123456789abcdef';

/** Examples that keep running until stopped. */
const LONG = /^agentid mock serve (?!.*&)|--follow\b/;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  started?: boolean;
}

let shim = '';

let realEnv: Record<string, string> = {};

function sh(dir: string, line: string, env: Record<string, string | undefined> = {}, long = false): Promise<Ran> {
  const merged: NodeJS.ProcessEnv = { ...baseEnv(path.join(dir, '.agentid')), HOME: dir, PATH: `${shim}:${process.env.PATH}`, ...realEnv };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete merged[k];
    else merged[k] = v;
  }
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', line], {
      cwd: dir,
      detached: true,
      env: merged,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let started = false;
    const stop = () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        /* already gone */
      }
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      // A server has started when it prints its URL.
      if (long && !started && /^https?:\/\/\S+\n/.test(stdout)) {
        started = true;
        stop();
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // A --follow keeps running: still up and quiet on errors after a few seconds is started.
    const timer = setTimeout(
      () => {
        if (long) started = true;
        else stderr += `\n(still running after ${EXAMPLE_TIMEOUT_MS} ms)`;
        stop();
      },
      long ? 4000 : EXAMPLE_TIMEOUT_MS,
    );
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, started });
    });
  });
}

const EXAMPLE_TIMEOUT_MS = 25_000;
const base = mkdtempSync(path.join(os.tmpdir(), 'agentid-examples-base-'));
const runs: string[] = [];
afterAll(() => {
  rmSync(base, { recursive: true, force: true });
  for (const d of runs) rmSync(d, { recursive: true, force: true });
});

const ids: Record<string, string> = {};

let real: Awaited<ReturnType<typeof startServer>> | undefined;
let github: Server | undefined;
const realHome = mkdtempSync(path.join(os.tmpdir(), 'agentid-examples-real-'));
afterAll(async () => {
  await real?.stop();
  await new Promise<void>((r) => (github ? github.close(() => r()) : r()));
  rmSync(realHome, { recursive: true, force: true });
});

beforeAll(async () => {
  real = await startServer(realHome, ['--tls']);
  github = createServer((req, res) => {
    if (req.headers.authorization !== `bearer ${GITHUB_REQUEST_TOKEN}`) return void res.writeHead(401).end('{"message":"Bad credentials"}');
    const aud = new URL(req.url!, 'http://x').searchParams.get('audience');
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    // GitHub's token for contoso/agents' main branch, which the seeded app trusts (unsigned: the emulator cannot fetch GitHub's keys).
    const jwt = `${b64({ typ: 'JWT', alg: 'RS256', kid: 'examples' })}.${b64({ iss: 'https://token.actions.githubusercontent.com', sub: 'repo:contoso/agents:ref:refs/heads/main', aud, repository: 'contoso/agents', ref: 'refs/heads/main', iat: now, nbf: now - 5, exp: now + 300 })}.${Buffer.from('not-a-signature').toString('base64url')}`;
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ count: jwt.length, value: jwt }));
  });
  await new Promise<void>((r) => github!.listen(0, '127.0.0.1', r));
  realEnv = {
    REAL_URL: real.url,
    NODE_EXTRA_CA_CERTS: path.join(realHome, 'mock', 'tls', 'cert.pem'),
    TENANT: TENANT_ID,
    APP: APP_ID,
    AGENTID_SECRET: APP_SECRET,
    ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${(github.address() as AddressInfo).port}/run/idtoken/job/1?api-version=2.0`,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: GITHUB_REQUEST_TOKEN,
  };
  shim = path.join(base, '.bin');
  mkdirSync(shim, { recursive: true });
  writeFileSync(path.join(shim, 'agentid'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
  chmodSync(path.join(shim, 'agentid'), 0o755);
  const pems = await generate([{ name: 'commonName', value: 'Sales Agent' }], { keySize: 2048, algorithm: 'sha256', notBeforeDate: new Date(Date.now() - 60_000), notAfterDate: new Date(Date.now() + 30 * 86400_000) });
  writeFileSync(path.join(base, 'setup.cer'), pems.cert);
  for (const step of SETUP) {
    const r = await sh(base, step);
    if (r.code !== 0) throw new Error(`setup step failed (${r.code}): ${step}\n${r.stderr}`);
  }
  for (const [abbrev, file] of Object.entries(IDS)) ids[abbrev] = JSON.parse(readFileSync(path.join(base, file), 'utf8')) as string;
}, 120_000);

async function runExample(line: string): Promise<{ line: string; ok: boolean; detail: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agentid-example-'));
  runs.push(dir);
  cpSync(base, dir, { recursive: true });
  let cmd = line;
  for (const [abbrev, id] of Object.entries(ids)) cmd = cmd.split(abbrev).join(id);
  const env: Record<string, string | undefined> = {};
  const inc = /\.\/(inc-[\w-]+)/.exec(line)?.[1];
  if (inc) env.INC = inc;
  if (APP_ONLY.some((re) => re.test(line))) env.AGENTID_PROFILE = 'automation';
  for (const [re, steps] of PRE) {
    if (!re.test(line)) continue;
    for (const step of steps) {
      const r = await sh(dir, step, env);
      if (r.code !== 0) return { line, ok: false, detail: `its setup step '${step}' failed (${r.code}): ${r.stderr.trim()}` };
    }
  }
  // An example for a served emulator ($AGENTID_GRAPH_URL set by the reader's `mock serve`).
  const server = /\$AGENTID_GRAPH_URL\b/.test(line) ? await startServer(path.join(dir, '.agentid')) : undefined;
  if (server) env.AGENTID_GRAPH_URL = server.url;
  if (REAL_LOGIN.test(line)) cmd += ' --graph-url "$REAL_URL" --authority-host "$REAL_URL"';
  // `mock serve --port 8080` as written, unless something on this machine holds 8080 already.
  if (/ --port 8080\b/.test(cmd) && !(await portFree(8080))) cmd = cmd.replace(' --port 8080', ' --port 0');
  if (TERMINAL.test(line)) {
    cmd = `script -qec ${shellQuote(cmd)} /dev/null`;
    Object.assign(env, { CI: undefined, TERM: 'dumb' });
  }
  const long = LONG.test(line);
  const r = await sh(dir, cmd, env, long).finally(() => server?.stop());
  const answer = ANSWERS.find(([re]) => re.test(line));
  const ok = long ? r.started === true : r.code === 0 || (!!answer && r.code === answer[1] && answer[2].test(r.stderr));
  return { line, ok, detail: ok ? '' : `exit ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` };
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createNetServer()
      .once('error', () => resolve(false))
      .listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe('help examples', () => {
  test('every example of every command runs on the emulated tenant: 0 failures', async () => {
    const examples = await collectExamples();
    expect(examples.length).toBeGreaterThan(100);
    const results = await mapLimit(examples, 3, (e) => runExample(e.line));
    const failures = results.filter((r) => !r.ok);
    console.log(`help examples: ${results.length} run, ${failures.length} failed`);
    expect(failures.map((f) => `${f.line}\n    ${f.detail}`)).toEqual([]);
  }, 600_000);

  test("mock serve's background example lists the served tenant's agents and ends", async () => {
    // Its exit status is kill's, so the run above cannot see whether the list worked: check its output.
    const help = await helpOf(['mock', 'serve']);
    const example = /^ {2}\$ (.*AGENTID_GRAPH_URL=.*)$/m.exec(help)?.[1];
    expect(example).toBeDefined();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'agentid-example-'));
    runs.push(dir);
    cpSync(base, dir, { recursive: true });
    const r = await sh(dir, example!);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).map((a: { displayName: string }) => a.displayName).sort()).toEqual(['Sales Agent EMEA', 'Support bot 7']);
  }, 60_000);
});
