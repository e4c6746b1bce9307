import type { Command } from 'commander';
import { z } from 'zod';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { collect, dryRunOption, helpSections, parseOptions, positiveInt, yesOption } from './shared.js';
import type { execute, prepare } from './bulk.js';

/** bulk.ts's journaled engine, handed in by bulk.ts so that imports point one way (issue 11 #4). */
export interface BulkEngine {
  prepare: typeof prepare;
  execute: typeof execute;
}

// agentid bulk sponsor replace | sponsor add --orphaned | delete --stale-days (issue #14): the
// fixes for what `agentid report` finds, planned in src/graph/bulkGovernance.ts and run by the
// same journaled engine as every bulk verb (confirm, journal, resume, undo).

const common = {
  journal: z.string().min(1).optional(),
  concurrency: z.number().int().min(1).max(32).optional(),
  dryRun: z.boolean().optional(),
  yes: z.boolean().optional(),
};

export const SponsorReplaceSchema = z.object({
  from: z.string({ error: '--from is required: the sponsor to replace (UPN, object id or group id).' }).min(1),
  to: z.string({ error: '--to is required: the new sponsor (UPN, object id or group id).' }).min(1),
  blueprint: z.array(z.string().min(1)).optional(),
  ...common,
});

export const SponsorAddSchema = z
  .object({ user: z.string().min(1).optional(), group: z.string().min(1).optional(), orphaned: z.boolean().optional(), blueprint: z.array(z.string().min(1)).optional(), ...common })
  .refine((o) => !!o.user !== !!o.group, { message: 'Name the new sponsor with --user UPN|id or --group ID, one of the two.' })
  .refine((o) => !!o.orphaned, { message: '--orphaned is required: bulk sponsor add gives a sponsor to every orphan agentid report finds (for one object: agentid sponsor add).' });

export const StaleDeleteSchema = z
  .object({ staleDays: z.number().int().min(1).max(365).optional(), agentsOnly: z.boolean().optional(), blueprint: z.array(z.string().min(1)).optional(), ...common })
  .refine((o) => o.staleDays !== undefined, { message: '--stale-days N is required: agents without a successful sign-in for N days are deleted.' })
  .refine((o) => !!o.agentsOnly, { message: '--agents-only is required: bulk delete removes agent identities only (agent users: agentid agent-user delete).' });

function journalOptions(cmd: Command): Command {
  return cmd
    .option('--journal <path>', 'journal file (default: $AGENTID_HOME/journals/<time>-<verb>-<id>.jsonl)')
    .option('--concurrency <n>', '$batch requests in flight at once (default 8)', positiveInt('--concurrency'))
    .addOption(dryRunOption())
    .addOption(yesOption());
}

export function registerGovernance(group: Command, ctx: CliContext, engine: BulkEngine): void {
  const sponsor = helpSections(group.command('sponsor').description('Replace or add sponsors in bulk (blueprints, agents and agent users), never leaving an object without one'), [
    'agentid bulk sponsor replace --from meganb@contoso.onmicrosoft.com --to leeg@contoso.onmicrosoft.com --yes',
    'agentid bulk sponsor add --user leeg@contoso.onmicrosoft.com --orphaned --dry-run',
  ]);
  helpSections(
    journalOptions(
      sponsor
        .command('replace')
        .description('Where --from is a sponsor, add --to and then remove --from (the add first: no object is ever left without a sponsor)')
        .option('--from <sponsor>', 'the sponsor to replace: UPN, user or group object id')
        .option('--to <sponsor>', 'the new sponsor: UPN, user or group object id')
        .option('--blueprint <blueprint>', 'only this blueprint and its agents (repeatable)', collect),
    ).action(async (raw) => replace(ctx, engine, raw)),
    [
      'agentid bulk sponsor replace --from meganb@contoso.onmicrosoft.com --to leeg@contoso.onmicrosoft.com --yes',
      'agentid bulk sponsor replace --from 6e1f0c2a-0002-4a5b-8c9d-000000000002 --to 7a2b0d3c-0001-4b6c-9dae-000000000101 --blueprint "Sales Agent" --dry-run',
    ],
    'AgentIdentity.ReadWrite.All, AgentIdentityBlueprint.ReadWrite.All, User.ReadWrite.All (agent users)',
  );
  helpSections(
    journalOptions(
      sponsor
        .command('add')
        .description('Give every orphan agentid report finds (no sponsor, or only disabled users and empty groups) this sponsor')
        .option('--user <user>', 'the new sponsor: UPN, object id or "me"')
        .option('--group <id>', 'the new sponsor: a Microsoft 365 or dynamic group object id')
        .option('--orphaned', 'every orphaned blueprint, agent and agent user (required)')
        .option('--blueprint <blueprint>', 'only this blueprint and its agents (repeatable)', collect),
    ).action(async (raw) => addOrphans(ctx, engine, raw)),
    ['agentid bulk sponsor add --user leeg@contoso.onmicrosoft.com --orphaned --yes', 'agentid bulk sponsor add --group 7a2b0d3c-0001-4b6c-9dae-000000000101 --orphaned --dry-run -o json'],
    'AgentIdentity.ReadWrite.All, AgentIdentityBlueprint.ReadWrite.All, User.ReadWrite.All (agent users)',
  );
  helpSections(
    journalOptions(
      group
        .command('delete')
        .description('Soft-delete the agent identities without a successful sign-in for --stale-days N (undo restores them from deleted items, within 30 days)')
        .option('--stale-days <n>', 'no successful sign-in for this many days', positiveInt('--stale-days'))
        .option('--agents-only', 'agent identities only (required; agent users are left alone)')
        .option('--blueprint <blueprint>', 'only this blueprint (repeatable)', collect),
    ).action(async (raw) => staleDelete(ctx, engine, raw)),
    ['agentid bulk delete --stale-days 90 --agents-only --dry-run', 'agentid bulk delete --stale-days 90 --agents-only --blueprint "Sales Agent" --yes'],
    'AgentIdentity.DeleteRestore.All, AuditLog.Read.All',
  );
}

