// bench/report.mjs (npm run bench:report; builds first): `agentid report` over 20,000 agents
// (20 blueprints, an agent user for every 4th agent, 20,000 sign-ins over 30 days) on a served
// emulator with 100 ms latency per request, against the number of Graph requests a per-object
// loop needs for the same checks. Prints the report's request count (HTTP requests: a $batch of
// 20 is one), wall time, the CLI's peak RSS, and the ratio. Targets: <= 1/10 of the per-object
// requests, RSS < 200 MB.
//
// The per-object count is computed, not run (at 100 ms a request it would take hours): the
// same list pages the report reads, plus one GET per check per object:
//   agent identity   sponsors, oauth2PermissionGrants, appRoleAssignments, role assignments
//                    ($filter=principalId), sign-ins ($filter=appId)                      5
//   agent user       sponsors, role assignments, sign-ins ($filter=userId)                 3
//   blueprint        sponsors, owners, federatedIdentityCredentials, inheritablePermissions 4
//   blueprint principal  oauth2PermissionGrants, appRoleAssignments, role assignments       3
// Override with BENCH_AGENTS, BENCH_LATENCY_MS, BENCH_SIGNINS.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'agentid.js');
const N = Number(process.env.BENCH_AGENTS ?? 20000);
const BLUEPRINTS = 20;
const AGENT_USER_EVERY = 4;
const LATENCY = Number(process.env.BENCH_LATENCY_MS ?? 100);
const SIGNINS = Number(process.env.BENCH_SIGNINS ?? 20000);

const home = mkdtempSync(path.join(os.tmpdir(), 'agentid-bench-report-'));
const env = { ...process.env, AGENTID_HOME: home, CI: 'true' };
delete env.AGENTID_GRAPH_URL;

const { seedState } = await import(path.join(root, 'dist/mock/seed.js'));
const { addBulkAgents } = await import(path.join(root, 'dist/mock/bulkSeed.js'));
const { createFileStore } = await import(path.join(root, 'dist/mock/inprocess.js'));

function run(args, extraEnv = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let server;
try {
  let t = performance.now();
  const state = seedState();
  const seeded = addBulkAgents(state, { blueprints: BLUEPRINTS, agentsPerBlueprint: Math.ceil(N / BLUEPRINTS), agentUserEvery: AGENT_USER_EVERY, disabledEvery: 25 });
  // Created 90 days ago, so an agent without a sign-in in the last 30 days is stale.
  const created = new Date(Date.now() - 90 * 86_400_000).toISOString();
  for (const o of Object.values(state.objects)) if (o.type === 'agentIdentity' || o.type === 'agentUser') o.props.createdDateTime = created;
  await createFileStore(path.join(home, 'mock', 'tenant.json')).replace(state);
  // Sign-ins by the agents, in the emulator's own record shape (signInRecord). Written here
  // rather than by `mock signins generate`, whose per-agent blueprint lookup scans the whole
  // directory (quadratic at 20,000 agents); the subject (agent facet) is given directly.
  const stateFile = path.join(home, 'mock', 'tenant.json');
  const { signInRecord } = await import(path.join(root, 'dist/mock/signinGenerator.js'));
  const { createLogStore } = await import(path.join(root, 'dist/mock/inprocess.js'));
  const now = new Date();
  const agentList = seeded.flatMap((b) => b.agentIds.map((id) => ({ id, b })));
  const records = [];
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = 0; i < SIGNINS; i++) {
    const { id, b } = agentList[Math.floor(rnd() * agentList.length)];
    const name = state.objects[id].props.displayName;
    const subject = { agentType: 'agenticAppInstance', appId: id, appDisplayName: name, servicePrincipalId: id, servicePrincipalName: name, userId: null, userPrincipalName: null, userDisplayName: null, parentAppId: b.appId, subjectParentId: b.id };
    const failed = rnd() < 0.03;
    records.push(signInRecord(state, { appId: id, servicePrincipalId: id, credentialType: 'federatedIdentityCredential', success: !failed, ...(failed ? { errorCode: 7000215 } : {}), time: new Date(now.getTime() - Math.floor(rnd() * 30 * 86_400_000)) }, now, subject));
  }
  records.sort((x, y) => x.createdDateTime.localeCompare(y.createdDateTime));
  await createLogStore(stateFile).append('signIns', records);
  const agents = seeded.reduce((n, b) => n + b.agentIds.length, 0);
  const agentUsers = Object.values(state.objects).filter((o) => o.type === 'agentUser').length;
  console.log(`seeded ${agents} agents, ${agentUsers} agent users in ${BLUEPRINTS} blueprints and ${SIGNINS} sign-ins in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  server = spawn(process.execPath, [bin, 'mock', 'serve', '--port', '0', '--latency', String(LATENCY)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    server.on('exit', (c) => reject(new Error(`mock serve exited ${c}`)));
  });
  env.AGENTID_GRAPH_URL = url;

  const rssFile = path.join(home, 'rss');
  t = performance.now();
  const rep = await run(['--import', path.join(root, 'bench/maxrss.mjs'), bin, '--debug', 'report', '-o', 'json'], { AGENTID_BENCH_RSS_FILE: rssFile });
  const wallS = (performance.now() - t) / 1000;
  if (rep.code !== 0) throw new Error(`report exited ${rep.code}: ${rep.stderr.split('\n').filter((l) => !l.startsWith('[debug]')).join('\n')}`);
  const findings = JSON.parse(rep.stdout);
  const responses = rep.stderr.split('\n').filter((l) => /^\[debug\] < \d{3} /.test(l));
  const requests = responses.length;
  const batches = responses.filter((l) => / POST \/v1\.0\/\$batch /.test(l)).length;
  const pages = requests - batches;
  const rssMb = Number(readFileSync(rssFile, 'utf8')) / 1024;

  // The per-object loop: the same list pages (everything but the $batch requests), plus one
  // request per check per object (header comment).
  const perObject = pages + agents * 5 + agentUsers * 3 + BLUEPRINTS * 4 + BLUEPRINTS * 3;
  const byRule = {};
  for (const f of findings) byRule[f.rule] = (byRule[f.rule] ?? 0) + 1;
  console.log(`report: ${findings.length} findings ${JSON.stringify(byRule)}`);
  console.log(`report over ${agents} agents, ${agentUsers} agent users (latency ${LATENCY} ms): ${wallS.toFixed(1)} s wall`);
  console.log(`Graph requests:           ${requests} (${pages} list pages, ${batches} $batch of up to 20)`);
  console.log(`per-object loop would be: ${perObject} requests -> report uses 1/${(perObject / requests).toFixed(1)} of them (target <= 1/10)`);
  console.log(`CLI peak RSS:             ${rssMb.toFixed(1)} MB (target < 200 MB)`);
} finally {
  server?.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  rmSync(home, { recursive: true, force: true });
}
