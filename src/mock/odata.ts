import { createHash } from 'node:crypto';
import { GraphErrors } from './errors.js';

// The emulator's OData query options: $filter, $search, $select, $orderby, $top, $count,
// $expand and $skiptoken over plain JSON objects, with the directory's advanced-query rules.
//
// Sources (microsoftgraph/microsoft-graph-docs-contrib): concepts/aad-advanced-queries.md (which
// operators need `ConsistencyLevel: eventual` + `$count=true`, the endsWith/$search/$count error
// bodies, `in` wherever `eq`, ne/not wherever eq), concepts/filter-query-parameter.md (lambda
// syntax, unquoted Edm.Guid literals such as `s/skuId eq 184efa21-…`), concepts/search-query-parameter.md
// (clause syntax and tokenisation). Error wording not in the docs comes from response bodies quoted
// in microsoftgraph issues; see the comment on each factory in errors.ts.

export type FilterOp = 'eq' | 'ne' | 'startsWith' | 'endsWith' | 'in' | 'ge' | 'le' | 'gt' | 'lt' | 'any' | 'not';

export interface CollectionSpec {
  resource: string;
  /**
   * Property path → operators it supports. For a lambda over a complex collection list the inner
   * paths with 'any' (`'targetResources/id': ['any', 'eq']`) or the collection itself
   * (`'targetResources': ['any']`); for a primitive collection, `'signInEventTypes': ['any']`
   * allows `any(t: t eq 'x')` and `in`, other inner operators must be listed.
   */
  filterable: Record<string, FilterOp[]>;
  searchable?: string[];
  orderable?: string[];
  /** Orderable without advanced query parameters (user displayName/userPrincipalName); on an
   * advanced collection every other orderable property needs them. */
  orderableByDefault?: string[];
  defaultPageSize: number;
  maxPageSize: number;
  /** Largest accepted $top when it differs from the page size cap (directory: 999). */
  topLimit?: number;
  advanced: boolean;
  /** Known property names; when present, $select of anything else is a 400. */
  properties?: string[];
  /** Edm.Guid properties: they take unquoted GUID literals and refuse quoted strings. */
  guidProperties?: string[];
}

export type Literal =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' }
  | { kind: 'datetime'; value: string; epoch: number }
  | { kind: 'guid'; value: string };

/** A property path from the item, or from a lambda's range variable (`t/id` → name 't', path ['id']). */
export type PropertyRef = { scope: 'item'; path: string[] } | { scope: 'var'; name: string; path: string[] };

export type CompareOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

export type FilterNode =
  | { type: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { type: 'not'; operand: FilterNode }
  | { type: 'compare'; op: CompareOp; ref: PropertyRef; value: Literal }
  | { type: 'in'; ref: PropertyRef; values: Literal[] }
  | { type: 'function'; name: 'startsWith' | 'endsWith' | 'contains'; ref: PropertyRef; value: string }
  | { type: 'any'; ref: PropertyRef; variable?: string; predicate?: FilterNode };

export type SearchNode =
  | { type: 'and' | 'or'; left: SearchNode; right: SearchNode }
  | { type: 'term'; property: string; text: string };

export interface ParsedQuery {
  filter?: FilterNode;
  select?: string[];
  top?: number;
  count: boolean;
  search?: SearchNode;
  orderby?: { path: string; desc: boolean }[];
  skiptoken?: string;
  expand?: string[];
  consistencyEventual: boolean;
}

const KNOWN_OPTIONS = ['$filter', '$select', '$top', '$count', '$search', '$orderby', '$skiptoken', '$expand', '$skip', '$format'];

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

function resourceName(spec: CollectionSpec): string {
  return spec.resource.charAt(0).toUpperCase() + spec.resource.slice(1);
}

// ---------------------------------------------------------------------------------------------
// $filter: lexer

type Token =
  | { t: 'ident'; v: string; pos: number; end: number }
  | { t: 'string'; v: string; pos: number; end: number }
  | { t: 'number'; v: number; pos: number; end: number }
  | { t: 'datetime'; v: string; epoch: number; pos: number; end: number }
  | { t: 'guid'; v: string; pos: number; end: number }
  | { t: 'punct'; v: '(' | ')' | ',' | '/' | ':'; pos: number; end: number }
  | { t: 'eof'; pos: number; end: number };

const GUID_AT = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])/;
const DATETIME_AT = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2}))?(?![\w:.-])/;
const NUMBER_AT = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.])/;
const IDENT_AT = /^[A-Za-z_]\w*/;

