import type { EntityType, StoredObject } from './state.js';
import type { Version } from './path.js';

// What Graph returns for each type by default. Property names are those of the official models
// (@microsoft/msgraph-beta-sdk serializers; the v1.0 resource pages for v1.0): issue #6 checks
// every property we return against them. Values not set on an object come back as these
// defaults, the way Graph returns null/[] for properties an object does not use.

const verifiedPublisher = () => ({ displayName: null, verifiedPublisherId: null, addedDateTime: null });
const appInfo = () => ({ logoUrl: null, marketingUrl: null, privacyStatementUrl: null, supportUrl: null, termsOfServiceUrl: null });

const BLUEPRINT_DEFAULTS = (): Record<string, unknown> => ({
  deletedDateTime: null,
  api: { acceptMappedClaims: null, knownClientApplications: [], oauth2PermissionScopes: [], preAuthorizedApplications: [], requestedAccessTokenVersion: 2 },
  appId: null,
  appRoles: [],
  certification: null,
  createdByAppId: null,
  createdDateTime: null,
  description: null,
  disabledByMicrosoftStatus: null,
  displayName: null,
  groupMembershipClaims: null,
  identifierUris: [],
  info: appInfo(),
  keyCredentials: [],
  // On base `application` in the v1.0 CSDL, documented on the beta blueprint pages only.
  managerApplications: [],
  optionalClaims: null,
  passwordCredentials: [],
  publisherDomain: null,
  requiredResourceAccess: [],
  serviceManagementReference: null,
  signInAudience: 'AzureADMyOrg',
  tags: [],
  tokenEncryptionKeyId: null,
  uniqueName: null,
  verifiedPublisher: verifiedPublisher(),
  // redirectUriSettings: GD beta agentidentityblueprint-list.md shows it ([] on a new blueprint).
  web: { homePageUrl: null, logoutUrl: null, redirectUris: [], redirectUriSettings: [], implicitGrantSettings: { enableAccessTokenIssuance: false, enableIdTokenIssuance: false } },
});

const SERVICE_PRINCIPAL_DEFAULTS = (): Record<string, unknown> => ({
  deletedDateTime: null,
  accountEnabled: true,
  alternativeNames: [],
  appDescription: null,
  appDisplayName: null,
  appId: null,
  appOwnerOrganizationId: null,
  appRoleAssignmentRequired: false,
  appRoles: [],
  createdByAppId: null,
  description: null,
  disabledByMicrosoftStatus: null,
  displayName: null,
  homepage: null,
  info: appInfo(),
  keyCredentials: [],
  loginUrl: null,
  logoutUrl: null,
  notes: null,
  notificationEmailAddresses: [],
  oauth2PermissionScopes: [],
  passwordCredentials: [],
  preferredSingleSignOnMode: null,
  // GD v1.0 agentidentityblueprintprincipal-post.md returns it (the tenant's name for a principal of a local app).
  publisherName: null,
  replyUrls: [],
  servicePrincipalNames: [],
  servicePrincipalType: 'Application',
  signInAudience: null,
  tags: [],
  tokenEncryptionKeyId: null,
  verifiedPublisher: verifiedPublisher(),
});

// agentIdentity exposes a narrow subset of servicePrincipal (GD v1.0 resources/agentidentity.md).
const AGENT_IDENTITY_DEFAULTS = (): Record<string, unknown> => ({
  deletedDateTime: null,
  accountEnabled: true,
  agentIdentityBlueprintId: null,
  createdByAppId: null,
  createdDateTime: null,
  disabledByMicrosoftStatus: null,
  displayName: null,
  servicePrincipalType: 'ServiceIdentity',
  tags: [],
});
const AGENT_IDENTITY_BETA_EXTRAS = (): Record<string, unknown> => ({ appRoleAssignmentRequired: false });

// Graph returns only this set of user properties unless $select asks for more.
export const USER_DEFAULT_SELECT = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
];

// Writable user properties the agentUser pages list (GD v1.0 agentuser-update.md) are here too, so
// that an agent user's view keeps what was written.
const USER_DEFAULTS = (): Record<string, unknown> => ({
  deletedDateTime: null,
  accountEnabled: true,
  businessPhones: [],
  city: null,
  companyName: null,
  country: null,
  createdDateTime: null,
  department: null,
  displayName: null,
  employeeId: null,
  employeeType: null,
  givenName: null,
  // Sign-in identities (GD v1.0 resources/user.md); a member signs in with its UPN (user-get.md example 3).
  identities: [],
  identityParentId: null,
  jobTitle: null,
  mail: null,
  mailNickname: null,
  mobilePhone: null,
  officeLocation: null,
  otherMails: [],
  postalCode: null,
  preferredLanguage: null,
  proxyAddresses: [],
  // Moved to now by revokeSignInSessions (GD v1.0 resources/user.md; issue #4's bulk revoke --sessions).
  signInSessionsValidFromDateTime: null,
  state: null,
  streetAddress: null,
  surname: null,
  usageLocation: null,
  userPrincipalName: null,
  userType: 'Member',
});

