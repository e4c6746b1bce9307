import type { Command } from 'commander';
import { z } from 'zod';
import type { CliContext } from '../context.js';
import { NotFoundError, UsageError } from '../errors.js';
import type { GraphClient } from '../graph/client.js';
import { listAgents } from '../graph/agents.js';
import * as ca from '../graph/conditionalAccess.js';
import { getRiskyAgent, listRiskyAgents } from '../graph/risk.js';
import { BLUEPRINT_ATTRIBUTE, agentAttributesUrl, attributeId, definitionPreview, getAgentAttributes, type AttributeValues } from '../graph/attributes.js';
import type { Blueprint } from '../graph/models.js';
import { GraphRequestError } from '../graph/errors.js';
import { resolveAgent, resolveAgentUser, resolveBlueprint } from '../graph/resolve.js';
import { collect, confirm, dryRunOption, helpSections, parseOptions, yesOption } from './shared.js';

// agentid ca: Conditional Access policies for agents (src/graph/conditionalAccess.ts says which
// pages this follows). New policies are report-only unless --state on is given and confirmed.

const COLUMNS = [
  { key: 'displayName', header: 'Name' },
  { key: 'id', header: 'Id' },
  { key: 'state', header: 'State' },
  { key: 'targets', header: 'Targets' },
  { key: 'grant', header: 'Grant' },
];

const VERDICT_COLUMNS = [
  { key: 'displayName', header: 'Policy' },
  { key: 'state', header: 'State' },
  { key: 'applies', header: 'Applies' },
  { key: 'result', header: 'Result' },
  { key: 'reason', header: 'Why' },
];

const STATE_OF: Record<string, ca.PolicyState> = { 'report-only': 'enabledForReportingButNotEnforced', on: 'enabled', off: 'disabled' };
const STATE = z.enum(['report-only', 'on', 'off'], { error: '--state must be report-only, on or off.' });
const RISK = z.array(z.enum(['low', 'medium', 'high'], { error: '--risk-level must be low, medium or high.' })).default([]);

export const CreateSchema = z
  .object({
    name: z.string({ error: '--name is required.' }).trim().min(1, '--name cannot be empty.').max(256, '--name is at most 256 characters.'),
    blueprint: z.array(z.string()).default([]),
    agent: z.array(z.string()).default([]),
    allAgents: z.boolean().optional(),
    agentUsers: z.boolean().optional(),
    excludeAgent: z.array(z.string()).default([]),
    block: z.boolean().optional(),
    grant: z.array(z.string()).default([]),
    riskLevel: RISK,
    state: STATE.default('report-only'),
    yes: z.boolean().optional(),
    dryRun: z.boolean().optional(),
  })
  .refine((o) => [o.blueprint.length > 0 || o.agent.length > 0, !!o.allAgents, !!o.agentUsers].filter(Boolean).length === 1, {
    message: 'Say whom the policy targets: --blueprint B, --agent A (repeatable, may be combined), --all-agents, or --agent-users.',
  })
  .refine((o) => !!o.block !== o.grant.length > 0, { message: 'Say what the policy does: --block, or --grant CONTROL (agent users only).' })
  .refine((o) => !o.grant.length || o.agentUsers, {
    message: 'Agent identities can only be blocked (no interactive remediation: an MFA grant does not apply to an agent); use --block.',
  })
  .refine((o) => o.grant.every((g) => g === 'compliantDevice'), { message: "--grant: agent users can only be granted with 'compliantDevice' (or use --block)." })
  .refine((o) => !o.excludeAgent.length || !o.agentUsers, { message: '--exclude-agent applies to agent identities, not to --agent-users.' });

