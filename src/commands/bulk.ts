import type { Command } from 'commander';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { CliContext } from '../context.js';
import { CancelledError, OperationError, UsageError } from '../errors.js';
import type { GraphClient } from '../graph/client.js';
import type { Item, RowReport, BlueprintScope, CreateRow } from '../graph/bulk.js';
import type { Pacer } from '../graph/pacer.js';
import { collect, confirm, dryRunOption, helpSections, parseOptions, positiveInt, yesOption } from './shared.js';
import { registerGovernance } from './bulkGovernance.js';

// agentid bulk: blueprint-wide disable / enable / revoke, bulk create, and the journal verbs
// (resume, status, undo). Planning and running live in src/graph/bulk.ts; this file validates,
// confirms, shows progress and renders the per-item report.

export const REPORT_COLUMNS = [
  { key: 'status', header: 'Status' },
  { key: 'action', header: 'Action' },
  { key: 'objectType', header: 'Type' },
  { key: 'name', header: 'Name' },
  { key: 'objectId', header: 'Object id' },
  { key: 'blueprint', header: 'Blueprint' },
  { key: 'detail', header: 'Detail' },
];

const PLAN_COLUMNS = [
  { key: 'blueprint', header: 'Blueprint' },
  { key: 'action', header: 'Action' },
  { key: 'objectType', header: 'Type' },
  { key: 'count', header: 'Changes' },
  { key: 'skipped', header: 'Unchanged' },
];

const common = {
  journal: z.string().min(1).optional(),
  concurrency: z.number().int().min(1).max(32).optional(),
  dryRun: z.boolean().optional(),
  yes: z.boolean().optional(),
};

export const ToggleSchema = z
  .object({
    blueprint: z.array(z.string().min(1)).optional(),
    agentsFile: z.string().min(1).optional(),
    includeAgentUsers: z.boolean().optional(),
    principalOnly: z.boolean().optional(),
    agentsOnly: z.boolean().optional(),
    ...common,
  })
  .refine((o) => !!o.blueprint?.length !== !!o.agentsFile, { message: 'Name the agents with --blueprint (repeatable) or --agents-file FILE, not both and not neither.' })
  .refine((o) => !(o.principalOnly && o.agentsOnly), { message: '--principal-only and --agents-only exclude each other; pass neither to change both.' })
  .refine((o) => !(o.agentsFile && o.principalOnly), { message: '--principal-only needs --blueprint: an agents file names agents, not blueprints.' })
  .refine((o) => !(o.principalOnly && o.includeAgentUsers), { message: '--include-agent-users changes agent users; it does not go with --principal-only.' });

export const RevokeSchema = z
  .object({
    blueprint: z.array(z.string().min(1)).min(1, '--blueprint is required (repeatable): an object id, appId or name.'),
    grants: z.boolean().optional(),
    appRoles: z.boolean().optional(),
    inheritable: z.boolean().optional(),
    credentials: z.boolean().optional(),
    sessions: z.boolean().optional(),
    all: z.boolean().optional(),
    ...common,
  })
  .refine((o) => !(o.credentials || o.all) || o.yes || o.dryRun, {
    message: 'Removing credentials cannot be undone (a secret is shown only once, when it is created): pass --yes to confirm, or leave out --credentials/--all.',
  });

export const CreateSchema = z.object({
  blueprint: z.string().min(1, '--blueprint is required: an object id, appId or name.'),
  file: z.string().min(1, '--file is required: agents.csv or agents.yaml.'),
  ...common,
});

export const SetAttributeSchema = z.object({
  blueprint: z.array(z.string().min(1)).min(1, '--blueprint is required (repeatable): an object id, appId or name.'),
  attribute: z.string().optional(),
  ...common,
});

export const JournalSchema = z.object({ ...common });

/** The revoke set when no flag names one: contain an incident without deleting identities. */
export const DEFAULT_REVOKE = ['grants', 'app-roles', 'inheritable', 'sessions'] as const;

function journalOptions(cmd: Command): Command {
  return cmd
    .option('--journal <path>', 'journal file (default: $AGENTID_HOME/journals/<time>-<verb>-<id>.jsonl)')
    .option('--concurrency <n>', '$batch requests in flight at once (default 8)', positiveInt('--concurrency'))
    .addOption(dryRunOption())
    .addOption(yesOption());
}

/** undo and resume: no --journal (the journal is the argument; undo writes its own beside it). */
function journalRunOptions(cmd: Command): Command {
  return cmd
    .option('--concurrency <n>', '$batch requests in flight at once (default 8)', positiveInt('--concurrency'))
    .addOption(dryRunOption())
    .addOption(yesOption());
}

function lastOption(cmd: Command): Command {
  return cmd.option('--last', 'the newest journal in $AGENTID_HOME/journals');
}

