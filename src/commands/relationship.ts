import { Option, type Command } from 'commander';
import { z } from 'zod';
import type { CliContext } from '../context.js';
import { NotFoundError } from '../errors.js';
import { addRelationship, listRelationship, removeRelationship, resolveGroup, resolveUser, type Relationship, type RelationshipTarget } from '../graph/directory.js';
import { resolveAgent, resolveAgentUser, resolveBlueprint } from '../graph/resolve.js';
import { explainAppOnly, requireAppPermission } from './appOnly.js';
import { confirm, dryRunOption, helpSections, parseOptions, printPlan, yesOption } from './shared.js';

// `agentid sponsor …` and `agentid owner …` are the same three verbs over the same targets;
// Graph's own rules (users or groups only, at least one sponsor remains, no owners on users)
// are enforced by Graph and reported with its error code.

const targetFields = {
  blueprint: z.string().optional(),
  agent: z.string().optional(),
  agentUser: z.string().optional(),
};
const exactlyOneTarget = (o: { blueprint?: string | undefined; agent?: string | undefined; agentUser?: string | undefined }) =>
  [o.blueprint, o.agent, o.agentUser].filter((v) => v !== undefined).length === 1;

export const TargetSchema = z.object(targetFields).refine(exactlyOneTarget, { message: 'Give exactly one of --blueprint, --agent or --agent-user.' });

export const MemberSchema = z
  .object({ ...targetFields, user: z.string().optional(), group: z.string().optional(), dryRun: z.boolean().optional(), yes: z.boolean().optional() })
  .refine(exactlyOneTarget, { message: 'Give exactly one of --blueprint, --agent or --agent-user.' })
  .refine((o) => (o.user === undefined) !== (o.group === undefined), { message: 'Give exactly one of --user (UPN, object id or "me") or --group (object id or name).' });

export const OwnerMemberSchema = MemberSchema.refine((o) => o.group === undefined, { message: 'Owners must be users, not groups: give --user (UPN, object id or "me").' });

async function resolveTarget(ctx: CliContext, o: z.infer<typeof TargetSchema>): Promise<{ target: RelationshipTarget; label: string }> {
  const client = await ctx.graph();
  if (o.blueprint) {
    const b = await resolveBlueprint(client, o.blueprint, ctx.chooser());
    return { target: { kind: 'blueprint', id: b.id }, label: `blueprint '${b.displayName}'` };
  }
  if (o.agent) {
    const a = await resolveAgent(client, o.agent, ctx.chooser());
    return { target: { kind: 'agent', id: a.id }, label: `agent '${a.displayName}'` };
  }
  const u = await resolveAgentUser(client, o.agentUser!, ctx.chooser());
  return { target: { kind: 'agentUser', id: u.id }, label: `agent user ${u.userPrincipalName}` };
}

