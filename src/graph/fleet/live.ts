import { createHash } from 'node:crypto';
import type { GraphClient } from '../client.js';
import type { Pacer } from '../pacer.js';
import { readMany } from '../bulk.js';
import { AgentIdentity, Blueprint, BlueprintPrincipal, DirectoryObject, FederatedIdentityCredential, InheritablePermission, User, parseList } from '../models.js';
import { odataString, paths } from '../paths.js';
import { AGENT_USER_SELECT } from '../agentUsers.js';
import type { AttributeValues, Definition } from '../attributes.js';

// What the tenant holds for the blueprints a fleet file manages, read the way a 5,000-agent
// plan can afford: collections in pages (100 agents, 999 agent users a page), and every
// per-object relationship (sponsors, owners, a blueprint's principal, inheritable permissions
// and federated credentials) through $batch, 20 reads a request. A per-object loop would make
// four reads per agent; this makes about one request per ten agents (bench/apply.mjs counts).

export interface LiveRef {
  id: string;
  kind: 'user' | 'group' | 'other';
  /** What a file writes for it: a user's UPN, otherwise the object id. */
  ref: string;
}

export interface LiveAgent {
  id: string;
  displayName: string;
  accountEnabled: boolean;
  sponsors: LiveRef[];
  owners: LiveRef[];
  /** customSecurityAttributes, when the read asked for them (readLive's `attributes`). */
  attributes?: AttributeValues;
}

export interface LiveBlueprint {
  id: string;
  appId: string;
  uniqueName: string | null;
  displayName: string;
  description: string | null;
  tags: string[];
  secretNames: string[];
  principal?: { id: string; accountEnabled: boolean } | undefined;
  sponsors: LiveRef[];
  owners: LiveRef[];
  inheritable: InheritablePermission[];
  fics: FederatedIdentityCredential[];
  agents: LiveAgent[];
}

export interface LiveAgentUser {
  id: string;
  upn: string;
  displayName: string;
  accountEnabled: boolean;
  parentId: string;
}

export interface LiveFleet {
  blueprints: LiveBlueprint[];
  agentUsers: LiveAgentUser[];
  /** Requests sent while reading (a $batch counts once). */
  requests: number;
  /** Whether the agents' custom security attributes were read. */
  attributes: boolean;
}

const BP_SELECT = 'id,appId,displayName,description,uniqueName,tags,passwordCredentials';
const AGENT_SELECT = 'id,displayName,accountEnabled,agentIdentityBlueprintId';

function liveRef(o: DirectoryObject & { userPrincipalName?: unknown }): LiveRef {
  const t = (o['@odata.type'] ?? '').toLowerCase();
  if (t.endsWith('.group')) return { id: o.id, kind: 'group', ref: o.id };
  if (t.endsWith('.user') || t.endsWith('.agentuser') || typeof o.userPrincipalName === 'string') return { id: o.id, kind: 'user', ref: typeof o.userPrincipalName === 'string' ? o.userPrincipalName : o.id };
  return { id: o.id, kind: 'other', ref: o.id };
}

const values = (body: unknown) => ((body as { value?: unknown[] } | undefined)?.value ?? []) as unknown[];

/**
 * Reads the blueprints `want` names by uniqueName (every blueprint when `want` is undefined),
 * with their principals, relationships and agents, and the agent users of those agents.
 */