/** The journal a verb acts on: its argument, or with --last the newest in $AGENTID_HOME/journals. */
async function journalArgument(ctx: CliContext, file: string | undefined, raw: { last?: boolean }): Promise<string> {
  if (file && raw.last) throw new UsageError('Name a journal file or pass --last, not both.');
  if (file) return file;
  if (!raw.last) throw new UsageError('Name the journal file, or pass --last for the newest (agentid bulk status --last).');
  const { newestJournal } = await import('../graph/journal.js');
  const newest = await newestJournal(ctx.home());
  if (!newest) throw new UsageError(`No bulk journals in ${path.join(ctx.home(), 'journals')}: --last needs a bulk run first.`);
  (await ctx.messenger()).info(`Journal: ${newest}`);
  return newest;
}

export function register(program: Command, ctx: CliContext): void {
  const group = helpSections(program.command('bulk').description('Disable, enable, revoke and create agents in bulk: $batch, throttle-paced, resumable, undoable'), [
    'agentid bulk disable --blueprint "Sales Agent" --yes',
    'agentid bulk revoke --blueprint "Sales Agent" --dry-run',
    'agentid bulk undo ~/.agentid/journals/2026-05-01T10-11-12Z-disable-3f2a9c1d.jsonl --yes',
  ]);

  for (const [verb, enabled] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    helpSections(
      journalOptions(
        group
          .command(verb)
          .description(
            enabled
              ? 'Enable agent identities (and their blueprint principal) of blueprints or from a file; the principal comes last'
              : 'Disable a blueprint principal (every agent stops authenticating at once), then each agent identity',
          )
          .option('--blueprint <blueprint>', 'blueprint: object id, appId or name (repeatable)', collect)
          .option('--agents-file <file>', 'agent identity object ids, one a line, or a CSV with an id column')
          .option('--include-agent-users', 'also change the agent users of those agents')
          .option('--principal-only', 'only the blueprint principal')
          .option('--agents-only', 'only the agent identities (and agent users), not the principal'),
      ).action(async (raw) => toggle(ctx, raw, enabled)),
      [
        `agentid bulk ${verb} --blueprint "Sales Agent" --yes`,
        `agentid bulk ${verb} --blueprint "Sales Agent" --blueprint "Support Agent" --include-agent-users --dry-run`,
        `agentid bulk ${verb} --agents-file compromised.txt --yes -o json`,
      ],
      enabled ? 'AgentIdentity.EnableDisable.All, AgentIdentityBlueprintPrincipal.EnableDisable.All (User.EnableDisableAccount.All for agent users)' : 'AgentIdentityBlueprintPrincipal.EnableDisable.All, AgentIdentity.EnableDisable.All (User.EnableDisableAccount.All for agent users)',
    );
  }

  helpSections(
    journalOptions(
      group
        .command('revoke')
        .description(
          `Revoke what agents of a blueprint were granted. Default set (no flag): --${DEFAULT_REVOKE.join(', --')}: contains an incident without deleting identities; undo recreates grants, app roles and inheritable permissions`,
        )
        .option('--blueprint <blueprint>', 'blueprint: object id, appId or name (repeatable)', collect)
        .option('--grants', "the agents' and principal's oauth2PermissionGrants (undo recreates them)")
        .option('--app-roles', "the agents' and principal's appRoleAssignments (undo recreates them)")
        .option('--inheritable', "the blueprint's inheritablePermissions (undo recreates them)")
        .option('--credentials', "the blueprint's client secrets, certificates and federated credentials: cannot be undone, needs --yes")
        .option('--sessions', "revokeSignInSessions for the agents' agent users (cannot be undone)")
        .option('--all', 'all of the above'),
    ).action(async (raw) => revoke(ctx, raw)),
    [
      'agentid bulk revoke --blueprint "Sales Agent" --yes',
      'agentid bulk revoke --blueprint "Sales Agent" --grants --app-roles --dry-run -o json',
      'agentid bulk revoke --blueprint "Sales Agent" --all --yes',
    ],
    'DelegatedPermissionGrant.ReadWrite.All, AppRoleAssignment.ReadWrite.All, AgentIdentityBlueprint.ReadWrite.All, User.RevokeSessions.All',
  );

  helpSections(
    journalOptions(
      group
        .command('create')
        .description('Create agent identities (and agent users) from a CSV or YAML file; a re-run skips those that exist')
        .option('--blueprint <blueprint>', 'blueprint: object id, appId or name')
        .option('--file <file>', 'agents.csv (columns name, sponsors, owners, agentUserUpn; lists split on ;) or agents.yaml (a list of the same keys)'),
    ).action(async (raw) => create(ctx, raw)),
    ['agentid bulk create --blueprint "Sales Agent" --file agents.csv --yes', 'agentid bulk create --blueprint 2c9e… --file agents.yaml --dry-run -o json'],
    'AgentIdentity.Create.All (AgentIdUser.ReadWrite.IdentityParentedBy for agent users; CustomSecAttributeDefinition.Read.All and CustomSecAttributeAssignment.ReadWrite.All to tag new agents AgentId.Blueprint when the tenant defines it)',
  );

  helpSections(
    journalOptions(
      group
        .command('set-attribute')
        .description(
          "Set a custom security attribute on every agent identity of blueprints. Without --attribute: AgentId.Blueprint = the blueprint's appId, the attribute `ca create --blueprint` targets (defined first if missing); agents agentid creates later (agent create, bulk create, apply) are tagged as they are created. Undo puts back the values read before",
        )
        .option('--blueprint <blueprint>', 'blueprint: object id, appId or name (repeatable)', collect)
        .option('--attribute <set.name=value>', 'a single-valued string attribute to set (an empty value removes it)'),
    ).action(async (raw) => setAttribute(ctx, raw)),
    ['agentid bulk set-attribute --blueprint "Sales Agent" --yes', 'agentid bulk set-attribute --blueprint "Sales Agent" --attribute AgentId.DataSensitivity=Confidential --dry-run'],
    'CustomSecAttributeAssignment.ReadWrite.All (delegated: as an Attribute Assignment Administrator); CustomSecAttributeDefinition.ReadWrite.All to define AgentId.Blueprint',
  );

  // Issue 12: the journal a verb acts on is named one way, the positional argument, or --last for
  // the newest in $AGENTID_HOME/journals; --journal only names the file a new run writes.
  helpSections(
    lastOption(journalRunOptions(group.command('undo').description('Put back what a bulk run changed, exactly as the journal recorded it before the run; changes already undone are left as they are').argument('[journal]', 'journal file of the run to undo'))).action(
      async (file: string | undefined, raw) => undo(ctx, await journalArgument(ctx, file, raw), raw),
    ),
    ['agentid bulk undo --last --yes', 'agentid bulk undo ~/.agentid/journals/2026-05-01T10-11-12Z-disable-3f2a9c1d.jsonl --yes'],
    'the permissions of the run being undone',
  );

  helpSections(
    lastOption(journalRunOptions(group.command('resume').description('Finish a bulk run that was interrupted (Ctrl-C, crash, kill -9) without repeating finished items').argument('[journal]', 'journal file'))).action(
      async (file: string | undefined, raw) => resume(ctx, await journalArgument(ctx, file, raw), raw),
    ),
    ['agentid bulk resume --last --yes', 'agentid bulk resume ~/.agentid/journals/2026-05-01T10-11-12Z-disable-3f2a9c1d.jsonl --yes'],
    'the permissions of the run being resumed',
  );

  helpSections(
    lastOption(group
      .command('status')
      .description('Summarise a bulk journal: what was planned, done, failed and left')
      .argument('[journal]', 'journal file'))
      .action(async (file: string | undefined, raw) => status(ctx, await journalArgument(ctx, file, raw))),
    ['agentid bulk status --last', 'agentid bulk status ~/.agentid/journals/2026-05-01T10-11-12Z-disable-3f2a9c1d.jsonl', 'agentid bulk status --last -o json --query items'],
    'none (it reads the journal; no Graph call)',
  );

  // Issue #14: sponsor replace / add --orphaned, delete --stale-days (commands/bulkGovernance.ts).
  registerGovernance(group, ctx, { prepare, execute });
}

