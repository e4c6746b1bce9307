import { GraphErrors } from '../errors.js';
import { evaluateFilter, getPath, isNullish, parseFilter } from './filter.js';
import { encodeSkiptoken, queryHash, readSkiptoken } from './paging.js';
import { evaluateSearch, parseSearch } from './search.js';
import { resourceName, type CollectionSpec, type ParsedQuery } from './types.js';

// The query string: which options exist, how each is parsed, the directory's advanced-query rules
// (ConsistencyLevel: eventual + $count=true), and applying a parsed query to a collection.

const KNOWN_OPTIONS = ['$filter', '$select', '$top', '$count', '$search', '$orderby', '$skiptoken', '$expand', '$skip', '$format'];

/**
 * GD concepts/query-parameters.md: "On the beta endpoint, the $ prefix is optional. For example,
 * instead of $filter, you can use filter." Renames the beta request's unprefixed system options
 * in place (`top=10` → `$top=10`), so that parsing, next links and echoes see Graph's spelling.
 */
export function prefixSystemOptions(params: URLSearchParams): void {
  const entries = [...params];
  if (!entries.some(([n]) => !n.startsWith('$') && KNOWN_OPTIONS.includes(`$${n.toLowerCase()}`))) return;
  for (const [n] of entries) params.delete(n);
  for (const [n, v] of entries) params.append(!n.startsWith('$') && KNOWN_OPTIONS.includes(`$${n.toLowerCase()}`) ? `$${n}` : n, v);
}

export function parseQuery(params: URLSearchParams, headers: Headers, spec: CollectionSpec): ParsedQuery {
  // Graph matches system query option names case-insensitively ($orderBy, $Filter work).
  const options = new Map<string, string>();
  for (const [rawName, value] of params) {
    if (!rawName.startsWith('$')) continue;
    const name = rawName.toLowerCase();
    if (!KNOWN_OPTIONS.includes(name)) throw GraphErrors.unrecognizedQueryArgument(rawName);
    if (options.has(name)) throw GraphErrors.duplicateQueryOption(name);
    options.set(name, value);
  }
  if (options.has('$skip')) throw GraphErrors.skipNotSupported();

  const consistencyEventual = (headers.get('ConsistencyLevel') ?? '').trim().toLowerCase() === 'eventual';
  const q: ParsedQuery = { count: parseCount(options.get('$count')), consistencyEventual };
  const top = options.get('$top');
  if (top !== undefined) q.top = parseTop(top, spec);
  const select = options.get('$select');
  if (select !== undefined) q.select = parseSelect(select, spec);
  const expand = options.get('$expand');
  if (expand !== undefined) q.expand = splitTopLevel(expand);

  const advancedReady = consistencyEventual && q.count;
  const filter = options.get('$filter');
  if (filter !== undefined) {
    const { node, advancedFeatures } = parseFilter(filter, spec);
    q.filter = node;
    const first = advancedFeatures[0];
    if (spec.advanced && first && !advancedReady) {
      throw first === 'ne' ? GraphErrors.notEqualsNotSupported() : GraphErrors.advancedOperatorNotSupported(first);
    }
  }
  const search = options.get('$search');
  if (search !== undefined) {
    // $search is the one advanced feature that needs only the header (GD aad-advanced-queries.md).
    if (spec.advanced && !consistencyEventual) throw GraphErrors.searchRequiresConsistencyLevel();
    q.search = parseSearch(search, spec);
  }
  const orderby = options.get('$orderby');
  if (orderby !== undefined) {
    q.orderby = parseOrderby(orderby, spec);
    if (spec.advanced && !advancedReady) {
      // Observed order: with $filter the complaint is about the combination, even when the sort
      // property alone would also have needed advanced parameters.
      if (q.filter) throw GraphErrors.sortingNotSupported();
      const byDefault = (spec.orderableByDefault ?? []).map((p) => p.toLowerCase());
      const needy = q.orderby.find((o) => !byDefault.includes(o.path.toLowerCase()));
      if (needy) throw GraphErrors.unsupportedSortProperty(needy.path, resourceName(spec));
    }
  }
  const skiptoken = options.get('$skiptoken');
  if (skiptoken !== undefined) {
    readSkiptoken(skiptoken, queryHash(q, spec));
    q.skiptoken = skiptoken;
  }
  return q;
}

function parseCount(raw: string | undefined): boolean {
  if (raw === undefined) return false;
  const v = raw.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw GraphErrors.invalidCount(raw);
}

function parseTop(raw: string, spec: CollectionSpec): number {
  if (!/^\s*\d+\s*$/.test(raw)) throw GraphErrors.invalidTop(raw);
  const n = Number(raw.trim());
  const limit = spec.topLimit ?? spec.maxPageSize;
  if (n < 1 || n > limit) throw GraphErrors.invalidPageSize(raw.trim(), limit);
  return n;
}