export function registerRelationship(program: Command, ctx: CliContext, rel: Relationship): void {
  const noun = rel === 'sponsors' ? 'sponsor' : 'owner';
  const what =
    rel === 'sponsors'
      ? 'Sponsors are the people or groups accountable for an agent (users, Microsoft 365 or dynamic groups; at least one must remain).'
      : 'Owners may manage an object without an Agent ID role (users; agent users have no owners).';
  const group = helpSections(program.command(noun).description(`List, add and remove the ${rel} of blueprints, agents${rel === 'sponsors' ? ' and agent users' : ''}. ${what}`), [
    `agentid ${noun} list --agent "Sales Agent EMEA"`,
    `agentid ${noun} add --blueprint "Sales Agent" --user adelev@contoso.onmicrosoft.com`,
    `agentid ${noun} remove --agent "Sales Agent EMEA" --user adelev@contoso.onmicrosoft.com --yes`,
  ]);
  const targetOptions = (c: Command) => {
    c.option('--blueprint <blueprint>', 'a blueprint (object id, appId or name)').option('--agent <agent>', 'an agent identity (object id or name)');
    if (rel === 'sponsors') c.option('--agent-user <agent-user>', 'an agent user (object id, UPN or name)');
    return c;
  };
  // Reads name read permissions (GD beta includes/permissions/*-list-{sponsors,owners}-permissions.md).
  // [DOC-CONFLICT] agentidentity-list-sponsors gives only AgentIdentity.ReadWrite.All, app-only; the
  // blueprint's page says "Not yet available" and agent users' page is missing: those two are [INFERRED].
  const listPermission =
    rel === 'sponsors'
      ? 'AgentIdentity.ReadWrite.All, app-only (agents; the only one Graph documents), AgentIdentityBlueprint.Read.All (blueprints), User.Read.All (agent users)'
      : 'Application.Read.All (agents), AgentIdentityBlueprint.Read.All (blueprints)';
  const permission = rel === 'sponsors' ? 'AgentIdentity.ReadWrite.All, app-only (agents), AgentIdentityBlueprint.ReadWrite.All (blueprints), AgentIdUser.ReadWrite.IdentityParentedBy (agent users)' : 'AgentIdentity.ReadWrite.All (agents), AgentIdentityBlueprint.ReadWrite.All (blueprints)';

  helpSections(
    targetOptions(group.command('list').description(`List the ${rel} of an object`)).action(async (raw) => {
      const o = parseOptions(TargetSchema, raw);
      await ctx.checkOutputOptions();
      const { target } = await resolveTarget(ctx, o);
      const members = await listRelationship(await ctx.graph(), target, rel);
      await ctx.print(members, [
        { key: 'displayName', header: 'Name' },
        { key: 'id', header: 'Object id' },
        { key: '@odata.type', header: 'Type', get: (r) => String(r['@odata.type'] ?? '').replace('#microsoft.graph.', '') },
        { key: 'userPrincipalName', header: 'UPN' },
      ]);
    }),
    [`agentid ${noun} list --blueprint "Sales Agent"`, `agentid ${noun} list --agent "Sales Agent EMEA" -o json`],
    listPermission,
  );

  for (const verb of ['add', 'remove'] as const) {
    const cmd = targetOptions(group.command(verb).description(`${verb === 'add' ? 'Add' : 'Remove'} ${noun === 'owner' ? 'an' : 'a'} ${noun}`))
      .option('--user <user>', 'a user: UPN, object id or "me"')
      // Owners must be users: --group is not offered for them, only kept (hidden) to say so.
      .addOption(rel === 'sponsors' ? new Option('--group <group>', 'a group: object id or display name (Microsoft 365 or dynamic)') : new Option('--group <group>').hideHelp())
      .addOption(dryRunOption());
    if (verb === 'remove') cmd.addOption(yesOption());
    helpSections(
      cmd.action(async (raw) => {
        const o = parseOptions(rel === 'owners' && raw.group !== undefined ? OwnerMemberSchema : MemberSchema, raw);
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const { target, label } = await resolveTarget(ctx, o);
        const who = o.user ? await resolveUser(client, o.user) : await resolveGroup(client, o.group!);
        const whoLabel = `${who.displayName ?? who.id}`;
        // Agent identity sponsors are app-only in Graph; a dry run checks that as the real call would.
        const appOnly = rel === 'sponsors' && target.kind === 'agent' ? `${verb === 'add' ? 'Adding' : 'Removing'} a sponsor of an agent identity` : undefined;
        if (appOnly) await requireAppPermission(ctx, appOnly, ['AgentIdentity.ReadWrite.All']);
        // Adding one already there is a no-op; removing one not there names it (issue 12 #5).
        const present = (await listRelationship(client, target, rel)).some((m) => m.id.toLowerCase() === who.id.toLowerCase());
        if (verb === 'add' && present) {
          (await ctx.messenger()).info(`${whoLabel} is already ${noun === 'owner' ? 'an' : 'a'} ${noun} of ${label}; nothing changed.`);
          return ctx.print({ target, [noun]: who, action: 'none', reason: `already ${noun === 'owner' ? 'an' : 'a'} ${noun}` });
        }
        if (verb === 'remove' && !present) throw new NotFoundError(`${whoLabel} is not ${noun === 'owner' ? 'an' : 'a'} ${noun} of ${label}; '${`agentid ${noun} list`} --${target.kind === 'agentUser' ? 'agent-user' : target.kind} ${target.id}' lists them.`);
        if (o.dryRun) return printPlan(ctx, { action: `${verb} ${noun}`, target, member: who });
        const guarded = <T>(call: () => Promise<T>) => (appOnly ? explainAppOnly(ctx, appOnly, call) : call());
        if (verb === 'add') await guarded(() => addRelationship(client, target, rel, who));
        else {
          await confirm(ctx, o.yes, `Remove ${noun} ${whoLabel} from ${label}?`);
          await guarded(() => removeRelationship(client, target, rel, who.id));
        }
        (await ctx.messenger()).success(`${verb === 'add' ? 'Added' : 'Removed'} ${noun} ${whoLabel} ${verb === 'add' ? 'to' : 'from'} ${label}.`);
        await ctx.print({ target, [noun]: who, action: verb === 'add' ? 'added' : 'removed' });
      }),
      verb === 'add'
        ? [`agentid ${noun} add --blueprint "Sales Agent" --user adelev@contoso.onmicrosoft.com`, ...(rel === 'sponsors' ? [`agentid sponsor add --agent "Sales Agent EMEA" --group "AI Platform Team"`] : [])]
        : [`agentid ${noun} remove --agent "Sales Agent EMEA" --user adelev@contoso.onmicrosoft.com --yes`],
      permission,
    );
  }
}
