import { GraphErrors } from '../errors.js';
import { created, noContent, ok, type MockContext, type MockResult } from '../context.js';
import { view } from '../entities.js';
import { ENTITY_SET_OF, isA, type EntityType, type StoredObject, type TenantState } from '../state.js';
import { GUID_RE } from '../path.js';
import { selectProperties, type CollectionSpec } from '../odata.js';
import {
  assignWritable,
  bindIds,
  bodyType,
  checkOwner,
  checkSponsor,
  checkSponsorLimits,
  collectionResponse,
  countResponse,
  declaredTypeName,
  entityContext,
  findInSet,
  liveObjects,
  newPasswordCredential,
  softDelete,
  prop,
  relationshipRoute,
  requireString,
} from './common.js';
import { AGENT_ID_ADMINISTRATOR_ROLE, AGENTID_CLIENT_APP_ID } from '../seed.js';
import { appRoleAssignmentsRoute, principalGrantsRoute } from './grants.js';
import { withSelectedKeys } from '../keyCredentials.js';
import { assignAttributes } from '../customSecurityAttributes.js';

// /servicePrincipals: agent identity blueprint principals (GD v1.0 agentidentityblueprintprincipal-*.md),
// agent identities (GD v1.0 agentidentity-*.md) and the plain service principals they derive from.
// The three are told apart by the stored type; a cast segment that the object does not satisfy
// is a 404 (findInSet), as Graph answers for a cast on an object of another type.

const SP_FILTERABLE: CollectionSpec['filterable'] = {
  id: ['eq', 'in', 'ne'],
  appId: ['eq', 'in', 'ne', 'startsWith'],
  appDisplayName: ['eq', 'startsWith'],
  appOwnerOrganizationId: ['eq', 'in', 'ne'],
  displayName: ['eq', 'ne', 'in', 'startsWith', 'endsWith'],
  accountEnabled: ['eq', 'ne', 'in'],
  servicePrincipalType: ['eq', 'ne', 'in'],
  servicePrincipalNames: ['any'],
  // Filterability is not stated on the resource page [UNCONFIRMED]; A365 and community scripts
  // list a blueprint's identities with `agentIdentityBlueprintId eq '{appId}'`.
  agentIdentityBlueprintId: ['eq', 'in', 'ne'],
  createdDateTime: ['eq', 'ge', 'le', 'gt', 'lt'],
  createdByAppId: ['eq'],
  tags: ['any'],
};

/** Plain /servicePrincipals: default page 100, $top up to 999 (GD serviceprincipal-list.md). */
export const SERVICE_PRINCIPAL_SPEC: CollectionSpec = {
  resource: 'servicePrincipal',
  filterable: SP_FILTERABLE,
  searchable: ['displayName', 'description', 'appDisplayName'],
  orderable: ['displayName', 'createdDateTime'],
  defaultPageSize: 100,
  maxPageSize: 999,
  topLimit: 999,
  advanced: true,
};

// The agent casts: "default and maximum page size 100" (GD agentidentity-list.md,
// agentidentityblueprintprincipal-list.md).
const AGENT_IDENTITY_SPEC: CollectionSpec = { ...SERVICE_PRINCIPAL_SPEC, resource: 'agentIdentity', maxPageSize: 100 };
const BLUEPRINT_PRINCIPAL_SPEC: CollectionSpec = { ...SERVICE_PRINCIPAL_SPEC, resource: 'agentIdentityBlueprintPrincipal', maxPageSize: 100 };

function specFor(cast: EntityType | undefined): CollectionSpec {
  if (cast === 'agentIdentity') return AGENT_IDENTITY_SPEC;
  if (cast === 'agentIdentityBlueprintPrincipal') return BLUEPRINT_PRINCIPAL_SPEC;
  return SERVICE_PRINCIPAL_SPEC;
}

/** Writable servicePrincipal properties (GD v1.0 serviceprincipal-update.md), as far as the emulator stores them. */
const SP_WRITABLE = [
  'accountEnabled',
  'alternativeNames',
  'appRoleAssignmentRequired',
  'appRoles',
  'description',
  'displayName',
  'homepage',
  'info',
  'keyCredentials',
  'loginUrl',
  'logoutUrl',
  'notes',
  'notificationEmailAddresses',
  'oauth2PermissionScopes',
  'preferredSingleSignOnMode',
  'replyUrls',
  'servicePrincipalNames',
  'tags',
  'tokenEncryptionKeyId',
] as const;

