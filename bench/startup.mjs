#!/usr/bin/env node
// Start-up time of the CLI against Node's own start, measured in the same run on the same
// machine, so the ratio means something on any hardware. Target: agentid --help and --version
// at most 2.5x `node -e 0` (issue #2).
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const bin = path.join(root, 'bin', 'agentid.js');
const runs = Number(process.env.BENCH_RUNS ?? 20);

function median(cmd, args) {
  const times = [];
  for (let i = 0; i < runs + 2; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: 'ignore', env: { ...process.env, AGENTID_HOME: path.join(root, 'bench', '.out', 'home') } });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
    if (i >= 2) times.push(ms); // two warm-up runs fill the page cache
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

// bin/agentid.js runs dist/bundle/; this launcher runs tsc's dist/main.js, for the comparison.
const unbundled = path.join(root, 'bench', '.out', 'unbundled.mjs');
mkdirSync(path.dirname(unbundled), { recursive: true });
writeFileSync(unbundled, `import { main } from ${JSON.stringify(pathToFileURL(path.join(root, 'dist', 'main.js')).href)};\nprocess.exitCode = await main(process.argv);\n`);

const baseline = median(process.execPath, ['-e', '0']);
const rows = [
  ['node -e 0 (baseline)', baseline],
  ['agentid --help', median(process.execPath, [bin, '--help'])],
  ['agentid --version', median(process.execPath, [bin, '--version'])],
  ['agentid blueprint --help', median(process.execPath, [bin, 'blueprint', '--help'])],
  ['agentid agent list', median(process.execPath, [bin, 'agent', 'list', '-o', 'none'])],
  // The same commands from tsc's output, unbundled: what scripts/bundle.mjs saves.
  ['  unbundled blueprint --help', median(process.execPath, [unbundled, 'blueprint', '--help'])],
  ['  unbundled agent list', median(process.execPath, [unbundled, 'agent', 'list', '-o', 'none'])],
];
console.log(`startup, median of ${runs} runs (ms), ratio to node -e 0; target <= 2.5x for --help/--version`);
let ok = true;
for (const [name, ms] of rows) {
  const ratio = ms / baseline;
  const gated = name === 'agentid --help' || name === 'agentid --version';
  if (gated && ratio > 2.5) ok = false;
  console.log(`${name.padEnd(28)} ${ms.toFixed(1).padStart(7)} ms  ${ratio.toFixed(2)}x${gated ? (ratio <= 2.5 ? '  ok' : '  OVER TARGET') : ''}`);
}
process.exitCode = ok ? 0 : 1;
