import { describe, expect, test } from 'vitest';
import { runWithUndo } from '../../src/mock/undo.js';
import { seedState, SEED_IDS } from '../../src/mock/seed.js';
import type { TenantState } from '../../src/mock/state.js';

function fail(): never {
  throw new Error('boom');
}

describe('runWithUndo', () => {
  test('returns the callback result and keeps its changes when it succeeds', () => {
    const s = seedState();
    const r = runWithUndo(s, (st) => {
      st.objects[SEED_IDS.megan]!.props.displayName = 'Megan B.';
      return 42;
    });
    expect(r).toBe(42);
    expect(s.objects[SEED_IDS.megan]!.props.displayName).toBe('Megan B.');
  });

  test('restores every kind of change when the callback throws', () => {
    const s = seedState();
    const before = structuredClone(s);
    expect(() =>
      runWithUndo(s, (st) => {
        const megan = st.objects[SEED_IDS.megan]!;
        megan.props.displayName = 'changed'; // nested assignment
        (megan.props.businessPhones as string[]).push('+1 555'); // in-place array method
        megan.sponsors = [SEED_IDS.adele]; // new property on an entry
        delete st.objects[SEED_IDS.alex]; // removed entry
        st.objects['new-id'] = { id: 'new-id', type: 'user', props: {} }; // added entry
        st.roleAssignments.push({ principalId: 'x', roleTemplateId: 'y', roleName: 'z' }); // top-level array
        st.tenant.displayName = 'Fabrikam'; // top-level map field
        st.signedInUserId = 'someone'; // top-level primitive
        fail();
      }),
    ).toThrow('boom');
    expect(s).toEqual(before);
  });

  test('never leaves a proxy inside the state', () => {
    const s = seedState();
    runWithUndo(s, (st) => {
      const megan = st.objects[SEED_IDS.megan]!;
      // values read through the proxies and written back, nested in new arrays and objects
      st.objects[SEED_IDS.adele]!.props.manager = { ref: megan.props, list: [megan] };
    });
    // structuredClone throws on proxies: this is the check that none was stored
    expect(() => structuredClone(s)).not.toThrow();
    const copy = structuredClone(s) as TenantState;
    expect((copy.objects[SEED_IDS.adele]!.props.manager as { list: { id: string }[] }).list[0]!.id).toBe(SEED_IDS.megan);
  });

  test('identity of objects read twice is preserved inside the callback', () => {
    const s = seedState();
    runWithUndo(s, (st) => {
      const a = st.objects[SEED_IDS.megan];
      const b = Object.values(st.objects).find((o) => o.id === SEED_IDS.megan);
      expect(a).toBe(b);
    });
  });

  test('copies only what a write touches, so a large state costs nothing extra', () => {
    const s = seedState();
    for (let i = 0; i < 20_000; i++) s.objects[`id-${i}`] = { id: `id-${i}`, type: 'agentIdentity', props: { displayName: `Agent ${i}`, tags: [] } };
    let copies = 0;
    const clone = globalThis.structuredClone;
    globalThis.structuredClone = ((v: unknown) => {
      copies++;
      return clone(v);
    }) as typeof structuredClone;
    try {
      expect(() =>
        runWithUndo(s, (st) => {
          st.objects['id-7']!.props.displayName = 'x';
          st.objects['id-8']!.props.displayName = 'y';
          fail();
        }),
      ).toThrow();
    } finally {
      globalThis.structuredClone = clone;
    }
    expect(copies).toBe(2);
    expect(s.objects['id-7']!.props.displayName).toBe('Agent 7');
  });
});
