import type { Command } from 'commander';
import { Option } from 'commander';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { CliContext } from '../context.js';
import { ExitCode, UsageError } from '../errors.js';
import type { GraphClient } from '../graph/client.js';
import type { Pacer } from '../graph/pacer.js';
import type { FleetPlan } from '../graph/fleet/plan.js';
import { collect, helpSections, parseOptions, positiveInt, yesOption, dryRunOption } from './shared.js';

// agentid export / plan / apply / schema (issue #16): a desired-state file for blueprints, agents
// and agent users, a diff against the live tenant, and an apply through the bulk engine (its
// journal makes `bulk resume` and `bulk undo` work on an apply). Reading and diffing live in
// src/graph/fleet/, rendering in src/output/fleet.ts.

export const PLAN_KIND = 'AgentFleetPlan';

export const ExportSchema = z.object({ blueprint: z.array(z.string().min(1)).optional() });

export const PlanSchema = z.object({
  file: z.string().min(1, '--file is required: the fleet file (agentid.yaml).'),
  prune: z.boolean().optional(),
  detailedExitcode: z.boolean().optional(),
});

export const ApplySchema = z
  .object({
    file: z.string().min(1).optional(),
    plan: z.string().min(1).optional(),
    prune: z.boolean().optional(),
    maxDeletes: z.number().int().min(0).default(10),
    journal: z.string().min(1).optional(),
    concurrency: z.number().int().min(1).max(32).optional(),
    dryRun: z.boolean().optional(),
    yes: z.boolean().optional(),
  })
  .refine((o) => !!o.file !== !!o.plan, { message: 'Give the fleet file with -f FILE, or a saved plan with --plan FILE (from agentid plan -o json), not both and not neither.' })
  .refine((o) => !(o.plan && o.prune), { message: '--prune belongs to the plan: run agentid plan --prune -o json > plan.json, then apply --plan plan.json.' });

