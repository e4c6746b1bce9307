import { Command, Option } from 'commander';
import { z } from 'zod';
import { promises as fsp } from 'node:fs';
import type { CliContext } from '../context.js';
import { NotFoundError, UsageError } from '../errors.js';
import * as bp from '../graph/blueprints.js';
import type { InheritablePermission } from '../graph/models.js';
import { createSelfSignedCertificate, readCertificate, summarizeKeyCredential, type CertificateInfo } from '../graph/certificates.js';
import { resolvePrincipal } from '../graph/directory.js';
import { resolveBlueprint } from '../graph/resolve.js';
import { isGuid, odataString } from '../graph/paths.js';
import { listFilterOptions, collect, confirm, dryRunOption, helpSections, parseOptions, printPlan, required, topOption, yesOption } from './shared.js';

const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
const BLUEPRINT_COLUMNS = [
  { key: 'displayName', header: 'Name' },
  { key: 'id', header: 'Object id' },
  { key: 'appId', header: 'App id' },
  { key: 'uniqueName', header: 'Unique name' },
  { key: 'createdDateTime', header: 'Created' },
];

// --- schemas (exported for tests) ---------------------------------------------------------------

const name = z.string().trim().min(1, 'The name cannot be empty.').max(256, 'A blueprint name is at most 256 characters (Graph limit).');

const SPONSOR_REQUIRED = 'At least one --sponsor is required: a UPN, a user or group object id, or "me".';

export const CreateSchema = z.object({
  name,
  // The message also covers a missing --sponsor: commander leaves the option undefined, which
  // zod would otherwise report as 'expected array, received undefined'.
  sponsor: z.array(z.string(), { error: SPONSOR_REQUIRED }).min(1, SPONSOR_REQUIRED),
  owner: z.array(z.string()).default([]),
  description: z.string().max(1024, '--description is at most 1024 characters (Graph limit).').optional(),
  uniqueName: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$/, '--unique-name takes letters, digits, dot, dash and underscore (at most 120), starting with a letter or digit.')
    .optional(),
  dryRun: z.boolean().optional(),
});

export const UpdateSchema = z
  .object({ name: name.optional(), description: z.string().max(1024, '--description is at most 1024 characters (Graph limit).').optional() })
  .refine((o) => o.name !== undefined || o.description !== undefined, { message: 'Nothing to update: pass --name and/or --description.' });

export const SecretSchema = z.object({
  displayName: z.string().max(256).optional(),
  expires: z.string().optional(),
  secretFile: z.string().min(1).optional(),
});

export const CertificateSchema = z
  .object({
    certificate: z.string().min(1, '--certificate needs the path of a PEM or DER (.cer) file.').optional(),
    createCertificate: z.boolean().optional(),
    keyFile: z.string().min(1).optional(),
    years: z.coerce
      .number({ error: '--years takes a whole number of years from 1 to 10.' })
      .int('--years takes a whole number of years from 1 to 10.')
      .min(1, '--years takes a whole number of years from 1 to 10.')
      .max(10, '--years takes a whole number of years from 1 to 10.')
      .optional(),
    displayName: z.string().min(1).max(256, '--display-name is at most 256 characters.').optional(),
  })
  .refine((o) => !(o.certificate && o.createCertificate), { message: 'Use either --certificate PATH (an existing certificate) or --create-certificate, not both.' })
  .refine((o) => !o.createCertificate || o.keyFile, { message: '--create-certificate needs --key-file PATH: the new file that receives the certificate and its private key.' })
  .refine((o) => o.createCertificate || (o.keyFile === undefined && o.years === undefined), { message: '--key-file and --years only go with --create-certificate.' });

export const FederatedSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,119}$/, '--name takes letters, digits, dash and underscore (at most 120 characters).'),
  issuer: z.url({ message: '--issuer must be the issuer URL of the token (e.g. https://token.actions.githubusercontent.com).' }),
  subject: z.string().min(1, '--subject is required (e.g. repo:contoso/app:ref:refs/heads/main).').max(600),
  audience: z.string().min(1).default('api://AzureADTokenExchange'),
  description: z.string().max(600).optional(),
});

export const PermissionAddSchema = z
  .object({
    resource: z.string().min(1),
    scopes: z.array(z.string().regex(/^[A-Za-z0-9._-]+$/, 'Scope names are like User.Read or Mail.Send.')).optional(),
    all: z.boolean().optional(),
    none: z.boolean().optional(),
  })
  .refine((o) => [o.scopes?.length ? 1 : 0, o.all ? 1 : 0, o.none ? 1 : 0].reduce((a, b) => a + b) === 1, {
    message: 'Give exactly one of --scopes a,b, --all or --none.',
  });

