import { z } from 'zod';
import type { GraphClient } from './client.js';
import { parseList } from './models.js';
import { odataString } from './paths.js';

// Delegated permission grants and app role assignments of agent identities and blueprint
// principals: GD v1.0 oauth2permissiongrant-{list,post,delete}.md (DelegatedPermissionGrant.ReadWrite.All)
// and serviceprincipal-{list,post,delete}-approleassignments.md (AppRoleAssignment.ReadWrite.All).
// Paths are built here so that bulk.ts, its $batch requests and the emulator agree on them.

export const Grant = z.looseObject({
  id: z.string(),
  clientId: z.string(),
  consentType: z.string(),
  principalId: z.string().nullable().optional(),
  resourceId: z.string(),
  scope: z.string().nullable().optional(),
});
export type Grant = z.infer<typeof Grant>;

export const AppRoleAssignment = z.looseObject({
  id: z.string(),
  appRoleId: z.string(),
  principalId: z.string(),
  resourceId: z.string(),
  principalDisplayName: z.string().nullable().optional(),
  resourceDisplayName: z.string().nullable().optional(),
});
export type AppRoleAssignment = z.infer<typeof AppRoleAssignment>;

/** What a grant is, without its id: enough to create it again. */
export interface GrantSpec {
  clientId: string;
  consentType: string;
  principalId: string | null;
  resourceId: string;
  scope: string;
}

export interface AssignmentSpec {
  principalId: string;
  resourceId: string;
  appRoleId: string;
}

export const grantPaths = {
  grants: () => '/oauth2PermissionGrants',
  grant: (id: string) => `/oauth2PermissionGrants/${encodeURIComponent(id)}`,
  principalGrants: (spId: string) => `/servicePrincipals/${spId}/oauth2PermissionGrants`,
  assignments: (spId: string) => `/servicePrincipals/${spId}/appRoleAssignments`,
  assignment: (spId: string, id: string) => `/servicePrincipals/${spId}/appRoleAssignments/${encodeURIComponent(id)}`,
};

export function grantSpec(g: Grant): GrantSpec {
  return { clientId: g.clientId, consentType: g.consentType, principalId: g.principalId ?? null, resourceId: g.resourceId, scope: g.scope ?? '' };
}

/** The create body: an AllPrincipals grant carries no principalId. */
export function grantBody(g: GrantSpec): Record<string, unknown> {
  return { clientId: g.clientId, consentType: g.consentType, ...(g.consentType === 'Principal' ? { principalId: g.principalId } : {}), resourceId: g.resourceId, scope: g.scope };
}

export async function listGrantsOf(client: GraphClient, spId: string): Promise<Grant[]> {
  return parseList(Grant, await client.list(grantPaths.principalGrants(spId)), 'oauth2PermissionGrant');
}

/** The grant with this client, resource, consent type and user, if there is one. */
export async function findGrant(client: GraphClient, g: GrantSpec): Promise<Grant | undefined> {
  const clauses = [`clientId eq ${odataString(g.clientId)}`, `consentType eq ${odataString(g.consentType)}`, `resourceId eq ${odataString(g.resourceId)}`];
  const found = parseList(Grant, await client.list(grantPaths.grants(), { query: { $filter: clauses.join(' and ') } }), 'oauth2PermissionGrant');
  return found.find((x) => (x.principalId ?? null) === (g.principalId ?? null));
}

export async function listAssignmentsOf(client: GraphClient, spId: string): Promise<AppRoleAssignment[]> {
  return parseList(AppRoleAssignment, await client.list(grantPaths.assignments(spId)), 'appRoleAssignment');
}

export async function findAssignment(client: GraphClient, a: AssignmentSpec): Promise<AppRoleAssignment | undefined> {
  const all = await listAssignmentsOf(client, a.principalId);
  return all.find((x) => x.resourceId.toLowerCase() === a.resourceId.toLowerCase() && x.appRoleId.toLowerCase() === a.appRoleId.toLowerCase());
}
