// The emulator's OData query options, split by concern (this folder):
//   types.ts   the shapes shared by every part: CollectionSpec (what a collection supports), the
//              parsed $filter/$search trees, ParsedQuery;
//   query.ts   the query string: option names, $top/$select/$count/$orderby/$expand parsing and
//              the advanced-query rules, then applying a parsed query to a collection (sort, page);
//   filter.ts  $filter: lexer, parser, validation against the collection, evaluation;
//   search.ts  $search: clause parser, Graph's tokenisation, evaluation;
//   paging.ts  $skiptoken: encoding, and the hash that binds a token to the query it came from.
// Errors are never built here: every refusal is a factory of ../errors.ts, the one error factory.
//
// The emulator's OData query options: $filter, $search, $select, $orderby, $top, $count,
// $expand and $skiptoken over plain JSON objects, with the directory's advanced-query rules.
//
// Sources (microsoftgraph/microsoft-graph-docs-contrib): concepts/aad-advanced-queries.md (which
// operators need `ConsistencyLevel: eventual` + `$count=true`, the endsWith/$search/$count error
// bodies, `in` wherever `eq`, ne/not wherever eq), concepts/filter-query-parameter.md (lambda
// syntax, unquoted Edm.Guid literals such as `s/skuId eq 184efa21-…`), concepts/search-query-parameter.md
// (clause syntax and tokenisation). Error wording not in the docs comes from response bodies quoted
// in microsoftgraph issues; see the comment on each factory in errors.ts.

/** 'count': `collection/$count eq N` (GD user.md assignedLicenses, serviceprincipal.md owners:
 * "/$count eq 0, /$count ne 0"). */
export type FilterOp = 'eq' | 'ne' | 'startsWith' | 'endsWith' | 'in' | 'ge' | 'le' | 'gt' | 'lt' | 'any' | 'not' | 'count';

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
  | { type: 'any'; ref: PropertyRef; variable?: string; predicate?: FilterNode }
  /** `ref/$count op value`: the number of elements of a collection property. */
  | { type: 'count'; op: 'eq' | 'ne'; ref: PropertyRef; value: number };

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

/** The resource's name as Graph's messages spell it: `servicePrincipals` → `ServicePrincipals`. */
export function resourceName(spec: CollectionSpec): string {
  return spec.resource.charAt(0).toUpperCase() + spec.resource.slice(1);
}
