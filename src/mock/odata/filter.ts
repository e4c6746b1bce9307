import { GraphErrors } from '../errors.js';
import { resourceName, type CollectionSpec, type CompareOp, type FilterNode, type FilterOp, type Literal, type PropertyRef } from './types.js';

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
// `/$count` after a collection property (GD aad-advanced-queries.md: assignedLicenses/$count eq 0).
const COUNT_AT = /^\$count(?!\w)/i;

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
    const prev = tokens.at(-1);
    const ident = IDENT_AT.exec(rest) ?? (prev?.t === 'punct' && prev.v === '/' ? COUNT_AT.exec(rest) : null);
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
    const last = ref.path.at(-1);
    if (last?.toLowerCase() === '$count') {
      // Only the documented forms: eq/ne against a whole number.
      const value = this.next();
      if ((op !== 'eq' && op !== 'ne') || value.t !== 'number' || !Number.isInteger(value.v) || value.v < 0) this.fail(value);
      const path = ref.path.slice(0, -1);
      if (!path.length && ref.scope === 'item') this.fail(opTok);
      return { type: 'count', op, ref: { ...ref, path }, value: value.v };
    }
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

type AdvancedFeature = 'ne' | 'not' | 'endsWith' | '$count';

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
    case 'count': {
      const collection = fullPath(node.ref, ctx).path;
      if (!(lookupOps(spec, collection) ?? []).includes('count')) throw GraphErrors.unsupportedFilterClause(`${collection}/$count`, resourceName(spec));
      // GD aad-advanced-queries.md lists `assignedLicenses/$count eq 0` among the queries that
      // need ConsistencyLevel: eventual and $count=true.
      if (spec.advanced) features.push('$count');
      return;
    }
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
export function getKey(obj: unknown, name: string): unknown {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  const rec = obj as Record<string, unknown>;
  if (Object.hasOwn(rec, name)) return rec[name];
  const lower = name.toLowerCase();
  const key = Object.keys(rec).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : rec[key];
}

export function getPath(obj: unknown, path: string[]): unknown {
  let cur = obj;
  for (const seg of path) cur = getKey(cur, seg);
  return cur;
}

function resolve(ref: PropertyRef, item: Record<string, unknown>, env: Env): unknown {
  return ref.scope === 'item' ? getPath(item, ref.path) : getPath(env[ref.name], ref.path);
}

export function isNullish(v: unknown): boolean {
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
    case 'count': {
      // An absent collection is an empty one (the emulator assigns no licenses).
      const coll = resolve(node.ref, item, env);
      const n = Array.isArray(coll) ? coll.length : 0;
      return node.op === 'eq' ? n === node.value : n !== node.value;
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

