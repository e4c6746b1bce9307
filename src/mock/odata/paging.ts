import { createHash } from 'node:crypto';
import { GraphErrors } from '../errors.js';
import type { CollectionSpec, ParsedQuery } from './types.js';

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

export function queryHash(q: ParsedQuery, spec: CollectionSpec): string {
  // Lower-cased because every part is matched case-insensitively: `DisplayName` and
  // `displayName` select the same rows, so their tokens are interchangeable.
  const canonical = JSON.stringify({ r: spec.resource, f: q.filter ?? null, s: q.search ?? null, o: q.orderby ?? null }).toLowerCase();
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 12);
}

export function readSkiptoken(token: string, hash: string): number {
  const state = decodeSkiptoken(token) as Record<string, unknown>;
  const offset = state.o;
  if (state.v !== 1 || typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0 || typeof state.h !== 'string') {
    throw GraphErrors.invalidSkipToken();
  }
  if (state.h !== hash) throw GraphErrors.expiredPageToken();
  return offset;
}

