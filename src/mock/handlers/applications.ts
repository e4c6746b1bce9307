import { GraphErrors } from '../errors.js';
import { contextUrl, created, noContent, type MockContext, type MockResult } from '../context.js';
import { view } from '../entities.js';
import { ENTITY_SET_OF, isA, type FederatedIdentityCredential, type InheritablePermission, type StoredObject, type TenantState } from '../state.js';
import { GUID_RE, type Key } from '../path.js';
import type { CollectionSpec } from '../odata.js';
import {
  assignWritable,
  bindIds,
  bodyType,
  checkOwner,
  checkSponsor,
  checkSponsorLimits,
  collectionResponse,
  countResponse,
  entityContext,
  entityResponse,
  findInSet,
  liveObjects,
  newPasswordCredential,
  prop,
  relationshipRoute,
  requireString,
} from './common.js';
import { AGENTID_CLIENT_APP_ID } from '../seed.js';
import { forgetSecret, recordSecret } from '../auth.js';
import { normalizeKeyCredentials, withSelectedKeys, type StoredKeyCredential } from '../keyCredentials.js';
import { verifyCertificateAssertion } from '../clientAssertion.js';
import { validateManagerApplications } from '../managerApplications.js';

// /applications: agent identity blueprints (GD v1.0 agentidentityblueprint-*.md) and the plain
// applications they derive from. Blueprint-only navigation (sponsors, inheritablePermissions)
// is also answered without the cast segment when the object is a blueprint: the docs and the
// Agent 365 CLI address it both ways.

export const APPLICATION_SPEC: CollectionSpec = {
  resource: 'application',
  filterable: {
    id: ['eq', 'in', 'ne'],
    appId: ['eq', 'in', 'ne', 'startsWith'],
    displayName: ['eq', 'ne', 'in', 'startsWith', 'endsWith'],
    uniqueName: ['eq', 'in'],
    description: ['eq', 'startsWith'],
    createdDateTime: ['eq', 'ge', 'le', 'gt', 'lt'],
    identifierUris: ['any'],
    tags: ['any'],
    publisherDomain: ['eq', 'startsWith'],
    signInAudience: ['eq', 'ne', 'in'],
    serviceManagementReference: ['eq'],
  },
  searchable: ['displayName', 'description'],
  orderable: ['displayName', 'createdDateTime'],
  // Blueprint list: default and maximum page size 100 (GD agentidentityblueprint-list.md).
  defaultPageSize: 100,
  maxPageSize: 100,
  // $top up to 999 is accepted on directory collections; pages still stop at 100.
  topLimit: 999,
  advanced: true,
};

const BLUEPRINT_WRITABLE = [
  'displayName',
  'description',
  'tags',
  'identifierUris',
  'api',
  'appRoles',
  'info',
  'optionalClaims',
  'requiredResourceAccess',
  'serviceManagementReference',
  'signInAudience',
  'web',
  'groupMembershipClaims',
  'tokenEncryptionKeyId',
  'keyCredentials',
  'managerApplications',
  'certification',
] as const;

const MAX_FICS = 20;

export async function applicationsRoute(ctx: MockContext): Promise<MockResult> {
  const { path } = ctx;
  if (path.cast && path.cast !== 'agentIdentityBlueprint' && path.cast !== 'application') throw GraphErrors.castMismatch(`microsoft.graph.${path.cast}`);
  if (!path.key) return collectionRoute(ctx);
  const key = path.key;
  const cast = path.cast;
  const target = (state: TenantState) => findInSet(state, 'applications', key, cast);
  const [seg, ...rest] = path.rest;
  if (seg === undefined) return itemRoute(ctx, key, target);
  // federatedIdentityCredentials(name='…'): the credential by its alternate key, the address the
  // upsert pages use (GD federatedidentitycredential-upsert.md).
  const ficByName = FIC_BY_NAME_RE.exec(seg);
  if (ficByName) return ficRoute(ctx, target, [ficByName[1]!.replace(/''/g, "'"), ...rest], true);
  switch (seg.toLowerCase()) {
    case 'owners':
      return relationshipRoute(ctx, target, 'owners', rest);
    case 'sponsors':
      return relationshipRoute(ctx, blueprintOnly(target, seg), 'sponsors', rest);
    case 'federatedidentitycredentials':
      return ficRoute(ctx, target, rest);
    case 'inheritablepermissions':
      return inheritableRoute(ctx, blueprintOnly(target, seg), rest);
    case 'addpassword':
      return addPassword(ctx, target, rest);
    case 'removepassword':
      return removePassword(ctx, target, rest);
    case 'addkey':
      return addKey(ctx, target, rest);
    case 'removekey':
      return removeKey(ctx, target, rest);
    case 'setverifiedpublisher':
    case 'unsetverifiedpublisher':
      return verifiedPublisherRoute(ctx, target, seg.toLowerCase() === 'setverifiedpublisher', rest);
    default:
      throw GraphErrors.unknownSegment(seg);
  }
}

