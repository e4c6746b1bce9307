// Writes schema/agentid.schema.json from the zod schema (src/graph/fleet/schema.ts) via the
// build's output: npm run build && node scripts/fleet-schema.mjs. test/unit/fleet-schema.test.ts
// fails when the committed file is not what the schema generates.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { fleetJsonSchema } = await import(path.join(root, 'dist/graph/fleet/schema.js'));
writeFileSync(path.join(root, 'schema', 'agentid.schema.json'), `${JSON.stringify(fleetJsonSchema(), null, 2)}\n`);
