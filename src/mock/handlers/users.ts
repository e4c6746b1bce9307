import { GraphErrors } from '../errors.js';
import { contextUrl, created, noContent, ok, type MockContext, type MockResult } from '../context.js';
import { USER_DEFAULT_SELECT, view } from '../entities.js';
import { ENTITY_SET_OF, isA, type EntityType, type StoredObject, type TenantState } from '../state.js';
import { GUID_RE, parseCast } from '../path.js';
import { GROUP_SPEC } from './groups.js';
import { selectProperties, type CollectionSpec } from '../odata.js';
import {
  collectionResponse,
  softDelete,
  assignWritable,
  bindIds,
  checkSponsor,
  checkSponsorLimits,
  countResponse,
  declaredTypeName,
  entityResponse,
  findInSet,
  liveObjects,
  prop,
  relationshipRoute,
  requireString,
} from './common.js';

// /users and /me: agent users (GD v1.0 agentuser-*.md, resources/agentuser.md) and the seeded
// people who sponsor and own agents. Graph returns only a default set of user properties unless
// $select asks for more; agent users always carry their `@odata.type`.

export const USER_SPEC: CollectionSpec = {
  resource: 'user',
  filterable: {
    id: ['eq', 'in', 'ne'],
    displayName: ['eq', 'ne', 'in', 'startsWith', 'endsWith'],
    userPrincipalName: ['eq', 'ne', 'in', 'startsWith', 'endsWith'],
    mail: ['eq', 'ne', 'in', 'startsWith', 'endsWith'],
    mailNickname: ['eq', 'ne', 'in', 'startsWith', 'endsWith'],
    givenName: ['eq', 'ne', 'in', 'startsWith'],
    surname: ['eq', 'ne', 'in', 'startsWith'],
    jobTitle: ['eq', 'ne', 'in', 'startsWith'],
    department: ['eq', 'ne', 'in', 'startsWith'],
    accountEnabled: ['eq', 'ne', 'in'],
    userType: ['eq', 'ne', 'in'],
    usageLocation: ['eq', 'ne', 'in'],
    // On base user in the v1.0 CSDL; its filterability is not stated on any page [UNCONFIRMED].
    identityParentId: ['eq', 'ne', 'in'],
    createdDateTime: ['eq', 'ge', 'le', 'gt', 'lt'],
    // GD aad-advanced-queries.md (query scenarios table and "Support for filter by properties"):
    // startsWith on mobilePhone, ne/not on companyName, and endsWith inside any() on otherMails
    // and proxyAddresses, each with the advanced query parameters.
    mobilePhone: ['eq', 'ne', 'in', 'startsWith'],
    companyName: ['eq', 'ne', 'in', 'startsWith'],
    otherMails: ['any', 'startsWith', 'endsWith'],
    proxyAddresses: ['any', 'startsWith', 'endsWith'],
    businessPhones: ['any'],
    // GD user.md: assignedLicenses "Supports $filter (eq, not, /$count eq 0, /$count ne 0)".
    assignedLicenses: ['count'],
  },
  searchable: ['displayName', 'mail', 'userPrincipalName', 'givenName', 'surname', 'mailNickname'],
  orderable: ['displayName', 'userPrincipalName', 'createdDateTime'],
  // GD aad-advanced-queries.md: users sort on displayName and userPrincipalName without advanced parameters.
  orderableByDefault: ['displayName', 'userPrincipalName'],
  // GD agentuser-list.md / user-list.md: default page 100, maximum 999.
  defaultPageSize: 100,
  maxPageSize: 999,
  advanced: true,
};
const AGENT_USER_SPEC: CollectionSpec = { ...USER_SPEC, resource: 'agentUser' };

/** [INFERRED from GD agentuser-post.md, whose example answer adds mailNickname and
 * identityParentId to the user default set; agentuser-get/-list examples are generated templates
 * listing every property, wrapped in a stray `value`, so they say nothing about defaults.] */
const AGENT_USER_DEFAULT_SELECT = [...USER_DEFAULT_SELECT, 'mailNickname', 'identityParentId'];

/** The properties Graph returns for an item when $select is absent. */
export function userDefaultSelect(item: { type?: EntityType; '@odata.type'?: unknown }): string[] {
  const isAgent = item.type === 'agentUser' || item['@odata.type'] === '#microsoft.graph.agentUser';
  return isAgent ? AGENT_USER_DEFAULT_SELECT : USER_DEFAULT_SELECT;
}