export const UpdateSchema = z
  .object({
    state: STATE.optional(),
    addAgent: z.array(z.string()).default([]),
    removeAgent: z.array(z.string()).default([]),
    excludeAgent: z.array(z.string()).default([]),
    includeExcluded: z.array(z.string()).default([]),
    addBlueprint: z.array(z.string()).default([]),
    removeBlueprint: z.array(z.string()).default([]),
    yes: z.boolean().optional(),
    dryRun: z.boolean().optional(),
  })
  .refine((o) => o.state || o.addAgent.length || o.removeAgent.length || o.excludeAgent.length || o.includeExcluded.length || o.addBlueprint.length || o.removeBlueprint.length, {
    message: 'Nothing to update: pass --state, --add-agent, --remove-agent, --exclude-agent, --include-excluded, --add-blueprint or --remove-blueprint.',
  });

/**
 * The blueprint appIds of a rule `ca create --blueprint` wrote (attributeRule over
 * AgentId_Blueprint); undefined when the rule is anything else, which agentid leaves alone.
 */
export function blueprintsOfRule(rule: string | undefined): string[] | undefined {
  if (!rule) return [];
  const clauses = rule.split(/\s+-or\s+/i);
  const ids: string[] = [];
  for (const c of clauses) {
    const m = new RegExp(`^CustomSecurityAttribute\\.${attributeId(BLUEPRINT_ATTRIBUTE)}\\s+-eq\\s+"([^"\\\\]*)"$`, 'i').exec(c.trim());
    if (!m) return undefined;
    ids.push(m[1]!);
  }
  return ids;
}

export const ListSchema = z
  .object({ agent: z.string().optional(), blueprint: z.string().optional(), agentUser: z.string().optional(), all: z.boolean().optional() })
  .refine((o) => [o.agent, o.blueprint, o.agentUser].filter(Boolean).length <= 1, { message: 'Use one of --agent, --blueprint or --agent-user.' })
  .refine((o) => !(o.all && (o.agent || o.blueprint || o.agentUser)), { message: '--all lists every policy; it cannot be combined with a selector.' });

export const WhatIfSchema = z
  .object({ agent: z.string().optional(), agentUser: z.string().optional() })
  .refine((o) => !!o.agent !== !!o.agentUser, { message: 'Name the sign-in to evaluate: --agent A or --agent-user U.' });

function row(p: ca.CaPolicy): Record<string, unknown> {
  const c = p.conditions ?? {};
  const inc = c.clientApplications?.includeAgentIdServicePrincipals ?? [];
  const exc = c.clientApplications?.excludeAgentIdServicePrincipals ?? [];
  const targets: string[] = [];
  if (inc.includes('All')) targets.push('all agent identities');
  else if (inc.length) targets.push(`${inc.length} agent identit${inc.length === 1 ? 'y' : 'ies'}`);
  if (c.clientApplications?.agentIdServicePrincipalFilter?.rule) targets.push(`agents where ${c.clientApplications.agentIdServicePrincipalFilter.rule}`);
  if ((c.users?.includeUsers ?? []).includes('AllAgentIdUsers')) targets.push('all agent users');
  if ((c.applications?.includeApplications ?? []).includes('AllAgentIdResources')) targets.push('agent resources');
  if (exc.length) targets.push(`except ${exc.length}`);
  const risk = ca.riskLevelsOf(p);
  if (risk.length) targets.push(`risk ${risk.join('/')}`);
  return { ...p, targets: targets.join(', ') || 'no agents', grant: (p.grantControls?.builtInControls ?? []).join(', ') };
}

/** An unknown name is bad input here (exit 2), not a missing object (exit 3). */
async function asUsage<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof NotFoundError) throw new UsageError(`${err.message} Check the name (agentid blueprint list / agentid agent list).`);
    throw err;
  }
}

/** Names → agent identity ids. */
/** What --dry-run shows before a blueprint policy's own request: the definitions to create and the agents to tag. */
function taggingPreview(client: GraphClient, tag: { definitions: Parameters<typeof definitionPreview>[1]; agents: number } | undefined): { before?: Record<string, unknown> } {
  if (!tag) return {};
  return { before: { definitions: definitionPreview(client, tag.definitions), tag: { attribute: attributeId(BLUEPRINT_ATTRIBUTE), agents: tag.agents, through: 'agentid bulk set-attribute (journaled, undoable)' } } };
}

