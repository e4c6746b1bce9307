import type { Command } from 'commander';
import { z } from 'zod';
import type { CliContext } from '../context.js';
import { CancelledError, UsageError } from '../errors.js';
import type { Column } from '../output/index.js';
import type { LogPath, StreamOptions } from '../graph/logs.js';
import { AGENT_TYPES, SIGNIN_EVENT_TYPES, WhenError, parseWhen } from '../graph/logs.js';
import { collect, helpSections, parseOptions, positiveInt } from './shared.js';

// `agentid logs signins` and `agentid logs audit`: filtered queries over the beta reporting APIs,
// streamed to stdout as pages arrive (see graph/logs.ts for the filters, output/streamTable.ts
// for the terminal table). Ctrl-C stops between pages and closes the output so that what was
// printed stays valid: whole lines, and a closed JSON array.

const SIGNIN_COLUMNS: Column[] = [
  { key: 'createdDateTime', header: 'Time' },
  { key: 'appDisplayName', header: 'Agent' },
  { key: 'agentType', header: 'Agent type', get: (r) => r.agent?.agentType ?? '' },
  { key: 'userPrincipalName', header: 'Agent user' },
  { key: 'eventType', header: 'Event', get: (r) => (r.signInEventTypes ?? []).join(',') },
  { key: 'ipAddress', header: 'IP address' },
  { key: 'status', header: 'Status', get: (r) => (r.status?.errorCode ? `failure ${r.status.errorCode}` : 'success') },
];

const SUMMARY_COLUMNS: Column[] = [
  { key: 'agent', header: 'Agent' },
  { key: 'appId', header: 'App id' },
  { key: 'agentTypes', header: 'Agent type' },
  { key: 'signIns', header: 'Sign-ins' },
  { key: 'failures', header: 'Failures' },
  { key: 'distinctIpAddresses', header: 'IP addresses' },
  { key: 'firstSeen', header: 'First seen' },
  { key: 'lastSeen', header: 'Last seen' },
];

const AUDIT_COLUMNS: Column[] = [
  { key: 'activityDateTime', header: 'Time' },
  { key: 'activityDisplayName', header: 'Activity' },
  { key: 'category', header: 'Category' },
  { key: 'result', header: 'Result' },
  { key: 'initiatedBy', header: 'Initiated by', get: (r) => r.initiatedBy?.user?.userPrincipalName ?? r.initiatedBy?.app?.displayName ?? r.initiatedBy?.app?.appId ?? '' },
  { key: 'target', header: 'Target', get: (r) => (r.targetResources ?? []).map((t: any) => t.displayName ?? t.id).join(', ') },
  { key: 'targetType', header: 'Type', get: (r) => r.targetResources?.[0]?.type ?? '' },
];

// --- schemas (exported for tests) ---------------------------------------------------------------

const paging = {
  top: z.number().int().min(1).optional(),
  all: z.boolean().optional(),
  since: z.string().optional(),
  until: z.string().optional(),
};

export const SignInsSchema = z
  .object({
    ...paging,
    agent: z.string().trim().min(1, '--agent cannot be empty.').optional(),
    blueprint: z.string().trim().min(1, '--blueprint cannot be empty.').optional(),
    agentUser: z.string().trim().min(1, '--agent-user cannot be empty.').optional(),
    status: z.enum(['success', 'failure'], { message: '--status must be success or failure.' }).optional(),
    eventType: z.array(z.enum(SIGNIN_EVENT_TYPES, { message: `--event-type takes ${SIGNIN_EVENT_TYPES.join(', ')}.` })).optional(),
    agentType: z.array(z.enum(AGENT_TYPES, { message: `--agent-type takes ${AGENT_TYPES.join(', ')}.` })).optional(),
    follow: z.boolean().optional(),
    interval: z.number().int().min(1).max(3600).default(15),
    summary: z.boolean().optional(),
  })
  .refine((o) => !(o.top !== undefined && o.all), { message: '--top and --all cannot be combined: --top N stops after N rows, --all reads every page.' })
  .refine((o) => !(o.follow && (o.all || o.summary)), { message: '--follow keeps printing new sign-ins; it cannot be combined with --all or --summary.' });

