import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BIN, baseEnv, mapLimit, startServer, tempHome } from './helpers.js';

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
// and answers (or keeps running without an error) until it is stopped.

const h = tempHome('agentid-examples-');
afterAll(() => h.remove());

/** Subcommand names from a help text's "Commands:" section (commander's layout). */
function subcommands(help: string): string[] {
  const section = /(?:^|\n)Commands:\n([\s\S]*?)(?:\n\n|$)/.exec(help);
  if (!section) return [];
  return section[1]!
    .split('\n')
    .map((l) => /^  (\S+)/.exec(l)?.[1])
    .filter((n): n is string => !!n && n !== 'help');
}

/** Every example line of every command's --help, once each, with the first command showing it. */
async function collectExamples(): Promise<{ cmd: string; line: string }[]> {
  const found = new Map<string, string>();
  let frontier = [''];
  while (frontier.length) {
    const helps = await mapLimit(frontier, 2, (cmd) => h.run([...cmd.split(' ').filter(Boolean), '--help']));
    const next: string[] = [];
    frontier.forEach((cmd, i) => {
      const help = helps[i]!.stdout;
      const examples = /\nExamples:\n([\s\S]*?)(?:\n\n|$)/.exec(help)?.[1] ?? '';
      for (const l of examples.split('\n')) {
        const line = /^ {2}\$ (.*)$/.exec(l)?.[1]?.trim();
        if (line && !line.startsWith('#') && !found.has(line)) found.set(line, cmd);
      }
      for (const sub of subcommands(help)) next.push(`${cmd} ${sub}`.trim());
    });
    frontier = next;
  }
  return [...found].map(([line, cmd]) => ({ cmd, line }));
}

const UPN = 'sales-emea@contoso.onmicrosoft.com';

/** The tenant every example may assume, built with agentid itself; `$X=` captures a value. */
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
  // The app profile app-only examples run under, and real-tenant profiles (saved, not signed in)
  // for the examples that manage profiles.
  'agentid login --profile automation --emulated --as-app -o none',
  'agentid --profile automation sponsor add --agent "Sales Agent EMEA" --user adelev@contoso.onmicrosoft.com -o none',
  'agentid owner add --agent "Sales Agent EMEA" --user adelev@contoso.onmicrosoft.com -o none',
  'agentid login --profile contoso --tenant contoso.onmicrosoft.com --device-code --no-verify -o none',
  'AGENTID_SECRET=x agentid login --profile ci --tenant contoso.onmicrosoft.com --client-id c0a1b2c3-0001-4d5e-8f90-000000000301 --client-secret-env AGENTID_SECRET --no-verify -o none',
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
  [/journals\/2026-05-01T10-11-12Z-apply-3f2a9c1d\.jsonl/, ['sed -i "s/Sales Agent EMEA/Sales Agent Europe/" agentid.yaml', 'agentid apply -f agentid.yaml --yes -o none', 'mv "$(ls -t ~/.agentid/journals/*.jsonl | head -1)" ~/.agentid/journals/2026-05-01T10-11-12Z-apply-3f2a9c1d.jsonl']],
  [/^agentid incident (release|status) \.\/(inc-[\w-]+)/, ['agentid incident contain --blueprint "Sales Agent" --out "./$INC" --yes -o none']],
  [/\.\/recordings/, ['agentid --record ./recordings agent list -o none']],
];

/** Operations Graph allows only app-only: their examples run under the app profile. */
const APP_ONLY = [/^agentid sponsor (add|remove) --agent\b/, /^agentid bulk sponsor\b/];

/** Examples whose exit code is their answer: the code, and what stderr says with it. */
const ANSWERS: [RegExp, number, RegExp][] = [[/--fail-on\b/, 1, /finding\(s\) at or above/]];

/** Examples that keep running until stopped. */
const LONG = /^agentid mock serve (?!.*&)|--follow\b/;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  started?: boolean;
}

let shim = '';

function sh(dir: string, line: string, env: Record<string, string> = {}, long = false): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', line], {
      cwd: dir,
      detached: true,
      env: { ...baseEnv(path.join(dir, '.agentid')), HOME: dir, PATH: `${shim}:${process.env.PATH}`, ...env },
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

beforeAll(async () => {
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
  for (const [abbrev, file] of Object.entries(IDS)) ids[abbrev] = JSON.parse(execFileSync('cat', [path.join(base, file)], { encoding: 'utf8' })) as string;
}, 120_000);

async function runExample(line: string): Promise<{ line: string; ok: boolean; detail: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agentid-example-'));
  runs.push(dir);
  cpSync(base, dir, { recursive: true });
  let cmd = line;
  for (const [abbrev, id] of Object.entries(ids)) cmd = cmd.split(abbrev).join(id);
  const env: Record<string, string> = {};
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
  const long = LONG.test(line);
  const r = await sh(dir, cmd, env, long).finally(() => server?.stop());
  const answer = ANSWERS.find(([re]) => re.test(line));
  const ok = long ? r.started === true : r.code === 0 || (!!answer && r.code === answer[1] && answer[2].test(r.stderr));
  return { line, ok, detail: ok ? '' : `exit ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` };
}

describe('help examples', () => {
  test('every example of every command runs on the emulated tenant: 0 failures', async () => {
    const examples = await collectExamples();
    expect(examples.length).toBeGreaterThan(100);
    const results = await mapLimit(examples, 3, (e) => runExample(e.line));
    const failures = results.filter((r) => !r.ok);
    console.log(`help examples: ${results.length} run, ${failures.length} failed`);
    expect(failures.map((f) => `${f.line}\n    ${f.detail}`)).toEqual([]);
  }, 600_000);
});
