import { GraphErrors } from './errors.js';
import type { EntityType } from './state.js';

// Parses a Graph resource path into entity set, key, cast and the rest.
//
// The Agent ID docs address the same object in several spellings, and Graph accepts all of
// them: a cast segment after the key (/servicePrincipals/{id}/microsoft.graph.agentIdentity)
// or before it (/servicePrincipals/microsoft.graph.agentIdentity/{id}/inheritedAppRoleAssignments,
// /users/microsoft.graph.agentUser/{id}); the namespace as `microsoft.graph.`, its alias
// `graph.`, or capitalised (`Microsoft.Graph.AgentIdentity`, as entra-docs and the Agent 365 CLI
// write it); and alternate keys in parentheses ((appId='…'), (uniqueName='…')). Type names are
// matched case-insensitively, which is what Graph does for these segments.

export type Version = 'v1.0' | 'beta';

export interface Key {
  kind: 'id' | 'appId' | 'uniqueName';
  value: string;
}

export interface ParsedPath {
  version: Version;
  /** Entity set or singleton, as Graph spells it: applications, servicePrincipals, users, … */
  set: string;
  key?: Key;
  cast?: EntityType;
  /** Where the cast stood: the @odata.context of a response echoes it. */
  castPosition?: 'beforeKey' | 'afterKey' | 'collection';
  /** Segments after set/key/cast, e.g. ['owners', '$ref'] or ['sponsors', '{id}', '$ref']. */
  rest: string[];
}

const TYPE_NAMES: Record<string, EntityType> = Object.fromEntries(
  (
    [
      'user',
      'agentUser',
      'group',
      'application',
      'agentIdentityBlueprint',
      'servicePrincipal',
      'agentIdentityBlueprintPrincipal',
      'agentIdentity',
    ] as EntityType[]
  ).map((t) => [t.toLowerCase(), t]),
);

const CAST_RE = /^(?:microsoft\.graph|graph)\.([A-Za-z]+)$/i;

/** `microsoft.graph.agentIdentity` → 'agentIdentity'; undefined when the segment is no cast. */
export function parseCast(segment: string): EntityType | undefined | null {
  const m = CAST_RE.exec(segment);
  if (!m) return undefined;
  return TYPE_NAMES[m[1]!.toLowerCase()] ?? null; // null: looks like a cast, names no known type
}

/** Canonical spellings of the entity sets (Graph treats segment names case-insensitively). */
const SETS: Record<string, string> = Object.fromEntries(
  ['applications', 'servicePrincipals', 'users', 'groups', 'directoryObjects', 'directory', 'me', 'organization', '$batch', 'auditLogs', 'oauth2PermissionGrants', '$metadata', 'roleManagement', 'identity', 'identityProtection'].map(
    (s) => [s.toLowerCase(), s],
  ),
);

export function parsePath(pathname: string): ParsedPath {
  const raw = pathname.replace(/^\/+/, '').replace(/\/+$/, '');
  const parts = splitSegments(raw);
  const versionSeg = parts.shift();
  if (versionSeg !== 'v1.0' && versionSeg !== 'beta') {
    throw GraphErrors.invalidRequest(`Invalid version: ${versionSeg ?? ''}`);
  }
  const first = parts.shift();
  if (!first) throw GraphErrors.invalidRequest('Invalid request: the request URI has no resource segment.');

  const { name, key } = splitKey(first);
  const set = SETS[name.toLowerCase()];
  if (!set) throw GraphErrors.unknownSegment(name);
  const parsed: ParsedPath = { version: versionSeg, set, rest: [] };
  if (key) parsed.key = key;

  let i = 0;
  // cast before key, or a cast on the collection itself
  const c0 = parts[i] !== undefined ? parseCast(parts[i]!) : undefined;
  if (c0 === null) throw GraphErrors.unknownSegment(parts[i]!);
  if (c0) {
    parsed.cast = c0;
    parsed.castPosition = key ? 'afterKey' : 'collection';
    i++;
  }
  if (!parsed.key && parts[i] !== undefined && !parts[i]!.startsWith('$') && set !== 'directory' && set !== 'me' && set !== 'auditLogs' && set !== 'roleManagement' && set !== '$batch' && set !== 'identity' && set !== 'identityProtection') {
    const seg = parts[i]!;
    if (!isCollectionOperation(seg)) {
      parsed.key = { kind: 'id', value: seg };
      if (parsed.cast) parsed.castPosition = 'beforeKey';
      i++;
      const c1 = parts[i] !== undefined ? parseCast(parts[i]!) : undefined;
      if (c1 === null) throw GraphErrors.unknownSegment(parts[i]!);
      if (c1) {
        if (parsed.cast) throw GraphErrors.unknownSegment(parts[i]!); // two casts on one key
        parsed.cast = c1;
        parsed.castPosition = 'afterKey';
        i++;
      }
    }
  }
  parsed.rest = parts.slice(i);
  return parsed;
}

// Bound functions and actions that sit on a collection, not an item.
const COLLECTION_OPERATIONS = new Set(['delta', 'getbyids', 'validateproperties', 'getavailableextensionproperties', '$count']);
function isCollectionOperation(seg: string): boolean {
  return COLLECTION_OPERATIONS.has(seg.toLowerCase());
}

/** Splits on '/' but not inside a quoted key such as (uniqueName='a/b'), and percent-decodes. */
function splitSegments(raw: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === "'") quoted = !quoted;
    if (ch === '/' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.filter((s) => s !== '').map(safeDecode);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw GraphErrors.invalidRequest(`The request URI segment '${s}' is not valid.`);
  }
}

const KEY_RE = /^([^()]+)\((.*)\)$/s;
const NAMED_KEY_RE = /^\s*(appId|uniqueName)\s*=\s*'((?:[^']|'')*)'\s*$/i;
const PLAIN_KEY_RE = /^\s*'((?:[^']|'')*)'\s*$/;

function splitKey(segment: string): { name: string; key?: Key } {
  const m = KEY_RE.exec(segment);
  if (!m) return { name: segment };
  const name = m[1]!;
  const inner = m[2]!;
  const named = NAMED_KEY_RE.exec(inner);
  if (named) {
    const kind = named[1]!.toLowerCase() === 'appid' ? 'appId' : 'uniqueName';
    return { name, key: { kind, value: named[2]!.replace(/''/g, "'") } };
  }
  const plain = PLAIN_KEY_RE.exec(inner);
  if (plain) return { name, key: { kind: 'id', value: plain[1]!.replace(/''/g, "'") } };
  if (/^[0-9a-f-]{36}$/i.test(inner.trim())) return { name, key: { kind: 'id', value: inner.trim() } };
  throw GraphErrors.badRequest(`Invalid key specified: '${inner}'.`);
}

export const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
