import { describe, expect, test } from 'vitest';
import { compare, emulator, loadPages, runDocCase } from './docs-runner.js';

// Issue 11 §2: the Graph reference pages' own examples (docs/*.json, one file per page, each
// naming its page and docs commit) against the emulator. See docs-runner.ts for what a pass means.

const pages = loadPages();
const all = pages.flatMap(({ file, p }) => p.cases.map((c, i) => ({ id: `${file.replace(/\.json$/, '')}#${i + 1} ${c.example}`, page: p, c })));
const excluded = all.filter((x) => x.c.cannotPass);
const results = new Map<string, boolean>();

describe('conformance: every example of the Graph reference pages the emulator serves', () => {
  test('every page file names its page and docs commit', () => {
    expect(pages.length).toBeGreaterThan(0);
    for (const { file, p } of pages) {
      expect(p.page, file).toMatch(/^(api-reference\/(v1\.0|beta)\/api\/|concepts\/)[\w.-]+\.md$/);
      expect(p.commit, file).toMatch(/^[0-9a-f]{40}$/);
      expect(p.cases.length, file).toBeGreaterThan(0);
    }
  });

  for (const x of all) {
    test.skipIf(Boolean(x.c.cannotPass))(x.id, async () => {
      const r = await runDocCase(emulator(), x.c);
      results.set(x.id, r.problems.length === 0);
      expect(r.problems, `${x.page.page}@${x.page.commit.slice(0, 7)}\n${JSON.stringify(r.body, null, 2)?.slice(0, 1500)}`).toEqual([]);
    });
  }

  test('excluded cases still fail as documented (an exclusion that passes must be lifted)', async () => {
    const lifted: string[] = [];
    const brokenSetup: string[] = [];
    for (const x of excluded) {
      // A setup that fails would make the exclusion fail for the wrong reason: it is a bug of the case.
      const r = await runDocCase(emulator(), x.c).catch((e: Error) => (brokenSetup.push(`${x.id}: ${e.message}`), { problems: ['setup failed'] }));
      if (r.problems.length === 0) lifted.push(x.id);
    }
    expect({ lifted, brokenSetup }).toEqual({ lifted: [], brokenSetup: [] });
  });

  test('the comparison can fail: a value, a missing property, an unowed type and an id/time are told apart', () => {
    const ctx = { volatile: new Set<string>(), requestText: '"inheritableScopes":{"@odata.type":"microsoft.graph.noScopes"}', requestBody: { inheritableScopes: { '@odata.type': 'microsoft.graph.noScopes' } }, exact: new Set<string>() };
    const doc = { error: { code: 'BadRequest', message: 'x' }, id: '11111111-1111-1111-1111-111111111111', when: '2020-01-01T00:00:00Z', inheritableScopes: { '@odata.type': 'microsoft.graph.noScopes' }, api: { '@odata.type': 'microsoft.graph.apiApplication' }, value: [{ a: 1 }] };
    const ours = { error: { code: 'BadRequest', message: 'y' }, id: '22222222-2222-2222-2222-222222222222', when: '2026-01-01T00:00:00Z', inheritableScopes: {}, api: {}, value: [{ a: 2 }] };
    expect(compare(doc, ours, '', ctx)).toEqual(['error.message: documented "x", got "y"', 'inheritableScopes.@odata.type: documented microsoft.graph.noScopes, got nothing', 'value[0].a: documented 1, got 2']);
  });

  test('figure', () => {
    const passed = [...results.values()].filter(Boolean).length;
    const lines = [`docs conformance: ${passed} / ${all.length} documented examples pass; ${excluded.length} cannot pass:`, ...excluded.map((x) => `  - ${x.id}: ${x.c.cannotPass}`)];
    const partial = all.filter((x) => x.c.leftOut);
    if (partial.length) lines.push('properties of passing examples left out of the comparison:', ...partial.flatMap((x) => Object.entries(x.c.leftOut!).map(([k, why]) => `  - ${x.id} ${k}: ${why}`)));
    console.log(lines.join('\n'));
  });
});
