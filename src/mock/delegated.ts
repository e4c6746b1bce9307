import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import type { AuthState, TenantState } from './state.js';
import { decodeJwt, signJwt } from './auth.js';

// What a user's sign-in returns besides the access token (issue #3, the device-code grant and
// grant_type=refresh_token of handlers/oauth.ts): the ID token, client_info, and refresh tokens.
//
// ID token claims follow entra-docs docs/identity-platform/id-token-claims-reference.md (v2.0):
// aud = the client id, iss, iat/nbf/exp, name, oid, preferred_username, sub, tid, uti, ver.
// client_info is what MSAL builds its account from (uid.utid is the home account id); MSAL asks
// for it with client_info=1 (msal-common RequestParameterBuilder.addClientInfo).
//
// Refresh tokens are opaque to clients (v2-oauth2-auth-code-flow.md "Refresh the access token").
// The emulator keeps no state for them, like its device codes: a refresh token is signed by the
// tenant key and carries its client, user, scopes and expiry, so a served emulator can restart
// between two sign-ins and `mock reset` (a new key) revokes every one of them.

/** refresh-tokens.md: "90 days for all other scenarios" (24 hours for single-page apps). */
export const REFRESH_TOKEN_LIFETIME_SECONDS = 90 * 24 * 3600;

type SigningKey = NonNullable<AuthState['signingKey']>;

export interface IdTokenClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  name: string;
  oid: string;
  preferred_username: string;
  sub: string;
  tid: string;
  uti: string;
  ver: '2.0';
}

/**
 * `sub` is pairwise: the same user has a different sub in each application (id-token-claims-
 * reference.md, `sub`). [INFERRED] How Entra derives it is not documented; a hash of user and
 * client gives the documented property (stable per app, different across apps).
 */
export function pairwiseSubject(oid: string, clientId: string): string {
  return createHash('sha256').update(`${oid.toLowerCase()}:${clientId.toLowerCase()}`).digest('base64url').slice(0, 43);
}

export function idTokenClaims(state: TenantState, userId: string, clientId: string, o: { issuerOrigin: string; now: Date; lifetimeSeconds: number }): IdTokenClaims {
  const user = state.objects[userId.toLowerCase()];
  if (!user) throw new Error(`No user '${userId}' in the emulated tenant.`);
  const t = Math.floor(o.now.getTime() / 1000);
  return {
    aud: clientId.toLowerCase(),
    iss: `${o.issuerOrigin}/${state.tenant.id}/v2.0`,
    iat: t,
    nbf: t,
    exp: t + o.lifetimeSeconds,
    name: String(user.props.displayName ?? ''),
    oid: user.id,
    preferred_username: String(user.props.userPrincipalName ?? ''),
    sub: pairwiseSubject(user.id, clientId),
    tid: state.tenant.id,
    uti: randomBytes(16).toString('base64url'),
    ver: '2.0',
  };
}

/** base64url JSON {uid, utid}: the user's object id and home tenant id. */
export function clientInfo(oid: string, tenantId: string): string {
  return Buffer.from(JSON.stringify({ uid: oid, utid: tenantId })).toString('base64url');
}

export interface RefreshTokenClaims {
  typ: 'refresh_token';
  tid: string;
  client_id: string;
  oid: string;
  /** The scopes the user granted at sign-in, as the client asked for them (space-separated). */
  scope: string;
  /**
   * 'deviceCodeFlow' when the session began with a device code: "Protocol tracking state is
   * sustained through subsequent refreshes" (ED conditional-access/concept-authentication-flows.md),
   * so each refresh's sign-in keeps originalTransferMethod.
   */
  otm?: 'deviceCodeFlow';
  iat: number;
  exp: number;
}

export function mintRefreshToken(key: SigningKey, c: Omit<RefreshTokenClaims, 'typ' | 'iat' | 'exp'>, now: Date): string {
  const t = Math.floor(now.getTime() / 1000);
  return signJwt({ typ: 'refresh_token', ...c, iat: t, exp: t + REFRESH_TOKEN_LIFETIME_SECONDS, jti: randomBytes(12).toString('base64url') }, key);
}

export type TenantSignedProblem = 'malformed' | 'signature' | 'expired';

/**
 * A device code or refresh token this tenant issued: signed by its key, of the expected kind,
 * not expired (no clock skew: these are the emulator's own clock on both ends).
 */
export function readTenantSigned<T extends { typ: string; exp: number }>(token: string, typ: T['typ'], key: SigningKey, now: Date): { ok: true; claims: T } | { ok: false; problem: TenantSignedProblem } {
  const decoded = decodeJwt(token);
  if (!decoded || decoded.payload.typ !== typ) return { ok: false, problem: 'malformed' };
  const [head, body, sig] = token.split('.') as [string, string, string];
  if (decoded.header.kid !== key.kid || !verify('RSA-SHA256', Buffer.from(`${head}.${body}`), createPublicKey(key.publicKeyPem), Buffer.from(sig, 'base64url'))) return { ok: false, problem: 'signature' };
  const claims = decoded.payload as unknown as T;
  if (typeof claims.exp !== 'number' || claims.exp < Math.floor(now.getTime() / 1000)) return { ok: false, problem: 'expired' };
  return { ok: true, claims };
}
