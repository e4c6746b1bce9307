// Issue 6 costs, as ratios against baselines measured in the same run (never absolute targets):
//   - `mock reset --fixture contoso` (320 agents, 30 days of logs generated at load) against a
//     plain `mock reset`;
//   - `agent list` over the contoso tenant with --record (every pair redacted and written)
//     against the same command without it;
//   - the same command answered by `mock serve --replay` against `mock serve` over contoso.
//   node bench/fixtures.mjs [runs]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'agentid.js');
const RUNS = Number(process.argv[2] ?? 5);
const home = mkdtempSync(path.join(os.tmpdir(), 'agentid-bench-fixtures-'));
const env = { ...process.env, AGENTID_HOME: home, CI: 'true' };
delete env.AGENTID_GRAPH_URL;

function time(args, extraEnv = {}) {
  const t = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { ...env, ...extraEnv }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`agentid ${args.join(' ')} failed: ${r.stderr}`);
  return performance.now() - t;
}
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const measure = (fn) => median(Array.from({ length: RUNS }, fn));

async function served(args) {
  const child = spawn(process.execPath, [BIN, 'mock', 'serve', '--port', '0', '--throttle', 'off', ...args], { env, stdio: ['ignore', 'pipe', 'ignore'] });
  const url = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(String(d).split('\n')[0])));
  return { url, stop: () => child.kill('SIGTERM') };
}

try {
  const plainReset = measure(() => time(['mock', 'reset', '--yes']));
  const fixtureReset = measure(() => time(['mock', 'reset', '--fixture', 'contoso', '--yes']));
  const list = ['agent', 'list', '--top', '300', '-o', 'json'];
  const plain = measure(() => time(list));
  let n = 0;
  const recorded = measure(() => time(['--record', path.join(home, `rec${n++}`), ...list]));
  time(['--record', path.join(home, 'replay'), ...list]);
  const live = await served([]);
  const viaServe = measure(() => time(list, { AGENTID_GRAPH_URL: live.url }));
  live.stop();
  const rep = await served(['--replay', path.join(home, 'replay')]);
  const viaReplay = measure(() => time(list, { AGENTID_GRAPH_URL: rep.url }));
  rep.stop();
  const row = (name, ms, base) => console.log(`${name.padEnd(44)} ${ms.toFixed(0).padStart(6)} ms  ${(ms / base).toFixed(2)}x`);
  console.log(`median of ${RUNS} runs; ratio to the baseline above it`);
  row('mock reset (baseline)', plainReset, plainReset);
  row('mock reset --fixture contoso', fixtureReset, plainReset);
  row('agent list --top 300, contoso (baseline)', plain, plain);
  row('  … with --record', recorded, plain);
  row('agent list via mock serve (baseline)', viaServe, viaServe);
  row('  … via mock serve --replay', viaReplay, viaServe);
} finally {
  rmSync(home, { recursive: true, force: true });
}