function parseSelect(raw: string, spec: CollectionSpec): string[] {
  const names = raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const known = spec.properties?.map((p) => p.toLowerCase());
  for (const name of names) {
    if (name.startsWith('@')) throw GraphErrors.selectInvalidTerm(name);
    if (name === '*') continue;
    if (known && !known.includes(name.toLowerCase())) throw GraphErrors.selectPropertyNotFound(name, spec.resource);
  }
  return names;
}

/** `owners,manager($select=id,displayName)` → ['owners', 'manager($select=id,displayName)']. */
function splitTopLevel(raw: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= raw.length; i++) {
    const ch = raw[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth = Math.max(0, depth - 1);
    else if ((ch === ',' && depth === 0) || i === raw.length) {
      const part = raw.slice(start, i).trim();
      if (part) out.push(part);
      start = i + 1;
    }
  }
  return out;
}

function parseOrderby(raw: string, spec: CollectionSpec): { path: string; desc: boolean }[] {
  const orderable = (spec.orderable ?? []).map((p) => p.toLowerCase());
  const out: { path: string; desc: boolean }[] = [];
  let offset = 0;
  for (const part of raw.split(',')) {
    const m = /^\s*([A-Za-z_]\w*(?:\/[A-Za-z_]\w*)*)(?:\s+(asc|desc))?\s*$/i.exec(part);
    if (!m) throw GraphErrors.querySyntaxError(offset + part.trimEnd().length, raw);
    const path = m[1]!;
    if (!orderable.includes(path.toLowerCase())) throw GraphErrors.unsupportedSortPropertyAny();
    out.push({ path, desc: (m[2] ?? '').toLowerCase() === 'desc' });
    offset += part.length + 1;
  }
  return out;
}


// ---------------------------------------------------------------------------------------------
// $orderby

function sortKey(v: unknown): { rank: number; n: number; s: string } {
  // OData: nulls sort before every value in ascending order.
  if (isNullish(v)) return { rank: 0, n: 0, s: '' };
  if (typeof v === 'number') return { rank: 1, n: v, s: '' };
  if (typeof v === 'boolean') return { rank: 1, n: Number(v), s: '' };
  if (typeof v === 'string') {
    if (/^\d{4}-\d{2}-\d{2}T/.test(v)) {
      const t = Date.parse(v);
      if (!Number.isNaN(t)) return { rank: 1, n: t, s: '' };
    }
    return { rank: 2, n: 0, s: v.toLowerCase() };
  }
  return { rank: 3, n: 0, s: JSON.stringify(v) };
}

function compareKeys(a: ReturnType<typeof sortKey>, b: ReturnType<typeof sortKey>): number {
  if (a.rank !== b.rank) return a.rank - b.rank;
  if (a.n !== b.n) return a.n < b.n ? -1 : 1;
  return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;
}

function sortItems<T extends Record<string, unknown>>(items: T[], orderby: { path: string; desc: boolean }[]): T[] {
  const keyed = items.map((item, index) => ({ item, index, keys: orderby.map((o) => sortKey(getPath(item, o.path.split('/')))) }));
  keyed.sort((x, y) => {
    for (let i = 0; i < orderby.length; i++) {
      const c = compareKeys(x.keys[i]!, y.keys[i]!);
      if (c !== 0) return orderby[i]!.desc ? -c : c;
    }
    return x.index - y.index;
  });
  return keyed.map((k) => k.item);
}

export function applyQuery<T extends Record<string, unknown>>(
  items: T[],
  q: ParsedQuery,
  spec: CollectionSpec,
): { page: T[]; nextSkiptoken?: string; count?: number } {
  const hash = queryHash(q, spec);
  const offset = q.skiptoken === undefined ? 0 : readSkiptoken(q.skiptoken, hash);
  const { filter, search } = q;
  let rows = filter ? items.filter((item) => evaluateFilter(filter, item)) : [...items];
  if (search) rows = rows.filter((item) => evaluateSearch(search, item));
  if (q.orderby?.length) rows = sortItems(rows, q.orderby);

  const pageSize = Math.max(1, Math.min(q.top ?? spec.defaultPageSize, spec.maxPageSize));
  const page = rows.slice(offset, offset + pageSize);
  const result: { page: T[]; nextSkiptoken?: string; count?: number } = { page };
  if (offset + pageSize < rows.length) result.nextSkiptoken = encodeSkiptoken({ v: 1, o: offset + pageSize, h: hash });
  // GD: without ConsistencyLevel the directory silently ignores $count=true; paging.md: the count
  // is on the first page only.
  const countHonoured = q.count && (!spec.advanced || q.consistencyEventual);
  if (countHonoured && q.skiptoken === undefined) result.count = rows.length;
  return result;
}

// ---------------------------------------------------------------------------------------------
// $select

export function selectProperties<T extends Record<string, unknown>>(item: T, select: string[] | undefined): Record<string, unknown> {
  if (!select || select.includes('*')) return { ...item };
  const wanted = new Set(select.map((s) => s.toLowerCase()));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item)) {
    if (key === '@odata.type' || wanted.has(key.toLowerCase())) out[key] = value;
  }
  return out;
}