/** `--expires 90d|12m|1y|ISO-date` → ISO end date; Graph allows at most two years for secrets here. */
export function expiryToIso(expires: string | undefined, now = new Date()): string | undefined {
  if (!expires) return undefined;
  const m = /^(\d+)([dmy])$/i.exec(expires.trim());
  if (m) {
    const n = Number(m[1]);
    const d = new Date(now);
    const unit = m[2]!.toLowerCase();
    if (unit === 'd') d.setUTCDate(d.getUTCDate() + n);
    if (unit === 'm') d.setUTCMonth(d.getUTCMonth() + n);
    if (unit === 'y') d.setUTCFullYear(d.getUTCFullYear() + n);
    return d.toISOString();
  }
  const t = Date.parse(expires);
  if (Number.isNaN(t) || t <= now.getTime()) throw new UsageError(`--expires '${expires}' is neither a duration (90d, 6m, 1y) nor a future date.`);
  return new Date(t).toISOString();
}

function resourceAppId(resource: string): string {
  const r = resource.trim().toLowerCase();
  if (r === 'graph' || r === 'microsoft-graph') return GRAPH_APP_ID;
  if (!isGuid(r)) throw new UsageError(`--resource must be the resource's appId (a GUID) or "graph", not '${resource}'.`);
  return r;
}

// --- commands ------------------------------------------------------------------------------------

