import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, sign, timingSafeEqual, verify } from 'node:crypto';
import type { Store } from './store.js';
import type { AuthState, TenantState } from './state.js';
import type { Caller } from './context.js';
import { AGENTID_CLIENT_APP_ID, GRAPH_APP_ID } from './seed.js';
import { GraphErrors } from './errors.js';
import { DELEGATED_SCOPES } from '../graph/credentials.js';

// The emulated tenant's security token service: it mints and validates the access tokens the
// emulator accepts. Tokens are JWTs signed RS256 with a per-tenant key kept in the tenant state,
// so the in-process CLI and a served emulator over the same AGENTID_HOME accept each other's
// tokens, and `mock reset` (a new key) invalidates every token issued before it.
//
// Claims follow Entra's access tokens (entra-docs docs/identity-platform/access-token-claims-reference.md):
// aud, iss, iat/nbf/exp, tid, oid, sub, azp + appid (v2 and v1 names of the client), idtyp
// ('user' | 'app'), scp (space-separated delegated scopes) or roles (application permissions),
// wids (directory role template ids of the user), ver.
// [INFERRED] Microsoft Graph's own tokens are issued in the v1.0 format (iss sts.windows.net),
// because Graph's manifest keeps accessTokenAcceptedVersion 1; we issue the v2 shape with both
// azp and appid so that either reading finds the client. Nothing outside the emulator validates them.

export const GRAPH_AUDIENCES = new Set(['https://graph.microsoft.com', GRAPH_APP_ID, 'https://graph.microsoft.com/']);
export const TOKEN_LIFETIME_SECONDS = 3599;
/** Where in-process tokens say they came from: the public cloud's authority. */
export const DEFAULT_AUTHORITY = 'https://login.microsoftonline.com';

export interface AccessTokenClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  tid: string;
  oid: string;
  sub: string;
  azp: string;
  appid: string;
  azpacr: '0' | '1' | '2';
  appidacr: '0' | '1' | '2';
  idtyp: 'user' | 'app';
  ver: '2.0';
  uti: string;
  scp?: string;
  roles?: string[];
  wids?: string[];
  name?: string;
  preferred_username?: string;
  upn?: string;
  app_displayname?: string;
}

// ---------------------------------------------------------------------------------------------
// the signing key

function newSigningKey(): NonNullable<AuthState['signingKey']> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  // Entra's kid/x5t is a base64url SHA-1 thumbprint (27 characters); ours is the key's.
  const kid = createHash('sha1').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url');
  return { kid, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKeyPem };
}

export function emptyAuthState(): AuthState {
  return { secrets: [], appPermissions: {} };
}

/** The tenant's signing key, created (one write) the first time a token is needed. */
export async function signingKey(store: Store): Promise<NonNullable<AuthState['signingKey']>> {
  const existing = await store.read((s) => s.auth?.signingKey);
  if (existing) return existing;
  return store.write((s) => {
    s.auth ??= emptyAuthState();
    s.auth.signingKey ??= newSigningKey();
    return s.auth.signingKey;
  });
}

/** The public half as a JWKS entry (what /discovery/v2.0/keys serves). */
export function publicJwk(key: NonNullable<AuthState['signingKey']>): Record<string, unknown> {
  const jwk = createPublicKey(key.publicKeyPem).export({ format: 'jwk' }) as Record<string, unknown>;
  return { kty: 'RSA', use: 'sig', kid: key.kid, x5t: key.kid, n: jwk.n, e: jwk.e, alg: 'RS256' };
}

// ---------------------------------------------------------------------------------------------
// JWT encoding

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export function signJwt(payload: object, key: NonNullable<AuthState['signingKey']>): string {
  const head = b64({ typ: 'JWT', alg: 'RS256', kid: key.kid, x5t: key.kid });
  const body = b64(payload);
  const signature = sign('RSA-SHA256', Buffer.from(`${head}.${body}`), createPrivateKey(key.privateKeyPem)).toString('base64url');
  return `${head}.${body}.${signature}`;
}

