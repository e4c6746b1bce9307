import type { Command } from 'commander';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { confirm, helpSections, parseOptions, yesOption } from './shared.js';
import { registerMockSignins } from './mockSignins.js';
import { registerMockToken } from './mockToken.js';

export const ServeSchema = z.object({
  host: z.string().min(1),
  // Issue #4: throttling, latency and faults of the served emulator (src/mock/traffic.ts).
  throttle: z.enum(['real', 'off'], { message: "--throttle must be 'real' or 'off'." }),
  timeScale: z.coerce.number({ message: '--time-scale must be a number.' }).positive('--time-scale must be above 0 (1 = real time, 10 = ten times faster).'),
  latency: z.coerce.number({ message: '--latency must be a number of milliseconds.' }).min(0, '--latency must be 0 or more milliseconds.'),
  faultRate: z.coerce.number({ message: '--fault-rate must be a number.' }).min(0, '--fault-rate must be between 0 and 1.').max(1, '--fault-rate must be between 0 and 1.'),
  // Issue #3: https with a self-signed certificate, so @azure/identity (MSAL) can sign in against it.
  tls: z.boolean().optional(),
  port: z.coerce.number().int('--port must be a whole number.').min(0, '--port must be 0 (any free port) to 65535.').max(65535, '--port must be 0 (any free port) to 65535.'),
  // Issue #6: answer from recordings only (--replay), or start from their objects (--seed).
  replay: z.string().trim().min(1, '--replay needs the directory --record wrote.').optional(),
  seed: z.string().trim().min(1, '--seed needs the directory --record wrote.').optional(),
}).refine((o) => !(o.replay && o.seed), { message: '--replay and --seed exclude each other: --replay answers only from recordings, --seed starts a writable emulator from them.' });

// Issue #6: what `mock reset` starts from: the seed, a fixture tenant, or recordings.
export const ResetSchema = z.object({
  fixture: z.string().trim().min(1, "--fixture needs a fixture name (e.g. 'contoso') or directory.").optional(),
  seed: z.string().trim().min(1, '--seed needs the directory --record wrote.').optional(),
  yes: z.boolean().optional(),
}).refine((o) => !(o.fixture && o.seed), { message: '--fixture and --seed exclude each other; give one.' });