export function register(program: Command, ctx: CliContext): void {
  const group = helpSections(program.command('blueprint').description('Create and manage agent identity blueprints, their principals, credentials and inheritable permissions'), [
    'agentid blueprint create --name "Sales Agent" --sponsor me --unique-name sales-agent',
    'agentid blueprint list -o table',
    'agentid blueprint credential add "Sales Agent" --secret-file ./sales.secret',
    'agentid blueprint permission add "Sales Agent" --resource graph --scopes User.Read',
  ]);

  helpSections(
    group
      .command('create')
      .description('Create an agent identity blueprint and its blueprint principal')
      .option('--name <name>', 'display name')
      .option('--sponsor <user-or-group>', 'sponsor: UPN, object id or "me" (repeatable, at least one)', collect)
      .option('--owner <user>', 'owner: UPN, object id or "me" (repeatable)', collect)
      .option('--description <text>', 'description')
      .option('--unique-name <name>', 'client-provided unique name; re-running with it changes nothing')
      .addOption(dryRunOption())
      .action(async (raw) => {
        raw.name = await required(ctx, raw.name, '--name', 'Blueprint name');
        const o = parseOptions(CreateSchema, raw);
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const sponsors = await Promise.all(o.sponsor.map((s) => resolvePrincipal(client, s)));
        const owners = await Promise.all(o.owner.map((s) => resolvePrincipal(client, s)));
        if (owners.some((w) => w.kind === 'group')) throw new UsageError('Owners must be users (or service principals), not groups.');
        const { checkNameFree } = await import('./duplicates.js');
        const sameName = (await bp.listBlueprints(client, { filter: `displayName eq ${odataString(o.name)}` })).filter((b) => !o.uniqueName || b.uniqueName !== o.uniqueName);
        await checkNameFree(ctx, 'blueprint', o.name, 'in this tenant', sameName);
        if (o.dryRun) {
          return printPlan(ctx, { action: 'create blueprint', displayName: o.name, uniqueName: o.uniqueName ?? null, sponsors, owners });
        }
        const r = await bp.createBlueprint(client, { displayName: o.name, description: o.description, uniqueName: o.uniqueName, sponsors, owners });
        const m = await ctx.messenger();
        if (r.created) m.success(`Created blueprint '${r.blueprint.displayName}' (appId ${r.blueprint.appId}) and its principal.`);
        else m.info(`Blueprint with unique name '${o.uniqueName}' already exists; ${r.principalCreated ? 'created its missing principal' : 'nothing changed'}.`);
        // Issue 12: one shape in every format, the shape of `blueprint show` plus `created`: the
        // blueprint's own properties at the top (so --query appId works), its principal nested.
        await ctx.print({ ...r.blueprint, principal: r.principal, created: r.created });
      }),
    [
      'agentid blueprint create --name "Sales Agent" --sponsor meganb@contoso.onmicrosoft.com',
      'agentid blueprint create --name "Support Agent" --sponsor me --owner adelev@contoso.onmicrosoft.com --unique-name support-agent',
      'agentid blueprint create --name "Finance Agent" --sponsor 7a2b0d3c-0001-4b6c-9dae-000000000101 -o json --query appId',
    ],
    'AgentIdentityBlueprint.Create and AgentIdentityBlueprintPrincipal.Create',
  );

  helpSections(
    listFilterOptions(group
      .command('list')
      .description('List blueprints')
      .addOption(topOption()))
      .action(async (raw) => {
        await ctx.checkOutputOptions();
        const items = await bp.listBlueprints(await ctx.graph(), { top: raw.top, filter: raw.filter, search: raw.search });
        await ctx.print(items, BLUEPRINT_COLUMNS);
        // The whole list feeds shell completion's name cache (local file, short-lived).
        if (!raw.top && !raw.filter && !raw.search) await (await import('./nameCache.js')).rememberNames(ctx, 'blueprint', items.map((b) => b.displayName));
      }),
    ['agentid blueprint list', 'agentid blueprint list -o json --query "[].appId"', 'agentid blueprint list --top 10 -o csv', 'agentid blueprint list --search sales', `agentid blueprint list --filter "startswith(displayName,'Sales')"`],
    'AgentIdentityBlueprint.Read.All',
  );

  helpSections(
    group
      .command('show')
      .description('Show a blueprint (by object id, appId or exact name) with its principal')
      .argument('<blueprint>', 'object id, appId or display name')
      .action(async (ref: string) => {
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const b = await resolveBlueprint(client, ref, ctx.chooser());
        const principal = (await bp.getPrincipalByAppId(client, b.appId)) ?? null;
        await ctx.print({ ...b, principal });
      }),
    ['agentid blueprint show "Sales Agent"', 'agentid blueprint show 1d5f… -o json'],
    'AgentIdentityBlueprint.Read.All',
  );

  helpSections(
    group
      .command('update')
      .description("Change a blueprint's display name or description")
      .argument('<blueprint>', 'object id, appId or display name')
      .option('--name <name>', 'new display name')
      .option('--description <text>', 'new description')
      .addOption(dryRunOption())
      .action(async (ref: string, raw) => {
        const o = parseOptions(UpdateSchema, raw);
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const b = await resolveBlueprint(client, ref, ctx.chooser());
        const patch = { ...(o.name !== undefined ? { displayName: o.name } : {}), ...(o.description !== undefined ? { description: o.description } : {}) };
        if (raw.dryRun) return printPlan(ctx, { action: 'update blueprint', id: b.id, patch });
        await bp.updateBlueprint(client, b.id, patch);
        (await ctx.messenger()).success(`Updated blueprint '${o.name ?? b.displayName}'.`);
        await ctx.print(await bp.getBlueprint(client, b.id));
      }),
    ['agentid blueprint update "Sales Agent" --name "Sales Agent v2"', 'agentid blueprint update 1d5f… --description "Handles inbound leads"'],
    'AgentIdentityBlueprint.UpdateBranding.All',
  );

  for (const [verb, enabled] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    helpSections(
      group
        .command(verb)
        .description(
          enabled
            ? "Enable the blueprint's principal again: its agents can authenticate"
            : "Disable the blueprint's principal: every agent of the blueprint stops authenticating at once",
        )
        .argument('<blueprint>', 'object id, appId or display name')
        .addOption(dryRunOption())
        .action(async (ref: string, raw) => {
          await ctx.checkOutputOptions();
          const client = await ctx.graph();
          const b = await resolveBlueprint(client, ref, ctx.chooser());
          const principal = await bp.getPrincipalByAppId(client, b.appId);
          if (!principal) throw new UsageError(`Blueprint '${b.displayName}' has no principal; create one with 'agentid blueprint create --unique-name …' or Graph.`);
          if (raw.dryRun) return printPlan(ctx, { action: `${verb} blueprint principal`, principalId: principal.id, accountEnabled: enabled });
          await bp.setPrincipalEnabled(client, principal.id, enabled);
          (await ctx.messenger()).success(`${enabled ? 'Enabled' : 'Disabled'} the principal of blueprint '${b.displayName}'.`);
          await ctx.print({ ...principal, accountEnabled: enabled });
        }),
      [`agentid blueprint ${verb} "Sales Agent"`],
      'AgentIdentityBlueprintPrincipal.EnableDisable.All',
    );
  }

  helpSections(
    group
      .command('delete')
      .description('Delete a blueprint and its principal (soft delete: restorable for 30 days with agentid blueprint restore); with agents left, needs --with-agents or --leave-agents')
      .argument('<blueprint>', 'object id, appId or display name')
      .option('--with-agents', 'delete its agent identities and their agent users first (journaled: agentid bulk undo --last restores them all)')
      .option('--leave-agents', 'delete only the blueprint and leave its agents orphaned (they cannot authenticate)')
      .addOption(yesOption())
      .addOption(dryRunOption())
      .action(async (ref: string, raw) => deleteBlueprint(ctx, ref, raw)),
    [
      'agentid blueprint delete "Sales Agent" --dry-run',
      'agentid blueprint delete "Sales Agent" --with-agents --yes',
      'agentid blueprint delete 1d5f… --leave-agents --yes',
    ],
    'AgentIdentityBlueprint.DeleteRestore.All (with --with-agents also AgentIdentity.DeleteRestore.All, AgentIdUser.ReadWrite.IdentityParentedBy)',
  );

  helpSections(
    group
      .command('restore')
      .description('Restore a deleted blueprint, then its principal (Graph restores an application without it); tells which agents are still disabled or deleted')
      .argument('<blueprint>', 'deleted blueprint: object id, appId or display name (agentid deleted list --type blueprint)')
      .addOption(dryRunOption())
      .action(async (ref: string, raw) => {
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const { resolveDeleted } = await import('../graph/deletedItems.js');
        const { restoreBlueprint } = await import('../graph/lifecycle.js');
        const item = await resolveDeleted(client, ['blueprint'], ref, ctx.chooser());
        if (raw.dryRun) return printPlan(ctx, { action: 'restore blueprint and its principal', id: item.id, appId: item.appId, displayName: item.displayName });
        const r = await restoreBlueprint(client, item);
        const m = await ctx.messenger();
        m.success(`Restored blueprint '${item.displayName}'${r.principalRestored ? ' and its principal' : ''}.`);
        if (!r.principal) m.warn(`It has no principal, so its agents cannot authenticate; none was in deleted items.`);
        const are = (n: number) => (n === 1 ? 'is' : 'are');
        if (r.disabledAgents.length) m.warn(`${r.disabledAgents.length} of its agents ${are(r.disabledAgents.length)} disabled: ${r.disabledAgents.map((a) => a.displayName ?? a.id).join(', ')} (agentid agent enable NAME).`);
        if (r.deletedAgents.length) m.warn(`${r.deletedAgents.length} of its agents ${are(r.deletedAgents.length)} still deleted: ${r.deletedAgents.map((a) => a.displayName ?? a.id).join(', ')} (agentid agent restore NAME).`);
        await ctx.print({ ...r.blueprint, principal: r.principal, principalRestored: r.principalRestored, disabledAgents: r.disabledAgents, deletedAgents: r.deletedAgents });
      }),
    ['agentid blueprint restore "Sales Agent"', 'agentid blueprint restore 1d5f… -o json --query principal.accountEnabled'],
    'AgentIdentityBlueprint.DeleteRestore.All and AgentIdentityBlueprintPrincipal.DeleteRestore.All',
  );

  registerCredentials(group, ctx);
  registerPermissions(group, ctx);
}