function blueprintOnly(target: (s: TenantState) => StoredObject, segment: string) {
  return (state: TenantState) => {
    const obj = target(state);
    if (obj.type !== 'agentIdentityBlueprint') throw GraphErrors.unknownSegment(segment);
    return obj;
  };
}

// ---------------------------------------------------------------------------------------------
// collection

async function collectionRoute(ctx: MockContext): Promise<MockResult> {
  const { path, method } = ctx;
  const cast = path.cast;
  const [seg] = path.rest;
  const members = (state: TenantState) =>
    liveObjects(state)
      .filter((o) => ENTITY_SET_OF[o.type] === 'applications' && (!cast || isA(o.type, cast)))
      .map((o) => view(o, ctx.version));
  if (seg?.toLowerCase() === '$count') {
    if (method !== 'GET') throw GraphErrors.methodNotAllowed();
    return ctx.store.read((s) => countResponse(ctx, members(s), APPLICATION_SPEC));
  }
  if (seg !== undefined) throw GraphErrors.unknownSegment(seg);
  if (method === 'GET') {
    const fragment = cast ? `applications/microsoft.graph.${cast}` : 'applications';
    return ctx.store.read((s) => collectionResponse(ctx, members(s), APPLICATION_SPEC, fragment));
  }
  if (method === 'POST') {
    const body = await ctx.json();
    const declared = bodyType(ctx, body);
    const isBlueprint = cast === 'agentIdentityBlueprint' || declared === 'agentidentityblueprint';
    if (declared && declared !== 'agentidentityblueprint' && declared !== 'application') throw GraphErrors.castMismatch(String(body['@odata.type']));
    const obj = await ctx.store.write((state) => createApplication(ctx, state, body, isBlueprint, { requireSponsors: isBlueprint }));
    // The cast form echoes the cast in its context; the `@odata.type` form is a plain applications entity.
    return created({ '@odata.context': entityContext(ctx, 'applications', cast === 'agentIdentityBlueprint' ? cast : undefined), ...view(obj, ctx.version) });
  }
  throw GraphErrors.methodNotAllowed();
}

function createApplication(
  ctx: MockContext,
  state: TenantState,
  body: Record<string, unknown>,
  isBlueprint: boolean,
  opts: { requireSponsors: boolean; uniqueName?: string },
): StoredObject {
  const displayName = requireString(body, 'displayName', isBlueprint ? 'agentIdentityBlueprint' : 'application', 256);
  const description = prop(body, 'description');
  if (typeof description === 'string' && description.length > 1024) throw GraphErrors.invalidValue('description');
  const sponsors = bindIds(body, 'sponsors');
  const owners = bindIds(body, 'owners');
  if (isBlueprint && opts.requireSponsors && sponsors.length === 0) throw GraphErrors.sponsorRequired();
  for (const s of sponsors) checkSponsor(state, s);
  checkSponsorLimits(state, sponsors);
  for (const o of owners) checkOwner(state, o);
  if (isBlueprint) validateManagerApplications(prop(body, 'managerApplications'));
  const bodyUnique = prop(body, 'uniqueName');
  const uniqueName = opts.uniqueName ?? (typeof bodyUnique === 'string' ? bodyUnique : undefined);
  if (uniqueName !== undefined && liveObjects(state).some((o) => ENTITY_SET_OF[o.type] === 'applications' && o.props.uniqueName === uniqueName)) {
    throw GraphErrors.duplicateValue('uniqueName');
  }
  const props: Record<string, unknown> = {};
  const rest = Object.fromEntries(Object.entries(body).filter(([k]) => !['uniquename', 'displayname'].includes(k.toLowerCase())));
  assignWritable(props, rest, BLUEPRINT_WRITABLE, isBlueprint ? 'agentIdentityBlueprint' : 'application');
  if ('passwordCredentials' in props) throw GraphErrors.readOnlyProperty('passwordCredentials');
  if ('keyCredentials' in props) props.keyCredentials = normalizeKeyCredentials(props.keyCredentials, [], () => ctx.newId());
  const id = ctx.newId();
  Object.assign(props, {
    displayName,
    appId: ctx.newId(),
    createdDateTime: ctx.now.toISOString(),
    createdByAppId: AGENTID_CLIENT_APP_ID,
    publisherDomain: state.tenant.defaultDomain,
    passwordCredentials: [],
    uniqueName: uniqueName ?? null,
  });
  // "A principal who creates an agent identity blueprint or blueprint principal is
  // automatically assigned as the owner" (GD agentidentity-post-sponsors.md, Important).
  const creator = ctx.caller.kind === 'user' ? ctx.caller.userId : ctx.caller.servicePrincipalId;
  const allOwners = [...new Set([...(creator && isBlueprint ? [creator] : []), ...owners])];
  const obj: StoredObject = {
    id,
    type: isBlueprint ? 'agentIdentityBlueprint' : 'application',
    props,
    owners: allOwners,
    ...(isBlueprint ? { sponsors: [...new Set(sponsors)], federatedIdentityCredentials: [], inheritablePermissions: [] } : { federatedIdentityCredentials: [] }),
  };
  state.objects[id] = obj;
  return obj;
}

