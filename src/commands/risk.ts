import type { Command } from 'commander';
import { z } from 'zod';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import type { GraphClient } from '../graph/client.js';
import { odataString } from '../graph/paths.js';
import { resolveAgent, resolveAgentUser, resolveBlueprint } from '../graph/resolve.js';
import * as risk from '../graph/risk.js';
import { confirm, dryRunOption, helpSections, parseOptions, yesOption } from './shared.js';

// agentid risk: ID Protection for agents (src/graph/risk.ts names the pages).

const COLUMNS = [
  { key: 'agentDisplayName', header: 'Agent' },
  { key: 'id', header: 'Id' },
  { key: 'identityType', header: 'Kind' },
  { key: 'riskLevel', header: 'Risk' },
  { key: 'riskState', header: 'State' },
  { key: 'riskDetail', header: 'Detail' },
  { key: 'riskLastModifiedDateTime', header: 'Updated' },
];

const DETECTION_COLUMNS = [
  { key: 'displayName', header: 'Agent' },
  { key: 'riskEventType', header: 'Detection' },
  { key: 'riskLevel', header: 'Risk' },
  { key: 'riskState', header: 'State' },
  { key: 'detectedDateTime', header: 'Detected' },
];

export const ListSchema = z.object({
  level: z.enum(['low', 'medium', 'high', 'none'], { error: '--level must be low, medium, high or none.' }).optional(),
  blueprint: z.string().optional(),
});

export const DetectionsSchema = z.object({
  agent: z.string().optional(),
  since: z
    .string()
    .regex(/^\d+[dhm]$/, '--since takes a span such as 7d, 12h or 30m.')
    .optional(),
});

export const ActionSchema = z.object({ agents: z.array(z.string()).min(1, 'Name at least one agent (id, name or agent user UPN).'), yes: z.boolean().optional(), dryRun: z.boolean().optional() });

function since(span: string, now: Date): string {
  const n = Number(span.slice(0, -1));
  const unit = span.slice(-1) === 'd' ? 86_400_000 : span.slice(-1) === 'h' ? 3_600_000 : 60_000;
  return new Date(now.getTime() - n * unit).toISOString();
}

/** An agent identity or an agent user (a UPN) → its object id, which is its risky agent id. */
async function agentId(ctx: CliContext, client: GraphClient, ref: string): Promise<{ id: string; name: string }> {
  if (ref.includes('@')) {
    const u = await resolveAgentUser(client, ref, ctx.chooser());
    return { id: u.id, name: String(u.displayName) };
  }
  const a = await resolveAgent(client, ref, ctx.chooser());
  return { id: a.id, name: a.displayName ?? a.id };
}

const ACTIONS: { name: string; action: risk.RiskAction; description: string; verb: string; example: string }[] = [
  { name: 'confirm-compromised', action: 'confirmCompromised', description: 'Confirm agents compromised: their risk level becomes high (a risk policy then blocks them)', verb: 'Confirm compromised', example: 'agentid risk confirm-compromised "Sales Agent EMEA" --yes' },
  { name: 'confirm-safe', action: 'confirmSafe', description: 'Confirm agents safe: their risk is cleared', verb: 'Confirm safe', example: 'agentid risk confirm-safe "Sales Agent EMEA" --yes' },
  { name: 'dismiss', action: 'dismiss', description: "Dismiss agents' risk", verb: 'Dismiss the risk of', example: 'agentid risk dismiss "Sales Agent EMEA" "Support bot 7" --yes' },
];