export function register(program: Command, ctx: CliContext): void {
  const group = helpSections(program.command('mock').description('Run, serve and reset the built-in emulated tenant'), [
    'agentid mock status',
    'agentid mock serve --port 8080',
    'agentid mock reset --yes',
  ]);

  helpSections(
    group
      .command('serve')
      .description('Serve the emulated tenant over HTTP; prints its base URL as the first line of stdout, runs until stopped')
      .option('--host <host>', 'address to listen on', '127.0.0.1')
      .option('--port <port>', 'port (0 = any free port)', '0')
      .option('--throttle <mode>', "Graph's identity write quota and resource-unit budget: real or off", 'real')
      .option('--time-scale <n>', 'run quotas, Retry-After and latency n times faster (default: $AGENTID_TIME_SCALE or 1)', ctx.env.AGENTID_TIME_SCALE ?? '1')
      .option('--latency <ms>', 'delay every HTTP request by ms milliseconds (scaled by --time-scale)', '0')
      .option('--tls', 'serve https with a self-signed certificate (its path is printed; trust it with NODE_EXTRA_CA_CERTS), as @azure/identity requires')
      .option('--fault-rate <p>', 'fail this fraction of requests (0-1) with a random 429, 503 or 504', '0')
      .option('--replay <dir>', 'answer strictly from the recordings in dir (agentid --record dir …); anything unrecorded is an error')
      .option('--seed <dir>', 'first replace the emulated tenant with the objects recorded in dir, then serve it (writes work on top)')
      .action(async (raw) => {
        const o = parseOptions(ServeSchema, raw);
        if (o.replay) return serveReplay(ctx, o.replay, o.host, o.port);
        // Issue 11: the serve record claims the home before anything reads the tenant, and is
        // held until the server stopped (a second server, `mock reset` and fixture loads refuse;
        // an in-process CLI sends its requests here).
        const { claimServe } = await import('../mock/serveRecord.js');
        const claim = await claimServe(ctx.stateFile());
        try {
          await serveTenant(ctx, o, claim);
        } finally {
          await claim.release();
        }
      }),
    [
      'agentid mock serve --port 8080',
      'agentid mock serve --time-scale 30 --latency 200 --fault-rate 0.05',
      'agentid mock serve --throttle off',
      'agentid mock serve --replay ./recordings',
      'agentid mock serve --port 0 > serve.url & sleep 2; AGENTID_GRAPH_URL=$(head -1 serve.url) agentid agent list; kill %1',
    ],
    'none (the emulated tenant only; it serves Graph, it calls none)',
  );

  helpSections(
    group
      .command('reset')
      .description('Restore the emulated tenant to its seeded state (deletes every blueprint, agent and agent user)')
      .addOption(yesOption())
      .option('--fixture <name>', "load a fixture tenant instead of the seed: a bundled one ('contoso') or a fixture directory")
      .option('--seed <dir>', 'load the objects recorded in dir (agentid --record dir …) on top of the seed')
      .action(async (raw) => {
        const o = parseOptions(ResetSchema, raw);
        await refuseWhileServed(ctx, o.fixture ? 'a fixture cannot replace its tenant' : o.seed ? 'recordings cannot replace its tenant' : "'mock reset' cannot replace its tenant");
        if (o.fixture || o.seed) {
          const { resolveFixture, bundledFixtureNames } = await import('../mock/fixtures.js');
          const dir = o.fixture ? resolveFixture(o.fixture) : undefined;
          if (o.fixture && !dir) throw new UsageError(`No fixture '${o.fixture}': name a bundled one (${bundledFixtureNames().join(', ') || 'none found'}) or a directory holding fixture.json.`);
          await confirm(ctx, o.yes, `Replace the emulated tenant at ${ctx.stateFile()} with ${o.fixture ? `fixture '${o.fixture}'` : `the recordings in ${o.seed}`}?`);
          if (dir) return loadFixtureInto(ctx, dir);
          return seedFromDir(ctx, o.seed!);
        }
        await confirm(ctx, o.yes, `Reset the emulated tenant at ${ctx.stateFile()}?`);
        const { createFileStore, createLogStore } = await import('../mock/inprocess.js');
        const { seedState } = await import('../mock/seed.js');
        await createFileStore(ctx.stateFile()).replace(seedState());
        await createLogStore(ctx.stateFile()).clear();
        (await ctx.messenger()).success('The emulated tenant is back to its seeded state.');
      }),
    ['agentid mock reset --yes', 'agentid mock reset --fixture contoso --yes', 'agentid mock reset --seed ./recordings --yes'],
    'none (the emulated tenant only; no Graph call)',
  );

  helpSections(
    group
      .command('status')
      .description('Show where the emulated tenant lives, what it holds, and the mock serve running on it')
      .action(async () => {
        await ctx.checkOutputOptions();
        const file = ctx.stateFile();
        const exists = await fsp.access(file).then(() => true, () => false);
        const { createFileStore } = await import('../mock/inprocess.js');
        const { liveServe } = await import('../mock/serveRecord.js');
        const served = await liveServe(file);
        // While a server runs, this reads its snapshot plus its write-ahead log: every answered write.
        const counts = await createFileStore(file).read((s) => {
          const c: Record<string, number> = {};
          for (const o of Object.values(s.objects)) if (!o.deletedDateTime) c[o.type] = (c[o.type] ?? 0) + 1;
          return { tenant: s.tenant.displayName, tenantId: s.tenant.id, domain: s.tenant.defaultDomain, objects: c };
        });
        const serve = served ? { url: served.url, pid: served.pid, tlsCertificate: served.tls?.certPath ?? null, startedAt: served.startedAt } : null;
        await ctx.print({ stateFile: file, existedBefore: exists, servedAt: ctx.env.AGENTID_GRAPH_URL ?? served?.url ?? null, serve, ...counts });
      }),
    ['agentid mock status', 'agentid mock status -o json --query objects', 'agentid mock status --query serve.url'],
    'none (the emulated tenant only; no Graph call)',
  );

  registerMockSignins(group, ctx);
  registerMockToken(group, ctx);
}

/** Issue 11: nothing replaces the tenant of a home a live `mock serve` holds. */
async function refuseWhileServed(ctx: CliContext, what: string): Promise<void> {
  const { liveServe, ServeRunningError } = await import('../mock/serveRecord.js');
  const served = await liveServe(ctx.stateFile());
  if (served) throw new ServeRunningError(served, what);
}

type ServeOptions = z.infer<typeof ServeSchema>;

