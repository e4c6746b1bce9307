import { randomUUID } from 'node:crypto';
import type { Store } from '../store.js';
import type { TenantState } from '../state.js';
import {
  appClaims,
  applicationOf,
  checkSecret,
  decodeJwt,
  emitTokenIssued,
  GRAPH_AUDIENCES,
  publicJwk,
  servicePrincipalOfApp,
  signingKey,
  signJwt,
  TOKEN_LIFETIME_SECONDS,
  userClaims,
  verifyAccessToken,
  type TokenIssuedInfo,
} from '../auth.js';
import { verifyCertificateAssertion } from '../clientAssertion.js';
import { clientInfo, idTokenClaims, mintRefreshToken, readTenantSigned, type RefreshTokenClaims } from '../delegated.js';
import { evaluateSignIn } from '../conditionalAccess.js';
import { GRAPH_APP_ID } from '../seed.js';

// The emulated tenant's sign-in endpoints, which live outside /v1.0 and /beta (handler.ts step 0):
//   GET  /{tenant}/v2.0/.well-known/openid-configuration   OpenID discovery (what MSAL reads first)
//   GET  /{tenant}/discovery/v2.0/keys                     the signing key (JWKS)
//   POST /{tenant}/oauth2/v2.0/token                       client_credentials (secret, certificate
//                                                          assertion or federated assertion), the
//                                                          device-code grant and refresh_token
//   POST /{tenant}/oauth2/v2.0/devicecode                  device authorization
// The shapes follow the Microsoft identity platform (entra-docs docs/identity-platform/
// v2-oauth2-client-creds-grant-flow.md, v2-oauth2-device-code.md, v2-protocols-oidc.md); error
// bodies are {error, error_description "AADSTSnnnn: …", error_codes, timestamp, trace_id,
// correlation_id, error_uri} with 400, or 401 for invalid_client.
//
// Emulator choices: a device code is approved at once by the tenant's signed-in user (the seeded
// Agent ID Administrator), which is how a CLI pointed at a served emulator signs in with no
// prompt; device codes and refresh tokens are stateless (signed by the tenant key, delegated.ts);
// a client assertion whose iss is the client id is a certificate assertion (clientAssertion.ts),
// any other is a federated one [INFERRED: Entra tells them apart the same way, since a
// certificate assertion must have iss = sub = client id, certificate-credentials.md]; a federated assertion from another issuer cannot be verified offline, so only its iss,
// sub, aud and lifetime are checked against the app's federated identity credentials
// [INFERRED: Entra also verifies the signature with the issuer's published keys].

const OAUTH_PATH = /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|discovery\/v2\.0\/keys|oauth2\/v2\.0\/token|oauth2\/v2\.0\/devicecode)\/?$/i;

export function isOAuthPath(pathname: string): boolean {
  return OAUTH_PATH.test(pathname);
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
// [DOC-CONFLICT] v2-oauth2-device-code.md says grant_type "Must be
// urn:ietf:params:oauth:grant-type:device_code"; MSAL sends "device_code" (msal-common
// Constants.GrantType.DEVICE_CODE_GRANT) and Entra accepts it, so both are taken.
const DEVICE_CODE_GRANTS = new Set(['urn:ietf:params:oauth:grant-type:device_code', 'device_code']);
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);
const GRAPH_RESOURCE = 'https://graph.microsoft.com';

class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly aadsts: number,
    description: string,
  ) {
    super(description);
  }
}