/** What agentIdentity exposes for writing (GD v1.0 resources/agentidentity.md, agentidentity-update.md). */
const AGENT_IDENTITY_WRITABLE = ['accountEnabled', 'displayName', 'tags'] as const;

/** Every servicePrincipal property name: the ones not on agentIdentity are "incompatible" there. */
const SP_PROPERTY_NAMES = new Set(
  [
    ...SP_WRITABLE,
    'addIns',
    'appDescription',
    'appDisplayName',
    'appId',
    'applicationTemplateId',
    'appOwnerOrganizationId',
    'customSecurityAttributes',
    'disabledByMicrosoftStatus',
    'passwordCredentials',
    'preferredTokenSigningKeyThumbprint',
    'publisherName',
    'resourceSpecificApplicationPermissions',
    'samlSingleSignOnSettings',
    'servicePrincipalType',
    'signInAudience',
    'verifiedPublisher',
  ].map((p) => p.toLowerCase()),
);
const CREDENTIAL_PROPERTIES = new Set(['passwordcredentials', 'keycredentials']);

export async function servicePrincipalsRoute(ctx: MockContext): Promise<MockResult> {
  const { path } = ctx;
  if (path.cast && !isA(path.cast, 'servicePrincipal')) throw GraphErrors.castMismatch(`microsoft.graph.${path.cast}`);
  if (!path.key) return collectionRoute(ctx);
  const key = path.key;
  const cast = path.cast;
  const target = (state: TenantState) => findInSet(state, 'servicePrincipals', key, cast);
  const [seg, ...rest] = path.rest;
  if (seg === undefined) return itemRoute(ctx, target);
  switch (seg.toLowerCase()) {
    case 'owners':
      return relationshipRoute(ctx, target, 'owners', rest);
    case 'sponsors': {
      // Sponsors exist on the two agent types only (MD v1.0 CSDL: agentIdentity/sponsors,
      // agentIdentityBlueprintPrincipal/sponsors). An agent identity keeps at least one
      // (GD agentidentity-delete-sponsors.md); a blueprint principal was created without any
      // (ED agent-owners-sponsors-managers.md) so it has no minimum.
      const type = await ctx.store.read((s) => target(s).type);
      if (type !== 'agentIdentity' && type !== 'agentIdentityBlueprintPrincipal') throw GraphErrors.unknownSegment(seg);
      return relationshipRoute(ctx, target, 'sponsors', rest, type === 'agentIdentity' ? { minSponsors: 1 } : {});
    }
    // Issue #4: grants and app role assignments of agents and blueprint principals (grants.ts).
    case 'oauth2permissiongrants':
      return principalGrantsRoute(ctx, target, rest);
    case 'approleassignments':
      return appRoleAssignmentsRoute(ctx, target, 'appRoleAssignments', rest);
    case 'approleassignedto':
      return appRoleAssignmentsRoute(ctx, target, 'appRoleAssignedTo', rest);
    case 'addpassword':
      return addPassword(ctx, target, rest);
    case 'removepassword':
      return removePassword(ctx, target, rest);
    case 'addkey':
    case 'removekey':
      // Only the agent-identity refusal is emulated; key rollover with a proof JWT is not.
      return credentialsOnlyRefused(ctx, target, seg, rest);
    default:
      throw GraphErrors.unknownSegment(seg);
  }
}

// ---------------------------------------------------------------------------------------------
// rendering

/** The JSON of a service principal; an agent identity's tags are the union of its own and its
 * blueprint's (GD v1.0 resources/agentidentity.md, `tags`). */
function spView(state: TenantState, obj: StoredObject, ctx: MockContext, apps?: Map<string, StoredObject>): Record<string, unknown> {
  const out = view(obj, ctx.version);
  if (obj.type === 'agentIdentity') {
    const appId = String(obj.props.agentIdentityBlueprintId ?? '');
    const blueprint = apps ? apps.get(appId.toLowerCase()) : findApplication(state, appId, true);
    const own = (out.tags as string[] | undefined) ?? [];
    const inherited = (blueprint?.props.tags as string[] | undefined) ?? [];
    out.tags = [...new Set([...own, ...inherited])];
  }
  return out;
}

