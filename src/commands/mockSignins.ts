import type { Command } from 'commander';
import { z } from 'zod';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { dryRunOption, helpSections, parseOptions } from './shared.js';

// `agentid mock signins generate`: a realistic sign-in history for the emulated tenant, so the
// logs commands have something to find. The emulator has no Graph endpoint that creates
// sign-ins (Graph has none), so this writes the emulator's log file directly; a served
// emulator picks the new lines up on its next query (mock/logs.ts reads appended bytes).

const MAX_DAYS = 30; // the emulated tenant's retention (P1/P2, mock/logs.ts)

export const GenerateSchema = z.object({
  count: z.coerce.number({ message: '--count must be a number.' }).int('--count must be a whole number.').min(1, '--count must be at least 1.').max(1_000_000, '--count is at most 1,000,000.'),
  days: z.coerce.number({ message: '--days must be a number.' }).positive('--days must be above 0.').max(MAX_DAYS, `--days is at most ${MAX_DAYS}: older sign-ins are past the emulated tenant's retention.`),
  failureRate: z.coerce.number({ message: '--failure-rate must be a number.' }).min(0, '--failure-rate must be between 0 and 1.').max(1, '--failure-rate must be between 0 and 1.'),
  blueprint: z.string().trim().min(1, '--blueprint cannot be empty.').optional(),
  dryRun: z.boolean().optional(),
});

export function registerMockSignins(group: Command, ctx: CliContext): void {
  const signins = helpSections(group.command('signins').description("Manage the emulated tenant's sign-in log"), [
    'agentid mock signins generate --count 5000',
    'agentid mock signins generate --count 500 --blueprint "Sales Agent" --days 1 --failure-rate 0.2',
  ]);
  helpSections(
    signins
      .command('generate')
      .description('Record a realistic history of agent sign-ins (agents, blueprint principals and agent users of the tenant), spread over the last days')
      .requiredOption('--count <n>', 'how many sign-ins')
      .option('--days <d>', `spread them over the last d days (at most ${MAX_DAYS})`, '7')
      .option('--failure-rate <p>', 'fraction of failed sign-ins, 0 to 1', '0.05')
      .option('--blueprint <blueprint>', 'only this blueprint (object id, appId or name) and its agents')
      .addOption(dryRunOption())
      .action(async (raw) => {
        const o = parseOptions(GenerateSchema, raw);
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        let blueprintAppId: string | undefined;
        if (o.blueprint) {
          const { resolveBlueprint } = await import('../graph/resolve.js');
          blueprintAppId = (await resolveBlueprint(client, o.blueprint, ctx.chooser())).appId;
        }
        const { createFileStore } = await import('../mock/inprocess.js');
        const { FileLogStore, licenseTier, logDirOf } = await import('../mock/logs.js');
        const logs = new FileLogStore(logDirOf(ctx.stateFile()), { tier: licenseTier(ctx.env) });
        if (o.days > logs.retentionDays) throw new UsageError(`--days is at most ${logs.retentionDays}: the emulated tenant keeps sign-ins ${logs.retentionDays} days (AGENTID_MOCK_LICENSE=${logs.tier}).`);
        const { generateSignIns } = await import('../mock/signinGenerator.js');
        const now = new Date();
        const records = await createFileStore(ctx.stateFile()).read((s) => generateSignIns(s, { count: o.count, days: o.days, failureRate: o.failureRate, blueprintAppId, now }));
        if (records.length === 0) {
          throw new UsageError(`The emulated tenant has no ${o.blueprint ? `blueprint principal or agent of '${o.blueprint}'` : 'blueprint principal or agent'} to sign in; create one first with 'agentid blueprint create' and 'agentid agent create'.`);
        }
        const failures = records.filter((r) => (r.status as { errorCode: number }).errorCode !== 0).length;
        const actors = new Set(records.map((r) => `${r.appId}|${r.userId}`)).size;
        const summary = { count: records.length, failures, actors, from: new Date(now.getTime() - o.days * 86_400_000).toISOString(), to: now.toISOString(), blueprintAppId: blueprintAppId ?? null };
        if (o.dryRun) {
          const { printPlan } = await import('./shared.js');
          return printPlan(ctx, { action: 'generate sign-ins', ...summary });
        }
        records.sort((a, b) => String(a.createdDateTime).localeCompare(String(b.createdDateTime)));
        await logs.append('signIns', records);
        await logs.compact(now);
        (await ctx.messenger()).success(`Recorded ${records.length} sign-ins (${failures} failed) by ${actors} agents, blueprint principals and agent users over the last ${o.days} days.`);
        await ctx.print({ ...summary, file: logs.fileOf('signIns') });
      }),
    [
      'agentid mock signins generate --count 5000',
      'agentid mock signins generate --count 20000 --days 30 --failure-rate 0.02',
      'agentid mock signins generate --count 500 --blueprint "Sales Agent" --days 1',
    ],
    'none (the emulated tenant only; no Graph call)',
  );
}