async function agentIds(ctx: CliContext, client: GraphClient, refs: string[]): Promise<string[]> {
  const ids: string[] = [];
  await asUsage(async () => {
    for (const r of refs) ids.push((await resolveAgent(client, r, ctx.chooser())).id);
  });
  return [...new Set(ids)];
}

/** Blueprints of `ca create --blueprint`, each with at least one agent (else the policy would include nobody). */
async function blueprintsWithAgents(ctx: CliContext, client: GraphClient, refs: string[]): Promise<Blueprint[]> {
  const out: Blueprint[] = [];
  await asUsage(async () => {
    for (const b of refs) {
      const bp = await resolveBlueprint(client, b, ctx.chooser());
      if (!(await listAgents(client, { blueprintAppId: bp.appId })).length) throw new UsageError(`Blueprint '${bp.displayName}' has no agent identities, so the policy would include nobody; create agents first or target --all-agents.`);
      if (!out.some((x) => x.id === bp.id)) out.push(bp);
    }
  });
  return out;
}

/** A policy that blocks every agent, enforced, with no way out, is refused before it is written. */
function lockOutCheck(body: Record<string, unknown>, state: ca.PolicyState): void {
  if (state !== 'enabled') return;
  const p = body as unknown as ca.CaPolicy;
  const c = p.conditions;
  const blocks = (p.grantControls?.builtInControls ?? []).includes('block');
  const allAgents = (c.clientApplications?.includeAgentIdServicePrincipals ?? []).includes('All') && !(c.clientApplications?.excludeAgentIdServicePrincipals ?? []).length;
  const allUsers = (c.users?.includeUsers ?? []).includes('AllAgentIdUsers') && !(c.users?.excludeUsers ?? []).length;
  if (blocks && (allAgents || allUsers) && !ca.riskLevelsOf(p).length) {
    throw new UsageError(`This policy would block every ${allAgents ? 'agent identity' : 'agent user'} with no exclusion. Add --exclude-agent A, narrow it with --risk-level high, or create it --state report-only first.`);
  }
}

async function riskOf(ctx: CliContext, client: GraphClient, id: string): Promise<string> {
  try {
    return (await getRiskyAgent(client, id))?.riskLevel ?? 'none';
  } catch (err) {
    if (err instanceof GraphRequestError && (err.status === 403 || err.status === 401)) {
      (await ctx.messenger()).warn('Agent risk could not be read (IdentityRiskyAgent.Read.All); evaluated as risk none.');
      return 'none';
    }
    throw err;
  }
}

/** The agent's custom security attributes, for policies that select agents by them; undefined when not readable. */
async function attributesOf(ctx: CliContext, client: GraphClient, id: string, needed: boolean): Promise<AttributeValues | undefined> {
  if (!needed) return {};
  try {
    return await getAgentAttributes(client, id);
  } catch (err) {
    if (err instanceof GraphRequestError && (err.status === 403 || err.status === 401)) {
      (await ctx.messenger()).warn("The agent's custom security attributes could not be read (CustomSecAttributeAssignment.Read.All, as an Attribute Assignment Reader); policies that select agents by them are evaluated as not matching.");
      return undefined;
    }
    throw err;
  }
}

/**
 * Every agent of a blueprint as a sign-in subject, in a few requests: the risky agents in one
 * list, the attributes (only when a policy selects by them) 20 agents to a $batch.
 */
