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
import { AGENTID_CLIENT_APP_ID } from '../seed.js';

// The emulated tenant's sign-in endpoints, which live outside /v1.0 and /beta (handler.ts step 0):
//   GET  /{tenant}/v2.0/.well-known/openid-configuration   OpenID discovery (what MSAL reads first)
//   GET  /{tenant}/discovery/v2.0/keys                     the signing key (JWKS)
//   POST /{tenant}/oauth2/v2.0/token                       client_credentials (secret or federated
//                                                          assertion) and the device-code grant
//   POST /{tenant}/oauth2/v2.0/devicecode                  device authorization
// The shapes follow the Microsoft identity platform (entra-docs docs/identity-platform/
// v2-oauth2-client-creds-grant-flow.md, v2-oauth2-device-code.md, v2-protocols-oidc.md); error
// bodies are {error, error_description "AADSTSnnnn: …", error_codes, timestamp, trace_id,
// correlation_id, error_uri} with 400, or 401 for invalid_client.
//
// Emulator choices: a device code is approved at once by the tenant's signed-in user (the seeded
// Agent ID Administrator), which is how a CLI pointed at a served emulator signs in with no
// prompt; a federated assertion from another issuer cannot be verified offline, so only its iss,
// sub, aud and lifetime are checked against the app's federated identity credentials
// [INFERRED: Entra also verifies the signature with the issuer's published keys].

const OAUTH_PATH = /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|discovery\/v2\.0\/keys|oauth2\/v2\.0\/token|oauth2\/v2\.0\/devicecode)\/?$/i;

export function isOAuthPath(pathname: string): boolean {
  return OAUTH_PATH.test(pathname);
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

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
  badDeviceCode: () => new OAuthError(400, 'expired_token', 70020, 'The provided authorization code or refresh token has expired.'),
};

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
    return await token(form, { tenantId: tenant.id, origin, store: opts.store, now, correlationId });
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
  origin: string;
  store: Store;
  now: Date;
  correlationId: string;
}

async function token(form: URLSearchParams, t: TokenContext): Promise<Response> {
  const grant = form.get('grant_type');
  if (!grant) throw OAuthErrors.missingParameter('grant_type');
  if (grant === DEVICE_CODE_GRANT) return deviceCodeToken(form, t);
  if (grant !== 'client_credentials') throw OAuthErrors.unsupportedGrant();
  const clientId = (form.get('client_id') ?? '').toLowerCase();
  if (!clientId) throw OAuthErrors.missingParameter('client_id');
  const info: TokenIssuedInfo = { appId: clientId, tenantId: t.tenantId, grantType: grant, credentialType: 'none', success: false, correlationId: t.correlationId, time: t.now };
  try {
    const scope = form.get('scope') ?? '';
    if (!scope) throw OAuthErrors.missingParameter('scope');
    checkGraphDefaultScope(scope);
    const key = await signingKey(t.store);
    const claims = await t.store.read((state) => {
      const app = applicationOf(state, clientId);
      if (!app) throw OAuthErrors.appNotFound(clientId, t.tenantId);
      const sp = servicePrincipalOfApp(state, clientId);
      if (!sp) throw OAuthErrors.noServicePrincipal(clientId);
      info.servicePrincipalId = sp.id;
      if (sp.props.accountEnabled === false) throw OAuthErrors.appDisabled(clientId);
      authenticateClient(state, app, form, info, t);
      return appClaims(state, clientId, { issuerOrigin: t.origin, now: t.now });
    });
    info.success = true;
    await emitTokenIssued(info, t.store);
    return tokenResponse(signJwt(claims, key));
  } catch (err) {
    if (err instanceof OAuthError) {
      info.errorCode = err.aadsts;
      await emitTokenIssued(info, t.store);
    }
    throw err;
  }
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
    info.credentialType = 'federatedIdentityCredential';
    const decoded = decodeJwt(assertion);
    if (!decoded) throw OAuthErrors.badAssertion();
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

// Device codes are signed by the tenant key and carry their own expiry, so the emulator keeps no
// state for them (and a served emulator can restart between the two calls).
async function deviceCode(form: URLSearchParams, tenantId: string, origin: string, store: Store, now: Date): Promise<Response> {
  const clientId = form.get('client_id');
  if (!clientId) throw OAuthErrors.missingParameter('client_id');
  const key = await signingKey(store);
  const userCode = Array.from({ length: 9 }, () => 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'[Math.floor(Math.random() * 32)]).join('');
  const exp = Math.floor(now.getTime() / 1000) + 900;
  const device = signJwt({ typ: 'device_code', tid: tenantId, client_id: clientId, scope: form.get('scope') ?? '', user_code: userCode, exp }, key);
  return json(200, {
    user_code: userCode,
    device_code: device,
    verification_uri: 'https://microsoft.com/devicelogin',
    expires_in: 900,
    interval: 5,
    message: `To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ${userCode} to authenticate. (The emulated tenant ${origin} approves it at once as its signed-in user.)`,
  });
}

async function deviceCodeToken(form: URLSearchParams, t: TokenContext): Promise<Response> {
  const code = form.get('device_code');
  if (!code) throw OAuthErrors.missingParameter('device_code');
  const key = await signingKey(t.store);
  const decoded = decodeJwt(code);
  const [head, body, sig] = code.split('.');
  const { verify, createPublicKey } = await import('node:crypto');
  const valid = !!decoded && decoded.payload.typ === 'device_code' && verify('RSA-SHA256', Buffer.from(`${head}.${body}`), createPublicKey(key.publicKeyPem), Buffer.from(sig ?? '', 'base64url'));
  if (!valid || Number(decoded!.payload.exp) < Math.floor(t.now.getTime() / 1000)) throw OAuthErrors.badDeviceCode();
  const clientId = String(decoded!.payload.client_id || AGENTID_CLIENT_APP_ID);
  const requested = String(decoded!.payload.scope ?? '').split(/\s+/).filter((s) => s.startsWith('https://graph.microsoft.com/') && !s.endsWith('/.default'));
  const claims = await t.store.read((state) =>
    userClaims(state, undefined, { issuerOrigin: t.origin, now: t.now, clientAppId: clientId, ...(requested.length ? { scopes: requested.map((s) => s.slice('https://graph.microsoft.com/'.length)) } : {}) }),
  );
  return tokenResponse(signJwt(claims, key), claims.scp);
}

function tokenResponse(accessToken: string, scope?: string): Response {
  return json(200, {
    token_type: 'Bearer',
    ...(scope ? { scope } : {}),
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
