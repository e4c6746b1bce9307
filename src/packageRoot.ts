import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The installed package's root (where package.json and fixtures/ are), found from the running
// module: src/ under vitest, dist/ from tsc, dist/bundle/ from the bundle bin/ runs. Walking up
// keeps it right whatever depth the module ended up at.

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'fixtures'))) return (root = dir);
    dir = path.dirname(dir);
  }
  throw new Error(`agentid: cannot find its package root above ${fileURLToPath(import.meta.url)}`);
}
