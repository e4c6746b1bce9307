import type { CliContext } from '../context.js';
import { DeclinedError } from '../errors.js';

// Creating an object whose display name is already taken in the same scope (issue 12 #5): Graph
// allows it, but names are how users refer to objects, and the second one makes every later
// `show "Name"` ambiguous. So: a warning on stderr; on a terminal, a question (default no).

export async function checkNameFree(ctx: CliContext, noun: string, name: string, scope: string, taken: { id: string }[]): Promise<void> {
  if (!taken.length) return;
  const ids = taken.map((t) => t.id).join(', ');
  const line = `${taken.length === 1 ? (/^[aeiou]/i.test(noun) ? 'An' : 'A') : taken.length} ${noun}${taken.length === 1 ? ' is' : 's are'} already named '${name}' ${scope} (${ids}); another makes the name ambiguous, so refer to them by id.`;
  if (!ctx.interactive) {
    (await ctx.messenger()).warn(line);
    return;
  }
  const { confirmDestructive } = await import('../output/prompt.js');
  try {
    await confirmDestructive(ctx.promptContext(false), `${line} Create another?`);
  } catch (err) {
    if (err instanceof DeclinedError) throw new DeclinedError('Cancelled: nothing was created.');
    throw err;
  }
}