export const DeleteSchema = z
  .object({ withAgents: z.boolean().optional(), leaveAgents: z.boolean().optional(), yes: z.boolean().optional(), dryRun: z.boolean().optional() })
  .refine((o) => !(o.withAgents && o.leaveAgents), { message: 'Use --with-agents or --leave-agents, not both.' });

/**
 * Issue 12: Graph leaves a deleted blueprint's agents in place (a background job deletes them
 * about a day later), so a delete that would orphan agents says which, and needs a choice.
 */
async function deleteBlueprint(ctx: CliContext, ref: string, raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(DeleteSchema, raw);
  await ctx.checkOutputOptions();
  const client = await ctx.graph();
  const b = await resolveBlueprint(client, ref, ctx.chooser());
  const { dependentsOf, planBlueprintDelete } = await import('../graph/lifecycle.js');
  const deps = await dependentsOf(client, b.appId);
  const agents = deps.agents.map((a) => ({ id: a.id, displayName: a.displayName ?? null, accountEnabled: a.accountEnabled ?? null }));
  const agentUsers = deps.agentUsers.map((u) => ({ id: u.id, userPrincipalName: u.userPrincipalName ?? null, identityParentId: u.identityParentId ?? null }));
  const has = agents.length > 0 || agentUsers.length > 0;
  const agentsAction = !has ? 'none' : o.withAgents ? 'delete' : o.leaveAgents ? 'leave' : 'refuse';
  const count = `${agents.length} agent identit${agents.length === 1 ? 'y' : 'ies'} and ${agentUsers.length} agent user${agentUsers.length === 1 ? '' : 's'}`;
  const names = (list: { displayName?: string | null; userPrincipalName?: string | null; id: string }[]) => {
    const shown = list.slice(0, 10).map((x) => x.displayName ?? x.userPrincipalName ?? x.id);
    return shown.join(', ') + (list.length > shown.length ? `, … (${list.length - shown.length} more)` : '');
  };
  const refusal = `Blueprint '${b.displayName}' has ${count} (${names([...agents, ...agentUsers])}), which Graph does not delete with it. Pass --with-agents to delete them first (undoable: agentid bulk undo --last), or --leave-agents to leave them orphaned.`;
  if (o.dryRun) {
    await printPlan(ctx, { action: 'delete blueprint', id: b.id, appId: b.appId, displayName: b.displayName, agentsAction, agents, agentUsers });
    if (agentsAction === 'refuse') (await ctx.messenger()).warn(refusal);
    return;
  }
  if (agentsAction === 'refuse') throw new UsageError(refusal);
  const m = await ctx.messenger();
  const what =
    agentsAction === 'delete' ? ` and, first, its ${count} (${names([...agents, ...agentUsers])})`
    : agentsAction === 'leave' ? `, leaving its ${count} orphaned (${names([...agents, ...agentUsers])})`
    : '';
  await confirm(ctx, o.yes, `Delete blueprint '${b.displayName}' (${b.appId}) and its principal${what}?`);
  let journal: string | null = null;
  if (agentsAction === 'delete') {
    const { prepare, execute } = await import('./bulk.js');
    const { pacer } = await prepare(ctx);
    const principal = await bp.getPrincipalByAppId(client, b.appId);
    journal = (await execute(ctx, { kind: 'delete-blueprint', items: planBlueprintDelete(b, principal, deps), args: { blueprint: b.id, target: client.baseUrl }, o: { yes: true }, client, pacer, print: false })) ?? null;
  } else {
    await bp.deleteBlueprint(client, b.id);
    m.success(`Deleted blueprint '${b.displayName}'.`);
    if (agentsAction === 'leave') m.warn(`Left ${count} orphaned; list them with: agentid agent list --blueprint ${b.appId}`);
  }
  await ctx.print({ id: b.id, appId: b.appId, displayName: b.displayName, deleted: true, agentsAction, agents, agentUsers, journal });
}

