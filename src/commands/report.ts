import type { Command } from 'commander';
import { Option } from 'commander';
import { z } from 'zod';
import type { CliContext } from '../context.js';
import { OperationError } from '../errors.js';
import { collect, helpSections, parseOptions, positiveInt } from './shared.js';

// agentid report: governance findings over the tenant (issue #14). The rules live in
// src/graph/governance/rules.ts, the reads in collect.ts, the verdicts in evaluate.ts; the HTML
// page is rendered by src/output/reportHtml.ts. This file validates, calls and renders.

export const FINDING_COLUMNS = [
  { key: 'severity', header: 'Severity' },
  { key: 'rule', header: 'Rule' },
  { key: 'objectType', header: 'Type' },
  { key: 'object', header: 'Object' },
  { key: 'blueprint', header: 'Blueprint' },
  // Issue #14: every finding says why; for the table and CSV too, not only in -o json.
  { key: 'why', header: 'Why' },
  { key: 'fix', header: 'Fix' },
];

const RULE_COLUMNS = [
  { key: 'id', header: 'Rule' },
  { key: 'severity', header: 'Severity' },
  { key: 'title', header: 'Title' },
  { key: 'fix', header: 'Fix' },
];

export const ReportSchema = z.object({
  blueprint: z.array(z.string().min(1)).optional(),
  staleDays: z.number().int().min(1).max(365).default(30),
  expiringDays: z.number().int().min(1).max(3650).default(30),
  failOn: z.enum(['info', 'low', 'medium', 'high']).optional(),
  html: z.string().min(1).optional(),
  rules: z.boolean().optional(),
  concurrency: z.number().int().min(1).max(32).optional(),
});

export function register(program: Command, ctx: CliContext): void {
  helpSections(
    program
      .command('report')
      .description('Find orphaned, stale, over-privileged and drifting agents, and credentials that expire: one pass of pages and $batch reads')
      .option('--blueprint <blueprint>', 'only this blueprint and its agents (repeatable): object id, appId or name', collect)
      .option('--stale-days <n>', 'an agent without a successful sign-in for this many days is stale (default 30)', positiveInt('--stale-days'))
      .option('--expiring-days <n>', 'a secret or certificate expiring within this many days is reported (default 30)', positiveInt('--expiring-days'))
      .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding of this severity or above is found (for CI gates)').choices(['info', 'low', 'medium', 'high']))
      .option('--html <file>', 'also write a self-contained HTML page (summary, filterable findings, charts)')
      .option('--rules', 'list the rules and exit')
      .option('--concurrency <n>', '$batch requests in flight at once (default 8)', positiveInt('--concurrency'))
      .action(async (raw) => report(ctx, raw)),
    [
      'agentid report',
      'agentid report --blueprint "Sales Agent" --stale-days 14 -o json',
      'agentid report --fail-on high -o none',
      'agentid report --html governance.html',
      'agentid report --rules',
    ],
    'Application.Read.All, AuditLog.Read.All, RoleManagement.Read.Directory (GroupMember.Read.All to check sponsor groups)',
  );
}

async function report(ctx: CliContext, raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(ReportSchema, raw);
  await ctx.checkOutputOptions();
  const { RULES, severityRank } = await import('../graph/governance/rules.js');
  if (o.rules) {
    await ctx.print(RULES, RULE_COLUMNS);
    return;
  }
  const client = await ctx.graph();
  const { Pacer, timeScaleFromEnv } = await import('../graph/pacer.js');
  const pacer = new Pacer({ timeScale: timeScaleFromEnv(ctx.env) });
  let appIds: string[] | undefined;
  if (o.blueprint?.length) {
    const { resolveBlueprint } = await import('../graph/resolve.js');
    appIds = [];
    for (const b of o.blueprint) appIds.push((await resolveBlueprint(client, b, ctx.chooser())).appId);
  }
  const { getOrganization } = await import('../graph/directory.js');
  const org = await getOrganization(client).catch(() => undefined);
  const { runReport } = await import('../graph/governance/report.js');
  const m = await ctx.messenger();
  const { result } = await runReport(client, org?.displayName ?? client.baseUrl, {
    pacer,
    now: new Date(),
    staleDays: o.staleDays,
    expiringDays: o.expiringDays,
    blueprintAppIds: appIds,
    ...(o.concurrency ? { concurrency: o.concurrency } : {}),
    onProgress: (what) => m.info(`Reading ${what}…`),
  });
  for (const w of result.warnings.slice(0, 5)) m.warn(w);
  if (result.warnings.length > 5) m.warn(`… and ${result.warnings.length - 5} more read warnings.`);
  if (o.html) {
    const { writeReportHtml } = await import('../output/reportHtml.js');
    await writeReportHtml(o.html, result);
    m.info(`Wrote ${o.html}`);
  }
  await ctx.print(result.findings, FINDING_COLUMNS);
  const { counts } = result;
  const bySeverity = ['high', 'medium', 'low', 'info'].map((s) => [s, result.findings.filter((f) => f.severity === s).length] as const).filter(([, n]) => n);
  m.info(
    `${counts.findings} finding(s)${bySeverity.length ? ` (${bySeverity.map(([s, n]) => `${n} ${s}`).join(', ')})` : ''} over ${counts.blueprints} blueprint(s), ${counts.agents} agent(s), ${counts.agentUsers} agent user(s).`,
  );
  if (o.failOn) {
    const gate = severityRank(o.failOn);
    const failing = result.findings.filter((f) => severityRank(f.severity) >= gate).length;
    if (failing) throw new OperationError(`${failing} finding(s) at or above ${o.failOn} (--fail-on ${o.failOn}).`);
  }
}