/** Writable user properties (GD v1.0 agentuser-update.md, user-update.md) the emulator keeps. */
const USER_WRITABLE = [
  'accountEnabled',
  'businessPhones',
  'city',
  'companyName',
  'country',
  'department',
  'displayName',
  'employeeId',
  'employeeType',
  'givenName',
  'jobTitle',
  'mail',
  'mailNickname',
  'mobilePhone',
  'officeLocation',
  'otherMails',
  'postalCode',
  'preferredLanguage',
  'state',
  'streetAddress',
  'surname',
  'usageLocation',
  'userPrincipalName',
  'userType',
] as const;

const DECLARABLE: Record<string, EntityType> = { user: 'user', agentuser: 'agentUser' };

export async function usersRoute(ctx: MockContext): Promise<MockResult> {
  const { path } = ctx;
  if (path.cast && !isA(path.cast, 'user')) throw GraphErrors.castMismatch(`microsoft.graph.${path.cast}`);
  if (!path.key) return collectionRoute(ctx);
  const key = path.key;
  const cast = path.cast;
  // findInSet also resolves /users/{userPrincipalName}.
  const target = (state: TenantState) => findInSet(state, 'users', key, cast);
  return itemOrNavigation(ctx, target);
}

/** GET /me: the signed-in user. App-only callers have no "me" (Graph answers 400). */
export async function meRoute(ctx: MockContext): Promise<MockResult> {
  const caller = ctx.caller;
  if (caller.kind !== 'user') throw GraphErrors.meRequiresDelegated();
  const { path } = ctx;
  if (path.cast && !isA(path.cast, 'user')) throw GraphErrors.castMismatch(`microsoft.graph.${path.cast}`);
  const cast = path.cast;
  const target = (state: TenantState) => findInSet(state, 'users', { kind: 'id', value: caller.userId }, cast);
  return itemOrNavigation(ctx, target);
}

async function itemOrNavigation(ctx: MockContext, target: (s: TenantState) => StoredObject): Promise<MockResult> {
  const [seg, ...rest] = ctx.path.rest;
  if (seg === undefined) return itemRoute(ctx, target);
  switch (seg.toLowerCase()) {
    // GD v1.0 agentuser-{post,delete,list}-sponsors.md; `sponsors` is on base user in the CSDL.
    // Users have no `owners` navigation: that segment falls through to Graph's 400.
    case 'sponsors':
      return relationshipRoute(ctx, target, 'sponsors', rest);
    // Issue #4 (bulk revoke --sessions): GD v1.0 user-revokesigninsessions.md.
    case 'revokesigninsessions':
      return revokeSignInSessions(ctx, target, rest);
    case 'transitivememberof':
      return transitiveGroups(ctx, target, seg, rest);
    default:
      throw GraphErrors.unknownSegment(seg);
  }
}

// GD v1.0 user-list-transitivememberof.md, cast to groups as aad-advanced-queries.md's scenario
// `/me/transitiveMemberOf/microsoft.graph.group?$count=true` does. The emulator stores no assigned
// memberships (groups are read-only here), so a user's groups are the dynamic groups whose rule
// it meets. Only the cast form is served: uncast, Graph also lists directory roles and
// administrative units, which the emulator has no objects for.
async function transitiveGroups(ctx: MockContext, target: (s: TenantState) => StoredObject, seg: string, rest: string[]): Promise<MockResult> {
  const [cast, ...more] = rest;
  if (cast === undefined || parseCast(cast) !== 'group') throw GraphErrors.unknownSegment(cast ?? seg);
  if (more.length) throw GraphErrors.unknownSegment(more[0]!);
  if (ctx.method !== 'GET') throw GraphErrors.methodNotAllowed();
  return ctx.store.read((s) => {
    const who = target(s);
    const groups = liveObjects(s).filter((o) => o.type === 'group' && meetsRule(o.props.membershipRule, who));
    const items = groups.map((g) => ({ '@odata.type': '#microsoft.graph.group', ...view(g, ctx.version) }));
    return collectionResponse(ctx, items, GROUP_SPEC, 'groups');
  });
}

