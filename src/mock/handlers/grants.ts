import { GraphErrors } from '../errors.js';
import { contextUrl, created, noContent, ok, type MockContext, type MockResult } from '../context.js';
import { ENTITY_SET_OF, type AppRoleAssignment, type OAuth2PermissionGrant, type StoredObject, type TenantState } from '../state.js';
import { GUID_RE } from '../path.js';
import type { CollectionSpec } from '../odata.js';
import { collectionResponse, prop, requireString } from './common.js';

// Delegated permission grants (GD v1.0 oauth2permissiongrant-*.md, resources/oauth2permissiongrant.md)
// and app role assignments (GD v1.0 serviceprincipal-{list,post,delete}-approleassignments.md,
// -approleassignedto.md) of agent identities and blueprint principals. Both live beside the
// directory objects in the state, keyed by their id; deleting a service principal leaves them in
// place, the way a soft-deleted principal keeps its grants until it is purged.

const GRANT_SPEC: CollectionSpec = {
  resource: 'oAuth2PermissionGrant',
  // GD oauth2permissiongrant-list.md: $filter on clientId, consentType, principalId, resourceId (eq).
  filterable: { id: ['eq'], clientId: ['eq', 'in'], consentType: ['eq'], principalId: ['eq', 'in'], resourceId: ['eq', 'in'] },
  searchable: [],
  orderable: [],
  defaultPageSize: 100,
  maxPageSize: 999,
  advanced: false,
};

const ASSIGNMENT_SPEC: CollectionSpec = {
  resource: 'appRoleAssignment',
  filterable: { id: ['eq'], principalId: ['eq'], resourceId: ['eq'], appRoleId: ['eq'] },
  searchable: [],
  orderable: [],
  defaultPageSize: 100,
  maxPageSize: 999,
  advanced: false,
};

const grantsOf = (s: TenantState) => (s.oauth2PermissionGrants ??= {});
const assignmentsOf = (s: TenantState) => (s.appRoleAssignments ??= {});

/**
 * .NET Guid byte order (the first three groups little-endian). Graph's grant ids are the
 * base64url of the client, resource (and, for Principal grants, the user) ids in this order, so
 * re-creating a deleted grant gets its old id back [INFERRED from the ids the docs show: 43
 * characters, i.e. 32 bytes, for an AllPrincipals grant].
 */
function guidBytes(guid: string): Buffer {
  const hex = guid.replace(/-/g, '');
  const b = Buffer.from(hex, 'hex');
  const swap = (start: number, len: number) => b.subarray(start, start + len).reverse();
  swap(0, 4);
  swap(4, 2);
  swap(6, 2);
  return b;
}

function grantId(clientId: string, resourceId: string, principalId: string | null): string {
  const parts = [guidBytes(clientId), guidBytes(resourceId), ...(principalId ? [guidBytes(principalId)] : [])];
  return Buffer.concat(parts).toString('base64url');
}

function liveServicePrincipal(state: TenantState, id: unknown, property: string): StoredObject {
  if (typeof id !== 'string' || !GUID_RE.test(id)) throw GraphErrors.invalidValue(property);
  const obj = state.objects[id.toLowerCase()];
  if (!obj || obj.deletedDateTime || ENTITY_SET_OF[obj.type] !== 'servicePrincipals') throw GraphErrors.notFound(id);
  return obj;
}

function grantView(g: OAuth2PermissionGrant): Record<string, unknown> {
  return { clientId: g.clientId, consentType: g.consentType, id: g.id, principalId: g.principalId, resourceId: g.resourceId, scope: g.scope };
}

// ---------------------------------------------------------------------------------------------
// /oauth2PermissionGrants

