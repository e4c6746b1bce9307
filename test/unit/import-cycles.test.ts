import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';

// Issue 11 #4: dependencies point one way. Runtime imports (static and dynamic `import()`, not
// `import type`) of src/ are walked; no module that main.ts loads may lead back to main.ts, the
// two cycles the issue named (completion ↔ main, context ↔ graph sign-in) stay broken, and no
// other cycle appears anywhere in src/ (a lazy `import()` back is still a cycle).

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

  test('context.ts and the Graph sign-in do not import each other', () => {
    const context = path.join(SRC, 'context.ts');
    expect(rel(reaches(path.join(SRC, 'graph', 'signin.ts'), context))).toBeUndefined();
    expect(rel(reaches(context, context))).toBeUndefined();
  });

  test('no import cycle anywhere in src/', () => {
    // Tarjan's strongly connected components: any component of two or more modules is a cycle.
    let next = 0;
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const cycles: string[][] = [];
    const visit = (v: string) => {
      index.set(v, next);
      low.set(v, next++);
      stack.push(v);
      onStack.add(v);
      for (const w of graph.get(v) ?? []) {
        if (!graph.has(w)) continue;
        if (!index.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v)!, low.get(w)!));
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
      if (low.get(v) === index.get(v)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(path.relative(SRC, w));
        } while (w !== v);
        if (component.length > 1) cycles.push(component.sort());
      }
    };
    for (const v of graph.keys()) if (!index.has(v)) visit(v);
    expect(graph.size).toBeGreaterThan(100);
    expect(cycles).toEqual([]);
  });
});
