import { afterAll, describe, expect, test } from 'vitest';
import { fixture, tempHome } from './helpers.js';

// `mock reset --yes` puts the emulated tenant back to its seed: everything created is gone, the
// seeded users and groups are there again with their fixed ids.

const dir = fixture('contoso-directory.json');
const megan = dir.users[1];

const h = tempHome();
afterAll(() => h.remove());

describe('mock reset', () => {
  test('restores the seed: blueprints and agents gone, seeded users usable as sponsors', async () => {
    const bp = await h.run(['blueprint', 'create', '--name', 'Before Reset', '--sponsor', 'me', '-o', 'none']);
    expect(bp.code).toBe(0);
    expect((await h.run(['agent', 'create', '--blueprint', 'Before Reset', '--name', 'Doomed', '--sponsor', 'me', '-o', 'none'])).code).toBe(0);

    const reset = await h.run(['mock', 'reset', '--yes']);
    expect({ code: reset.code, stdout: reset.stdout, stderr: reset.stderr }).toEqual({ code: 0, stdout: '', stderr: 'The emulated tenant is back to its seeded state.\n' });

    expect((await h.run(['blueprint', 'list'])).stdout).toBe('[]\n');
    expect((await h.run(['agent', 'list'])).stdout).toBe('[]\n');
    // The seed is whatever a fresh tenant holds.
    const fresh = tempHome();
    try {
      const seed = (await fresh.run(['mock', 'status', '--query', 'objects'])).json();
      expect((await h.run(['mock', 'status', '--query', 'objects'])).json()).toEqual(seed);
    } finally {
      fresh.remove();
    }

    const again = await h.run(['blueprint', 'create', '--name', 'After Reset', '--sponsor', 'me', '-o', 'none']);
    expect(again.code).toBe(0);
    const add = await h.run(['sponsor', 'add', '--blueprint', 'After Reset', '--user', megan.userPrincipalName]);
    expect(add.code).toBe(0);
    expect(add.json()).toMatchObject({ sponsor: { kind: 'user', id: megan.id, displayName: megan.displayName }, action: 'added' });
    const groupSponsor = await h.run(['sponsor', 'add', '--blueprint', 'After Reset', '--group', dir.groups.dynamic.id, '-o', 'none']);
    expect(groupSponsor.code).toBe(0);
  });
});