// ---------------------------------------------------------------------------------------------
// item

async function itemRoute(ctx: MockContext, key: Key, target: (s: TenantState) => StoredObject): Promise<MockResult> {
  const { method, path } = ctx;
  if (method === 'GET') {
    return ctx.store.read((s) => {
      const obj = target(s);
      return withSelectedKeys(ctx, obj, entityResponse(ctx, obj, 'applications', path.cast));
    });
  }
  if (method === 'PATCH') {
    const body = await ctx.json();
    const upsert = /(^|[,;\s])create-if-missing($|[,;\s])/i.test(ctx.header('Prefer') ?? '');
    if (key.kind === 'uniqueName') {
      // Upsert (GD v1.0 agentidentityblueprint-upsert.md). [DOC-CONFLICT] Blueprint creation
      // requires sponsors (agentidentityblueprint-post.md) but the upsert example creates one
      // with only displayName: we accept the documented upsert example.
      const outcome = await ctx.store.write((state) => {
        const existing = liveObjects(state).find((o) => ENTITY_SET_OF[o.type] === 'applications' && o.props.uniqueName === key.value);
        if (!existing) {
          if (!upsert) throw GraphErrors.notFound(key.value);
          const isBlueprint = path.cast === 'agentIdentityBlueprint';
          return { created: createApplication(ctx, state, body, isBlueprint, { requireSponsors: false, uniqueName: key.value }) };
        }
        if (path.cast && !isA(existing.type, path.cast)) throw GraphErrors.notFound(key.value);
        updateApplication(ctx, existing, body);
        return { created: undefined };
      });
      if (outcome.created) return created({ '@odata.context': contextUrl(ctx, 'applications/$entity'), ...view(outcome.created, ctx.version) });
      return noContent();
    }
    await ctx.store.write((state) => updateApplication(ctx, target(state), body));
    return noContent();
  }
  if (method === 'DELETE') {
    await ctx.store.write((state) => {
      const obj = target(state);
      const when = ctx.now.toISOString();
      obj.deletedDateTime = when;
      // Deleting a blueprint deletes its principal at once; its agent identities and agent users
      // follow in a background job about 24 h later (ED concept-agent-identity-deletion.md), so
      // the emulator leaves them in place, as a tenant would be right after the delete.
      if (obj.type === 'agentIdentityBlueprint') {
        for (const o of liveObjects(state)) {
          if (o.type === 'agentIdentityBlueprintPrincipal' && o.props.appId === obj.props.appId) o.deletedDateTime = when;
        }
      }
    });
    return noContent();
  }
  throw GraphErrors.methodNotAllowed();
}

