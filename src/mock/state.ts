// The emulated tenant's state: plain JSON, so that it persists as one file and a snapshot is a
// deep copy. Handlers reach it only through the Store interface (store.ts).

/** Canonical names of the types the emulator stores (the part after `microsoft.graph.`). */
export type EntityType =
  | 'user'
  | 'agentUser'
  | 'group'
  | 'application'
  | 'agentIdentityBlueprint'
  | 'servicePrincipal'
  | 'agentIdentityBlueprintPrincipal'
  | 'agentIdentity';

/** The entity set each type lives in, and the base type a cast must derive from. */
export const ENTITY_SET_OF: Record<EntityType, 'users' | 'groups' | 'applications' | 'servicePrincipals'> = {
  user: 'users',
  agentUser: 'users',
  group: 'groups',
  application: 'applications',
  agentIdentityBlueprint: 'applications',
  servicePrincipal: 'servicePrincipals',
  agentIdentityBlueprintPrincipal: 'servicePrincipals',
  agentIdentity: 'servicePrincipals',
};

export const BASE_TYPE_OF: Record<EntityType, EntityType | null> = {
  user: null,
  agentUser: 'user',
  group: null,
  application: null,
  agentIdentityBlueprint: 'application',
  servicePrincipal: null,
  agentIdentityBlueprintPrincipal: 'servicePrincipal',
  agentIdentity: 'servicePrincipal',
};

/** True when `type` is `ancestor` or derives from it. */
export function isA(type: EntityType, ancestor: EntityType): boolean {
  for (let t: EntityType | null = type; t; t = BASE_TYPE_OF[t]) if (t === ancestor) return true;
  return false;
}

export interface FederatedIdentityCredential {
  id: string;
  name: string;
  issuer: string;
  subject: string;
  audiences: string[];
  description: string | null;
}

export interface InheritablePermission {
  resourceAppId: string;
  inheritableScopes:
    | { '@odata.type': '#microsoft.graph.enumeratedScopes'; kind: 'enumerated'; scopes: string[] }
    | { '@odata.type': '#microsoft.graph.allAllowedScopes'; kind: 'allAllowed' }
    | { '@odata.type': '#microsoft.graph.noScopes'; kind: 'none' };
}

export interface DirectoryRoleAssignment {
  principalId: string;
  roleTemplateId: string;
  roleName: string;
}

export interface StoredObject {
  id: string;
  type: EntityType;
  /** Public Graph properties except `id` and `@odata.type`. Secrets never live here. */
  props: Record<string, unknown>;
  owners?: string[];
  sponsors?: string[];
  /** A group's members (ids of users), read by GET /groups/{id}/members. */
  members?: string[];
  federatedIdentityCredentials?: FederatedIdentityCredential[];
  inheritablePermissions?: InheritablePermission[];
  /** Set when soft-deleted: the object then lives only in /directory/deletedItems. */
  deletedDateTime?: string;
}

/** A delegated permission grant (GD v1.0 resources/oauth2permissiongrant.md). */
export interface OAuth2PermissionGrant {
  id: string;
  clientId: string;
  consentType: 'AllPrincipals' | 'Principal';
  principalId: string | null;
  resourceId: string;
  scope: string;
}

/** An app role assigned to a service principal (GD v1.0 resources/approleassignment.md). */
export interface AppRoleAssignment {
  id: string;
  appRoleId: string;
  createdDateTime: string;
  principalId: string;
  principalType: 'ServicePrincipal' | 'User' | 'Group';
  resourceId: string;
}

export interface TenantState {
  schemaVersion: 1;
  tenant: { id: string; displayName: string; defaultDomain: string; verifiedDomains: string[] };
  /** The user the in-process emulator acts as when no token says otherwise (issue #3 adds tokens). */
  signedInUserId: string;
  roleAssignments: DirectoryRoleAssignment[];
  objects: Record<string, StoredObject>;
  /** Issue #4. Optional so that state files written before it still load (schema version 1). */
  oauth2PermissionGrants?: Record<string, OAuth2PermissionGrant>;
  appRoleAssignments?: Record<string, AppRoleAssignment>;
  /** Sign-in material (issue #3, src/mock/auth.ts). Optional so older state files still load;
   * created on first use. Never part of any Graph response. */
  auth?: AuthState;
  /** Issue #13 (src/mock/conditionalAccess.ts, handlers/identity.ts). Optional, like the fields
   * above, so state files written before it still load under schema version 1: absent means none. */
  conditionalAccessPolicies?: Record<string, Record<string, unknown>>;
  /** Issue #13 (handlers/identityProtection.ts): Graph-shaped riskyAgent rows, keyed by the
   * agent object's id, and agentRiskDetection rows keyed by their own id. */
  riskyAgents?: Record<string, Record<string, unknown>>;
  agentRiskDetections?: Record<string, Record<string, unknown>>;
  /** Issue #13, the at-scale targeting of agents (src/mock/customSecurityAttributes.ts): attribute
   * sets keyed by their id (the name), definitions keyed by their id (`{set}_{name}`). The values
   * assigned to an object live in its props.customSecurityAttributes. */
  attributeSets?: Record<string, Record<string, unknown>>;
  customSecurityAttributeDefinitions?: Record<string, Record<string, unknown>>;
}

export interface AuthState {
  /** The tenant's token-signing key (RS256). Fixture exports must leave it out. */
  signingKey?: { kid: string; privateKeyPem: string; publicKeyPem: string };
  /** Client secrets of emulated apps, as salted SHA-256 hashes: the plain text is returned once
   * by addPassword (or lives in test code for the seeded apps) and is never stored. */
  secrets: { appId: string; keyId: string; salt: string; sha256: string; endDateTime: string }[];
  /** Microsoft Graph application permissions granted to each app (by appId): what an
   * appRoleAssignment to the Graph service principal gives a real app; they become the
   * `roles` claim of its app-only tokens. */
  appPermissions: Record<string, string[]>;
}

export const STATE_SCHEMA_VERSION = 1;
