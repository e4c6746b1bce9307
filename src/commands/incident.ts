import type { Command } from 'commander';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { CliContext } from '../context.js';
import { CancelledError, OperationError, UsageError } from '../errors.js';
import type { GraphClient } from '../graph/client.js';
import type { Item, RowReport } from '../graph/bulk.js';
import type { IncidentRecord, RequestRecord, Snapshot, Targets } from '../graph/incident.js';
import type { JournalWriter } from '../graph/journal.js';
import type { Pacer } from '../graph/pacer.js';
import { collect, confirm, dryRunOption, helpSections, parseOptions, yesOption } from './shared.js';

// agentid incident: contain a compromised agent, agent user or blueprint in one command (stop
// authentication, revoke, keep the evidence), release it, and summarise its folder. Reading,
// planning and evidence live in src/graph/incident.ts; the writes are a bulk journal.

export const ContainSchema = z
  .object({
    agent: z.array(z.string().min(1)).optional(),
    blueprint: z.array(z.string().min(1)).optional(),
    agentUser: z.array(z.string().min(1)).optional(),
    out: z.string().min(1, '--out DIR is required: a new folder for the evidence.').optional(),
    since: z.string().min(1).default('7d'),
    credentials: z.boolean().optional(),
    concurrency: z.number().int().min(1).max(32).optional(),
    dryRun: z.boolean().optional(),
    yes: z.boolean().optional(),
  })
  .refine((o) => [o.agent, o.blueprint, o.agentUser].filter((v) => v?.length).length === 1, { message: 'Name what to contain with exactly one of --agent, --blueprint or --agent-user (each repeatable).' })
  .refine((o) => !!o.out, { message: '--out DIR is required: a new folder for the evidence (mode 0700).' })
  .refine((o) => !o.credentials || !!o.blueprint?.length, { message: "--credentials removes a blueprint's secrets, certificates and federated credentials: it goes with --blueprint." })
  .refine((o) => !o.credentials || o.yes || o.dryRun, { message: 'Removing credentials cannot be undone (a secret is shown only once, when it is created): pass --yes to confirm, or leave out --credentials.' });

export const ReleaseSchema = z.object({ concurrency: z.number().int().min(1).max(32).optional(), dryRun: z.boolean().optional(), yes: z.boolean().optional() });

const STEP_COLUMNS = [
  { key: 'step', header: 'Step' },
  { key: 'status', header: 'Status' },
  { key: 'planned', header: 'Planned' },
  { key: 'done', header: 'Done' },
  { key: 'skipped', header: 'Unchanged' },
  { key: 'failed', header: 'Failed' },
  { key: 'note', header: 'Note' },
];

