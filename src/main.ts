import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { CliContext, type IO } from './context.js';
import { ExitCode, UsageError, exitCodeOf } from './errors.js';
import { packageRoot } from './packageRoot.js';

// The command tree is built lazily: `agentid --help` and `--version` load commander and this
// file only, and `agentid blueprint …` loads the blueprint group alone (zod, the output module
// and the Graph SDK come later still, when a command runs). See bench/startup.mjs.

export interface GroupModule {
  register(program: Command, ctx: CliContext): void;
}

interface GroupEntry {
  name: string;
  summary: string;
  load: () => Promise<GroupModule>;
}

export const GROUPS: GroupEntry[] = [
  { name: 'blueprint', summary: 'Create and manage agent identity blueprints, their principals, credentials and inheritable permissions', load: () => import('./commands/blueprint.js') },
  { name: 'agent', summary: 'Create, list, enable, disable and delete agent identities', load: () => import('./commands/agent.js') },
  { name: 'agent-user', summary: 'Manage the agent users (user accounts) of agent identities', load: () => import('./commands/agentUser.js') },
  { name: 'sponsor', summary: 'List, add and remove the sponsors of blueprints, agents and agent users', load: () => import('./commands/sponsor.js') },
  { name: 'owner', summary: 'List, add and remove the owners of blueprints and agents', load: () => import('./commands/owner.js') },
  { name: 'bulk', summary: 'Disable, enable, revoke and create agents blueprint-wide: $batch, throttle-paced, resumable, undoable', load: () => import('./commands/bulk.js') },
  { name: 'logs', summary: 'Sign-in and audit logs of agents: filtered, streamed, summarised per agent', load: () => import('./commands/logs.js') },
  { name: 'login', summary: 'Sign in to a tenant and save it as a profile (device code, browser, secret, certificate, federated token, managed identity, Azure CLI)', load: () => import('./commands/login.js') },
  { name: 'logout', summary: 'Forget the signed-in account of a profile', load: () => import('./commands/login.js') },
  { name: 'profile', summary: 'List, show, choose and remove profiles (the tenants agentid talks to)', load: () => import('./commands/profile.js') },
  { name: 'status', summary: 'Show the profile, tenant, signed-in identity, and the permissions and roles in its token', load: () => import('./commands/status.js') },
  { name: 'completion', summary: 'Print a shell completion script for bash, zsh or fish', load: () => import('./commands/completion.js') },
  { name: 'export', summary: 'Write the fleet file (agentid.yaml) for what the tenant holds', load: () => import('./commands/fleet.js') },
  { name: 'plan', summary: 'Diff a fleet file against the tenant: create, update (before → after), delete with --prune', load: () => import('./commands/fleet.js') },
  { name: 'apply', summary: 'Make the tenant match a fleet file through the journaled bulk engine (resume, undo)', load: () => import('./commands/fleet.js') },
  { name: 'schema', summary: 'Print the JSON Schema of the fleet file (agentid/v1)', load: () => import('./commands/fleet.js') },
  { name: 'mock', summary: 'Run, serve and reset the built-in emulated tenant', load: () => import('./commands/mock.js') },
];

const EXIT_CODES_HELP = `
Exit codes:
  0    success
  1    the operation failed (a Graph error, or some items of a bulk run failed)
  2    usage error or bad input
  3    not found
  4    not signed in, or permission denied
  130  cancelled
  10   plan --detailed-exitcode: changes pending (0: none)

Environment:
  AGENTID_HOME       where agentid keeps its state (default ~/.agentid)
  AGENTID_GRAPH_URL  base URL of a served emulator ('agentid mock serve' prints it)
  AGENTID_PROFILE    the profile to use (like --profile)
  AGENTID_RECORD     record every Graph request/response pair into this directory (like --record)
  AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET | AZURE_CLIENT_CERTIFICATE_PATH |
  AZURE_FEDERATED_TOKEN_FILE   sign in to a real tenant with no login step (CI)
  AGENTID_CLOUD      that sign-in's cloud: public, usgov, usgovdod or china (default: from
                     AZURE_AUTHORITY_HOST, else public)
  AGENTID_TOKEN_CACHE=memory   keep tokens in memory only, not in the OS-protected cache
  NO_COLOR           disable colour

On a fresh install agentid talks to the built-in emulated tenant "Contoso".`;

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return '0.0.0';
  }
}

