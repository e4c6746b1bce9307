// The one place where the emulator's errors are made. Every status, code and message the
// emulator can answer with is fixed here, one function per Graph error, so that handlers never
// spell a code or a status themselves (Azurite's StorageErrorFactory is the model).
//
// Wording: the directory codes and messages follow what Graph answers (GD concepts/errors.md and
// observed responses quoted in microsoft-graph-docs issues, e.g. "Resource '{id}' does not exist
// or one of its queried reference-property objects are not present.", "Resource not found for
// the segment '{segment}'."). The agent-specific codes come from entra-docs
// docs/agent-id/error-codes.md, which documents codes but not HTTP statuses: we answer 400 for
// validation failures there, which is what the generic directory validation errors use.

export class MockGraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'MockGraphError';
  }
}

// What Graph sends with every 401 (observed on graph.microsoft.com responses).
const WWW_AUTHENTICATE = {
  'WWW-Authenticate': 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"',
};

const make = (status: number, code: string, message: string, headers?: Record<string, string>) =>
  new MockGraphError(status, code, message, headers);

export const GraphErrors = {
  // 400 — request shape
  badRequest: (message: string) => make(400, 'Request_BadRequest', message),
  invalidRequest: (message: string) => make(400, 'BadRequest', message),
  unknownSegment: (segment: string) =>
    make(400, 'BadRequest', `Resource not found for the segment '${segment}'.`),
  unsupportedQuery: (message: string) => make(400, 'Request_UnsupportedQuery', message),
  invalidJson: () => make(400, 'BadRequest', 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.'),
  missingProperty: (property: string, resource: string) =>
    make(400, 'Request_BadRequest', `A value is required for property '${property}' of resource '${resource}'.`),
  invalidValue: (property: string) =>
    make(400, 'Request_BadRequest', `Invalid value specified for property '${property}' of resource.`),
  duplicateValue: (property: string) =>
    make(400, 'Request_BadRequest', `Another object with the same value for property ${property} already exists.`),
  readOnlyProperty: (property: string) =>
    make(400, 'Request_BadRequest', `Property '${property}' is read-only and cannot be set.`),
  immutableProperty: (property: string) =>
    make(400, 'Request_BadRequest', `Property '${property}' cannot be updated.`),
  unknownProperty: (property: string, type: string) =>
    make(400, 'Request_BadRequest', `Property '${property}' does not exist on type '${type}'.`),
  invalidId: (value: string) =>
    make(400, 'Request_BadRequest', `Invalid object identifier '${value}'.`),
  referenceExists: () =>
    make(400, 'Request_BadRequest', 'One or more added object references already exist for the following modified properties: \'owners\'.'),
  sponsorReferenceExists: () =>
    make(400, 'Request_BadRequest', 'One or more added object references already exist for the following modified properties: \'sponsors\'.'),
  lastSponsor: () =>
    make(400, 'Request_BadRequest', 'At least one sponsor is required. The last sponsor of an agent object cannot be removed.'),
  invalidSponsor: (id: string) =>
    make(400, 'Request_BadRequest', `Object '${id}' cannot be a sponsor. Sponsors must be users, Microsoft 365 groups or groups with dynamic membership that are not role-assignable.`),
  tooManySponsors: () =>
    make(400, 'Request_BadRequest', 'An agent object can have at most 100 sponsors, of which at most 5 groups.'),
  sponsorRequired: () =>
    make(400, 'Request_BadRequest', "A value is required for property 'sponsors' of resource. At least one user or group sponsor must be specified."),
  odataVersionRequired: () =>
    make(400, 'BadRequest', "The '@odata.type' annotation requires the request header 'OData-Version: 4.0'."),
  castMismatch: (segment: string) =>
    make(400, 'BadRequest', `The type '${segment}' is not compatible with the type of the addressed resource.`),
  // GD beta agentidentityblueprint-update.md, Examples 3 and 4 (messages as documented).
  tooManyManagerApplications: () =>
    make(400, 'BadRequest', 'The number of ManagerApplications exceeds the limit. A blueprint can have only 10 ManagerApplications values.'),
  managerNotFirstParty: (appId: string) =>
    make(400, 'BadRequest', `Application ${appId} is not a Microsoft first-party application. Managers must be Microsoft first-party applications.`),
  batchTooLarge: () =>
    make(400, 'BadRequest', 'The number of batch requests exceeds the limit of 20.'),

  // 400 — OData query options (src/mock/odata.ts). GD here means microsoft-graph-docs-contrib
  // concepts/aad-advanced-queries.md; "observed" means a response body quoted in a GitHub issue.
  // GD (Group createdDateTime) and observed (microsoft-graph-docs-contrib#1726, ServicePrincipal).
  unsupportedFilterClause: (property: string, resource: string) =>
    make(400, 'Request_UnsupportedQuery', `Unsupported or invalid query filter clause specified for property '${property}' of resource '${resource}'.`),
  // Observed (microsoft-graph-explorer-v4#3227): ODL's position is just past the offending token.
  filterSyntaxError: (position: number, text: string) =>
    make(400, 'BadRequest', `Invalid filter clause: Syntax error at position ${position} in '${text}'.`),
  // Observed in reports of double-encoded filters ("character '%' is not valid at position 23").
  filterInvalidCharacter: (char: string, position: number, text: string) =>
    make(400, 'BadRequest', `Invalid filter clause: Syntax error: character '${char}' is not valid at position ${position} in '${text}'.`),
  // [UNCONFIRMED] ODL's wording behind Graph's "Invalid filter clause: " prefix.
  filterUnterminatedString: (position: number, text: string) =>
    make(400, 'BadRequest', `Invalid filter clause: There is an unterminated string literal at position ${position} in '${text}'.`),
  // [UNCONFIRMED] ODL's wording behind Graph's "Invalid filter clause: " prefix.
  filterUnknownFunction: (name: string) =>
    make(400, 'BadRequest', `Invalid filter clause: An unknown function with name '${name}' was found. This may also be a function import or a key lookup on a navigation property, which is not allowed.`),
  // [UNCONFIRMED] ODL's wording behind Graph's "Invalid filter clause: " prefix.
  filterFunctionSignature: (name: string) =>
    make(400, 'BadRequest', `Invalid filter clause: No function signature for the function with name '${name}' matches the specified arguments. The function signatures considered are: ${name}(Edm.String Nullable=true, Edm.String Nullable=true).`),
  // ODL's binder message (seen from many OData services); Graph's prefix on it is [UNCONFIRMED].
  filterIncompatibleTypes: (left: string, right: string, operatorKind: string) =>
    make(400, 'BadRequest', `Invalid filter clause: A binary operator with incompatible types was detected. Found operand types '${left}' and '${right}' for operator kind '${operatorKind}'.`),
  // Observed (microsoft-graph-docs#18122).
  complexQueryNotSupported: (property: string) =>
    make(400, 'Request_UnsupportedQuery', `Complex query on property ${property} is not supported.`),
  // Observed for `ne` without advanced query parameters (microsoft-graph-docs-contrib#9043, 2024).
  notEqualsNotSupported: () =>
    make(400, 'Request_UnsupportedQuery', "Filter operator 'NotEqualsMatch' is not supported."),
  // GD for endsWith; the same template for `not` is [UNCONFIRMED].
  advancedOperatorNotSupported: (operator: string) =>
    make(400, 'Request_UnsupportedQuery', `Operator '${operator}' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information`),
  // GD.
  searchRequiresConsistencyLevel: () =>
    make(400, 'Request_UnsupportedQuery', "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'"),
  // [UNCONFIRMED] no observed body for a malformed $search on directory objects.
  searchSyntaxError: (position: number, text: string) =>
    make(400, 'BadRequest', `Invalid search clause: Syntax error at position ${position} in '${text}'.`),
  // Observed: $filter with $orderby without advanced query parameters (graph-docs-contrib#3145, #4187).
  sortingNotSupported: () => make(400, 'Request_UnsupportedQuery', 'Sorting not supported for current query.'),
  // Observed: $orderby on a property sortable only in advanced queries (graph-docs-contrib#1354).
  unsupportedSortProperty: (property: string, resource: string) =>
    make(400, 'Request_UnsupportedQuery', `Unsupported sort property '${property}' for '${resource}'.`),
  // Observed: $orderby on a property that is never sortable (graph-docs-contrib#1338, #3327).
  unsupportedSortPropertyAny: () => make(400, 'Request_UnsupportedQuery', 'An unsupported property was specified.'),
  // [UNCONFIRMED] ODL's generic syntax message, used for $orderby.
  querySyntaxError: (position: number, text: string) =>
    make(400, 'BadRequest', `Syntax error at position ${position} in '${text}'.`),
  // Observed for $top=1000 on directory collections (code and message quoted in turbot steampipe azuread sources).
  invalidPageSize: (value: string, max: number) =>
    make(400, 'Request_UnsupportedQuery', `Invalid page size specified: '${value}'. Must be between 1 and ${max} inclusive.`),
  // ODL's message (ASP.NET OData tests); Graph's code for it is [UNCONFIRMED].
  invalidTop: (value: string) =>
    make(400, 'BadRequest', `Invalid value '${value}' for $top query option found. The $top query option requires a non-negative integer value.`),
  // [UNCONFIRMED] ODL-style wording.
  invalidCount: (value: string) =>
    make(400, 'BadRequest', `Invalid value '${value}' for $count query option found. Valid values are 'true' and 'false'.`),
  // Observed (microsoft-graph-docs#9279).
  skipNotSupported: () => make(400, 'Request_BadRequest', "'$skip' is not supported by the service."),
  // Observed for unknown arguments without '$' (microsoft-graph-docs#3879); for '$foo' [UNCONFIRMED].
  unrecognizedQueryArgument: (name: string) =>
    make(400, 'Request_BadRequest', `Unrecognized query argument specified: '${name}'.`),
  // [UNCONFIRMED] ODL's wording.
  duplicateQueryOption: (name: string) =>
    make(400, 'BadRequest', `Query option '${name}' was specified more than once, but it must be specified at most once.`),
  // Observed on other Graph workloads (mailFolder, attachment); for directory types [UNCONFIRMED].
  selectPropertyNotFound: (property: string, type: string) =>
    make(400, 'BadRequest', `Parsing OData Select and Expand failed: Could not find a property named '${property}' on type 'microsoft.graph.${type}'.`),
  // Observed (msgraph-sdk-dotnet users selecting @odata.type).
  selectInvalidTerm: (term: string) =>
    make(400, 'BadRequest', `Parsing OData Select and Expand failed: Term '${term}' is not valid in a $select or $expand expression.`),
  // Message observed (microsoft-graph-docs#8612, where the code was empty); the code is [UNCONFIRMED].
  invalidSkipToken: () => make(400, 'Request_BadRequest', 'Invalid Skip Token'),
  // Code and message observed (msgraph-sdk-dotnet#2254); answering it for a token replayed with a
  // different query, and the status, are [INFERRED].
  expiredPageToken: () =>
    make(400, 'Directory_ExpiredPageToken', 'The specified page token value has expired and can no longer be included in your request.'),

  // Agent ID codes (entra-docs docs/agent-id/error-codes.md)
  agent: (code: AgentErrorCode, message: string, status = 400) => make(status, code, message),
  // Messages are the descriptions in entra-docs docs/agent-id/error-codes.md (the property name
  // appended to the IncompatibleProperty ones is ours); status 400 [INFERRED].
  agentBlueprintPrincipalRequireBlueprint: () =>
    make(400, 'AgentBlueprintPrincipal_RequireAgentBlueprint', 'Agent identity blueprint principals can only be created for Agent Blueprints.'),
  agentBlueprintPrincipalIncompatibleProperty: (property: string) =>
    make(400, 'AgentBlueprintPrincipal_IncompatibleProperty', `A property specified in the request is incompatible with agent identity blueprint principals and can't be set: '${property}'.`),
  agentIdentityIncompatibleProperty: (property: string) =>
    make(400, 'AgentBlueprintPrincipal_AgentIdentity_IncompatibleProperty', `A property specified in the request is incompatible with agent identity and can't be set: '${property}'.`),
  agentBlueprintPrincipalDoesNotExist: () =>
    make(400, 'AgentIdentity_AgentBlueprintPrincipalDoesNotExist', "The required agent identity blueprint principal doesn't exist for the specified agent identity blueprint ID."),
  agentIdentityCredentialsNotSupported: () =>
    make(400, 'AgentIdentity_CredentialsNotSupported', 'Credentials are not supported for agent identities. All credentials must be added to the agent identity blueprint.'),
  agentIdentityIncompatibleParentType: () =>
    make(400, 'AgentIdentity_IncompatibleParentType', "The specified Application (AppId) isn't an Agent Blueprint. The AgentIdentityBlueprintId must be set to the AppId of a valid agent identity blueprint."),
  agentBlueprintCannotCreateAssociatedIdentity: () =>
    make(400, 'Error_AgentBlueprintCannotCreateAssociatedIdentity', "Agent identity blueprints can't create agent identities that are associated with another agent identity blueprint."),
  agentIdentitiesCreatingAgentIdentitiesNotAllowed: () =>
    make(400, 'Error_AgentIdentitiesCreatingAgentIdentitiesNotAllowed', "Agent identities can't create other agent identities."),

  // Directory errors of the servicePrincipals, users and directory handlers.
  // Observed 409 body (Azure/reliable-web-app-pattern-java#185, KelvinTegelaar/CIPP#1142): a second
  // service principal for an appId, or restoring one whose appId got a new principal meanwhile.
  servicePrincipalNameInUse: (name: string) =>
    make(409, 'Request_MultipleObjectsWithSameKeyValue', `The service principal cannot be created, updated, or restored because the service principal name ${name} is already in use.`),
  // Observed (msgraph client fixtures and scripts retrying on it): POST /servicePrincipals for an
  // appId with no application in the tenant.
  noBackingApplication: (appId: string) =>
    make(400, 'Request_BadRequest', `The appId '${appId}' of the service principal does not reference a valid application object.`),
  // Observed (Request_BadRequest quoted from a Graph client error in a public provisioning script).
  invalidUpnDomain: () =>
    make(400, 'Request_BadRequest', 'The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.'),
  // [UNCONFIRMED] wording seen in community troubleshooting tables for disallowed UPN characters.
  invalidUserPrincipalName: () => make(400, 'Request_BadRequest', 'Property userPrincipalName is invalid.'),
  // [UNCONFIRMED] GD agentuser-post.md documents a 400 here without a body.
  invalidIdentityParent: (id: string) =>
    make(400, 'Request_BadRequest', `Invalid value specified for property 'identityParentId': '${id}' is not an agent identity.`),
  // [UNCONFIRMED] agent users have no passwords (ED agent-users.md); the wording is ours.
  agentUserPropertyNotSupported: (property: string) =>
    make(400, 'Request_BadRequest', `Property '${property}' is not supported for agent users.`),
  // keyCredentials written with PATCH (GD v1.0 resources/keycredential.md; src/mock/keyCredentials.ts).
  // Observed code KeyCredentialsInvalidValue for an empty key (ansible-collections/azure#2127:
  // "KeyValue cannot be null or empty"); the same code for a key that is no certificate, with our
  // wording [UNCONFIRMED].
  keyCredentialValueMissing: () => make(400, 'KeyCredentialsInvalidValue', 'KeyValue cannot be null or empty.'),
  keyCredentialValueInvalid: () => make(400, 'KeyCredentialsInvalidValue', 'Key credential value is invalid: the key must be the base64 encoding of an X.509 certificate.'),
  // Observed message (msgraph-sdk-java#1823); the code is not in that report [UNCONFIRMED].
  keyCredentialUsageInvalid: () => make(400, 'Request_BadRequest', 'The value for the property "usage" in one of your credentials is invalid. Acceptable values are Sign, Verify.'),
  // [INFERRED] GD agentidentityblueprint-addkey.md pairs AsymmetricX509Cert with Verify and X509CertAndPassword with Sign.
  keyCredentialTypeInvalid: (type: string) =>
    make(400, 'Request_BadRequest', `Invalid value specified for property 'type' of resource 'keyCredential': '${type}' with this usage. Use AsymmetricX509Cert with usage Verify.`),
  // Observed on AAD Graph for an end date past the certificate's own (Azure/azure-rest-api-specs#11985, Azure/azure-cli#11146).
  keyCredentialEndDateInvalid: () => make(400, 'Request_BadRequest', 'Key credential end date is invalid.'),
  // Observed on AAD Graph (Azure/azure-powershell#6784): an existing keyId sent with another key.
  keyCredentialUpdateNotAllowed: () => make(400, 'Request_BadRequest', 'Update to existing credential with KeyId is not allowed.'),
  // Observed (msgraph-sdk-php#1163 and many others).
  meRequiresDelegated: () => make(400, 'BadRequest', '/me request is only valid with delegated authentication flow.'),
  // Observed (msgraph-sdk-powershell#832, microsoft-graph-docs-contrib#4424): GET /directory/deletedItems without a cast.
  deletedItemsRequiresCast: () =>
    make(400, 'Request_UnsupportedQuery', 'Searches against this resource are not supported. Only specific instances can be queried.'),
  // ED howto-delete-agent-identity.md: "Explicit hard deletion of a blueprint principal is blocked"; status and wording [UNCONFIRMED].
  permanentDeleteBlocked: (id: string) =>
    make(400, 'Request_BadRequest', `Permanent deletion of agent identity blueprint principal '${id}' is not supported. Delete it with DELETE /servicePrincipals/${id}; it is purged after 30 days.`),

  // 401/403
  unauthenticated: () => make(401, 'InvalidAuthenticationToken', 'Access token is empty.', WWW_AUTHENTICATE),
  invalidToken: () => make(401, 'InvalidAuthenticationToken', 'Access token validation failure. Invalid audience.', WWW_AUTHENTICATE),
  // Issue #3 (src/mock/auth.ts). Graph's wording for an expired token; the other two are [UNCONFIRMED].
  tokenExpired: () => make(401, 'InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.', WWW_AUTHENTICATE),
  tokenNotWellFormed: () => make(401, 'InvalidAuthenticationToken', 'IDX14100: JWT is not well formed.', WWW_AUTHENTICATE),
  tokenValidationFailed: () => make(401, 'InvalidAuthenticationToken', 'Access token validation failure.', WWW_AUTHENTICATE),
  forbidden: () => make(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'),
  // addKey/removeKey's proof of possession (GD v1.0 agentidentityblueprint-addkey.md). Graph's
  // answers as quoted in issues: no proof is the 403 above (msgraph-sdk-powershell#779); a proof
  // that does not validate is "Access Token missing or malformed." (microsoft-graph-docs#10686,
  // #14626), status [UNCONFIRMED] (401 is what that code means elsewhere in the directory).
  proofInvalid: () => make(401, 'Authentication_MissingOrMalformed', 'Access Token missing or malformed.'),
  // Sign-in logs need Microsoft Entra ID P1/P2 (GD beta resources/signin.md); a Free tenant's
  // call is refused so (code and wording as quoted in microsoftgraph issues; [UNCONFIRMED] in a docs page).
  premiumLicenseRequired: () =>
    make(403, 'Authentication_RequestFromNonPremiumTenantOrB2CTenant', "Neither tenant is B2C or tenant doesn't have premium license"),

  // 404/405
  notFound: (id: string) =>
    make(404, 'Request_ResourceNotFound', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`),
  // Graph's directory answers an unsupported verb with 405 and a Request_BadRequest body.
  methodNotAllowed: () =>
    make(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request uri.'),

  // Issue #4: $batch (GD concepts/json-batching.md). The batch-level wording is [UNCONFIRMED];
  // the doc fixes only the statuses: a malformed batch or a duplicate id is a 400 for the whole
  // batch, and a request whose dependency failed answers 424.
  batchMalformed: (message: string) => make(400, 'BadRequest', message),
  batchDuplicateId: (id: string) => make(400, 'BadRequest', `Batch request contains duplicate request id '${id}'.`),
  failedDependency: () => make(424, 'FailedDependency', 'The request depends on a request that failed.'),

  // Issue #4: grants and app role assignments. Observed bodies quoted in Graph SDK issues; the
  // status of the duplicate-grant answer (409) and the principal-mismatch wording are [UNCONFIRMED].
  grantExists: () => make(409, 'Request_MultipleObjectsWithSameKeyValue', 'Permission entry already exists.'),
  appRoleNotFound: (resourceId: string) =>
    make(400, 'Request_BadRequest', `Permission being assigned was not found on application '${resourceId}'.`),
  appRoleAssignmentExists: () => make(400, 'Request_BadRequest', 'Permission being assigned already exists on the object.'),
  assignmentPrincipalMismatch: () =>
    make(400, 'Request_BadRequest', "The principalId in the request body must be the id of the service principal in the request URL."),

  // Issue #13: Conditional Access policies (/identity/conditionalAccess/policies) and risky
  // agents. The codes follow Graph's non-directory workloads (BadRequest, itemNotFound); the
  // wording of each message is [UNCONFIRMED]: the docs give no error examples for these APIs.
  caPolicyInvalid: (message: string) => make(400, 'BadRequest', message),
  // Custom security attributes (GD customsecurityattributedefinition-post.md, attributeset-post.md,
  // serviceprincipal-update.md "Assign a custom security attribute"). The docs give no error
  // bodies: the codes are the directory's and the wording is [UNCONFIRMED].
  attributeInvalid: (message: string) => make(400, 'Request_BadRequest', message),
  attributeExists: (id: string) => make(400, 'Request_BadRequest', `Another object with the same value for property id already exists: '${id}'.`),
  caPolicyNotFound: (id: string) => make(404, 'itemNotFound', `The conditional access policy '${id}' was not found.`),
  riskyAgentNotFound: (id: string) => make(404, 'itemNotFound', `The risky agent '${id}' was not found.`),

  // 429/5xx
  throttled: (retryAfterSeconds: number, headers: Record<string, string> = {}) =>
    make(429, 'TooManyRequests', 'Too many requests.', { 'Retry-After': String(retryAfterSeconds), ...headers }),
  serviceUnavailable: (retryAfterSeconds?: number) =>
    make(503, 'serviceNotAvailable', 'The service is temporarily unavailable. Please retry after some time.', retryAfterSeconds ? { 'Retry-After': String(retryAfterSeconds) } : {}),
  gatewayTimeout: () => make(504, 'UnknownError', 'The request timed out.'),
  internal: () => make(500, 'InternalServerError', 'An internal server error occurred while processing the request.'),

  // #6: `mock serve --replay DIR` is strict, like Azurite's strict mode: a request no recording
  // answers is refused, naming the request and the way out. Not a Graph error (Graph has no
  // recordings); 501 so the CLI reports a failed operation (exit 1), never "not found".
  replayNoMatch: (request: string, dir: string, nearest: string[]) =>
    make(
      501,
      'Replay_NoMatchingRecording',
      `No recording in ${dir} matches ${request} (replay matches method, path and normalised query). ` +
        (nearest.length ? `Recorded for this path: ${nearest.join('; ')}. ` : '') +
        `Record it with 'agentid --record ${dir} …' against a tenant, or serve the emulator ('agentid mock serve' without --replay, or --seed ${dir} to start from these recordings).`,
    ),
};

export type AgentErrorCode =
  | 'Agent_Directory_QuotaExceeded'
  | 'AgentBlueprint_LimitExceeded'
  | 'AgentIdentity_LimitExceeded'
  | 'AgentBlueprint_IncompatibleProperty'
  | 'AgentBlueprint_NotSupportedOnApiVersion'
  | 'AgentBlueprintPrincipal_IncompatibleProperty'
  | 'AgentBlueprintPrincipal_RequireAgentBlueprint'
  | 'AgentIdentity_AgentBlueprintPrincipalDoesNotExist'
  | 'AgentIdentity_CredentialsNotSupported'
  | 'AgentIdentity_IncompatibleParentType'
  | 'Error_AgentIdentitiesCreatingAgentIdentitiesNotAllowed'
  | 'AgentBlueprintPrincipal_AgentIdentity_IncompatibleProperty'
  | 'Error_AgentBlueprintCannotCreateAssociatedIdentity';

/** Graph's `innerError.date` has no fractional seconds and no zone designator. */
export function graphDate(d: Date): string {
  return d.toISOString().slice(0, 19);
}

export function errorBody(err: MockGraphError, requestId: string, clientRequestId: string | null, now: Date) {
  // Graph's innerError always names a client-request-id: the caller's, else the one it made up
  // (the response's client-request-id header, which the emulator sets to the request-id).
  const innerError: Record<string, string> = { date: graphDate(now), 'request-id': requestId, 'client-request-id': clientRequestId ?? requestId };
  return { error: { code: err.code, message: err.message, innerError } };
}