function entityResult(ctx: MockContext, state: TenantState, obj: StoredObject, cast: EntityType | undefined): MockResult {
  const raw = ctx.url.searchParams.get('$select');
  const select = raw ? raw.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  let body = spView(state, obj, ctx);
  // customSecurityAttributes come back only when selected (GD v1.0 resources/agentidentity.md,
  // serviceprincipal-get.md "Get the custom security attributes"): {} when none is assigned.
  if (select?.some((p) => p.toLowerCase() === 'customsecurityattributes')) body.customSecurityAttributes = JSON.parse(JSON.stringify(obj.props.customSecurityAttributes ?? {}));
  if (select) body = selectProperties(body, select);
  return ok({ '@odata.context': entityContext(ctx, 'servicePrincipals', cast, select), ...body });
}

function findApplication(state: TenantState, appId: string, includeDeleted = false): StoredObject | undefined {
  const wanted = appId.toLowerCase();
  return Object.values(state.objects).find(
    (o) => ENTITY_SET_OF[o.type] === 'applications' && (includeDeleted || !o.deletedDateTime) && String(o.props.appId ?? '').toLowerCase() === wanted,
  );
}

function findLivePrincipal(state: TenantState, appId: string): StoredObject | undefined {
  const wanted = appId.toLowerCase();
  return liveObjects(state).find((o) => ENTITY_SET_OF[o.type] === 'servicePrincipals' && String(o.props.appId ?? '').toLowerCase() === wanted);
}

// ---------------------------------------------------------------------------------------------
// collection

async function collectionRoute(ctx: MockContext): Promise<MockResult> {
  const { path, method } = ctx;
  const cast = path.cast;
  const spec = specFor(cast);
  const [seg] = path.rest;
  const members = (state: TenantState) => {
    // Applications by appId, once per listing: looking each agent's blueprint up by scanning
    // made a page of a 5,000-agent tenant cost seconds (issue #4's bulk runs list them all).
    const apps = new Map<string, StoredObject>();
    for (const o of Object.values(state.objects)) if (ENTITY_SET_OF[o.type] === 'applications') apps.set(String(o.props.appId ?? '').toLowerCase(), o);
    return liveObjects(state)
      .filter((o) => ENTITY_SET_OF[o.type] === 'servicePrincipals' && (!cast || isA(o.type, cast)))
      .map((o) => spView(state, o, ctx, apps));
  };
  if (seg?.toLowerCase() === '$count') {
    if (method !== 'GET') throw GraphErrors.methodNotAllowed();
    return ctx.store.read((s) => countResponse(ctx, members(s), spec));
  }
  if (seg !== undefined) throw GraphErrors.unknownSegment(seg);
  if (method === 'GET') {
    const fragment = cast ? `servicePrincipals/microsoft.graph.${cast}` : 'servicePrincipals';
    // customSecurityAttributes only when selected, as on a single object (entityResult): a list
    // of agents with their attributes in one page (GD serviceprincipal-list.md, custom security
    // attribute examples, $select=id,displayName,customSecurityAttributes).
    const withAttributes = (ctx.url.searchParams.get('$select') ?? '').split(',').some((p) => p.trim().toLowerCase() === 'customsecurityattributes');
    const rows = (s: TenantState) => {
      const list = members(s);
      if (!withAttributes) return list;
      const byId = new Map(liveObjects(s).map((o) => [o.id, o]));
      return list.map((r) => ({ ...r, customSecurityAttributes: JSON.parse(JSON.stringify(byId.get(String(r.id))?.props.customSecurityAttributes ?? {})) as unknown }));
    };
    return ctx.store.read((s) => collectionResponse(ctx, rows(s), spec, fragment));
  }
  if (method === 'POST') return create(ctx);
  throw GraphErrors.methodNotAllowed();
}

const DECLARABLE: Record<string, EntityType> = {
  serviceprincipal: 'servicePrincipal',
  agentidentityblueprintprincipal: 'agentIdentityBlueprintPrincipal',
  agentidentity: 'agentIdentity',
};