export async function readLive(client: GraphClient, want: { uniqueNames?: string[]; match?: (b: { id: string; appId: string; uniqueName: string | null; displayName: string }) => boolean; attributes?: boolean }, pacer: Pacer): Promise<LiveFleet> {
  let requests = 0;
  const counted = async <T>(n: number, p: Promise<T>) => {
    requests += n;
    return p;
  };
  const pagesFor = (count: number, size: number) => Math.max(1, Math.ceil(count / size));
  const all = parseList(Blueprint, await client.list(paths.blueprints(), { query: { $select: BP_SELECT } }), 'blueprint');
  requests += pagesFor(all.length, 100);
  const names = want.uniqueNames ? new Set(want.uniqueNames) : undefined;
  const chosen = all.filter((b) => (names ? !!b.uniqueName && names.has(b.uniqueName) : want.match ? want.match({ id: b.id, appId: b.appId, uniqueName: b.uniqueName ?? null, displayName: b.displayName ?? '' }) : true));

  // Sponsors, owners, inheritable permissions, federated credentials: 4 reads each, batched;
  // the principals in one filtered list per 15 blueprints.
  const bpUrls = chosen.flatMap((b) => [`${paths.blueprint(b.id)}/sponsors`, `${paths.blueprint(b.id)}/owners`, `${paths.blueprint(b.id)}/inheritablePermissions`, `${paths.blueprint(b.id)}/federatedIdentityCredentials`]);
  const [principals, rels] = await Promise.all([readPrincipals(client, chosen.map((b) => b.appId)), counted(Math.ceil(bpUrls.length / 20), readMany(client, bpUrls, { pacer }))]);
  requests += Math.ceil(chosen.length / 15);

  // Agents: one chain of pages per blueprint, side by side. Their custom security attributes come
  // in the same pages ($select=customSecurityAttributes on the list: GD serviceprincipal-list.md,
  // custom security attribute examples), not a read per agent; only when asked, since reading
  // them needs a permission of its own (CustomSecAttributeAssignment.Read.All).
  const agentSelect = want.attributes ? `${AGENT_SELECT},customSecurityAttributes` : AGENT_SELECT;
  const agentLists = await Promise.all(
    chosen.map(async (b) => {
      const list = parseList(AgentIdentity, await client.list(paths.agents(), { query: { $filter: `agentIdentityBlueprintId eq ${odataString(b.appId)}`, $select: agentSelect } }), 'agent identity');
      requests += pagesFor(list.length, 100);
      return list;
    }),
  );
  const agentUrls = agentLists.flat().flatMap((a) => [`${paths.agent(a.id)}/sponsors?$select=id,userPrincipalName`, `${paths.agent(a.id)}/owners?$select=id,userPrincipalName`]);
  const agentRels = await counted(Math.ceil(agentUrls.length / 20), readMany(client, agentUrls, { pacer, concurrency: 8 }));

  const blueprints: LiveBlueprint[] = chosen.map((b, i) => {
    const rel = (suffix: string) => values(rels.get(`${paths.blueprint(b.id)}/${suffix}`));
    const p = principals.get(b.appId);
    return {
      id: b.id,
      appId: b.appId,
      uniqueName: b.uniqueName ?? null,
      displayName: b.displayName ?? '',
      description: b.description ?? null,
      tags: ((b as { tags?: string[] }).tags ?? []).slice(),
      secretNames: (b.passwordCredentials ?? []).map((c) => c.displayName ?? '').filter(Boolean),
      ...(p ? { principal: { id: p.id, accountEnabled: p.accountEnabled !== false } } : {}),
      sponsors: parseList(DirectoryObject, rel('sponsors'), 'sponsor').map(liveRef),
      owners: parseList(DirectoryObject, rel('owners'), 'owner').map(liveRef),
      inheritable: parseList(InheritablePermission, rel('inheritablePermissions'), 'inheritable permission'),
      fics: parseList(FederatedIdentityCredential, rel('federatedIdentityCredentials'), 'federated identity credential'),
      agents: agentLists[i]!.map((a) => ({
        id: a.id,
        displayName: a.displayName ?? '',
        accountEnabled: a.accountEnabled !== false,
        sponsors: parseList(DirectoryObject, values(agentRels.get(`${paths.agent(a.id)}/sponsors?$select=id,userPrincipalName`)), 'sponsor').map(liveRef),
        owners: parseList(DirectoryObject, values(agentRels.get(`${paths.agent(a.id)}/owners?$select=id,userPrincipalName`)), 'owner').map(liveRef),
        ...(want.attributes ? { attributes: ((a as { customSecurityAttributes?: AttributeValues | null }).customSecurityAttributes ?? {}) as AttributeValues } : {}),
      })),
    };
  });

  // Agent users: listed once (999 a page), kept when their parent is one of these agents.
  const agentIds = new Set(blueprints.flatMap((b) => b.agents.map((a) => a.id.toLowerCase())));
  let agentUsers: LiveAgentUser[] = [];
  if (agentIds.size) {
    const users = parseList(User, await client.list(paths.agentUsers(), { query: { $select: AGENT_USER_SELECT, $top: '999' } }), 'agent user');
    requests += pagesFor(users.length, 999);
    agentUsers = users
      .filter((u) => u.identityParentId && agentIds.has(u.identityParentId.toLowerCase()))
      .map((u) => ({ id: u.id, upn: u.userPrincipalName ?? u.id, displayName: u.displayName ?? '', accountEnabled: u.accountEnabled !== false, parentId: u.identityParentId!.toLowerCase() }));
  }
  return { blueprints, agentUsers, requests, attributes: !!want.attributes };
}

