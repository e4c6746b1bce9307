import { LineCounter, isMap, isScalar, isSeq, parseDocument, visit, type Document, type Node } from 'yaml';
import { UsageError } from '../../errors.js';
import { Fleet, type FleetFile } from './schema.js';

// Reading agentid.yaml (or .json: YAML 1.2 reads JSON, so one parser gives both formats the same
// line numbers and the same duplicate-key check). Every problem is one UsageError naming the
// file, the line and the path of the bad field, raised before anything reads the tenant.

export interface LoadedFleet {
  fleet: FleetFile;
  /** "agentid.yaml:12 (blueprints.sales.sponsors[0])" for messages about a place in the file. */
  where: (path: readonly PropertyKey[]) => string;
}

// Keys that would hold a secret's value. The file references secrets (clientSecret.secretFile);
// a value here would end up in a repository, so it is refused before the schema even runs.
const SECRET_KEY = /^(secret|secrettext|secretvalue|password|passwordcredentials|clientsecretvalue|privatekey|key|value)$/i;

const NAME_MAPS = new Set(['blueprints', 'agents', 'agentUsers', 'federatedCredentials', 'inheritablePermissions']);

export function parseFleet(text: string, file: string, env: NodeJS.ProcessEnv): LoadedFleet {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const lineAt = (offset: number | undefined) => (offset === undefined ? undefined : lc.linePos(offset).line);
  const fmt = (line: number | undefined, path: readonly PropertyKey[]) => `${file}${line ? `:${line}` : ''}${path.length ? ` (${dotted(path)})` : ''}`;

  const first = doc.errors[0];
  if (first) {
    const line = lineAt(first.pos[0]);
    if (first.code === 'DUPLICATE_KEY') {
      const key = keyAt(doc, first.pos[0]);
      throw new UsageError(`${file}${line ? `:${line}` : ''}: duplicate key${key ? ` '${key}'` : ''}: each blueprint, agent and agent user must appear once (keys are their stable names).`);
    }
    const hint = text.includes('${') ? " (a ${VAR} inside [ ] or { } needs quotes: ['${VAR}'])" : '';
    throw new UsageError(`${file}${line ? `:${line}` : ''}: not valid YAML or JSON: ${first.message.split('\n')[0]}${hint}.`);
  }
  if (!isMap(doc.contents)) throw new UsageError(`${file}: expected a mapping with apiVersion: agentid/v1 and kind: AgentFleet (see agentid schema).`);

  const nodeAt = (path: readonly PropertyKey[]): Node | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n) as unknown[], true) as Node | undefined;
      if (node && (isScalar(node) || isMap(node) || isSeq(node))) return node;
    }
    return undefined;
  };
  const where = (path: readonly PropertyKey[]) => fmt(lineAt(nodeAt(path)?.range?.[0]), path);

  // Secrets inline: any key that names a secret's value, or a clientSecret given as a string.
  visit(doc, {
    Pair(_k, pair, ancestors) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      const path = pathOf(ancestors, pair);
      // A key that is a name (an agent called "Password Reset") is not a setting.
      if (NAME_MAPS.has(String(path[path.length - 2]))) return;
      // Nor is an attribute set's or attribute's name (an attribute may well be called Key).
      const n = path.length;
      if ((path[n - 2] === 'attributes' && path[n - 4] === 'agents') || (path[n - 3] === 'attributes' && path[n - 5] === 'agents')) return;
      if (SECRET_KEY.test(key) || (key === 'clientSecret' && isScalar(pair.value))) {
        throw new UsageError(`${fmt(lineAt((pair.key as Node).range?.[0]), path)}: a secret value does not belong in ${file}; reference it instead: clientSecret: { secretFile: PATH } (apply writes a created secret there, mode 0600).`);
      }
    },
  });

  // ${VAR} in any string, keys included; $${VAR} is a literal ${VAR}. An unset variable is an error.
  visit(doc, {
    Scalar(_k, node, parents) {
      if (typeof node.value !== 'string' || !node.value.includes('${')) return;
      const ancestors = [...parents, node];
      node.value = node.value.replace(/\$?\$\{([^}]*)\}/g, (m, name: string) => {
        if (m.startsWith('$$')) return m.slice(1);
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UsageError(`${fmt(lineAt(node.range?.[0]), pathOf(ancestors))}: '\${${name}}' is not a variable name (letters, digits and _).`);
        const v = env[name];
        if (v === undefined) throw new UsageError(`${fmt(lineAt(node.range?.[0]), pathOf(ancestors))}: environment variable ${name} is not set (the file uses \${${name}}); set it, or write $\${${name}} for a literal.`);
        return v;
      });
    },
  });

  // Substituted keys may now collide.
  const raw = doc.toJS({ maxAliasCount: 100 }) as unknown;
  const r = Fleet.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path;
    let msg = issue.message;
    if (issue.code === 'unrecognized_keys') {
      const keys = (issue as { keys: string[] }).keys;
      msg = `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `'${k}'`).join(', ')} (see agentid schema)`;
      return fail(where([...path, keys[0]!]) , msg);
    }
    // A bad map key: zod says "Invalid key in record"; the key's own rule says what is wrong.
    if (issue.code === 'invalid_key') msg = (issue as { issues?: { message: string }[] }).issues?.[0]?.message ?? msg;
    if (issue.code === 'invalid_value' && path.length === 1 && (path[0] === 'apiVersion' || path[0] === 'kind')) msg = path[0] === 'apiVersion' ? 'apiVersion must be agentid/v1' : 'kind must be AgentFleet';
    return fail(where(path), msg);
  }
  const fleet = r.data;
  // References: every agent user names a blueprint of this file and an agent under it.
  for (const [upn, u] of Object.entries(fleet.agentUsers ?? {})) {
    const bp = fleet.blueprints[u.blueprint];
    if (!bp) return fail(where(['agentUsers', upn, 'blueprint']), `blueprint '${u.blueprint}' is not in the file (blueprints: ${Object.keys(fleet.blueprints).join(', ') || 'none'})`);
    if (!(u.agent in bp.agents)) return fail(where(['agentUsers', upn, 'agent']), `blueprint '${u.blueprint}' has no agent '${u.agent}' in the file`);
  }
  const parents = new Map<string, string>();
  for (const [upn, u] of Object.entries(fleet.agentUsers ?? {})) {
    const k = `${u.blueprint}\u0000${u.agent}`;
    if (parents.has(k)) return fail(where(['agentUsers', upn, 'agent']), `agent '${u.agent}' already has agent user ${parents.get(k)}; an agent identity has one agent user`);
    parents.set(k, upn);
  }
  const upns = new Map<string, string>();
  for (const upn of Object.keys(fleet.agentUsers ?? {})) {
    const l = upn.toLowerCase();
    if (upns.has(l)) return fail(where(['agentUsers', upn]), `duplicate key: ${upns.get(l)} and ${upn} are the same UPN`);
    upns.set(l, upn);
  }
  return { fleet, where };
}

