import { PassThrough } from 'node:stream';
import { describe, expect, test, vi } from 'vitest';

// Scripts and --yes runs must never load inquirer; the mock records whether it was loaded while
// handing back the real module for the interactive tests.
const loaded = vi.hoisted(() => ({ inquirer: false }));
vi.mock('@inquirer/prompts', async (importOriginal) => {
  loaded.inquirer = true;
  return importOriginal();
});

import { CancelledError, DeclinedError, ExitCode, UsageError, exitCodeOf } from '../../src/errors.js';
import { askText, choose, confirmDestructive, type PromptContext } from '../../src/output/prompt.js';

// A fake terminal: we type into `input` and read the rendered prompt back from `output`.
function fakeTerminal(): { ctx: PromptContext; screen: () => string; type: (keys: string) => Promise<void> } {
  const input = new PassThrough();
  const output = new PassThrough();
  let screen = '';
  output.on('data', (chunk: Buffer) => {
    screen += chunk.toString();
  });
  return {
    ctx: { interactive: true, assumeYes: false, input, output },
    screen: () => screen,
    // Wait for the question to be on screen first, as a person would, so the keys reach a live prompt.
    type: async (keys) => {
      await vi.waitFor(() => expect(screen).toContain('?'));
      input.write(keys);
    },
  };
}

const offTerminal: PromptContext = { interactive: false, assumeYes: false };

describe('off a terminal', () => {
  test('refuses a destructive action without --yes, naming the fix', async () => {
    await expect(confirmDestructive(offTerminal, 'Delete agent Invoice Bot?')).rejects.toThrow(
      new UsageError('Not confirmed: Delete agent Invoice Bot? There is no terminal to ask on; pass --yes to confirm.'),
    );
    await expect(confirmDestructive(offTerminal, 'Delete agent Invoice Bot?')).rejects.toBeInstanceOf(UsageError);
  });

  test('asks for a missing value by naming its flag', async () => {
    const err = await askText(offTerminal, { message: 'Display name', flag: '--display-name' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe('Missing required option --display-name.');
  });

  test('asks for a missing choice by naming its flag', async () => {
    const err = await choose(offTerminal, {
      message: 'Blueprint',
      flag: '--blueprint',
      choices: [{ name: 'Finance', value: 'b1' }],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe('Missing required option --blueprint.');
  });

  test('--yes skips the confirmation even off a terminal', async () => {
    await expect(confirmDestructive({ interactive: false, assumeYes: true }, 'Deleting agent Invoice Bot')).resolves.toBeUndefined();
  });

  test('none of these paths loads inquirer', () => {
    expect(loaded.inquirer).toBe(false);
  });
});

describe('on a terminal', () => {
  test('confirm proceeds when the user answers y', async () => {
    const t = fakeTerminal();
    const answer = confirmDestructive(t.ctx, 'Delete agent Invoice Bot?');
    await t.type('y\n');
    await expect(answer).resolves.toBeUndefined();
    expect(t.screen()).toContain('Delete agent Invoice Bot?');
    expect(t.screen()).toContain('(y/N)');
  });

  test('confirm cancels when the user answers n', async () => {
    const t = fakeTerminal();
    const answer = confirmDestructive(t.ctx, 'Delete agent Invoice Bot?');
    await t.type('n\n');
    await expect(answer).rejects.toBeInstanceOf(CancelledError);
  });

  test('answering n is not an error: DeclinedError, exit 0 with "Cancelled: nothing was changed."', async () => {
    const t = fakeTerminal();
    const answer = confirmDestructive(t.ctx, 'Delete agent Invoice Bot?');
    await t.type('n\n');
    const err = await answer.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeclinedError);
    expect((err as Error).message).toBe('Cancelled: nothing was changed.');
    expect(exitCodeOf(err)).toBe(ExitCode.ok);
  });

  test('missing values off a terminal: an argument is not called an option', async () => {
    await expect(choose(offTerminal, { message: 'Which profile?', flag: 'a profile name', choices: [{ name: 'a', value: 'a' }] })).rejects.toThrow('Missing a profile name: give it on the command line (there is no terminal to ask on).');
  });

  test('confirm defaults to No on a bare Enter', async () => {
    const t = fakeTerminal();
    const answer = confirmDestructive(t.ctx, 'Delete agent Invoice Bot?');
    await t.type('\n');
    await expect(answer).rejects.toBeInstanceOf(CancelledError);
  });

  test('Ctrl-C during a prompt is a cancellation, not a crash', async () => {
    const t = fakeTerminal();
    const answer = confirmDestructive(t.ctx, 'Delete agent Invoice Bot?');
    await t.type('\u0003');
    await expect(answer).rejects.toBeInstanceOf(CancelledError);
    expect(exitCodeOf(await answer.catch((e: unknown) => e))).toBe(ExitCode.cancelled);
  });

  test('askText returns what was typed', async () => {
    const t = fakeTerminal();
    const answer = askText(t.ctx, { message: 'Display name', flag: '--display-name' });
    await t.type('Invoice Bot\n');
    await expect(answer).resolves.toBe('Invoice Bot');
  });

  test('askText shows the validation message and waits for a valid value', async () => {
    const t = fakeTerminal();
    const answer = askText(t.ctx, {
      message: 'Display name',
      flag: '--display-name',
      validate: (v) => v.length >= 3 || 'Use at least 3 characters.',
    });
    await t.type('ab\n');
    await vi.waitFor(() => expect(t.screen()).toContain('Use at least 3 characters.'));
    await t.type('c\n');
    await expect(answer).resolves.toBe('abc');
  });

  test('choose returns the value of the highlighted choice', async () => {
    const t = fakeTerminal();
    const answer = choose(t.ctx, {
      message: 'Blueprint',
      flag: '--blueprint',
      choices: [
        { name: 'Finance', value: { id: 'b1' } },
        { name: 'HR', value: { id: 'b2' }, description: 'People operations' },
      ],
    });
    await t.type('\u001b[B'); // arrow down
    await vi.waitFor(() => expect(t.screen()).toContain('People operations'));
    await t.type('\r');
    await expect(answer).resolves.toEqual({ id: 'b2' });
  });
});