// The default property set of GD v1.0 group-get.md example 1.
const GROUP_DEFAULTS = (): Record<string, unknown> => ({
  deletedDateTime: null,
  classification: null,
  createdDateTime: null,
  description: null,
  displayName: null,
  expirationDateTime: null,
  groupTypes: [],
  isAssignableToRole: null,
  mail: null,
  mailEnabled: false,
  mailNickname: null,
  membershipRule: null,
  membershipRuleProcessingState: null,
  onPremisesDomainName: null,
  onPremisesLastSyncDateTime: null,
  onPremisesNetBiosName: null,
  onPremisesSamAccountName: null,
  onPremisesSecurityIdentifier: null,
  onPremisesSyncEnabled: null,
  preferredDataLocation: null,
  preferredLanguage: null,
  proxyAddresses: [],
  renewedDateTime: null,
  resourceBehaviorOptions: [],
  resourceProvisioningOptions: [],
  securityEnabled: true,
  securityIdentifier: null,
  theme: null,
  visibility: null,
  onPremisesProvisioningErrors: [],
});

const DEFAULTS: Record<EntityType, () => Record<string, unknown>> = {
  agentIdentityBlueprint: BLUEPRINT_DEFAULTS,
  application: BLUEPRINT_DEFAULTS,
  agentIdentityBlueprintPrincipal: SERVICE_PRINCIPAL_DEFAULTS,
  servicePrincipal: SERVICE_PRINCIPAL_DEFAULTS,
  agentIdentity: AGENT_IDENTITY_DEFAULTS,
  user: USER_DEFAULTS,
  agentUser: USER_DEFAULTS,
  group: GROUP_DEFAULTS,
};

/** Derived types carry `@odata.type` in every response; base types only where Graph adds it
 * (collections of directoryObjects, e.g. owners and sponsors). */
const DERIVED: ReadonlySet<EntityType> = new Set(['agentIdentityBlueprint', 'agentIdentityBlueprintPrincipal', 'agentIdentity', 'agentUser']);

export interface ViewOptions {
  /** Add `@odata.type` even for base types (directoryObject collections). */
  withType?: boolean;
}

/** The JSON Graph returns for a stored object, every default property filled in. */
export function view(obj: StoredObject, version: Version, opts: ViewOptions = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (DERIVED.has(obj.type) || opts.withType) out['@odata.type'] = `#microsoft.graph.${obj.type}`;
  out.id = obj.id;
  const defaults = DEFAULTS[obj.type]();
  if (obj.type === 'agentIdentity' && version === 'beta') Object.assign(defaults, AGENT_IDENTITY_BETA_EXTRAS());
  Object.assign(out, defaults);
  for (const [k, v] of Object.entries(obj.props)) {
    if (k in defaults || obj.type === 'user' || obj.type === 'group' || obj.type === 'servicePrincipal' || obj.type === 'application') out[k] = v;
  }
  if (obj.deletedDateTime) out.deletedDateTime = obj.deletedDateTime;
  // keyCredential.key is "returned only on $select for a single object …; otherwise, it is always
  // null" (GD v1.0 resources/keycredential.md). That one GET puts it back (mock/keyCredentials.ts).
  if (Array.isArray(out.keyCredentials)) out.keyCredentials = (out.keyCredentials as Record<string, unknown>[]).map((k) => ({ ...k, key: null }));
  // Beta renamed servicePrincipal.oauth2PermissionScopes to publishedPermissionScopes.
  if (version === 'beta' && 'oauth2PermissionScopes' in out && obj.type !== 'agentIdentity') {
    out.publishedPermissionScopes = out.oauth2PermissionScopes;
    delete out.oauth2PermissionScopes;
  }
  return out;
}

/** Properties a client may never write on any of our types. */
export const READ_ONLY_PROPERTIES = new Set([
  'id',
  'appid', // on PATCH; creation sets it
  'createdbyappid',
  'createddatetime',
  'deleteddatetime',
  'disabledbymicrosoftstatus',
  'publisherdomain',
  'passwordcredentials',
]);
