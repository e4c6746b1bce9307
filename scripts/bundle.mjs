#!/usr/bin/env node
// Bundles the compiled CLI (dist/, from tsc) into dist/bundle/, which bin/agentid.js runs.
//
// Why: Node's ESM loader costs more than the code it loads. A command such as `agent list`
// loads ~400 small modules (zod alone is over a hundred files), and resolving and linking them
// was a third of its start-up. One module graph in a few chunks cuts `agent list` from ~0.30 s to
// ~0.23 s and `blueprint --help` from ~0.25 s to ~0.15 s on this machine (`npm run bench`).
// Code splitting keeps every lazy import() lazy: `--help` still loads only commander.
//
// Left outside the bundle, loaded from node_modules as before:
// - @azure/identity: loaded only for a real tenant, and MSAL requires optional native brokers
//   at run time that a bundler must not resolve;
// - yaml and selfsigned: CommonJS packages that agentid import()s lazily; esbuild makes such a
//   package a chunk with only a default export, so `const { stringify } = await import('yaml')`
//   would find nothing. (cli-table3 is import()ed for its default export, which survives.)
import { build } from 'esbuild';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const outdir = path.join(root, 'dist', 'bundle');

const result = await build({
  entryPoints: [path.join(root, 'dist', 'main.js')],
  outdir,
  write: false,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  external: ['@azure/identity', 'yaml', 'selfsigned'],
  // CommonJS dependencies bundled into ESM call require() for Node's built-ins.
  banner: { js: "import { createRequire as __agentidRequire } from 'node:module'; const require = __agentidRequire(import.meta.url);" },
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
  legalComments: 'none',
});

// A build must not break a CLI that is running from the previous one (a test run beside a
// rebuild): every file is replaced by rename, chunks have content-hashed names, and an old chunk
// is removed only once it is an hour old, when no command can still be loading it.
const written = new Set();
for (const file of result.outputFiles) {
  mkdirSync(path.dirname(file.path), { recursive: true });
  const tmp = `${file.path}.${process.pid}.tmp`;
  writeFileSync(tmp, file.contents);
  renameSync(tmp, file.path);
  written.add(file.path);
}
const chunks = path.join(outdir, 'chunks');
for (const name of readdirSync(chunks)) {
  const f = path.join(chunks, name);
  if (!written.has(f) && Date.now() - statSync(f).mtimeMs > 3600_000) rmSync(f, { force: true });
}
