import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';

// Issue 11 #4: dependencies point one way. Runtime imports (static and dynamic `import()`, not
// `import type`) of src/ are walked; no module that main.ts loads may lead back to main.ts.

const SRC = path.resolve(__dirname, '../../src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(?!type\s)[^;]*?from\s+'(\.[^']+)'/gm)) specs.push(m[1]!);
  for (const m of text.matchAll(/import\('(\.[^']+)'\)/g)) {
    // `import('x').Type` in a type position is not a runtime import.
    const after = text.slice(m.index! + m[0].length, m.index! + m[0].length + 1);
    if (after !== '.') specs.push(m[1]!);
  }
  return specs.map((s) => path.resolve(path.dirname(file), s.replace(/\.js$/, '.ts')));
}

const graph = new Map(files(SRC).map((f) => [f, runtimeImports(f)]));

function reaches(from: string, to: string): string[] | undefined {
  const seen = new Set<string>();
  const stack: [string, string[]][] = [[from, [from]]];
  while (stack.length) {
    const [f, trail] = stack.pop()!;
    for (const next of graph.get(f) ?? []) {
      if (next === to) return [...trail, next];
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push([next, [...trail, next]]);
    }
  }
  return undefined;
}

const rel = (t: string[] | undefined) => t?.map((f) => path.relative(SRC, f)).join(' -> ');

describe('import graph', () => {
  test('no module imports main.ts back (completion gets the group list as an argument)', () => {
    const main = path.join(SRC, 'main.ts');
    expect(rel(reaches(main, main))).toBeUndefined();
    expect(rel(reaches(path.join(SRC, 'commands', 'completion.ts'), main))).toBeUndefined();
  });
});
