import { z } from 'zod';

// zod models of what we read from Graph. Objects are loose: Graph returns (and --output json
// passes on) every property, while we validate the ones our code relies on. A response that
// lacks one of those is a contract break we want to hear about, not a silent undefined.

export const DirectoryObject = z.looseObject({
  '@odata.type': z.string().optional(),
  id: z.string(),
  displayName: z.string().nullable().optional(),
});
export type DirectoryObject = z.infer<typeof DirectoryObject>;

export const PasswordCredential = z.looseObject({
  keyId: z.string(),
  displayName: z.string().nullable().optional(),
  hint: z.string().nullable().optional(),
  startDateTime: z.string().nullable().optional(),
  endDateTime: z.string().nullable().optional(),
  secretText: z.string().nullable().optional(),
});
export type PasswordCredential = z.infer<typeof PasswordCredential>;

// GD v1.0 resources/keycredential.md. `key` is null except on a single object's GET with $select=keyCredentials.
export const KeyCredential = z.looseObject({
  keyId: z.string(),
  displayName: z.string().nullable().optional(),
  type: z.string().nullable().optional(),
  usage: z.string().nullable().optional(),
  key: z.string().nullable().optional(),
  customKeyIdentifier: z.string().nullable().optional(),
  startDateTime: z.string().nullable().optional(),
  endDateTime: z.string().nullable().optional(),
});
export type KeyCredential = z.infer<typeof KeyCredential>;

export const Blueprint = z.looseObject({
  id: z.string(),
  appId: z.string(),
  displayName: z.string().nullable(),
  description: z.string().nullable().optional(),
  uniqueName: z.string().nullable().optional(),
  createdDateTime: z.string().nullable().optional(),
  passwordCredentials: z.array(PasswordCredential).optional(),
  keyCredentials: z.array(KeyCredential).optional(),
});
export type Blueprint = z.infer<typeof Blueprint>;

export const ServicePrincipal = z.looseObject({
  '@odata.type': z.string().optional(),
  id: z.string(),
  appId: z.string().nullable().optional(),
  displayName: z.string().nullable(),
  accountEnabled: z.boolean().nullable().optional(),
});
export type ServicePrincipal = z.infer<typeof ServicePrincipal>;

export const BlueprintPrincipal = ServicePrincipal.extend({ appId: z.string() });
export type BlueprintPrincipal = z.infer<typeof BlueprintPrincipal>;

export const AgentIdentity = z.looseObject({
  '@odata.type': z.string().optional(),
  id: z.string(),
  displayName: z.string().nullable(),
  accountEnabled: z.boolean().nullable().optional(),
  agentIdentityBlueprintId: z.string().nullable().optional(),
  createdDateTime: z.string().nullable().optional(),
  servicePrincipalType: z.string().nullable().optional(),
});
export type AgentIdentity = z.infer<typeof AgentIdentity>;

export const User = z.looseObject({
  '@odata.type': z.string().optional(),
  id: z.string(),
  displayName: z.string().nullable().optional(),
  userPrincipalName: z.string().nullable().optional(),
  accountEnabled: z.boolean().nullable().optional(),
  identityParentId: z.string().nullable().optional(),
  mailNickname: z.string().nullable().optional(),
});
export type User = z.infer<typeof User>;
export type AgentUser = User;

export const Group = z.looseObject({
  id: z.string(),
  displayName: z.string().nullable().optional(),
  groupTypes: z.array(z.string()).optional(),
  isAssignableToRole: z.boolean().nullable().optional(),
});
export type Group = z.infer<typeof Group>;

export const FederatedIdentityCredential = z.looseObject({
  id: z.string(),
  name: z.string(),
  issuer: z.string(),
  subject: z.string(),
  audiences: z.array(z.string()),
  description: z.string().nullable().optional(),
});
export type FederatedIdentityCredential = z.infer<typeof FederatedIdentityCredential>;

export const InheritablePermission = z.looseObject({
  resourceAppId: z.string(),
  inheritableScopes: z.looseObject({
    '@odata.type': z.string().optional(),
    kind: z.string().optional(),
    scopes: z.array(z.string()).optional(),
  }),
});
export type InheritablePermission = z.infer<typeof InheritablePermission>;

export const Organization = z.looseObject({
  id: z.string(),
  displayName: z.string().nullable().optional(),
  verifiedDomains: z.array(z.looseObject({ name: z.string(), isDefault: z.boolean().optional() })).optional(),
});
export type Organization = z.infer<typeof Organization>;

/** Parses a Graph payload; a mismatch names the model, not a zod dump. */
export function parseAs<S extends z.ZodTypeAny>(schema: S, value: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new Error(`Unexpected ${what} from Graph: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`);
  }
  return r.data;
}

export function parseList<S extends z.ZodTypeAny>(schema: S, values: unknown[], what: string): z.infer<S>[] {
  return values.map((v) => parseAs(schema, v, what));
}
