import type { Command } from 'commander';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { CliContext } from '../context.js';
import { confirm, helpSections, parseOptions, yesOption } from './shared.js';
import { registerMockToken } from './mockToken.js';

export const ServeSchema = z.object({
  host: z.string().min(1),
  // Issue #3: https with a self-signed certificate, so @azure/identity (MSAL) can sign in against it.
  tls: z.boolean().optional(),
  port: z.coerce.number().int('--port must be a whole number.').min(0, '--port must be 0 (any free port) to 65535.').max(65535, '--port must be 0 (any free port) to 65535.'),
});

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
      .option('--tls', 'serve https with a self-signed certificate (its path is printed; trust it with NODE_EXTRA_CA_CERTS), as @azure/identity requires')
      .action(async (raw) => {
        const o = parseOptions(ServeSchema, raw);
        const { createFileStore } = await import('../mock/inprocess.js');
        const { createMockHandler } = await import('../mock/handler.js');
        const { serve } = await import('../mock/server.js');
        // The server is the only writer while it runs: writes are kept in memory and flushed
        // atomically shortly after, and on shutdown.
        const store = createFileStore(ctx.stateFile(), 'deferred');
        // The signing key exists before the first request, so `agentid mock token` (which reads
        // the state file) and the server sign with the same key.
        await (await import('../mock/auth.js')).signingKey(store);
        await store.flush();
        const tls = o.tls ? await (await import('../mock/tls.js')).ensureTlsCertificate(path.join(ctx.home(), 'mock', 'tls'), o.host) : undefined;
        // Like Graph, a served emulator answers only requests with a token it issued (#3).
        const server = await serve(createMockHandler({ store, requireToken: true }), { host: o.host, port: o.port, ...(tls ? { tls } : {}) });
        if (tls) (await ctx.messenger()).info(`TLS certificate: ${tls.certPath} (clients trust it with NODE_EXTRA_CA_CERTS=${tls.certPath}).`);
        ctx.io.stdout.write(`${server.url}\n`);
        (await ctx.messenger()).info(`Emulated tenant served at ${server.url} (state: ${ctx.stateFile()}). Point the CLI at it with AGENTID_GRAPH_URL=${server.url}; stop with Ctrl-C.`);
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        await server.close();
        await store.flush();
      }),
    ['agentid mock serve', 'agentid mock serve --port 8080', 'AGENTID_GRAPH_URL=$(agentid mock serve & sleep 1) agentid agent list'],
  );

  helpSections(
    group
      .command('reset')
      .description('Restore the emulated tenant to its seeded state (deletes every blueprint, agent and agent user)')
      .addOption(yesOption())
      .action(async (raw) => {
        await confirm(ctx, raw.yes, `Reset the emulated tenant at ${ctx.stateFile()}?`);
        const { createFileStore } = await import('../mock/inprocess.js');
        const { seedState } = await import('../mock/seed.js');
        await createFileStore(ctx.stateFile()).replace(seedState());
        (await ctx.messenger()).success('The emulated tenant is back to its seeded state.');
      }),
    ['agentid mock reset --yes'],
  );

  helpSections(
    group
      .command('status')
      .description('Show where the emulated tenant lives and what it holds')
      .action(async () => {
        await ctx.checkOutputOptions();
        const file = ctx.stateFile();
        const exists = await fsp.access(file).then(() => true, () => false);
        const { createFileStore } = await import('../mock/inprocess.js');
        const counts = await createFileStore(file).read((s) => {
          const c: Record<string, number> = {};
          for (const o of Object.values(s.objects)) if (!o.deletedDateTime) c[o.type] = (c[o.type] ?? 0) + 1;
          return { tenant: s.tenant.displayName, tenantId: s.tenant.id, domain: s.tenant.defaultDomain, objects: c };
        });
        await ctx.print({ stateFile: file, existedBefore: exists, servedAt: ctx.env.AGENTID_GRAPH_URL ?? null, ...counts });
      }),
    ['agentid mock status', 'agentid mock status -o json --query objects'],
  );

  registerMockToken(group, ctx);
}
