// bench/bulk.mjs (npm run bench:bulk; needs `npm run build`): `agentid bulk disable
// --agents-only` over 5,000 agents of 5 blueprints on a served emulator with Graph-shaped,
// time-scaled quotas (3,000 writes per 150 s, 3,500 RU per 10 s) and latency, measured in one
// run against
//   (a) the write-quota floor: the least time the quota allows for N writes, starting from a full
//       budget: (N - 3,000) / (3,000 / 150 s), time-scaled;
//   (b) a sequential loop, one PATCH per agent, through the same GraphClient the CLI builds
//       (CliContext.graph()). Running it over all 5,000 agents would take minutes at this
//       latency, so it runs over BENCH_SEQ_SAMPLE agents and its per-agent time is multiplied
//       out to N; it stays far below the write quota, so it scales linearly.
// Prints both ratios, failed items and the CLI's peak RSS. Targets: >= 90% of the floor,
// >= 20x the sequential loop, 0 failed, < 200 MB.
//
// Latency: 500 ms per request in the emulated clock, a plausible directory-write round trip;
// real time by default (the emulator's store costs ~10 ms of CPU per write, which a faster
// clock would turn into the bottleneck). Override with BENCH_AGENTS, BENCH_TIME_SCALE,
// BENCH_LATENCY_MS, BENCH_SEQ_SAMPLE.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'agentid.js');
const N = Number(process.env.BENCH_AGENTS ?? 5000);
const BLUEPRINTS = 5;
const SCALE = Number(process.env.BENCH_TIME_SCALE ?? 1);
const LATENCY = Number(process.env.BENCH_LATENCY_MS ?? 500);
const SAMPLE = Number(process.env.BENCH_SEQ_SAMPLE ?? 100);
const WRITE_QUOTA = 3000;
const WRITE_WINDOW_S = 150;

const home = mkdtempSync(path.join(os.tmpdir(), 'agentid-bench-bulk-'));
const env = { ...process.env, AGENTID_HOME: home, CI: 'true', AGENTID_TIME_SCALE: String(SCALE) };
delete env.AGENTID_GRAPH_URL;

const { seedState } = await import(path.join(root, 'dist/mock/seed.js'));
const { addBulkAgents } = await import(path.join(root, 'dist/mock/bulkSeed.js'));
const { createFileStore } = await import(path.join(root, 'dist/mock/inprocess.js'));

let server;
try {
  // Seeding through the store API: one write of the whole state, not 5,000 CLI calls.
  let t = performance.now();
  const state = seedState();
  const seeded = addBulkAgents(state, { blueprints: BLUEPRINTS, agentsPerBlueprint: Math.ceil(N / BLUEPRINTS) });
  await createFileStore(path.join(home, 'mock', 'tenant.json')).replace(state);
  console.log(`seeded ${seeded.reduce((n, b) => n + b.agentIds.length, 0)} agents in ${BLUEPRINTS} blueprints in ${((performance.now() - t) / 1000).toFixed(2)} s`);

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

  // (1) bulk disable --agents-only, with the CLI's peak RSS.
  const rssFile = path.join(home, 'rss');
  const args = ['--import', path.join(root, 'bench/maxrss.mjs'), bin, 'bulk', 'disable', '--agents-only', ...seeded.flatMap((b) => ['--blueprint', b.appId]), '--yes', '-o', 'json', '-q'];
  t = performance.now();
  const bulk = await new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env: { ...env, AGENTID_BENCH_RSS_FILE: rssFile }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  const bulkS = (performance.now() - t) / 1000;
  if (bulk.code !== 0 && bulk.code !== 1) throw new Error(`bulk disable exited ${bulk.code}: ${bulk.stderr}`);
  const rows = JSON.parse(bulk.stdout);
  const failed = rows.filter((r) => r.status === 'failed').length;
  const done = rows.filter((r) => r.status === 'done').length;
  const rssMb = Number(readFileSync(rssFile, 'utf8')) / 1024;

  // (2) The sequential loop through the CLI's own GraphClient, after the quota has refilled a little.
  await new Promise((r) => setTimeout(r, 1000));
  const { CliContext } = await import(path.join(root, 'dist/context.js'));
  const ctx = new CliContext({ stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env });
  ctx.globals = { quiet: true };
  const client = await ctx.graph();
  const sample = seeded.flatMap((b) => b.agentIds).slice(0, SAMPLE);
  t = performance.now();
  for (const id of sample) await client.patch(`/servicePrincipals/${id}/microsoft.graph.agentIdentity`, { accountEnabled: true });
  const seqPerAgent = (performance.now() - t) / 1000 / sample.length;
  const seqS = seqPerAgent * N;

  const floorS = Math.max(0, N - WRITE_QUOTA) / (WRITE_QUOTA / WRITE_WINDOW_S) / SCALE;
  console.log(`bulk disable --agents-only: ${done} done, ${failed} failed in ${bulkS.toFixed(2)} s (time scale ${SCALE}, latency ${LATENCY} ms emulated = ${LATENCY / SCALE} ms)`);
  console.log(`write-quota floor:          ${floorS.toFixed(2)} s  -> bulk reaches ${((floorS / bulkS) * 100).toFixed(1)}% of the floor (target >= 90%)`);
  console.log(`sequential PATCH loop:      ${(seqPerAgent * 1000).toFixed(1)} ms/agent over ${sample.length} agents -> ${seqS.toFixed(1)} s for ${N}  -> bulk is ${(seqS / bulkS).toFixed(1)}x faster (target >= 20x)`);
  console.log(`failed items:               ${failed} (target 0)`);
  console.log(`CLI peak RSS:               ${rssMb.toFixed(1)} MB (target < 200 MB)`);
} finally {
  server?.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  rmSync(home, { recursive: true, force: true });
}