export const AuditSchema = z
  .object({
    ...paging,
    agent: z.string().trim().min(1).optional(),
    blueprint: z.string().trim().min(1).optional(),
    agentUser: z.string().trim().min(1).optional(),
    target: z.string().trim().min(1).optional(),
    activity: z.string().trim().min(1, '--activity cannot be empty.').optional(),
    category: z.string().trim().min(1, '--category cannot be empty.').optional(),
    result: z.enum(['success', 'failure'], { message: '--result must be success or failure.' }).optional(),
    initiatedBy: z.string().trim().min(1, '--initiated-by cannot be empty.').optional(),
  })
  .refine((o) => !(o.top !== undefined && o.all), { message: '--top and --all cannot be combined: --top N stops after N rows, --all reads every page.' })
  .refine((o) => [o.agent, o.blueprint, o.agentUser, o.target].filter((x) => x !== undefined).length <= 1, {
    message: 'Give at most one of --agent, --blueprint, --agent-user and --target.',
  });

/** --since/--until as the ISO times $filter takes; exit 2 on anything else. */
export function timeWindow(o: { since?: string | undefined; until?: string | undefined }, now: Date): { since?: string; until?: string } {
  try {
    const since = o.since ? parseWhen(o.since, now, '--since') : undefined;
    const until = o.until ? parseWhen(o.until, now, '--until') : undefined;
    if (since && until && since > until) throw new UsageError(`--since ${since} is after --until ${until}; swap them.`);
    return { ...(since ? { since } : {}), ...(until ? { until } : {}) };
  } catch (err) {
    if (err instanceof WhenError) throw new UsageError(err.message);
    throw err;
  }
}

// --- commands ------------------------------------------------------------------------------------

/** What both log commands start with: the time window, the Graph client, and lookups of --agent, --blueprint and --agent-user. */
async function startLogCommand(ctx: CliContext, o: Parameters<typeof timeWindow>[0]) {
  const window = timeWindow(o, new Date());
  await ctx.checkOutputOptions();
  const client = await ctx.graph();
  const { resolveAgent, resolveAgentUser, resolveBlueprint } = await import('../graph/resolve.js');
  const chooser = ctx.chooser();
  const find = {
    agent: (v: string) => resolveAgent(client, v, chooser),
    blueprint: (v: string) => resolveBlueprint(client, v, chooser),
    agentUser: (v: string) => resolveAgentUser(client, v, chooser),
  };
  return { window, client, logs: await import('../graph/logs.js'), find };
}

