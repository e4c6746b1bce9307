import { randomBytes } from 'node:crypto';
import { GraphErrors } from '../errors.js';
import { contextUrl, noContent, type MockContext, type MockResult } from '../context.js';
import { GUID_RE, type Key } from '../path.js';
import { ENTITY_SET_OF, isA, type EntityType, type StoredObject, type TenantState } from '../state.js';
import { view } from '../entities.js';
import { applyQuery, encodeSkiptoken, parseQuery, selectProperties, type CollectionSpec } from '../odata.js';

// Building blocks every resource handler shares: finding objects by key and cast, rendering
// collections with Graph's query options and paging, and the $ref relationships (owners,
// sponsors) whose rules are the same on blueprints, principals, agent identities and users.

type SetName = 'applications' | 'servicePrincipals' | 'users' | 'groups';

export function liveObjects(state: TenantState): StoredObject[] {
  return Object.values(state.objects).filter((o) => !o.deletedDateTime);
}

/** Object by key within an entity set; a cast the object does not satisfy is a 404, as Graph answers. */
export function findInSet(state: TenantState, set: SetName, key: Key, cast?: EntityType): StoredObject {
  let obj: StoredObject | undefined;
  if (key.kind === 'id') {
    if (set === 'users' && key.value.includes('@')) {
      const upn = key.value.toLowerCase();
      obj = liveObjects(state).find((o) => ENTITY_SET_OF[o.type] === 'users' && String(o.props.userPrincipalName).toLowerCase() === upn);
    } else {
      if (!GUID_RE.test(key.value)) throw GraphErrors.invalidId(key.value);
      obj = state.objects[key.value.toLowerCase()] ?? state.objects[key.value];
    }
  } else if (key.kind === 'appId') {
    const appId = key.value.toLowerCase();
    obj = liveObjects(state).find((o) => ENTITY_SET_OF[o.type] === set && String(o.props.appId ?? '').toLowerCase() === appId);
  } else {
    obj = liveObjects(state).find((o) => ENTITY_SET_OF[o.type] === set && o.props.uniqueName === key.value);
  }
  if (!obj || obj.deletedDateTime || ENTITY_SET_OF[obj.type] !== set) throw GraphErrors.notFound(key.value);
  if (cast && !isA(obj.type, cast)) throw GraphErrors.notFound(key.value);
  return obj;
}

/** `{root}/$metadata#applications/microsoft.graph.agentIdentityBlueprint/$entity`, with $select. */
export function entityContext(ctx: MockContext, set: string, cast: EntityType | undefined, select?: string[]): string {
  const castPart = cast ? `/microsoft.graph.${cast}` : '';
  if (select?.length) return contextUrl(ctx, `${set}${castPart}(${select.join(',')})/$entity`);
  return contextUrl(ctx, `${set}${castPart}/$entity`);
}

/** A single entity response with $select applied (or the type's default property set). */
export function entityResponse(ctx: MockContext, obj: StoredObject, set: string, cast: EntityType | undefined, defaultSelect?: string[]): MockResult {
  const select = parseSelectOnly(ctx);
  let body = view(obj, ctx.version);
  const effective = select ?? defaultSelect;
  if (effective) body = selectProperties(body, effective);
  return { status: 200, body: { '@odata.context': entityContext(ctx, set, cast, select), ...body } };
}