async function blueprintSubjects(ctx: CliContext, client: GraphClient, ids: string[], filtered: boolean): Promise<ca.CaSubject[]> {
  const denied = (err: unknown) => err instanceof GraphRequestError && (err.status === 403 || err.status === 401);
  const m = await ctx.messenger();
  const risk = new Map<string, string>();
  try {
    for (const r of await listRiskyAgents(client)) risk.set(r.id.toLowerCase(), r.riskLevel);
  } catch (err) {
    if (!denied(err)) throw err;
    m.warn('Agent risk could not be read (IdentityRiskyAgent.Read.All); evaluated as risk none.');
  }
  let attrs: Map<string, unknown> | undefined = new Map();
  if (filtered && ids.length) {
    const { prepare } = await import('./bulk.js');
    const { readMany } = await import('../graph/bulk.js');
    try {
      attrs = await readMany(client, ids.map(agentAttributesUrl), { pacer: (await prepare(ctx)).pacer });
    } catch (err) {
      if (!denied(err)) throw err;
      m.warn("The agents' custom security attributes could not be read (CustomSecAttributeAssignment.Read.All, as an Attribute Assignment Reader); policies that select agents by them are evaluated as not matching.");
      attrs = undefined;
    }
  }
  return ids.map((id) => ({
    kind: 'agentIdentity' as const,
    id,
    riskLevel: risk.get(id.toLowerCase()) ?? 'none',
    attributes: attrs ? (((attrs.get(agentAttributesUrl(id)) as { customSecurityAttributes?: AttributeValues | null } | undefined)?.customSecurityAttributes ?? {}) as AttributeValues) : undefined,
  }));
}

const usesFilter = (policies: ca.CaPolicy[]) => policies.some((p) => !!p.conditions?.clientApplications?.agentIdServicePrincipalFilter?.rule);

async function subjectFor(ctx: CliContext, client: GraphClient, o: { agent?: string | undefined; agentUser?: string | undefined }, policies: ca.CaPolicy[]): Promise<{ subject: ca.CaSubject; name: string }> {
  if (o.agent) {
    const a = await resolveAgent(client, o.agent, ctx.chooser());
    return { subject: { kind: 'agentIdentity', id: a.id, riskLevel: await riskOf(ctx, client, a.id), attributes: await attributesOf(ctx, client, a.id, usesFilter(policies)) }, name: a.displayName ?? a.id };
  }
  const u = await resolveAgentUser(client, o.agentUser!, ctx.chooser());
  return { subject: { kind: 'agentUser', id: u.id, riskLevel: await riskOf(ctx, client, u.id) }, name: String(u.displayName) };
}

function verdictRow(v: ca.PolicyVerdict): Record<string, unknown> {
  return { id: v.policy.id, displayName: v.policy.displayName, state: v.policy.state, applies: v.matches, blocks: v.blocks, result: v.applied.result, reason: v.reasons.join('; '), reasons: v.reasons };
}

