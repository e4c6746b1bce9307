import type { GraphClient } from './client.js';
import { GraphRequestError } from './errors.js';
import { DirectoryObject, Group, Organization, User, parseAs, parseList } from './models.js';
import { directoryObjectRef, isGuid, odataString, paths } from './paths.js';
import { NotFoundError, UsageError } from '../errors.js';

/** A user or group that can be a sponsor or owner. */
export interface PrincipalRef {
  kind: 'user' | 'group';
  id: string;
  displayName?: string | null | undefined;
}

/** The objects that carry sponsors and owners, and where Graph exposes those relationships. */
export type RelationshipTarget =
  | { kind: 'blueprint'; id: string }
  | { kind: 'principal'; id: string }
  | { kind: 'agent'; id: string }
  | { kind: 'agentUser'; id: string };

export type Relationship = 'sponsors' | 'owners';

function relationshipPath(target: RelationshipTarget, rel: Relationship): string {
  switch (target.kind) {
    case 'blueprint':
      return `${paths.blueprint(target.id)}/${rel}`;
    case 'principal':
      return `${paths.principal(target.id)}/${rel}`;
    case 'agent':
      return `${paths.agent(target.id)}/${rel}`;
    case 'agentUser':
      // GD v1.0 agentuser-post-sponsors.md addresses the plain user path.
      if (rel === 'owners') throw new UsageError('Agent users have no owners in Microsoft Graph; manage their sponsors instead (agentid sponsor add --agent-user …).');
      return `/users/${target.id}/${rel}`;
  }
}

export async function listRelationship(client: GraphClient, target: RelationshipTarget, rel: Relationship): Promise<DirectoryObject[]> {
  return parseList(DirectoryObject, await client.list(relationshipPath(target, rel)), rel.slice(0, -1));
}

export async function addRelationship(client: GraphClient, target: RelationshipTarget, rel: Relationship, who: PrincipalRef): Promise<void> {
  await client.post(`${relationshipPath(target, rel)}/$ref`, {
    '@odata.id': directoryObjectRef(client.baseUrl, client.version, 'directoryObjects', who.id),
  });
}

export async function removeRelationship(client: GraphClient, target: RelationshipTarget, rel: Relationship, id: string): Promise<void> {
  await client.delete(`${relationshipPath(target, rel)}/${id}/$ref`);
}

// name@domain, the domain a DNS name (verified domains always are). 'meganb@' or 'meganb@contoso'
// is a typo to report as bad input (exit 2), not a lookup that ends in 'no such user' (exit 3).
const UPN = /^[^@\s]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$/;

/** `me`, a UPN, or an object id → the user. */
export async function resolveUser(client: GraphClient, ref: string): Promise<PrincipalRef> {
  const trimmed = ref.trim();
  if (!trimmed) throw new UsageError('A user must be a UPN, an object id, or "me".');
  if (trimmed.toLowerCase() !== 'me' && !UPN.test(trimmed) && !isGuid(trimmed)) {
    throw new UsageError(`'${ref}' is not a user reference: give a UPN (name@domain), an object id, or "me".`);
  }
  try {
    const path = trimmed.toLowerCase() === 'me' ? '/me' : paths.user(trimmed);
    const u = parseAs(User, await client.get(path, { query: { $select: 'id,displayName,userPrincipalName' } }), 'user');
    return { kind: 'user', id: u.id, displayName: u.displayName ?? u.userPrincipalName };
  } catch (err) {
    if (err instanceof GraphRequestError && err.status === 404) throw new NotFoundError(`No user '${ref}' in this tenant.`);
    throw err;
  }
}