function updateApplication(ctx: MockContext, obj: StoredObject, body: Record<string, unknown>): void {
  if (prop(body, 'passwordCredentials') !== undefined) {
    throw GraphErrors.badRequest('Updating passwordCredentials with PATCH is not supported. Use the addPassword and removePassword actions.');
  }
  const displayName = prop(body, 'displayName');
  if (displayName !== undefined && (typeof displayName !== 'string' || displayName.length === 0 || displayName.length > 256)) throw GraphErrors.invalidValue('displayName');
  if (obj.type === 'agentIdentityBlueprint') validateManagerApplications(prop(body, 'managerApplications'));
  const next = { ...obj.props };
  assignWritable(next, body, BLUEPRINT_WRITABLE, obj.type, ['uniqueName', 'appId', 'id']);
  if ('keyCredentials' in next && next.keyCredentials !== obj.props.keyCredentials) {
    next.keyCredentials = normalizeKeyCredentials(next.keyCredentials, obj.props.keyCredentials, () => ctx.newId());
  }
  obj.props = next;
}

// ---------------------------------------------------------------------------------------------
// passwords (GD v1.0 agentidentityblueprint-addpassword.md / -removepassword.md)

async function addPassword(ctx: MockContext, target: (s: TenantState) => StoredObject, rest: string[]): Promise<MockResult> {
  if (rest.length) throw GraphErrors.unknownSegment(rest[0]!);
  if (ctx.method !== 'POST') throw GraphErrors.methodNotAllowed();
  const { stored, returned } = newPasswordCredential(ctx, await ctx.json());
  await ctx.store.write((state) => {
    const obj = target(state);
    obj.props.passwordCredentials = [...((obj.props.passwordCredentials as unknown[]) ?? []), stored];
    // #3: the token endpoint accepts this secret from now on; the state keeps only its hash.
    recordSecret(state, String(obj.props.appId), String(returned.keyId), String(returned.secretText), String(returned.endDateTime));
  });
  return { status: 200, body: { '@odata.context': contextUrl(ctx, 'microsoft.graph.passwordCredential'), ...returned } };
}

async function removePassword(ctx: MockContext, target: (s: TenantState) => StoredObject, rest: string[]): Promise<MockResult> {
  if (rest.length) throw GraphErrors.unknownSegment(rest[0]!);
  if (ctx.method !== 'POST') throw GraphErrors.methodNotAllowed();
  const body = await ctx.json();
  const keyId = prop(body, 'keyId');
  if (typeof keyId !== 'string' || !GUID_RE.test(keyId)) throw GraphErrors.missingProperty('keyId', 'passwordCredential');
  await ctx.store.write((state) => {
    const obj = target(state);
    const list = (obj.props.passwordCredentials as { keyId: string }[]) ?? [];
    if (!list.some((c) => c.keyId.toLowerCase() === keyId.toLowerCase())) {
      // [UNCONFIRMED wording] Graph answers a 400 for an unknown keyId.
      throw GraphErrors.badRequest(`No password credential found with keyId '${keyId}'.`);
    }
    obj.props.passwordCredentials = list.filter((c) => c.keyId.toLowerCase() !== keyId.toLowerCase());
    forgetSecret(state, keyId);
  });
  return noContent();
}


// ---------------------------------------------------------------------------------------------
// keys (GD v1.0/beta agentidentityblueprint-addkey.md / -removekey.md, application-addkey.md):
// certificate rollover with a proof of possession of a key the object already has.

/** The audience a proof must name (the pages: "Audience needs to be 00000002-0000-0000-c000-000000000000"). */
const PROOF_AUDIENCE = '00000002-0000-0000-c000-000000000000';

/**
 * Checks addKey/removeKey's `proof`: a JWT signed with the private key of one of the object's
 * valid certificates (found by the header's x5t or x5t#S256, as the docs' generator writes it),
 * aud PROOF_AUDIENCE, iss the application's object id, nbf passed and exp at most nbf + 10 min
 * ahead, not yet passed.
 */
function checkProof(ctx: MockContext, obj: StoredObject, proof: unknown): void {
  if (typeof proof !== 'string' || proof === '') throw GraphErrors.forbidden();
  const parts = proof.split('.');
  if (parts.length !== 3) throw GraphErrors.proofInvalid();
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw GraphErrors.proofInvalid();
  }
  if (!verifyCertificateAssertion(proof, header, obj.props.keyCredentials, ctx.now).ok) throw GraphErrors.proofInvalid();
  const now = ctx.now.getTime() / 1000;
  const { aud, iss, nbf, exp } = claims;
  const audOk = aud === PROOF_AUDIENCE || (Array.isArray(aud) && aud.includes(PROOF_AUDIENCE));
  const issOk = typeof iss === 'string' && iss.toLowerCase() === obj.id.toLowerCase();
  // Five minutes of clock skew, as token validation usually allows [INFERRED].
  const timeOk = typeof nbf === 'number' && typeof exp === 'number' && nbf <= now + 300 && exp > now && exp - nbf <= 600;
  if (!audOk || !issOk || !timeOk) throw GraphErrors.proofInvalid();
}

