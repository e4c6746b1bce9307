// bench/incident.mjs (npm run bench:incident; needs `npm run build`): `agentid incident contain
// --blueprint B` over 1 blueprint × 5,000 agents on a served emulator with Graph-shaped quotas
// (--throttle real: 3,000 writes per 150 s, 3,500 RU per 10 s) and 500 ms latency per request,
// measured from the command's own journal (each outcome's time) against
//   (a) the target for the blueprint principal: disabled <= 1 s after the confirmation (--yes:
//       the moment the plan is accepted and the folder is created);
//   (b) the write-quota floor for all agents: the least time the quota allows for the principal
//       and N agent writes, starting from a full budget, (N + 1 - 3,000) / (3,000 / 150 s),
//       time-scaled; target <= floor + 10%.
// Also prints the planning time (reads before the confirmation), the evidence time, and the
// whole run. Override with BENCH_AGENTS, BENCH_TIME_SCALE, BENCH_LATENCY_MS.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'agentid.js');
const N = Number(process.env.BENCH_AGENTS ?? 5000);
const SCALE = Number(process.env.BENCH_TIME_SCALE ?? 1);
const LATENCY = Number(process.env.BENCH_LATENCY_MS ?? 500);
const WRITE_QUOTA = 3000;
const WRITE_WINDOW_S = 150;

const home = mkdtempSync(path.join(os.tmpdir(), 'agentid-bench-incident-'));
const env = { ...process.env, AGENTID_HOME: home, CI: 'true', AGENTID_TIME_SCALE: String(SCALE) };
delete env.AGENTID_GRAPH_URL;

const { seedState } = await import(path.join(root, 'dist/mock/seed.js'));
const { addBulkAgents } = await import(path.join(root, 'dist/mock/bulkSeed.js'));
const { createFileStore } = await import(path.join(root, 'dist/mock/inprocess.js'));

let server;
try {
  const state = seedState();
  const [bp] = addBulkAgents(state, { blueprints: 1, agentsPerBlueprint: N, prefix: 'Bench' });
  await createFileStore(path.join(home, 'mock', 'tenant.json')).replace(state);
  console.log(`seeded 1 blueprint with ${bp.agentIds.length} agents`);

  server = spawn(process.execPath, [bin, 'mock', 'serve', '--port', '0', '--throttle', 'real', '--time-scale', String(SCALE), '--latency', String(LATENCY)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    server.on('exit', (c) => reject(new Error(`mock serve exited ${c}`)));
  });
  env.AGENTID_GRAPH_URL = url;

  const dir = path.join(home, 'incident');
  const t0 = performance.now();
  const run = await new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, 'incident', 'contain', '--blueprint', bp.appId, '--out', dir, '--yes', '-o', 'json', '-q'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  const wallS = (performance.now() - t0) / 1000;
  if (run.code !== 0) throw new Error(`incident contain exited ${run.code}: ${run.stderr}`);
  const r = JSON.parse(run.stdout);
  const s = (a, b) => (Date.parse(b) - Date.parse(a)) / 1000;
  const principalS = r.containmentAfterConfirmationMs / 1000;
  const agentsS = r.identitiesAfterConfirmationMs / 1000;
  const floorS = Math.max(0, N + 1 - WRITE_QUOTA) / (WRITE_QUOTA / WRITE_WINDOW_S) / SCALE;
  const step = r.steps.find((x) => x.step === 'stop-authentication');
  console.log(`incident contain: ${step.done} authentication-stopping writes, ${step.failed} failed; time scale ${SCALE}, latency ${LATENCY} ms emulated (${LATENCY / SCALE} ms real)`);
  console.log(`planning (reads before confirmation): ${s(r.startedAt, r.confirmedAt).toFixed(2)} s`);
  console.log(`time to containment:                  ${(r.timeToContainmentMs / 1000).toFixed(2)} s from start`);
  console.log(`principal disabled after confirmation: ${principalS.toFixed(3)} s  (target <= 1 s: ${principalS <= 1 ? 'met' : 'MISSED'})`);
  if (floorS > 0) console.log(`all ${N} agents disabled after confirmation: ${agentsS.toFixed(2)} s; write-quota floor ${floorS.toFixed(2)} s -> ${((agentsS / floorS) * 100).toFixed(1)}% of the floor (target <= 110%: ${agentsS <= floorS * 1.1 ? 'met' : 'MISSED'})`);
  else console.log(`all ${N} agents disabled after confirmation: ${agentsS.toFixed(2)} s (within the write burst: no quota floor)`);
  console.log(`revoke step and evidence (grant reads, revokes, after snapshot, sign-ins, audits): ${s(r.identitiesDisabledAt, r.finishedAt).toFixed(2)} s; whole command ${wallS.toFixed(2)} s`);
} finally {
  server?.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  rmSync(home, { recursive: true, force: true });
}