export function register(program: Command, ctx: CliContext): void {
  const group = helpSections(program.command('incident').description('Contain a compromised agent, agent user or blueprint in one command, keep the evidence, release it'), [
    'agentid incident contain --blueprint "Sales Agent" --out ./inc-2026-05-01 --yes',
    'agentid incident status ./inc-2026-05-01',
    'agentid incident release ./inc-2026-05-01 --yes',
  ]);
  const positive = (flag: string) => (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a whole number of at least 1, not '${v}'.`);
    return n;
  };

  helpSections(
    group
      .command('contain')
      .description(
        "Stop authentication (the blueprint principal first; each agent identity and agent user), revoke sessions, grants, app roles and inheritable permissions, confirm the agents compromised in ID Protection, and export the evidence (objects before/after, sign-ins, audits, journal, summary.md) into a new folder. Re-run on the same folder to finish an interrupted run",
      )
      .option('--agent <agent>', 'agent identity: object id or name (repeatable)', collect)
      .option('--blueprint <blueprint>', 'blueprint: object id, appId or name (repeatable)', collect)
      .option('--agent-user <user>', 'agent user: object id, UPN or name (repeatable)', collect)
      .option('--out <dir>', 'evidence folder: created new (mode 0700), never overwritten')
      .option('--since <when>', 'sign-ins and audit events from this far back: 30m, 24h, 7d or a date', '7d')
      .option('--credentials', "also remove the blueprint's client secrets, certificates and federated credentials (cannot be undone; needs --yes)")
      .option('--concurrency <n>', '$batch requests in flight at once (default 8)', positive('--concurrency'))
      .addOption(dryRunOption())
      .addOption(yesOption())
      .action(async (raw) => contain(ctx, raw)),
    [
      'agentid incident contain --blueprint "Sales Agent" --out ./inc-42 --yes',
      'agentid incident contain --agent 5d8c… --agent 7e1a… --out ./inc-43 --since 24h --dry-run',
      'agentid incident contain --blueprint "Sales Agent" --credentials --out ./inc-44 --yes -o json',
    ],
    'AgentIdentityBlueprintPrincipal.EnableDisable.All, AgentIdentity.EnableDisable.All, User.EnableDisableAccount.All, User.RevokeSessions.All, DelegatedPermissionGrant.ReadWrite.All, AppRoleAssignment.ReadWrite.All, AgentIdentityBlueprint.ReadWrite.All, IdentityRiskyAgent.ReadWrite.All, AuditLog.Read.All',
  );

  helpSections(
    group
      .command('release')
      .description('Undo the reversible steps of a containment in reverse order: recreate revoked grants, assignments and inheritable permissions, re-enable exactly what was enabled before; appends to the folder')
      .argument('<dir>', 'the incident folder')
      .option('--concurrency <n>', '$batch requests in flight at once (default 8)', positive('--concurrency'))
      .addOption(dryRunOption())
      .addOption(yesOption())
      .action(async (dir: string, raw) => release(ctx, dir, raw)),
    ['agentid incident release ./inc-42 --yes', 'agentid incident release ./inc-42 --dry-run -o json'],
    'the permissions of the containment being released',
  );

  helpSections(
    group
      .command('status')
      .description('Summarise an incident folder: scope, who, when, time to containment, steps, evidence, release')
      .argument('<dir>', 'the incident folder')
      .action(async (dir: string) => status(ctx, dir)),
    ['agentid incident status ./inc-42', 'agentid incident status ./inc-42 -o json --query steps'],
    'none (it reads the incident folder; no Graph call)',
  );
}

// ---------------------------------------------------------------------------------------------

async function engine(ctx: CliContext, dir: string): Promise<{ client: GraphClient; engineClient: GraphClient; pacer: Pacer; baseDelayMs: number }> {
  const client = await ctx.graph();
  const { Pacer, timeScaleFromEnv } = await import('../graph/pacer.js');
  const { GraphClient } = await import('../graph/client.js');
  const { recordingTransport, FILES } = await import('../graph/incident.js');
  const scale = timeScaleFromEnv(ctx.env);
  // The engine retries per item and reconciles unknown outcomes; the client must not resend on its own.
  const engineClient = new GraphClient({ ...client.options, retry: { maxRetries: 0 }, transport: recordingTransport(client.options.transport, path.join(dir, FILES.requests)) });
  return { client, engineClient, pacer: new Pacer({ timeScale: scale }), baseDelayMs: 1000 / scale };
}

async function whoAmI(ctx: CliContext): Promise<{ by: string; tenant: string }> {
  const token = await ctx.accessToken();
  if (!token) return { by: 'unknown', tenant: 'unknown' };
  const { tokenClaims } = await import('../graph/credentials.js');
  const c = tokenClaims(token);
  const by = c.idtyp === 'app' ? `app ${String(c.app_displayname ?? '') || String(c.appid ?? c.azp)} (${String(c.appid ?? c.azp)})` : String(c.upn ?? c.preferred_username ?? c.name ?? c.oid);
  return { by, tenant: String(c.tid ?? 'unknown') };
}

async function resolveTargets(ctx: CliContext, client: GraphClient, kind: Targets['kind'], refs: string[]): Promise<Targets> {
  const r = await import('../graph/resolve.js');
  const chooser = ctx.chooser();
  const t: Targets = { kind, blueprints: [], agentIds: [], agentUserIds: [] };
  for (const ref of refs) {
    if (kind === 'blueprint') {
      const { getPrincipalByAppId } = await import('../graph/blueprints.js');
      const b = await r.resolveBlueprint(client, ref, chooser);
      const p = await getPrincipalByAppId(client, b.appId);
      if (!t.blueprints.some((x) => x.id === b.id)) t.blueprints.push({ id: b.id, appId: b.appId, principalId: p?.id ?? null });
    } else if (kind === 'agent') t.agentIds.push((await r.resolveAgent(client, ref, chooser)).id);
    else t.agentUserIds.push((await r.resolveAgentUser(client, ref, chooser)).id);
  }
  t.agentIds = [...new Set(t.agentIds)];
  t.agentUserIds = [...new Set(t.agentUserIds)];
  return t;
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
};

/** "disable 1 blueprint principal, 200 agent identities; revoke sessions 200 agent users; …" */
function describe(items: Item[], actionOf: (i: Item) => string): string {
  const m = new Map<string, Map<string, number>>();
  for (const i of items) {
    if (i.skip) continue;
    const a = actionOf(i);
    const byType = m.get(a) ?? new Map<string, number>();
    byType.set(i.objectType, (byType.get(i.objectType) ?? 0) + 1);
    m.set(a, byType);
  }
  return [...m].map(([a, byType]) => `${a} ${[...byType].map(([t, n]) => `${n} ${(NOUNS[t] ?? [t, `${t}s`])[n === 1 ? 0 : 1]}`).join(', ')}`).join('; ');
}

interface StepRow {
  step: string;
  status: 'done' | 'failed' | 'skipped' | 'unfinished' | 'planned';
  planned: number;
  done: number;
  skipped: number;
  failed: number;
  note: string | null;
}

function stepRows(rows: { key: string; status: string; phase: number; skip?: string | undefined }[], stepOf: Record<number, string>): StepRow[] {
  const out = new Map<string, StepRow>();
  for (const r of rows) {
    const step = stepOf[r.phase] ?? `phase-${r.phase}`;
    const s = out.get(step) ?? { step, status: 'done', planned: 0, done: 0, skipped: 0, failed: 0, note: null };
    s.planned++;
    if (r.status === 'done') s.done++;
    else if (r.status === 'skipped') {
      s.skipped++;
      if (r.skip && !s.note && r.skip !== 'already disabled') s.note = r.skip;
    } else if (r.status === 'failed') s.failed++;
    out.set(step, s);
  }
  for (const s of out.values()) {
    const left = s.planned - s.done - s.skipped - s.failed;
    s.status = s.failed ? 'failed' : left ? 'unfinished' : s.done === 0 && s.skipped > 0 && s.note ? 'skipped' : 'done';
  }
  return [...out.values()];
}

function ms(a: string | undefined, b: string | undefined): number | null {
  if (!a || !b) return null;
  return Date.parse(b) - Date.parse(a);
}

/** DIR is new (or empty), or holds this same incident (a re-run finishes it). */
function checkDir(dir: string, sameAs: (rec: IncidentRecord) => string | undefined, read: (d: string) => IncidentRecord | undefined): IncidentRecord | undefined {
  if (!existsSync(dir)) return undefined;
  if (!statSync(dir).isDirectory()) throw new UsageError(`--out ${dir} is a file; name a new folder for the evidence.`);
  let rec: IncidentRecord | undefined;
  try {
    rec = read(dir);
  } catch {
    throw new UsageError(`--out ${dir} holds an unreadable incident.json; name a new folder.`);
  }
  if (!rec) {
    if (readdirSync(dir).some((f) => !f.endsWith('.partial'))) throw new UsageError(`--out ${dir} exists and is not an incident folder; name a new folder (evidence is never written over other files).`);
    return undefined;
  }
  const why = sameAs(rec);
  if (why) throw new UsageError(`--out ${dir} holds incident ${rec.id}, ${why}; re-run it with the same options to finish it, or name a new folder.`);
  return rec;
}

async function contain(ctx: CliContext, raw: Record<string, unknown>): Promise<void> {
  const startedAt = new Date().toISOString();
  const o = parseOptions(ContainSchema, raw);
  await ctx.checkOutputOptions();
  const inc = await import('../graph/incident.js');
  const bulk = await import('../graph/bulk.js');
  const { readJournal, JournalWriter } = await import('../graph/journal.js');
  const { parseWhen, WhenError } = await import('../graph/logs.js');
  let since: string;
  try {
    since = parseWhen(o.since, new Date(), '--since');
  } catch (err) {
    if (err instanceof WhenError) throw new UsageError(err.message);
    throw err;
  }
  const kind: Targets['kind'] = o.blueprint?.length ? 'blueprint' : o.agent?.length ? 'agent' : 'agentUser';
  const refs = (o.blueprint ?? o.agent ?? o.agentUser)!;
  const dir = path.resolve(o.out!);
  const m = await ctx.messenger();
  const client = await ctx.graph();
  const existing = checkDir(
    dir,
    (rec) => {
      if (rec.request.kind !== kind || rec.request.refs.join('\u0000') !== refs.join('\u0000') || rec.request.credentials !== !!o.credentials) return 'which was contained with other options';
      if (rec.target !== client.baseUrl) return `which was written against ${rec.target}, not ${client.baseUrl}`;
      return undefined;
    },
    inc.readIncident,
  );
  const journalFile = path.join(dir, inc.FILES.journal);
  const revokeFile = path.join(dir, inc.FILES.revokeJournal);
  const planned = (file: string) => {
    if (!existing || !existsSync(file)) return false;
    try {
      return readJournal(file).planned;
    } catch {
      return false;
    }
  };
  const journalPlanned = planned(journalFile);
  const isStop = (i: Item) => i.phase <= inc.PHASE.sessions;

  // Plan the first journal (or pick up the interrupted run's): the identities are all it needs.
  // Who runs this run (a resumed incident may be finished by someone else: the timeline says so).
  const { by, tenant } = await whoAmI(ctx);
  // A resumed incident keeps the window it started with.
  if (existing) since = existing.window.since;
  const targets = existing?.targets ?? (await resolveTargets(ctx, client, kind, refs));
  const { Pacer, timeScaleFromEnv } = await import('../graph/pacer.js');
  const planPacer = new Pacer({ timeScale: timeScaleFromEnv(ctx.env) });
  let before: Snapshot | undefined;
  let items: Item[];
  if (journalPlanned) {
    items = readJournal<import('../graph/bulk.js').Op>(journalFile).items.map((s) => s.item);
  } else {
    before = await inc.readIdentities(client, targets, planPacer);
    items = inc.planIncident(targets, before, { credentials: !!o.credentials }).filter(isStop);
  }
  const authPhase = kind === 'blueprint' ? inc.PHASE.principal : inc.PHASE.identities;
  if (o.dryRun) {
    // Without the pressure of a live run, the dry run reads everything and shows every step.
    const full = inc.planIncident(targets, await inc.readAccess(client, targets, before ?? (await inc.readIdentities(client, targets, planPacer)), planPacer), { credentials: !!o.credentials });
    const plan = full.map((i) => ({ step: inc.STEP_OF_PHASE[i.phase], phase: i.phase, action: bulk.actionOf(i.op), objectType: i.objectType, objectId: i.objectId ?? null, name: i.label, blueprint: i.blueprint ?? null, skip: i.skip ?? null }));
    const steps = stepRows(full.map((i) => ({ key: i.key, phase: i.phase, status: i.skip ? 'skipped' : 'pending', skip: i.skip })), inc.STEP_OF_PHASE).map((s) => ({ ...s, status: 'planned' as const }));
    await ctx.print({ dryRun: true, out: dir, scope: kind, since, credentials: !!o.credentials, changes: full.filter((i) => !i.skip).length, steps, items: plan }, STEP_COLUMNS, steps);
    m.info(`Dry run: nothing was changed and ${dir} was not created. Then: export sign-ins and audit events since ${since} into it.`);
    return;
  }
  const changes = items.filter((i) => !i.skip);
  if (journalPlanned) {
    const left = [journalFile, revokeFile].filter(existsSync).flatMap((f) => readJournal(f).items).filter((s) => s.status === 'pending' || s.status === 'uncertain' || s.status === 'failed').length;
    await confirm(ctx, o.yes, `Resume incident ${existing!.id} in ${dir}: ${left} planned change(s) left${planned(revokeFile) ? '' : ', then the revoke step'}, then the evidence. Proceed?`);
  } else {
    const already = items.filter((i) => i.skip === 'already disabled').length;
    const principals = before!.principals.length + before!.agents.length;
    const revokeNote = principals ? `; then revoke the grants and app role assignments of ${principals} principal(s)${kind === 'blueprint' ? ', the inheritable permissions' : ''}${o.credentials ? ' and the credentials (cannot be restored)' : ''} of ${kind === 'blueprint' ? 'the blueprint' : 'them'} (read once authentication is stopped; --dry-run lists them)` : '';
    const risky = before!.agents.length + before!.agentUsers.length;
    const riskNote = risky ? `; then confirm ${risky} agent${risky === 1 ? '' : 's'} compromised in ID Protection (not undone by a release)` : '';
    await confirm(ctx, o.yes, `Contain (${kind === 'agentUser' ? 'agent users' : kind === 'agent' ? 'agents' : 'blueprints'}: ${refs.join(', ')}): ${describe(items, (i) => bulk.actionOf(i.op)) || 'nothing to disable'}${already ? ` (${already} already disabled)` : ''}${revokeNote}${riskNote}. Evidence into ${dir}. Proceed?`);
  }
  const confirmedAt = new Date().toISOString();

  // The folder: created new, 0700; the record first, so a re-run knows it.
  let rec = existing;
  if (!rec) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    await fsp.chmod(dir, 0o700);
    rec = { v: 1, id: bulk.newRunId(), createdAt: startedAt, request: { kind, refs, credentials: !!o.credentials, since: o.since }, targets, target: client.baseUrl, by, tenant, window: { since } };
    await inc.writeJsonAtomic(path.join(dir, inc.FILES.incident), rec);
  }
  inc.appendTimeline(dir, { at: startedAt, event: existing ? 'resumed' : 'started', by });
  inc.appendTimeline(dir, { at: confirmedAt, event: 'confirmed', changes: changes.length });
  const { engineClient, pacer, baseDelayMs } = await engine(ctx, dir);
  const jobArgs = { incident: rec.id, scope: kind, refs, credentials: !!o.credentials, target: client.baseUrl };
  let writer: JournalWriter;
  if (journalPlanned) writer = await JournalWriter.append(journalFile);
  else {
    await inc.writeJsonAtomic(path.join(dir, inc.FILES.before), before);
    // A journal cut off while its plan was written changed nothing: it is planned again.
    if (existsSync(journalFile)) rmSync(journalFile);
    writer = await bulk.startJournal(journalFile, 'incident-contain', jobArgs, items);
  }
  m.info(`Incident ${rec.id}: ${dir}`);
  const interrupted = () => new CancelledError(`Interrupted. Finish it with the same command (agentid incident contain … --out ${dir} --yes), or agentid bulk resume of ${journalFile} and ${revokeFile}.`);
  const first = await runOrSkip(ctx, journalFile, writer, engineClient, pacer, baseDelayMs, o.concurrency);
  if (first.interrupted) throw interrupted();
  inc.appendTimeline(dir, { at: new Date().toISOString(), event: 'authentication-stopped' });

  // The revoke step: what the (now disabled) principals and agents hold, read and journaled.
  const beforeFile = path.join(dir, inc.FILES.before);
  if (!planned(revokeFile)) {
    const identities = JSON.parse(await fsp.readFile(beforeFile, 'utf8')) as Snapshot;
    const full = await inc.readAccess(client, targets, identities, planPacer);
    await inc.writeJsonAtomic(beforeFile, full);
    if (existsSync(revokeFile)) rmSync(revokeFile);
    writer = await bulk.startJournal(revokeFile, 'incident-revoke', jobArgs, inc.planIncident(targets, full, { credentials: !!o.credentials }).filter((i) => !isStop(i)));
  } else writer = await JournalWriter.append(revokeFile);
  const second = await runOrSkip(ctx, revokeFile, writer, engineClient, pacer, baseDelayMs, o.concurrency);
  if (second.interrupted) throw interrupted();
  inc.appendTimeline(dir, { at: new Date().toISOString(), event: 'changes-finished' });

  // Time to containment: from the start of the first run to the last authentication-stopping
  // write acknowledged (its outcome in the journal).
  const times = inc.doneTimes(journalFile);
  const journal = readJournal(journalFile);
  const revokeJournal = readJournal(revokeFile);
  const authItems = journal.items.filter((s) => s.item.phase === authPhase);
  const authDone = authItems.map((s) => times.get(s.item.key)).filter((t): t is string => !!t).sort();
  const timeline = inc.readTimeline(dir);
  const firstConfirm = timeline.find((e) => e.event === 'confirmed')?.at ?? confirmedAt;
  const containedAt = authDone.at(-1) ?? (authItems.length && authItems.every((s) => s.status === 'skipped') ? firstConfirm : undefined);
  const firstStart = timeline.find((e) => e.event === 'started')?.at ?? rec.createdAt;
  const identityDone = journal.items.filter((s) => s.item.phase <= inc.PHASE.identities).map((s) => times.get(s.item.key)).filter((t): t is string => !!t).sort().at(-1);
  const allItems = [...journal.items, ...revokeJournal.items];
  const rows = [...first.rows, ...second.rows];

  // Evidence: the objects after, the sign-ins and audits of the window.
  const failedSteps: string[] = [];
  const evidence: Record<string, number | string> = {};
  const until = new Date().toISOString();
  try {
    const after = await inc.readSnapshot(client, targets, planPacer);
    await inc.writeJsonAtomic(path.join(dir, inc.FILES.after), after);
    const beforeSnap = JSON.parse(await fsp.readFile(beforeFile, 'utf8')) as Snapshot;
    evidence.signIns = await inc.exportSignIns(client, path.join(dir, inc.FILES.signIns), targets, beforeSnap, since, until);
    evidence.auditEvents = await inc.exportAudits(client, path.join(dir, inc.FILES.audits), [beforeSnap, after], since, until);
  } catch (err) {
    failedSteps.push('evidence');
    evidence.error = `${(err as { code?: string }).code ?? 'Error'}: ${(err as Error).message}${(err as { requestId?: string }).requestId ? ` (request-id ${(err as { requestId?: string }).requestId})` : ''}`;
  }
  const byKey = new Map(allItems.map((st) => [st.item.key, st]));
  const steps = stepRows(allItems.map((s) => ({ key: s.item.key, phase: s.item.phase, status: s.status, skip: s.item.skip })), inc.STEP_OF_PHASE);
  // In the order of the steps, the evidence (step 4) last.
  failedSteps.unshift(...steps.filter((s) => s.status === 'failed').map((s) => s.step));
  const finishedAt = new Date().toISOString();
  inc.appendTimeline(dir, { at: finishedAt, event: 'finished', failedSteps });
  const report = {
    incident: rec.id,
    out: dir,
    scope: kind,
    targets: refs,
    by: rec.by === by ? by : `${rec.by} (started), ${by} (finished)`,
    tenant,
    startedAt: firstStart,
    confirmedAt: firstConfirm,
    containedAt: containedAt ?? null,
    identitiesDisabledAt: identityDone ?? null,
    finishedAt,
    timeToContainmentMs: ms(firstStart, containedAt),
    containmentAfterConfirmationMs: ms(firstConfirm, containedAt),
    identitiesAfterConfirmationMs: ms(firstConfirm, identityDone),
    window: { since, until },
    steps,
    evidence,
    failedSteps: [...new Set(failedSteps)],
    failures: rows.filter((r) => r.status === 'failed').map((r) => ({ step: inc.STEP_OF_PHASE[byKey.get(r.key)?.item.phase ?? -1] ?? '', name: r.name, objectId: r.objectId, detail: r.detail, requestId: r.requestId })),
  };
  await fsp.writeFile(path.join(dir, inc.FILES.summary), summaryMarkdown(report, dir, inc.readRequests(dir)), { mode: 0o600 });
  await ctx.print(report, STEP_COLUMNS, steps);
  if (report.timeToContainmentMs !== null) m.info(`Time to containment: ${(report.timeToContainmentMs / 1000).toFixed(3)} s from start (${((report.containmentAfterConfirmationMs ?? 0) / 1000).toFixed(3)} s after confirmation).`);
  if (report.failedSteps.length) throw new OperationError(`Step${report.failedSteps.length > 1 ? 's' : ''} ${report.failedSteps.map((s) => `'${s}'`).join(', ')} failed (see ${path.join(dir, inc.FILES.summary)}). Fix the cause, then run the same command again to finish.`);
  m.success(`Contained. Evidence: ${dir} (release with agentid incident release ${dir})`);
}

/** Runs a journal's outstanding items; one that is finished already is only reported. */
async function runOrSkip(ctx: CliContext, file: string, writer: JournalWriter, client: GraphClient, pacer: Pacer, baseDelayMs: number, concurrency?: number): Promise<{ rows: RowReport[]; interrupted: boolean }> {
  const { readJournal } = await import('../graph/journal.js');
  const bulk = await import('../graph/bulk.js');
  const j = readJournal<import('../graph/bulk.js').Op>(file);
  if (j.ended && !j.items.some((s) => s.status === 'failed' || s.status === 'pending' || s.status === 'uncertain')) {
    await writer.close();
    return { rows: bulk.report(j), interrupted: false };
  }
  return runWithProgress(ctx, file, writer, client, pacer, baseDelayMs, concurrency);
}

async function runWithProgress(ctx: CliContext, file: string, writer: JournalWriter, client: GraphClient, pacer: Pacer, baseDelayMs: number, concurrency?: number): Promise<{ rows: RowReport[]; interrupted: boolean }> {
  const bulk = await import('../graph/bulk.js');
  const { createProgress } = await import('../output/progress.js');
  const progress = createProgress(ctx.io.stderr, { tty: !!ctx.io.stderr.isTTY, quiet: !!ctx.globals.quiet });
  const abort = new AbortController();
  const onSignal = () => abort.abort(new CancelledError());
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const r = await bulk.runJournal(file, writer, { client, pacer, baseDelayMs, ...(concurrency ? { concurrency } : {}), signal: abort.signal, onProgress: (p) => progress.update(p) });
    return { rows: r.rows, interrupted: r.interrupted };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress.finish();
    await writer.close();
  }
}

/** "2026-05-01 10:11:12.345 UTC": always with milliseconds (a --since bound has none of its own). */
const utc = (iso: string | null | undefined) => (iso && !Number.isNaN(Date.parse(iso)) ? new Date(iso).toISOString().replace('T', ' ').replace('Z', ' UTC') : '—');

type Failure = { step: string; name: string; objectId: string | null; detail: string | null; requestId: string | null };

const failureLine = (f: Failure) => `- ${f.step ? `${f.step}: ` : ''}${f.name}${f.objectId ? ` (${f.objectId})` : ''}: ${f.detail ?? ''}${f.requestId ? ` — request-id ${f.requestId}` : ''}`;

/** The request-ids Microsoft support asks for: one line per request that carried the changes. */
function requestLines(reqs: RequestRecord[]): string[] {
  if (!reqs.length) return ['None.'];
  return ['| Time (UTC) | Request | Status | request-id |', '|---|---|---|---|', ...reqs.map((q) => `| ${utc(q.at)} | ${q.method} ${q.path} | ${q.status} | ${q.requestId ?? '—'} |`)];
}

function summaryMarkdown(r: Record<string, any>, dir: string, requests: RequestRecord[]): string {
  const failures = r.failures as Failure[];
  const lines = [
    `# Incident ${r.incident}`,
    '',
    `- Scope: ${r.scope} — ${(r.targets as string[]).join(', ')}`,
    `- By: ${r.by} (tenant ${r.tenant})`,
    `- Started: ${utc(r.startedAt)}`,
    `- Confirmed: ${utc(r.confirmedAt)}`,
    `- Authentication stopped: ${utc(r.containedAt)}${r.timeToContainmentMs !== null ? ` — time to containment ${(r.timeToContainmentMs / 1000).toFixed(3)} s from start, ${(r.containmentAfterConfirmationMs / 1000).toFixed(3)} s after confirmation` : ''}`,
    `- Every agent identity and agent user disabled: ${utc(r.identitiesDisabledAt)}`,
    `- Finished: ${utc(r.finishedAt)}`,
    `- Evidence window: ${utc(r.window.since)} to ${utc(r.window.until)}`,
    '',
    '## Steps',
    '',
    '| Step | Status | Planned | Done | Unchanged | Failed | Note |',
    '|---|---|---|---|---|---|---|',
    ...(r.steps as StepRow[]).map((s) => `| ${s.step} | ${s.status} | ${s.planned} | ${s.done} | ${s.skipped} | ${s.failed} | ${s.note ?? ''} |`),
    '',
    '## Failures',
    '',
    ...failures.map(failureLine),
    ...(r.evidence.error ? [`- evidence: ${r.evidence.error}`] : []),
    ...(failures.length || r.evidence.error ? [] : ['None.']),
    '',
    '## Requests',
    '',
    ...requestLines(requests),
    '',
    '## Evidence',
    '',
    `- before.json, after.json: the objects before and after (no secret or key; credentials as summaries)`,
    `- signins.ndjson: ${r.evidence.signIns ?? '?'} sign-in(s) of the affected objects in the window`,
    `- audit.ndjson: ${r.evidence.auditEvents ?? '?'} audit event(s) targeting them, the containment's own included`,
    `- journal.jsonl (stop authentication, revoke sessions) and journal-revoke.jsonl (grants, assignments, inheritable permissions, credentials, risk): every planned change, its state before, and its outcome (agentid bulk status ${path.join(dir, 'journal.jsonl')})`,
    `- requests.ndjson: method, path, status and request-id of every request that carried the changes`,
    `- timeline.ndjson: when each run started, was confirmed and finished`,
    '',
  ];
  return lines.join('\n');
}