function parseSelectOnly(ctx: MockContext): string[] | undefined {
  const raw = ctx.url.searchParams.get('$select');
  if (!raw) return undefined;
  return raw.split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * A collection response: $filter/$search/$orderby/$count/$top/$select and @odata.nextLink
 * paging over `items` (already restricted to the set and cast).
 */
export function collectionResponse(
  ctx: MockContext,
  items: Record<string, unknown>[],
  spec: CollectionSpec,
  contextFragment: string,
  /** Properties returned without $select: one list, or per item (users and agent users differ). */
  defaultSelect?: string[] | ((item: Record<string, unknown>) => string[]),
): MockResult {
  const q = parseQuery(ctx.url.searchParams, ctx.req.headers, spec);
  const { page, nextSkiptoken, count } = applyQuery(items, q, spec);
  const selectFor = (i: Record<string, unknown>) => q.select ?? (typeof defaultSelect === 'function' ? defaultSelect(i) : defaultSelect);
  const value = q.select || defaultSelect ? page.map((i) => selectProperties(i, selectFor(i))) : page;
  // The context names the selected properties as the schema spells them: GD v1.0
  // directory-deleteditems-list.md asks `$select=id,DisplayName,…` and answers `#groups(id,displayName,…)`.
  const spelled = (name: string) => {
    const lower = name.toLowerCase();
    for (const i of items) for (const k of Object.keys(i)) if (k.toLowerCase() === lower) return k;
    return name;
  };
  const fragment = q.select ? `${contextFragment}(${q.select.map(spelled).join(',')})` : contextFragment;
  const body: Record<string, unknown> = { '@odata.context': contextUrl(ctx, fragment) };
  if (count !== undefined) body['@odata.count'] = count;
  if (nextSkiptoken) body['@odata.nextLink'] = nextLink(ctx, nextSkiptoken);
  body.value = value;
  return { status: 200, body };
}

/** The next page's URL: the same request with $skiptoken replaced (Graph keeps the other options). */
export function nextLink(ctx: MockContext, skiptoken: string): string {
  const u = new URL(ctx.url.toString());
  u.searchParams.delete('$skiptoken');
  u.searchParams.set('$skiptoken', skiptoken);
  // Graph writes the options' `$` literally (`?$top=10&$skiptoken=…`, GD v1.0 signin-list.md).
  return `${ctx.serviceRoot}${u.pathname.replace(/^\/(v1\.0|beta)/, '')}${u.search.replace(/%24/g, '$')}`;
}

/** `$count` segment: plain-text count; Graph requires ConsistencyLevel: eventual for it on directory objects. */
export function countResponse(ctx: MockContext, items: Record<string, unknown>[], spec: CollectionSpec): MockResult {
  if ((ctx.header('ConsistencyLevel') ?? '').toLowerCase() !== 'eventual') {
    throw GraphErrors.badRequest('$count is not currently supported.');
  }
  const params = new URLSearchParams(ctx.url.searchParams);
  params.set('$count', 'true');
  const q = parseQuery(params, ctx.req.headers, spec);
  q.top = undefined;
  const { count } = applyQuery(items, { ...q, top: Number.MAX_SAFE_INTEGER }, { ...spec, maxPageSize: Number.MAX_SAFE_INTEGER });
  return { status: 200, body: String(count ?? 0), headers: { 'Content-Type': 'text/plain' } };
}

// ---------------------------------------------------------------------------------------------
// Request bodies

/** Object id from an `@odata.id` / `@odata.bind` URL: `https://graph.microsoft.com/v1.0/users/{id}`. */
export function idFromReference(ref: unknown, property: string): { id: string; set: string } {
  if (typeof ref !== 'string') throw GraphErrors.badRequest(`Invalid value specified for property '${property}'. An OData reference URL is expected.`);
  let pathname: string;
  try {
    pathname = new URL(ref, 'https://graph.microsoft.com/v1.0/').pathname;
  } catch {
    throw GraphErrors.badRequest(`Invalid URL format specified in @odata.bind for ${property}`);
  }
  const parts = pathname.split('/').filter(Boolean);
  const id = parts.at(-1) ?? '';
  const set = (parts.at(-2) ?? '').toLowerCase();
  if (!GUID_RE.test(id) || !['users', 'groups', 'directoryobjects', 'serviceprincipals', 'applications'].includes(set)) {
    throw GraphErrors.badRequest(`Invalid URL format specified in @odata.bind for ${property}`);
  }
  return { id: id.toLowerCase(), set };
}

/** The ids in `sponsors@odata.bind` / `owners@odata.bind`, or [] when absent. */
export function bindIds(body: Record<string, unknown>, nav: 'sponsors' | 'owners'): string[] {
  const key = Object.keys(body).find((k) => k.toLowerCase() === `${nav}@odata.bind`);
  if (!key) return [];
  const v = body[key];
  if (!Array.isArray(v)) throw GraphErrors.badRequest(`Invalid value specified for property '${key}'. An array of OData reference URLs is expected.`);
  return v.map((r) => idFromReference(r, key).id);
}

/** Case-insensitive property lookup in a request body (Graph matches property names so). */
export function prop(body: Record<string, unknown>, name: string): unknown {
  const key = Object.keys(body).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : body[key];
}

export function requireString(body: Record<string, unknown>, name: string, resource: string, max?: number): string {
  const v = prop(body, name);
  if (v === undefined || v === null || v === '') throw GraphErrors.missingProperty(name, resource);
  if (typeof v !== 'string') throw GraphErrors.invalidValue(name);
  if (max !== undefined && v.length > max) throw GraphErrors.badRequest(`Invalid value specified for property '${name}' of resource '${resource}'. The value exceeds the maximum length of ${max}.`);
  return v;
}

/** The `@odata.type` a body names, canonicalised ('agentIdentityBlueprint'), or undefined. */
export function bodyType(ctx: MockContext, body: Record<string, unknown>): string | undefined {
  const raw = body['@odata.type'];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw GraphErrors.invalidValue('@odata.type');
  // entra-docs: "always include the OData-Version header when using @odata.type" [INFERRED: 400 without it].
  if (ctx.header('OData-Version') !== '4.0') throw GraphErrors.odataVersionRequired();
  return raw.replace(/^#/, '').replace(/^(microsoft\.graph|graph)\./i, '').toLowerCase();
}

/** The `@odata.type` a PATCH body names, canonicalised like bodyType() but without the
 * OData-Version requirement: the documented update examples (GD agentuser-update.md) omit the header. */
export function declaredTypeName(body: Record<string, unknown>): string | undefined {
  const raw = body['@odata.type'];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw GraphErrors.invalidValue('@odata.type');
  return raw.replace(/^#/, '').replace(/^(microsoft\.graph|graph)\./i, '').toLowerCase();
}

/** Copies writable properties, refusing read-only and unknown ones the way Graph does. */
export function assignWritable(
  target: Record<string, unknown>,
  body: Record<string, unknown>,
  writable: readonly string[],
  typeName: string,
  immutable: readonly string[] = [],
): void {
  const canonical = new Map(writable.map((w) => [w.toLowerCase(), w]));
  for (const [k, v] of Object.entries(body)) {
    if (k.startsWith('@odata.') || k.includes('@odata.')) continue;
    const name = canonical.get(k.toLowerCase());
    if (immutable.some((i) => i.toLowerCase() === k.toLowerCase())) throw GraphErrors.immutableProperty(k);
    if (!name) throw GraphErrors.unknownProperty(k, `microsoft.graph.${typeName}`);
    target[name] = v;
  }
}

// ---------------------------------------------------------------------------------------------
// owners and sponsors

export type Relationship = 'owners' | 'sponsors';

/** Graph's rules for sponsors: users or groups only, never service principals or agent users;
 * groups must be Microsoft 365 or dynamic-membership, never role-assignable; at most 100, of
 * which 5 groups (GD agentidentity-post-sponsors.md, ED create-blueprint.md). */
export function checkSponsor(state: TenantState, id: string): StoredObject {
  const obj = state.objects[id];
  if (!obj || obj.deletedDateTime) throw GraphErrors.notFound(id);
  if (obj.type === 'user') return obj;
  if (obj.type === 'group') {
    const types = (obj.props.groupTypes as string[] | undefined) ?? [];
    const okKind = types.includes('Unified') || types.includes('DynamicMembership');
    if (okKind && obj.props.isAssignableToRole !== true) return obj;
  }
  throw GraphErrors.invalidSponsor(id);
}

export function checkSponsorLimits(state: TenantState, ids: string[]): void {
  const groups = ids.filter((i) => state.objects[i]?.type === 'group').length;
  if (ids.length > 100 || groups > 5) throw GraphErrors.tooManySponsors();
}

/** Owners may be users or service principals (including the object itself); never groups. */
export function checkOwner(state: TenantState, id: string): StoredObject {
  const obj = state.objects[id];
  if (!obj || obj.deletedDateTime) throw GraphErrors.notFound(id);
  if (obj.type === 'group' || obj.type === 'agentUser' || ENTITY_SET_OF[obj.type] === 'applications') {
    throw GraphErrors.badRequest(`Object '${id}' of type '${obj.type}' cannot be added as an owner.`);
  }
  return obj;
}

/**
 * GET/POST/DELETE on `{object}/{owners|sponsors}[/$ref]` and `{…}/{id}/$ref`.
 * `rest` is what follows the relationship name: [], ['$ref'], [id, '$ref'], ['$count'].
 */
export async function relationshipRoute(
  ctx: MockContext,
  target: (state: TenantState) => StoredObject,
  rel: Relationship,
  rest: string[],
  opts: { minSponsors?: number } = {},
): Promise<MockResult> {
  const method = ctx.method;
  if (rest.length === 0 || (rest.length === 1 && rest[0] === '$ref')) {
    if (method === 'GET') {
      const refsOnly = rest[0] === '$ref';
      return ctx.store.read((state) => {
        const obj = target(state);
        const members = (obj[rel] ?? []).map((id) => state.objects[id]).filter((o): o is StoredObject => !!o && !o.deletedDateTime);
        const items = members.map((m) => (refsOnly ? { '@odata.id': `${ctx.serviceRoot}/directoryObjects/${m.id}/Microsoft.DirectoryServices.${pascal(m.type)}` } : view(m, ctx.version, { withType: true })));
        return collectionResponse(ctx, items, REFERENCE_SPEC, refsOnly ? 'Collection($ref)' : 'directoryObjects');
      });
    }
    if (method === 'POST' && rest[0] === '$ref') {
      const body = await ctx.json();
      const { id } = idFromReference(prop(body, '@odata.id'), '@odata.id');
      await ctx.store.write((state) => {
        const obj = target(state);
        if (rel === 'sponsors') checkSponsor(state, id);
        else checkOwner(state, id);
        const list = obj[rel] ?? [];
        if (list.includes(id)) throw rel === 'sponsors' ? GraphErrors.sponsorReferenceExists() : GraphErrors.referenceExists();
        if (rel === 'sponsors') checkSponsorLimits(state, [...list, id]);
        obj[rel] = [...list, id];
      });
      return { status: 204 };
    }
    throw GraphErrors.methodNotAllowed();
  }
  if (rest.length === 2 && rest[1] === '$ref') {
    if (method !== 'DELETE') throw GraphErrors.methodNotAllowed();
    const memberId = rest[0]!.toLowerCase();
    if (!GUID_RE.test(memberId)) throw GraphErrors.invalidId(rest[0]!);
    await ctx.store.write((state) => {
      const obj = target(state);
      const list = obj[rel] ?? [];
      if (!list.includes(memberId)) throw GraphErrors.notFound(memberId);
      if (rel === 'sponsors' && opts.minSponsors && list.length <= opts.minSponsors) throw GraphErrors.lastSponsor();
      obj[rel] = list.filter((i) => i !== memberId);
    });
    return { status: 204 };
  }
  if (rest.length === 1 && rest[0] === '$count') {
    return ctx.store.read((state) => {
      const obj = target(state);
      const items = (obj[rel] ?? []).map((id) => state.objects[id]).filter((o): o is StoredObject => !!o && !o.deletedDateTime).map((m) => view(m, ctx.version, { withType: true }));
      return countResponse(ctx, items, REFERENCE_SPEC);
    });
  }
  throw GraphErrors.unknownSegment(rest[0]!);
}

function pascal(t: string): string {
  return t.charAt(0).toUpperCase() + t.slice(1);
}

export const REFERENCE_SPEC: CollectionSpec = {
  resource: 'directoryObject',
  filterable: { id: ['eq', 'in'], displayName: ['eq', 'startsWith', 'in'], userPrincipalName: ['eq', 'startsWith', 'in'] },
  searchable: ['displayName'],
  orderable: ['displayName'],
  defaultPageSize: 100,
  maxPageSize: 999,
  advanced: true,
};

export { encodeSkiptoken };

/** Nothing under this path: Graph says which segment it could not resolve. */
export function unknownPath(rest: string[]): never {
  throw GraphErrors.unknownSegment(rest[0] ?? '');
}

// ---------------------------------------------------------------------------------------------
// password credentials (GD v1.0 serviceprincipal-addpassword.md; same shape as application's)

const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~._-';

/**
 * A new passwordCredential from an addPassword body: `stored` (secretText null) goes into the
 * object, `returned` (with secretText) is the one and only time the secret is shown.
 */
export function newPasswordCredential(ctx: MockContext, body: Record<string, unknown>): { stored: Record<string, unknown>; returned: Record<string, unknown> } {
  const raw = prop(body, 'passwordCredential') ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw GraphErrors.invalidValue('passwordCredential');
  const pc = raw as Record<string, unknown>;
  const start = credentialDate(pc.startDateTime, 'startDateTime') ?? ctx.now;
  // Default lifetime two years (GD addpassword pages).
  const end = credentialDate(pc.endDateTime, 'endDateTime') ?? new Date(start.getTime() + 2 * 365 * 24 * 3600 * 1000);
  if (end <= start) throw GraphErrors.invalidValue('endDateTime');
  const bytes = randomBytes(40);
  const secretText = Array.from(bytes, (b) => SECRET_ALPHABET[b % SECRET_ALPHABET.length]).join('');
  const credential = {
    customKeyIdentifier: null,
    displayName: typeof pc.displayName === 'string' ? pc.displayName : null,
    endDateTime: end.toISOString(),
    hint: secretText.slice(0, 3),
    keyId: ctx.newId(),
    startDateTime: start.toISOString(),
  };
  return { stored: { ...credential, secretText: null }, returned: { ...credential, secretText } };
}

function credentialDate(v: unknown, name: string): Date | undefined {
  if (v === undefined || v === null) return undefined;
  const d = typeof v === 'string' ? new Date(v) : new Date(NaN);
  if (Number.isNaN(d.getTime())) throw GraphErrors.invalidValue(name);
  return d;
}

/**
 * DELETE of a directory object: a soft delete. The object stays, marked with deletedDateTime, and
 * is restorable from /directory/deletedItems for 30 days (GD directory-deleteditems-list.md).
 */
export async function softDelete(ctx: MockContext, target: (state: TenantState) => StoredObject): Promise<MockResult> {
  await ctx.store.write((state) => {
    target(state).deletedDateTime = ctx.now.toISOString();
  });
  return noContent();
}
