import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import { parseJson, tempHome } from './helpers.js';

// Several CLI processes share one AGENTID_HOME: each write takes the lock, re-reads a state another
// process changed, and renames a fully written file into place. Eight writers at once must leave
// eight agents and a state file that parses.

const h = tempHome();
afterAll(() => h.remove());

const WRITERS = 8;

describe('concurrent CLI processes on one emulated tenant', () => {
  test('eight parallel agent creates under one blueprint lose no write and tear no file', async () => {
    const bp = await h.run(['blueprint', 'create', '--name', 'Busy Blueprint', '--sponsor', 'me', '-o', 'none']);
    expect(bp.code).toBe(0);

    const names = Array.from({ length: WRITERS }, (_, i) => `Busy Agent ${i + 1}`);
    const results = await Promise.all(names.map((name) => h.run(['agent', 'create', '--blueprint', 'Busy Blueprint', '--name', name, '--sponsor', 'me', '--query', 'id'])));
    expect(results.map((r) => ({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }))).toEqual(names.map(() => ({ code: 0, stderr: '' })));
    const ids = results.map((r) => r.json<string>());
    expect(new Set(ids).size).toBe(WRITERS);

    const listed = await h.run(['agent', 'list', '--blueprint', 'Busy Blueprint', '--query', '[].{id:id,name:displayName}']);
    expect(listed.code).toBe(0);
    const agents = listed.json<{ id: string; name: string }[]>();
    expect(agents.map((a) => a.id).sort()).toEqual([...ids].sort());
    expect(agents.map((a) => a.name).sort()).toEqual([...names].sort());

    const state = parseJson<{ objects: Record<string, { type: string }> }>(readFileSync(h.stateFile, 'utf8'), 'tenant.json');
    expect(Object.values(state.objects).filter((o) => o.type === 'agentIdentity')).toHaveLength(WRITERS);
  });
});
