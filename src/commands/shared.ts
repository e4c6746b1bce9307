import { Command, Option } from 'commander';
import type { z } from 'zod';
import { UsageError } from '../errors.js';
import type { CliContext } from '../context.js';
import type { GraphClient } from '../graph/client.js';
import type { Chooser } from '../graph/resolve.js';

// What every command leaf shares: option parsing through its zod schema, repeatable options,
// help examples, and the confirmation / dry-run rules for mutations.

/** Validates commander's options with the command's schema; the first problem is the message. */
export function parseOptions<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const flag = issue.path.length ? `--${String(issue.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` : '';
  const msg = issue.message;
  // Messages written for the user already name their flag; zod's defaults do not.
  throw new UsageError(/--[a-z]/.test(msg) || !flag ? msg : `${flag}: ${msg}`);
}

/** For repeatable options that also accept comma-separated lists: --sponsor a --sponsor b,c. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

export function positiveInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a whole number of 1 or more, not '${value}'.`);
    return n;
  };
}

export function topOption(): Option {
  return new Option('--top <n>', 'return at most n items (default: all pages)').argParser(positiveInt('--top'));
}

export function yesOption(): Option {
  return new Option('-y, --yes', 'do not ask for confirmation (required off a terminal)');
}

export function dryRunOption(): Option {
  return new Option('--dry-run', 'print what would change and change nothing');
}

/** "Examples:" and "Permissions:" sections, as az and m365 print them. */
export function helpSections(cmd: Command, examples: string[], permission?: string): Command {
  let text = `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`;
  if (permission) text += `\nLeast-privileged Graph permission: ${permission}\n`;
  return cmd.addHelpText('after', text);
}

/** Asks on a terminal, requires --yes elsewhere; throws CancelledError on "no". */
export async function confirm(ctx: CliContext, yes: boolean | undefined, message: string): Promise<void> {
  const { confirmDestructive } = await import('../output/prompt.js');
  await confirmDestructive(ctx.promptContext(!!yes), message);
}

/** A value from an option, or (on a terminal only) asked for; off a terminal: exit 2 naming the flag. */
export async function required(ctx: CliContext, value: string | undefined, flag: string, message: string): Promise<string> {
  if (value !== undefined && value.trim() !== '') return value;
  const { askText } = await import('../output/prompt.js');
  return askText(ctx.promptContext(false), { message, flag, validate: (v) => (v.trim() ? true : `${flag} cannot be empty`) });
}

/** The dry-run report: the plan on stdout (JSON for scripts), a note on stderr. */
export async function printPlan(ctx: CliContext, plan: Record<string, unknown>): Promise<void> {
  await ctx.print({ dryRun: true, ...plan });
  (await ctx.messenger()).info('Dry run: nothing was changed.');
}

export interface EnableDisableSpec<T extends { id: string }> {
  /** 'agent', 'agent user': used in messages and the dry-run plan. */
  noun: string;
  argument: [name: string, description: string];
  descriptions: { enable: string; disable: string };
  resolve: (client: GraphClient, ref: string, choose?: Chooser) => Promise<T>;
  label: (t: T) => string;
  setEnabled: (client: GraphClient, id: string, enabled: boolean) => Promise<void>;
  exampleRef: string;
  permission: string;
  /** Told after an enable, e.g. to warn that the blueprint's principal is still disabled. */
  afterEnable?: (client: GraphClient, t: T, messenger: import('../output/messages.js').Messenger) => Promise<void>;
}

/** `enable` and `disable` leaves: the same three steps for every object that has accountEnabled. */
export function registerEnableDisable<T extends { id: string }>(group: Command, ctx: CliContext, spec: EnableDisableSpec<T>): void {
  for (const [verb, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    helpSections(
      group
        .command(verb)
        .description(spec.descriptions[verb])
        .argument(...spec.argument)
        .addOption(dryRunOption())
        .action(async (ref: string, raw) => {
          await ctx.checkOutputOptions();
          const client = await ctx.graph();
          const t = await spec.resolve(client, ref, ctx.chooser());
          if (raw.dryRun) return printPlan(ctx, { action: `${verb} ${spec.noun}`, id: t.id, accountEnabled: enabled });
          await spec.setEnabled(client, t.id, enabled);
          const m = await ctx.messenger();
          m.success(`${enabled ? 'Enabled' : 'Disabled'} ${spec.noun} ${spec.label(t)}.`);
          if (enabled && spec.afterEnable) await spec.afterEnable(client, t, m);
          await ctx.print({ ...t, accountEnabled: enabled });
        }),
      [`agentid ${group.name()} ${verb} ${spec.exampleRef}`],
      spec.permission,
    );
  }
}

/** --filter and --search (issue 12, as az and m365 offer them) for lists Graph can query so. */
export function listFilterOptions(cmd: Command): Command {
  return cmd
    .option('--filter <odata>', "OData $filter passed to Graph, e.g. \"startswith(displayName,'Sales')\" (ne, not and endsWith are sent as advanced queries)")
    .option('--search <text>', 'only objects whose display name contains a word starting with text ($search, an advanced query)');
}