export async function oauth2PermissionGrantsRoute(ctx: MockContext): Promise<MockResult> {
  const { path, method } = ctx;
  if (path.cast) throw GraphErrors.unknownSegment(`microsoft.graph.${path.cast}`);
  if (!path.key) {
    if (path.rest.length) throw GraphErrors.unknownSegment(path.rest[0]!);
    if (method === 'GET') {
      return ctx.store.read((s) => collectionResponse(ctx, Object.values(grantsOf(s)).map(grantView), GRANT_SPEC, 'oauth2PermissionGrants'));
    }
    if (method === 'POST') return createGrant(ctx);
    throw GraphErrors.methodNotAllowed();
  }
  if (path.rest.length) throw GraphErrors.unknownSegment(path.rest[0]!);
  const id = path.key.value;
  const find = (s: TenantState) => {
    const g = grantsOf(s)[id];
    if (!g) throw GraphErrors.notFound(id);
    return g;
  };
  if (method === 'GET') {
    return ctx.store.read((s) => ok({ '@odata.context': contextUrl(ctx, 'oauth2PermissionGrants/$entity'), ...grantView(find(s)) }));
  }
  if (method === 'PATCH') {
    // GD oauth2permissiongrant-update.md: only `scope` changes; the rest identifies the grant.
    const body = await ctx.json();
    for (const k of Object.keys(body)) {
      if (k.toLowerCase() !== 'scope' && !k.startsWith('@odata.')) throw GraphErrors.immutableProperty(k);
    }
    const scope = prop(body, 'scope');
    if (typeof scope !== 'string') throw GraphErrors.invalidValue('scope');
    await ctx.store.write((s) => {
      find(s).scope = scope;
    });
    return noContent();
  }
  if (method === 'DELETE') {
    await ctx.store.write((s) => {
      find(s);
      delete grantsOf(s)[id];
    });
    return noContent();
  }
  throw GraphErrors.methodNotAllowed();
}

async function createGrant(ctx: MockContext): Promise<MockResult> {
  const body = await ctx.json();
  const clientId = requireString(body, 'clientId', 'oAuth2PermissionGrant').toLowerCase();
  const resourceId = requireString(body, 'resourceId', 'oAuth2PermissionGrant').toLowerCase();
  const consentType = requireString(body, 'consentType', 'oAuth2PermissionGrant');
  if (consentType !== 'AllPrincipals' && consentType !== 'Principal') throw GraphErrors.invalidValue('consentType');
  const rawPrincipal = prop(body, 'principalId');
  // A Principal grant names the user it is for; an AllPrincipals grant must not (GD resources/oauth2permissiongrant.md).
  if (consentType === 'Principal' && (typeof rawPrincipal !== 'string' || !GUID_RE.test(rawPrincipal))) throw GraphErrors.missingProperty('principalId', 'oAuth2PermissionGrant');
  if (consentType === 'AllPrincipals' && rawPrincipal !== undefined && rawPrincipal !== null) throw GraphErrors.invalidValue('principalId');
  const principalId = consentType === 'Principal' ? String(rawPrincipal).toLowerCase() : null;
  const scope = prop(body, 'scope') ?? '';
  if (typeof scope !== 'string') throw GraphErrors.invalidValue('scope');
  const grant = await ctx.store.write((s) => {
    liveServicePrincipal(s, clientId, 'clientId');
    liveServicePrincipal(s, resourceId, 'resourceId');
    if (principalId) {
      const user = s.objects[principalId];
      if (!user || user.deletedDateTime || ENTITY_SET_OF[user.type] !== 'users') throw GraphErrors.notFound(principalId);
    }
    const id = grantId(clientId, resourceId, principalId);
    if (grantsOf(s)[id]) throw GraphErrors.grantExists();
    const g: OAuth2PermissionGrant = { id, clientId, consentType, principalId, resourceId, scope };
    grantsOf(s)[id] = g;
    return g;
  });
  return created({ '@odata.context': contextUrl(ctx, 'oauth2PermissionGrants/$entity'), ...grantView(grant) });
}

/** GET /servicePrincipals/{id}/oauth2PermissionGrants: the grants whose client is this principal. */
export async function principalGrantsRoute(ctx: MockContext, target: (s: TenantState) => StoredObject, rest: string[]): Promise<MockResult> {
  if (rest.length) throw GraphErrors.unknownSegment(rest[0]!);
  if (ctx.method !== 'GET') throw GraphErrors.methodNotAllowed();
  return ctx.store.read((s) => {
    const sp = target(s);
    const items = Object.values(grantsOf(s)).filter((g) => g.clientId === sp.id).map(grantView);
    return collectionResponse(ctx, items, GRANT_SPEC, 'oauth2PermissionGrants');
  });
}

// ---------------------------------------------------------------------------------------------
// /servicePrincipals/{id}/appRoleAssignments and /appRoleAssignedTo

function assignmentView(s: TenantState, a: AppRoleAssignment): Record<string, unknown> {
  const principal = s.objects[a.principalId];
  const resource = s.objects[a.resourceId];
  return {
    id: a.id,
    deletedDateTime: null,
    appRoleId: a.appRoleId,
    createdDateTime: a.createdDateTime,
    principalDisplayName: (principal?.props.displayName as string | undefined) ?? null,
    principalId: a.principalId,
    principalType: a.principalType,
    resourceDisplayName: (resource?.props.displayName as string | undefined) ?? null,
    resourceId: a.resourceId,
  };
}

