import type { Query } from './client.js';
import { UsageError } from '../errors.js';

// Issue 12: `--filter` (an OData $filter passed through) and `--search` (on display name) for
// the lists that Graph lets query them: blueprints, agent identities and agent users all support
// $filter and $search (GD v1.0 agentidentityblueprint-list.md, agentidentity-list.md,
// agentuser-list.md). $search, and the advanced $filter operators (ne, not, endsWith), need the
// advanced query parameters: `ConsistencyLevel: eventual` and `$count=true` (GD
// concepts/aad-advanced-queries.md); plain filters are sent without them, so they keep Graph's
// strongly consistent reads.

export interface ListFilters {
  filter?: string | undefined;
  search?: string | undefined;
}

const ADVANCED = /(\bne\b|\bnot\b|endswith\s*\()/i;

export function listRequest(own: string[], f: ListFilters = {}): { query: Query; headers?: Record<string, string> } {
  const clauses = [...own];
  const userFilter = f.filter?.trim();
  if (userFilter) clauses.push(own.length ? `(${userFilter})` : userFilter);
  const query: Query = {};
  if (clauses.length) query.$filter = clauses.join(' and ');
  const term = f.search?.trim();
  if (term !== undefined) {
    if (!term) throw new UsageError('--search needs some text to look for in display names.');
    if (term.includes('"')) throw new UsageError('--search cannot contain a double quote; Graph\'s $search syntax uses it to delimit the term.');
    query.$search = `"displayName:${term}"`;
  }
  if (term !== undefined || (userFilter && ADVANCED.test(userFilter))) {
    query.$count = 'true';
    return { query, headers: { ConsistencyLevel: 'eventual' } };
  }
  return { query };
}
