// What sign-in costs a command on the emulated tenant (issue #3): minting the local profile's
// token, verifying it on every request, and a whole `agentid agent list` against `node -e 0`,
// all measured in this run. Run `npm run build` first.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { MemoryStore } = await import(path.join(root, 'dist/mock/store.js'));
const { seedState } = await import(path.join(root, 'dist/mock/seed.js'));
const auth = await import(path.join(root, 'dist/mock/auth.js'));

const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = (n, fn) => {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    fn();
    out.push(performance.now() - t);
  }
  return median(out);
};

const store = new MemoryStore(seedState());
let t = performance.now();
const key = await auth.signingKey(store);
const keygen = performance.now() - t;
const state = await store.read((s) => s);
const claims = auth.userClaims(state, undefined);
const token = auth.signJwt(claims, key);
const sign = time(200, () => auth.signJwt(claims, key));
const verify = time(200, () => auth.verifyAccessToken(token, key, state.tenant.id, new Date()));

const home = mkdtempSync(path.join(os.tmpdir(), 'agentid-bench-signin-'));
const env = { ...process.env, AGENTID_HOME: home, CI: 'true' };
const run = (args) => {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { env, cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  return performance.now() - t0;
};
run([path.join(root, 'bin/agentid.js'), 'agent', 'list']); // seeds the tenant and its key
const runs = 10;
const base = median(Array.from({ length: runs }, () => run(['-e', '0'])));
const list = median(Array.from({ length: runs }, () => run([path.join(root, 'bin/agentid.js'), 'agent', 'list'])));
rmSync(home, { recursive: true, force: true });

console.log('sign-in on the emulated tenant (ms, median)');
console.log(`tenant signing key, once per tenant  ${keygen.toFixed(1)}`);
console.log(`mint the local profile's token       ${sign.toFixed(3)}`);
console.log(`verify a token (every request)       ${verify.toFixed(3)}`);
console.log(`node -e 0 (baseline)                 ${base.toFixed(1)}  1.00x`);
console.log(`agentid agent list (local profile)   ${list.toFixed(1)}  ${(list / base).toFixed(2)}x`);