/** A dynamic membership rule of `user.prop -eq "value"` clauses joined by -and/-or (the form the
 * seeded and fixture groups use); a rule of any other form matches no one. */
function meetsRule(rule: unknown, who: StoredObject): boolean {
  if (typeof rule !== 'string' || !rule.trim()) return false;
  const clause = /^\(?\s*user\.(\w+)\s+-eq\s+"([^"]*)"\s*\)?$/i;
  const test = (text: string): boolean => {
    const m = clause.exec(text.trim());
    if (!m) return false;
    const key = Object.keys(who.props).find((k) => k.toLowerCase() === m[1]!.toLowerCase());
    const v = key === undefined ? undefined : who.props[key];
    return typeof v === 'string' && v.toLowerCase() === m[2]!.toLowerCase();
  };
  return rule.split(/\s+-or\s+/i).some((any) => any.split(/\s+-and\s+/i).every(test));
}

// ---------------------------------------------------------------------------------------------
// collection

async function collectionRoute(ctx: MockContext): Promise<MockResult> {
  const { path, method } = ctx;
  const cast = path.cast;
  const spec = cast === 'agentUser' ? AGENT_USER_SPEC : USER_SPEC;
  const [seg] = path.rest;
  const members = (state: TenantState) =>
    liveObjects(state)
      .filter((o) => ENTITY_SET_OF[o.type] === 'users' && (!cast || isA(o.type, cast)))
      .map((o) => view(o, ctx.version));
  if (seg?.toLowerCase() === '$count') {
    if (method !== 'GET') throw GraphErrors.methodNotAllowed();
    return ctx.store.read((s) => countResponse(ctx, members(s), spec));
  }
  if (seg !== undefined) throw GraphErrors.unknownSegment(seg);
  if (method === 'GET') {
    const fragment = cast ? `users/microsoft.graph.${cast}` : 'users';
    return ctx.store.read((s) => usersCollection(ctx, members(s), spec, fragment));
  }
  if (method === 'POST') {
    const body = await ctx.json();
    // GD agentuser-post.md: POST /users/microsoft.graph.agentUser, or POST /users with
    // "@odata.type": "#microsoft.graph.agentUser". GD beta agentuser-post.md Example 1 sends that
    // form without an OData-Version header and gets 201, so unlike bodyType() (the entra-docs
    // forms on /applications and /servicePrincipals) the header is not required here.
    const declaredRaw = declaredTypeName(body);
    const declared = declaredRaw === undefined ? undefined : DECLARABLE[declaredRaw];
    if (declaredRaw !== undefined && !declared) throw GraphErrors.castMismatch(String(body['@odata.type']));
    const isAgent = cast === 'agentUser' || declared === 'agentUser';
    const obj = await ctx.store.write((state) => createUser(ctx, state, body, isAgent));
    // Both create pages answer `…#users/$entity`, cast URL or not.
    return created({ '@odata.context': contextUrl(ctx, 'users/$entity'), ...selectProperties(view(obj, ctx.version), userDefaultSelect(obj)) });
  }
  throw GraphErrors.methodNotAllowed();
}

/** A users collection: the default property set depends on each item's type. */
export function usersCollection(ctx: MockContext, items: Record<string, unknown>[], spec: CollectionSpec, contextFragment: string): MockResult {
  return collectionResponse(ctx, items, spec, contextFragment, userDefaultSelect);
}

// The characters GD agentuser-post.md allows in a UPN: A–Z a–z 0–9 ' . - _ ! # ^ ~
const UPN_RE = /^[A-Za-z0-9'.\-_!#^~]+@([A-Za-z0-9.-]+)$/;

function checkUserPrincipalName(state: TenantState, upn: string, self?: string): void {
  const m = UPN_RE.exec(upn);
  if (!m) throw GraphErrors.invalidUserPrincipalName();
  const domain = m[1]!.toLowerCase();
  if (!state.tenant.verifiedDomains.some((d) => d.toLowerCase() === domain)) throw GraphErrors.invalidUpnDomain();
  const wanted = upn.toLowerCase();
  const clash = liveObjects(state).some((o) => ENTITY_SET_OF[o.type] === 'users' && o.id !== self && String(o.props.userPrincipalName ?? '').toLowerCase() === wanted);
  if (clash) throw GraphErrors.duplicateValue('userPrincipalName');
}

function checkUserValues(props: Record<string, unknown>): void {
  if (typeof props.accountEnabled !== 'boolean') throw GraphErrors.invalidValue('accountEnabled');
  const d = props.displayName;
  // "can't be cleared during updates" (GD agentuser-update.md).
  if (typeof d !== 'string' || d.length === 0 || d.length > 256) throw GraphErrors.invalidValue('displayName');
  const n = props.mailNickname;
  if (typeof n !== 'string' || n.length === 0 || n.length > 64) throw GraphErrors.invalidValue('mailNickname');
  for (const list of ['businessPhones', 'otherMails']) {
    const v = props[list];
    if (v !== undefined && (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))) throw GraphErrors.invalidValue(list);
  }
}

