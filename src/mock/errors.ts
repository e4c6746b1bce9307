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
  batchTooLarge: () =>
    make(400, 'BadRequest', 'The number of batch requests exceeds the limit of 20.'),

  // Agent ID codes (entra-docs docs/agent-id/error-codes.md)
  agent: (code: AgentErrorCode, message: string, status = 400) => make(status, code, message),

  // 401/403
  unauthenticated: () => make(401, 'InvalidAuthenticationToken', 'Access token is empty.'),
  invalidToken: () => make(401, 'InvalidAuthenticationToken', 'Access token validation failure. Invalid audience.'),
  forbidden: () => make(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'),

  // 404/405
  notFound: (id: string) =>
    make(404, 'Request_ResourceNotFound', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`),
  // Graph's directory answers an unsupported verb with 405 and a Request_BadRequest body.
  methodNotAllowed: () =>
    make(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request uri.'),

  // 429/5xx
  throttled: (retryAfterSeconds: number, headers: Record<string, string> = {}) =>
    make(429, 'TooManyRequests', 'Too many requests.', { 'Retry-After': String(retryAfterSeconds), ...headers }),
  serviceUnavailable: (retryAfterSeconds?: number) =>
    make(503, 'serviceNotAvailable', 'The service is temporarily unavailable. Please retry after some time.', retryAfterSeconds ? { 'Retry-After': String(retryAfterSeconds) } : {}),
  gatewayTimeout: () => make(504, 'UnknownError', 'The request timed out.'),
  internal: () => make(500, 'InternalServerError', 'An internal server error occurred while processing the request.'),
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
  | 'Error_AgentIdentitiesCreatingAgentIdentitiesNotAllowed';

/** Graph's `innerError.date` has no fractional seconds and no zone designator. */
export function graphDate(d: Date): string {
  return d.toISOString().slice(0, 19);
}

export function errorBody(err: MockGraphError, requestId: string, clientRequestId: string | null, now: Date) {
  const innerError: Record<string, string> = { date: graphDate(now), 'request-id': requestId };
  if (clientRequestId) innerError['client-request-id'] = clientRequestId;
  return { error: { code: err.code, message: err.message, innerError } };
}
