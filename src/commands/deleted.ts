import type { Command } from 'commander';
import { z } from 'zod';
import type { CliContext } from '../context.js';
import type { DeletedKind } from '../graph/deletedItems.js';
import { confirm, dryRunOption, helpSections, parseOptions, printPlan, topOption, yesOption } from './shared.js';

// agentid deleted: the Agent ID objects in /directory/deletedItems (issue 12). Restoring is a
// verb of each object's own group (blueprint|agent|agent-user restore); purge lives here.

export const DELETED_COLUMNS = [
  { key: 'type', header: 'type' },
  { key: 'displayName', header: 'displayName' },
  { key: 'id', header: 'id' },
  { key: 'deletedDateTime', header: 'deletedDateTime' },
  { key: 'appId', header: 'appId' },
  { key: 'agentIdentityBlueprintId', header: 'agentIdentityBlueprintId' },
  { key: 'userPrincipalName', header: 'userPrincipalName' },
];

const TYPES = { blueprint: 'blueprint', agent: 'agent', 'agent-user': 'agentUser' } as const satisfies Record<string, DeletedKind>;

export const ListSchema = z.object({
  type: z.enum(Object.keys(TYPES) as [keyof typeof TYPES], { error: '--type takes blueprint, agent or agent-user.' }).optional(),
  top: z.number().optional(),
});

export function register(program: Command, ctx: CliContext): void {
  const group = helpSections(program.command('deleted').description('List and purge deleted blueprints, agents and agent users (restore them with blueprint|agent|agent-user restore)'), [
    'agentid deleted list',
    'agentid deleted list --type agent -o json --query "[].id"',
    'agentid deleted purge 5b1c… --yes',
  ]);

  helpSections(
    group
      .command('list')
      .description('List deleted blueprints, agent identities and agent users (kept 30 days, then purged by Entra)')
      .option('--type <type>', 'only this type: blueprint, agent or agent-user')
      .addOption(topOption())
      .action(async (raw) => {
        const o = parseOptions(ListSchema, raw);
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const { listDeleted } = await import('../graph/deletedItems.js');
        const kinds: DeletedKind[] = o.type ? [TYPES[o.type]] : ['blueprint', 'agent', 'agentUser'];
        const lists = await Promise.all(kinds.map((k) => listDeleted(client, k)));
        const items = lists.flat().sort((a, b) => String(b.deletedDateTime).localeCompare(String(a.deletedDateTime)));
        await ctx.print(o.top ? items.slice(0, o.top) : items, DELETED_COLUMNS);
      }),
    ['agentid deleted list', 'agentid deleted list --type blueprint', 'agentid deleted list --type agent-user -o csv'],
    'Application.Read.All (blueprints, agents) and User.Read.All (agent users)',
  );

  helpSections(
    group
      .command('purge')
      .description('Delete a deleted blueprint, agent or agent user permanently: it can no longer be restored')
      .argument('<object>', 'deleted object: object id, blueprint appId, UPN or exact display name')
      .addOption(yesOption())
      .addOption(dryRunOption())
      .action(async (ref: string, raw) => {
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const { resolveDeleted, purgeDeleted } = await import('../graph/deletedItems.js');
        const item = await resolveDeleted(client, ['blueprint', 'agent', 'agentUser'], ref, ctx.chooser());
        const label = item.displayName ?? item.userPrincipalName ?? item.id;
        if (raw.dryRun) return printPlan(ctx, { action: `purge ${item.type}`, id: item.id, displayName: item.displayName });
        await confirm(ctx, raw.yes, `Permanently delete ${item.type} '${label}' (${item.id})? It cannot be restored afterwards.`);
        await purgeDeleted(client, item.id);
        (await ctx.messenger()).success(`Purged ${item.type} '${label}'.`);
        await ctx.print({ ...item, purged: true });
      }),
    ['agentid deleted purge "Sales Agent EMEA" --yes', 'agentid deleted purge 5b1c… --dry-run'],
    'AgentIdentity.DeleteRestore.All (agents), AgentIdentityBlueprint.DeleteRestore.All (blueprints), User.DeleteRestore.All (agent users)',
  );
}