async function addKey(ctx: MockContext, target: (s: TenantState) => StoredObject, rest: string[]): Promise<MockResult> {
  if (rest.length) throw GraphErrors.unknownSegment(rest[0]!);
  if (ctx.method !== 'POST') throw GraphErrors.methodNotAllowed();
  const body = await ctx.json();
  const keyCredential = prop(body, 'keyCredential');
  if (!keyCredential || typeof keyCredential !== 'object' || Array.isArray(keyCredential)) throw GraphErrors.missingProperty('keyCredential', 'keyCredential');
  const added = await ctx.store.write((state) => {
    const obj = target(state);
    checkProof(ctx, obj, prop(body, 'proof'));
    const existing = (obj.props.keyCredentials as StoredKeyCredential[] | undefined) ?? [];
    const keyId = (keyCredential as Record<string, unknown>).keyId;
    if (typeof keyId === 'string' && existing.some((k) => k.keyId.toLowerCase() === keyId.toLowerCase())) throw GraphErrors.keyCredentialUpdateNotAllowed();
    // The same rules as PATCH keyCredentials (AsymmetricX509Cert/Verify with the certificate);
    // X509CertAndPassword/Sign, the page's other kind, is not emulated there either.
    const [fresh] = normalizeKeyCredentials([keyCredential], [], () => ctx.newId());
    obj.props = { ...obj.props, keyCredentials: [...existing, fresh!] };
    return fresh!;
  });
  // keycredential.md: `key` is returned only on a $select of one object; otherwise it is null.
  return { status: 200, body: { '@odata.context': contextUrl(ctx, 'microsoft.graph.keyCredential'), ...added, key: null } };
}

async function removeKey(ctx: MockContext, target: (s: TenantState) => StoredObject, rest: string[]): Promise<MockResult> {
  if (rest.length) throw GraphErrors.unknownSegment(rest[0]!);
  if (ctx.method !== 'POST') throw GraphErrors.methodNotAllowed();
  const body = await ctx.json();
  const keyId = prop(body, 'keyId');
  if (typeof keyId !== 'string' || !GUID_RE.test(keyId)) throw GraphErrors.missingProperty('keyId', 'keyCredential');
  await ctx.store.write((state) => {
    const obj = target(state);
    checkProof(ctx, obj, prop(body, 'proof'));
    const list = (obj.props.keyCredentials as StoredKeyCredential[] | undefined) ?? [];
    // [UNCONFIRMED wording] as removePassword's for an unknown keyId.
    if (!list.some((k) => k.keyId.toLowerCase() === keyId.toLowerCase())) throw GraphErrors.badRequest(`No key credential found with keyId '${keyId}'.`);
    obj.props = { ...obj.props, keyCredentials: list.filter((k) => k.keyId.toLowerCase() !== keyId.toLowerCase()) };
  });
  return noContent();
}

// ---------------------------------------------------------------------------------------------
// verified publisher (GD v1.0/beta agentidentityblueprint-setverifiedpublisher.md /
// -unsetverifiedpublisher.md, application-setverifiedpublisher.md)

const MPN_ID_RE = /^\d{1,10}$/;

async function verifiedPublisherRoute(ctx: MockContext, target: (s: TenantState) => StoredObject, set: boolean, rest: string[]): Promise<MockResult> {
  if (rest.length) throw GraphErrors.unknownSegment(rest[0]!);
  if (ctx.method !== 'POST') throw GraphErrors.methodNotAllowed();
  let id: string | null = null;
  if (set) {
    const body = await ctx.json();
    const v = prop(body, 'verifiedPublisherId');
    if (v === undefined || v === null || v === '') throw GraphErrors.missingProperty('verifiedPublisherId', 'verifiedPublisher');
    // An MPN ID is a number (the pages' example is "1234567"); anything else names no partner.
    if (typeof v !== 'string' || !MPN_ID_RE.test(v)) throw GraphErrors.invalidValue('verifiedPublisherId');
    id = v;
  }
  await ctx.store.write((state) => {
    const obj = target(state);
    // The publisher's name comes from its Partner Center account, which the emulator does not
    // have: displayName stays null. Unset removes every property (the page's words).
    obj.props = { ...obj.props, verifiedPublisher: id ? { displayName: null, verifiedPublisherId: id, addedDateTime: ctx.now.toISOString() } : { displayName: null, verifiedPublisherId: null, addedDateTime: null } };
  });
  return noContent();
}