function registerCredentials(group: Command, ctx: CliContext): void {
  const cred = helpSections(group.command('credential').description("Manage a blueprint's client secrets, certificates and federated identity credentials"), [
    'agentid blueprint credential add "Sales Agent" --secret-file ./sales.secret --expires 90d',
    'agentid blueprint credential add "Sales Agent" --create-certificate --key-file ./sales.pem',
    'agentid blueprint credential list "Sales Agent"',
    'agentid blueprint credential remove "Sales Agent" --name gh-main --yes',
  ]);

  helpSections(
    cred
      .command('add')
      .description('Add a client secret (shown once), a certificate, or a federated identity credential')
      .argument('<blueprint>', 'object id, appId or display name')
      .option('--secret', 'add a client secret (the default)')
      // One name for one thing (issue 12 #7): --name labels every kind of credential, as it names
      // objects elsewhere; --display-name stays as a hidden alias so existing scripts keep working.
      .addOption(new Option('--display-name <name>').hideHelp())
      .option('--expires <when>', 'secret lifetime: 90d, 6m, 1y or an ISO date (default: 2 years)')
      .option('--secret-file <path>', 'write the secret to this new file (mode 0600) instead of printing it')
      .option('--federated', 'add a federated identity credential (workload identity federation)')
      .option('--name <name>', "the credential's name: a secret's or certificate's label, or the federated credential's name")
      .option('--issuer <url>', 'federated: token issuer')
      .option('--subject <subject>', 'federated: token subject')
      .option('--audience <aud>', 'federated: audience', 'api://AzureADTokenExchange')
      .option('--description <text>', 'federated: description')
      .option('--certificate <path>', 'register this public certificate (PEM or DER/.cer; a private key in the file is never sent)')
      .option('--create-certificate', 'create a self-signed certificate and register it (needs --key-file)')
      .option('--key-file <path>', 'with --create-certificate: new file (mode 0600) for the certificate and its private key')
      .option('--years <n>', 'with --create-certificate: validity in years (default 1)')
      .addOption(dryRunOption())
      .action(async (ref: string, raw) => {
        const kinds = [raw.secret, raw.federated, raw.certificate !== undefined, raw.createCertificate].filter(Boolean).length;
        if (kinds > 1) throw new UsageError('Give one kind of credential: --secret, --federated, --certificate PATH or --create-certificate.');
        if (!raw.federated && raw.name !== undefined) raw.displayName ??= raw.name;
        if (raw.certificate !== undefined || raw.createCertificate || raw.keyFile !== undefined || raw.years !== undefined) return addCertificate(ctx, ref, raw);
        await ctx.checkOutputOptions();
        if (raw.federated) {
          const o = parseOptions(FederatedSchema, raw);
          const client = await ctx.graph();
          const b = await resolveBlueprint(client, ref, ctx.chooser());
          if (raw.dryRun) return printPlan(ctx, { action: 'add federated credential', blueprintId: b.id, name: o.name, issuer: o.issuer, subject: o.subject, audiences: [o.audience] });
          const fic = await bp.addFederatedCredential(client, b.id, { name: o.name, issuer: o.issuer, subject: o.subject, audiences: [o.audience], description: o.description });
          (await ctx.messenger()).success(`Added federated credential '${fic.name}' to '${b.displayName}'.`);
          return ctx.print(fic);
        }
        const o = parseOptions(SecretSchema, raw);
        const endDateTime = expiryToIso(o.expires);
        if (raw.dryRun) {
          // Neither the secret nor the --secret-file is created.
          const b = await resolveBlueprint(await ctx.graph(), ref, ctx.chooser());
          return printPlan(ctx, { action: 'add client secret', blueprintId: b.id, displayName: o.displayName ?? null, endDateTime: endDateTime ?? null, secretFile: o.secretFile ?? null });
        }
        // Open the secret file before the secret exists: a path we cannot write must fail with
        // nothing created, and 'wx' refuses to overwrite another file.
        const file = o.secretFile ? await openSecretFile(o.secretFile) : undefined;
        try {
          const client = await ctx.graph();
          const b = await resolveBlueprint(client, ref, ctx.chooser());
          const pc = await bp.addPassword(client, b.id, { displayName: o.displayName, endDateTime });
          const m = await ctx.messenger();
          if (file) {
            await file.writeFile(`${pc.secretText ?? ''}\n`);
            await file.close();
            m.success(`Added a client secret to '${b.displayName}'; it was written to ${o.secretFile} (mode 0600) and is not shown.`);
            return ctx.print({ ...pc, secretText: undefined, secretFile: o.secretFile });
          }
          m.warn('This is the only time the secret is shown. Store it now (or use --secret-file next time).');
          return ctx.print(pc);
        } catch (err) {
          if (file) {
            await file.close().catch(() => undefined);
            await fsp.rm(o.secretFile!, { force: true });
          }
          throw err;
        }
      }),
    [
      'agentid blueprint credential add "Sales Agent" --secret-file ./sales.secret --expires 90d',
      'agentid blueprint credential add "Sales Agent" --certificate ./sales.cer',
      'agentid blueprint credential add "Sales Agent" --create-certificate --key-file ./sales.pem --years 1',
      'agentid blueprint credential add "Sales Agent" --federated --name gh-main --issuer https://token.actions.githubusercontent.com --subject repo:contoso/sales:ref:refs/heads/main',
    ],
    'AgentIdentityBlueprint.AddRemoveCreds.All',
  );

  helpSections(
    cred
      .command('list')
      .description("List a blueprint's secrets (hints only), certificates (thumbprints, never keys) and federated credentials")
      .argument('<blueprint>', 'object id, appId or display name')
      .action(async (ref: string) => {
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const b = await resolveBlueprint(client, ref, ctx.chooser());
        const [creds, fics] = await Promise.all([bp.getCredentials(client, b.id), bp.listFederatedCredentials(client, b.id)]);
        const rows = [
          ...creds.passwordCredentials.map((p) => ({ type: 'secret', id: p.keyId, name: p.displayName ?? null, detail: `hint ${p.hint ?? '?'}…`, expires: p.endDateTime ?? null })),
          ...creds.keyCredentials.map((k) => {
            const c = summarizeKeyCredential(k);
            return { type: 'certificate', id: c.keyId, name: c.displayName, detail: `thumbprint ${c.thumbprint ?? '?'}`, expires: c.endDateTime, thumbprint: c.thumbprint, starts: c.startDateTime, keyType: c.type };
          }),
          ...fics.map((f) => ({ type: 'federated', id: f.id, name: f.name, detail: `${f.issuer} ${f.subject}`, expires: null })),
        ];
        await ctx.print(rows, [
          { key: 'type', header: 'Type' },
          { key: 'name', header: 'Name' },
          { key: 'id', header: 'Key id / id' },
          { key: 'detail', header: 'Detail' },
          { key: 'expires', header: 'Expires' },
        ]);
      }),
    ['agentid blueprint credential list "Sales Agent"', `agentid blueprint credential list "Sales Agent" -o json --query "[?type=='certificate'].{keyId:id,thumbprint:thumbprint,expires:expires}"`],
    'AgentIdentityBlueprint.Read.All',
  );

  helpSections(
    cred
      .command('remove')
      .description('Remove a client secret or certificate (--key-id) or a federated credential (--name or --id)')
      .argument('<blueprint>', 'object id, appId or display name')
      .option('--key-id <guid>', 'keyId of the secret or certificate')
      .option('--name <name>', 'name of the federated credential')
      .option('--id <guid>', 'id of the federated credential')
      .addOption(yesOption())
      .addOption(dryRunOption())
      .action(async (ref: string, raw) => {
        const given = [raw.keyId, raw.name, raw.id].filter(Boolean).length;
        if (given !== 1) throw new UsageError('Give exactly one of --key-id (a secret or certificate), --name or --id (a federated credential).');
        if (raw.keyId && !isGuid(raw.keyId)) throw new UsageError(`--key-id must be a GUID, not '${raw.keyId}'.`);
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const b = await resolveBlueprint(client, ref, ctx.chooser());
        // A keyId names a secret (removePassword) or a certificate (PATCH keyCredentials without it):
        // which one is decided by the collection that holds it.
        const held = raw.keyId ? await keyIdKind(client, b.id, raw.keyId) : undefined;
        if (raw.dryRun) {
          // A keyId the blueprint does not hold is reported as credentialType null: the run would fail with exit 3.
          return printPlan(ctx, { action: 'remove credential', blueprintId: b.id, ...(raw.keyId ? { keyId: raw.keyId, credentialType: held?.kind ?? null, ...(held?.thumbprint ? { thumbprint: held.thumbprint } : {}) } : { federatedCredential: raw.name ?? raw.id }) });
        }
        if (raw.keyId && !held) throw new NotFoundError(`Blueprint '${b.displayName}' holds no secret or certificate with keyId ${raw.keyId}; see 'agentid blueprint credential list'.`);
        const what = held?.kind === 'certificate' ? `certificate ${held.thumbprint ?? raw.keyId}` : held ? `client secret ${raw.keyId}` : 'this credential';
        await confirm(ctx, raw.yes, `Remove ${what} from '${b.displayName}'? Anything signing in with it stops working.`);
        if (held?.kind === 'certificate') await bp.removeCertificate(client, b.id, raw.keyId);
        else if (held) await bp.removePassword(client, b.id, raw.keyId);
        else await bp.removeFederatedCredential(client, b.id, raw.name ?? raw.id);
        (await ctx.messenger()).success(`Removed the credential from '${b.displayName}'.`);
        await ctx.print({ blueprintId: b.id, removed: raw.keyId ?? raw.name ?? raw.id });
      }),
    [
      'agentid blueprint credential remove "Sales Agent" --key-id 0d1c… --yes',
      'agentid blueprint credential remove "Sales Agent" --key-id 6e2a… --dry-run -o json',
      'agentid blueprint credential remove "Sales Agent" --name gh-main --yes',
    ],
    'AgentIdentityBlueprint.AddRemoveCreds.All',
  );
}