async function blueprintAppIds(ctx: CliContext, client: import('../graph/client.js').GraphClient, refs: string[] | undefined): Promise<string[] | undefined> {
  if (!refs?.length) return undefined;
  const { resolveBlueprint } = await import('../graph/resolve.js');
  const out: string[] = [];
  for (const r of refs) out.push((await resolveBlueprint(client, r, ctx.chooser())).appId);
  return out;
}

async function replace(ctx: CliContext, { prepare, execute }: BulkEngine, raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(SponsorReplaceSchema, raw);
  await ctx.checkOutputOptions();
  const { client, pacer } = await prepare(ctx);
  const { resolvePrincipal } = await import('../graph/directory.js');
  const [from, to] = await Promise.all([resolvePrincipal(client, o.from), resolvePrincipal(client, o.to)]);
  if (from.id.toLowerCase() === to.id.toLowerCase()) throw new UsageError('--from and --to name the same sponsor; name the one who replaces them with --to.');
  const { planSponsorReplace } = await import('../graph/bulkGovernance.js');
  const items = await planSponsorReplace(client, from, to, { pacer, now: new Date(), blueprintAppIds: await blueprintAppIds(ctx, client, o.blueprint), ...(o.concurrency ? { concurrency: o.concurrency } : {}) });
  await execute(ctx, { kind: 'sponsor-replace', items, args: { from: from.id, to: to.id, blueprint: o.blueprint ?? null, target: client.baseUrl }, o, client, pacer });
}

async function addOrphans(ctx: CliContext, { prepare, execute }: BulkEngine, raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(SponsorAddSchema, raw);
  await ctx.checkOutputOptions();
  const { client, pacer } = await prepare(ctx);
  const { resolveUser, resolveGroup } = await import('../graph/directory.js');
  const who = o.user ? await resolveUser(client, o.user) : await resolveGroup(client, o.group!);
  const { planSponsorOrphans } = await import('../graph/bulkGovernance.js');
  const items = await planSponsorOrphans(client, who, { pacer, now: new Date(), blueprintAppIds: await blueprintAppIds(ctx, client, o.blueprint), ...(o.concurrency ? { concurrency: o.concurrency } : {}) });
  await execute(ctx, { kind: 'sponsor-add', items, args: { sponsor: who.id, orphaned: true, blueprint: o.blueprint ?? null, target: client.baseUrl }, o, client, pacer });
}

async function staleDelete(ctx: CliContext, { prepare, execute }: BulkEngine, raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(StaleDeleteSchema, raw);
  await ctx.checkOutputOptions();
  const { client, pacer } = await prepare(ctx);
  const { planStaleDelete } = await import('../graph/bulkGovernance.js');
  const items = await planStaleDelete(client, o.staleDays!, { pacer, now: new Date(), blueprintAppIds: await blueprintAppIds(ctx, client, o.blueprint), ...(o.concurrency ? { concurrency: o.concurrency } : {}) });
  await execute(ctx, { kind: 'delete', items, args: { staleDays: o.staleDays, agentsOnly: true, blueprint: o.blueprint ?? null, target: client.baseUrl }, o, client, pacer });
}