/** identityParentId must name a live agent identity not yet linked to another agent user (1:1, ED agent-users.md). */
function checkIdentityParent(state: TenantState, raw: string): string {
  const id = raw.toLowerCase();
  const parent = GUID_RE.test(id) ? state.objects[id] : undefined;
  if (!parent || parent.deletedDateTime || parent.type !== 'agentIdentity') throw GraphErrors.invalidIdentityParent(raw);
  // GD agentuser-post.md: "an identityParentId already linked to another agentUser returns a
  // 400 Bad Request" (no body documented; the wording is duplicateValue's [UNCONFIRMED]).
  if (liveObjects(state).some((o) => o.type === 'agentUser' && String(o.props.identityParentId ?? '').toLowerCase() === id)) {
    throw GraphErrors.duplicateValue('identityParentId');
  }
  return id;
}

function createUser(ctx: MockContext, state: TenantState, body: Record<string, unknown>, isAgent: boolean): StoredObject {
  const resource = isAgent ? 'agentUser' : 'user';
  // Users have sponsors but no owners navigation.
  if (Object.keys(body).some((k) => k.toLowerCase() === 'owners@odata.bind')) throw GraphErrors.unknownProperty('owners', `microsoft.graph.${resource}`);
  if (prop(body, 'accountEnabled') === undefined) throw GraphErrors.missingProperty('accountEnabled', resource);
  requireString(body, 'displayName', resource, 256);
  requireString(body, 'mailNickname', resource, 64);
  const upn = requireString(body, 'userPrincipalName', resource);
  let identityParentId: string | null = null;
  if (isAgent) {
    // Agent users have no passwords and authenticate only through their parent (ED agent-users.md).
    if (prop(body, 'passwordProfile') !== undefined) throw GraphErrors.agentUserPropertyNotSupported('passwordProfile');
    identityParentId = checkIdentityParent(state, requireString(body, 'identityParentId', resource));
  } else {
    // The parent link is what makes an agent user; a plain user can't take one [INFERRED].
    if (prop(body, 'identityParentId') !== undefined) throw GraphErrors.readOnlyProperty('identityParentId');
    // GD user-post-users.md: passwordProfile is required for a member user. It is validated,
    // never stored: Graph never returns a password.
    const pp = prop(body, 'passwordProfile');
    if (pp === undefined || pp === null) throw GraphErrors.missingProperty('passwordProfile', resource);
    if (typeof pp !== 'object' || Array.isArray(pp) || typeof (pp as Record<string, unknown>).password !== 'string') throw GraphErrors.invalidValue('passwordProfile');
  }
  checkUserPrincipalName(state, upn);
  const sponsors = bindIds(body, 'sponsors');
  for (const s of sponsors) checkSponsor(state, s);
  checkSponsorLimits(state, sponsors);

  const written: Record<string, unknown> = {};
  const rest = Object.fromEntries(Object.entries(body).filter(([k]) => !['identityparentid', 'passwordprofile'].includes(k.toLowerCase())));
  assignWritable(written, rest, USER_WRITABLE, resource);
  const props: Record<string, unknown> = {
    businessPhones: [],
    // [INFERRED from GD agentuser-post.md's example, where mail equals the UPN] an agent user
    // gets its UPN as mail; a plain user's mail stays empty until Exchange sets it.
    mail: isAgent ? upn : null,
    userType: 'Member',
    ...written,
    createdDateTime: ctx.now.toISOString(),
    identityParentId,
  };
  checkUserValues(props);
  const id = ctx.newId();
  const obj: StoredObject = { id, type: isAgent ? 'agentUser' : 'user', props, sponsors: [...new Set(sponsors)] };
  state.objects[id] = obj;
  return obj;
}

