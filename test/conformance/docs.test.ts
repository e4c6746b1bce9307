import { describe, expect, test } from 'vitest';
import { emulator, loadPages, runDocCase } from './docs-runner.js';

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
    for (const x of excluded) {
      const r = await runDocCase(emulator(), x.c).catch(() => ({ problems: ['setup failed'] }));
      if (r.problems.length === 0) lifted.push(x.id);
    }
    expect(lifted).toEqual([]);
  });

  test('figure', () => {
    const passed = [...results.values()].filter(Boolean).length;
    const lines = [`docs conformance: ${passed} / ${all.length} documented examples pass; ${excluded.length} cannot pass:`, ...excluded.map((x) => `  - ${x.id}: ${x.c.cannotPass}`)];
    const partial = all.filter((x) => x.c.leftOut);
    if (partial.length) lines.push('properties of passing examples left out of the comparison:', ...partial.flatMap((x) => Object.entries(x.c.leftOut!).map(([k, why]) => `  - ${x.id} ${k}: ${why}`)));
    console.log(lines.join('\n'));
  });
});