// ---------------------------------------------------------------------------------------------
// federated identity credentials (GD v1.0 federatedidentitycredential-*.md)

const FIC_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,119}$/;
const FIC_BY_NAME_RE = /^federatedIdentityCredentials\(\s*name\s*=\s*'((?:[^']|'')*)'\s*\)$/i;

/** A new credential from a create body; `name` comes from the URL on upsert. */
function newFic(ctx: MockContext, body: Record<string, unknown>, name: string): FederatedIdentityCredential {
  if (!FIC_NAME_RE.test(name)) throw GraphErrors.invalidValue('name');
  const issuer = requireString(body, 'issuer', 'federatedIdentityCredential', 600);
  const subject = requireString(body, 'subject', 'federatedIdentityCredential', 600);
  const audiences = prop(body, 'audiences') ?? ['api://AzureADTokenExchange'];
  const description = prop(body, 'description');
  const fic = { id: ctx.newId(), name, issuer, subject, audiences: audiences as string[], description: typeof description === 'string' ? description : null };
  checkFicLimits(fic);
  return fic;
}

/**
 * The pages' limits on a credential's values (GD federatedidentitycredential-post.md and
 * -update.md): one audience, of at most 600 characters; issuer, subject and description at most
 * 600 characters each.
 */
function checkFicLimits(fic: FederatedIdentityCredential): void {
  const a = fic.audiences as unknown;
  if (!Array.isArray(a) || a.length !== 1 || typeof a[0] !== 'string') {
    throw GraphErrors.badRequest("Invalid value specified for property 'audiences': exactly one audience is supported.");
  }
  const long = (name: string, v: unknown) => {
    if (typeof v === 'string' && v.length > 600) throw GraphErrors.badRequest(`Invalid value specified for property '${name}' of resource 'federatedIdentityCredential'. The value exceeds the maximum length of 600.`);
  };
  long('audiences', a[0]);
  for (const k of ['issuer', 'subject'] as const) {
    if (typeof fic[k] !== 'string' || fic[k] === '') throw GraphErrors.invalidValue(k);
    long(k, fic[k]);
  }
  if (fic.description !== null && typeof fic.description !== 'string') throw GraphErrors.invalidValue('description');
  long('description', fic.description);
}

function addFic(obj: StoredObject, fic: FederatedIdentityCredential): void {
  const list = obj.federatedIdentityCredentials ?? [];
  if (list.length >= MAX_FICS) throw GraphErrors.badRequest(`An application can have at most ${MAX_FICS} federated identity credentials.`);
  if (list.some((f) => f.name.toLowerCase() === fic.name.toLowerCase())) throw GraphErrors.duplicateValue('name');
  if (list.some((f) => f.issuer === fic.issuer && f.subject === fic.subject)) throw GraphErrors.badRequest('A federated identity credential with the same issuer and subject already exists for this application.');
  obj.federatedIdentityCredentials = [...list, fic];
}

