import type { Command } from 'commander';
import { z } from 'zod';
import type { CliContext } from '../context.js';
import { NotFoundError, UsageError } from '../errors.js';
import { collect, helpSections, parseOptions } from './shared.js';

// `agentid mock token`: an access token of the emulated tenant, for scripts and tests (curl,
// another Graph client, a 403 experiment). Delegated by default, for the signed-in Agent ID
// Administrator with the scopes the agentid CLI holds; --scopes narrows them, --user picks
// another user, --app makes an app-only token with that app's granted permissions (or --roles).
// The token is printed on stdout and nowhere else; it is signed with the tenant's key, which
// `mock reset` replaces (old tokens then answer 401).

export const TokenSchema = z
  .object({
    scopes: z.array(z.string().trim().min(1)).optional(),
    roles: z.array(z.string().trim().min(1)).optional(),
    app: z.string().trim().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, '--app takes an application (client) id, a GUID.').optional(),
    user: z.string().trim().min(1).optional(),
  })
  .refine((o) => !(o.scopes && (o.app || o.roles)), { message: '--scopes makes a delegated token; --app and --roles make an app-only one: choose one kind.' })
  .refine((o) => !(o.roles && !o.app), { message: '--roles needs --app APPID: the app whose app-only token carries them.' })
  .refine((o) => !(o.user && o.app), { message: '--user makes a delegated token; --app an app-only one: choose one.' });

export function registerMockToken(group: Command, ctx: CliContext): void {
  helpSections(
    group
      .command('token')
      .description("Print an access token of the emulated tenant (default: the signed-in Agent ID Administrator's delegated token)")
      .option('--scopes <a,b>', 'delegated scopes the token carries (default: those the agentid CLI holds)', collect)
      .option('--roles <r,s>', 'application permissions of an app-only token (default: those granted to --app)', collect)
      .option('--app <appId>', 'an app-only token for this app of the emulated tenant')
      .option('--user <upn|id>', 'a delegated token for this user (default: the signed-in administrator)')
      .action(async (raw) => {
        const o = parseOptions(TokenSchema, raw);
        const { createFileStore } = await import('../mock/inprocess.js');
        const { mintToken, userClaims, appClaims, applicationOf } = await import('../mock/auth.js');
        const store = createFileStore(ctx.stateFile());
        const served = ctx.env.AGENTID_GRAPH_URL?.trim();
        const issuerOrigin = served ? new URL(served).origin : undefined;
        const userId = o.user
          ? await store.read((s) => Object.values(s.objects).find((x) => !x.deletedDateTime && (x.type === 'user' || x.type === 'agentUser') && (x.id === o.user!.toLowerCase() || String(x.props.userPrincipalName).toLowerCase() === o.user!.toLowerCase()))?.id)
          : undefined;
        if (o.user && !userId) throw new NotFoundError(`--user: no user '${o.user}' in the emulated tenant.`);
        if (o.app && !(await store.read((s) => applicationOf(s, o.app!)))) throw new NotFoundError(`--app: no app registration with appId '${o.app}' in the emulated tenant.`);
        const token = await mintToken(store, (s) => {
          try {
            return o.app
              ? appClaims(s, o.app, { ...(issuerOrigin ? { issuerOrigin } : {}), ...(o.roles ? { roles: o.roles } : {}) })
              : userClaims(s, userId, { ...(issuerOrigin ? { issuerOrigin } : {}), ...(o.scopes ? { scopes: o.scopes } : {}) });
          } catch (err) {
            throw new UsageError((err as Error).message);
          }
        });
        ctx.io.stdout.write(`${token}\n`);
      }),
    [
      'agentid mock token --scopes AgentIdentity.Read.All',
      'curl -H "Authorization: Bearer $(agentid mock token)" $AGENTID_GRAPH_URL/v1.0/me',
      'agentid mock token --app c0a1b2c3-0001-4d5e-8f90-000000000301',
      'agentid mock token --app c0a1b2c3-0002-4d5e-8f90-000000000302 --roles AgentIdentity.Read.All',
    ],
    'none (the emulated tenant only; no Graph call)',
  );
}