/**
 * The tenant's custom security attribute definitions, by id (`{set}_{name}`, lower case): one
 * paged list (GD directory-list-customsecurityattributedefinitions.md), for the plan to check
 * every attribute a file names before anything is written.
 */
export async function readDefinitions(client: GraphClient): Promise<{ definitions: Map<string, Definition>; requests: number }> {
  const list = await client.list<Definition>('/directory/customSecurityAttributeDefinitions');
  return { definitions: new Map(list.map((d) => [d.id.toLowerCase(), d])), requests: Math.max(1, Math.ceil(list.length / 100)) };
}

async function readPrincipals(client: GraphClient, appIds: string[]): Promise<Map<string, BlueprintPrincipal>> {
  const out = new Map<string, BlueprintPrincipal>();
  if (!appIds.length) return out;
  // One list with an `in` filter per 15 appIds (Graph's limit on `in` values), not a read per blueprint.
  for (let i = 0; i < appIds.length; i += 15) {
    const chunk = appIds.slice(i, i + 15);
    const list = parseList(BlueprintPrincipal, await client.list(paths.principals(), { query: { $filter: `appId in (${chunk.map(odataString).join(',')})`, $select: 'id,appId,displayName,accountEnabled' } }), 'blueprint principal');
    for (const p of list) out.set(p.appId, p);
  }
  return out;
}

/** A digest of what a plan was computed from: apply --plan refuses when the tenant moved on. */
export function fingerprint(live: LiveFleet): string {
  const canon = {
    b: live.blueprints
      .map((b) => ({
        ...b,
        sponsors: b.sponsors.map((s) => s.id).sort(),
        owners: b.owners.map((s) => s.id).sort(),
        tags: [...b.tags].sort(),
        secretNames: [...b.secretNames].sort(),
        inheritable: b.inheritable.map((p) => [p.resourceAppId, p.inheritableScopes['@odata.type'] ?? '', [...(p.inheritableScopes.scopes ?? [])].sort()]).sort(),
        fics: b.fics.map((f) => [f.id, f.name, f.issuer, f.subject, [...f.audiences].sort(), f.description ?? '']).sort(),
        agents: b.agents.map((a) => ({ ...a, sponsors: a.sponsors.map((s) => s.id).sort(), owners: a.owners.map((s) => s.id).sort() })).sort((x, y) => x.id.localeCompare(y.id)),
      }))
      .sort((x, y) => x.id.localeCompare(y.id)),
    u: live.agentUsers.map((u) => [u.id, u.upn.toLowerCase(), u.displayName, u.accountEnabled, u.parentId]).sort(),
  };
  return createHash('sha256').update(JSON.stringify(canon)).digest('hex');
}

