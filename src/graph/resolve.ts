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

export class AmbiguousNameError extends UsageError {
  override name = 'AmbiguousNameError';
  constructor(what: string, name: string, readonly candidates: string[]) {
    super(`${candidates.length} ${what}s are named '${name}': ${candidates.join('; ')}. Use an object id instead.`);
  }
}

async function pick<T>(what: string, name: string, matches: T[], label: (t: T) => string, choose?: Chooser): Promise<T> {
  if (matches.length === 0) throw new NotFoundError(`No ${what} named '${name}'.`);
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
  return pick('blueprint', r, matches, (b) => `${b.displayName} (id ${b.id}, appId ${b.appId})`, choose);
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
  return pick('agent identity', r, matches, (a) => `${a.displayName} (id ${a.id})`, choose);
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
  return pick('agent user', r, matches, (u) => `${u.displayName} (${u.userPrincipalName}, id ${u.id})`, choose);
}
