// Per-type property lists of Microsoft Graph's official beta model, read from the serializers
// @microsoft/msgraph-beta-sdk generates (models/**/index.js, e.g. serializeAgentIdentity). A
// serializer writes exactly the properties of its type and calls its base type's serializer
// first (serializeAgentIdentity → serializeServicePrincipal → serializeDirectoryObject →
// serializeEntity), so following those calls gives the full list along the base-type chain.
// The `switch (x.odataType)` blocks dispatch to *derived* types and are skipped.
//
// Used by test/unit/sdk-properties.test.ts (issue 6, point 4b) and by
// scripts/gen-record-allowlist.mjs. A dev dependency only: nothing under src/ imports it.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function modelFiles() {
  const root = path.join(path.dirname(require.resolve('@microsoft/msgraph-beta-sdk/package.json')), 'models');
  const out = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name === 'index.js') out.push(p);
    }
  };
  walk(root);
  return out;
}

let cache;

/**
 * `dir:serializeX` → { props: Map<name, nested serializer key|null>, bases: keys[] }. Names are
 * qualified by the models/ sub-folder they live in: `serializeAgentUser` exists in more than one
 * namespace, and a file refers to another folder's serializers through hashed import aliases
 * (`serializeAgentSignIn as I74e8…` from './agentic/index.js').
 */
export function loadSerializers() {
  if (cache) return cache;
  cache = new Map();
  const head = /^export function (serialize\w+)\(writer, (\w+) = \{\}, isSerializingDerivedType = false\) \{$/;
  const root = path.dirname(require.resolve('@microsoft/msgraph-beta-sdk/package.json'));
  for (const file of modelFiles()) {
    const dir = path.relative(path.join(root, 'models'), path.dirname(file)).split(path.sep).join('/');
    const text = readFileSync(file, 'utf8');
    const aliases = new Map();
    for (const imp of text.matchAll(/^import \{([^}]*)\} from '([^']+)';$/gm)) {
      const from = path.posix.normalize(path.posix.join(dir, path.posix.dirname(imp[2])));
      for (const spec of imp[1].split(',')) {
        const a = /^\s*(serialize\w+) as (\w+)\s*$/.exec(spec);
        if (a) aliases.set(a[2], `${from === '.' ? '' : from}:${a[1]}`);
      }
    }
    const ref = (n) => aliases.get(n) ?? `${dir}:${n}`;
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const m = head.exec(lines[i]);
      if (!m) continue;
      const [, name, arg] = m;
      const entry = { props: new Map(), bases: [] };
      let inSwitch = false;
      for (i++; i < lines.length && lines[i] !== '}'; i++) {
        const line = lines[i].trim();
        if (line.startsWith('switch (')) inSwitch = true;
        if (inSwitch) continue;
        const w = /^writer\.write\w+\("([^"]+)", [\w.]+(?:, (\w+))?/.exec(line);
        if (w) {
          entry.props.set(w[1], w[2] ? ref(w[2]) : null);
          continue;
        }
        const b = new RegExp(`^(\\w+)\\(writer, ${arg}, isSerializingDerivedType\\);`).exec(line);
        if (b) entry.bases.push(ref(b[1]));
      }
      cache.set(`${dir}:${name}`, entry);
    }
  }
  return cache;
}

/** Every property of a type (e.g. 'AgentIdentity' in microsoft.graph, '' namespace), base types included;
 * each maps to the serializer key of its own (complex) type, or null for a primitive. */
export function propertiesOf(typeName, namespace = '') {
  return propertiesOfSerializer(`${namespace}:serialize${typeName}`);
}

/** Properties of the type a serializer key (`dir:serializeX`, as propertiesOf's values) writes, base types included. */
export function propertiesOfSerializer(key) {
  const all = loadSerializers();
  const out = new Map();
  const visit = (fn) => {
    const entry = all.get(fn);
    if (!entry) throw new Error(`No ${fn} in @microsoft/msgraph-beta-sdk`);
    for (const b of entry.bases) visit(b);
    for (const [k, v] of entry.props) out.set(k, v);
  };
  visit(key);
  return out;
}