export function register(program: Command, ctx: CliContext): void {
  const group = helpSections(program.command('logs').description('Sign-in and audit logs of agents: filtered, streamed as pages arrive'), [
    'agentid logs signins --agent "Sales Agent EMEA" --since 24h',
    'agentid logs signins --blueprint "Sales Agent" --since 7d --summary',
    'agentid logs audit --agent "Sales Agent EMEA" --since 7d',
  ]);

  helpSections(
    group
      .command('signins')
      .description('Sign-ins of agents, blueprints and agent users (beta sign-in API with its agent facet), newest first')
      .option('--agent <agent>', 'only this agent identity (object id or name): its own sign-ins and its agent user\'s')
      .option('--blueprint <blueprint>', 'only this blueprint (object id, appId or name) and the agents created from it')
      .option('--agent-user <user>', 'only this agent user (UPN or object id)')
      .option('--since <when>', 'from this time: 30m, 24h, 7d ago, or an ISO date/time')
      .option('--until <when>', 'up to this time (same forms)')
      .option('--status <status>', 'success or failure')
      .option('--event-type <types>', `sign-in types, comma-separated: ${SIGNIN_EVENT_TYPES.join(', ')} (default: all four)`, collect)
      .option('--agent-type <types>', `agent facet types, comma-separated: ${AGENT_TYPES.join(', ')}`, collect)
      .option('--top <n>', 'stop after n rows', positiveInt('--top'))
      .option('--all', 'follow every page to the end (default: the first page, up to 1,000 rows)')
      .option('--follow', 'keep polling and print new sign-ins as they are recorded (Ctrl-C stops)')
      .option('--interval <seconds>', 'seconds between --follow polls', positiveInt('--interval'), 15)
      .option('--summary', 'one row per agent: sign-ins, failures, distinct IP addresses, first and last seen (reads every page)')
      .action(async (raw) => {
        const o = parseOptions(SignInsSchema, raw);
        const { window, client, logs, find } = await startLogCommand(ctx, o);
        const query = {
          ...window,
          ...(o.agent ? { agentId: (await find.agent(o.agent)).id } : {}),
          ...(o.blueprint ? { blueprintAppId: (await find.blueprint(o.blueprint)).appId } : {}),
          ...(o.agentUser ? { agentUserId: (await find.agentUser(o.agentUser)).id } : {}),
          status: o.status,
          eventTypes: o.eventType,
          agentTypes: o.agentType,
        };
        if (o.summary) {
          const summary = new logs.SignInSummary();
          await withInterrupt(async (signal) => {
            for await (const page of logs.streamLog(client, '/auditLogs/signIns', { filter: logs.signInFilter(query), top: o.top, all: true, signal })) summary.add(page.rows);
          });
          await ctx.print(summary.result(), SUMMARY_COLUMNS);
          return;
        }
        await exportLog(ctx, '/auditLogs/signIns', SIGNIN_COLUMNS, { filter: logs.signInFilter(query), top: o.top, all: !!o.all }, 'sign-ins', o.follow ? { interval: o.interval, query } : undefined);
      }),
    [
      'agentid logs signins --agent "Sales Agent EMEA" --since 24h',
      'agentid logs signins --blueprint "Sales Agent" --status failure --since 7d --summary',
      'agentid logs signins --since 2026-01-01 --all -o ndjson > signins.ndjson',
      'agentid logs signins --agent-type agenticAppInstance,agentIDuser --follow',
    ],
    'AuditLog.Read.All (and Directory.Read.All, GD signin-list.md known issue); Microsoft Entra ID P1 or P2; delegated callers need Reports Reader or Security Reader',
  );

  helpSections(
    group
      .command('audit')
      .description('Directory audit log: who changed what (agent objects appear under their base types: "Add application", "Update service principal", "Add user")')
      .option('--agent <agent>', 'entries that target this agent identity (object id or name)')
      .option('--blueprint <blueprint>', 'entries that target this blueprint (object id, appId or name)')
      .option('--agent-user <user>', 'entries that target this agent user (UPN or object id)')
      .option('--target <id>', 'entries that target this object id')
      .option('--activity <text>', 'activity name, e.g. "Update service principal"; end it with * for a prefix ("Add*")')
      .option('--category <category>', 'e.g. ApplicationManagement, UserManagement (checked locally: Graph documents no filter on it)')
      .option('--result <result>', 'success or failure (checked locally: Graph documents no filter on it)')
      .option('--initiated-by <who>', "a user's UPN, or an app's appId")
      .option('--since <when>', 'from this time: 30m, 24h, 7d ago, or an ISO date/time')
      .option('--until <when>', 'up to this time (same forms)')
      .option('--top <n>', 'stop after n rows', positiveInt('--top'))
      .option('--all', 'follow every page to the end (default: the first page)')
      .action(async (raw) => {
        const o = parseOptions(AuditSchema, raw);
        const { window, logs, find } = await startLogCommand(ctx, o);
        let targetId = o.target;
        if (o.agent) targetId = (await find.agent(o.agent)).id;
        if (o.blueprint) targetId = (await find.blueprint(o.blueprint)).id;
        if (o.agentUser) targetId = (await find.agentUser(o.agentUser)).id;
        const q = { ...window, targetId, activity: o.activity, initiatedBy: o.initiatedBy, category: o.category, result: o.result };
        await exportLog(ctx, '/auditLogs/directoryAudits', AUDIT_COLUMNS, { filter: logs.auditFilter(q), keep: logs.localAuditFilter(q), top: o.top, all: !!o.all }, 'audit entries');
      }),
    [
      'agentid logs audit --agent "Sales Agent EMEA" --since 7d',
      'agentid logs audit --activity "Add*" --category ApplicationManagement --since 24h',
      'agentid logs audit --initiated-by admin@contoso.onmicrosoft.com --all -o csv > audit.csv',
    ],
    'AuditLog.Read.All; delegated callers need Reports Reader or Security Reader',
  );
}