function registerPermissions(group: Command, ctx: CliContext): void {
  const perm = helpSections(group.command('permission').description("Manage the permissions a blueprint's agents inherit"), [
    'agentid blueprint permission add "Sales Agent" --resource graph --scopes User.Read,Mail.Read',
    'agentid blueprint permission list "Sales Agent"',
    'agentid blueprint permission remove "Sales Agent" --resource graph --yes',
  ]);

  helpSections(
    perm
      .command('add')
      .description('Let every agent of the blueprint inherit scopes of a resource')
      .argument('<blueprint>', 'object id, appId or display name')
      .requiredOption('--resource <appId>', 'resource appId, or "graph" for Microsoft Graph')
      .option('--scopes <a,b>', 'delegated scopes to inherit (comma-separated, repeatable)', collect)
      .option('--all', 'inherit all scopes the resource allows')
      .option('--none', 'inherit no scopes of this resource')
      .addOption(dryRunOption())
      .action(async (ref: string, raw) => {
        const o = parseOptions(PermissionAddSchema, raw);
        const appId = resourceAppId(o.resource);
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const b = await resolveBlueprint(client, ref, ctx.chooser());
        const asked: bp.ScopeSelection = o.all ? { kind: 'allAllowed' } : o.none ? { kind: 'none' } : { kind: 'enumerated', scopes: o.scopes! };
        // Graph keeps one inheritablePermission per resource and answers a second POST for it with
        // a duplicate-value 400, so adding scopes to a resource already there merges them.
        const existing = (await bp.listInheritablePermissions(client, b.id)).find((p) => p.resourceAppId.toLowerCase() === appId.toLowerCase());
        const selection = mergeScopes(existing, asked);
        const m = await ctx.messenger();
        if (existing && sameScopes(existing, selection)) {
          if (raw.dryRun) return printPlan(ctx, { action: 'none', blueprintId: b.id, resourceAppId: appId, scopes: selection });
          m.success(`Agents of '${b.displayName}' already inherit ${describeScopes(selection)} of ${appId}; nothing changed.`);
          return ctx.print(existing);
        }
        if (raw.dryRun) return printPlan(ctx, { action: existing ? 'replace inheritable permission' : 'add inheritable permission', blueprintId: b.id, resourceAppId: appId, scopes: selection });
        const p = existing ? await bp.replaceInheritablePermission(client, b.id, existing, selection) : await bp.addInheritablePermission(client, b.id, appId, selection);
        m.success(`Agents of '${b.displayName}' now inherit ${describeScopes(selection)} of ${appId}.`);
        await ctx.print(p);
      }),
    ['agentid blueprint permission add "Sales Agent" --resource graph --scopes User.Read,Mail.Read', 'agentid blueprint permission add "Sales Agent" --resource graph --all'],
    'AgentIdentityBlueprint.Create',
  );

  helpSections(
    perm
      .command('list')
      .description("List a blueprint's inheritable permissions")
      .argument('<blueprint>', 'object id, appId or display name')
      .action(async (ref: string) => {
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const b = await resolveBlueprint(client, ref, ctx.chooser());
        const items = await bp.listInheritablePermissions(client, b.id);
        await ctx.print(items, [
          { key: 'resourceAppId', header: 'Resource appId' },
          { key: 'inheritableScopes.kind', header: 'Kind' },
          { key: 'inheritableScopes.scopes', header: 'Scopes', get: (r) => (r.inheritableScopes?.scopes ?? []).join(' ') },
        ]);
      }),
    ['agentid blueprint permission list "Sales Agent"'],
    'AgentIdentityBlueprint.Read.All',
  );

  helpSections(
    perm
      .command('remove')
      .description("Stop the blueprint's agents inheriting a resource's scopes")
      .argument('<blueprint>', 'object id, appId or display name')
      .requiredOption('--resource <appId>', 'resource appId, or "graph"')
      .addOption(yesOption())
      .addOption(dryRunOption())
      .action(async (ref: string, raw) => {
        const appId = resourceAppId(raw.resource);
        await ctx.checkOutputOptions();
        const client = await ctx.graph();
        const b = await resolveBlueprint(client, ref, ctx.chooser());
        if (raw.dryRun) return printPlan(ctx, { action: 'remove inheritable permission', blueprintId: b.id, resourceAppId: appId });
        await confirm(ctx, raw.yes, `Stop every agent of '${b.displayName}' inheriting scopes of ${appId}?`);
        await bp.removeInheritablePermission(client, b.id, appId);
        (await ctx.messenger()).success(`Removed inheritable permissions of ${appId} from '${b.displayName}'.`);
        await ctx.print({ blueprintId: b.id, resourceAppId: appId, removed: true });
      }),
    ['agentid blueprint permission remove "Sales Agent" --resource graph --yes'],
    'AgentIdentityBlueprint.ReadWrite.All',
  );
}

