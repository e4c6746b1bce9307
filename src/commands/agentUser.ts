import type { Command } from 'commander';
import { z } from 'zod';
import type { CliContext } from '../context.js';
import { OperationError, UsageError } from '../errors.js';
import * as au from '../graph/agentUsers.js';
import { resolveAgent, resolveAgentUser } from '../graph/resolve.js';
import { listFilterOptions, confirm, dryRunOption, helpSections, parseOptions, printPlan, registerEnableDisable, required, topOption, yesOption } from './shared.js';

const COLUMNS = [
  { key: 'displayName', header: 'Name' },
  { key: 'userPrincipalName', header: 'UPN' },
  { key: 'id', header: 'Object id' },
  { key: 'accountEnabled', header: 'Enabled' },
  { key: 'identityParentId', header: 'Agent id' },
];

// mailNickname: Graph allows ASCII letters, digits and a few symbols, at most 64 characters.
const MAIL_NICKNAME = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]{1,64}$/;

export const CreateSchema = z.object({
  agent: z.string().min(1, '--agent is required: the agent identity (object id or name).'),
  upn: z
    .string()
    .regex(/^[^@\s]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/, '--upn must be name@domain with one of the tenant\'s verified domains, e.g. sales-agent@contoso.onmicrosoft.com.'),
  name: z.string().trim().min(1).max(256, 'A display name is at most 256 characters.').optional(),
  mailNickname: z.string().regex(MAIL_NICKNAME, '--mail-nickname takes at most 64 letters, digits and . - _ (no spaces).').optional(),
  dryRun: z.boolean().optional(),
});

export const UpdateSchema = z
  .object({
    name: z.string().trim().min(1).max(256).optional(),
    usageLocation: z.string().regex(/^[A-Za-z]{2}$/, '--usage-location is a two-letter country code (ISO 3166), e.g. US.').optional(),
  })
  .refine((o) => o.name !== undefined || o.usageLocation !== undefined, { message: 'Nothing to update: pass --name and/or --usage-location.' });

/** The mail nickname Graph requires, derived from the UPN's local part when not given. */
export function nicknameFromUpn(upn: string): string {
  return upn.split('@')[0]!.replace(/[^A-Za-z0-9._-]/g, '').slice(0, 64) || 'agent';
}

/** A UPN must be on one of the tenant's verified domains; say which ones there are. */
async function checkVerifiedDomain(client: import('../graph/client.js').GraphClient, upn: string): Promise<void> {
  const { getOrganization } = await import('../graph/directory.js');
  // Reading the organization may be refused (no Organization.Read.All): then Graph decides.
  const org = await getOrganization(client).catch(() => undefined);
  const domains = (org?.verifiedDomains ?? []).map((d) => d.name).filter((d): d is string => !!d);
  const domain = upn.split('@')[1]?.toLowerCase() ?? '';
  if (domains.length && !domains.some((d) => d.toLowerCase() === domain)) {
    throw new UsageError(`--upn ${upn}: '${domain}' is not a verified domain of this tenant; use one of ${domains.join(', ')}.`);
  }
}