/**
 * `side` is which end of the assignment the URL's principal is: `appRoleAssignments` lists what
 * it was granted (it is the principal), `appRoleAssignedTo` what it granted (it is the resource).
 */
export async function appRoleAssignmentsRoute(
  ctx: MockContext,
  target: (s: TenantState) => StoredObject,
  side: 'appRoleAssignments' | 'appRoleAssignedTo',
  rest: string[],
): Promise<MockResult> {
  const { method } = ctx;
  const mine = (s: TenantState, sp: StoredObject) =>
    Object.values(assignmentsOf(s)).filter((a) => (side === 'appRoleAssignments' ? a.principalId : a.resourceId) === sp.id);
  if (rest.length === 0) {
    if (method === 'GET') {
      return ctx.store.read((s) => {
        const sp = target(s);
        return collectionResponse(ctx, mine(s, sp).map((a) => assignmentView(s, a)), ASSIGNMENT_SPEC, `servicePrincipals('${sp.id}')/${side}`);
      });
    }
    if (method === 'POST') return createAssignment(ctx, target, side);
    throw GraphErrors.methodNotAllowed();
  }
  if (rest.length > 1) throw GraphErrors.unknownSegment(rest[1]!);
  const assignmentId = rest[0]!;
  const find = (s: TenantState) => {
    const sp = target(s);
    const a = mine(s, sp).find((x) => x.id === assignmentId);
    if (!a) throw GraphErrors.notFound(assignmentId);
    return { sp, a };
  };
  if (method === 'GET') {
    return ctx.store.read((s) => {
      const { sp, a } = find(s);
      return ok({ '@odata.context': contextUrl(ctx, `servicePrincipals('${sp.id}')/${side}/$entity`), ...assignmentView(s, a) });
    });
  }
  if (method === 'DELETE') {
    await ctx.store.write((s) => {
      const { a } = find(s);
      delete assignmentsOf(s)[a.id];
    });
    return noContent();
  }
  throw GraphErrors.methodNotAllowed();
}

const DEFAULT_ACCESS_ROLE = '00000000-0000-0000-0000-000000000000';

async function createAssignment(ctx: MockContext, target: (s: TenantState) => StoredObject, side: 'appRoleAssignments' | 'appRoleAssignedTo'): Promise<MockResult> {
  const body = await ctx.json();
  const principalIdRaw = requireString(body, 'principalId', 'appRoleAssignment');
  const resourceIdRaw = requireString(body, 'resourceId', 'appRoleAssignment');
  const appRoleIdRaw = requireString(body, 'appRoleId', 'appRoleAssignment');
  if (!GUID_RE.test(appRoleIdRaw)) throw GraphErrors.invalidValue('appRoleId');
  const appRoleId = appRoleIdRaw.toLowerCase();
  const result = await ctx.store.write((s) => {
    const sp = target(s);
    const principal = liveServicePrincipal(s, principalIdRaw, 'principalId');
    const resource = liveServicePrincipal(s, resourceIdRaw, 'resourceId');
    // The URL's principal must be the body's principal (appRoleAssignments) or resource (appRoleAssignedTo).
    if ((side === 'appRoleAssignments' ? principal.id : resource.id) !== sp.id) throw GraphErrors.assignmentPrincipalMismatch();
    // GD serviceprincipal-post-approleassignments.md: the role must be one the resource declares;
    // the all-zero id is the default access role of a resource that declares none.
    const roles = (resource.props.appRoles as { id: string }[] | undefined) ?? [];
    const known = roles.some((r) => r.id.toLowerCase() === appRoleId) || (roles.length === 0 && appRoleId === DEFAULT_ACCESS_ROLE);
    if (!known) throw GraphErrors.appRoleNotFound(resource.id);
    const all = assignmentsOf(s);
    if (Object.values(all).some((a) => a.principalId === principal.id && a.resourceId === resource.id && a.appRoleId === appRoleId)) {
      throw GraphErrors.appRoleAssignmentExists();
    }
    // [INFERRED] ids are 32 bytes of base64url that start with the principal's id.
    const id = Buffer.concat([guidBytes(principal.id), guidBytes(ctx.newId())]).toString('base64url');
    const a: AppRoleAssignment = { id, appRoleId, createdDateTime: ctx.now.toISOString(), principalId: principal.id, principalType: 'ServicePrincipal', resourceId: resource.id };
    all[id] = a;
    return { sp, view: assignmentView(s, a) };
  });
  return created({ '@odata.context': contextUrl(ctx, `servicePrincipals('${result.sp.id}')/${side}/$entity`), ...result.view });
}