async function create(ctx: MockContext): Promise<MockResult> {
  const body = await ctx.json();
  // `"@odata.type": "Microsoft.Graph.AgentIdentity"` on plain POST /servicePrincipals is the
  // entra-docs / Agent 365 CLI form; bodyType() insists on OData-Version: 4.0 with it.
  const declaredRaw = bodyType(ctx, body);
  const declared = declaredRaw === undefined ? undefined : DECLARABLE[declaredRaw];
  if (declaredRaw !== undefined && !declared) throw GraphErrors.castMismatch(String(body['@odata.type']));
  const cast = ctx.path.cast;
  let requested: EntityType | undefined = cast;
  if (declared && declared !== 'servicePrincipal') {
    if (cast && cast !== 'servicePrincipal' && cast !== declared) throw GraphErrors.castMismatch(String(body['@odata.type']));
    requested = declared;
  }
  if (requested === 'agentIdentity') {
    const rendered = await ctx.store.write((state) => spView(state, createAgentIdentity(ctx, state, body), ctx));
    // GD v1.0 agentidentity-post.md: the context is the plain entity set even on the cast URL.
    return created({ '@odata.context': entityContext(ctx, 'servicePrincipals', undefined), ...rendered });
  }
  const rendered = await ctx.store.write((state) => spView(state, createPrincipal(ctx, state, body, requested), ctx));
  // GD v1.0 agentidentityblueprintprincipal-post.md: the cast URL echoes the cast in its context;
  // the `@odata.type` and plain forms answer as a plain servicePrincipals entity [INFERRED].
  const castInContext = cast === 'agentIdentityBlueprintPrincipal' ? cast : undefined;
  return created({ '@odata.context': entityContext(ctx, 'servicePrincipals', castInContext), ...rendered });
}

function creatorAppId(ctx: MockContext): string {
  return ctx.caller.kind === 'app' ? ctx.caller.appId : AGENTID_CLIENT_APP_ID;
}

/**
 * POST /servicePrincipals {appId}: a blueprint's appId yields its agentIdentityBlueprintPrincipal
 * (the Agent 365 CLI creates it this way, without any cast); any other application's appId
 * yields a plain service principal, unless the request asked for a blueprint principal.
 */
function createPrincipal(ctx: MockContext, state: TenantState, body: Record<string, unknown>, requested: EntityType | undefined): StoredObject {
  const resource = requested ?? 'servicePrincipal';
  const appIdRaw = requireString(body, 'appId', resource);
  // [INFERRED] an appId with no application at all fails the way it does for any service
  // principal; only an existing non-blueprint application gets the agent-specific code.
  const app = findApplication(state, appIdRaw);
  if (!app) throw GraphErrors.noBackingApplication(appIdRaw);
  const isBlueprint = app.type === 'agentIdentityBlueprint';
  if (requested === 'agentIdentityBlueprintPrincipal' && !isBlueprint) throw GraphErrors.agentBlueprintPrincipalRequireBlueprint();
  const type: EntityType = isBlueprint ? 'agentIdentityBlueprintPrincipal' : 'servicePrincipal';
  const appId = String(app.props.appId);
  if (findLivePrincipal(state, appId)) throw GraphErrors.servicePrincipalNameInUse(appId);

  // servicePrincipalNames are blocked on blueprint principals (GD v1.0 resources/agentidentityblueprintprincipal.md).
  if (isBlueprint && prop(body, 'servicePrincipalNames') !== undefined) throw GraphErrors.agentBlueprintPrincipalIncompatibleProperty('servicePrincipalNames');
  if (prop(body, 'passwordCredentials') !== undefined) throw GraphErrors.readOnlyProperty('passwordCredentials');
  const sponsors = bindIds(body, 'sponsors');
  if (!isBlueprint && sponsors.length) throw GraphErrors.unknownProperty('sponsors', 'microsoft.graph.servicePrincipal');
  const owners = bindIds(body, 'owners');
  for (const s of sponsors) checkSponsor(state, s);
  checkSponsorLimits(state, sponsors);
  for (const o of owners) checkOwner(state, o);
  const written: Record<string, unknown> = {};
  const rest = Object.fromEntries(Object.entries(body).filter(([k]) => k.toLowerCase() !== 'appid'));
  assignWritable(written, rest, SP_WRITABLE, type);
  checkCommonValues(written);

  const identifierUris = (app.props.identifierUris as string[] | undefined) ?? [];
  const api = (app.props.api as { oauth2PermissionScopes?: unknown[] } | undefined) ?? {};
  const props: Record<string, unknown> = {
    accountEnabled: true,
    appDescription: app.props.description ?? null,
    appDisplayName: app.props.displayName ?? null,
    appId,
    appOwnerOrganizationId: state.tenant.id,
    appRoleAssignmentRequired: false,
    appRoles: app.props.appRoles ?? [],
    createdByAppId: creatorAppId(ctx),
    createdDateTime: ctx.now.toISOString(),
    displayName: app.props.displayName ?? null,
    // The blueprint's info, which Graph answers as an object of nulls when unset (GD beta
    // agentidentityblueprintprincipal-post.md, -get.md).
    info: app.props.info ?? { logoUrl: null, marketingUrl: null, privacyStatementUrl: null, supportUrl: null, termsOfServiceUrl: null },
    oauth2PermissionScopes: api.oauth2PermissionScopes ?? [],
    publisherName: state.tenant.displayName,
    // Graph seeds the names from the appId and the app's identifierUris [INFERRED for identifierUris;
    // the create example shows [appId] for a blueprint that has none yet].
    servicePrincipalNames: [appId, ...identifierUris],
    servicePrincipalType: 'Application',
    signInAudience: app.props.signInAudience ?? 'AzureADMyOrg',
    tags: [],
    verifiedPublisher: app.props.verifiedPublisher ?? null,
    ...written,
  };
  // "A principal who creates an agent identity blueprint or blueprint principal is automatically
  // assigned as the owner" (GD agentidentity-post-sponsors.md; agentidentityblueprintprincipal-post.md note).
  const creator = ctx.caller.kind === 'user' ? ctx.caller.userId : ctx.caller.servicePrincipalId;
  const allOwners = [...new Set([...(isBlueprint && creator ? [creator] : []), ...owners])];
  const id = ctx.newId();
  const obj: StoredObject = { id, type, props, owners: allOwners, ...(isBlueprint ? { sponsors: [...new Set(sponsors)] } : {}) };
  state.objects[id] = obj;
  return obj;
}