/** The scopes a blueprint's agents inherit of a resource once `asked` is added to what they had. */
function mergeScopes(existing: InheritablePermission | undefined, asked: bp.ScopeSelection): bp.ScopeSelection {
  if (!existing || asked.kind !== 'enumerated') return asked;
  const kind = existing.inheritableScopes.kind;
  if (kind === 'allAllowed') return { kind: 'allAllowed' };
  const had = kind === 'enumerated' ? (existing.inheritableScopes.scopes ?? []) : [];
  const scopes = [...had];
  for (const sc of asked.scopes) if (!scopes.some((x) => x.toLowerCase() === sc.toLowerCase())) scopes.push(sc);
  return { kind: 'enumerated', scopes };
}

function sameScopes(existing: InheritablePermission, s: bp.ScopeSelection): boolean {
  if (existing.inheritableScopes.kind !== s.kind) return false;
  if (s.kind !== 'enumerated') return true;
  const had = (existing.inheritableScopes.scopes ?? []).map((x) => x.toLowerCase()).sort();
  const want = s.scopes.map((x) => x.toLowerCase()).sort();
  return had.length === want.length && had.every((x, i) => x === want[i]);
}

function describeScopes(s: bp.ScopeSelection): string {
  return s.kind === 'allAllowed' ? 'all allowed scopes' : s.kind === 'none' ? 'no scopes' : s.scopes.join(', ');
}