async function serveTenant(ctx: CliContext, o: ServeOptions, claim: import('../mock/serveRecord.js').ServeClaim): Promise<void> {
  if (o.seed) await seedFromDir(ctx, o.seed);
  const { Traffic } = await import('../mock/traffic.js');
  const traffic = new Traffic({
    throttle: { mode: o.throttle, timeScale: o.timeScale },
    faults: { latencyMs: o.latency, rate: o.faultRate, timeScale: o.timeScale },
  });
  const { createFileStore, createLogStore } = await import('../mock/inprocess.js');
  const { createMockHandler } = await import('../mock/handler.js');
  const { serve } = await import('../mock/server.js');
  // The server is the only writer while it runs (its serve record keeps the others off):
  // writes are kept in memory, logged ahead, and checkpointed shortly after and on shutdown.
  const store = createFileStore(ctx.stateFile(), 'deferred');
  const logs = createLogStore(ctx.stateFile(), 'deferred');
  // The signing key exists before the first request, so `agentid mock token` (which reads
  // the state file) and the server sign with the same key.
  await (await import('../mock/auth.js')).signingKey(store);
  await store.flush();
  const tls = o.tls ? await (await import('../mock/tls.js')).ensureTlsCertificate(path.join(ctx.home(), 'mock', 'tls'), o.host) : undefined;
  // Like Graph, a served emulator answers only requests with a token it issued (#3).
  // Issue 11: no answer leaves before the writes it follows are in the fsynced log.
  const beforeRespond = async () => {
    await store.durable();
    await logs.flush();
  };
  const server = await serve(createMockHandler({ store, traffic, logs, requireToken: true }), { host: o.host, port: o.port, beforeRespond, ...(tls ? { tls } : {}) });
  await claim.publish({ url: server.url, tls: tls ? { certPath: tls.certPath } : null });
  if (tls) (await ctx.messenger()).info(`TLS certificate: ${tls.certPath} (clients trust it with NODE_EXTRA_CA_CERTS=${tls.certPath}).`);
  ctx.io.stdout.write(`${server.url}\n`);
  (await ctx.messenger()).info(`Emulated tenant served at ${server.url} (state: ${ctx.stateFile()}). Point the CLI at it with AGENTID_GRAPH_URL=${server.url}; stop with Ctrl-C.`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  await store.close();
  await logs.flush();
}

// --- issue #6: fixtures, recordings, replay -------------------------------------------------

async function loadFixtureInto(ctx: CliContext, dir: string): Promise<void> {
  const { loadFixture } = await import('../mock/fixtures.js');
  const { createFileStore, createLogStore } = await import('../mock/inprocess.js');
  const f = await loadFixture(dir).catch((err: Error) => {
    throw new UsageError(err.message);
  });
  await createFileStore(ctx.stateFile()).replace(f.state);
  const logs = createLogStore(ctx.stateFile());
  await logs.clear();
  await logs.append('signIns', f.signIns);
  await logs.append('directoryAudits', f.directoryAudits);
  const agents = Object.values(f.state.objects).filter((x) => x.type === 'agentIdentity').length;
  (await ctx.messenger()).success(`Loaded fixture '${f.manifest.name}': ${agents} agent identities, ${f.signIns.length} sign-ins and ${f.directoryAudits.length} audit events.`);
}

async function seedFromDir(ctx: CliContext, dir: string): Promise<void> {
  const { loadRecordings } = await import('../mock/replay.js');
  const { seedFromRecordings } = await import('../mock/fixtures.js');
  const { createFileStore, createLogStore } = await import('../mock/inprocess.js');
  const recordings = await loadRecordings(path.resolve(dir)).catch((err: Error) => {
    throw new UsageError(err.message);
  });
  const state = seedFromRecordings(recordings);
  await createFileStore(ctx.stateFile()).replace(state);
  await createLogStore(ctx.stateFile()).clear();
  (await ctx.messenger()).success(`Seeded the emulated tenant from ${recordings.length} recordings in ${dir}.`);
}

async function serveReplay(ctx: CliContext, dir: string, host: string, port: number): Promise<void> {
  const { createReplayHandler } = await import('../mock/replay.js');
  const { createMockHandler } = await import('../mock/handler.js');
  const { MemoryStore } = await import('../mock/store.js');
  const { seedState } = await import('../mock/seed.js');
  const { serve } = await import('../mock/server.js');
  // Sign-in still works (recordings hold no tokens), answered by a throw-away emulated tenant.
  const oauth = createMockHandler({ store: new MemoryStore(seedState()) });
  const handler = await createReplayHandler({ dir: path.resolve(dir), oauth }).catch((err: Error) => {
    throw new UsageError(err.message);
  });
  const server = await serve(handler, { host, port });
  ctx.io.stdout.write(`${server.url}\n`);
  (await ctx.messenger()).info(`Replaying ${dir} at ${server.url} (strict: unrecorded requests fail). Point the CLI at it with AGENTID_GRAPH_URL=${server.url}; stop with Ctrl-C.`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await server.close();
}