// One function per AADSTS answer, like GraphErrors for Graph. Wording from the AADSTS reference
// (entra-docs docs/identity-platform/reference-error-codes.md); marked where [UNCONFIRMED].
const OAuthErrors = {
  tenantNotFound: (t: string) => new OAuthError(400, 'invalid_request', 90002, `Tenant '${t}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`),
  missingParameter: (p: string) => new OAuthError(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${p}'.`),
  unsupportedGrant: () => new OAuthError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.'),
  appNotFound: (appId: string, tenant: string) => new OAuthError(400, 'unauthorized_client', 700016, `Application with identifier '${appId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`),
  // [UNCONFIRMED wording]
  noServicePrincipal: (appId: string) => new OAuthError(400, 'invalid_client', 7000229, `The client application ${appId} is missing service principal in the tenant.`),
  appDisabled: (appId: string) => new OAuthError(400, 'unauthorized_client', 7000112, `Application '${appId}' is disabled.`),
  noCredential: () => new OAuthError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."),
  wrongSecret: (appId: string) => new OAuthError(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${appId}'.`),
  expiredSecret: (appId: string) => new OAuthError(401, 'invalid_client', 7000222, `The provided client secret keys for app '${appId}' are expired.`),
  badAssertion: () => new OAuthError(401, 'invalid_client', 50027, 'JWT token is invalid or malformed.'),
  assertionExpired: () => new OAuthError(401, 'invalid_client', 700024, 'Client assertion is not within its valid time range.'),
  noMatchingFic: () => new OAuthError(400, 'invalid_request', 70021, 'No matching federated identity record found for presented assertion.'),
  badScope: (scope: string) => new OAuthError(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`),
  unknownResource: (scope: string) => new OAuthError(400, 'invalid_resource', 500011, `The resource principal named ${scope.replace(/\/[^/]*$/, '')} was not found in the tenant.`),
  // Device-code polling errors: the `error` values are v2-oauth2-device-code.md "Expected errors".
  badVerificationCode: () => new OAuthError(400, 'bad_verification_code', 70018, 'Invalid verification code. The device_code sent to the /token endpoint was not recognized.'),
  deviceCodeExpired: () => new OAuthError(400, 'expired_token', 70019, 'Verification code expired.'),
  // Refresh tokens: invalid_grant (reference-error-codes.md "some of the authentication material
  // (auth code, refresh token…) was invalid"). [UNCONFIRMED wording] of 9002313 and 70000.
  malformedGrant: () => new OAuthError(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.'),
  invalidGrant: () => new OAuthError(400, 'invalid_grant', 70000, 'Provided grant is invalid or malformed.'),
  refreshTokenExpired: (issued: Date, inactiveSeconds: number) =>
    new OAuthError(400, 'invalid_grant', 700082, `The refresh token has expired due to inactivity. The token was issued on ${issued.toISOString()} and was inactive for ${formatSpan(inactiveSeconds)}.`),
  userNotFound: (tenant: string) => new OAuthError(400, 'invalid_grant', 50034, `The user account does not exist in the ${tenant} directory. To sign into this application, the account must be added to the directory.`),
  userDisabled: () => new OAuthError(400, 'invalid_grant', 50057, 'The user account is disabled.'),
  // [UNCONFIRMED wording] AADSTS65001 DelegationDoesNotExist.
  notConsented: (clientId: string) => new OAuthError(400, 'invalid_grant', 65001, `The user or administrator has not consented to use the application with ID '${clientId}'. Send an interactive authorization request for this user and resource.`),
  // #13: Conditional Access refused the token (ED identity/conditional-access/agent-id.md: tokens
  // "are issued only after the required Conditional Access controls are satisfied"). AADSTS53003
  // BlockedByConditionalAccess, reference-error-codes.md; [UNCONFIRMED] the `error` value for a
  // client_credentials request (the wording is the reference's).
  blockedByConditionalAccess: () => new OAuthError(400, 'invalid_grant', 53003, 'Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.'),
  // [UNCONFIRMED wording and code] fmi_path naming no agent identity of the blueprint.
  notAChildAgent: (fmiPath: string, tenant: string) => new OAuthError(400, 'unauthorized_client', 700016, `Application with identifier '${fmiPath}' was not found in the directory '${tenant}'.`),
  // Certificate assertions. 700027's text is Entra's as seen in answers to real clients, with its
  // [Reason - …] part; [UNCONFIRMED] the "expired" reason and the 700021 wording.
  noThumbprint: () => new OAuthError(401, 'invalid_client', 50027, 'Invalid JWT token. No certificate thumbprint specified in token header.'),
  unexpectedAudience: () => new OAuthError(401, 'invalid_client', 50027, 'Invalid JWT token. Token has an unexpected audience.'),
  assertionClientMismatch: () => new OAuthError(401, 'invalid_client', 700021, "Client assertion application identifier doesn't match 'client_id' parameter."),
  subjectMismatchesIssuer: () => new OAuthError(401, 'invalid_client', 50048, 'Subject mismatches Issuer claim in the client assertion.'),
  certificate: (reason: string, appId: string, thumbprint: string, found?: { start: string; end: string }) =>
    new OAuthError(
      401,
      'invalid_client',
      700027,
      `Client assertion contains an invalid signature. [Reason - ${reason}, Thumbprint of key used by client: '${thumbprint}', ${found ? `Found key 'Start=${found.start}, End=${found.end}', ` : ''}Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${appId}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/${appId}']`,
    ),
};

/** "1.02:03:04" (days.hh:mm:ss), how Entra writes a span in AADSTS700082. [INFERRED format] */
function formatSpan(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const p = (n: number) => String(n).padStart(2, '0');
  return `${Math.floor(s / 86400)}.${p(Math.floor((s % 86400) / 3600))}:${p(Math.floor((s % 3600) / 60))}:${p(s % 60)}`;
}

export interface OAuthOptions {
  store: Store;
  now: () => Date;
}

export async function oauthRoute(req: Request, opts: OAuthOptions): Promise<Response> {
  const url = new URL(req.url);
  const [, tenantSegment, endpoint] = OAUTH_PATH.exec(url.pathname)!;
  const now = opts.now();
  const correlationId = req.headers.get('client-request-id') ?? randomUUID();
  const traceId = randomUUID();
  try {
    const tenant = await opts.store.read((s) => s.tenant);
    const anyTenant = ['common', 'organizations'].includes(tenantSegment!.toLowerCase());
    const known = tenantSegment!.toLowerCase() === tenant.id || tenant.verifiedDomains.some((d) => d.toLowerCase() === tenantSegment!.toLowerCase());
    if (!known && !anyTenant) throw OAuthErrors.tenantNotFound(tenantSegment!);
    const origin = url.origin;
    const e = endpoint!.toLowerCase();
    if (e.endsWith('openid-configuration')) return json(200, discovery(origin, tenant.id));
    if (e.endsWith('keys')) return json(200, { keys: [publicJwk(await signingKey(opts.store))] });
    if (req.method.toUpperCase() !== 'POST') return json(405, { error: 'invalid_request', error_description: 'AADSTS900561: The endpoint only accepts POST requests.', error_codes: [900561] });
    const form = new URLSearchParams(await req.text());
    if (e.endsWith('devicecode')) return await deviceCode(form, tenant.id, origin, opts.store, now);
    return await token(form, { tenantId: tenant.id, tenantSegment: tenantSegment!, knownTenant: known, origin, store: opts.store, now, correlationId, userAgent: req.headers.get('user-agent') ?? undefined });
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err;
    return json(err.status, {
      error: err.error,
      error_description: `AADSTS${err.aadsts}: ${err.message} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${now.toISOString().replace('T', ' ').slice(0, 19)}Z`,
      error_codes: [err.aadsts],
      timestamp: now.toISOString().replace('T', ' ').slice(0, 19) + 'Z',
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${err.aadsts}`,
    });
  }
}

/** The OpenID provider metadata, with this emulator's origin in every endpoint. */
function discovery(origin: string, tenantId: string): Record<string, unknown> {
  const base = `${origin}/${tenantId}`;
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${base}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'cloud_graph_host_name', 'msgraph_host', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'at_hash', 'c_hash', 'email'],
    kerberos_endpoint: `${base}/kerberos`,
    tenant_region_scope: 'NA',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  };
}

interface TokenContext {
  tenantId: string;
  /** The {tenant} of the request path, as the client wrote it (a domain, an id, organizations…). */
  tenantSegment: string;
  knownTenant: boolean;
  origin: string;
  store: Store;
  now: Date;
  correlationId: string;
  /** The client's User-Agent, which a user sign-in's log entry shows. */
  userAgent: string | undefined;
}

async function token(form: URLSearchParams, t: TokenContext): Promise<Response> {
  const grant = form.get('grant_type');
  if (!grant) throw OAuthErrors.missingParameter('grant_type');
  if (DEVICE_CODE_GRANTS.has(grant)) return deviceCodeToken(form, t);
  if (grant === 'refresh_token') return refreshTokenGrant(form, t);
  if (grant === 'user_fic') return agentUserToken(form, t);
  if (grant !== 'client_credentials') throw OAuthErrors.unsupportedGrant();
  const clientId = (form.get('client_id') ?? '').toLowerCase();
  if (!clientId) throw OAuthErrors.missingParameter('client_id');
  const info: TokenIssuedInfo = { appId: clientId, tenantId: t.tenantId, grantType: grant, credentialType: 'none', success: false, correlationId: t.correlationId, time: t.now };
  return reportSignIn(info, t, async () => {
    const scope = form.get('scope') ?? '';
    if (!scope) throw OAuthErrors.missingParameter('scope');
    const exchange = scope.trim() === TOKEN_EXCHANGE_SCOPE;
    if (!exchange) checkGraphDefaultScope(scope);
    const key = await signingKey(t.store);
    const claims = await t.store.read((state) => {
      // #13: an agent identity's own token (second leg of the agent flow), then Conditional Access.
      const agent = state.objects[clientId];
      if (agent?.type === 'agentIdentity' && !agent.deletedDateTime && !applicationOf(state, clientId)) return agentIdentityClaims(state, agent, form, info, t, exchange);
      const app = applicationOf(state, clientId);
      if (!app) throw OAuthErrors.appNotFound(clientId, t.tenantId);
      const sp = servicePrincipalOfApp(state, clientId);
      if (!sp) throw OAuthErrors.noServicePrincipal(clientId);
      info.servicePrincipalId = sp.id;
      if (sp.props.accountEnabled === false) throw OAuthErrors.appDisabled(clientId);
      authenticateClient(state, app, form, info, t);
      if (exchange) return exchangeTokenClaims(state, app, form.get('fmi_path'), t);
      return appClaims(state, clientId, { issuerOrigin: t.origin, now: t.now });
    });
    return tokenResponse(signJwt(claims, key));
  });
}

// ---------------------------------------------------------------------------------------------
// #13: the agent identity's app-only flow (ED agent-id/identity-platform/agent-autonomous-app-oauth-flow.md)
//   1. the blueprint authenticates as itself for scope api://AzureADTokenExchange/.default with
//      fmi_path = the agent identity, and gets T1, an exchange token for that agent;
//   2. the agent identity asks for its resource token with client_id = its own id and
//      client_assertion = T1; "Entra ID issues an app-only resource access token (TR) to the
//      Agent Identity after validating T1".
// Conditional Access applies to leg 2 only: "Conditional Access policies don't apply when ... an
// agent identity blueprint or agent identity performs an intermediate token exchange at the AAD
// Token Exchange Endpoint" (ED identity/conditional-access/agent-id.md). [INFERRED] T1's claims:
// aud api://AzureADTokenExchange, appid the blueprint, sub the agent identity named by fmi_path.

const TOKEN_EXCHANGE_SCOPE = 'api://AzureADTokenExchange/.default';
const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';

function exchangeTokenClaims(state: TenantState, app: TenantState['objects'][string], fmiPath: string | null, t: TokenContext): Record<string, unknown> {
  const appId = String(app.props.appId).toLowerCase();
  let sub = appId;
  if (fmiPath) {
    const child = state.objects[fmiPath.toLowerCase()];
    if (!child || child.deletedDateTime || child.type !== 'agentIdentity' || String(child.props.agentIdentityBlueprintId).toLowerCase() !== appId) throw OAuthErrors.notAChildAgent(fmiPath, t.tenantId);
    sub = child.id;
  }
  const base = appClaims(state, appId, { issuerOrigin: t.origin, now: t.now });
  const { roles: _roles, ...rest } = base;
  return { ...rest, aud: TOKEN_EXCHANGE_AUDIENCE, sub };
}

function agentIdentityClaims(state: TenantState, agent: TenantState['objects'][string], form: URLSearchParams, info: TokenIssuedInfo, t: TokenContext, exchange = false): Record<string, unknown> {
  info.servicePrincipalId = agent.id;
  info.credentialType = 'federatedIdentityCredential';
  const assertion = form.get('client_assertion');
  if (assertion === null) throw OAuthErrors.noCredential();
  if (form.get('client_assertion_type') !== JWT_BEARER) throw OAuthErrors.missingParameter('client_assertion_type');
  const key = state.auth?.signingKey;
  const decoded = decodeJwt(assertion);
  if (!decoded || !key) throw OAuthErrors.badAssertion();
  const v = verifyAccessToken(assertion, key, state.tenant.id, t.now);
  if (!v.ok && (v.problem === 'signature' || v.problem === 'malformed')) throw OAuthErrors.badAssertion();
  if (!v.ok && (v.problem === 'expired' || v.problem === 'notYetValid')) throw OAuthErrors.assertionExpired();
  const p = decoded.payload;
  const parent = String(agent.props.agentIdentityBlueprintId ?? '').toLowerCase();
  if (p.aud !== TOKEN_EXCHANGE_AUDIENCE || String(p.appid ?? '').toLowerCase() !== parent || String(p.sub ?? '').toLowerCase() !== agent.id) throw OAuthErrors.noMatchingFic();
  if (agent.props.accountEnabled === false) throw OAuthErrors.appDisabled(agent.id);
  // #15: "Disabling blueprints prevents all its agent identities from authenticating" (ED
  // identity-platform/agent-blueprint.md), a T1 the blueprint got before it was disabled
  // included. [INFERRED] the answer: AADSTS7000112 UnauthorizedClientApplicationDisabled
  // (reference-error-codes.md), naming the blueprint, whose principal is the disabled one.
  const blueprintPrincipal = Object.values(state.objects).find((o) => o.type === 'agentIdentityBlueprintPrincipal' && !o.deletedDateTime && String(o.props.appId ?? '').toLowerCase() === parent);
  if (blueprintPrincipal?.props.accountEnabled === false) throw OAuthErrors.appDisabled(parent);
  // The agent's own exchange token (T2 of the agent-user flow, agentUserToken below): an
  // intermediate exchange, which Conditional Access does not govern.
  if (exchange) return agentExchangeClaims(state, agent, t);
  const ca = evaluateSignIn(state, agent.id);
  if (ca) info.conditionalAccess = { status: ca.status, applied: ca.verdicts.map((x) => x.applied) };
  if (ca?.blockedBy.length) throw OAuthErrors.blockedByConditionalAccess();
  return appClaims(state, agent.id, { issuerOrigin: t.origin, now: t.now }) as unknown as Record<string, unknown>;
}

function checkGraphDefaultScope(scope: string): void {
  const scopes = scope.split(/\s+/).filter(Boolean);
  const resourceScopes = scopes.filter((s) => !['openid', 'profile', 'offline_access', 'email'].includes(s));
  for (const s of resourceScopes) {
    if (!s.endsWith('/.default')) throw OAuthErrors.badScope(s);
    if (!GRAPH_AUDIENCES.has(s.slice(0, -'/.default'.length))) throw OAuthErrors.unknownResource(s);
  }
}

function authenticateClient(state: TenantState, app: TenantState['objects'][string], form: URLSearchParams, info: TokenIssuedInfo, t: TokenContext): void {
  const secret = form.get('client_secret');
  const assertion = form.get('client_assertion');
  if (secret !== null) {
    info.credentialType = 'clientSecret';
    const r = checkSecret(state, info.appId, secret, t.now);
    if (r.keyId) info.servicePrincipalCredentialKeyId = r.keyId;
    if (r.result === 'wrong') throw OAuthErrors.wrongSecret(info.appId);
    if (r.result === 'expired') throw OAuthErrors.expiredSecret(info.appId);
    return;
  }
  if (assertion !== null) {
    if (form.get('client_assertion_type') !== JWT_BEARER) throw OAuthErrors.missingParameter('client_assertion_type');
    const decoded = decodeJwt(assertion);
    if (!decoded) throw OAuthErrors.badAssertion();
    if (String(decoded.payload.iss ?? '').toLowerCase() === info.appId) return certificateAssertion(app, assertion, decoded, info, t);
    info.credentialType = 'federatedIdentityCredential';
    const p = decoded.payload;
    const nowS = Math.floor(t.now.getTime() / 1000);
    if (typeof p.exp !== 'number' || p.exp + 300 < nowS || (typeof p.nbf === 'number' && p.nbf - 300 > nowS)) throw OAuthErrors.assertionExpired();
    // An assertion this emulator issued itself (e.g. a managed identity's token for
    // api://AzureADTokenExchange) is verified with the tenant key like any of its tokens.
    const key = state.auth?.signingKey;
    if (key && decoded.header.kid === key.kid) {
      const v = verifyAccessToken(assertion, key, state.tenant.id, t.now);
      if (!v.ok && v.problem === 'signature') throw OAuthErrors.badAssertion();
    }
    const audiences = Array.isArray(p.aud) ? p.aud.map(String) : [String(p.aud)];
    const fic = (app.federatedIdentityCredentials ?? []).find((f) => f.issuer === p.iss && f.subject === p.sub && f.audiences.some((a) => audiences.includes(a)));
    if (!fic) throw OAuthErrors.noMatchingFic();
    info.federatedCredentialId = fic.id;
    return;
  }
  throw OAuthErrors.noCredential();
}

/**
 * A certificate assertion (certificate-credentials.md): iss = sub = the client id, aud = this
 * tenant's token endpoint, a lifetime, and a signature by a certificate in the app's keyCredentials.
 */
function certificateAssertion(app: TenantState['objects'][string], assertion: string, decoded: { header: Record<string, unknown>; payload: Record<string, unknown> }, info: TokenIssuedInfo, t: TokenContext): void {
  info.credentialType = 'clientAssertion';
  const p = decoded.payload;
  if (String(p.sub ?? '').toLowerCase() !== String(p.iss).toLowerCase()) throw OAuthErrors.subjectMismatchesIssuer();
  const nowS = Math.floor(t.now.getTime() / 1000);
  if (typeof p.exp !== 'number' || p.exp + 300 < nowS || (typeof p.nbf === 'number' && p.nbf - 300 > nowS)) throw OAuthErrors.assertionExpired();
  if (!isOwnTokenEndpoint(p.aud, t)) throw OAuthErrors.unexpectedAudience();
  const check = verifyCertificateAssertion(assertion, decoded.header, app.props.keyCredentials, t.now);
  if (!check.ok) {
    if (check.problem === 'noThumbprint') throw OAuthErrors.noThumbprint();
    if (check.problem === 'keyNotFound') throw OAuthErrors.certificate('The key was not found.', info.appId, check.thumbprint!);
    if (check.problem === 'keyExpired') throw OAuthErrors.certificate('The key used is expired.', info.appId, check.thumbprint!, check.found);
    throw OAuthErrors.certificate('Key was found, but use of the key to verify the signature failed.', info.appId, check.thumbprint!, check.found);
  }
  if (check.keyId) info.servicePrincipalCredentialKeyId = check.keyId;
}

/**
 * aud must be the token endpoint (certificate-credentials.md, `aud`). MSAL takes it from the
 * discovery document, so it names this origin; the tenant may be written as id or domain.
 * [INFERRED] Any host is accepted: Entra also answers on its aliases (login.windows.net…).
 */
function isOwnTokenEndpoint(aud: unknown, t: TokenContext): boolean {
  const audiences = Array.isArray(aud) ? aud.map(String) : [String(aud ?? '')];
  return audiences.some((a) => {
    const m = /^https:\/\/[^/]+\/([^/]+)\/oauth2\/(?:v2\.0\/)?token\/?$/i.exec(a);
    if (!m) return false;
    const seg = m[1]!.toLowerCase();
    return seg === t.tenantId || seg === t.tenantSegment.toLowerCase();
  });
}

// ---------------------------------------------------------------------------------------------
// user sign-in: the device-code grant and refresh tokens

/** A scope string split into Graph's delegated scope names, `.default`, and OpenID scopes. */
function splitScopes(scope: string): { graph: string[]; graphDefault: boolean; oidc: string[] } {
  const graph: string[] = [];
  const oidc: string[] = [];
  let graphDefault = false;
  for (const s of scope.split(/\s+/).filter(Boolean)) {
    if (OIDC_SCOPES.has(s.toLowerCase())) oidc.push(s.toLowerCase());
    else if (s.toLowerCase().startsWith(`${GRAPH_RESOURCE}/`)) {
      const name = s.slice(GRAPH_RESOURCE.length + 1);
      if (name === '.default') graphDefault = true;
      else graph.push(name);
    }
    // A scope without a resource is Graph's (permissions-consent-overview.md: "If the resource
    // identifier is omitted in the scope parameter, the resource is assumed to be Microsoft Graph").
    else if (!s.includes('/')) graph.push(s);
  }
  return { graph, graphDefault, oidc };
}

// Device codes are signed by the tenant key and carry their own expiry, so the emulator keeps no
// state for them (and a served emulator can restart between the two calls).
async function deviceCode(form: URLSearchParams, tenantId: string, origin: string, store: Store, now: Date): Promise<Response> {
  const clientId = form.get('client_id');
  if (!clientId) throw OAuthErrors.missingParameter('client_id');
  const scope = form.get('scope');
  if (!scope) throw OAuthErrors.missingParameter('scope');
  const key = await signingKey(store);
  const userCode = Array.from({ length: 9 }, () => 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'[Math.floor(Math.random() * 32)]).join('');
  const exp = Math.floor(now.getTime() / 1000) + 900;
  const device = signJwt({ typ: 'device_code', tid: tenantId, client_id: clientId.toLowerCase(), scope, user_code: userCode, exp }, key);
  return json(200, {
    user_code: userCode,
    device_code: device,
    verification_uri: 'https://microsoft.com/devicelogin',
    expires_in: 900,
    interval: 5,
    message: `To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ${userCode} to authenticate. (The emulated tenant ${origin} approves it at once as its signed-in user.)`,
  });
}

interface DeviceCodeClaims {
  typ: 'device_code';
  tid: string;
  client_id: string;
  scope: string;
  exp: number;
}

async function deviceCodeToken(form: URLSearchParams, t: TokenContext): Promise<Response> {
  const code = form.get('device_code');
  if (!code) throw OAuthErrors.missingParameter('device_code');
  const clientId = form.get('client_id');
  if (!clientId) throw OAuthErrors.missingParameter('client_id');
  const key = await signingKey(t.store);
  const read = readTenantSigned<DeviceCodeClaims>(code, 'device_code', key, t.now);
  if (!read.ok) throw read.problem === 'expired' ? OAuthErrors.deviceCodeExpired() : OAuthErrors.badVerificationCode();
  // "client_id: Must match the client_id used in the initial request" (v2-oauth2-device-code.md).
  if (read.claims.client_id !== clientId.toLowerCase() || read.claims.tid !== t.tenantId) throw OAuthErrors.badVerificationCode();
  // The scopes are those of the device authorization request; the token request's are ignored.
  const { graph, oidc } = splitScopes(read.claims.scope);
  // The code is approved by the tenant's signed-in user: from here on it is that user's
  // interactive sign-in, logged whatever the answer. A code that is unknown, another client's
  // or expired is not logged: no user ever signed in with it.
  const userId = await t.store.read((s) => s.signedInUserId);
  const info = userSignInInfo(t, clientId, userId, 'interactiveUser', 'deviceCodeFlow');
  return reportUserSignIn(info, t, async () => {
    await checkUserMaySignIn(t, userId);
    return userTokens(t, { clientId: clientId.toLowerCase(), userId, graph: graph.length ? graph : undefined, oidc, clientInfo: form.get('client_info') === '1', otm: 'deviceCodeFlow' });
  });
}

/** What the sign-in hook is told about a user sign-in (a public client: no client credential). */
function userSignInInfo(t: TokenContext, clientId: string, userId: string, type: 'interactiveUser' | 'nonInteractiveUser', otm: 'deviceCodeFlow' | undefined): TokenIssuedInfo {
  return {
    appId: clientId.toLowerCase(),
    userId,
    tenantId: t.tenantId,
    grantType: type === 'interactiveUser' ? 'device_code' : 'refresh_token',
    credentialType: 'none',
    success: false,
    signInEventType: type,
    ...(otm ? { originalTransferMethod: otm } : {}),
    ...(t.userAgent ? { userAgent: t.userAgent } : {}),
    correlationId: t.correlationId,
    time: t.now,
  };
}

/** Runs a user sign-in and reports it to the sign-in hook, granted or refused (with its AADSTS answer). */
async function reportUserSignIn(info: TokenIssuedInfo, t: TokenContext, signIn: () => Promise<Response>): Promise<Response> {
  // [INFERRED] Entra's failureReason is the error's description, which is what the client got.
  return reportSignIn(info, t, signIn, () => true);
}

/**
 * Runs one token request and logs it as a sign-in, success or OAuth refusal. `withReason` says
 * which refusals record their description as failureReason (app sign-ins: a Conditional Access
 * block, whose reason names the policy outcome).
 */
async function reportSignIn(info: TokenIssuedInfo, t: TokenContext, signIn: () => Promise<Response>, withReason: (err: OAuthError) => boolean = (err) => err.aadsts === 53003): Promise<Response> {
  try {
    const res = await signIn();
    info.success = true;
    await emitTokenIssued(info, t.store);
    return res;
  } catch (err) {
    if (err instanceof OAuthError) {
      info.errorCode = err.aadsts;
      if (withReason(err)) info.failureReason = err.message;
      await emitTokenIssued(info, t.store);
    }
    throw err;
  }
}

/**
 * A deleted user cannot sign in (AADSTS50034), nor a disabled one (AADSTS50057).
 * [INFERRED] for the device-code grant: Entra refuses the user at the browser step, which the
 * emulator skips, so the polling client gets the refusal the refresh-token grant gives.
 */
async function checkUserMaySignIn(t: TokenContext, userId: string): Promise<void> {
  await t.store.read((s) => {
    const user = s.objects[userId.toLowerCase()];
    if (!user || user.deletedDateTime) throw OAuthErrors.userNotFound(s.tenant.defaultDomain);
    if (user.props.accountEnabled === false) throw OAuthErrors.userDisabled();
  });
}

/**
 * grant_type=refresh_token (v2-oauth2-auth-code-flow.md "Refresh the access token"): the scopes
 * asked for must be among those the user granted at sign-in (Graph's `.default` means all of
 * them); the answer carries a new refresh token, which replaces the old one.
 * Public clients only: a confidential client's secret or assertion is not checked here.
 */
async function refreshTokenGrant(form: URLSearchParams, t: TokenContext): Promise<Response> {
  const clientId = form.get('client_id');
  if (!clientId) throw OAuthErrors.missingParameter('client_id');
  const token = form.get('refresh_token');
  if (!token) throw OAuthErrors.missingParameter('refresh_token');
  const key = await signingKey(t.store);
  const read = readTenantSigned<RefreshTokenClaims>(token, 'refresh_token', key, t.now);
  // A token that is not this tenant's names nobody: refused, not logged. [INFERRED] Entra cannot
  // tie an unreadable refresh token to a user either.
  if (!read.ok && read.problem === 'malformed') throw OAuthErrors.malformedGrant();
  if (!read.ok && read.problem === 'signature') throw OAuthErrors.invalidGrant();
  // From here the token is ours (an expired one still carries a valid signature), so this is the
  // user's non-interactive sign-in, logged whatever the answer.
  const rt = read.ok ? read.claims : (decodeJwt(token)!.payload as unknown as RefreshTokenClaims);
  const info = userSignInInfo(t, clientId, rt.oid, 'nonInteractiveUser', rt.otm);
  return reportUserSignIn(info, t, () => redeemRefreshToken(form, t, clientId, rt, read.ok));
}

async function redeemRefreshToken(form: URLSearchParams, t: TokenContext, clientId: string, rt: RefreshTokenClaims, live: boolean): Promise<Response> {
  if (!live) throw OAuthErrors.refreshTokenExpired(new Date(rt.iat * 1000), Math.floor(t.now.getTime() / 1000) - rt.iat);
  // A refresh token is bound to the client it was issued to, and to its tenant.
  if (rt.client_id !== clientId.toLowerCase() || rt.tid !== t.tenantId) throw OAuthErrors.invalidGrant();
  const granted = splitScopes(rt.scope);
  const asked = splitScopes(form.get('scope') ?? '');
  const consented = new Set(granted.graph.map((s) => s.toLowerCase()));
  const missing = asked.graph.find((s) => !consented.has(s.toLowerCase()));
  if (missing !== undefined) throw OAuthErrors.notConsented(clientId);
  const graph = asked.graph.length && !asked.graphDefault ? asked.graph : granted.graph;
  // offline_access and openid were granted at sign-in; they stay with the new refresh token.
  const oidc = [...new Set([...granted.oidc, ...asked.oidc.filter((s) => granted.oidc.includes(s))])];
  await checkUserMaySignIn(t, rt.oid);
  // The new refresh token stands for the same grant as the old one, not just for this request's scopes.
  return userTokens(t, { clientId: clientId.toLowerCase(), userId: rt.oid, graph: graph.length ? graph : undefined, oidc, clientInfo: form.get('client_info') === '1', grantedScope: rt.scope, otm: rt.otm });
}

/**
 * The token response of a user sign-in (v2-oauth2-device-code.md "Successful authentication
 * response"): access_token; id_token when openid was asked for; refresh_token when
 * offline_access was; client_info when the client sent client_info=1; scope.
 */
async function userTokens(t: TokenContext, o: { clientId: string; userId: string; graph: string[] | undefined; oidc: string[]; clientInfo: boolean; grantedScope?: string; otm?: 'deviceCodeFlow' | undefined }): Promise<Response> {
  const key = await signingKey(t.store);
  const { access, id } = await t.store.read((state) => ({
    access: userClaims(state, o.userId, { issuerOrigin: t.origin, now: t.now, clientAppId: o.clientId, ...(o.graph ? { scopes: o.graph } : {}) }),
    id: o.oidc.includes('openid') ? idTokenClaims(state, o.userId, o.clientId, { issuerOrigin: t.origin, now: t.now, lifetimeSeconds: TOKEN_LIFETIME_SECONDS + 1 }) : undefined,
  }));
  const graphScopes = (access.scp ?? '').split(' ').filter(Boolean);
  // [INFERRED] Graph's scopes are answered by name, as in the docs' example ("User.Read profile
  // openid email"), then the OpenID scopes that were granted.
  const scope = [...graphScopes, ...o.oidc].join(' ');
  const refresh = o.oidc.includes('offline_access')
    ? mintRefreshToken(key, { tid: t.tenantId, client_id: o.clientId, oid: access.oid, scope: o.grantedScope ?? [...graphScopes.map((s) => `${GRAPH_RESOURCE}/${s}`), ...o.oidc].join(' '), ...(o.otm ? { otm: o.otm } : {}) }, t.now)
    : undefined;
  return json(200, {
    token_type: 'Bearer',
    scope,
    expires_in: TOKEN_LIFETIME_SECONDS,
    ext_expires_in: TOKEN_LIFETIME_SECONDS,
    access_token: signJwt(access, key),
    ...(refresh ? { refresh_token: refresh } : {}),
    ...(id ? { id_token: signJwt(id, key) } : {}),
    ...(o.clientInfo ? { client_info: clientInfo(access.oid, t.tenantId) } : {}),
  });
}

function tokenResponse(accessToken: string): Response {
  return json(200, {
    token_type: 'Bearer',
    expires_in: TOKEN_LIFETIME_SECONDS,
    ext_expires_in: TOKEN_LIFETIME_SECONDS,
    access_token: accessToken,
  });
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store, no-cache', Pragma: 'no-cache' },
  });
}

// ---------------------------------------------------------------------------------------------
// #13: the agent user's token (ED agent-id/identity-platform/autonomous-agent-request-agent-user-tokens.md,
// agent-user-oauth-flow.md), three legs:
//   1. the blueprint's T1 for api://AzureADTokenExchange/.default with fmi_path = the agent;
//   2. the agent identity's T2: client_id = the agent, the same scope, client_assertion = T1;
//   3. grant_type=user_fic: client_id = the agent, client_assertion = T1,
//      user_federated_identity_credential = T2, user_id (or username) = the agent user, scope
//      https://graph.microsoft.com/.default: a delegated token for the agent user.
// Conditional Access governs leg 3, whose subject is the agent user ("policy is evaluated against
// the agent's user account, not the agent identity", ED identity/conditional-access/agent-id.md).
// [INFERRED] T2's claims (aud api://AzureADTokenExchange, appid and sub the agent identity); the
// errors for a user that is not the agent's own (AADSTS50034) and for T2 (as for T1: 70021).

function agentExchangeClaims(state: TenantState, agent: TenantState['objects'][string], t: TokenContext): Record<string, unknown> {
  const { roles: _roles, ...rest } = appClaims(state, agent.id, { issuerOrigin: t.origin, now: t.now }) as unknown as Record<string, unknown>;
  return { ...rest, aud: TOKEN_EXCHANGE_AUDIENCE, sub: agent.id };
}

function exchangeToken(state: TenantState, token: string | null, t: TokenContext): Record<string, unknown> {
  const key = state.auth?.signingKey;
  if (token === null) throw OAuthErrors.noCredential();
  const decoded = decodeJwt(token);
  if (!decoded || !key) throw OAuthErrors.badAssertion();
  const v = verifyAccessToken(token, key, state.tenant.id, t.now);
  if (!v.ok && (v.problem === 'signature' || v.problem === 'malformed')) throw OAuthErrors.badAssertion();
  if (!v.ok && (v.problem === 'expired' || v.problem === 'notYetValid')) throw OAuthErrors.assertionExpired();
  if (decoded.payload.aud !== TOKEN_EXCHANGE_AUDIENCE) throw OAuthErrors.noMatchingFic();
  return decoded.payload;
}

async function agentUserToken(form: URLSearchParams, t: TokenContext): Promise<Response> {
  const clientId = (form.get('client_id') ?? '').toLowerCase();
  if (!clientId) throw OAuthErrors.missingParameter('client_id');
  const userRef = (form.get('user_id') ?? form.get('username') ?? '').toLowerCase();
  if (!userRef) throw OAuthErrors.missingParameter('user_id');
  const info: TokenIssuedInfo = { appId: clientId, tenantId: t.tenantId, grantType: 'user_fic', credentialType: 'federatedIdentityCredential', success: false, correlationId: t.correlationId, time: t.now };
  return reportSignIn(info, t, async () => {
    const scope = form.get('scope') ?? '';
    if (!scope) throw OAuthErrors.missingParameter('scope');
    checkGraphDefaultScope(scope);
    if (form.get('client_assertion_type') !== JWT_BEARER) throw OAuthErrors.missingParameter('client_assertion_type');
    const key = await signingKey(t.store);
    const claims = await t.store.read((state) => {
      const agent = state.objects[clientId];
      if (!agent || agent.deletedDateTime || agent.type !== 'agentIdentity') throw OAuthErrors.appNotFound(clientId, t.tenantId);
      const t1 = exchangeToken(state, form.get('client_assertion'), t);
      const parent = String(agent.props.agentIdentityBlueprintId ?? '').toLowerCase();
      if (String(t1.appid ?? '').toLowerCase() !== parent || String(t1.sub ?? '').toLowerCase() !== agent.id) throw OAuthErrors.noMatchingFic();
      const t2 = exchangeToken(state, form.get('user_federated_identity_credential'), t);
      if (String(t2.appid ?? '').toLowerCase() !== agent.id || String(t2.sub ?? '').toLowerCase() !== agent.id) throw OAuthErrors.noMatchingFic();
      if (agent.props.accountEnabled === false) throw OAuthErrors.appDisabled(agent.id);
      const user = Object.values(state.objects).find((o) => o.type === 'agentUser' && !o.deletedDateTime && (o.id === userRef || String(o.props.userPrincipalName ?? '').toLowerCase() === userRef));
      if (!user || String(user.props.identityParentId ?? '').toLowerCase() !== agent.id) throw OAuthErrors.userNotFound(state.tenant.defaultDomain);
      info.userId = user.id;
      if (user.props.accountEnabled === false) throw OAuthErrors.userDisabled();
      // The delegated permissions the agent holds for this user (its oauth2PermissionGrants to Graph).
      const graphSp = servicePrincipalOfApp(state, GRAPH_APP_ID);
      const scopes = [
        ...new Set(
          Object.values(state.oauth2PermissionGrants ?? {})
            .filter((g) => g.clientId.toLowerCase() === agent.id && g.resourceId === graphSp?.id && (g.consentType === 'AllPrincipals' || g.principalId?.toLowerCase() === user.id))
            .flatMap((g) => g.scope.split(' ').filter(Boolean)),
        ),
      ];
      if (!scopes.length) throw OAuthErrors.notConsented(agent.id);
      const ca = evaluateSignIn(state, user.id);
      if (ca) info.conditionalAccess = { status: ca.status, applied: ca.verdicts.map((x) => x.applied) };
      if (ca?.blockedBy.length) throw OAuthErrors.blockedByConditionalAccess();
      return userClaims(state, user.id, { issuerOrigin: t.origin, now: t.now, clientAppId: agent.id, scopes });
    });
    return json(200, { token_type: 'Bearer', scope: (claims.scp ?? '').split(' ').map((x) => `${GRAPH_RESOURCE}/${x}`).join(' '), expires_in: TOKEN_LIFETIME_SECONDS, ext_expires_in: TOKEN_LIFETIME_SECONDS, access_token: signJwt(claims, key) });
  });
}
