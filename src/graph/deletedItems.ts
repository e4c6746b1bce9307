import type { GraphClient } from './client.js';
import { GraphRequestError } from './errors.js';
import { isGuid } from './paths.js';
import { NotFoundError, UsageError } from '../errors.js';
import type { Chooser } from './resolve.js';

// The recycle bin: GET/DELETE /directory/deletedItems/{id}, POST …/{id}/restore, and the lists
// GET /directory/deletedItems/microsoft.graph.{application|servicePrincipal|user} (GD v1.0 and
// beta directory-deleteditems-{list,get,restore,delete}.md). "/directory/deletedItems doesn't
// support filtering by agent identity type" (ED howto-delete-agent-identity.md), so each list is
// the base type's, narrowed here by @odata.type, which Graph returns for the derived types.

export type DeletedKind = 'blueprint' | 'principal' | 'agent' | 'agentUser';

interface KindSpec {
  cast: string;
  odataType: string;
  select: string;
  noun: string;
}

const KINDS: Record<DeletedKind, KindSpec> = {
  blueprint: { cast: 'microsoft.graph.application', odataType: '#microsoft.graph.agentIdentityBlueprint', select: 'id,displayName,appId,deletedDateTime', noun: 'blueprint' },
  principal: { cast: 'microsoft.graph.servicePrincipal', odataType: '#microsoft.graph.agentIdentityBlueprintPrincipal', select: 'id,displayName,appId,accountEnabled,deletedDateTime', noun: 'blueprint principal' },
  agent: { cast: 'microsoft.graph.servicePrincipal', odataType: '#microsoft.graph.agentIdentity', select: 'id,displayName,accountEnabled,agentIdentityBlueprintId,deletedDateTime', noun: 'agent identity' },
  agentUser: { cast: 'microsoft.graph.user', odataType: '#microsoft.graph.agentUser', select: 'id,displayName,userPrincipalName,accountEnabled,identityParentId,deletedDateTime', noun: 'agent user' },
};

/** One shape for every kind, the same in every output format: absent properties are null. */
export interface DeletedItem {
  type: 'blueprint' | 'blueprint-principal' | 'agent' | 'agent-user';
  id: string;
  displayName: string | null;
  deletedDateTime: string | null;
  appId: string | null;
  agentIdentityBlueprintId: string | null;
  userPrincipalName: string | null;
  identityParentId: string | null;
  accountEnabled: boolean | null;
}

const TYPE_NAME: Record<DeletedKind, DeletedItem['type']> = { blueprint: 'blueprint', principal: 'blueprint-principal', agent: 'agent', agentUser: 'agent-user' };
const KIND_OF_TYPE = Object.fromEntries(Object.entries(KINDS).map(([k, s]) => [s.odataType, k as DeletedKind])) as Record<string, DeletedKind>;

export const deletedPaths = {
  list: (kind: DeletedKind) => `/directory/deletedItems/${KINDS[kind].cast}`,
  item: (id: string) => `/directory/deletedItems/${id}`,
  restore: (id: string) => `/directory/deletedItems/${id}/restore`,
};

function toItem(kind: DeletedKind, raw: Record<string, unknown>): DeletedItem {
  const s = (k: string) => (typeof raw[k] === 'string' ? (raw[k] as string) : null);
  return {
    type: TYPE_NAME[kind],
    id: String(raw.id),
    displayName: s('displayName'),
    deletedDateTime: s('deletedDateTime'),
    appId: s('appId'),
    agentIdentityBlueprintId: s('agentIdentityBlueprintId'),
    userPrincipalName: s('userPrincipalName'),
    identityParentId: s('identityParentId'),
    accountEnabled: typeof raw.accountEnabled === 'boolean' ? raw.accountEnabled : null,
  };
}

export async function listDeleted(client: GraphClient, kind: DeletedKind, opts: { top?: number | undefined } = {}): Promise<DeletedItem[]> {
  const spec = KINDS[kind];
  const raw = await client.list<Record<string, unknown>>(deletedPaths.list(kind), { query: { $select: spec.select } });
  const items = raw.filter((r) => r['@odata.type'] === spec.odataType).map((r) => toItem(kind, r));
  return opts.top ? items.slice(0, opts.top) : items;
}

/** A deleted object by id, and which of our kinds it is (undefined: not an Agent ID object). */
export async function getDeleted(client: GraphClient, id: string): Promise<{ kind: DeletedKind | undefined; raw: Record<string, unknown> } | undefined> {
  try {
    const raw = await client.get<Record<string, unknown>>(deletedPaths.item(id));
    return { kind: KIND_OF_TYPE[String(raw['@odata.type'] ?? '')], raw };
  } catch (err) {
    if (err instanceof GraphRequestError && err.status === 404) return undefined;
    throw err;
  }
}

/**
 * A deleted object of `kinds` by object id, a blueprint's appId, an agent user's UPN, or an exact
 * display name; several matches are an error listing them unless `choose` can ask.
 */
export async function resolveDeleted(client: GraphClient, kinds: DeletedKind[], ref: string, choose?: Chooser): Promise<DeletedItem> {
  const r = ref.trim();
  const nouns = kinds.map((k) => KINDS[k].noun).join(' or ');
  if (!r) throw new UsageError(`Name the deleted ${nouns}: an object id or its exact name.`);
  if (isGuid(r)) {
    const got = await getDeleted(client, r);
    if (got?.kind && kinds.includes(got.kind)) return toItem(got.kind, got.raw);
    if (got) throw new UsageError(`Deleted object '${r}' is not a deleted ${nouns} (it is ${String(got.raw['@odata.type'] ?? 'another type').replace('#microsoft.graph.', 'a ')}).`);
  }
  const lists = await Promise.all(kinds.map((k) => listDeleted(client, k)));
  const lower = r.toLowerCase();
  const matches = lists.flat().filter((i) => i.displayName === r || i.appId?.toLowerCase() === lower || i.userPrincipalName?.toLowerCase() === lower);
  if (matches.length === 0) {
    const live = isGuid(r) ? ` with id${kinds.includes('blueprint') ? ' or appId' : ''} '${r}'` : ` named '${r}'`;
    throw new NotFoundError(`No deleted ${nouns}${live} (deleted objects are kept for 30 days; see agentid deleted list).`);
  }
  if (matches.length === 1) return matches[0]!;
  const label = (i: DeletedItem) => `${i.displayName ?? ''} (${i.type}, id ${i.id}, deleted ${i.deletedDateTime ?? '?'})`;
  if (choose) return choose(`deleted ${nouns}`, matches.map((m) => ({ label: label(m), value: m })));
  throw new UsageError(`${matches.length} deleted objects are named '${r}': ${matches.map(label).join('; ')}. Use an object id instead.`);
}

export async function restoreDeleted(client: GraphClient, id: string): Promise<Record<string, unknown>> {
  return client.post<Record<string, unknown>>(deletedPaths.restore(id), {});
}

export async function purgeDeleted(client: GraphClient, id: string): Promise<void> {
  await client.delete(deletedPaths.item(id));
}

export function kindOfType(type: DeletedItem['type']): DeletedKind {
  return (Object.keys(TYPE_NAME) as DeletedKind[]).find((k) => TYPE_NAME[k] === type)!;
}