const nonNegativeInt = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a whole number of 0 or more, not '${v}'.`);
  return n;
};

const EXIT_HELP = `
Exit status (plan --detailed-exitcode): 0 no changes, 10 changes pending, and otherwise
agentid's usual codes: 1 failed, 2 bad file or usage, 3 not found, 4 auth, 130 cancelled.
Without --detailed-exitcode, plan exits 0 whether or not there are changes.`;

export function register(program: Command, ctx: CliContext): void {
  helpSections(
    program
      .command('export')
      .description('Write the fleet file (agentid.yaml) for the blueprints, agents and agent users the tenant holds; plan on it shows no changes')
      .option('--blueprint <blueprint>', 'only this blueprint: uniqueName, display name, object id or appId (repeatable)', collect)
      .action(async (raw) => exportCommand(ctx, raw)),
    ['agentid export > agentid.yaml', 'agentid export --blueprint sales-agent --blueprint support-agent', 'agentid export -o json > agentid.json'],
    'AgentIdentityBlueprint.Read.All, AgentIdentity.Read.All, User.ReadBasic.All',
  );

  helpSections(
    program
      .command('plan')
      .description('Show what apply would change: per object, create / update (before → after) / delete (with --prune), against the live tenant')
      .requiredOption('-f, --file <file>', 'the fleet file (YAML or JSON)')
      .option('--prune', 'also delete (soft) agents and agent users of the listed blueprints that the file does not name, and unlisted owners')
      .option('--detailed-exitcode', 'exit 0 for no changes, 10 for changes pending (errors keep their codes)')
      .addHelpText('after', `\nOutput: -o table (default on a terminal), json (the plan, for apply --plan), markdown (a pull-request comment).\n${EXIT_HELP}\n`)
      .action(async (raw) => planCommand(ctx, raw)),
    ['agentid plan -f agentid.yaml', 'agentid plan -f agentid.yaml -o markdown > plan.md', 'agentid plan -f agentid.yaml --prune -o json > plan.json', 'agentid plan -f agentid.yaml --detailed-exitcode || test $? -eq 10'],
    'AgentIdentityBlueprint.Read.All, AgentIdentity.Read.All, User.ReadBasic.All',
  );

  helpSections(
    program
      .command('apply')
      .description('Make the tenant match the fleet file: the plan runs through the bulk engine (paced $batch, journal; bulk resume / bulk undo work on it)')
      .option('-f, --file <file>', 'the fleet file (YAML or JSON)')
      .option('--plan <file>', 'a plan saved with agentid plan -o json; refused if the tenant changed since')
      .option('--prune', 'also delete (soft) what the file does not name (see agentid plan --help)')
      .addOption(new Option('--max-deletes <n>', 'refuse a plan deleting more than n objects (default 10)').argParser(nonNegativeInt('--max-deletes')))
      .option('--journal <path>', 'journal file (default: $AGENTID_HOME/journals/<time>-apply-<id>.jsonl)')
      .option('--concurrency <n>', '$batch requests in flight at once (default 8)', positiveInt('--concurrency'))
      .addOption(dryRunOption())
      .addOption(yesOption())
      .action(async (raw) => applyCommand(ctx, raw)),
    ['agentid apply -f agentid.yaml --yes', 'agentid apply -f agentid.yaml --prune --max-deletes 50 --yes', 'agentid apply --plan plan.json --yes', 'agentid bulk undo ~/.agentid/journals/2026-05-01T10-11-12Z-apply-3f2a9c1d.jsonl --yes'],
    'AgentIdentityBlueprint.ReadWrite.All, AgentIdentity.ReadWrite.All, AgentIdUser.ReadWrite.All (AgentIdentityBlueprint.AddRemoveCreds.All for clientSecret; CustomSecAttributeDefinition.Read.All and CustomSecAttributeAssignment.ReadWrite.All to tag new agents AgentId.Blueprint when the tenant defines it)',
  );

  helpSections(
    program
      .command('schema')
      .description('Print the JSON Schema of the fleet file (agentid/v1), for editors and CI validation')
      .action(async () => {
        const { fleetJsonSchema } = await import('../graph/fleet/schema.js');
        ctx.io.stdout.write(`${JSON.stringify(fleetJsonSchema(), null, 2)}\n`);
      }),
    ['agentid schema > agentid.schema.json', '# in agentid.yaml, for editors: # yaml-language-server: $schema=./agentid.schema.json'],
    'none (it prints the file format; no Graph call)',
  );
}

// ---------------------------------------------------------------------------------------------

async function prepare(ctx: CliContext): Promise<{ client: GraphClient; pacer: Pacer }> {
  const client = await ctx.graph();
  const { Pacer, timeScaleFromEnv } = await import('../graph/pacer.js');
  return { client, pacer: new Pacer({ timeScale: timeScaleFromEnv(ctx.env) }) };
}

async function exportCommand(ctx: CliContext, raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(ExportSchema, raw);
  const format = ctx.globals.output ?? 'yaml';
  if (format !== 'yaml' && format !== 'json') throw new UsageError(`export writes yaml or json, not '${format}': use -o yaml (default) or -o json.`);
  const { client, pacer } = await prepare(ctx);
  const { readLive } = await import('../graph/fleet/live.js');
  const { exportFleet } = await import('../graph/fleet/plan.js');
  const wanted = o.blueprint?.map((b) => b.toLowerCase());
  const matched = new Set<string>();
  const read = (attributes: boolean) =>
    readLive(
      client,
      {
        attributes,
        ...(wanted
          ? {
              match: (b: { id: string; appId: string; uniqueName: string | null; displayName: string }) => {
                const hit = wanted.find((w) => [b.id, b.appId, b.uniqueName ?? '', b.displayName].some((x) => x.toLowerCase() === w));
                if (hit) matched.add(hit);
                return !!hit;
              },
            }
          : {}),
      },
      pacer,
    );
  // Agents' custom security attributes are exported when the caller may read them; without
  // CustomSecAttributeAssignment.Read.All Graph refuses the whole list, so export reads again
  // without them and says so (a file without attributes leaves them as they are).
  const m = await ctx.messenger();
  let live: Awaited<ReturnType<typeof readLive>>;
  try {
    live = await read(true);
  } catch (err) {
    const { GraphRequestError } = await import('../graph/errors.js');
    if (!(err instanceof GraphRequestError) || err.status !== 403) throw err;
    live = await read(false);
    m.warn('Left out: custom security attributes; reading them needs CustomSecAttributeAssignment.Read.All (delegated: an Attribute Assignment Reader).');
  }
  const missing = wanted?.find((w) => !matched.has(w));
  if (missing) throw new UsageError(`--blueprint ${missing}: no blueprint with that uniqueName, name, id or appId.`);
  const { fleet, skipped } = exportFleet(live);
  for (const s of skipped) m.warn(`Left out: ${s}.`);
  const { fleetText } = await import('../output/fleet.js');
  ctx.io.stdout.write(fleetText(fleet, format));
}

interface Computed {
  plan: FleetPlan;
  fingerprint: string;
  /** Whether the plan read the agents' custom security attributes (part of the fingerprint). */
  attributes: boolean;
  scope: string[];
  file: string;
  client: GraphClient;
  pacer: Pacer;
}

async function compute(ctx: CliContext, file: string, prune: boolean): Promise<Computed> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`-f ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}.`);
  }
  const { parseFleet } = await import('../graph/fleet/file.js');
  const loaded = parseFleet(text, file, ctx.env);
  const { client, pacer } = await prepare(ctx);
  const { readLive, readDefinitions, fingerprint } = await import('../graph/fleet/live.js');
  const { resolveRefs, planFleet } = await import('../graph/fleet/plan.js');
  const scope = Object.keys(loaded.fleet.blueprints);
  // Custom security attributes are read (in the agents' pages) and their definitions listed only
  // when the file names some: both need permissions of their own.
  const attributes = Object.values(loaded.fleet.blueprints).some((b) => Object.values(b.agents).some((a) => Object.keys(a?.attributes ?? {}).length > 0));
  const attrs = await import('../graph/attributes.js');
  // #13: new agents are tagged AgentId.Blueprint when the tenant defines it (one read, as agent create).
  const [refs, live, defs, tagging] = await Promise.all([resolveRefs(client, loaded), readLive(client, { uniqueNames: scope, attributes }, pacer), attributes ? readDefinitions(client) : undefined, attrs.blueprintTagging(client)]).catch(async (err: unknown) => {
    // A refusal of the attribute reads (the agents' list with customSecurityAttributes, or the
    // definitions) says which permissions they need; the Graph error keeps its code and request-id.
    const { GraphRequestError } = await import('../graph/errors.js');
    if (attributes && err instanceof GraphRequestError && err.status === 403 && /\/(servicePrincipals\/microsoft\.graph\.agentIdentity|directory\/customSecurityAttributeDefinitions)$/.test(err.path ?? '')) {
      throw new GraphRequestError({ ...err, message: `${err.message.replace(/\.?$/, '.')} The file names custom security attributes: plan reads them with CustomSecAttributeAssignment.Read.All and CustomSecAttributeDefinition.Read.All (delegated: an Attribute Assignment Reader or Administrator).` });
    }
    throw err;
  });
  if (ctx.env.AGENTID_FLEET_READS) (await ctx.messenger()).info(`Read the tenant in ${live.requests + (defs?.requests ?? 0)} request(s).`);
  const plan = planFleet(loaded, live, refs, { prune, baseDir: path.dirname(path.resolve(file)), ...(defs ? { definitions: defs.definitions } : {}), ...(tagging.tag ? { tagBlueprint: attrs.BLUEPRINT_ATTRIBUTE } : {}) });
  if (!tagging.tag && tagging.denied && plan.items.some((i) => i.op.kind === 'fleet.createAgent')) {
    (await ctx.messenger()).warn(
      `The agents this run creates are not tagged ${attrs.attributeId(attrs.BLUEPRINT_ATTRIBUTE)} (reading its definition was refused: ${tagging.denied.code}; that needs CustomSecAttributeDefinition.Read.All): Conditional Access policies that target their blueprints by that attribute do not cover them; after the apply, tag them with 'agentid bulk set-attribute --blueprint <blueprint> --yes' (needs CustomSecAttributeAssignment.ReadWrite.All; delegated: an Attribute Assignment Administrator).`,
    );
  }
  return { plan, fingerprint: fingerprint(live), attributes, scope, file, client, pacer };
}

function planDocument(c: Computed, prune: boolean) {
  const count = (a: string) => c.plan.changes.filter((x) => x.action === a).length;
  return {
    apiVersion: 'agentid/v1',
    kind: PLAN_KIND,
    file: c.file,
    target: c.client.baseUrl,
    prune,
    fingerprint: c.fingerprint,
    attributes: c.attributes,
    blueprints: c.scope,
    summary: { create: count('create'), update: count('update'), delete: count('delete'), unchanged: c.plan.unchanged, pending: c.plan.changes.length > 0 },
    changes: c.plan.changes,
    items: c.plan.items,
    secrets: c.plan.secrets,
  };
}

async function showPlan(ctx: CliContext, c: Computed, prune: boolean): Promise<void> {
  const out = await import('../output/fleet.js');
  const view = { file: c.file, target: c.client.baseUrl, prune, changes: c.plan.changes, unchanged: c.plan.unchanged };
  if (ctx.globals.output === 'markdown') ctx.io.stdout.write(out.planMarkdown(view));
  else {
    const doc = planDocument(c, prune);
    await ctx.print(doc, out.CHANGE_COLUMNS, out.changeRows(c.plan.changes));
  }
  (await ctx.messenger()).info(out.summaryLine(view));
}

async function checkOutput(ctx: CliContext): Promise<void> {
  if (ctx.globals.output === 'markdown') {
    if (ctx.globals.query) throw new UsageError('--query does not apply to -o markdown; use -o json with --query.');
    return;
  }
  await ctx.checkOutputOptions();
}

async function planCommand(ctx: CliContext, raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(PlanSchema, raw);
  await checkOutput(ctx);
  const c = await compute(ctx, o.file, !!o.prune);
  await showPlan(ctx, c, !!o.prune);
  if (o.detailedExitcode && c.plan.changes.length) ctx.exitCode = ExitCode.changesPending;
}

const SavedPlan = z.looseObject({
  kind: z.literal(PLAN_KIND),
  file: z.string(),
  target: z.string(),
  prune: z.boolean(),
  fingerprint: z.string(),
  attributes: z.boolean().optional(),
  blueprints: z.array(z.string()),
  changes: z.array(z.looseObject({ action: z.string() })),
  items: z.array(z.looseObject({ t: z.literal('item'), key: z.string(), phase: z.number() })),
  secrets: z.array(z.looseObject({ blueprint: z.string(), displayName: z.string(), secretFile: z.string() })),
});

async function applyCommand(ctx: CliContext, raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(ApplySchema, raw);
  await ctx.checkOutputOptions();
  let plan: FleetPlan;
  let client: GraphClient;
  let pacer: Pacer;
  let file: string;
  if (o.plan) {
    let saved: z.output<typeof SavedPlan>;
    try {
      saved = SavedPlan.parse(JSON.parse(await fsp.readFile(o.plan, 'utf8')));
    } catch (err) {
      throw new UsageError(`--plan ${o.plan}: not a plan from agentid plan -o json (${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'unreadable'}).`);
    }
    ({ client, pacer } = await prepare(ctx));
    if (saved.target !== client.baseUrl) throw new UsageError(`--plan ${o.plan} was made against ${saved.target}, but agentid now talks to ${client.baseUrl}; point it at the same tenant, or plan again.`);
    const { readLive, fingerprint } = await import('../graph/fleet/live.js');
    const live = await readLive(client, { uniqueNames: saved.blueprints, attributes: !!saved.attributes }, pacer);
    if (fingerprint(live) !== saved.fingerprint) throw new UsageError(`--plan ${o.plan} no longer matches the tenant (it changed since the plan was made); run agentid plan again and review the new plan.`);
    plan = { changes: saved.changes as never, items: saved.items as never, secrets: saved.secrets as never, unchanged: { blueprint: 0, agent: 0, agentUser: 0 }, deletes: saved.changes.filter((c) => c.action === 'delete').length };
    file = saved.file;
  } else {
    const c = await compute(ctx, o.file!, !!o.prune);
    ({ plan, client, pacer, file } = c);
    if (o.dryRun) {
      await showPlan(ctx, c, !!o.prune);
      (await ctx.messenger()).info('Dry run: nothing was changed.');
      return;
    }
  }
  const m = await ctx.messenger();
  if (!plan.changes.length) {
    m.info(`No changes: the tenant matches ${file}.`);
    return;
  }
  if (plan.deletes > o.maxDeletes) throw new UsageError(`The plan deletes ${plan.deletes} object(s), more than --max-deletes ${o.maxDeletes}; review it (agentid plan --prune), then raise --max-deletes if that is intended.`);
  // A secret file must be creatable before anything is written; it is never overwritten.
  for (const s of plan.secrets) {
    if (await fsp.stat(s.secretFile).then(() => true, () => false)) throw new UsageError(`clientSecret.secretFile ${s.secretFile} (blueprint ${s.blueprint}) already exists; agentid never overwrites a secret file. Move it away, or name another path.`);
  }
  const { execute } = await import('./bulk.js');
  const args = { file, prune: !!o.prune, target: client.baseUrl };
  if (plan.items.length) await execute(ctx, { kind: 'apply', items: plan.items, args, o: { ...o, dryRun: false }, client, pacer, destructive: plan.deletes > 0 });
  else if (plan.secrets.length) {
    const { confirm } = await import('./shared.js');
    await confirm(ctx, o.yes, `Apply: create ${plan.secrets.length} client secret(s). Proceed?`);
  }
  await createSecrets(ctx, client, plan);
}

/**
 * Client secrets come after the journaled run: Graph returns a secret once, and a journal never
 * holds one. Each is written to a new 0600 file; undo does not remove them (blueprint credential
 * remove does). A re-run finds the secret by its display name and does nothing.
 */
async function createSecrets(ctx: CliContext, client: GraphClient, plan: FleetPlan): Promise<void> {
  if (!plan.secrets.length) return;
  const bp = await import('../graph/blueprints.js');
  const m = await ctx.messenger();
  for (const s of plan.secrets) {
    const b = s.blueprintId ? { id: s.blueprintId } : await bp.getBlueprintByUniqueName(client, s.blueprint);
    if (!b) throw new UsageError(`Blueprint ${s.blueprint} was not created, so its client secret was not either; fix the failure and apply again.`);
    await fsp.mkdir(path.dirname(s.secretFile), { recursive: true });
    const fh = await fsp.open(s.secretFile, 'wx', 0o600);
    try {
      const pc = await bp.addPassword(client, b.id, { displayName: s.displayName });
      await fh.writeFile(`${pc.secretText ?? ''}\n`);
      await fh.close();
    } catch (err) {
      await fh.close().catch(() => undefined);
      await fsp.rm(s.secretFile, { force: true });
      throw err;
    }
    m.success(`Created client secret '${s.displayName}' of ${s.blueprint}; written to ${s.secretFile} (mode 0600), not shown.`);
  }
}