export function register(program: Command, ctx: CliContext): void {
  const group = helpSections(program.command('agent-user').description('Manage the agent users (user accounts) of agent identities'), [
    'agentid agent-user create --agent "Sales Agent EMEA" --upn sales-emea@contoso.onmicrosoft.com',
    'agentid agent-user list',
    'agentid agent-user disable sales-emea@contoso.onmicrosoft.com',
  ]);

  helpSections(
    group
      .command('create')
      .description('Create the agent user of an agent identity (one per agent)')
      .option('--agent <agent>', 'the parent agent identity: object id or exact name')
      .option('--upn <upn>', 'user principal name, on a verified domain')
      .option('--name <name>', 'display name (default: the agent\'s)')
      .option('--mail-nickname <alias>', 'mail alias (default: the UPN\'s local part)')
      .addOption(dryRunOption())
      .action(async (raw) => {
        raw.agent = await required(ctx, raw.agent, '--agent', 'Agent identity (id or name)');
        raw.upn = await required(ctx, raw.upn, '--upn', 'User principal name');
        const o = parseOptions(CreateSchema, raw);
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const agent = await resolveAgent(client, o.agent, ctx.chooser());
        // Conflicts Graph would answer with a bare 400, told as a tool would (issue 12 #5).
        const [existing] = await au.listAgentUsers(client, { agentId: agent.id, top: 1 });
        if (existing) throw new OperationError(`Agent '${agent.displayName}' already has agent user ${existing.userPrincipalName} (an agent has at most one); see it with 'agentid agent-user show ${existing.userPrincipalName}'.`);
        await checkVerifiedDomain(client, o.upn);
        const input = {
          identityParentId: agent.id,
          displayName: o.name ?? agent.displayName ?? o.upn,
          userPrincipalName: o.upn,
          mailNickname: o.mailNickname ?? nicknameFromUpn(o.upn),
        };
        if (o.dryRun) return printPlan(ctx, { action: 'create agent user', ...input });
        const user = await au.createAgentUser(client, input);
        (await ctx.messenger()).success(`Created agent user ${user.userPrincipalName} for agent '${agent.displayName}'.`);
        await ctx.print(user);
      }),
    ['agentid agent-user create --agent "Sales Agent EMEA" --upn sales-emea@contoso.onmicrosoft.com', 'agentid agent-user create --agent 7d2e… --upn bot7@contoso.onmicrosoft.com --name "Support bot 7"'],
    'AgentIdUser.ReadWrite.IdentityParentedBy',
  );

  helpSections(
    listFilterOptions(group
      .command('list')
      .description('List agent users')
      .option('--agent <agent>', "only this agent's user (object id or name)")
      .addOption(topOption()))
      .action(async (raw) => {
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const agentId = raw.agent ? (await resolveAgent(client, raw.agent, ctx.chooser())).id : undefined;
        await ctx.print(await au.listAgentUsers(client, { agentId, top: raw.top, filter: raw.filter, search: raw.search }), COLUMNS);
      }),
    ['agentid agent-user list', 'agentid agent-user list --agent "Sales Agent EMEA" -o json', 'agentid agent-user list --search sales --filter "accountEnabled eq false"'],
    'User.ReadBasic.All',
  );

  helpSections(
    group
      .command('show')
      .description('Show an agent user')
      .argument('<agent-user>', 'object id, UPN or exact display name')
      .action(async (ref: string) => {
        await ctx.checkOutputOptions();
        await ctx.print(await resolveAgentUser(await ctx.graph(), ref, ctx.chooser()));
      }),
    ['agentid agent-user show sales-emea@contoso.onmicrosoft.com'],
    'User.ReadBasic.All',
  );

  helpSections(
    group
      .command('update')
      .description("Change an agent user's display name or usage location")
      .argument('<agent-user>', 'object id, UPN or exact display name')
      .option('--name <name>', 'new display name')
      .option('--usage-location <cc>', 'two-letter country code (needed for licences)')
      .addOption(dryRunOption())
      .action(async (ref: string, raw) => {
        const o = parseOptions(UpdateSchema, raw);
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const u = await resolveAgentUser(client, ref, ctx.chooser());
        const patch = { ...(o.name ? { displayName: o.name } : {}), ...(o.usageLocation ? { usageLocation: o.usageLocation.toUpperCase() } : {}) };
        if (raw.dryRun) return printPlan(ctx, { action: 'update agent user', id: u.id, patch });
        await au.updateAgentUser(client, u.id, patch);
        (await ctx.messenger()).success(`Updated agent user ${u.userPrincipalName}.`);
        await ctx.print(await au.getAgentUser(client, u.id));
      }),
    ['agentid agent-user update sales-emea@contoso.onmicrosoft.com --usage-location GB'],
    'AgentIdUser.ReadWrite.IdentityParentedBy',
  );

  registerEnableDisable(group, ctx, {
    noun: 'agent user',
    argument: ['<agent-user>', 'object id, UPN or exact display name'],
    descriptions: { enable: 'Enable an agent user', disable: 'Disable an agent user (it can no longer sign in)' },
    resolve: resolveAgentUser,
    label: (u) => String(u.userPrincipalName),
    setEnabled: (client, id, accountEnabled) => au.updateAgentUser(client, id, { accountEnabled }),
    exampleRef: 'sales-emea@contoso.onmicrosoft.com',
    permission: 'User.EnableDisableAccount.All',
  });

  helpSections(
    group
      .command('delete')
      .description('Delete an agent user (soft delete: restorable for 30 days with agentid agent-user restore)')
      .argument('<agent-user>', 'object id, UPN or exact display name')
      .addOption(yesOption())
      .addOption(dryRunOption())
      .action(async (ref: string, raw) => {
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const u = await resolveAgentUser(client, ref, ctx.chooser());
        if (raw.dryRun) return printPlan(ctx, { action: 'delete agent user', id: u.id, userPrincipalName: u.userPrincipalName });
        await confirm(ctx, raw.yes, `Delete agent user ${u.userPrincipalName}?`);
        await au.deleteAgentUser(client, u.id);
        (await ctx.messenger()).success(`Deleted agent user ${u.userPrincipalName}.`);
        await ctx.print({ id: u.id, userPrincipalName: u.userPrincipalName, deleted: true });
      }),
    ['agentid agent-user delete sales-emea@contoso.onmicrosoft.com --yes'],
    'AgentIdUser.ReadWrite.IdentityParentedBy',
  );

  helpSections(
    group
      .command('restore')
      .description('Restore a deleted agent user from deleted items (within 30 days of its delete)')
      .argument('<agent-user>', 'deleted agent user: object id, UPN or exact display name (agentid deleted list --type agent-user)')
      .addOption(dryRunOption())
      .action(async (ref: string, raw) => {
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const { resolveDeleted, restoreDeleted } = await import('../graph/deletedItems.js');
        const item = await resolveDeleted(client, ['agentUser'], ref, ctx.chooser());
        if (raw.dryRun) return printPlan(ctx, { action: 'restore agent user', id: item.id, userPrincipalName: item.userPrincipalName });
        await restoreDeleted(client, item.id);
        (await ctx.messenger()).success(`Restored agent user ${item.userPrincipalName}.`);
        await ctx.print(await au.getAgentUser(client, item.id));
      }),
    ['agentid agent-user restore sales-emea@contoso.onmicrosoft.com', 'agentid agent-user restore 8d2e… -o json'],
    'AgentIdUser.ReadWrite.IdentityParentedBy (or User.DeleteRestore.All)',
  );
}
