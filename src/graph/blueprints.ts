import { randomUUID } from 'node:crypto';
import type { GraphClient } from './client.js';
import { UsageError } from '../errors.js';
import { summarizeKeyCredential, type CertificateInfo, type CertificateSummary } from './certificates.js';
import { GraphRequestError } from './errors.js';
import {
  Blueprint,
  BlueprintPrincipal,
  FederatedIdentityCredential,
  InheritablePermission,
  KeyCredential,
  PasswordCredential,
  parseAs,
  parseList,
} from './models.js';
import { directoryObjectRef, paths } from './paths.js';
import type { PrincipalRef } from './directory.js';

export interface CreateBlueprintInput {
  displayName: string;
  description?: string | undefined;
  uniqueName?: string | undefined;
  sponsors: PrincipalRef[];
  owners: PrincipalRef[];
}

export interface CreateBlueprintResult {
  blueprint: Blueprint;
  principal: BlueprintPrincipal;
  /** False when --unique-name found an existing blueprint (and principal). */
  created: boolean;
  principalCreated: boolean;
}

function binds(client: GraphClient, refs: PrincipalRef[]): string[] {
  return refs.map((r) => directoryObjectRef(client.baseUrl, client.version, r.kind === 'group' ? 'groups' : 'users', r.id));
}

/**
 * A blueprint and its principal: both are needed before any agent identity can exist
 * (AgentIdentity_AgentBlueprintPrincipalDoesNotExist). With a uniqueName the call is
 * idempotent: an existing blueprint is returned unchanged, and a missing principal (a run
 * that died between the two writes) is created. Without one, a failure to create the
 * principal deletes the blueprint again, so nothing is left half-written.
 */
export async function createBlueprint(client: GraphClient, input: CreateBlueprintInput): Promise<CreateBlueprintResult> {
  const body: Record<string, unknown> = {
    displayName: input.displayName,
    ...(input.description !== undefined ? { description: input.description } : {}),
    'sponsors@odata.bind': binds(client, input.sponsors),
    ...(input.owners.length ? { 'owners@odata.bind': binds(client, input.owners) } : {}),
  };
  let blueprint: Blueprint;
  let created = true;
  if (input.uniqueName) {
    const existing = await getBlueprintByUniqueName(client, input.uniqueName);
    if (existing) {
      blueprint = existing;
      created = false;
    } else {
      // Upsert (GD agentidentityblueprint-upsert.md): if another run created it meanwhile,
      // Graph answers 204 and we read it back.
      const res = await client.request<unknown>('PATCH', paths.blueprintByUniqueName(input.uniqueName), {
        body,
        headers: { Prefer: 'create-if-missing' },
      });
      if (res.status === 201) blueprint = parseAs(Blueprint, res.body, 'blueprint');
      else {
        blueprint = (await getBlueprintByUniqueName(client, input.uniqueName))!;
        created = false;
      }
    }
  } else {
    blueprint = parseAs(Blueprint, await client.post(paths.blueprints(), body), 'blueprint');
  }
  const existingPrincipal = created ? undefined : await getPrincipalByAppId(client, blueprint.appId);
  if (existingPrincipal) return { blueprint, principal: existingPrincipal, created, principalCreated: false };
  try {
    const principal = parseAs(BlueprintPrincipal, await client.post(paths.principals(), { appId: blueprint.appId }), 'blueprint principal');
    return { blueprint, principal, created, principalCreated: true };
  } catch (err) {
    if (created && !input.uniqueName) await client.delete(paths.blueprint(blueprint.id)).catch(() => undefined);
    throw err;
  }
}

export async function listBlueprints(client: GraphClient, opts: { top?: number | undefined; filter?: string | undefined; search?: string | undefined } = {}): Promise<Blueprint[]> {
  const { listRequest } = await import('./listQuery.js');
  const { query, headers } = listRequest([], opts);
  const items = await client.list<unknown>(paths.blueprints(), { top: opts.top, query, ...(headers ? { headers } : {}) });
  return parseList(Blueprint, items, 'blueprint');
}

export async function getBlueprint(client: GraphClient, id: string): Promise<Blueprint> {
  return parseAs(Blueprint, await client.get(paths.blueprint(id)), 'blueprint');
}

export async function getBlueprintByAppId(client: GraphClient, appId: string): Promise<Blueprint | undefined> {
  return orUndefined(async () => parseAs(Blueprint, await client.get(paths.blueprintByAppId(appId)), 'blueprint'));
}