export function register(program: Command, ctx: CliContext): void {
  const group = helpSections(program.command('risk').description('ID Protection for agents: risky agents, detections, confirm or dismiss'), [
    'agentid risk list --level high',
    'agentid risk detections --since 7d',
    'agentid risk confirm-compromised "Sales Agent EMEA" --yes',
  ]);

  helpSections(
    group
      .command('list')
      .description('List risky agents')
      .option('--level <level>', 'only this risk level: low, medium, high, none')
      .option('--blueprint <blueprint>', 'only agents of this blueprint')
      .action(async (raw) => {
        const o = parseOptions(ListSchema, raw);
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const bp = o.blueprint ? await resolveBlueprint(client, o.blueprint, ctx.chooser()) : undefined;
        const filter = o.level ? `riskLevel eq ${odataString(o.level)}` : undefined;
        // blueprintId's filterability is not documented: filtered here.
        const rows = (await risk.listRiskyAgents(client, filter ? { filter } : {})).filter((r) => !bp || (r.blueprintId ?? '').toLowerCase() === bp.appId.toLowerCase());
        await ctx.print(rows, COLUMNS);
      }),
    ['agentid risk list', 'agentid risk list --level high', 'agentid risk list --blueprint "Sales Agent" -o json'],
    'IdentityRiskyAgent.Read.All',
  );

  helpSections(
    group
      .command('show')
      .description("Show an agent's risk")
      .argument('<agent>', 'agent identity id or name, or agent user UPN')
      .action(async (ref: string) => {
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const a = await agentId(ctx, client, ref);
        await ctx.print(await risk.requireRiskyAgent(client, a.id, a.name));
      }),
    ['agentid risk show "Sales Agent EMEA"', 'agentid risk show sales-emea@contoso.onmicrosoft.com -o json'],
    'IdentityRiskyAgent.Read.All',
  );

  helpSections(
    group
      .command('detections')
      .description('List agent risk detections, newest first')
      .option('--agent <agent>', 'only detections of this agent (id or name, or agent user UPN)')
      .option('--since <span>', 'only detections this recent: 7d, 12h, 30m')
      .action(async (raw) => {
        const o = parseOptions(DetectionsSchema, raw);
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const clauses: string[] = [];
        if (o.agent) clauses.push(`identityId eq ${odataString((await agentId(ctx, client, o.agent)).id)}`);
        if (o.since) clauses.push(`detectedDateTime ge ${since(o.since, new Date())}`);
        await ctx.print(await risk.listDetections(client, clauses.length ? { filter: clauses.join(' and ') } : {}), DETECTION_COLUMNS);
      }),
    ['agentid risk detections', 'agentid risk detections --agent "Sales Agent EMEA" --since 7d -o json'],
    'IdentityRiskEvent.Read.All',
  );

  for (const a of ACTIONS) {
    helpSections(
      group
        .command(a.name)
        .description(a.description)
        .argument('<agents...>', 'agent identity ids or names, or agent user UPNs')
        .addOption(yesOption())
        .addOption(dryRunOption())
        .action(async (refs: string[], raw) => {
          const o = parseOptions(ActionSchema, { ...raw, agents: refs });
          await ctx.checkOutputOptions();
          const client = await ctx.graph();
          const targets: { id: string; name: string }[] = [];
          for (const r of o.agents) targets.push(await agentId(ctx, client, r));
          const ids = [...new Set(targets.map((t) => t.id))];
          const body = { agentIds: ids };
          if (o.dryRun) {
            await ctx.print({ dryRun: true, calls: risk.riskActionRequests(client, a.action, ids) });
            return (await ctx.messenger()).info('Dry run: nothing was changed.');
          }
          if (!body.agentIds.length) throw new UsageError('Name at least one agent.');
          await confirm(ctx, o.yes, `${a.verb} ${ids.length === 1 ? `'${targets[0]!.name}'` : `${ids.length} agents`}?`);
          await risk.riskAction(client, a.action, ids);
          (await ctx.messenger()).success(`${a.verb} ${ids.length} agent${ids.length === 1 ? '' : 's'}.`);
          await ctx.print(targets.map((t) => ({ id: t.id, displayName: t.name, action: a.action })));
        }),
      [a.example, `agentid risk ${a.name} 5b1c… 7d2e… --dry-run`],
      'IdentityRiskyAgent.ReadWrite.All',
    );
  }
}
