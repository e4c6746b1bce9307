import { GraphErrors } from '../errors.js';
import { contextUrl, noContent, ok, type MockContext, type MockResult } from '../context.js';
import { view } from '../entities.js';
import { GUID_RE, parseCast } from '../path.js';
import { BASE_TYPE_OF, ENTITY_SET_OF, isA, type EntityType, type StoredObject, type TenantState } from '../state.js';
import { selectProperties, type CollectionSpec } from '../odata.js';
import { collectionResponse, countResponse, liveObjects, prop } from './common.js';
import { APPLICATION_SPEC } from './applications.js';
import { SERVICE_PRINCIPAL_SPEC } from './servicePrincipals.js';
import { USER_SPEC, userDefaultSelect, usersCollection } from './users.js';
import { GROUP_SPEC } from './groups.js';
import { customSecurityAttributesRoute } from '../customSecurityAttributes.js';

// /directoryObjects (any object by id, getByIds) and /directory/deletedItems, the recycle bin
// every soft delete in the emulator lands in (GD v1.0 directory-deleteditems-{list,get,restore,
// delete}.md; ED howto-delete-agent-identity.md for the agent types).

function selectParam(ctx: MockContext): string[] | undefined {
  const raw = ctx.url.searchParams.get('$select');
  return raw ? raw.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
}

/** A directoryObject-typed rendering: `@odata.type` always, users cut to their default set. */
function typedView(ctx: MockContext, obj: StoredObject, select: string[] | undefined): Record<string, unknown> {
  const full = view(obj, ctx.version, { withType: true });
  const effective = select ?? (ENTITY_SET_OF[obj.type] === 'users' ? userDefaultSelect(obj) : undefined);
  return effective ? selectProperties(full, effective) : full;
}

function entityBody(ctx: MockContext, fragment: string, obj: StoredObject): Record<string, unknown> {
  const select = selectParam(ctx);
  return { '@odata.context': contextUrl(ctx, select ? `${fragment}(${select.join(',')})/$entity` : `${fragment}/$entity`), ...typedView(ctx, obj, select) };
}

// ---------------------------------------------------------------------------------------------
// /directoryObjects

export async function directoryObjectsRoute(ctx: MockContext): Promise<MockResult> {
  const { path, method } = ctx;
  const [seg, ...rest] = path.rest;
  if (!path.key) {
    if (seg?.toLowerCase() === 'getbyids') {
      if (rest.length) throw GraphErrors.unknownSegment(rest[0]!);
      if (method !== 'POST') throw GraphErrors.methodNotAllowed();
      return getByIds(ctx);
    }
    if (seg !== undefined) throw GraphErrors.unknownSegment(seg);
    // Listing every directory object is not emulated.
    throw GraphErrors.methodNotAllowed();
  }
  const key = path.key;
  if (seg !== undefined) throw GraphErrors.unknownSegment(seg);
  if (method !== 'GET') throw GraphErrors.methodNotAllowed();
  if (key.kind !== 'id') throw GraphErrors.notFound(key.value);
  if (!GUID_RE.test(key.value)) throw GraphErrors.invalidId(key.value);
  return ctx.store.read((state) => {
    const obj = state.objects[key.value.toLowerCase()];
    if (!obj || obj.deletedDateTime || (path.cast && !isA(obj.type, path.cast))) throw GraphErrors.notFound(key.value);
    return ok(entityBody(ctx, 'directoryObjects', obj));
  });
}

// GD v1.0 directoryobject-getbyids.md: ids (≤1000) and optional types, e.g. ["user","group"].
const GETBYIDS_TYPES: Record<string, EntityType> = { user: 'user', group: 'group', application: 'application', serviceprincipal: 'servicePrincipal' };
const MAX_GETBYIDS = 1000;