function fail(at: string, msg: string): never {
  throw new UsageError(`${at}: ${msg.replace(/\.$/, '')}.`);
}

function dotted(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else {
      const k = String(p);
      s += /^[A-Za-z_$][\w$-]*$/.test(k) ? `${s ? '.' : ''}${k}` : `[${JSON.stringify(k)}]`;
    }
  }
  return s;
}

/** The path of keys from the document root to a pair (or a scalar inside one). */
function pathOf(ancestors: readonly unknown[], self?: unknown): PropertyKey[] {
  const out: PropertyKey[] = [];
  const chain = [...ancestors, ...(self ? [self] : [])];
  for (let i = 0; i < chain.length; i++) {
    const a = chain[i] as { key?: unknown; items?: unknown[] };
    if (isSeq(a)) {
      const next = chain[i + 1];
      const idx = next === undefined ? -1 : a.items.indexOf(next as never);
      if (idx >= 0) out.push(idx);
    } else if (a && typeof a === 'object' && 'key' in a && 'value' in a) {
      const k = a.key;
      out.push(isScalar(k) ? String(k.value) : String(k));
    }
  }
  return out;
}

function keyAt(doc: Document, offset: number): string | undefined {
  let found: string | undefined;
  visit(doc, {
    Pair(_k, pair) {
      const k = pair.key as Node | null;
      if (k && isScalar(k) && k.range && k.range[0] <= offset && offset <= k.range[2]) found = String(k.value);
    },
  });
  return found;
}