export async function getBlueprintByUniqueName(client: GraphClient, uniqueName: string): Promise<Blueprint | undefined> {
  return orUndefined(async () => parseAs(Blueprint, await client.get(paths.blueprintByUniqueName(uniqueName)), 'blueprint'));
}

export async function updateBlueprint(client: GraphClient, id: string, patch: { displayName?: string; description?: string | null; tags?: string[] }): Promise<void> {
  await client.patch(paths.blueprint(id), patch);
}

export async function deleteBlueprint(client: GraphClient, id: string): Promise<void> {
  await client.delete(paths.blueprint(id));
}

export async function getPrincipalByAppId(client: GraphClient, appId: string): Promise<BlueprintPrincipal | undefined> {
  return orUndefined(async () => parseAs(BlueprintPrincipal, await client.get(paths.principalByAppId(appId)), 'blueprint principal'));
}

export async function setPrincipalEnabled(client: GraphClient, principalId: string, enabled: boolean): Promise<void> {
  await client.patch(paths.principal(principalId), { accountEnabled: enabled });
}

// --- credentials -----------------------------------------------------------------------------

export async function addPassword(client: GraphClient, blueprintId: string, input: { displayName?: string | undefined; endDateTime?: string | undefined }): Promise<PasswordCredential> {
  const passwordCredential: Record<string, unknown> = {};
  if (input.displayName) passwordCredential.displayName = input.displayName;
  if (input.endDateTime) passwordCredential.endDateTime = input.endDateTime;
  return parseAs(PasswordCredential, await client.post(`${paths.blueprint(blueprintId)}/addPassword`, { passwordCredential }), 'password credential');
}

export async function removePassword(client: GraphClient, blueprintId: string, keyId: string): Promise<void> {
  await client.post(`${paths.blueprint(blueprintId)}/removePassword`, { keyId });
}

// --- certificates (keyCredentials) -------------------------------------------------------------
//
// Added and removed with PATCH keyCredentials, as az does (`az ad app credential reset --cert
// --append`): addKey/removeKey need a proof-of-possession JWT signed by a certificate the blueprint
// already holds, and "blueprints that don't have any existing valid certificates … won't be able to
// use this service action" (GD v1.0 agentidentityblueprint-addkey.md). The PATCH replaces the whole
// collection, so the existing credentials are sent back with their keys, and the keys are only
// returned by a single-object GET with $select=keyCredentials (resources/keycredential.md). Graph
// has no ETag on applications: two concurrent adds can lose one; the command re-reads after its
// write and says what the blueprint holds.

const CREDENTIALS = { $select: 'id,displayName,keyCredentials,passwordCredentials' };

export interface BlueprintCredentials {
  keyCredentials: KeyCredential[];
  passwordCredentials: PasswordCredential[];
}

export async function getCredentials(client: GraphClient, blueprintId: string): Promise<BlueprintCredentials> {
  const b = parseAs(Blueprint.pick({ keyCredentials: true, passwordCredentials: true }), await client.get(paths.blueprint(blueprintId), { query: CREDENTIALS }), 'blueprint');
  return { keyCredentials: b.keyCredentials ?? [], passwordCredentials: b.passwordCredentials ?? [] };
}

/** The fields of keyCredential (keycredential.md), as read, for sending back unchanged. */
function asWritten(k: KeyCredential): Record<string, unknown> {
  const { customKeyIdentifier, displayName, endDateTime, key, keyId, startDateTime, type, usage } = k;
  return { customKeyIdentifier, displayName, endDateTime, key, keyId, startDateTime, type, usage };
}

/**
 * Registers a public certificate. What Graph asks of each keyCredential in the PATCH
 * (applications-how-to-add-certificate.md): type AsymmetricX509Cert, usage Verify, key the base64
 * DER, displayName the subject. keyId is ours so the new credential can be found again;
 * customKeyIdentifier and the dates are left to Graph, which derives them from the certificate.
 */
export async function addCertificate(client: GraphClient, blueprintId: string, cert: CertificateInfo, displayName: string): Promise<CertificateSummary> {
  const { keyCredentials } = await getCredentials(client, blueprintId);
  const same = keyCredentials.find((k) => summarizeKeyCredential(k).thumbprint === cert.thumbprint);
  if (same) throw new UsageError(`This certificate (thumbprint ${cert.thumbprint}) is already registered as keyId ${same.keyId}; nothing to add.`);
  const keyId = randomUUID();
  const added = { keyId, type: 'AsymmetricX509Cert', usage: 'Verify', key: cert.der.toString('base64'), displayName };
  await client.patch(paths.blueprint(blueprintId), { keyCredentials: [...keyCredentials.map(asWritten), added] });
  const now = (await getCredentials(client, blueprintId)).keyCredentials.find((k) => k.keyId.toLowerCase() === keyId);
  return summarizeKeyCredential(now ?? added);
}