export function register(program: Command, ctx: CliContext): void {
  const group = helpSections(program.command('ca').description('Conditional Access policies for agents: list, explain, create, update, delete'), [
    'agentid ca list',
    'agentid ca create --name "Block Sales agents" --blueprint "Sales Agent" --block',
    'agentid ca what-if --agent "Sales Agent EMEA"',
  ]);

  helpSections(
    group
      .command('list')
      .description('List the policies that target agents, or those that would apply to one agent, blueprint or agent user and why')
      .option('--agent <agent>', 'only policies that would apply to this agent identity (id or name)')
      .option('--blueprint <blueprint>', 'only policies that would apply to an agent of this blueprint')
      .option('--agent-user <user>', 'only policies that would apply to this agent user (UPN, id or name)')
      .option('--all', 'every policy of the tenant, agent or not')
      .action(async (raw) => {
        const o = parseOptions(ListSchema, raw);
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const policies = await ca.listPolicies(client);
        if (o.all) return ctx.print(policies.map(row), COLUMNS);
        if (!o.agent && !o.blueprint && !o.agentUser) return ctx.print(policies.filter(ca.targetsAgents).map(row), COLUMNS);
        if (o.blueprint) {
          const bp = await resolveBlueprint(client, o.blueprint, ctx.chooser());
          const agents = await listAgents(client, { blueprintAppId: bp.appId });
          // Each agent as it stands (its risk, its attributes), so that the reason says which
          // condition matched and which agents of the blueprint a policy misses.
          const subjects = await blueprintSubjects(ctx, client, agents.map((a) => a.id), usesFilter(policies));
          const out = policies.map((p) => {
            const verdicts = subjects.map((sub) => ca.evaluate([p], sub).verdicts[0]!);
            const hits = verdicts.filter((v) => v.matches);
            const why = [...new Set(hits.map((v) => v.reasons.join('; ')))];
            const missed = verdicts.filter((v) => !v.matches);
            const reason = `${hits.length} of ${agents.length} agents of '${bp.displayName}': ${why.join(' | ')}${missed.length ? ` (${missed.length} not: ${missed[0]!.reasons.find((r) => !hits[0]?.reasons.includes(r)) ?? missed[0]!.reasons[0]})` : ''}`;
            return { ...row(p), applies: hits.length > 0, matched: hits.length, agents: agents.length, reason, reasons: why };
          });
          return ctx.print(out.filter((r) => r.applies), [...COLUMNS.slice(0, 3), { key: 'reason', header: 'Why' }]);
        }
        const { subject } = await subjectFor(ctx, client, o, policies);
        const verdicts = ca.evaluate(policies, subject).verdicts.filter((v) => v.matches);
        await ctx.print(verdicts.map(verdictRow), VERDICT_COLUMNS);
      }),
    ['agentid ca list', 'agentid ca list --agent "Sales Agent EMEA"', 'agentid ca list --blueprint "Sales Agent" -o json', 'agentid ca list --all'],
    'Policy.Read.All; with a selector also IdentityRiskyAgent.Read.All and, for policies that select agents by attribute, CustomSecAttributeAssignment.Read.All',
  );

  helpSections(
    group
      .command('show')
      .description('Show a policy as Graph returns it')
      .argument('<policy>', 'policy id or exact display name')
      .action(async (ref: string) => {
        await ctx.checkOutputOptions();
        await ctx.print(await ca.resolvePolicy(await ctx.graph(), ref));
      }),
    ['agentid ca show "Block Sales agents"', 'agentid ca show 7f0c… -o json'],
    'Policy.Read.All',
  );

  helpSections(
    group
      .command('create')
      .description('Create a Conditional Access policy for agents (report-only unless --state on)')
      .option('--name <name>', 'display name of the policy')
      .option('--blueprint <blueprint>', "every agent identity of this blueprint (repeatable): tagged with the custom security attribute AgentId.Blueprint, which the policy selects by (agentIdServicePrincipalFilter)", collect)
      .option('--agent <agent>', 'this agent identity (repeatable)', collect)
      .option('--all-agents', 'every agent identity (includeAgentIdServicePrincipals ["All"])')
      .option('--agent-users', 'every agent user (includeUsers ["AllAgentIdUsers"])')
      .option('--exclude-agent <agent>', 'leave this agent identity out (repeatable)', collect)
      .option('--block', 'block access (the only control for agent identities)')
      .option('--grant <control>', 'grant control for agent users: compliantDevice', collect)
      .option('--risk-level <level>', 'only when the agent risk is this level: low, medium, high (repeatable)', collect)
      .option('--state <state>', 'report-only (default), on, off')
      .addOption(yesOption())
      .addOption(dryRunOption())
      .action(async (raw) => {
        const o = parseOptions(CreateSchema, raw);
        await ctx.checkOutputOptions();
        const state = STATE_OF[o.state]!;
        const client = await ctx.graph();
        const include = o.allAgents ? ['All'] : o.agentUsers ? [] : await agentIds(ctx, client, o.agent);
        // "Every agent of a blueprint" the way the docs scale it (ED agent-id.md "Attribute-driven
        // Conditional Access"): each agent carries AgentId.Blueprint = its blueprint's appId and
        // the policy selects by that attribute, so agents tagged later are covered without
        // touching the policy (agentid bulk set-attribute --blueprint B tags new ones).
        const blueprints = await blueprintsWithAgents(ctx, client, o.blueprint);
        const agentFilter = blueprints.length ? { mode: 'include' as const, rule: ca.attributeRule(attributeId(BLUEPRINT_ATTRIBUTE), blueprints.map((b) => b.appId)) } : undefined;
        const exclude = await agentIds(ctx, client, o.excludeAgent);
        if (!o.agentUsers && !include.length && !agentFilter) throw new UsageError('The include list is empty: name at least one agent or blueprint.');
        const body = ca.agentPolicyBody({ displayName: o.name, state, includeAgents: include, excludeAgents: exclude, agentUsers: !!o.agentUsers, riskLevels: o.riskLevel, grant: o.block ? ['block'] : o.grant, agentFilter });
        lockOutCheck(body, state);
        const request = ca.policyRequest(client, 'POST', undefined, body);
        const { prepare, scopes, tagAgents } = await import('./bulk.js');
        const { pacer } = await prepare(ctx);
        const scoped = blueprints.length ? await scopes(ctx, client, blueprints.map((b) => b.id)) : [];
        if (o.dryRun) {
          const tag = scoped.length ? await tagAgents(ctx, { client, pacer, scopes: scoped, o: { dryRun: true }, print: false }) : undefined;
          await ctx.print({ dryRun: true, ...request, ...taggingPreview(client, tag) });
          return (await ctx.messenger()).info('Dry run: nothing was changed.');
        }
        if (state === 'enabled') await confirm(ctx, o.yes, `Create '${o.name}' enforced (--state on)? Matching agents will be refused tokens at once.`);
        const m = await ctx.messenger();
        const tagged = scoped.length ? await tagAgents(ctx, { client, pacer, scopes: scoped, o: { yes: true }, print: false }) : undefined;
        let policy: ca.CaPolicy;
        try {
          policy = await ca.createPolicy(client, body);
        } catch (err) {
          if (tagged?.journal) m.warn(`The policy was not created; the agents stay tagged with ${attributeId(BLUEPRINT_ATTRIBUTE)} (undo with agentid bulk undo ${tagged.journal}).`);
          throw err;
        }
        m.success(`Created policy '${policy.displayName}' (${policy.id}), state ${policy.state}.`);
        await ctx.print(policy);
      }),
    [
      'agentid ca create --name "Block Sales agents" --blueprint "Sales Agent" --block',
      'agentid ca create --name "Block risky agents" --all-agents --risk-level high --block --state on --yes',
      'agentid ca create --name "Agent users on compliant devices" --agent-users --grant compliantDevice --dry-run',
    ],
    'Policy.ReadWrite.ConditionalAccess (delegated: as a Conditional Access Administrator); --blueprint also CustomSecAttributeAssignment.ReadWrite.All (as an Attribute Assignment Administrator) and, the first time, CustomSecAttributeDefinition.ReadWrite.All (as an Attribute Definition Administrator)',
  );

  helpSections(
    group
      .command('update')
      .description("Change a policy's state or its agents")
      .argument('<policy>', 'policy id or exact display name')
      .option('--state <state>', 'report-only, on, off')
      .option('--add-agent <agent>', 'include this agent identity too (repeatable)', collect)
      .option('--remove-agent <agent>', 'stop including this agent identity (repeatable)', collect)
      .option('--exclude-agent <agent>', 'exclude this agent identity (repeatable)', collect)
      .option('--include-excluded <agent>', 'stop excluding this agent identity (repeatable)', collect)
      .option('--add-blueprint <blueprint>', "include every agent of this blueprint too: tags them with AgentId.Blueprint and extends the policy's attribute rule (repeatable)", collect)
      .option('--remove-blueprint <blueprint>', "stop including this blueprint's agents (its term leaves the attribute rule; the tags stay) (repeatable)", collect)
      .addOption(yesOption())
      .addOption(dryRunOption())
      .action(async (ref: string, raw) => {
        const o = parseOptions(UpdateSchema, raw);
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const p = await ca.resolvePolicy(client, ref);
        const patch: Record<string, unknown> = {};
        const state = o.state ? STATE_OF[o.state]! : p.state;
        if (o.state) patch.state = state;
        if (o.addAgent.length || o.removeAgent.length || o.excludeAgent.length || o.includeExcluded.length) {
          const [add, remove, exclude, unexclude] = await Promise.all([o.addAgent, o.removeAgent, o.excludeAgent, o.includeExcluded].map((l) => agentIds(ctx, client, l)));
          const apps = { ...(p.conditions.clientApplications ?? {}) };
          const inc = new Set(apps.includeAgentIdServicePrincipals ?? []);
          const exc = new Set(apps.excludeAgentIdServicePrincipals ?? []);
          for (const id of add!) inc.add(id);
          for (const id of remove!) inc.delete(id);
          for (const id of exclude!) exc.add(id);
          for (const id of unexclude!) exc.delete(id);
          if (!inc.size && apps.agentIdServicePrincipalFilter?.mode !== 'include') throw new UsageError('The include list would be empty: a policy must include at least one agent (delete the policy instead).');
          apps.includeAgentIdServicePrincipals = [...inc];
          apps.excludeAgentIdServicePrincipals = [...exc];
          patch.conditions = { ...p.conditions, clientApplications: apps };
        }
        // Blueprints: the terms of the attribute rule `ca create --blueprint` wrote.
        let added: Blueprint[] = [];
        if (o.addBlueprint.length || o.removeBlueprint.length) {
          const conditions = (patch.conditions as ca.CaPolicy['conditions'] | undefined) ?? p.conditions;
          const apps = { ...(conditions.clientApplications ?? {}) };
          const filter = apps.agentIdServicePrincipalFilter;
          const current = filter?.mode === 'exclude' ? undefined : blueprintsOfRule(filter?.rule);
          if (!current) throw new UsageError(`Policy '${p.displayName}' selects agents by a rule agentid did not write (${filter?.rule}); change it in the Entra admin center, or use --add-agent / --remove-agent.`);
          added = await blueprintsWithAgents(ctx, client, o.addBlueprint);
          const removed = await asUsage(async () => {
            const out: string[] = [];
            for (const b of o.removeBlueprint) out.push((await resolveBlueprint(client, b, ctx.chooser())).appId.toLowerCase());
            return out;
          });
          const appIds = [...new Set([...current, ...added.map((b) => b.appId)].map((x) => x.toLowerCase()))].filter((x) => !removed.includes(x));
          if (!appIds.length && !(apps.includeAgentIdServicePrincipals ?? []).length) throw new UsageError('The include list would be empty: a policy must include at least one agent (delete the policy instead).');
          apps.agentIdServicePrincipalFilter = appIds.length ? { mode: 'include', rule: ca.attributeRule(attributeId(BLUEPRINT_ATTRIBUTE), appIds) } : null;
          patch.conditions = { ...conditions, clientApplications: apps };
        }
        lockOutCheck({ ...p, ...patch }, state);
        const { prepare, scopes, tagAgents } = await import('./bulk.js');
        const pacer = added.length ? (await prepare(ctx)).pacer : undefined;
        const scoped = added.length ? await scopes(ctx, client, added.map((b) => b.id)) : [];
        if (o.dryRun) {
          const tag = scoped.length ? await tagAgents(ctx, { client, pacer: pacer!, scopes: scoped, o: { dryRun: true }, print: false }) : undefined;
          await ctx.print({ dryRun: true, ...ca.policyRequest(client, 'PATCH', p.id, patch), ...taggingPreview(client, tag) });
          return (await ctx.messenger()).info('Dry run: nothing was changed.');
        }
        if (o.state === 'on' && p.state !== 'enabled') await confirm(ctx, o.yes, `Enforce '${p.displayName}' (--state on)? Matching agents will be refused tokens at once.`);
        else if (added.length && (o.state ?? (p.state === 'enabled' ? 'on' : '')) === 'on') await confirm(ctx, o.yes, `'${p.displayName}' is enforced: the agents of ${added.map((b) => `'${b.displayName}'`).join(', ')} will be refused tokens at once. Proceed?`);
        if (scoped.length) await tagAgents(ctx, { client, pacer: pacer!, scopes: scoped, o: { yes: true }, print: false });
        await ca.updatePolicy(client, p.id, patch);
        (await ctx.messenger()).success(`Updated policy '${p.displayName}'.`);
        await ctx.print(await ca.getPolicy(client, p.id));
      }),
    ['agentid ca update "Block Sales agents" --state on --yes', 'agentid ca update "Block Sales agents" --exclude-agent "Sales Agent EMEA" --dry-run', 'agentid ca update "Block Sales agents" --add-blueprint "Support Agent" --yes'],
    'Policy.ReadWrite.ConditionalAccess; --add-blueprint also CustomSecAttributeAssignment.ReadWrite.All (as an Attribute Assignment Administrator)',
  );

  helpSections(
    group
      .command('delete')
      .description('Delete a policy')
      .argument('<policy>', 'policy id or exact display name')
      .addOption(yesOption())
      .addOption(dryRunOption())
      .action(async (ref: string, raw) => {
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const p = await ca.resolvePolicy(client, ref);
        if (raw.dryRun) {
          await ctx.print({ dryRun: true, ...ca.policyRequest(client, 'DELETE', p.id) });
          return (await ctx.messenger()).info('Dry run: nothing was changed.');
        }
        await confirm(ctx, raw.yes, `Delete Conditional Access policy '${p.displayName}' (${p.id})?`);
        await ca.deletePolicy(client, p.id);
        (await ctx.messenger()).success(`Deleted policy '${p.displayName}'.`);
        await ctx.print({ id: p.id, displayName: p.displayName, deleted: true });
      }),
    ['agentid ca delete "Block Sales agents" --dry-run', 'agentid ca delete 7f0c… --yes'],
    'Policy.ReadWrite.ConditionalAccess',
  );

  helpSections(
    group
      .command('what-if')
      .description('The policies that would apply to a sign-in of this agent now, and why each does or does not')
      .option('--agent <agent>', 'agent identity (id or name)')
      .option('--agent-user <user>', 'agent user (UPN, id or name)')
      .action(async (raw) => {
        const o = parseOptions(WhatIfSchema, raw);
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const policies = await ca.listPolicies(client);
        const { subject, name } = await subjectFor(ctx, client, o, policies);
        const result = ca.evaluate(policies, subject);
        const m = await ctx.messenger();
        if (result.blockedBy.length) m.warn(`A token request of '${name}' would be refused (AADSTS53003) by: ${result.blockedBy.map((p) => p.displayName).join(', ')}.`);
        else m.info(`A token request of '${name}' would be granted (conditionalAccessStatus ${result.status}).`);
        await ctx.print(result.verdicts.map(verdictRow), VERDICT_COLUMNS);
      }),
    ['agentid ca what-if --agent "Sales Agent EMEA"', 'agentid ca what-if --agent-user sales-emea@contoso.onmicrosoft.com -o json'],
    'Policy.Read.All (and IdentityRiskyAgent.Read.All for the agent risk, CustomSecAttributeAssignment.Read.All for policies that select agents by attribute)',
  );
}
