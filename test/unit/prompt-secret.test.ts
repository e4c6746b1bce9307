import { describe, expect, it } from 'vitest';
import { askSecret } from '../../src/output/prompt.js';
import { UsageError } from '../../src/errors.js';

// A secret is asked for only on a terminal; elsewhere the command names the flag (exit 2) and
// never reads a pipe expecting an answer.
describe('askSecret', () => {
  it('refuses off a terminal, naming the flag', async () => {
    await expect(askSecret({ interactive: false, assumeYes: false }, { message: 'Client secret', flag: '--client-secret-stdin' })).rejects.toThrow(new UsageError('Missing required option --client-secret-stdin.'));
  });
});
