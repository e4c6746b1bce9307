import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { CliContext, type IO } from './context.js';
import { DeclinedError, ExitCode, UsageError, exitCodeOf } from './errors.js';
import { packageRoot } from './packageRoot.js';
import { didYouMean } from './suggest.js';

// The command tree is built lazily: `agentid --help` and `--version` load commander and this
// file only, and `agentid blueprint …` loads the blueprint group alone (zod, the output module
// and the Graph SDK come later still, when a command runs). See bench/startup.mjs.

// A group module never imports this file: the one that walks every group (completion) is handed
// the list as `groups`, so dependencies point one way (main -> groups, never back).
export interface GroupModule {
  register(program: Command, ctx: CliContext, groups: readonly GroupEntry[]): void;
}

export interface GroupEntry {
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
  { name: 'deleted', summary: 'List and purge deleted blueprints, agents and agent users (restore: blueprint|agent|agent-user restore)', load: () => import('./commands/deleted.js') },
  { name: 'bulk', summary: 'Disable, enable, revoke and create agents blueprint-wide: $batch, throttle-paced, resumable, undoable', load: () => import('./commands/bulk.js') },
  { name: 'report', summary: 'Governance report: orphaned, stale and over-privileged agents, expiring credentials, drift (--html for a page)', load: () => import('./commands/report.js') },
  { name: 'ca', summary: 'Conditional Access policies for agents: list, explain (what-if), create, update, delete', load: () => import('./commands/ca.js') },
  { name: 'risk', summary: 'ID Protection for agents: risky agents, detections, confirm compromised or safe, dismiss', load: () => import('./commands/risk.js') },
  { name: 'incident', summary: 'Contain a compromised agent, agent user or blueprint in one command, keep the evidence, release it', load: () => import('./commands/incident.js') },
  { name: 'logs', summary: 'Sign-in and audit logs of agents: filtered, streamed, summarised per agent', load: () => import('./commands/logs.js') },
  { name: 'login', summary: 'Sign in to a tenant and save it as a profile (device code, browser, secret, certificate, federated token, managed identity, Azure CLI)', load: () => import('./commands/login.js') },
  { name: 'logout', summary: 'Forget the signed-in account of a profile', load: () => import('./commands/login.js') },
  { name: 'profile', summary: 'List, show, choose and remove profiles (the tenants agentid talks to)', load: () => import('./commands/profile.js') },
  { name: 'status', summary: 'Show the profile, tenant, signed-in identity, and the permissions and roles in its token', load: () => import('./commands/status.js') },
  { name: 'config', summary: 'Set, show and unset defaults for options, such as the output format', load: () => import('./commands/config.js') },
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
  AGENTID_REQUIRE_REAL_TENANT=1  make talking to the emulated tenant an error (exit 4), for pipelines
  AGENTID_EMULATED_NOTE=off    hide the one-line note that a command used the emulated tenant
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
    .addOption(new Option('-o, --output <format>', 'output format: table, json, jsonc, yaml, yamlc, csv, tsv, ndjson, none (default: agentid config set output, else table on a terminal, json otherwise)'))
    .option('--query <jmespath>', 'JMESPath query applied to the JSON result (e.g. "[].{id:id,name:displayName}")')
    .option('--debug', 'log every Graph request and response to stderr (tokens and bodies redacted)')
    .option('--no-color', 'disable colour')
    .option('-q, --quiet', 'suppress informational messages on stderr')
    .option('--only-show-errors', 'suppress warnings too: stderr carries errors only (as az)')
    .option('--verbose', 'log one line per Graph request (status, method, path, time) to stderr; --debug shows more')
    .option('--profile <name>', 'the profile to use (default: AGENTID_PROFILE, else the one chosen with "profile use", else local)')
    .option('--record <dir>', 'write every Graph request/response pair to a fixture file in dir, secrets redacted (also AGENTID_RECORD)')
    .option('--anonymize', 'with --record: replace ids, UPNs, names and domains with consistent stand-ins')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .addHelpText('after', EXIT_CODES_HELP);

  const operands = operandsOf(args);
  const wanted = operands[0] === 'help' ? operands[1] : operands[0];
  const entries = wanted ? GROUPS.filter((g) => g.name === wanted) : [];
  // An unknown name is an error with or without --help (issue 11 #3): printing the root help
  // and exit 0 tells a script with a typo nothing.
  if (wanted && !entries.length) throw unknownCommand(wanted, GROUPS.map((g) => g.name), 'agentid');
  if (entries.length) {
    for (const g of entries) (await g.load()).register(program, ctx, GROUPS);
    checkSubcommands(program, operands[0] === 'help' ? operands.slice(1) : operands);
  } else {
    // Help listing only: names and summaries, without loading any group.
    for (const g of GROUPS) program.command(g.name).description(g.summary);
  }
  program.hook('preAction', async (_this, action) => {
    ctx.globals = action.optsWithGlobals();
    await ctx.applyDefaults();
  });
  applyRecursively(program, ctx);
  return program;
}

/** The first operands (skipping global options and their values): group, subcommand, … */
function operandsOf(args: string[]): string[] {
  const withValue = new Set(['-o', '--output', '--query', '--profile', '--record']);
  const operands: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') break;
    if (withValue.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    operands.push(a);
    if (operands.length === 3) break;
  }
  return operands;
}

function unknownCommand(name: string, known: string[], parent: string): UsageError {
  return new UsageError(`unknown command '${name}' for '${parent}'${didYouMean(name, known)} ('${parent} --help' lists them)`);
}

/** `agentid blueprint nosuch [--help]`: a name below a group that is not one of its commands. */
function checkSubcommands(program: Command, operands: string[]): void {
  let cmd = program;
  const path = ['agentid'];
  for (const name of operands) {
    if (!cmd.commands.length) return;
    const sub = cmd.commands.find((c) => c.name() === name || c.aliases().includes(name));
    if (!sub) {
      if (name === 'help' && cmd !== program) return;
      throw unknownCommand(name, cmd.commands.map((c) => c.name()), path.join(' '));
    }
    path.push(sub.name());
    cmd = sub;
  }
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
  if (err instanceof DeclinedError) {
    ctx.io.stderr.write(`${err.message}\n`);
    return exitCodeOf(err);
  }
  const e = err as Error & { describe?: () => string; code?: string; status?: number };
  let line: string;
  if (e?.name === 'GraphRequestError' && typeof e.describe === 'function') {
    line = e.describe();
    // An unreachable host is named with what set it (issue 12 #5).
    if (e.code === 'NetworkError' && ctx.graphUrlSource) line += `; the Graph URL is set by ${ctx.graphUrlSource}`;
  }
  else if (e instanceof UsageError) line = e.message;
  else line = e?.message ?? String(err);
  ctx.io.stderr.write(`error: ${line}\n`);
  if (ctx.globals.debug && e?.stack && e.name !== 'GraphRequestError' && !(e instanceof UsageError)) ctx.io.stderr.write(`${e.stack}\n`);
  return exitCodeOf(err);
}
