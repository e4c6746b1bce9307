#!/usr/bin/env node
// Export of a large sign-in log from the served emulator (issue #5): `agentid logs signins --all
// -o ndjson` against `agentid mock serve` holding 200,000 sign-ins. Prints rows per second, the
// CLI's peak RSS (target under 150 MB, and flat: an export of a tenth as many rows is measured
// too, in the same run) and the time to the first row against the total time. Not part of
// `npm test`: run it with `npm run bench:logs` (BENCH_SIGNINS=N to change the size).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const bin = path.join(root, 'bin', 'agentid.js');
const rssHook = path.join(root, 'bench', 'maxrss.mjs');
const total = Number(process.env.BENCH_SIGNINS ?? 200_000);
const home = mkdtempSync(path.join(os.tmpdir(), 'agentid-bench-logs-'));
const env = { ...process.env, AGENTID_HOME: home, CI: 'true', NO_COLOR: '1' };
delete env.AGENTID_GRAPH_URL;

function cli(args, extraEnv = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { env: { ...env, ...extraEnv }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`agentid ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Runs an export, counting stdout lines as they stream; returns timings and the CLI's peak RSS. */
function exportRun(args, url) {
  const rssFile = path.join(home, `rss-${Date.now()}`);
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let first;
    let rows = 0;
    let partial = '';
    const child = spawn(process.execPath, ['--import', rssHook, bin, ...args], {
      env: { ...env, AGENTID_GRAPH_URL: url, AGENTID_BENCH_RSS_FILE: rssFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.setEncoding('utf8').on('data', (d) => {
      first ??= process.hrtime.bigint();
      const text = partial + d;
      const lines = text.split('\n');
      partial = lines.pop();
      rows += lines.length;
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const end = process.hrtime.bigint();
      if (code !== 0) return reject(new Error(`export exited ${code}: ${stderr}`));
      resolve({
        rows,
        totalMs: Number(end - t0) / 1e6,
        firstMs: first ? Number(first - t0) / 1e6 : NaN,
        rssMb: Number(readFileSync(rssFile, 'utf8')) / 1024,
      });
    });
  });
}

async function main() {
  console.log(`logs bench: ${total} sign-ins, AGENTID_HOME=${home}`);
  cli(['blueprint', 'create', '--name', 'Bench Blueprint', '--sponsor', 'me', '-o', 'none']);
  for (let i = 1; i <= 3; i++) cli(['agent', 'create', '--blueprint', 'Bench Blueprint', '--name', `Bench Agent ${i}`, '--sponsor', 'me', '-o', 'none']);
  cli(['agent-user', 'create', '--agent', 'Bench Agent 1', '--upn', 'bench-agent-1@contoso.onmicrosoft.com', '-o', 'none']);
  let t = Date.now();
  cli(['mock', 'signins', 'generate', '--count', String(total), '--days', '29', '-o', 'none']);
  console.log(`generated in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  const server = spawn(process.execPath, [bin, 'mock', 'serve', '--throttle', 'off'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0].trim());
    });
    server.on('exit', (code) => reject(new Error(`mock serve exited ${code}`)));
  });
  try {
    // Warm-up (the server loads the log file on its first query) and the floor: what the CLI
    // needs to sign in and print one row, before any streaming.
    // Only the generated types: each CLI run signs in to the served emulator with a device code,
    // which it logs as an interactiveUser sign-in, one more per run.
    const generated = ['--event-type', 'servicePrincipal,nonInteractiveUser'];
    const one = await exportRun(['logs', 'signins', ...generated, '--top', '1', '-o', 'ndjson'], url);
    const small = await exportRun(['logs', 'signins', ...generated, '--top', String(Math.floor(total / 10)), '-o', 'ndjson'], url);
    const big = await exportRun(['logs', 'signins', ...generated, '--all', '-o', 'ndjson'], url);
    if (big.rows !== total) throw new Error(`exported ${big.rows} rows, expected ${total}`);
    const line = (name, r) =>
      `${name.padEnd(22)} ${String(r.rows).padStart(7)} rows  ${(r.totalMs / 1000).toFixed(2).padStart(6)} s  ${Math.round(r.rows / (r.totalMs / 1000)).toString().padStart(7)} rows/s  first row ${r.firstMs.toFixed(0).padStart(5)} ms (${((r.firstMs / r.totalMs) * 100).toFixed(1)}% of total)  peak RSS ${r.rssMb.toFixed(1)} MB`;
    console.log(line('--top 1 (floor)', one));
    console.log(line(`--top ${Math.floor(total / 10)}`, small));
    console.log(line('--all', big));
    const ok = big.rssMb < 150;
    console.log(`peak RSS ${big.rssMb.toFixed(1)} MB for ${total} rows vs ${small.rssMb.toFixed(1)} MB for ${small.rows}: ratio ${(big.rssMb / small.rssMb).toFixed(2)}x (flat ≈ 1); streaming's share above the one-row floor ${(big.rssMb - one.rssMb).toFixed(1)} MB; target < 150 MB ${ok ? 'ok' : 'OVER TARGET'}`);
    process.exitCode = ok ? 0 : 1;
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.on('close', r));
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  rmSync(home, { recursive: true, force: true });
  process.exitCode = 1;
});
