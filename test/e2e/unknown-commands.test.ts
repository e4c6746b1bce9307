import { afterAll, describe, expect, test } from 'vitest';
import { tempHome } from './helpers.js';

// Issue 11 #3 and issue 12 #7: an unknown command or group, with or without --help, is one line
// naming it (with the closest names, if any) and exit 2, as gh and az answer; so is `help nonexist`.
// `nosuchgroup` is a name no group will ever take.

const h = tempHome();
afterAll(() => h.remove());

describe('unknown commands', () => {
  test.each([
    [['nosuchgroup'], "error: unknown command 'nosuchgroup' for 'agentid' ('agentid --help' lists them)\n"],
    [['nosuchgroup', '--help'], "error: unknown command 'nosuchgroup' for 'agentid' ('agentid --help' lists them)\n"],
    [['help', 'nosuchgroup'], "error: unknown command 'nosuchgroup' for 'agentid' ('agentid --help' lists them)\n"],
    [['blueprnt', 'list'], "error: unknown command 'blueprnt' for 'agentid'; did you mean 'blueprint'? ('agentid --help' lists them)\n"],
    [['blueprint', 'nosuch'], "error: unknown command 'nosuch' for 'agentid blueprint' ('agentid blueprint --help' lists them)\n"],
    [['blueprint', 'nosuch', '--help'], "error: unknown command 'nosuch' for 'agentid blueprint' ('agentid blueprint --help' lists them)\n"],
    [['-o', 'json', 'agent', 'lst'], "error: unknown command 'lst' for 'agentid agent'; did you mean 'list'? ('agentid agent --help' lists them)\n"],
  ])('agentid %j is exit 2 with one line', async (args, stderr) => {
    const r = await h.run(args);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 2, stdout: '', stderr });
  });

  test('known commands with --help still answer 0', async () => {
    for (const args of [['blueprint', '--help'], ['help', 'agent'], ['agent', 'list', '--help'], ['--help']]) {
      const r = await h.run(args);
      expect({ args, code: r.code }).toEqual({ args, code: 0 });
    }
  });
});