// ---------------------------------------------------------------------------------------------
// item

async function itemRoute(ctx: MockContext, target: (s: TenantState) => StoredObject): Promise<MockResult> {
  const { method, path } = ctx;
  if (method === 'GET') {
    return ctx.store.read((s) => {
      const obj = target(s);
      return entityResponse(ctx, obj, 'users', path.cast, userDefaultSelect(obj));
    });
  }
  if (method === 'PATCH') {
    const body = await ctx.json();
    // GD agentuser-update.md asks for "@odata.type": "#microsoft.graph.agentUser" in the body, and
    // its tip allows the plain PATCH /users/{id}; we accept it when present and don't require it.
    const declaredRaw = declaredTypeName(body);
    const declared = declaredRaw === undefined ? undefined : DECLARABLE[declaredRaw];
    if (declaredRaw !== undefined && !declared) throw GraphErrors.castMismatch(String(body['@odata.type']));
    const updated = await ctx.store.write((state) => {
      const obj = target(state);
      if (declared && !isA(obj.type, declared)) throw GraphErrors.castMismatch(String(body['@odata.type']));
      const isAgent = obj.type === 'agentUser';
      // identityParentId "can't be cleared", and the 1:1 link is fixed (ED agent-users.md).
      if (prop(body, 'identityParentId') !== undefined) throw GraphErrors.immutableProperty('identityParentId');
      const pp = prop(body, 'passwordProfile');
      if (isAgent && pp !== undefined) throw GraphErrors.agentUserPropertyNotSupported('passwordProfile');
      const next = { ...obj.props };
      const rest = Object.fromEntries(Object.entries(body).filter(([k]) => k.toLowerCase() !== 'passwordprofile'));
      assignWritable(next, rest, USER_WRITABLE, obj.type, ['id']);
      const upn = prop(body, 'userPrincipalName');
      if (upn !== undefined) {
        if (typeof upn !== 'string') throw GraphErrors.invalidValue('userPrincipalName');
        checkUserPrincipalName(state, upn, obj.id);
      }
      if (prop(body, 'mail') === null && isAgent) throw GraphErrors.invalidValue('mail'); // "Can't be updated to null"
      checkUserValues(next);
      obj.props = next;
      return obj;
    });
    // [DOC-CONFLICT] GD agentuser-update.md answers 200 with the updated agentUser, but its
    // example body is a generated template ("accountEnabled": "Boolean") and a PATCH on
    // /users/{id} — which the same page says also updates agent users — answers 204 (GD
    // user-update.md). We answer 204, and 200 with the entity when the client asks for it with
    // the OData header `Prefer: return=representation`; clients should accept both.
    if (/(^|[,;\s])return=representation($|[,;\s])/i.test(ctx.header('Prefer') ?? '')) {
      return ok({ '@odata.context': contextUrl(ctx, 'users/$entity'), ...view(updated, ctx.version) });
    }
    return noContent();
  }
  if (method === 'DELETE') {
    // Soft delete (GD agentuser-delete.md): restorable from /directory/deletedItems for 30 days.
    return softDelete(ctx, target);
  }
  throw GraphErrors.methodNotAllowed();
}

/**
 * POST /users/{id}/revokeSignInSessions: invalidates refresh tokens and session cookies by moving
 * signInSessionsValidFromDateTime to now; answers 200 with an Edm.Boolean `true`
 * (GD v1.0 user-revokesigninsessions.md). Agent users take it too (resources/agentuser.md lists
 * signInSessionsValidFromDateTime).
 */
async function revokeSignInSessions(ctx: MockContext, target: (s: TenantState) => StoredObject, rest: string[]): Promise<MockResult> {
  if (rest.length) throw GraphErrors.unknownSegment(rest[0]!);
  if (ctx.method !== 'POST') throw GraphErrors.methodNotAllowed();
  await ctx.store.write((state) => {
    target(state).props.signInSessionsValidFromDateTime = ctx.now.toISOString();
  });
  return ok({ '@odata.context': contextUrl(ctx, 'Edm.Boolean'), value: true });
}