async function ficRoute(ctx: MockContext, target: (s: TenantState) => StoredObject, rest: string[], byName = false): Promise<MockResult> {
  const parentId = (s: TenantState) => target(s).id;
  if (rest.length === 0) {
    if (ctx.method === 'GET') {
      return ctx.store.read((s) => {
        const obj = target(s);
        return collectionResponse(ctx, (obj.federatedIdentityCredentials ?? []) as unknown as Record<string, unknown>[], FIC_SPEC, `applications('${obj.id}')/federatedIdentityCredentials`);
      });
    }
    if (ctx.method === 'POST') {
      const body = await ctx.json();
      const fic = newFic(ctx, body, requireString(body, 'name', 'federatedIdentityCredential', 120));
      const id = await ctx.store.write((state) => {
        const obj = target(state);
        addFic(obj, fic);
        return obj.id;
      });
      return created({ '@odata.context': contextUrl(ctx, `applications('${id}')/federatedIdentityCredentials/$entity`), ...fic });
    }
    throw GraphErrors.methodNotAllowed();
  }
  if (rest.length === 1) {
    const ref = rest[0]!;
    const find = (obj: StoredObject) => (obj.federatedIdentityCredentials ?? []).find((f) => (!byName && f.id === ref.toLowerCase()) || f.name === ref);
    if (ctx.method === 'GET') {
      return ctx.store.read((s) => {
        const obj = target(s);
        const fic = find(obj);
        if (!fic) throw GraphErrors.notFound(ref);
        return { status: 200, body: { '@odata.context': contextUrl(ctx, `applications('${obj.id}')/federatedIdentityCredentials/$entity`), ...fic } };
      });
    }
    if (ctx.method === 'PATCH') {
      const body = await ctx.json();
      // Upsert (GD federatedidentitycredential-upsert.md): with `Prefer: create-if-missing` a
      // missing name is created (201); without it the request is an update, as the page says.
      const upsert = byName && /(^|[,;\s])create-if-missing($|[,;\s])/i.test(ctx.header('Prefer') ?? '');
      const made = await ctx.store.write((s) => {
        const obj = target(s);
        const fic = find(obj);
        if (!fic && upsert) {
          const fresh = newFicIfMissing(ctx, body, ref);
          addFic(obj, fresh);
          return { parent: obj.id, fic: fresh };
        }
        if (!fic) throw GraphErrors.notFound(ref);
        // name is immutable (GD federatedidentitycredential-post.md); the update pages' examples
        // send it unchanged, which is accepted.
        const name = prop(body, 'name');
        if (name !== undefined && name !== fic.name) throw GraphErrors.immutableProperty('name');
        const next = { ...fic };
        const changes = Object.fromEntries(Object.entries(body).filter(([k]) => k.toLowerCase() !== 'name'));
        assignWritable(next as unknown as Record<string, unknown>, changes, ['issuer', 'subject', 'audiences', 'description'], 'federatedIdentityCredential');
        checkFicLimits(next);
        // "The combination of the values of issuer and subject must be unique on the app" (the update page too).
        if ((obj.federatedIdentityCredentials ?? []).some((f) => f !== fic && f.issuer === next.issuer && f.subject === next.subject)) {
          throw GraphErrors.badRequest('A federated identity credential with the same issuer and subject already exists for this application.');
        }
        obj.federatedIdentityCredentials = (obj.federatedIdentityCredentials ?? []).map((f) => (f === fic ? next : f));
        return undefined;
      });
      if (made) return created({ '@odata.context': contextUrl(ctx, `applications('${made.parent}')/federatedIdentityCredentials/$entity`), ...made.fic });
      return noContent();
    }
    if (ctx.method === 'DELETE') {
      await ctx.store.write((s) => {
        const obj = target(s);
        const fic = find(obj);
        if (!fic) throw GraphErrors.notFound(ref);
        obj.federatedIdentityCredentials = (obj.federatedIdentityCredentials ?? []).filter((f) => f !== fic);
      });
      return noContent();
    }
    throw GraphErrors.methodNotAllowed();
  }
  void parentId;
  throw GraphErrors.unknownSegment(rest[1]!);
}

/** The credential an upsert creates; its name comes from the URL, and a body naming another is refused. */
function newFicIfMissing(ctx: MockContext, body: Record<string, unknown>, name: string): FederatedIdentityCredential {
  const bodyName = prop(body, 'name');
  if (bodyName !== undefined && bodyName !== name) throw GraphErrors.immutableProperty('name');
  return newFic(ctx, body, name);
}

const FIC_SPEC: CollectionSpec = {
  resource: 'federatedIdentityCredential',
  filterable: { name: ['eq', 'startsWith'], subject: ['eq'], issuer: ['eq'], audiences: ['any'] },
  defaultPageSize: 100,
  maxPageSize: 100,
  advanced: false,
};

// ---------------------------------------------------------------------------------------------
// inheritable permissions (GD v1.0 agentidentityblueprint-{post,list,delete}-inheritablepermissions.md)

const INHERITABLE_SPEC: CollectionSpec = {
  resource: 'inheritablePermission',
  filterable: { resourceAppId: ['eq', 'in'] },
  defaultPageSize: 100,
  maxPageSize: 100,
  advanced: false,
};

