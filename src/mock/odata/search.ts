import { GraphErrors } from '../errors.js';
import { getKey } from './filter.js';
import { resourceName, type CollectionSpec, type SearchNode } from './types.js';

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

