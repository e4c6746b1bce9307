import type { GraphClient } from './client.js';
import { GraphRequestError } from './errors.js';
import { NotFoundError, UsageError } from '../errors.js';
import { getBlueprint, getBlueprintByAppId, listBlueprints, orUndefined } from './blueprints.js';
import { getAgent, listAgents } from './agents.js';
import { getAgentUser, AGENT_USER_SELECT } from './agentUsers.js';
import { User, parseList, type AgentIdentity, type AgentUser, type Blueprint } from './models.js';
import { isGuid, odataString, paths } from './paths.js';

// Name look-ups: an object reference is an object id, a blueprint's appId, or an exact display
// name. A name that matches several objects is an error that lists them, unless the caller can
// offer a choice (a terminal): then `choose` picks one.

export interface Candidate<T> {
  label: string;
  value: T;
}
export type Chooser = <T>(what: string, candidates: Candidate<T>[]) => Promise<T>;

/** 'agent identity' → 'agent identities', 'blueprint' → 'blueprints'. */
export function plural(noun: string): string {
  return /[^aeiou]y$/.test(noun) ? `${noun.slice(0, -1)}ies` : `${noun}s`;
}

export class AmbiguousNameError extends UsageError {
  override name = 'AmbiguousNameError';
  constructor(what: string, name: string, readonly candidates: string[]) {
    super(`${candidates.length} ${plural(what)} are named '${name}': ${candidates.join('; ')}. Use an object id instead.`);
  }
}

/**
 * A name that matches nothing suggests the closest names (issue 12 #5): names are how users
 * refer to objects, and a typo deserves a next step. Costs one list request, only on failure.
 */
async function pick<T>(what: string, name: string, matches: T[], label: (t: T) => string, choose?: Chooser, names?: () => Promise<string[]>): Promise<T> {
  if (matches.length === 0) {
    const { didYouMean } = await import('../suggest.js');
    const hint = names ? didYouMean(name, await names().catch(() => [])) : '';
    throw new NotFoundError(`No ${what} named '${name}'${hint}`.replace(/([^?])$/, '$1.'));
  }
  if (matches.length === 1) return matches[0]!;
  if (choose) return choose(what, matches.map((m) => ({ label: label(m), value: m })));
  throw new AmbiguousNameError(what, name, matches.map(label));
}

export async function resolveBlueprint(client: GraphClient, ref: string, choose?: Chooser): Promise<Blueprint> {
  const r = ref.trim();
  if (isGuid(r)) {
    const byId = await orUndefined(() => getBlueprint(client, r));
    if (byId) return byId;
    const byAppId = await getBlueprintByAppId(client, r);
    if (byAppId) return byAppId;
    throw new NotFoundError(`No blueprint with object id or appId '${r}'.`);
  }
  const matches = await listBlueprints(client, { filter: `displayName eq ${odataString(r)}` });
  return pick('blueprint', r, matches, (b) => `${b.displayName} (id ${b.id}, appId ${b.appId})`, choose, async () => (await listBlueprints(client)).map((b) => b.displayName ?? ''));
}

export async function resolveAgent(client: GraphClient, ref: string, choose?: Chooser): Promise<AgentIdentity> {
  const r = ref.trim();
  if (isGuid(r)) {
    try {
      return await getAgent(client, r);
    } catch (err) {
      if (err instanceof GraphRequestError && err.status === 404) throw new NotFoundError(`No agent identity with object id '${r}'.`);
      throw err;
    }
  }
  const matches = await listAgents(client, { displayName: r });
  return pick('agent identity', r, matches, (a) => `${a.displayName} (id ${a.id})`, choose, async () => (await listAgents(client)).map((a) => a.displayName ?? ''));
}

export async function resolveAgentUser(client: GraphClient, ref: string, choose?: Chooser): Promise<AgentUser> {
  const r = ref.trim();
  if (isGuid(r) || r.includes('@')) {
    try {
      return await getAgentUser(client, r);
    } catch (err) {
      if (err instanceof GraphRequestError && err.status === 404) throw new NotFoundError(`No agent user '${r}'.`);
      throw err;
    }
  }
  const matches = parseList(
    User,
    await client.list(paths.agentUsers(), { query: { $filter: `displayName eq ${odataString(r)}`, $select: AGENT_USER_SELECT } }),
    'agent user',
  );
  return pick('agent user', r, matches, (u) => `${u.displayName} (${u.userPrincipalName}, id ${u.id})`, choose, async () =>
    parseList(User, await client.list(paths.agentUsers(), { query: { $select: AGENT_USER_SELECT } }), 'agent user').map((u) => u.displayName ?? ''),
  );
}