function isAgentIdAdministrator(state: TenantState, principalId: string): boolean {
  return state.roleAssignments.some((r) => r.principalId === principalId && r.roleTemplateId === AGENT_ID_ADMINISTRATOR_ROLE);
}

/** Properties an agent identity accepts: its own, credentials refused, other servicePrincipal ones incompatible. */
function checkAgentIdentityProperties(body: Record<string, unknown>, allowed: readonly string[], immutable: readonly string[]): void {
  const ok = new Set(allowed.map((a) => a.toLowerCase()));
  for (const k of Object.keys(body)) {
    if (k.includes('@odata.')) continue;
    const lower = k.toLowerCase();
    if (immutable.some((i) => i.toLowerCase() === lower)) throw GraphErrors.immutableProperty(k);
    if (ok.has(lower)) continue;
    if (CREDENTIAL_PROPERTIES.has(lower)) throw GraphErrors.agentIdentityCredentialsNotSupported();
    if (SP_PROPERTY_NAMES.has(lower)) throw GraphErrors.agentIdentityIncompatibleProperty(k);
    throw GraphErrors.unknownProperty(k, 'microsoft.graph.agentIdentity');
  }
}

function createAgentIdentity(ctx: MockContext, state: TenantState, body: Record<string, unknown>): StoredObject {
  checkAgentIdentityProperties(body, [...AGENT_IDENTITY_WRITABLE, 'agentIdentityBlueprintId'], []);
  const displayName = requireString(body, 'displayName', 'agentIdentity', 256);
  // [DOC-CONFLICT] agentidentity-post.md's prose says agentIdentityBlueprintAppId; its example and
  // the CSDL use agentIdentityBlueprintId, which is what we accept.
  const blueprintAppId = requireString(body, 'agentIdentityBlueprintId', 'agentIdentity');

  // Who may create (ED docs/agent-id/error-codes.md, "Agent identity creation errors"). Whether
  // the caller holds a permission at all is the permission table's job (issue #3).
  const caller = ctx.caller;
  if (caller.kind === 'app') {
    const callerSp = caller.servicePrincipalId ? state.objects[caller.servicePrincipalId] : undefined;
    if (callerSp?.type === 'agentIdentity' || state.objects[caller.appId.toLowerCase()]?.type === 'agentIdentity') {
      throw GraphErrors.agentIdentitiesCreatingAgentIdentitiesNotAllowed();
    }
    const callerApp = findApplication(state, caller.appId);
    if (callerApp?.type === 'agentIdentityBlueprint' && caller.appId.toLowerCase() !== blueprintAppId.toLowerCase()) {
      throw GraphErrors.agentBlueprintCannotCreateAssociatedIdentity();
    }
  }

  const app = findApplication(state, blueprintAppId);
  if (!app) throw GraphErrors.agentBlueprintPrincipalDoesNotExist();
  if (app.type !== 'agentIdentityBlueprint') throw GraphErrors.agentIdentityIncompatibleParentType();
  const appId = String(app.props.appId);
  if (!findLivePrincipal(state, appId)) throw GraphErrors.agentBlueprintPrincipalDoesNotExist();

  // Sponsors (ED agent-owners-sponsors-managers.md, "Assignment policies"): a delegated caller
  // becomes the sponsor when none is named, unless they hold an Agent ID admin role; app-only
  // callers must name one. [INFERRED] "Agent ID admin roles" = Agent ID Administrator.
  let sponsors = bindIds(body, 'sponsors');
  if (sponsors.length === 0) {
    if (caller.kind === 'user' && !isAgentIdAdministrator(state, caller.userId)) sponsors = [caller.userId];
    else throw GraphErrors.sponsorRequired();
  }
  for (const s of sponsors) checkSponsor(state, s);
  checkSponsorLimits(state, sponsors);
  const owners = bindIds(body, 'owners');
  for (const o of owners) checkOwner(state, o);

  const written: Record<string, unknown> = {};
  assignWritable(written, Object.fromEntries(Object.entries(body).filter(([k]) => !['displayname', 'agentidentityblueprintid'].includes(k.toLowerCase()))), AGENT_IDENTITY_WRITABLE, 'agentIdentity');
  checkCommonValues(written);
  const id = ctx.newId();
  const obj: StoredObject = {
    id,
    type: 'agentIdentity',
    props: {
      accountEnabled: true,
      tags: [],
      ...written,
      agentIdentityBlueprintId: appId,
      createdByAppId: creatorAppId(ctx),
      createdDateTime: ctx.now.toISOString(),
      disabledByMicrosoftStatus: null,
      displayName,
      servicePrincipalType: 'ServiceIdentity',
    },
    owners: [...new Set(owners)],
    sponsors: [...new Set(sponsors)],
  };
  state.objects[id] = obj;
  return obj;
}

