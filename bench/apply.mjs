// bench/apply.mjs (npm run bench:apply; needs `npm run build`): `agentid apply` of a fleet file
// with BENCH_BLUEPRINTS (20) blueprints x BENCH_AGENTS_PER (250) agents, from an empty tenant,
// on a served emulator with Graph-shaped quotas (3,000 writes per 150 s; --throttle real) and
// latency, run as the emulated automation app (as CI would). Prints:
//   (a) the apply's time against the write-quota floor, (N - 3,000) / (3,000 / 150 s), scaled;
//   (b) a no-op plan over the same fleet: the Graph requests it sent, counted from its --debug
//       log (one "> METHOD url" line per HTTP request, retries included; a $batch counts once;
//       the sponsor look-ups count too), against what a per-object loop would send (per
//       blueprint: itself, principal, sponsors, owners, inheritable permissions, federated
//       credentials = 6; per agent: itself, sponsors, owners, agent user = 4). The CLI's own
//       estimate (AGENTID_FLEET_READS=1) is printed beside it as a cross-check.
// Targets: >= 90% of the floor; <= 1/20 of the loop's reads. BENCH_TIME_SCALE, BENCH_LATENCY_MS.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'agentid.js');
const B = Number(process.env.BENCH_BLUEPRINTS ?? 20);
const PER = Number(process.env.BENCH_AGENTS_PER ?? 250);
const SCALE = Number(process.env.BENCH_TIME_SCALE ?? 1);
const LATENCY = Number(process.env.BENCH_LATENCY_MS ?? 500);
const APP_SECRET = 'Emulated~Automation.Secret.0001';
const home = mkdtempSync(path.join(os.tmpdir(), 'agentid-bench-apply-'));
const env = { ...process.env, AGENTID_HOME: home, CI: 'true', AGENTID_TIME_SCALE: String(SCALE), APP_SECRET, AGENTID_TOKEN_CACHE: 'memory' };
delete env.AGENTID_GRAPH_URL;

const lines = ['apiVersion: agentid/v1', 'kind: AgentFleet', 'blueprints:'];
for (let b = 0; b < B; b++) {
  lines.push(`  bench-${b}:`, `    displayName: Bench ${b}`, '    sponsors: [meganb@contoso.onmicrosoft.com]', '    agents:');
  for (let a = 0; a < PER; a++) lines.push(`      "Bench ${b} agent ${a}": {}`);
}
const file = path.join(home, 'agentid.yaml');
writeFileSync(file, `${lines.join('\n')}\n`);

const cli = (args, extra = {}) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });

let server;
try {
  server = spawn(process.execPath, [bin, 'mock', 'serve', '--port', '0', '--throttle', 'real', '--time-scale', String(SCALE), '--latency', String(LATENCY)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  env.AGENTID_GRAPH_URL = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    server.on('exit', (c) => reject(new Error(`mock serve exited ${c}`)));
  });
  const login = await cli(['login', '--profile', 'app', '--emulated', '--client-id', 'c0a1b2c3-0001-4d5e-8f90-000000000301', '--client-secret-env', 'APP_SECRET']);
  if (login.code !== 0) throw new Error(`login: ${login.stderr}`);

  let t = performance.now();
  const apply = await cli(['--profile', 'app', 'apply', '-f', file, '--yes', '-o', 'json', '-q']);
  const applyS = (performance.now() - t) / 1000;
  if (apply.code !== 0 && apply.code !== 1) throw new Error(`apply exited ${apply.code}: ${apply.stderr}`);
  const rows = JSON.parse(apply.stdout);
  const writes = rows.filter((r) => r.status === 'done').length;
  const failed = rows.filter((r) => r.status === 'failed').length;

  t = performance.now();
  const plan = await cli(['--profile', 'app', '--debug', 'plan', '-f', file, '-o', 'json', '--detailed-exitcode'], { AGENTID_FLEET_READS: '1' });
  const planS = (performance.now() - t) / 1000;
  const reads = plan.stderr.split('\n').filter((l) => /^\[debug\] > (GET|POST|PATCH|PUT|DELETE) /.test(l)).length;
  const estimate = Number(/Read the tenant in (\d+) request/.exec(plan.stderr)?.[1]);
  const loop = B * 6 + B * PER * 4;

  const floorS = Math.max(0, writes - 3000) / (3000 / 150) / SCALE;
  console.log(`apply ${B} x ${PER} from empty: ${writes} writes done, ${failed} failed in ${applyS.toFixed(1)} s (time scale ${SCALE}, latency ${LATENCY} ms emulated)`);
  console.log(`write-quota floor: ${floorS.toFixed(1)} s -> apply reaches ${((floorS / applyS) * 100).toFixed(1)}% of the floor (target >= 90%)`);
  console.log(`no-op plan: exit ${plan.code}, ${reads} Graph requests (--debug; the CLI's estimate of its tenant reads: ${estimate}) in ${planS.toFixed(1)} s (with --debug); a per-object loop: ${loop} -> 1/${(loop / reads).toFixed(0)} (target <= 1/20)`);
} finally {
  server?.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  rmSync(home, { recursive: true, force: true });
}