function lex(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') {
      i++;
      continue;
    }
    if (ch === "'") {
      let j = i + 1;
      let value = '';
      for (;;) {
        if (j >= text.length) throw GraphErrors.filterUnterminatedString(i, text);
        if (text[j] === "'") {
          if (text[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += text[j];
        j++;
      }
      tokens.push({ t: 'string', v: value, pos: i, end: j + 1 });
      i = j + 1;
      continue;
    }
    if (ch === '(' || ch === ')' || ch === ',' || ch === '/' || ch === ':') {
      tokens.push({ t: 'punct', v: ch, pos: i, end: i + 1 });
      i++;
      continue;
    }
    const rest = text.slice(i);
    // A GUID may start with a letter, so it is tried before identifiers; a datetime before numbers.
    const guid = GUID_AT.exec(rest);
    if (guid) {
      tokens.push({ t: 'guid', v: guid[0], pos: i, end: i + guid[0].length });
      i += guid[0].length;
      continue;
    }
    const dt = DATETIME_AT.exec(rest);
    if (dt) {
      const epoch = Date.parse(dt[0].replace(/(\.\d{3})\d+/, '$1'));
      if (Number.isNaN(epoch)) throw GraphErrors.filterSyntaxError(i + dt[0].length, text);
      tokens.push({ t: 'datetime', v: dt[0], epoch, pos: i, end: i + dt[0].length });
      i += dt[0].length;
      continue;
    }
    const num = NUMBER_AT.exec(rest);
    if (num) {
      tokens.push({ t: 'number', v: Number(num[0]), pos: i, end: i + num[0].length });
      i += num[0].length;
      continue;
    }
    const ident = IDENT_AT.exec(rest);
    if (ident) {
      tokens.push({ t: 'ident', v: ident[0], pos: i, end: i + ident[0].length });
      i += ident[0].length;
      continue;
    }
    throw GraphErrors.filterInvalidCharacter(ch, i, text);
  }
  tokens.push({ t: 'eof', pos: text.length, end: text.length });
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// $filter: parser. Precedence not > and > or, as in OData; keywords and function names are
// case-insensitive because Graph accepts `NOT`, `OR` and `startswith` (GD examples use all three).

const COMPARE_OPS: readonly CompareOp[] = ['eq', 'ne', 'gt', 'ge', 'lt', 'le'];

class FilterParser {
  private i = 0;
  private readonly tokens: Token[];
  private readonly variables: string[] = [];

  constructor(private readonly text: string, private readonly spec: CollectionSpec) {
    this.tokens = lex(text);
  }

  parse(): FilterNode {
    const node = this.parseOr();
    if (this.peek().t !== 'eof') this.fail(this.peek());
    return node;
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const tok = this.peek();
    if (tok.t !== 'eof') this.i++;
    return tok;
  }

  private fail(tok: Token): never {
    throw GraphErrors.filterSyntaxError(tok.end, this.text);
  }

  private isKeyword(tok: Token, keyword: string): boolean {
    return tok.t === 'ident' && tok.v.toLowerCase() === keyword;
  }

  private isPunct(tok: Token, p: string): boolean {
    return tok.t === 'punct' && tok.v === p;
  }

  private expectPunct(p: string): void {
    const tok = this.next();
    if (!this.isPunct(tok, p)) this.fail(tok);
  }

  private parseOr(): FilterNode {
    let left = this.parseAnd();
    while (this.isKeyword(this.peek(), 'or')) {
      this.next();
      left = { type: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): FilterNode {
    let left = this.parseUnary();
    while (this.isKeyword(this.peek(), 'and')) {
      this.next();
      left = { type: 'and', left, right: this.parseUnary() };
    }
    return left;
  }

  private parseUnary(): FilterNode {
    if (this.isKeyword(this.peek(), 'not')) {
      this.next();
      return { type: 'not', operand: this.parseUnary() };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): FilterNode {
    const tok = this.peek();
    if (this.isPunct(tok, '(')) {
      this.next();
      const inner = this.parseOr();
      this.expectPunct(')');
      return inner;
    }
    if (tok.t !== 'ident') this.fail(tok);
    if (this.isPunct(this.peek(1), '(')) return this.parseFunction();
    return this.parsePropertyExpression();
  }

  private parseFunction(): FilterNode {
    const nameTok = this.next() as Extract<Token, { t: 'ident' }>;
    const lower = nameTok.v.toLowerCase();
    const name = lower === 'startswith' ? 'startsWith' : lower === 'endswith' ? 'endsWith' : lower === 'contains' ? 'contains' : undefined;
    if (!name) throw GraphErrors.filterUnknownFunction(nameTok.v);
    this.expectPunct('(');
    const ref = this.parseRef();
    this.expectPunct(',');
    const arg = this.next();
    if (arg.t !== 'string') {
      if (arg.t === 'eof' || arg.t === 'punct') this.fail(arg);
      throw GraphErrors.filterFunctionSignature(lower);
    }
    this.expectPunct(')');
    let node: FilterNode = { type: 'function', name, ref, value: arg.v };
    // `startswith(x,'a') eq true` is valid OData; `eq false` negates.
    if (this.isKeyword(this.peek(), 'eq') && this.peek(1).t === 'ident') {
      const b = (this.peek(1) as Extract<Token, { t: 'ident' }>).v.toLowerCase();
      if (b === 'true' || b === 'false') {
        this.next();
        this.next();
        if (b === 'false') node = { type: 'not', operand: node };
      }
    }
    return node;
  }

  /** A property path, stopping before `/any(` so the caller can see a lambda. */
  private parseRef(): PropertyRef {
    const first = this.next();
    if (first.t !== 'ident') this.fail(first);
    const segments: string[] = [first.v];
    while (this.isPunct(this.peek(), '/') && this.peek(1).t === 'ident' && !this.isLambdaAt(1)) {
      this.next();
      segments.push((this.next() as Extract<Token, { t: 'ident' }>).v);
    }
    const variable = this.variables.find((v) => v.toLowerCase() === first.v.toLowerCase());
    if (variable !== undefined) return { scope: 'var', name: variable, path: segments.slice(1) };
    return { scope: 'item', path: segments };
  }

  private isLambdaAt(offset: number): boolean {
    const tok = this.peek(offset);
    return (this.isKeyword(tok, 'any') || this.isKeyword(tok, 'all')) && this.isPunct(this.peek(offset + 1), '(');
  }

  private parsePropertyExpression(): FilterNode {
    const ref = this.parseRef();
    if (this.isPunct(this.peek(), '/') && this.isLambdaAt(1)) {
      this.next();
      const op = (this.next() as Extract<Token, { t: 'ident' }>).v.toLowerCase();
      // GD filter-query-parameter.md: `all` "isn't supported in Microsoft Graph".
      if (op === 'all') throw GraphErrors.unsupportedFilterClause(refText(ref), resourceName(this.spec));
      this.expectPunct('(');
      if (this.isPunct(this.peek(), ')')) {
        this.next();
        return { type: 'any', ref };
      }
      const varTok = this.next();
      if (varTok.t !== 'ident') this.fail(varTok);
      this.expectPunct(':');
      this.variables.push(varTok.v);
      const predicate = this.parseOr();
      this.variables.pop();
      this.expectPunct(')');
      return { type: 'any', ref, variable: varTok.v, predicate };
    }
    const opTok = this.next();
    if (opTok.t !== 'ident') this.fail(opTok);
    const op = opTok.v.toLowerCase();
    if (op === 'in') {
      this.expectPunct('(');
      const values = [this.parseLiteral()];
      while (this.isPunct(this.peek(), ',')) {
        this.next();
        values.push(this.parseLiteral());
      }
      this.expectPunct(')');
      return { type: 'in', ref, values };
    }
    const compareOp = COMPARE_OPS.find((c) => c === op);
    if (!compareOp) this.fail(opTok);
    return { type: 'compare', op: compareOp, ref, value: this.parseLiteral() };
  }

  private parseLiteral(): Literal {
    const tok = this.next();
    switch (tok.t) {
      case 'string':
        return { kind: 'string', value: tok.v };
      case 'number':
        return { kind: 'number', value: tok.v };
      case 'datetime':
        return { kind: 'datetime', value: tok.v, epoch: tok.epoch };
      case 'guid':
        return { kind: 'guid', value: tok.v };
      case 'ident': {
        const v = tok.v.toLowerCase();
        if (v === 'true' || v === 'false') return { kind: 'boolean', value: v === 'true' };
        if (v === 'null') return { kind: 'null' };
        return this.fail(tok);
      }
      default:
        return this.fail(tok);
    }
  }
}

function refText(ref: PropertyRef): string {
  return ref.scope === 'item' ? ref.path.join('/') : [ref.name, ...ref.path].join('/');
}

// ---------------------------------------------------------------------------------------------
// $filter: checking against the collection's capabilities. Syntax is checked first (whole
// string), then properties and operators, then the advanced-query parameters, which is the order
// Graph's answers imply: an unindexed property fails even with the parameters (GD example).

type AdvancedFeature = 'ne' | 'not' | 'endsWith';

export function parseFilter(text: string, spec: CollectionSpec): { node: FilterNode; advancedFeatures: AdvancedFeature[] } {
  const node = new FilterParser(text, spec).parse();
  const advancedFeatures: AdvancedFeature[] = [];
  validate(node, spec, { negated: false, lambdas: [] }, advancedFeatures);
  return { node, advancedFeatures };
}

interface ValidationContext {
  negated: boolean;
  lambdas: { variable: string; collection: string }[];
}

function lookupOps(spec: CollectionSpec, path: string): FilterOp[] | undefined {
  const key = Object.keys(spec.filterable).find((k) => k.toLowerCase() === path.toLowerCase());
  return key === undefined ? undefined : spec.filterable[key];
}

function isAllowed(spec: CollectionSpec, ops: FilterOp[], op: FilterOp): boolean {
  if (ops.includes(op)) return true;
  // GD: "The in operator is supported by default whenever eq operator is supported by default";
  // "All properties that support the eq operator also support the ne or not operators".
  if (op === 'in' && ops.includes('eq')) return true;
  if (spec.advanced && (op === 'ne' || op === 'not') && ops.includes('eq')) return true;
  return false;
}

function fullPath(ref: PropertyRef, ctx: ValidationContext): { path: string; primitiveElement: boolean } {
  if (ref.scope === 'item') return { path: ref.path.join('/'), primitiveElement: false };
  const lambda = [...ctx.lambdas].reverse().find((l) => l.variable === ref.name)!;
  return { path: [lambda.collection, ...ref.path].join('/'), primitiveElement: ref.path.length === 0 };
}

const OPERATOR_KIND: Record<CompareOp | 'in', string> = {
  eq: 'Equal', ne: 'NotEqual', gt: 'GreaterThan', ge: 'GreaterThanOrEqual', lt: 'LessThan', le: 'LessThanOrEqual', in: 'Equal',
};

function checkProperty(spec: CollectionSpec, ref: PropertyRef, op: FilterOp, ctx: ValidationContext, literals: Literal[], features: AdvancedFeature[]): void {
  const { path, primitiveElement } = fullPath(ref, ctx);
  const resource = resourceName(spec);
  const ops = lookupOps(spec, path);
  if (!ops) throw GraphErrors.unsupportedFilterClause(path, resource);
  // `any(t: t eq 'x')` is the only way to test a primitive collection, so 'any' implies eq/in.
  const impliedByAny = primitiveElement && ops.includes('any') && (op === 'eq' || op === 'in');
  if (!impliedByAny && !isAllowed(spec, ops, op)) throw GraphErrors.unsupportedFilterClause(path, resource);
  // A path listed with 'any' runs through a collection: it is reachable only inside a lambda.
  if (ref.scope === 'item' && path.includes('/') && ops.includes('any')) throw GraphErrors.unsupportedFilterClause(path, resource);
  if (ctx.negated && !primitiveElement && !isAllowed(spec, ops, 'not')) throw GraphErrors.unsupportedFilterClause(path, resource);
  if (spec.advanced && (op === 'ne' || op === 'endsWith')) features.push(op);

  const isGuid = (spec.guidProperties ?? []).some((g) => g.toLowerCase() === path.toLowerCase());
  if (op === 'startsWith' || op === 'endsWith') return;
  for (const lit of literals) {
    const kind = OPERATOR_KIND[op as CompareOp | 'in'];
    if (lit.kind === 'guid' && !isGuid) throw GraphErrors.filterIncompatibleTypes('Edm.String', 'Edm.Guid', kind);
    if (lit.kind === 'string' && isGuid) throw GraphErrors.filterIncompatibleTypes('Edm.Guid', 'Edm.String', kind);
  }
}

function validate(node: FilterNode, spec: CollectionSpec, ctx: ValidationContext, features: AdvancedFeature[]): void {
  switch (node.type) {
    case 'and':
    case 'or':
      validate(node.left, spec, ctx, features);
      validate(node.right, spec, ctx, features);
      return;
    case 'not':
      if (spec.advanced) features.push('not');
      validate(node.operand, spec, { ...ctx, negated: true }, features);
      return;
    case 'compare':
      checkProperty(spec, node.ref, node.op, ctx, [node.value], features);
      return;
    case 'in':
      checkProperty(spec, node.ref, 'in', ctx, node.values, features);
      return;
    case 'function':
      if (node.name === 'contains') throw GraphErrors.unsupportedFilterClause(fullPath(node.ref, ctx).path, resourceName(spec));
      checkProperty(spec, node.ref, node.name, ctx, [], features);
      return;
    case 'any': {
      const collection = fullPath(node.ref, ctx).path;
      const prefix = `${collection.toLowerCase()}/`;
      const capable =
        (lookupOps(spec, collection) ?? []).includes('any') ||
        Object.entries(spec.filterable).some(([k, ops]) => k.toLowerCase().startsWith(prefix) && ops.includes('any'));
      if (!capable) throw GraphErrors.complexQueryNotSupported(collection);
      if (node.variable && node.predicate) {
        validate(node.predicate, spec, { negated: false, lambdas: [...ctx.lambdas, { variable: node.variable, collection }] }, features);
      }
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// $filter: evaluation

type Env = Record<string, unknown>;

/** Graph treats property names case-insensitively; an exact key wins when both spellings exist. */
function getKey(obj: unknown, name: string): unknown {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  const rec = obj as Record<string, unknown>;
  if (Object.hasOwn(rec, name)) return rec[name];
  const lower = name.toLowerCase();
  const key = Object.keys(rec).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : rec[key];
}

function getPath(obj: unknown, path: string[]): unknown {
  let cur = obj;
  for (const seg of path) cur = getKey(cur, seg);
  return cur;
}

function resolve(ref: PropertyRef, item: Record<string, unknown>, env: Env): unknown {
  return ref.scope === 'item' ? getPath(item, ref.path) : getPath(env[ref.name], ref.path);
}

function isNullish(v: unknown): boolean {
  return v === null || v === undefined;
}

function toEpoch(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

/** -1/0/1, or undefined when the two cannot be compared (type mismatch, null). */
function compareValues(actual: unknown, lit: Literal): number | undefined {
  if (isNullish(actual) || lit.kind === 'null') return undefined;
  switch (lit.kind) {
    case 'string':
    case 'guid': {
      if (typeof actual !== 'string') return undefined;
      // Directory string comparison is case-insensitive (displayName eq 'X' matches 'x').
      const a = actual.toLowerCase();
      const b = lit.value.toLowerCase();
      return a < b ? -1 : a > b ? 1 : 0;
    }
    case 'number':
      return typeof actual === 'number' ? Math.sign(actual - lit.value) : undefined;
    case 'boolean':
      return typeof actual === 'boolean' ? Number(actual) - Number(lit.value) : undefined;
    case 'datetime': {
      const t = toEpoch(actual);
      return t === undefined ? undefined : Math.sign(t - lit.epoch);
    }
  }
}

function equals(actual: unknown, lit: Literal): boolean {
  if (lit.kind === 'null') return isNullish(actual);
  return compareValues(actual, lit) === 0;
}

function evaluate(node: FilterNode, item: Record<string, unknown>, env: Env): boolean {
  switch (node.type) {
    case 'and':
      return evaluate(node.left, item, env) && evaluate(node.right, item, env);
    case 'or':
      return evaluate(node.left, item, env) || evaluate(node.right, item, env);
    case 'not':
      return !evaluate(node.operand, item, env);
    case 'compare': {
      const actual = resolve(node.ref, item, env);
      if (node.op === 'eq') return equals(actual, node.value);
      if (node.op === 'ne') return !equals(actual, node.value);
      const c = compareValues(actual, node.value);
      if (c === undefined) return false;
      return node.op === 'gt' ? c > 0 : node.op === 'ge' ? c >= 0 : node.op === 'lt' ? c < 0 : c <= 0;
    }
    case 'in': {
      const actual = resolve(node.ref, item, env);
      return node.values.some((v) => equals(actual, v));
    }
    case 'function': {
      const actual = resolve(node.ref, item, env);
      if (typeof actual !== 'string') return false;
      const a = actual.toLowerCase();
      const b = node.value.toLowerCase();
      return node.name === 'startsWith' ? a.startsWith(b) : node.name === 'endsWith' ? a.endsWith(b) : a.includes(b);
    }
    case 'any': {
      const coll = resolve(node.ref, item, env);
      if (!Array.isArray(coll)) return false;
      if (!node.variable || !node.predicate) return coll.length > 0;
      const { variable, predicate } = node;
      return coll.some((element) => evaluate(predicate, item, { ...env, [variable]: element }));
    }
  }
}

export function evaluateFilter(node: FilterNode, item: Record<string, unknown>): boolean {
  return evaluate(node, item, {});
}

// ---------------------------------------------------------------------------------------------
// $search (GD concepts/search-query-parameter.md, "Using $search on directory object collections")
//
// Clause syntax: `"property:text"`, AND (the default between clauses) and OR in upper case
// outside the quotes, parentheses; `\"` and `\\` escape inside a clause. displayName and
// description are tokenised — words split on spaces, symbols, letter/digit changes and
// lower→upper case changes, matched as case-insensitive prefixes in any order, with words joined
// only by symbols also matched as one (`helloworld` finds `hello-world`); other properties behave
// like startsWith on the whole value.

const TOKENISED = ['displayname', 'description'];

export function parseSearch(text: string, spec: CollectionSpec): SearchNode {
  type SToken = { t: 'clause'; v: string; end: number } | { t: 'and' | 'or' | '(' | ')' | 'eof'; end: number };
  const tokens: SToken[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '"') {
      let j = i + 1;
      let v = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\' && j + 1 < text.length) j++;
        v += text[j];
        j++;
      }
      if (j >= text.length) throw GraphErrors.searchSyntaxError(i, text);
      tokens.push({ t: 'clause', v, end: j + 1 });
      i = j + 1;
    } else if (ch === '(' || ch === ')') {
      tokens.push({ t: ch, end: i + 1 });
      i++;
    } else {
      const word = /^[^\s"()]+/.exec(text.slice(i))![0];
      if (word !== 'AND' && word !== 'OR') throw GraphErrors.searchSyntaxError(i + word.length, text);
      tokens.push({ t: word === 'AND' ? 'and' : 'or', end: i + word.length });
      i += word.length;
    }
  }
  tokens.push({ t: 'eof', end: text.length });

  let k = 0;
  const peek = () => tokens[k]!;
  const fail = (tok: SToken): never => {
    throw GraphErrors.searchSyntaxError(tok.end, text);
  };
  const searchable = (spec.searchable ?? []).map((p) => p.toLowerCase());
  const parseOr = (): SearchNode => {
    let left = parseAnd();
    while (peek().t === 'or') {
      k++;
      left = { type: 'or', left, right: parseAnd() };
    }
    return left;
  };
  const parseAnd = (): SearchNode => {
    let left = parsePrimary();
    for (;;) {
      const t = peek().t;
      if (t === 'and') k++;
      else if (t !== 'clause' && t !== '(') return left;
      left = { type: 'and', left, right: parsePrimary() };
    }
  };
  const parsePrimary = (): SearchNode => {
    const tok = tokens[k++]!;
    if (tok.t === '(') {
      const inner = parseOr();
      if (tokens[k++]!.t !== ')') fail(tokens[k - 1]!);
      return inner;
    }
    if (tok.t !== 'clause') return fail(tok);
    const colon = tok.v.indexOf(':');
    if (colon <= 0) return fail(tok);
    const property = tok.v.slice(0, colon).trim();
    if (!searchable.includes(property.toLowerCase())) throw GraphErrors.unsupportedFilterClause(property, resourceName(spec));
    return { type: 'term', property, text: tok.v.slice(colon + 1) };
  };
  const node = parseOr();
  if (peek().t !== 'eof') fail(peek());
  return node;
}

type CharClass = 'space' | 'letter' | 'digit' | 'symbol';

function charClass(ch: string): CharClass {
  if (/\s/u.test(ch)) return 'space';
  if (/[\p{L}\p{M}]/u.test(ch)) return 'letter';
  if (/\p{Nd}/u.test(ch)) return 'digit';
  return 'symbol';
}

/** Words of `text` as Graph's directory search splits them; `joined` adds symbol-joined runs. */
export function searchTokens(text: string, joined: boolean): string[] {
  const out: string[] = [];
  for (const chunk of text.split(/\s+/u).filter(Boolean)) {
    const words: string[] = [];
    let cur = '';
    let prev: string | undefined;
    for (const ch of chunk) {
      const cls = charClass(ch);
      const prevCls = prev === undefined ? undefined : charClass(prev);
      const lowerToUpper = prev !== undefined && /\p{Ll}/u.test(prev) && /\p{Lu}/u.test(ch);
      if (cur && (cls !== prevCls || lowerToUpper || cls === 'symbol')) {
        if (prevCls !== 'symbol') words.push(cur);
        cur = '';
      }
      cur += ch;
      prev = ch;
    }
    if (cur && (prev === undefined || charClass(prev) !== 'symbol')) words.push(cur);
    out.push(...words.map((w) => w.toLowerCase()));
    if (joined && words.length > 1) out.push(words.join('').toLowerCase());
  }
  return out;
}

function termMatches(value: unknown, property: string, text: string): boolean {
  const values = Array.isArray(value) ? value : [value];
  return values.some((v) => {
    if (typeof v !== 'string') return false;
    if (!TOKENISED.includes(property.toLowerCase())) return v.toLowerCase().startsWith(text.toLowerCase());
    const wanted = searchTokens(text, false);
    const have = searchTokens(v, true);
    return wanted.every((w) => have.some((h) => h.startsWith(w)));
  });
}

export function evaluateSearch(node: SearchNode, item: Record<string, unknown>): boolean {
  switch (node.type) {
    case 'and':
      return evaluateSearch(node.left, item) && evaluateSearch(node.right, item);
    case 'or':
      return evaluateSearch(node.left, item) || evaluateSearch(node.right, item);
    case 'term':
      return termMatches(getKey(item, node.property), node.property, node.text);
  }
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

// ---------------------------------------------------------------------------------------------
// Paging. The skiptoken carries the offset and a short hash of what shaped the result (resource,
// filter, search, order), so a token replayed against another query is refused instead of
// silently paging through a different result set.

export function encodeSkiptoken(state: object): string {
  return Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
}

export function decodeSkiptoken(token: string): any {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw GraphErrors.invalidSkipToken();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw GraphErrors.invalidSkipToken();
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw GraphErrors.invalidSkipToken();
  return parsed;
}

function queryHash(q: ParsedQuery, spec: CollectionSpec): string {
  // Lower-cased because every part is matched case-insensitively: `DisplayName` and
  // `displayName` select the same rows, so their tokens are interchangeable.
  const canonical = JSON.stringify({ r: spec.resource, f: q.filter ?? null, s: q.search ?? null, o: q.orderby ?? null }).toLowerCase();
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 12);
}

function readSkiptoken(token: string, hash: string): number {
  const state = decodeSkiptoken(token) as Record<string, unknown>;
  const offset = state.o;
  if (state.v !== 1 || typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0 || typeof state.h !== 'string') {
    throw GraphErrors.invalidSkipToken();
  }
  if (state.h !== hash) throw GraphErrors.expiredPageToken();
  return offset;
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