/** Type checks Graph applies to the few properties the emulator reasons about. */
function checkCommonValues(props: Record<string, unknown>): void {
  if ('accountEnabled' in props && typeof props.accountEnabled !== 'boolean') throw GraphErrors.invalidValue('accountEnabled');
  if ('displayName' in props) {
    const d = props.displayName;
    if (typeof d !== 'string' || d.length === 0 || d.length > 256) throw GraphErrors.invalidValue('displayName');
  }
  if ('tags' in props && (!Array.isArray(props.tags) || props.tags.some((t) => typeof t !== 'string'))) throw GraphErrors.invalidValue('tags');
  if ('servicePrincipalNames' in props && (!Array.isArray(props.servicePrincipalNames) || props.servicePrincipalNames.some((t) => typeof t !== 'string'))) {
    throw GraphErrors.invalidValue('servicePrincipalNames');
  }
}

// ---------------------------------------------------------------------------------------------
// item

async function itemRoute(ctx: MockContext, target: (s: TenantState) => StoredObject): Promise<MockResult> {
  const { method, path } = ctx;
  if (method === 'GET') {
    // keyCredentials[].key only on this single-object GET with $select (GD v1.0 resources/keycredential.md).
    return ctx.store.read((s) => {
      const obj = target(s);
      return withSelectedKeys(ctx, obj, entityResult(ctx, s, obj, path.cast));
    });
  }
  if (method === 'PATCH') {
    const body = await ctx.json();
    // GD-rendered serviceprincipal-update: an agent identity may be PATCHed on the plain URL with
    // "@odata.type": "#microsoft.graph.agentIdentity"; a type the object isn't is refused. As on
    // /users, the update examples send it without OData-Version, so PATCH doesn't require it.
    const declaredRaw = declaredTypeName(body);
    const declared = declaredRaw === undefined ? undefined : DECLARABLE[declaredRaw];
    if (declaredRaw !== undefined && !declared) throw GraphErrors.castMismatch(String(body['@odata.type']));
    await ctx.store.write((state) => {
      const obj = target(state);
      if (declared && !isA(obj.type, declared)) throw GraphErrors.castMismatch(String(body['@odata.type']));
      const next = { ...obj.props };
      if (obj.type === 'agentIdentity') {
        // agentIdentityBlueprintId is annotated Immutable in the v1.0 CSDL.
        const { customSecurityAttributes: csa, ...rest } = body;
        checkAgentIdentityProperties(rest, AGENT_IDENTITY_WRITABLE, ['agentIdentityBlueprintId', 'id']);
        assignWritable(next, rest, AGENT_IDENTITY_WRITABLE, obj.type);
        // #13: attribute assignment, validated against the tenant's definitions (customSecurityAttributes.ts).
        if (csa !== undefined) next.customSecurityAttributes = assignAttributes(state, obj.props.customSecurityAttributes, csa);
      } else {
        if (prop(body, 'passwordCredentials') !== undefined) throw GraphErrors.readOnlyProperty('passwordCredentials');
        if (obj.type === 'agentIdentityBlueprintPrincipal' && prop(body, 'servicePrincipalNames') !== undefined) {
          throw GraphErrors.agentBlueprintPrincipalIncompatibleProperty('servicePrincipalNames');
        }
        assignWritable(next, body, SP_WRITABLE, obj.type, ['appId', 'id']);
      }
      checkCommonValues(next);
      obj.props = next;
    });
    return noContent();
  }
  if (method === 'DELETE') {
    // Soft delete, restorable for 30 days from /directory/deletedItems. Deleting a blueprint
    // principal soft-deletes its agent identities in a background job about 24 h later (ED
    // concept-agent-identity-deletion.md), so they stay in place here, as right after the delete.
    return softDelete(ctx, target);
  }
  throw GraphErrors.methodNotAllowed();
}

