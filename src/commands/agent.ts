import type { Command } from 'commander';
import { z } from 'zod';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import * as agents from '../graph/agents.js';
import { BLUEPRINT_ATTRIBUTE, assignmentBody, blueprintTagging, parseAttributeArg, setAgentAttributes, untaggedWarning } from '../graph/attributes.js';
import { GraphRequestError } from '../graph/errors.js';
import { getPrincipalByAppId } from '../graph/blueprints.js';
import { resolvePrincipal } from '../graph/directory.js';
import { resolveAgent, resolveBlueprint } from '../graph/resolve.js';
import { listFilterOptions, collect, confirm, dryRunOption, helpSections, parseOptions, printPlan, registerEnableDisable, required, topOption, yesOption } from './shared.js';

export const AGENT_COLUMNS = [
  { key: 'displayName', header: 'Name' },
  { key: 'id', header: 'Object id' },
  { key: 'accountEnabled', header: 'Enabled' },
  { key: 'agentIdentityBlueprintId', header: 'Blueprint appId' },
  { key: 'createdDateTime', header: 'Created' },
];

const name = z.string().trim().min(1, 'The name cannot be empty.').max(256, 'An agent name is at most 256 characters (Graph limit).');

const SPONSOR_REQUIRED = 'At least one --sponsor is required: a UPN, a user or group object id, or "me".';

export const CreateSchema = z.object({
  blueprint: z.string().min(1, '--blueprint is required: an object id, appId or name.'),
  name,
  // The message also covers a missing --sponsor: commander leaves the option undefined, which
  // zod would otherwise report as 'expected array, received undefined'.
  sponsor: z.array(z.string(), { error: SPONSOR_REQUIRED }).min(1, SPONSOR_REQUIRED),
  owner: z.array(z.string()).default([]),
  dryRun: z.boolean().optional(),
});

export const ListSchema = z
  .object({ blueprint: z.string().optional(), enabled: z.boolean().optional(), disabled: z.boolean().optional(), top: z.number().optional(), filter: z.string().optional(), search: z.string().optional() })
  .refine((o) => !(o.enabled && o.disabled), { message: 'Use --enabled or --disabled, not both.' });

export const UpdateSchema = z
  .object({ name: name.optional(), attribute: z.array(z.string()).default([]) })
  .refine((o) => o.name !== undefined || o.attribute.length > 0, { message: 'Nothing to update: pass --name or --attribute SET.NAME=VALUE.' });