function processIO(): IO {
  // `agentid … | head` closes our stdout early: that is the reader's choice, not a failure, so
  // stop quietly instead of dying on EPIPE (what printed so far is whole lines).
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

/** Builds the root program; only the group named on the command line is loaded. */
export async function buildProgram(ctx: CliContext, args: string[]): Promise<Command> {
  const program = new Command('agentid')
    .description('Manage Microsoft Entra Agent ID: blueprints, agent identities, agent users, sponsors and owners.')
    .version(version(), '-v, --version', 'print the version')
    .addOption(new Option('-o, --output <format>', 'output format: table, json, yaml, csv, tsv, ndjson, none (default: table on a terminal, json otherwise)'))
    .option('--query <jmespath>', 'JMESPath query applied to the JSON result (e.g. "[].{id:id,name:displayName}")')
    .option('--debug', 'log every Graph request and response to stderr (tokens and bodies redacted)')
    .option('--no-color', 'disable colour')
    .option('-q, --quiet', 'suppress informational messages on stderr')
    .option('--profile <name>', 'the profile to use (default: AGENTID_PROFILE, else the one chosen with "profile use", else local)')
    .option('--record <dir>', 'write every Graph request/response pair to a fixture file in dir, secrets redacted (also AGENTID_RECORD)')
    .option('--anonymize', 'with --record: replace ids, UPNs, names and domains with consistent stand-ins')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .addHelpText('after', EXIT_CODES_HELP);

  const wanted = groupArgument(args);
  const entries = wanted ? GROUPS.filter((g) => g.name === wanted) : [];
  if (entries.length) {
    for (const g of entries) (await g.load()).register(program, ctx);
  } else {
    // Help listing only: names and summaries, without loading any group.
    for (const g of GROUPS) program.command(g.name).description(g.summary);
  }
  program.hook('preAction', (_this, action) => {
    ctx.globals = action.optsWithGlobals();
  });
  applyRecursively(program, ctx);
  return program;
}

/** The first operand (skipping global options and their values), or `help <group>`'s group. */
function groupArgument(args: string[]): string | undefined {
  const withValue = new Set(['-o', '--output', '--query', '--profile', '--record']);
  const operands: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (withValue.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    operands.push(a);
    if (operands.length === 2) break;
  }
  if (operands[0] === 'help') return operands[1];
  return operands[0];
}

function applyRecursively(cmd: Command, ctx: CliContext): void {
  cmd.exitOverride();
  cmd.configureOutput({
    writeOut: (s) => ctx.io.stdout.write(s),
    writeErr: (s) => ctx.io.stderr.write(s),
    outputError: (s, write) => write(s.startsWith('error:') ? s : `error: ${s}`),
  });
  for (const sub of cmd.commands) applyRecursively(sub, ctx);
}

export async function main(argv: string[], io: IO = processIO()): Promise<number> {
  const ctx = new CliContext(io);
  const args = argv.slice(2);
  try {
    const program = await buildProgram(ctx, args);
    await program.parseAsync(args, { from: 'user' });
    return ctx.exitCode ?? ExitCode.ok;
  } catch (err) {
    return reportError(ctx, err);
  }
}

/** The one place where errors become messages and exit codes. */
export function reportError(ctx: CliContext, err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
    // commander has already printed its one-line message
    return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
  const e = err as Error & { describe?: () => string; code?: string; status?: number };
  let line: string;
  if (e?.name === 'GraphRequestError' && typeof e.describe === 'function') line = e.describe();
  else if (e instanceof UsageError) line = e.message;
  else line = e?.message ?? String(err);
  ctx.io.stderr.write(`error: ${line}\n`);
  if (ctx.globals.debug && e?.stack && e.name !== 'GraphRequestError' && !(e instanceof UsageError)) ctx.io.stderr.write(`${e.stack}\n`);
  return exitCodeOf(err);
}
