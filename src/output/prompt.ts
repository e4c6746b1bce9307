// The only module that talks to @inquirer/prompts. It is imported lazily, inside each prompt, so
// non-interactive runs (scripts, CI, --yes) never load it. Every prompt has a flag that answers it,
// and off a terminal we name that flag instead of hanging on a read from a pipe.
import { CancelledError, DeclinedError, UsageError } from '../errors.js';

export interface PromptContext {
  interactive: boolean;
  assumeYes: boolean;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
}

export async function confirmDestructive(ctx: PromptContext, message: string): Promise<void> {
  if (ctx.assumeYes) return;
  if (!ctx.interactive) {
    // The message is the question the terminal would have asked; quote it so the refusal reads whole.
    throw new UsageError(`Not confirmed: ${message} There is no terminal to ask on; pass --yes to confirm.`);
  }
  const { confirm } = await import('@inquirer/prompts');
  // Default No: an absent-minded Enter must not delete anything.
  const yes = await cancellable(confirm({ message, default: false }, inquirerContext(ctx)));
  if (!yes) throw new DeclinedError();
}

/** Off a terminal: "Missing required option --name." for a flag, "Missing a profile name." for an argument. */
function missing(flag: string): UsageError {
  return new UsageError(flag.startsWith('-') ? `Missing required option ${flag}.` : `Missing ${flag}: give it on the command line (there is no terminal to ask on).`);
}

export async function askText(
  ctx: PromptContext,
  opts: { message: string; flag: string; validate?: (v: string) => true | string },
): Promise<string> {
  if (!ctx.interactive) throw missing(opts.flag);
  const { input } = await import('@inquirer/prompts');
  const config = opts.validate ? { message: opts.message, validate: opts.validate } : { message: opts.message };
  return cancellable(input(config, inquirerContext(ctx)));
}

/** A secret typed on the terminal, masked; never echoed, never an argument (#3). */
export async function askSecret(ctx: PromptContext, opts: { message: string; flag: string }): Promise<string> {
  if (!ctx.interactive) throw missing(opts.flag);
  const { password } = await import('@inquirer/prompts');
  return cancellable(password({ message: opts.message, mask: '*', validate: (v: string) => (v.trim() ? true : 'The secret cannot be empty') }, inquirerContext(ctx)));
}

export async function choose<T>(
  ctx: PromptContext,
  opts: { message: string; flag: string; choices: { name: string; value: T; description?: string }[] },
): Promise<T> {
  if (!ctx.interactive) throw missing(opts.flag);
  const { select } = await import('@inquirer/prompts');
  return cancellable(select<T>({ message: opts.message, choices: opts.choices }, inquirerContext(ctx)));
}

// Prompts are not data: they go to stderr so `agentid ... > out.json` still shows the question.
function inquirerContext(ctx: PromptContext): { input?: NodeJS.ReadableStream; output: NodeJS.WritableStream } {
  return ctx.input ? { input: ctx.input, output: ctx.output ?? process.stderr } : { output: ctx.output ?? process.stderr };
}

// Ctrl-C inside a prompt (ExitPromptError) or an aborted prompt is the user backing out: exit 130,
// not a crash. Matched by name because the error classes live in @inquirer/core, which we do not
// depend on directly.
const CANCEL_ERRORS = new Set(['ExitPromptError', 'AbortPromptError', 'CancelPromptError']);

async function cancellable<T>(answer: Promise<T>): Promise<T> {
  try {
    return await answer;
  } catch (err) {
    if (err instanceof Error && CANCEL_ERRORS.has(err.name)) throw new CancelledError();
    throw err;
  }
}
