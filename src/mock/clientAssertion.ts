import { constants, createHash, verify, X509Certificate } from 'node:crypto';

// Certificate client assertions (issue #3): client_credentials with a JWT the app signed with the
// private key of a certificate registered in its keyCredentials (entra-docs docs/identity-platform/
// certificate-credentials.md; v2-oauth2-client-creds-grant-flow.md "Second case: Access token
// request with a certificate").
//
// The header names the certificate by thumbprint: `x5t#S256` (base64url SHA-256 of the DER, with
// alg PS256, what the docs ask for and what MSAL Node sends when it has a SHA-256 thumbprint) or
// `x5t` (base64url SHA-1, with alg RS256, what older clients send). The registered certificate is
// the keyCredential's `key`: base64 of the certificate (certificate-credentials.md, "Updating the
// application manifest": `$base64Value`, the certificate raw data).
//
// Pure: the caller (handlers/oauth.ts) turns a problem into the AADSTS answer.

export interface KeyCredentialLike {
  keyId?: unknown;
  type?: unknown;
  usage?: unknown;
  key?: unknown;
  startDateTime?: unknown;
  endDateTime?: unknown;
}

export type CertificateProblem =
  /** Neither x5t nor x5t#S256 in the header. */
  | 'noThumbprint'
  /** No registered certificate has that thumbprint. */
  | 'keyNotFound'
  /** The registered key's validity (keyCredential dates or the certificate's own) excludes now. */
  | 'keyExpired'
  /** The key was found but the signature does not verify with it (or the alg is not RS256/PS256). */
  | 'badSignature';

export type CertificateCheck =
  | { ok: true; keyId: string | undefined }
  | { ok: false; problem: CertificateProblem; thumbprint?: string; found?: { start: string; end: string } };

interface Registered {
  keyId: string | undefined;
  cert: X509Certificate;
  start: Date;
  end: Date;
}

/** The app's usable certificates: AsymmetricX509Cert keys for signature verification. */
function registeredCertificates(keyCredentials: unknown): Registered[] {
  if (!Array.isArray(keyCredentials)) return [];
  const out: Registered[] = [];
  for (const k of keyCredentials as KeyCredentialLike[]) {
    if (!k || typeof k.key !== 'string' || k.key === '') continue;
    if (k.type !== undefined && k.type !== 'AsymmetricX509Cert' && k.type !== 'X509CertAndPassword') continue;
    if (k.usage !== undefined && k.usage !== 'Verify') continue;
    let cert: X509Certificate;
    try {
      const raw = Buffer.from(k.key, 'base64');
      // [INFERRED] Some tools register base64 of the PEM text rather than of the DER; both name the same certificate.
      cert = new X509Certificate(raw.subarray(0, 11).toString('latin1') === '-----BEGIN ' ? raw.toString('latin1') : raw);
    } catch {
      continue;
    }
    const start = typeof k.startDateTime === 'string' ? new Date(k.startDateTime) : new Date(cert.validFrom);
    const end = typeof k.endDateTime === 'string' ? new Date(k.endDateTime) : new Date(cert.validTo);
    out.push({ keyId: typeof k.keyId === 'string' ? k.keyId : undefined, cert, start, end });
  }
  return out;
}

/** Entra's error text shows the thumbprint as upper-case hex and the key's dates as MM/dd/yyyy HH:mm:ss. */
const hex = (b: Buffer) => b.toString('hex').toUpperCase();
const usDate = (d: Date) => {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
};

export function verifyCertificateAssertion(assertion: string, header: Record<string, unknown>, keyCredentials: unknown, now: Date): CertificateCheck {
  const s256 = typeof header['x5t#S256'] === 'string' ? Buffer.from(header['x5t#S256'], 'base64url') : undefined;
  const s1 = typeof header.x5t === 'string' ? Buffer.from(header.x5t, 'base64url') : undefined;
  if (!s256?.length && !s1?.length) return { ok: false, problem: 'noThumbprint' };
  const thumbprint = hex((s256?.length ? s256 : s1)!);
  const match = registeredCertificates(keyCredentials).find((r) => {
    const der = r.cert.raw;
    if (s256?.length) return createHash('sha256').update(der).digest().equals(s256);
    return createHash('sha1').update(der).digest().equals(s1!);
  });
  if (!match) return { ok: false, problem: 'keyNotFound', thumbprint };
  const found = { start: usDate(match.start), end: usDate(match.end) };
  if (now < match.start || now > match.end) return { ok: false, problem: 'keyExpired', thumbprint, found };
  const [head, body, sig] = assertion.split('.') as [string, string, string];
  const data = Buffer.from(`${head}.${body}`);
  const signature = Buffer.from(sig ?? '', 'base64url');
  const publicKey = match.cert.publicKey;
  let good = false;
  try {
    if (header.alg === 'RS256') good = verify('sha256', data, publicKey, signature);
    // JWA (RFC 7518 §3.5): PS256 is RSASSA-PSS with SHA-256 and a salt as long as the digest.
    else if (header.alg === 'PS256') good = verify('sha256', data, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature);
  } catch {
    good = false;
  }
  if (!good) return { ok: false, problem: 'badSignature', thumbprint, found };
  return { ok: true, keyId: match.keyId };
}