async function getByIds(ctx: MockContext): Promise<MockResult> {
  const body = await ctx.json();
  const ids = prop(body, 'ids');
  if (ids === undefined || ids === null) throw GraphErrors.missingProperty('ids', 'getByIds');
  if (!Array.isArray(ids) || ids.some((i) => typeof i !== 'string')) throw GraphErrors.invalidValue('ids');
  if (ids.length > MAX_GETBYIDS) throw GraphErrors.invalidValue('ids');
  for (const id of ids as string[]) if (!GUID_RE.test(id)) throw GraphErrors.invalidId(id);
  const rawTypes = prop(body, 'types');
  let types: EntityType[] | undefined;
  if (rawTypes !== undefined && rawTypes !== null) {
    if (!Array.isArray(rawTypes) || rawTypes.some((t) => typeof t !== 'string')) throw GraphErrors.invalidValue('types');
    types = (rawTypes as string[]).map((t) => {
      // Subtypes such as agentIdentity are found through their base type.
      const type = GETBYIDS_TYPES[t.replace(/^#?(microsoft\.graph|graph)\./i, '').toLowerCase()];
      if (!type) throw GraphErrors.invalidValue('types');
      return type;
    });
  }
  return ctx.store.read((state) => {
    const found = [...new Set((ids as string[]).map((i) => i.toLowerCase()))]
      .map((i) => state.objects[i])
      .filter((o): o is StoredObject => !!o && !o.deletedDateTime && (!types || types.some((t) => isA(o.type, t))));
    return ok({ '@odata.context': contextUrl(ctx, 'directoryObjects'), value: found.map((o) => typedView(ctx, o, selectParam(ctx))) });
  });
}

// ---------------------------------------------------------------------------------------------
// /directory/deletedItems

export async function directoryRoute(ctx: MockContext): Promise<MockResult> {
  const [first, ...rest] = ctx.path.rest;
  if (first === undefined) throw GraphErrors.methodNotAllowed();
  // #13: custom security attributes, the at-scale targeting of agents in Conditional Access.
  if (first.toLowerCase() === 'attributesets') return customSecurityAttributesRoute(ctx, 'attributeSets', rest);
  if (first.toLowerCase() === 'customsecurityattributedefinitions') return customSecurityAttributesRoute(ctx, 'customSecurityAttributeDefinitions', rest);
  if (first.toLowerCase() !== 'deleteditems') throw GraphErrors.unknownSegment(first);
  return deletedItemsRoute(ctx, rest);
}

/** GD directory-deleteditems-list.md: the resource's own query options; 100 by default, up to 999;
 * $orderby deletedDateTime only with advanced query parameters. */
function deletedSpec(type: EntityType): CollectionSpec {
  const base = { users: USER_SPEC, groups: GROUP_SPEC, applications: APPLICATION_SPEC, servicePrincipals: SERVICE_PRINCIPAL_SPEC }[ENTITY_SET_OF[type]];
  return {
    ...base,
    filterable: { ...base.filterable, deletedDateTime: ['eq', 'ge', 'le', 'gt', 'lt'] },
    orderable: [...(base.orderable ?? []), 'deletedDateTime'],
    orderableByDefault: ['displayName', ...(type === 'user' ? ['userPrincipalName'] : [])],
    defaultPageSize: 100,
    maxPageSize: 999,
  };
}

function deletedObject(state: TenantState, raw: string): StoredObject {
  if (!GUID_RE.test(raw)) throw GraphErrors.invalidId(raw);
  const obj = state.objects[raw.toLowerCase()];
  if (!obj || !obj.deletedDateTime) throw GraphErrors.notFound(raw);
  return obj;
}

async function deletedItemsRoute(ctx: MockContext, rest: string[]): Promise<MockResult> {
  const { method } = ctx;
  const [seg, ...tail] = rest;
  if (seg === undefined) {
    // "The OData cast type is a required part of the URI" (GD directory-deleteditems-list.md).
    if (method === 'GET') throw GraphErrors.deletedItemsRequiresCast();
    throw GraphErrors.methodNotAllowed();
  }
  const cast = parseCast(seg);
  if (cast === null) throw GraphErrors.unknownSegment(seg);
  if (cast) return deletedListRoute(ctx, seg, cast, tail);

  const id = seg;
  if (tail.length === 0) {
    // GD directory-deleteditems-get.md: context `#directoryObjects/$entity`.
    if (method === 'GET') return ctx.store.read((s) => ok(entityBody(ctx, 'directoryObjects', deletedObject(s, id))));
    if (method === 'DELETE') {
      await ctx.store.write((state) => purge(state, deletedObject(state, id)));
      return noContent();
    }
    throw GraphErrors.methodNotAllowed();
  }
  if (tail.length === 1 && tail[0]!.toLowerCase() === 'restore') {
    if (method !== 'POST') throw GraphErrors.methodNotAllowed();
    // GD beta directory-deleteditems-restore.md: optional newUserPrincipalName (a user comes back
    // under that name) and autoReconcileProxyConflict (proxy addresses: the emulator has no clash).
    const body = await ctx.json();
    const newUpn = prop(body, 'newUserPrincipalName');
    if (newUpn !== undefined && (typeof newUpn !== 'string' || !newUpn.includes('@'))) throw GraphErrors.invalidValue('newUserPrincipalName');
    const restored = await ctx.store.write((state) => restore(state, deletedObject(state, id), newUpn as string | undefined));
    // GD directory-deleteditems-restore.md: 200 with the object, context `#directoryObjects/$entity`.
    return ok(entityBody(ctx, 'directoryObjects', restored));
  }
  throw GraphErrors.unknownSegment(tail[0]!);
}

async function deletedListRoute(ctx: MockContext, seg: string, cast: EntityType, tail: string[]): Promise<MockResult> {
  // The list casts are the base types (application, servicePrincipal, user, group). ED
  // howto-delete-agent-identity.md: deletedItems "doesn't support filtering by agent identity
  // type", so an agent-type cast is refused [INFERRED: with the cast-mismatch 400].
  if (BASE_TYPE_OF[cast] !== null) throw GraphErrors.castMismatch(seg);
  const spec = deletedSpec(cast);
  const items = (state: TenantState) =>
    Object.values(state.objects)
      .filter((o) => o.deletedDateTime && isA(o.type, cast))
      .map((o) => view(o, ctx.version));
  const [next] = tail;
  if (next?.toLowerCase() === '$count' && tail.length === 1) {
    if (ctx.method !== 'GET') throw GraphErrors.methodNotAllowed();
    return ctx.store.read((s) => countResponse(ctx, items(s), spec));
  }
  if (next !== undefined) throw GraphErrors.unknownSegment(next);
  if (ctx.method !== 'GET') throw GraphErrors.methodNotAllowed();
  // The context names the cast's entity set, `#groups` / `#groups(id,displayName,deletedDateTime)`,
  // as both examples of GD beta directory-deleteditems-list.md show (not the OData path
  // `#directory/deletedItems/microsoft.graph.group` the emulator answered before issue 11).
  const fragment = ENTITY_SET_OF[cast];
  // Deleted users come back with the users' default property set [INFERRED]; $select deletedDateTime to see when.
  if (cast === 'user') return ctx.store.read((s) => usersCollection(ctx, items(s), spec, fragment));
  return ctx.store.read((s) => collectionResponse(ctx, items(s), spec, fragment));
}

/**
 * Restore validates what a create would: the restored object's unique values must still be free.
 * Graph's 409 for service principals says "cannot be created, updated, or restored because the
 * service principal name … is already in use".
 */
function restore(state: TenantState, obj: StoredObject, newUserPrincipalName?: string): StoredObject {
  const set = ENTITY_SET_OF[obj.type];
  const live = liveObjects(state);
  if (set === 'servicePrincipals' && obj.type !== 'agentIdentity') {
    const appId = String(obj.props.appId ?? '').toLowerCase();
    if (live.some((o) => ENTITY_SET_OF[o.type] === 'servicePrincipals' && String(o.props.appId ?? '').toLowerCase() === appId)) {
      throw GraphErrors.servicePrincipalNameInUse(String(obj.props.appId));
    }
    // A principal of a local app needs its application back first [INFERRED: the check creation makes].
    if (obj.props.appOwnerOrganizationId === state.tenant.id && !live.some((o) => ENTITY_SET_OF[o.type] === 'applications' && String(o.props.appId ?? '').toLowerCase() === appId)) {
      throw GraphErrors.noBackingApplication(String(obj.props.appId));
    }
  }
  if (set === 'users') {
    if (newUserPrincipalName !== undefined) {
      const domain = newUserPrincipalName.split('@').pop()!.toLowerCase();
      if (!state.tenant.verifiedDomains.some((d) => d.toLowerCase() === domain)) throw GraphErrors.invalidValue('newUserPrincipalName');
    }
    const upn = String(newUserPrincipalName ?? obj.props.userPrincipalName ?? '').toLowerCase();
    if (live.some((o) => ENTITY_SET_OF[o.type] === 'users' && String(o.props.userPrincipalName ?? '').toLowerCase() === upn)) {
      throw GraphErrors.duplicateValue('userPrincipalName');
    }
    // The 1:1 link to the parent agent identity must still be free. Restoring an agent user whose
    // parent is itself deleted is allowed [UNCONFIRMED: no source says either way].
    const parent = obj.props.identityParentId;
    if (obj.type === 'agentUser' && typeof parent === 'string' && live.some((o) => o.type === 'agentUser' && o.props.identityParentId === parent)) {
      throw GraphErrors.duplicateValue('identityParentId');
    }
  }
  if (set === 'applications' && typeof obj.props.uniqueName === 'string') {
    const name = obj.props.uniqueName;
    if (live.some((o) => ENTITY_SET_OF[o.type] === 'applications' && o.props.uniqueName === name)) throw GraphErrors.duplicateValue('uniqueName');
  }
  // Restoring a blueprint principal before the cascade job runs keeps its agent identities;
  // afterwards each child is restored one by one (ED howto-delete-agent-identity.md). The
  // emulator never runs the job, so children are whatever was deleted explicitly.
  if (set === 'users' && newUserPrincipalName !== undefined) obj.props = { ...obj.props, userPrincipalName: newUserPrincipalName };
  delete obj.deletedDateTime;
  return obj;
}

function purge(state: TenantState, obj: StoredObject): void {
  // ED howto-delete-agent-identity.md: "Explicit hard deletion of a blueprint principal
  // (permanentDelete) is blocked"; it is purged automatically 30 days after the soft delete.
  if (obj.type === 'agentIdentityBlueprintPrincipal') throw GraphErrors.permanentDeleteBlocked(obj.id);
  delete state.objects[obj.id];
  // References to a purged object vanish with it.
  for (const o of Object.values(state.objects)) {
    if (o.owners?.includes(obj.id)) o.owners = o.owners.filter((i) => i !== obj.id);
    if (o.sponsors?.includes(obj.id)) o.sponsors = o.sponsors.filter((i) => i !== obj.id);
  }
}