// ---------------------------------------------------------------------------------------------

export interface Prepared {
  client: GraphClient;
  pacer: Pacer;
}

export async function prepare(ctx: CliContext): Promise<Prepared> {
  const client = await ctx.graph();
  const { Pacer, timeScaleFromEnv } = await import('../graph/pacer.js');
  return { client, pacer: new Pacer({ timeScale: timeScaleFromEnv(ctx.env) }) };
}

export async function scopes(ctx: CliContext, client: GraphClient, refs: string[]): Promise<BlueprintScope[]> {
  const { resolveBlueprint } = await import('../graph/resolve.js');
  const { getPrincipalByAppId } = await import('../graph/blueprints.js');
  // Resolved side by side, except on a terminal, where an ambiguous name may prompt: one at a time.
  const chooser = ctx.chooser();
  const one = async (r: string) => {
    const blueprint = await resolveBlueprint(client, r, chooser);
    return { blueprint, principal: await getPrincipalByAppId(client, blueprint.appId) };
  };
  const found: BlueprintScope[] = [];
  if (chooser) for (const r of refs) found.push(await one(r));
  else found.push(...(await Promise.all(refs.map(one))));
  return found.filter((s, i) => found.findIndex((x) => x.blueprint.id === s.blueprint.id) === i);
}