async function release(ctx: CliContext, dirArg: string, raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(ReleaseSchema, raw);
  await ctx.checkOutputOptions();
  const dir = path.resolve(dirArg);
  const inc = await import('../graph/incident.js');
  const bulk = await import('../graph/bulk.js');
  const { readJournal, JournalWriter } = await import('../graph/journal.js');
  const rec = loadIncident(dir, inc.readIncident);
  const journalFile = path.join(dir, inc.FILES.journal);
  if (!existsSync(journalFile)) throw new UsageError(`${dir} holds no journal.jsonl: the containment changed nothing, so there is nothing to release.`);
  const client = await ctx.graph();
  if (rec.target !== client.baseUrl) throw new UsageError(`Incident ${rec.id} was contained in ${rec.target}, but agentid now talks to ${client.baseUrl}; point it at the same tenant first.`);
  const m = await ctx.messenger();
  const contained = readJournal<import('../graph/bulk.js').Op>(journalFile);
  const revokeFile = path.join(dir, inc.FILES.revokeJournal);
  const revoked = existsSync(revokeFile) ? readJournal<import('../graph/bulk.js').Op>(revokeFile) : undefined;
  const releaseFile = path.join(dir, inc.FILES.releaseJournal);
  const resuming = existsSync(releaseFile) && (() => {
    try {
      return readJournal(releaseFile).planned;
    } catch {
      return false;
    }
  })();
  // The revoke step is put back first (grants before identities come back), then the identities,
  // the principal last: each journal's undo reverses its phases, the second runs after the first.
  const undoRevoke = revoked ? bulk.planUndo(revoked) : { items: [], irreversible: [] };
  const undoStop = bulk.planUndo(contained);
  const offset = undoRevoke.items.length ? Math.max(...undoRevoke.items.map((i) => i.phase)) + 1 : 0;
  const items = [...undoRevoke.items, ...undoStop.items.map((i) => ({ ...i, phase: i.phase + offset }))];
  const irreversible = [...undoRevoke.irreversible, ...undoStop.irreversible];
  // What cannot come back, one line per kind, before anything is asked or done.
  const refused = new Map<string, { reason: string; n: number; objectType: string }>();
  for (const i of irreversible) {
    const k = `${i.item.op.kind}`;
    const e = refused.get(k) ?? { reason: i.reason, n: 0, objectType: i.item.objectType };
    // A risk item confirms up to 60 agents: count the agents.
    e.n += i.item.op.kind === 'confirmCompromised' ? i.item.op.agentIds.length : 1;
    refused.set(k, e);
  }
  for (const e of refused.values()) m.warn(`Cannot come back: ${e.n} ${refusedNoun(e)}: ${e.reason}.`);
  const pending = [...contained.items, ...(revoked?.items ?? [])].filter((s) => s.status === 'pending' || s.status === 'uncertain').length;
  if (pending) m.warn(`The containment has ${pending} unfinished change(s); release puts back only what it finished.`);
  if (o.dryRun) {
    await ctx.print({ dryRun: true, incident: rec.id, changes: items.length, cannotComeBack: [...refused.values()], items: items.map((i) => ({ phase: i.phase, action: bulk.actionOf(i.op), objectType: i.objectType, objectId: i.objectId ?? null, name: i.label })) });
    m.info('Dry run: nothing was changed.');
    return;
  }
  if (!items.length && !resuming) {
    m.info('Nothing to release: the containment changed nothing that can be put back.');
    return;
  }
  await confirm(ctx, o.yes, resuming ? `Resume the release of incident ${rec.id}?` : `Release incident ${rec.id}: ${items.length} change(s) — ${describe(items, (i) => bulk.actionOf(i.op))}. Proceed?`);
  const startedAt = new Date().toISOString();
  const { by } = await whoAmI(ctx);
  inc.appendTimeline(dir, { at: startedAt, event: resuming ? 'release-resumed' : 'release-started', by });
  const { engineClient, pacer, baseDelayMs } = await engine(ctx, dir);
  let writer: JournalWriter;
  if (resuming) writer = await JournalWriter.append(releaseFile);
  else {
    if (existsSync(releaseFile)) rmSync(releaseFile);
    writer = await bulk.startJournal(releaseFile, 'undo', { incident: rec.id, undoOf: journalFile, target: client.baseUrl }, items, journalFile);
  }
  const result = await runWithProgress(ctx, releaseFile, writer, engineClient, pacer, baseDelayMs, o.concurrency);
  if (result.interrupted) throw new CancelledError(`Interrupted. Finish it with: agentid incident release ${dir} --yes`);
  const { Pacer, timeScaleFromEnv } = await import('../graph/pacer.js');
  const after = await inc.readSnapshot(client, rec.targets, new Pacer({ timeScale: timeScaleFromEnv(ctx.env) }));
  await inc.writeJsonAtomic(path.join(dir, inc.FILES.afterRelease), after);
  const finishedAt = new Date().toISOString();
  const failed = result.rows.filter((r) => r.status === 'failed');
  inc.appendTimeline(dir, { at: finishedAt, event: 'release-finished', failed: failed.length });
  const section = [
    '',
    `## Release (${utc(startedAt)})`,
    '',
    `- By: ${by}`,
    `- Finished: ${utc(finishedAt)}`,
    `- Put back: ${result.rows.filter((r) => r.status === 'done').length} of ${result.rows.length} change(s) (release-journal.jsonl; objects after: after-release.json)`,
    ...[...refused.values()].map((e) => `- Not put back: ${e.n} ${refusedNoun(e)}: ${e.reason}`),
    ...failed.map((f) => failureLine({ step: 'Failed', name: f.name, objectId: f.objectId, detail: f.detail, requestId: f.requestId })),
    '',
    '### Requests of the release',
    '',
    ...requestLines(inc.readRequests(dir).filter((q) => q.at >= startedAt)),
    '',
  ];
  await fsp.appendFile(path.join(dir, inc.FILES.summary), section.join('\n'), { mode: 0o600 });
  await ctx.print(result.rows, [
    { key: 'status', header: 'Status' },
    { key: 'action', header: 'Action' },
    { key: 'objectType', header: 'Type' },
    { key: 'name', header: 'Name' },
    { key: 'objectId', header: 'Object id' },
    { key: 'detail', header: 'Detail' },
  ]);
  if (failed.length) throw new OperationError(`${failed.length} of ${result.rows.length} change(s) of the release failed (listed above). Fix the cause, then: agentid incident release ${dir} --yes`);
  m.success(`Released incident ${rec.id}: ${result.rows.filter((r) => r.status === 'done').length} change(s) put back. Appended to ${path.join(dir, inc.FILES.summary)}.`);
}