export function register(program: Command, ctx: CliContext): void {
  const group = helpSections(program.command('agent').description('Create, list, enable, disable and delete agent identities'), [
    'agentid agent create --blueprint "Sales Agent" --name "Sales Agent EMEA" --sponsor me',
    'agentid agent list --blueprint "Sales Agent" --disabled',
    'agentid agent disable "Sales Agent EMEA"',
  ]);

  helpSections(
    group
      .command('create')
      .description('Create an agent identity from a blueprint')
      .option('--blueprint <blueprint>', 'blueprint: object id, appId or display name')
      .option('--name <name>', 'display name of the agent')
      .option('--sponsor <user-or-group>', 'sponsor: UPN, object id or "me" (repeatable, at least one)', collect)
      .option('--owner <user>', 'owner: UPN, object id or "me" (repeatable)', collect)
      .addOption(dryRunOption())
      .action(async (raw) => {
        raw.blueprint = await required(ctx, raw.blueprint, '--blueprint', 'Blueprint (id, appId or name)');
        raw.name = await required(ctx, raw.name, '--name', 'Agent name');
        const o = parseOptions(CreateSchema, raw);
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const b = await resolveBlueprint(client, o.blueprint, ctx.chooser());
        const sponsors = await Promise.all(o.sponsor.map((s) => resolvePrincipal(client, s)));
        const owners = await Promise.all(o.owner.map((s) => resolvePrincipal(client, s)));
        if (owners.some((w) => w.kind === 'group')) throw new UsageError('Owners must be users (or service principals), not groups.');
        const { checkNameFree } = await import('./duplicates.js');
        await checkNameFree(ctx, 'agent', o.name, `in blueprint '${b.displayName}'`, await agents.listAgents(client, { blueprintAppId: b.appId, displayName: o.name }));
        // #13: a tenant that defines AgentId.Blueprint targets blueprints by it in Conditional
        // Access, so the new agent gets its blueprint's appId there too (one read of the definition;
        // without it nothing more is sent).
        const tagging = await blueprintTagging(client);
        const tag = [{ ...BLUEPRINT_ATTRIBUTE, value: b.appId }];
        if (o.dryRun) return printPlan(ctx, { action: 'create agent identity', displayName: o.name, blueprintAppId: b.appId, sponsors, owners, ...(tagging.tag ? { then: { action: 'set custom security attribute', attributes: assignmentBody(tag) } } : {}) });
        const agent = await agents.createAgent(client, { displayName: o.name, blueprintAppId: b.appId, sponsors, owners });
        const m = await ctx.messenger();
        m.success(`Created agent '${agent.displayName}' (${agent.id}) from blueprint '${b.displayName}'.`);
        if (tagging.tag) {
          try {
            await setAgentAttributes(client, agent.id, tag);
            m.info(`Set ${BLUEPRINT_ATTRIBUTE.set}.${BLUEPRINT_ATTRIBUTE.name}=${b.appId} on it, for Conditional Access policies that target its blueprint.`);
          } catch (err) {
            // The agent exists: a refused tag is a warning, not a failed create.
            if (!(err instanceof GraphRequestError)) throw err;
            m.warn(untaggedWarning(agent, b, `assigning it was refused: ${err.code}${err.requestId ? `, request-id ${err.requestId}` : ''}`));
          }
        } else if (tagging.denied) m.warn(untaggedWarning(agent, b, `reading its definition was refused: ${tagging.denied.code}; that needs CustomSecAttributeDefinition.Read.All`));
        await ctx.print(agent);
      }),
    [
      'agentid agent create --blueprint "Sales Agent" --name "Sales Agent EMEA" --sponsor meganb@contoso.onmicrosoft.com',
      'agentid agent create --blueprint 2c9e… --name "Support bot 7" --sponsor me --owner adelev@contoso.onmicrosoft.com -o json --query id',
    ],
    'AgentIdentity.Create.All; tagging it for Conditional Access (when the tenant defines AgentId.Blueprint): CustomSecAttributeDefinition.Read.All and CustomSecAttributeAssignment.ReadWrite.All',
  );

  helpSections(
    listFilterOptions(group
      .command('list')
      .description('List agent identities, optionally of one blueprint')
      .option('--blueprint <blueprint>', 'only agents of this blueprint (object id, appId or name)')
      .option('--enabled', 'only enabled agents')
      .option('--disabled', 'only disabled agents')
      .addOption(topOption()))
      .action(async (raw) => {
        const o = parseOptions(ListSchema, raw);
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        // Issue 12: a deleted blueprint's id still lists its agents (orphans keep its appId).
        let blueprintAppId: string | undefined;
        if (o.blueprint) {
          const { blueprintAppIdForListing } = await import('../graph/lifecycle.js');
          const found = await blueprintAppIdForListing(client, o.blueprint, ctx.chooser());
          blueprintAppId = found.appId;
          const m = await ctx.messenger();
          if (found.deleted) m.warn(`Blueprint '${found.deleted.displayName}' is deleted (${found.deleted.deletedDateTime}); its agents listed here are orphans (agentid blueprint restore ${found.deleted.id}).`);
          if (found.purged) m.warn(`No blueprint, live or deleted, has id or appId ${found.appId}; listing agents whose agentIdentityBlueprintId is ${found.appId}.`);
        }
        const enabled = o.enabled ? true : o.disabled ? false : undefined;
        const items = await agents.listAgents(client, { blueprintAppId, enabled, top: o.top, filter: o.filter, search: o.search });
        await ctx.print(items, AGENT_COLUMNS);
        // The whole list feeds shell completion's name cache (local file, short-lived).
        if (!blueprintAppId && enabled === undefined && !o.top && !o.filter && !o.search) await (await import('./nameCache.js')).rememberNames(ctx, 'agent', items.map((a) => a.displayName));
      }),
    ['agentid agent list', 'agentid agent list --blueprint "Sales Agent" --disabled', 'agentid agent list --search emea', `agentid agent list --filter "startswith(displayName,'Sales')" -o json --query "[?accountEnabled].id"`],
    'AgentIdentity.Read.All',
  );

  helpSections(
    group
      .command('show')
      .description('Show an agent identity')
      .argument('<agent>', 'object id or exact display name')
      .action(async (ref: string) => {
        await ctx.checkOutputOptions();
        await ctx.print(await resolveAgent(await ctx.graph(), ref, ctx.chooser()));
      }),
    ['agentid agent show "Sales Agent EMEA"', 'agentid agent show 5b1c… -o yaml'],
    'AgentIdentity.Read.All',
  );

  helpSections(
    group
      .command('update')
      .description('Rename an agent identity, or set its custom security attributes')
      .argument('<agent>', 'object id or exact display name')
      .option('--name <name>', 'new display name')
      .option('--attribute <set.name=value>', 'set a single-valued string custom security attribute (repeatable; an empty value removes it)', collect)
      .addOption(dryRunOption())
      .action(async (ref: string, raw) => {
        const o = parseOptions(UpdateSchema, raw);
        const attrs = o.attribute.map(parseAttributeArg);
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const a = await resolveAgent(client, ref, ctx.chooser());
        // Attributes go in a PATCH of their own: they need their own permission (GD serviceprincipal-update.md).
        if (raw.dryRun) {
          return printPlan(ctx, {
            action: 'update agent identity',
            id: a.id,
            ...(o.name !== undefined ? { patch: { displayName: o.name } } : {}),
            ...(attrs.length ? { attributes: assignmentBody(attrs) } : {}),
          });
        }
        const m = await ctx.messenger();
        if (o.name !== undefined) {
          await agents.updateAgent(client, a.id, { displayName: o.name });
          m.success(`Renamed agent '${a.displayName}' to '${o.name}'.`);
        }
        if (attrs.length) {
          await setAgentAttributes(client, a.id, attrs);
          m.success(`Set ${attrs.map((x) => `${x.set}.${x.name}${x.value === null ? ' (removed)' : ''}`).join(', ')} on '${o.name ?? a.displayName}'.`);
        }
        await ctx.print(await agents.getAgent(client, a.id));
      }),
    ['agentid agent update "Sales Agent EMEA" --name "Sales Agent Europe"', 'agentid agent update "Sales Agent EMEA" --attribute AgentId.Blueprint=8f3c2e1a-…', 'agentid agent update "Sales Agent EMEA" --attribute AgentId.Blueprint='],
    'AgentIdentity.ReadWrite.All; --attribute: CustomSecAttributeAssignment.ReadWrite.All (delegated: as an Attribute Assignment Administrator)',
  );

  registerEnableDisable(group, ctx, {
    noun: 'agent',
    argument: ['<agent>', 'object id or exact display name'],
    descriptions: { enable: 'Enable an agent identity (it can authenticate again)', disable: 'Disable an agent identity (it can no longer authenticate)' },
    resolve: resolveAgent,
    label: (a) => `'${a.displayName}'`,
    setEnabled: (client, id, accountEnabled) => agents.updateAgent(client, id, { accountEnabled }),
    exampleRef: '"Sales Agent EMEA"',
    permission: 'AgentIdentity.EnableDisable.All',
    afterEnable: async (client, a, m) => {
      if (!a.agentIdentityBlueprintId) return;
      const principal = await getPrincipalByAppId(client, a.agentIdentityBlueprintId);
      if (principal && principal.accountEnabled === false) m.warn(`Its blueprint's principal is disabled, so the agent still cannot authenticate ('agentid blueprint enable').`);
    },
  });

  helpSections(
    group
      .command('delete')
      .description('Delete an agent identity (soft delete: restorable for 30 days with agentid agent restore)')
      .argument('<agent>', 'object id or exact display name')
      .addOption(yesOption())
      .addOption(dryRunOption())
      .action(async (ref: string, raw) => {
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const a = await resolveAgent(client, ref, ctx.chooser());
        if (raw.dryRun) return printPlan(ctx, { action: 'delete agent identity', id: a.id, displayName: a.displayName });
        await confirm(ctx, raw.yes, `Delete agent '${a.displayName}' (${a.id})?`);
        await agents.deleteAgent(client, a.id);
        (await ctx.messenger()).success(`Deleted agent '${a.displayName}'.`);
        await ctx.print({ id: a.id, displayName: a.displayName, deleted: true });
      }),
    ['agentid agent delete "Sales Agent EMEA" --dry-run', 'agentid agent delete 5b1c… --yes'],
    'AgentIdentity.DeleteRestore.All',
  );

  helpSections(
    group
      .command('restore')
      .description('Restore a deleted agent identity from deleted items (within 30 days of its delete)')
      .argument('<agent>', 'deleted agent identity: object id or exact display name (agentid deleted list --type agent)')
      .addOption(dryRunOption())
      .action(async (ref: string, raw) => {
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const { resolveDeleted, restoreDeleted } = await import('../graph/deletedItems.js');
        const item = await resolveDeleted(client, ['agent'], ref, ctx.chooser());
        if (raw.dryRun) return printPlan(ctx, { action: 'restore agent identity', id: item.id, displayName: item.displayName });
        await restoreDeleted(client, item.id);
        const m = await ctx.messenger();
        m.success(`Restored agent '${item.displayName}'.`);
        const agent = await agents.getAgent(client, item.id);
        if (agent.agentIdentityBlueprintId) {
          const principal = await getPrincipalByAppId(client, agent.agentIdentityBlueprintId);
          if (!principal) m.warn(`Its blueprint (appId ${agent.agentIdentityBlueprintId}) has no principal, so it cannot authenticate; restore the blueprint first (agentid blueprint restore ${agent.agentIdentityBlueprintId}).`);
          else if (principal.accountEnabled === false) m.warn(`Its blueprint's principal is disabled, so it cannot authenticate ('agentid blueprint enable').`);
        }
        if (agent.accountEnabled === false) m.warn(`It is disabled ('agentid agent enable ${agent.id}').`);
        await ctx.print(agent);
      }),
    ['agentid agent restore "Sales Agent EMEA"', 'agentid agent restore 5b1c… -o json'],
    'AgentIdentity.DeleteRestore.All',
  );
}
