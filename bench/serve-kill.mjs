// bench/serve-kill.mjs (needs `npm run build`): how many writes does kill -9 of `agentid mock
// serve` lose? Each round starts a server (throttle off) on a fresh home, runs BENCH_WRITERS
// concurrent clients creating blueprints as fast as it answers, kills it with SIGKILL after a
// random 0.3-1.5 s, then lets the next process on the home (mock status) replay the write-ahead
// log, and counts:
//   acked-lost     writes answered 201 but not in tenant.json afterwards (must be 0);
//   unacked-kept   writes sent but never answered that survived anyway (allowed);
// and the served throughput (answered writes per second) during the burst.
// Override with BENCH_ROUNDS, BENCH_WRITERS.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'agentid.js');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WRITERS = Number(process.env.BENCH_WRITERS ?? 16);

const totals = { acked: 0, lost: 0, unackedKept: 0, inFlight: 0, seconds: 0 };
for (let round = 1; round <= ROUNDS; round++) {
  const home = mkdtempSync(path.join(os.tmpdir(), 'agentid-bench-kill-'));
  const env = { ...process.env, AGENTID_HOME: home, CI: 'true', AGENTID_TOKEN_CACHE: 'memory' };
  delete env.AGENTID_GRAPH_URL;
  try {
    const server = spawn(process.execPath, [bin, 'mock', 'serve', '--port', '0', '--throttle', 'off'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    const url = await new Promise((resolve, reject) => {
      let out = '';
      server.stdout.setEncoding('utf8').on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out.split('\n')[0]);
      });
      server.on('exit', (c) => reject(new Error(`mock serve exited ${c}`)));
    });
    const exited = new Promise((r) => server.on('exit', r));
    const token = spawnSync(process.execPath, [bin, 'mock', 'token'], { env, encoding: 'utf8' }).stdout.trim();
    const auth = { Authorization: `Bearer ${token}` };
    const me = (await (await fetch(`${url}/v1.0/me`, { headers: auth })).json()).id;
    const acked = new Set();
    const sent = new Set();
    let stop = false;
    const writer = async (w) => {
      for (let i = 0; !stop; i++) {
        const name = `k${round}-${w}-${i}`;
        sent.add(name);
        try {
          const r = await fetch(`${url}/beta/applications/microsoft.graph.agentIdentityBlueprint`, {
            method: 'POST',
            headers: { ...auth, 'Content-Type': 'application/json' },
            body: JSON.stringify({ displayName: name, 'sponsors@odata.bind': [`https://graph.microsoft.com/v1.0/users/${me}`] }),
          });
          await r.arrayBuffer();
          if (r.status === 201) acked.add(name);
        } catch {
          return;
        }
      }
    };
    const started = performance.now();
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
    await new Promise((r) => setTimeout(r, 300 + Math.random() * 1200));
    server.kill('SIGKILL');
    const seconds = (performance.now() - started) / 1000;
    stop = true;
    await Promise.all(writers);
    await exited;
    const status = spawnSync(process.execPath, [bin, 'mock', 'status', '-o', 'json'], { env, encoding: 'utf8' });
    if (status.status !== 0) throw new Error(`mock status after the kill failed: ${status.stderr}`);
    const state = JSON.parse(readFileSync(path.join(home, 'mock', 'tenant.json'), 'utf8'));
    const present = new Set(Object.values(state.objects).filter((o) => o.type === 'agentIdentityBlueprint').map((o) => o.props.displayName));
    const lost = [...acked].filter((n) => !present.has(n)).length;
    const unackedKept = [...present].filter((n) => !acked.has(n)).length;
    const inFlight = sent.size - acked.size;
    console.log(`round ${round}: killed after ${seconds.toFixed(2)} s; ${acked.size} answered (${(acked.size / seconds).toFixed(0)}/s), ${lost} answered-but-lost, ${inFlight} unanswered of which ${unackedKept} kept`);
    Object.assign(totals, { acked: totals.acked + acked.size, lost: totals.lost + lost, unackedKept: totals.unackedKept + unackedKept, inFlight: totals.inFlight + inFlight, seconds: totals.seconds + seconds });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
console.log(`total: ${totals.acked} answered writes over ${ROUNDS} kill -9 rounds (${(totals.acked / totals.seconds).toFixed(0)}/s with ${WRITERS} clients); answered-but-lost ${totals.lost}; unanswered ${totals.inFlight}, of which kept ${totals.unackedKept}`);
if (totals.lost > 0) process.exitCode = 1;