function parseScopes(raw: unknown): InheritablePermission['inheritableScopes'] {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw GraphErrors.missingProperty('inheritableScopes', 'inheritablePermission');
  const r = raw as Record<string, unknown>;
  const type = String(r['@odata.type'] ?? '').replace(/^#/, '').toLowerCase();
  if (type === 'microsoft.graph.enumeratedscopes') {
    const scopes = r.scopes;
    if (!Array.isArray(scopes) || scopes.length === 0 || scopes.some((s) => typeof s !== 'string' || !s.trim())) {
      throw GraphErrors.badRequest("Invalid value specified for property 'scopes' of resource 'enumeratedScopes': a non-empty list of scope names is required.");
    }
    return { '@odata.type': '#microsoft.graph.enumeratedScopes', kind: 'enumerated', scopes: [...new Set(scopes as string[])] };
  }
  if (type === 'microsoft.graph.allallowedscopes') return { '@odata.type': '#microsoft.graph.allAllowedScopes', kind: 'allAllowed' };
  if (type === 'microsoft.graph.noscopes') return { '@odata.type': '#microsoft.graph.noScopes', kind: 'none' };
  throw GraphErrors.badRequest("Invalid value specified for property 'inheritableScopes': '@odata.type' must be microsoft.graph.enumeratedScopes, microsoft.graph.allAllowedScopes or microsoft.graph.noScopes.");
}

async function inheritableRoute(ctx: MockContext, target: (s: TenantState) => StoredObject, rest: string[]): Promise<MockResult> {
  if (rest.length === 0) {
    if (ctx.method === 'GET') {
      return ctx.store.read((s) => {
        const obj = target(s);
        return collectionResponse(ctx, (obj.inheritablePermissions ?? []) as unknown as Record<string, unknown>[], INHERITABLE_SPEC, `applications('${obj.id}')/inheritablePermissions`);
      });
    }
    if (ctx.method === 'POST') {
      const body = await ctx.json();
      const resourceAppId = requireString(body, 'resourceAppId', 'inheritablePermission');
      if (!GUID_RE.test(resourceAppId)) throw GraphErrors.invalidValue('resourceAppId');
      const perm: InheritablePermission = { resourceAppId: resourceAppId.toLowerCase(), inheritableScopes: parseScopes(prop(body, 'inheritableScopes')) };
      const id = await ctx.store.write((state) => {
        const obj = target(state);
        const list = obj.inheritablePermissions ?? [];
        if (list.some((p) => p.resourceAppId === perm.resourceAppId)) throw GraphErrors.duplicateValue('resourceAppId');
        obj.inheritablePermissions = [...list, perm];
        return obj.id;
      });
      // The documented 201 carries the entity's @odata.type (GD v1.0
      // agentidentityblueprint-post-inheritablepermissions.md; test/conformance case 05).
      return created({ '@odata.context': contextUrl(ctx, `applications('${id}')/inheritablePermissions/$entity`), '@odata.type': '#microsoft.graph.inheritablePermission', ...perm });
    }
    throw GraphErrors.methodNotAllowed();
  }
  if (rest.length === 1) {
    const resourceAppId = rest[0]!.toLowerCase();
    const find = (obj: StoredObject) => (obj.inheritablePermissions ?? []).find((p) => p.resourceAppId === resourceAppId);
    if (ctx.method === 'GET') {
      return ctx.store.read((s) => {
        const obj = target(s);
        const p = find(obj);
        if (!p) throw GraphErrors.notFound(rest[0]!);
        return { status: 200, body: { '@odata.context': contextUrl(ctx, `applications('${obj.id}')/inheritablePermissions/$entity`), ...p } };
      });
    }
    if (ctx.method === 'PATCH') {
      // Used by the Agent 365 CLI; no docs page describes it [UNCONFIRMED]: replaces the scopes.
      const body = await ctx.json();
      const scopes = parseScopes(prop(body, 'inheritableScopes'));
      await ctx.store.write((s) => {
        const obj = target(s);
        const p = find(obj);
        if (!p) throw GraphErrors.notFound(rest[0]!);
        obj.inheritablePermissions = (obj.inheritablePermissions ?? []).map((x) => (x === p ? { ...p, inheritableScopes: scopes } : x));
      });
      return noContent();
    }
    if (ctx.method === 'DELETE') {
      await ctx.store.write((s) => {
        const obj = target(s);
        const p = find(obj);
        if (!p) throw GraphErrors.notFound(rest[0]!);
        obj.inheritablePermissions = (obj.inheritablePermissions ?? []).filter((x) => x !== p);
      });
      return noContent();
    }
    throw GraphErrors.methodNotAllowed();
  }
  throw GraphErrors.unknownSegment(rest[1]!);
}