// ---------------------------------------------------------------------------------------------
// credentials (GD v1.0 serviceprincipal-addpassword.md / -removepassword.md). Agent identities
// hold none: "All credentials must be added to the agent identity blueprint" (ED error-codes.md).

function refuseAgentIdentity(obj: StoredObject): StoredObject {
  if (obj.type === 'agentIdentity') throw GraphErrors.agentIdentityCredentialsNotSupported();
  return obj;
}

async function addPassword(ctx: MockContext, target: (s: TenantState) => StoredObject, rest: string[]): Promise<MockResult> {
  if (rest.length) throw GraphErrors.unknownSegment(rest[0]!);
  if (ctx.method !== 'POST') throw GraphErrors.methodNotAllowed();
  await ctx.store.read((s) => refuseAgentIdentity(target(s)));
  const body = await ctx.json();
  const { stored, returned } = newPasswordCredential(ctx, body);
  await ctx.store.write((state) => {
    const obj = refuseAgentIdentity(target(state));
    obj.props.passwordCredentials = [...((obj.props.passwordCredentials as unknown[] | undefined) ?? []), stored];
  });
  return ok({ '@odata.context': `${ctx.serviceRoot}/$metadata#microsoft.graph.passwordCredential`, ...returned });
}

async function removePassword(ctx: MockContext, target: (s: TenantState) => StoredObject, rest: string[]): Promise<MockResult> {
  if (rest.length) throw GraphErrors.unknownSegment(rest[0]!);
  if (ctx.method !== 'POST') throw GraphErrors.methodNotAllowed();
  await ctx.store.read((s) => refuseAgentIdentity(target(s)));
  const body = await ctx.json();
  const keyId = prop(body, 'keyId');
  if (typeof keyId !== 'string' || !GUID_RE.test(keyId)) throw GraphErrors.missingProperty('keyId', 'passwordCredential');
  await ctx.store.write((state) => {
    const obj = refuseAgentIdentity(target(state));
    const list = (obj.props.passwordCredentials as { keyId: string }[] | undefined) ?? [];
    if (!list.some((c) => c.keyId.toLowerCase() === keyId.toLowerCase())) throw GraphErrors.notFound(keyId);
    obj.props.passwordCredentials = list.filter((c) => c.keyId.toLowerCase() !== keyId.toLowerCase());
  });
  return noContent();
}

async function credentialsOnlyRefused(ctx: MockContext, target: (s: TenantState) => StoredObject, seg: string, rest: string[]): Promise<MockResult> {
  if (rest.length) throw GraphErrors.unknownSegment(rest[0]!);
  if (ctx.method !== 'POST') throw GraphErrors.methodNotAllowed();
  await ctx.store.read((s) => refuseAgentIdentity(target(s)));
  throw GraphErrors.unknownSegment(seg);
}