/** Which collection holds a keyId: a certificate (keyCredentials) or a secret (passwordCredentials). */
async function keyIdKind(client: Awaited<ReturnType<CliContext['graph']>>, blueprintId: string, keyId: string): Promise<{ kind: 'certificate' | 'secret'; thumbprint?: string | null } | undefined> {
  const creds = await bp.getCredentials(client, blueprintId);
  const k = creds.keyCredentials.find((c) => c.keyId.toLowerCase() === keyId.toLowerCase());
  if (k) return { kind: 'certificate', thumbprint: summarizeKeyCredential(k).thumbprint };
  if (creds.passwordCredentials.some((c) => c.keyId.toLowerCase() === keyId.toLowerCase())) return { kind: 'secret' };
  return undefined;
}

/**
 * `credential add --certificate PATH` and `--create-certificate --key-file PATH`. The created
 * certificate's file is opened before anything else happens ('wx': never over another file) and
 * removed again if registering fails; its private key goes only into that file.
 */
async function addCertificate(ctx: CliContext, ref: string, raw: Record<string, unknown>): Promise<void> {
  const o = parseOptions(CertificateSchema, raw);
  if (!o.certificate && !o.createCertificate) throw new UsageError('--key-file and --years only go with --create-certificate.');
  const cert = o.certificate ? readCertificate(await readCertificateFile(o.certificate), o.certificate) : undefined;
  await ctx.checkOutputOptions();
  const client = await ctx.graph();
  const b = await resolveBlueprint(client, ref, ctx.chooser());
  const years = o.years ?? 1;
  if (raw.dryRun) {
    if (cert) return printPlan(ctx, { action: 'add certificate', blueprintId: b.id, displayName: o.displayName ?? cert.subject, thumbprint: cert.thumbprint, startDateTime: cert.notBefore, endDateTime: cert.notAfter });
    if (await fsp.stat(o.keyFile!).then(() => true, () => false)) throw new UsageError(`--key-file ${o.keyFile} already exists; choose a new path (agentid never overwrites a file with a private key).`);
    return printPlan(ctx, { action: 'create and add certificate', blueprintId: b.id, subject: `CN=${b.displayName}`, years, keyFile: o.keyFile });
  }
  const m = await ctx.messenger();
  if (cert) {
    const added = await bp.addCertificate(client, b.id, cert, o.displayName ?? cert.subject);
    m.success(`Added certificate ${added.thumbprint} to '${b.displayName}' (keyId ${added.keyId}).`);
    return ctx.print(added);
  }
  const keyFile = o.keyFile!;
  const file = await openKeyFile(keyFile);
  try {
    const pems = await createSelfSignedCertificate(b.displayName ?? b.appId, years);
    // Key first, then certificate: the single PEM ClientCertificateCredential and `agentid login --certificate` read.
    await file.writeFile(pems.keyPem + pems.certPem);
    await file.close();
    const created: CertificateInfo = readCertificate(Buffer.from(pems.certPem), keyFile);
    const added = await bp.addCertificate(client, b.id, created, o.displayName ?? created.subject);
    m.success(`Added a new self-signed certificate ${added.thumbprint} to '${b.displayName}' (keyId ${added.keyId}). Its private key is in ${keyFile} (mode 0600) and is not shown.`);
    return ctx.print({ ...added, keyFile });
  } catch (err) {
    await file.close().catch(() => undefined);
    await fsp.rm(keyFile, { force: true });
    throw err;
  }
}

async function readCertificateFile(p: string): Promise<Buffer> {
  try {
    return await fsp.readFile(p);
  } catch (err) {
    throw new UsageError(`Cannot read --certificate ${p}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}.`);
  }
}

async function openKeyFile(p: string) {
  try {
    return await fsp.open(p, 'wx', 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new UsageError(`--key-file ${p} already exists; choose a new path (agentid never overwrites a file with a private key).`);
    throw new UsageError(`Cannot create --key-file ${p}: ${(err as Error).message}`);
  }
}

async function openSecretFile(p: string) {
  try {
    return await fsp.open(p, 'wx', 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new UsageError(`--secret-file ${p} already exists; choose a new path (agentid never overwrites a file with a secret).`);
    throw new UsageError(`Cannot create --secret-file ${p}: ${(err as Error).message}`);
  }
}

void Option;