function refusedNoun(e: { n: number; objectType: string }): string {
  if (e.objectType === 'agentUser') return "agent users' sign-in sessions";
  if (e.objectType === 'riskyAgent') return e.n === 1 ? "agent's confirmed compromise" : "agents' confirmed compromise";
  return (NOUNS[e.objectType] ?? [e.objectType, `${e.objectType}s`])[e.n === 1 ? 0 : 1]!;
}

function loadIncident(dir: string, read: (d: string) => IncidentRecord | undefined): IncidentRecord {
  let rec: IncidentRecord | undefined;
  try {
    rec = existsSync(dir) ? read(dir) : undefined;
  } catch {
    throw new UsageError(`${dir}/incident.json is unreadable.`);
  }
  if (!rec) throw new UsageError(`${dir} is not an incident folder (no incident.json); name the folder agentid incident contain --out wrote.`);
  return rec;
}

async function status(ctx: CliContext, dirArg: string): Promise<void> {
  await ctx.checkOutputOptions();
  const dir = path.resolve(dirArg);
  const inc = await import('../graph/incident.js');
  const { readJournal } = await import('../graph/journal.js');
  const rec = loadIncident(dir, inc.readIncident);
  const timeline = inc.readTimeline(dir);
  const journalFile = path.join(dir, inc.FILES.journal);
  const j = existsSync(journalFile) ? readJournal(journalFile) : undefined;
  const revokeFile = path.join(dir, inc.FILES.revokeJournal);
  const vj = existsSync(revokeFile) ? readJournal(revokeFile) : undefined;
  const steps = stepRows([...(j?.items ?? []), ...(vj?.items ?? [])].map((s) => ({ key: s.item.key, phase: s.item.phase, status: s.status, skip: s.item.skip })), inc.STEP_OF_PHASE);
  const releaseFile = path.join(dir, inc.FILES.releaseJournal);
  const rj = existsSync(releaseFile) ? readJournal(releaseFile) : undefined;
  const finished = timeline.filter((e) => e.event === 'finished').at(-1) as { failedSteps?: string[]; at: string } | undefined;
  const state = rj
    ? rj.ended
      ? 'released'
      : 'release unfinished (agentid incident release DIR)'
    : !j || !j.ended || !vj || !vj.ended
      ? 'containment unfinished (run the same contain command again)'
      : finished?.failedSteps?.length
        ? `contained, with failed steps: ${finished.failedSteps.join(', ')}`
        : finished
          ? 'contained'
          : 'changes done, evidence unfinished (run the same contain command again)';
  const lines = (f: string) => {
    const p = path.join(dir, f);
    return existsSync(p) ? (statSync(p).size ? (readFileSync(p, 'utf8').match(/\n/g)?.length ?? 0) : 0) : null;
  };
  const authPhase = rec.targets.kind === 'blueprint' ? 0 : 1;
  const times = inc.doneTimes(journalFile);
  const containedAt = j?.items.filter((s) => s.item.phase === authPhase).map((s) => times.get(s.item.key)).filter((t): t is string => !!t).sort().at(-1);
  const data = {
    incident: rec.id,
    dir,
    state,
    scope: rec.request.kind,
    targets: rec.request.refs,
    by: rec.by,
    startedAt: rec.createdAt,
    containedAt: containedAt ?? null,
    timeToContainmentMs: ms(rec.createdAt, containedAt),
    steps,
    evidence: { signIns: lines(inc.FILES.signIns), auditEvents: lines(inc.FILES.audits), before: existsSync(path.join(dir, inc.FILES.before)), after: existsSync(path.join(dir, inc.FILES.after)) },
    release: rj ? { state: rj.ended ? 'finished' : 'unfinished', done: rj.items.filter((s) => s.status === 'done').length, failed: rj.items.filter((s) => s.status === 'failed').length, total: rj.items.length } : null,
  };
  await ctx.print(data, STEP_COLUMNS, steps.length ? steps : [{ step: '(none)', status: state }]);
  (await ctx.messenger()).info(`Incident ${rec.id}: ${state}.`);
}