/** Header and payload of a JWT, unverified; undefined when it is not one. */
export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as unknown;
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as unknown;
    if (!header || typeof header !== 'object' || !payload || typeof payload !== 'object') return undefined;
    return { header: header as Record<string, unknown>, payload: payload as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

export type TokenProblem = 'malformed' | 'signature' | 'expired' | 'notYetValid' | 'audience' | 'tenant';

/** Verifies one of our own tokens: signature with the tenant key, lifetime, Graph audience, tenant. */
export function verifyAccessToken(token: string, key: NonNullable<AuthState['signingKey']>, tenantId: string, now: Date): { ok: true; claims: AccessTokenClaims } | { ok: false; problem: TokenProblem } {
  const decoded = decodeJwt(token);
  if (!decoded || decoded.header.alg !== 'RS256') return { ok: false, problem: 'malformed' };
  const [head, body, sig] = token.split('.') as [string, string, string];
  const good = decoded.header.kid === key.kid && verify('RSA-SHA256', Buffer.from(`${head}.${body}`), createPublicKey(key.publicKeyPem), Buffer.from(sig, 'base64url'));
  if (!good) return { ok: false, problem: 'signature' };
  const claims = decoded.payload as unknown as AccessTokenClaims;
  const t = Math.floor(now.getTime() / 1000);
  // Entra allows five minutes of clock skew either way.
  if (typeof claims.exp !== 'number' || claims.exp + 300 < t) return { ok: false, problem: 'expired' };
  if (typeof claims.nbf === 'number' && claims.nbf - 300 > t) return { ok: false, problem: 'notYetValid' };
  if (!GRAPH_AUDIENCES.has(String(claims.aud))) return { ok: false, problem: 'audience' };
  if (String(claims.tid).toLowerCase() !== tenantId.toLowerCase()) return { ok: false, problem: 'tenant' };
  return { ok: true, claims };
}

// ---------------------------------------------------------------------------------------------
// who gets which claims

/**
 * Delegated scopes the emulated tenant has consented for the agentid CLI (the client of every
 * delegated token it issues). They are the least-privileged permissions of the commands agentid
 * offers (src/mock/permissions.ts cites each); Directory.AccessAsUser.All is deliberately absent
 * (Agent ID writes refuse it, GD includes/rbac-for-apis/rbac-agentid-apis-write.md).
 */
// The same list the CLI asks for at an interactive sign-in: one list, so the emulated consent
// can never grant what a real sign-in would not (the logs commands once needed a scope only the
// emulator's copy had).
export const AGENTID_DELEGATED_SCOPES: readonly string[] = DELEGATED_SCOPES;

export interface MintOptions {
  issuerOrigin?: string;
  now?: Date;
  /** Override the scopes (delegated) or roles (app-only) the token carries. */
  scopes?: string[];
  roles?: string[];
  clientAppId?: string;
}

function baseClaims(state: TenantState, o: MintOptions, oid: string, clientAppId: string, idtyp: 'user' | 'app', acr: '0' | '1' | '2'): AccessTokenClaims {
  const t = Math.floor((o.now ?? new Date()).getTime() / 1000);
  return {
    aud: 'https://graph.microsoft.com',
    iss: `${o.issuerOrigin ?? DEFAULT_AUTHORITY}/${state.tenant.id}/v2.0`,
    iat: t,
    nbf: t,
    exp: t + TOKEN_LIFETIME_SECONDS + 1,
    tid: state.tenant.id,
    oid,
    sub: oid,
    azp: clientAppId,
    appid: clientAppId,
    azpacr: acr,
    appidacr: acr,
    idtyp,
    ver: '2.0',
    uti: randomBytes(16).toString('base64url'),
  };
}

/** Claims of a delegated token for a user of the tenant (default: the seeded signed-in user). */
export function userClaims(state: TenantState, userId: string | undefined, o: MintOptions = {}): AccessTokenClaims {
  const id = (userId ?? state.signedInUserId).toLowerCase();
  const user = state.objects[id];
  if (!user || user.deletedDateTime || (user.type !== 'user' && user.type !== 'agentUser')) throw new Error(`No user '${userId}' in the emulated tenant.`);
  const wids = state.roleAssignments.filter((r) => r.principalId.toLowerCase() === id).map((r) => r.roleTemplateId);
  const upn = String(user.props.userPrincipalName ?? '');
  return {
    ...baseClaims(state, o, id, o.clientAppId ?? AGENTID_CLIENT_APP_ID, 'user', '0'),
    scp: (o.scopes ?? AGENTID_DELEGATED_SCOPES).join(' '),
    wids,
    name: String(user.props.displayName ?? ''),
    preferred_username: upn,
    upn,
  };
}

/** Claims of an app-only token: roles are the app's granted Graph application permissions. */
export function appClaims(state: TenantState, appId: string, o: MintOptions = {}): AccessTokenClaims {
  const sp = servicePrincipalOfApp(state, appId);
  if (!sp) throw new Error(`No service principal for app '${appId}' in the emulated tenant.`);
  const granted = state.auth?.appPermissions[appId.toLowerCase()] ?? [];
  return {
    ...baseClaims(state, o, sp.id, appId.toLowerCase(), 'app', '1'),
    roles: o.roles ?? granted,
    app_displayname: String(sp.props.appDisplayName ?? sp.props.displayName ?? ''),
  };
}

export function servicePrincipalOfApp(state: TenantState, appId: string) {
  const a = appId.toLowerCase();
  return Object.values(state.objects).find((o) => !o.deletedDateTime && (o.type === 'servicePrincipal' || o.type === 'agentIdentityBlueprintPrincipal' || o.type === 'agentIdentity') && String(o.props.appId ?? (o.type === 'agentIdentity' ? o.id : '')).toLowerCase() === a);
}

export function applicationOf(state: TenantState, appId: string) {
  const a = appId.toLowerCase();
  return Object.values(state.objects).find((o) => !o.deletedDateTime && (o.type === 'application' || o.type === 'agentIdentityBlueprint') && String(o.props.appId ?? '').toLowerCase() === a);
}

/**
 * A token minted straight from the tenant key, without the token endpoint: the `local` profile's
 * in-process sign-in (src/graph/signin.ts) and `agentid mock token`. It is deliberately not
 * reported to the sign-in hook: it stands for a session the emulated user already has, not a
 * sign-in, and every in-process CLI run mints one, so logging it would add a user sign-in per
 * command (thousands in the test suite) and bury the sign-ins the logs are there to show.
 */
export async function mintToken(store: Store, claims: (state: TenantState) => AccessTokenClaims): Promise<string> {
  const key = await signingKey(store);
  const c = await store.read(claims);
  return signJwt(c, key);
}

/** The caller a verified token stands for. */
export function callerFromClaims(claims: AccessTokenClaims): Caller {
  const grants = {
    scopes: typeof claims.scp === 'string' && claims.scp ? claims.scp.split(' ') : [],
    roles: Array.isArray(claims.roles) ? claims.roles.map(String) : [],
    wids: Array.isArray(claims.wids) ? claims.wids.map(String) : [],
    clientAppId: String(claims.azp ?? claims.appid),
  };
  if (claims.idtyp === 'app') return { kind: 'app', appId: String(claims.appid ?? claims.azp), servicePrincipalId: String(claims.oid), grants };
  return { kind: 'user', userId: String(claims.oid), grants };
}

// ---------------------------------------------------------------------------------------------
// client secrets (stored as salted hashes only)

export function hashSecret(secret: string, salt: string): string {
  return createHash('sha256').update(`${salt}:${secret}`).digest('hex');
}

export function recordSecret(state: TenantState, appId: string, keyId: string, secretText: string, endDateTime: string): void {
  state.auth ??= emptyAuthState();
  const salt = randomBytes(16).toString('hex');
  state.auth.secrets.push({ appId: appId.toLowerCase(), keyId, salt, sha256: hashSecret(secretText, salt), endDateTime });
}

export function forgetSecret(state: TenantState, keyId: string): void {
  if (state.auth) state.auth.secrets = state.auth.secrets.filter((s) => s.keyId.toLowerCase() !== keyId.toLowerCase());
}

/** 'ok', 'expired' or 'wrong' for a presented client secret. */
export function checkSecret(state: TenantState, appId: string, presented: string, now: Date): { result: 'ok' | 'expired' | 'wrong'; keyId?: string } {
  let expired: string | undefined;
  for (const s of state.auth?.secrets ?? []) {
    if (s.appId !== appId.toLowerCase()) continue;
    const a = Buffer.from(hashSecret(presented, s.salt), 'hex');
    if (a.length === 32 && timingSafeEqual(a, Buffer.from(s.sha256, 'hex'))) {
      if (new Date(s.endDateTime) < now) expired = s.keyId;
      else return { result: 'ok', keyId: s.keyId };
    }
  }
  return expired ? { result: 'expired', keyId: expired } : { result: 'wrong' };
}

// ---------------------------------------------------------------------------------------------
// the sign-in hook (issue #5 records a sign-in for every token request)

export interface TokenIssuedInfo {
  appId: string;
  servicePrincipalId?: string;
  userId?: string;
  tenantId: string;
  grantType: string;
  credentialType: 'clientSecret' | 'clientAssertion' | 'federatedIdentityCredential' | 'none';
  /** id of the federated identity credential that matched, when there was one. */
  federatedCredentialId?: string;
  servicePrincipalCredentialKeyId?: string;
  success: boolean;
  /** The AADSTS number of a failure, e.g. 7000215 for a wrong secret. */
  errorCode?: number;
  /** The AADSTS message of a failure, as the client was told it (user sign-ins). */
  failureReason?: string;
  /** Set for a user sign-in: the device-code grant is interactive, a refresh token is not. */
  signInEventType?: 'interactiveUser' | 'nonInteractiveUser';
  /** A user sign-in whose session began with the device-code flow (protocol tracking). */
  originalTransferMethod?: 'deviceCodeFlow';
  userAgent?: string;
  ipAddress?: string;
  correlationId: string;
  time: Date;
  /** #13: what Conditional Access decided for an agent's token (src/mock/conditionalAccess.ts). */
  conditionalAccess?: { status: string; applied: unknown[] };
}

export type TokenIssuedListener = (info: TokenIssuedInfo, ctx: { store: Store }) => void | Promise<void>;

const listeners = new Set<TokenIssuedListener>();

/** Called for every answer of the token endpoint, success or failure; returns an unsubscribe. */
export function onTokenIssued(listener: TokenIssuedListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export async function emitTokenIssued(info: TokenIssuedInfo, store: Store): Promise<void> {
  for (const l of listeners) {
    try {
      await l(info, { store });
    } catch {
      /* a listener's failure must not change what the token endpoint answers */
    }
  }
}

export function newCorrelationId(): string {
  return randomUUID();
}

// ---------------------------------------------------------------------------------------------
// the authentication step (src/mock/handler.ts step 4)

/**
 * The caller behind an Authorization header: a token this tenant issued, or a 401 shaped like
 * Graph's. `fallback` is the trusted mode of handler tests (requireToken off): a request with no
 * token, or with a token that is not ours, then acts as the fallback caller, unchecked.
 */
export async function authenticate(authorization: string | null, store: Store, now: Date, fallback?: () => Promise<Caller>): Promise<Caller> {
  if (!authorization || !authorization.trim()) {
    if (fallback) return fallback();
    throw GraphErrors.unauthenticated();
  }
  const m = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  const key = await store.read((s) => s.auth?.signingKey);
  if (fallback && (!m || !key || !verifyAccessToken(m[1]!, key, await store.read((s) => s.tenant.id), now).ok)) return fallback();
  if (!m) throw GraphErrors.tokenNotWellFormed();
  // No key yet: nothing was ever issued here, so no token can be ours.
  if (!key) throw GraphErrors.tokenValidationFailed();
  const tenantId = await store.read((s) => s.tenant.id);
  const v = verifyAccessToken(m[1]!, key, tenantId, now);
  if (!v.ok) {
    if (v.problem === 'malformed') throw GraphErrors.tokenNotWellFormed();
    if (v.problem === 'expired') throw GraphErrors.tokenExpired();
    if (v.problem === 'audience') throw GraphErrors.invalidToken();
    throw GraphErrors.tokenValidationFailed();
  }
  return callerFromClaims(v.claims);
}