export async function removeCertificate(client: GraphClient, blueprintId: string, keyId: string): Promise<void> {
  const { keyCredentials } = await getCredentials(client, blueprintId);
  const rest = keyCredentials.filter((k) => k.keyId.toLowerCase() !== keyId.toLowerCase());
  if (rest.length === keyCredentials.length) return;
  await client.patch(paths.blueprint(blueprintId), { keyCredentials: rest.map(asWritten) });
}

export async function listFederatedCredentials(client: GraphClient, blueprintId: string): Promise<FederatedIdentityCredential[]> {
  return parseList(FederatedIdentityCredential, await client.list(`${paths.blueprint(blueprintId)}/federatedIdentityCredentials`), 'federated identity credential');
}

export async function addFederatedCredential(
  client: GraphClient,
  blueprintId: string,
  input: { name: string; issuer: string; subject: string; audiences: string[]; description?: string | undefined },
): Promise<FederatedIdentityCredential> {
  return parseAs(FederatedIdentityCredential, await client.post(`${paths.blueprint(blueprintId)}/federatedIdentityCredentials`, input), 'federated identity credential');
}

export async function removeFederatedCredential(client: GraphClient, blueprintId: string, idOrName: string): Promise<void> {
  await client.delete(`${paths.blueprint(blueprintId)}/federatedIdentityCredentials/${encodeURIComponent(idOrName)}`);
}

// --- inheritable permissions -----------------------------------------------------------------

export type ScopeSelection = { kind: 'enumerated'; scopes: string[] } | { kind: 'allAllowed' } | { kind: 'none' };

export async function listInheritablePermissions(client: GraphClient, blueprintId: string): Promise<InheritablePermission[]> {
  return parseList(InheritablePermission, await client.list(`${paths.blueprint(blueprintId)}/inheritablePermissions`), 'inheritable permission');
}

export async function addInheritablePermission(client: GraphClient, blueprintId: string, resourceAppId: string, scopes: ScopeSelection): Promise<InheritablePermission> {
  const inheritableScopes =
    scopes.kind === 'enumerated'
      ? { '@odata.type': 'microsoft.graph.enumeratedScopes', scopes: scopes.scopes }
      : scopes.kind === 'allAllowed'
        ? { '@odata.type': 'microsoft.graph.allAllowedScopes' }
        : { '@odata.type': 'microsoft.graph.noScopes' };
  return parseAs(
    InheritablePermission,
    await client.post(`${paths.blueprint(blueprintId)}/inheritablePermissions`, { resourceAppId, inheritableScopes }),
    'inheritable permission',
  );
}

/**
 * Changes the scopes inherited of a resource that already has an inheritablePermission. The
 * reference pages document POST and DELETE only (the PATCH the Agent 365 CLI sends has no page),
 * so this deletes and re-adds; if the re-add fails, the previous scopes are put back.
 */
export async function replaceInheritablePermission(client: GraphClient, blueprintId: string, existing: InheritablePermission, scopes: ScopeSelection): Promise<InheritablePermission> {
  await removeInheritablePermission(client, blueprintId, existing.resourceAppId);
  try {
    return await addInheritablePermission(client, blueprintId, existing.resourceAppId, scopes);
  } catch (err) {
    const kind = existing.inheritableScopes.kind;
    const previous: ScopeSelection = kind === 'allAllowed' ? { kind: 'allAllowed' } : kind === 'enumerated' ? { kind: 'enumerated', scopes: existing.inheritableScopes.scopes ?? [] } : { kind: 'none' };
    await addInheritablePermission(client, blueprintId, existing.resourceAppId, previous).catch(() => undefined);
    throw err;
  }
}

export async function removeInheritablePermission(client: GraphClient, blueprintId: string, resourceAppId: string): Promise<void> {
  await client.delete(`${paths.blueprint(blueprintId)}/inheritablePermissions/${resourceAppId}`);
}

/** undefined for a 404, the error for anything else. */
export async function orUndefined<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof GraphRequestError && err.status === 404) return undefined;
    throw err;
  }
}
