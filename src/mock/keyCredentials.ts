import { createHash, X509Certificate } from 'node:crypto';
import { GraphErrors } from './errors.js';
import type { MockContext, MockResult } from './context.js';
import type { StoredObject } from './state.js';
import { GUID_RE } from './path.js';

// Certificate credentials written with `PATCH keyCredentials` (GD v1.0 resources/keycredential.md;
// concepts/applications-how-to-add-certificate.md; agentidentityblueprint-update.md, which names
// keyCredentials among the properties AgentIdentityBlueprint.AddRemoveCreds.All may update).
//
// The PATCH replaces the whole collection: a credential missing from the body is removed, which
// is how a certificate is removed without removeKey's proof of possession. Clients therefore send
// the existing credentials back, keys included — and `key` is only ever returned by a
// single-object GET with $select=keyCredentials (keycredential.md: "otherwise, it is always
// null"), which is why az and agentid read it that way first.
//
// What the emulator fills in when the body leaves it out:
//   keyId                a new GUID;
//   customKeyIdentifier  the certificate's thumbprint ("When not provided in the payload, defaults
//                        to the thumbprint of the certificate"): Binary, so base64 of the SHA-1;
//   startDateTime, endDateTime  the certificate's own validity [INFERRED from observed responses;
//                        DOC-CONFLICT: the how-to says "If unspecified, the system will automatically
//                        assign a date one year after the startDateTime"; the resource page says
//                        nothing, and the Entra portal shows the certificate's dates].
//   displayName is left as sent: the how-to has the client "assign the certificate subject name to
//   the displayName property" [UNCONFIRMED whether Graph fills it in when absent].

export interface StoredKeyCredential {
  customKeyIdentifier: string | null;
  displayName: string | null;
  endDateTime: string;
  key: string;
  keyId: string;
  startDateTime: string;
  type: string;
  usage: string;
}

/** The certificate a keyCredential's `key` holds: base64 of the DER (what the docs send) or of the PEM text. */
export function certificateOfKey(key: string): X509Certificate | undefined {
  const raw = Buffer.from(key, 'base64');
  if (raw.length === 0) return undefined;
  try {
    // [INFERRED] Some tools register base64 of the PEM text; both name the same certificate
    // (src/mock/clientAssertion.ts reads keys the same way).
    return new X509Certificate(raw.subarray(0, 11).toString('latin1') === '-----BEGIN ' ? raw.toString('latin1') : raw);
  } catch {
    return undefined;
  }
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/**
 * Validates a PATCH body's keyCredentials against what the object holds now and returns the new
 * collection, with Graph's defaults filled in. Throws the Graph error for the first bad entry.
 */
export function normalizeKeyCredentials(value: unknown, existing: unknown, newId: () => string): StoredKeyCredential[] {
  if (!Array.isArray(value)) throw GraphErrors.invalidValue('keyCredentials');
  const before = new Map((Array.isArray(existing) ? (existing as StoredKeyCredential[]) : []).map((k) => [k.keyId.toLowerCase(), k]));
  const seen = new Set<string>();
  return value.map((raw: unknown) => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw GraphErrors.invalidValue('keyCredentials');
    const k = raw as Record<string, unknown>;
    const usage = str(k.usage);
    if (usage === undefined) throw GraphErrors.missingProperty('usage', 'keyCredential');
    const normalizedUsage = usage.toLowerCase() === 'verify' ? 'Verify' : usage.toLowerCase() === 'sign' ? 'Sign' : undefined;
    if (!normalizedUsage) throw GraphErrors.keyCredentialUsageInvalid();
    const type = str(k.type);
    if (type === undefined) throw GraphErrors.missingProperty('type', 'keyCredential');
    // Token-signing keys (Sign, a PFX with its password) are not emulated: only certificates that
    // verify a client's signature, the kind a blueprint signs in with.
    if (type.toLowerCase() !== 'asymmetricx509cert' || normalizedUsage !== 'Verify') throw GraphErrors.keyCredentialTypeInvalid(type);
    const key = str(k.key);
    if (!key) throw GraphErrors.keyCredentialValueMissing();
    const cert = certificateOfKey(key);
    if (!cert) throw GraphErrors.keyCredentialValueInvalid();
    const given = k.keyId;
    if (given !== undefined && given !== null && (typeof given !== 'string' || !GUID_RE.test(given))) throw GraphErrors.invalidValue('keyId');
    const keyId = typeof given === 'string' ? given.toLowerCase() : newId();
    const old = before.get(keyId);
    // An existing credential comes back unchanged; its keyId with another certificate is an update Graph refuses.
    if (seen.has(keyId) || (old && certificateOfKey(old.key)?.fingerprint256 !== cert.fingerprint256)) throw GraphErrors.keyCredentialUpdateNotAllowed();
    seen.add(keyId);
    const validFrom = new Date(cert.validFrom);
    const validTo = new Date(cert.validTo);
    const start = str(k.startDateTime) ? new Date(k.startDateTime as string) : validFrom;
    const end = str(k.endDateTime) ? new Date(k.endDateTime as string) : validTo;
    if (Number.isNaN(start.getTime())) throw GraphErrors.invalidValue('startDateTime');
    // Only an end past the certificate's own is refused (the observed case); an end already passed registers an expired key.
    if (Number.isNaN(end.getTime()) || end > validTo) throw GraphErrors.keyCredentialEndDateInvalid();
    const displayName = str(k.displayName) ?? null;
    return {
      customKeyIdentifier: str(k.customKeyIdentifier) ?? createHash('sha1').update(cert.raw).digest('base64'),
      displayName,
      endDateTime: end.toISOString(),
      key,
      keyId,
      startDateTime: start.toISOString(),
      type: 'AsymmetricX509Cert',
      usage: normalizedUsage,
    };
  });
}

/** keycredential.md: `key` comes back on a single object's GET when $select names keyCredentials. */
export function keysSelected(ctx: MockContext): boolean {
  const select = ctx.url.searchParams.get('$select');
  return !!select && select.split(',').some((s) => s.trim().toLowerCase() === 'keycredentials');
}

/** Puts the stored keys back into a single-object GET response that $select-ed keyCredentials. */
export function withSelectedKeys(ctx: MockContext, obj: StoredObject, result: MockResult): MockResult {
  if (!keysSelected(ctx)) return result;
  const body = result.body as Record<string, unknown> | undefined;
  if (!body || !Array.isArray(body.keyCredentials)) return result;
  const stored = Array.isArray(obj.props.keyCredentials) ? (obj.props.keyCredentials as Record<string, unknown>[]) : [];
  return { ...result, body: { ...body, keyCredentials: stored.map((k) => ({ ...k })) } };
}