export async function resolveGroup(client: GraphClient, ref: string): Promise<PrincipalRef> {
  if (!ref.trim()) throw new UsageError('--group takes a group object id or display name.');
  // Hex and dashes that are not a GUID: a mistyped id, not a name.
  if (/^[0-9a-f]{4,}(-[0-9a-f]*)+$/i.test(ref.trim()) && !isGuid(ref.trim())) throw new UsageError(`'${ref}' is not a group object id.`);
  if (!isGuid(ref.trim())) {
    // By display name (issue 12 #7): exactly one match, else the candidates or the closest names.
    const name = ref.trim();
    const list = (filter?: string) => client.list<unknown>('/groups', { query: { $select: 'id,displayName', ...(filter ? { $filter: filter } : {}) } });
    const matches = parseList(Group, await list(`displayName eq ${odataString(name)}`), 'group');
    if (matches.length === 1) return { kind: 'group', id: matches[0]!.id, displayName: matches[0]!.displayName };
    if (matches.length > 1) throw new UsageError(`${matches.length} groups are named '${name}': ${matches.map((g) => g.id).join(', ')}. Use the group's object id instead.`);
    const { didYouMean } = await import('../suggest.js');
    const all = parseList(Group, await list().catch(() => []), 'group').map((g) => g.displayName ?? '');
    throw new NotFoundError(`No group named '${name}' in this tenant${didYouMean(name, all)}`.replace(/([^?])$/, '$1.'));
  }
  try {
    const g = parseAs(Group, await client.get(paths.group(ref.trim()), { query: { $select: 'id,displayName,groupTypes,isAssignableToRole' } }), 'group');
    return { kind: 'group', id: g.id, displayName: g.displayName };
  } catch (err) {
    if (err instanceof GraphRequestError && err.status === 404) throw new NotFoundError(`No group '${ref}' in this tenant.`);
    throw err;
  }
}

/**
 * A sponsor or owner given without saying which kind: `me`, a UPN (a user), or an object id
 * looked up as a directory object (a user or a group).
 */
export async function resolvePrincipal(client: GraphClient, ref: string): Promise<PrincipalRef> {
  const trimmed = ref.trim();
  if (!isGuid(trimmed)) return resolveUser(client, trimmed);
  try {
    const o = parseAs(DirectoryObject, await client.get(paths.directoryObject(trimmed)), 'directory object');
    const type = (o['@odata.type'] ?? '').toLowerCase();
    if (type.endsWith('.group')) return { kind: 'group', id: o.id, displayName: o.displayName };
    if (type.endsWith('.user') || type.endsWith('.agentuser')) return { kind: 'user', id: o.id, displayName: o.displayName };
    throw new UsageError(`Object '${ref}' is a ${type.replace(/^#microsoft\.graph\./, '') || 'directory object'}; sponsors and owners here must be users or groups.`);
  } catch (err) {
    if (err instanceof GraphRequestError && err.status === 404) throw new NotFoundError(`No user or group '${ref}' in this tenant.`);
    // GET /directoryObjects/{id} needs Directory.Read.All (directoryobject-get-permissions.md);
    // a caller with only User.Read.All and Group.Read.All (the least the sponsor and owner
    // commands name, e.g. an app profile) can still look the id up as a user, then as a group.
    if (err instanceof GraphRequestError && err.status === 403) return resolveUserOrGroupById(client, trimmed, ref, err);
    throw err;
  }
}

async function resolveUserOrGroupById(client: GraphClient, id: string, ref: string, denied: GraphRequestError): Promise<PrincipalRef> {
  const get = async (path: string) => {
    try {
      return parseAs(DirectoryObject, await client.get(path, { query: { $select: 'id,displayName' } }), 'directory object');
    } catch (err) {
      if (err instanceof GraphRequestError && err.status === 404) return undefined;
      if (err instanceof GraphRequestError && err.status === 403) return null;
      throw err;
    }
  };
  const user = await get(paths.user(id));
  if (user) return { kind: 'user', id: user.id, displayName: user.displayName };
  const group = await get(paths.group(id));
  if (group) return { kind: 'group', id: group.id, displayName: group.displayName };
  if (user === null || group === null) throw denied;
  throw new NotFoundError(`No user or group '${ref}' in this tenant.`);
}

export async function getOrganization(client: GraphClient): Promise<Organization | undefined> {
  const body = await client.get<{ value?: unknown[] }>('/organization', { query: { $select: 'id,displayName,verifiedDomains' } });
  const first = body.value?.[0];
  return first ? parseAs(Organization, first, 'organization') : undefined;
}