/**
 * Runs `fn` with a signal that Ctrl-C aborts. The first Ctrl-C stops after the current page is
 * written (never inside a line); the listing is closed and the command exits 130.
 */
async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.on('SIGINT', stop);
  try {
    const result = await fn(controller.signal);
    if (controller.signal.aborted) throw new CancelledError('Stopped.');
    return result;
  } catch (err) {
    if (controller.signal.aborted) throw new CancelledError('Stopped.');
    throw err;
  } finally {
    process.off('SIGINT', stop);
  }
}

interface Writer {
  write(rows: object[]): Promise<void>;
  end(): Promise<void>;
}

async function writerFor(ctx: CliContext, columns: Column[]): Promise<Writer> {
  const { createRowWriter, resolveFormat } = await import('../output/index.js');
  const format = resolveFormat(ctx.globals.output, ctx.isTTY);
  if (format === 'table' && !ctx.globals.query) {
    const { StreamTable } = await import('../output/streamTable.js');
    return new StreamTable(ctx.io.stdout, { columns, isTTY: ctx.isTTY, color: ctx.color });
  }
  return createRowWriter(ctx.io.stdout, { format, columns, isTTY: ctx.isTTY, color: ctx.color, ...(ctx.globals.query ? { query: ctx.globals.query } : {}) });
}

async function exportLog(
  ctx: CliContext,
  path: LogPath,
  columns: Column[],
  stream: StreamOptions,
  noun: string,
  follow?: { interval: number; query: import('../graph/logs.js').SignInQuery },
): Promise<void> {
  const logs = await import('../graph/logs.js');
  const client = await ctx.graph();
  const writer = await writerFor(ctx, columns);
  let truncated = false;
  let rows = 0;
  try {
    await withInterrupt(async (signal) => {
      const seen = new FollowCursor();
      for await (const page of logs.streamLog<Record<string, unknown>>(client, path, { ...stream, signal })) {
        // --follow reads like `tail -f`: oldest first, new rows appended below.
        const out = follow ? [...page.rows].reverse() : page.rows;
        seen.add(page.rows);
        await writer.write(out);
        rows += out.length;
        truncated = page.truncated;
        if (signal.aborted) break;
      }
      if (!follow) return;
      let since = seen.newest ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      while (!signal.aborted) {
        await sleep(follow.interval * 1000, signal);
        if (signal.aborted) break;
        const fresh: Record<string, unknown>[] = [];
        const filter = logs.signInFilter({ ...follow.query, since });
        for await (const page of logs.streamLog<Record<string, unknown>>(client, path, { filter, all: true, signal })) fresh.push(...page.rows.filter((r) => !seen.has(r)));
        seen.add(fresh);
        since = seen.newest ?? since;
        await writer.write(fresh.reverse());
      }
    });
  } finally {
    // Also on Ctrl-C: a JSON array gets its closing bracket, so the output parses.
    await writer.end();
  }
  if (truncated && !follow) (await ctx.messenger()).info(`More ${noun} match; add --all to read every page, or --top N.`);
  else if (rows === 0 && !follow) (await ctx.messenger()).info(`No ${noun} match.`);
}

/** What --follow has printed: the newest time, and the ids at that time (a poll from `ge` that time sees them again). */
class FollowCursor {
  newest: string | undefined;
  private atNewest = new Set<string>();

  add(rows: readonly Record<string, unknown>[]): void {
    for (const r of rows) {
      const t = String(r.createdDateTime ?? '');
      if (!this.newest || t > this.newest) {
        this.newest = t;
        this.atNewest = new Set();
      }
      if (t === this.newest) this.atNewest.add(String(r.id));
    }
  }

  has(row: Record<string, unknown>): boolean {
    return String(row.createdDateTime ?? '') === this.newest && this.atNewest.has(String(row.id));
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