async function readText(file: string, flag: string): Promise<string> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${flag} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}.`);
  }
}

/** Object ids one a line (# comments allowed), or a CSV whose header has an `id` column. */
export async function readAgentsFile(file: string): Promise<string[]> {
  const text = await readText(file, '--agents-file');
  const { isGuid } = await import('../graph/paths.js');
  const firstLine = text.split(/\r?\n/).find((l) => l.trim() && !l.trim().startsWith('#')) ?? '';
  let ids: string[];
  if (firstLine.includes(',') || /^\s*"?id"?\s*$/i.test(firstLine)) {
    const { csvRecords } = await import('../output/tabular.js');
    const recs = csvRecords(text, file);
    if (recs.length && !('id' in recs[0]!)) throw new UsageError(`--agents-file ${file}: a CSV needs an 'id' column.`);
    ids = recs.map((r) => r.id ?? '');
  } else ids = text.split(/\r?\n/).map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
  const bad = ids.find((id) => !isGuid(id));
  if (bad !== undefined) throw new UsageError(`--agents-file ${file}: '${bad}' is not an object id (a GUID); list agent identity object ids, one a line.`);
  if (!ids.length) throw new UsageError(`--agents-file ${file} lists no agent ids.`);
  return [...new Set(ids.map((i) => i.toLowerCase()))];
}

async function toggle(ctx: CliContext, raw: Record<string, unknown>, enabled: boolean): Promise<void> {
  const o = parseOptions(ToggleSchema, raw);
  await ctx.checkOutputOptions();
  const agentIds = o.agentsFile ? await readAgentsFile(o.agentsFile) : undefined;
  const { client, pacer } = await prepare(ctx);
  const bulk = await import('../graph/bulk.js');
  const sc = o.blueprint ? await scopes(ctx, client, o.blueprint) : [];
  for (const s of sc) {
    if (!s.principal && !o.agentsOnly) (await ctx.messenger()).warn(`Blueprint '${s.blueprint.displayName}' has no blueprint principal (so it has no agents to ${enabled ? 'enable' : 'disable'}).`);
  }
  const items = await bulk.planToggle(client, { enabled, blueprints: sc, ...(agentIds ? { agentIds } : {}), includeAgentUsers: !!o.includeAgentUsers, principal: !o.agentsOnly, agents: !o.principalOnly }, pacer);
  await execute(ctx, { kind: enabled ? 'enable' : 'disable', items, args: { ...o, target: client.baseUrl }, o, client, pacer });
}

async function revoke(ctx: CliContext, raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(RevokeSchema, raw);
  await ctx.checkOutputOptions();
  const { client, pacer } = await prepare(ctx);
  const bulk = await import('../graph/bulk.js');
  const none = !o.grants && !o.appRoles && !o.inheritable && !o.credentials && !o.sessions && !o.all;
  const what = {
    grants: none || !!o.all || !!o.grants,
    appRoles: none || !!o.all || !!o.appRoles,
    inheritable: none || !!o.all || !!o.inheritable,
    credentials: !!o.all || !!o.credentials,
    sessions: none || !!o.all || !!o.sessions,
  };
  const items = await bulk.planRevoke(client, await scopes(ctx, client, o.blueprint), what, pacer);
  if (what.credentials) (await ctx.messenger()).warn('Removed secrets, certificates and federated credentials cannot be restored by bulk undo.');
  await execute(ctx, { kind: 'revoke', items, args: { ...o, ...what, target: client.baseUrl }, o, client, pacer });
}

/**
 * #13: the custom security attribute on every agent of these blueprints, through the journaled
 * engine. With no attribute named, each agent gets AgentId.Blueprint = its blueprint's appId, the
 * attribute `ca create --blueprint` targets; its definition is created first when missing
 * (definitions cannot be deleted in Entra, only deactivated, so that step is outside the journal).
 * Returns the journal, or undefined for a dry run or when nothing changed.
 */
export async function tagAgents(
  ctx: CliContext,
  input: { client: GraphClient; pacer: Pacer; scopes: BlueprintScope[]; attribute?: { set: string; name: string; value: string | null } | undefined; o: ExecuteInput['o']; print?: false },
): Promise<{ journal?: string | undefined; definitions: { method: 'POST'; path: string; body: Record<string, unknown> }[]; agents: number }> {
  const attrs = await import('../graph/attributes.js');
  const bulk = await import('../graph/bulk.js');
  const { listAgents } = await import('../graph/agents.js');
  const { client, pacer } = input;
  const ref = input.attribute ?? attrs.BLUEPRINT_ATTRIBUTE;
  const definitions = input.attribute ? [] : await attrs.missingDefinitionRequests(client, ref);
  const items: Item[] = [];
  let agents = 0;
  for (const sc of input.scopes) {
    const list = await listAgents(client, { blueprintAppId: sc.blueprint.appId });
    agents += list.length;
    const value = input.attribute ? input.attribute.value : sc.blueprint.appId;
    items.push(...(await bulk.planSetAttribute(client, list.map((a) => ({ id: a.id, displayName: a.displayName, blueprint: sc.blueprint.displayName ?? sc.blueprint.appId })), ref, value, pacer)));
  }
  if (input.o.dryRun) {
    if (input.print === false) return { definitions, agents };
    if (definitions.length) await ctx.print({ dryRun: true, definitions: attrs.definitionPreview(client, definitions) });
  } else for (const d of definitions) await attrs.send(client, d);
  if (definitions.length && !input.o.dryRun) (await ctx.messenger()).info(`Defined custom security attribute ${attrs.attributeId(ref)}.`);
  // ca create prints the policy on stdout: with nothing to change there is no report to add to it.
  if (input.print === false && items.every((i) => i.skip)) return { definitions, agents };
  const journal = await execute(ctx, { kind: 'set-attribute', items, args: { blueprint: input.scopes.map((s) => s.blueprint.appId), attribute: `${ref.set}.${ref.name}`, target: client.baseUrl }, o: input.o, client, pacer, ...(input.print === false ? { print: false as const } : {}) });
  return { journal, definitions, agents };
}

async function setAttribute(ctx: CliContext, raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(SetAttributeSchema, raw);
  const { parseAttributeArg } = await import('../graph/attributes.js');
  const attribute = o.attribute !== undefined ? parseAttributeArg(o.attribute) : undefined;
  await ctx.checkOutputOptions();
  const { client, pacer } = await prepare(ctx);
  await tagAgents(ctx, { client, pacer, scopes: await scopes(ctx, client, o.blueprint), attribute, o });
}

const CreateRowSchema = z.object({
  name: z.string().trim().min(1, 'every row needs a name').max(256, 'a name is at most 256 characters'),
  sponsors: z.array(z.string().min(1)).min(1, 'every row needs at least one sponsor'),
  owners: z.array(z.string().min(1)).default([]),
  agentUserUpn: z.string().includes('@', { message: 'agentUserUpn must be a user principal name (name@domain)' }).optional(),
});

function splitList(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String).map((s) => s.trim()).filter(Boolean);
  if (typeof v === 'string') return v.split(/[;\s]+/).map((s) => s.trim()).filter(Boolean);
  return [];
}

export async function readCreateFile(file: string): Promise<z.output<typeof CreateRowSchema>[]> {
  const text = await readText(file, '--file');
  const ext = path.extname(file).toLowerCase();
  let records: Record<string, unknown>[];
  if (ext === '.yaml' || ext === '.yml') {
    const { parseYamlText } = await import('../output/tabular.js');
    const doc = await parseYamlText(text, file);
    const list = Array.isArray(doc) ? doc : (doc as { agents?: unknown })?.agents;
    if (!Array.isArray(list)) throw new UsageError(`--file ${file}: expected a YAML list of agents (or 'agents:' holding one).`);
    records = list as Record<string, unknown>[];
  } else if (ext === '.csv') {
    const { csvRecords } = await import('../output/tabular.js');
    records = csvRecords(text, file);
  } else throw new UsageError(`--file ${file}: use a .csv or .yaml file.`);
  const rows = records.map((r, i) => {
    const get = (...names: string[]) => {
      for (const [k, v] of Object.entries(r ?? {})) if (names.includes(k.toLowerCase().replace(/[_-]/g, ''))) return v;
      return undefined;
    };
    const upn = get('agentuserupn', 'upn', 'agentuser');
    const parsed = CreateRowSchema.safeParse({ name: get('name', 'displayname'), sponsors: splitList(get('sponsors', 'sponsor')), owners: splitList(get('owners', 'owner')), ...(upn ? { agentUserUpn: String(upn) } : {}) });
    if (!parsed.success) throw new UsageError(`--file ${file}, agent ${i + 1}: ${parsed.error.issues[0]!.message}.`);
    return parsed.data;
  });
  const dup = rows.find((r, i) => rows.findIndex((x) => x.name === r.name) !== i);
  if (dup) throw new UsageError(`--file ${file} names '${dup.name}' twice; agent names identify rows on a re-run, so they must be unique.`);
  return rows;
}

async function create(ctx: CliContext, raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(CreateSchema, raw);
  await ctx.checkOutputOptions();
  const rows = await readCreateFile(o.file);
  const { client, pacer } = await prepare(ctx);
  const bulk = await import('../graph/bulk.js');
  const { resolvePrincipal } = await import('../graph/directory.js');
  const [scope] = await scopes(ctx, client, [o.blueprint]);
  if (!scope!.principal) throw new UsageError(`Blueprint '${scope!.blueprint.displayName}' has no blueprint principal; create it first (agentid blueprint create makes both).`);
  const cache = new Map<string, Promise<import('../graph/directory.js').PrincipalRef>>();
  const resolve = (r: string) => {
    if (!cache.has(r)) cache.set(r, resolvePrincipal(client, r));
    return cache.get(r)!;
  };
  const resolved: CreateRow[] = [];
  for (const r of rows) {
    const sponsors = await Promise.all(r.sponsors.map(resolve));
    const owners = await Promise.all(r.owners.map(resolve));
    if (owners.some((w) => w.kind === 'group')) throw new UsageError(`--file ${o.file}, agent '${r.name}': owners must be users, not groups.`);
    resolved.push({ name: r.name, sponsors, owners, agentUserUpn: r.agentUserUpn });
  }
  // #13: agents are tagged AgentId.Blueprint when the tenant defines it (one read), as agent create does.
  const attrs = await import('../graph/attributes.js');
  const tagging = await attrs.blueprintTagging(client);
  const items = await bulk.planCreate(client, scope!, resolved, tagging.tag ? { tag: attrs.BLUEPRINT_ATTRIBUTE } : {});
  if (!tagging.tag && tagging.denied && items.some((i) => i.op.kind === 'createAgent' && !i.skip)) {
    const bp = scope!.blueprint;
    (await ctx.messenger()).warn(
      `The agents this run creates are not tagged ${attrs.attributeId(attrs.BLUEPRINT_ATTRIBUTE)} (reading its definition was refused: ${tagging.denied.code}; that needs CustomSecAttributeDefinition.Read.All): Conditional Access policies that target blueprint '${bp.displayName ?? bp.appId}' by that attribute do not cover them; tag them with 'agentid bulk set-attribute --blueprint ${bp.appId} --yes' (needs CustomSecAttributeAssignment.ReadWrite.All; delegated: an Attribute Assignment Administrator).`,
    );
  }
  await execute(ctx, { kind: 'create', items, args: { ...o, target: client.baseUrl }, o, client, pacer, destructive: false });
}

async function undo(ctx: CliContext, file: string, raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(JournalSchema, raw);
  await ctx.checkOutputOptions();
  const { readJournal } = await import('../graph/journal.js');
  const bulk = await import('../graph/bulk.js');
  const journal = loadJournal(readJournal, file);
  const planned = bulk.planUndo(journal as never);
  const { irreversible } = planned;
  const m = await ctx.messenger();
  if (irreversible.length) {
    const reasons = [...new Set(irreversible.map((i) => i.reason))];
    m.warn(`${irreversible.length} change(s) of that run cannot be undone: ${reasons.join('; ')}.`);
  }
  const pending = journal.items.filter((s) => s.status === 'pending' || s.status === 'uncertain').length;
  if (pending) m.warn(`That run has ${pending} unfinished item(s); undo reverses only what it finished. Resume or undo it again later if it is still running.`);
  const { client, pacer } = await prepare(ctx);
  checkTarget(journal.run.args, client, file);
  // Undone already (or put back by hand): those items are skipped, not sent again.
  const items = await bulk.skipAlreadyDone(client, planned.items, pacer, o.concurrency);
  await execute(ctx, { kind: 'undo', items, args: { ...o, undoOf: path.resolve(file), target: client.baseUrl }, o, client, pacer, undoOf: path.resolve(file) });
}

async function resume(ctx: CliContext, file: string, raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(JournalSchema, raw);
  await ctx.checkOutputOptions();
  const { readJournal, JournalWriter } = await import('../graph/journal.js');
  const journal = loadJournal(readJournal, file);
  const left = journal.items.filter((s) => s.status === 'pending' || s.status === 'uncertain' || s.status === 'failed').length;
  const { client, pacer } = await prepare(ctx);
  checkTarget(journal.run.args, client, file);
  const bulk = await import('../graph/bulk.js');
  if (!left) {
    (await ctx.messenger()).info(`Nothing left to do: every item of ${file} is finished.`);
    await ctx.print(bulk.report(journal as never), REPORT_COLUMNS);
    return;
  }
  if (o.dryRun) {
    await ctx.print({ dryRun: true, journal: file, left, items: bulk.report(journal as never).filter((r) => r.status !== 'done' && r.status !== 'skipped') });
    (await ctx.messenger()).info('Dry run: nothing was changed.');
    return;
  }
  await confirm(ctx, o.yes, `Resume ${journal.run.kind} from ${file}: ${left} item(s) left?`);
  const writer = await JournalWriter.append(file);
  await runAndReport(ctx, file, writer, client, pacer, o.concurrency);
}

async function status(ctx: CliContext, file: string): Promise<void> {
  await ctx.checkOutputOptions();
  const { readJournal } = await import('../graph/journal.js');
  const bulk = await import('../graph/bulk.js');
  const j = loadJournal(readJournal, file, true);
  const count = (s: string) => j.items.filter((i) => i.status === s).length;
  const counts = { total: j.items.length, done: count('done'), failed: count('failed'), skipped: count('skipped'), pending: count('pending'), uncertain: count('uncertain') };
  const state = !j.planned ? 'plan incomplete (nothing was changed)' : j.ended ? (counts.failed ? 'finished with failures' : 'finished') : 'unfinished (agentid bulk resume)';
  const data = { journal: path.resolve(file), kind: j.run.kind, createdAt: j.run.createdAt, undoOf: j.run.undoOf ?? null, state, ...counts, items: bulk.report(j as never) };
  const summary = [{ journal: path.basename(file), kind: j.run.kind, state, ...counts }];
  await ctx.print(data, undefined, summary);
}

// ---------------------------------------------------------------------------------------------

function loadJournal<T extends { planned: boolean; run: { kind: string } }>(read: (f: string) => T, file: string, allowIncomplete = false): T {
  let j: T;
  try {
    j = read(file);
  } catch (err) {
    throw new UsageError(`Cannot read journal ${file}: ${(err as Error).message}`);
  }
  if (!j.planned && !allowIncomplete) throw new UsageError(`Journal ${file} was cut off while its plan was being written, before any change: nothing was changed. Run the ${j.run.kind} command again.`);
  return j;
}

/** A journal belongs to one tenant: resuming or undoing it elsewhere would change the wrong objects. */
function checkTarget(args: Record<string, unknown>, client: GraphClient, file: string): void {
  if (typeof args.target === 'string' && args.target !== client.baseUrl) {
    throw new UsageError(`Journal ${file} was written against ${args.target}, but agentid now talks to ${client.baseUrl}; point it at the same tenant (AGENTID_GRAPH_URL / profile) first.`);
  }
}

export interface ExecuteInput {
  kind: string;
  items: Item[];
  args: Record<string, unknown>;
  o: { journal?: string | undefined; concurrency?: number | undefined; dryRun?: boolean | undefined; yes?: boolean | undefined };
  client: GraphClient;
  pacer: Pacer;
  undoOf?: string;
  destructive?: boolean;
  /** false: the caller prints its own result (blueprint delete --with-agents); confirmed already. */
  print?: false;
}

const NOUNS: Record<string, [string, string]> = {
  agentIdentityBlueprintPrincipal: ['blueprint principal', 'blueprint principals'],
  agentIdentity: ['agent identity', 'agent identities'],
  agentUser: ['agent user', 'agent users'],
  oAuth2PermissionGrant: ['delegated permission grant', 'delegated permission grants'],
  appRoleAssignment: ['app role assignment', 'app role assignments'],
  inheritablePermission: ['inheritable permission', 'inheritable permissions'],
  passwordCredential: ['client secret', 'client secrets'],
  federatedIdentityCredential: ['federated credential', 'federated credentials'],
  keyCredentials: ["blueprint's certificates", "blueprints' certificates"],
  agentIdentityBlueprint: ['blueprint', 'blueprints'],
};

/** "1 blueprint principal, 250 agent identities" (changes only). */
function describeCounts(items: Item[]): string {
  const counts = new Map<string, number>();
  for (const i of items) if (!i.skip) counts.set(i.objectType, (counts.get(i.objectType) ?? 0) + 1);
  return [...counts].map(([t, n]) => `${n} ${(NOUNS[t] ?? [t, `${t}s`])[n === 1 ? 0 : 1]}`).join(', ');
}

/** Plans are run through here by other groups too (blueprint delete --with-agents): returns the journal. */
export async function execute(ctx: CliContext, input: ExecuteInput): Promise<string | undefined> {
  const bulk = await import('../graph/bulk.js');
  const { items, o } = input;
  const summary = bulk.summarize(items);
  const changes = items.filter((i) => !i.skip);
  if (o.dryRun) {
    const plan = items.map((i) => ({ key: i.key, phase: i.phase, action: bulk.actionOf(i.op), objectType: i.objectType, objectId: i.objectId ?? null, name: i.label, blueprint: i.blueprint ?? null, skip: i.skip ?? null, prior: i.prior ?? null }));
    await ctx.print({ dryRun: true, kind: input.kind, changes: changes.length, unchanged: items.length - changes.length, summary, items: plan }, PLAN_COLUMNS, summary);
    (await ctx.messenger()).info('Dry run: nothing was changed.');
    return;
  }
  const m = await ctx.messenger();
  if (!changes.length) {
    m.info(items.length ? `Nothing to change: 0 changed, ${items.length} already as asked.` : 'Nothing to change: no matching objects.');
    await ctx.print(items.map((i) => ({ key: i.key, action: bulk.actionOf(i.op), objectType: i.objectType, objectId: i.objectId ?? null, name: i.label, blueprint: i.blueprint ?? null, status: 'skipped', detail: i.skip ?? null, requestId: null })), REPORT_COLUMNS);
    return;
  }
  const blueprints = new Set(items.map((i) => i.blueprint).filter(Boolean)).size;
  const verb = input.kind === 'undo' ? 'Undo: ' : `${input.kind[0]!.toUpperCase()}${input.kind.slice(1)}: `;
  if (input.print !== false) await confirm(ctx, o.yes, `${verb}${changes.length} change(s) — ${describeCounts(items)}${blueprints ? ` across ${blueprints} blueprint(s)` : ''}${items.length > changes.length ? `; ${items.length - changes.length} already as asked` : ''}. Proceed?`);
  const { defaultJournalPath } = await import('../graph/journal.js');
  const file = path.resolve(o.journal ?? defaultJournalPath(ctx.home(), input.kind, new Date(), bulk.newRunId()));
  let writer;
  try {
    writer = await bulk.startJournal(file, input.kind, input.args, items, input.undoOf);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`--journal ${file} exists already; name a new file (resume an old run with agentid bulk resume).`);
    throw err;
  }
  m.info(`Journal: ${file}`);
  await runAndReport(ctx, file, writer, input.client, input.pacer, o.concurrency, input.print);
  return file;
}

async function runAndReport(ctx: CliContext, file: string, writer: import('../graph/journal.js').JournalWriter, client: GraphClient, pacer: Pacer, concurrency?: number, print?: false): Promise<void> {
  const bulk = await import('../graph/bulk.js');
  const { GraphClient } = await import('../graph/client.js');
  const { createProgress } = await import('../output/progress.js');
  // The engine retries per item and reconciles unknown outcomes; the client must not resend on its own.
  const engineClient = new GraphClient({ ...client.options, retry: { maxRetries: 0 } });
  const progress = createProgress(ctx.io.stderr, { tty: !!ctx.io.stderr.isTTY, quiet: !!ctx.globals.quiet });
  const abort = new AbortController();
  const onSignal = () => abort.abort(new CancelledError());
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let result: Awaited<ReturnType<typeof bulk.runJournal>>;
  try {
    const { timeScaleFromEnv } = await import('../graph/pacer.js');
    const baseDelayMs = 1000 / timeScaleFromEnv(ctx.env);
    result = await bulk.runJournal(file, writer, { client: engineClient, pacer, baseDelayMs, ...(concurrency ? { concurrency } : {}), signal: abort.signal, onProgress: (p) => progress.update(p) });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress.finish();
    await writer.close();
  }
  const rows: RowReport[] = result.rows;
  if (print !== false) await ctx.print(rows, REPORT_COLUMNS);
  let failed = rows.filter((r) => r.status === 'failed').length;
  const done = rows.filter((r) => r.status === 'done').length;
  const m = await ctx.messenger();
  if (result.interrupted) throw new CancelledError(`Interrupted after ${done} of ${rows.length} item(s). Continue with: agentid bulk resume ${file}`);
  // #13: agentid's own AgentId.Blueprint tag of new agents, refused (403): the agents stand, so
  // it is one warning, as in agent create, unless something else failed too. The journal keeps
  // the tags as failed: a resume by someone who may assign the attribute sets them.
  const refusedTags = result.journal.items.filter((st) => st.status === 'failed' && st.error?.status === 403 && st.item.op.kind === 'fleet.setAttribute' && st.item.op.blueprintTag);
  if (refusedTags.length && refusedTags.length === failed) {
    const { attributeId, BLUEPRINT_ATTRIBUTE } = await import('../graph/attributes.js');
    const names = refusedTags.map((st) => st.item.label.replace(/: [^:]*$/, ''));
    m.warn(
      `${refusedTags.length} new agent(s) (${names.slice(0, 3).map((n) => `'${n}'`).join(', ')}${names.length > 3 ? ', …' : ''}) are not tagged ${attributeId(BLUEPRINT_ATTRIBUTE)} (assigning it was refused: ${refusedTags[0]!.error!.code}): Conditional Access policies that target their blueprint by that attribute do not cover them; tag them with 'agentid bulk resume ${file}' (needs CustomSecAttributeAssignment.ReadWrite.All; delegated: an Attribute Assignment Administrator).`,
    );
    failed = 0;
  }
  if (failed) throw new OperationError(`${failed} of ${rows.length} item(s) failed (listed in the report). Fix the cause, then: agentid bulk resume ${file}`);
  m.success(`Done: ${done} changed, ${rows.filter((r) => r.status === 'skipped').length} already as asked. Journal: ${file} (undo with agentid bulk undo ${file})`);
}
