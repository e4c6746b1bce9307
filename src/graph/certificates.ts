import { createHash, X509Certificate } from 'node:crypto';
import { UsageError } from '../errors.js';
import type { KeyCredential } from './models.js';

// Certificates as a keyCredential needs them (GD v1.0 resources/keycredential.md: `key` is "the
// certificate's raw data in byte array converted to Base64 string", i.e. the DER). Only the public
// certificate ever leaves this module: a PEM holding the private key too is accepted (it is what
// ClientCertificateCredential reads), but the key block is never read into anything sent.

export interface CertificateInfo {
  der: Buffer;
  /** SHA-1 of the DER, upper-case hex: what the Entra portal and PowerShell call the thumbprint. */
  thumbprint: string;
  /** "CN=…, O=…": what the docs put into displayName (applications-how-to-add-certificate.md). */
  subject: string;
  notBefore: string;
  notAfter: string;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/;

export const thumbprintOf = (der: Buffer) => createHash('sha1').update(der).digest('hex').toUpperCase();

/** The first certificate of a PEM file (a private key beside it is skipped), or a DER/.cer file. */
export function readCertificate(bytes: Buffer, source: string): CertificateInfo {
  const text = bytes.toString('latin1');
  const pem = PEM_CERT.exec(text);
  const problem = `--certificate ${source} holds no X.509 certificate; give a PEM (-----BEGIN CERTIFICATE-----) or DER (.cer) file.`;
  if (!pem && text.includes('-----BEGIN ')) throw new UsageError(problem);
  const der = pem ? Buffer.from(pem[1]!.replace(/\s+/g, ''), 'base64') : bytes;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    throw new UsageError(problem);
  }
  return {
    der: cert.raw,
    thumbprint: thumbprintOf(cert.raw),
    subject: cert.subject.split('\n').join(', '),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
  };
}

/** A self-signed certificate and its private key, as one PEM each (the `selfsigned` package). */
export async function createSelfSignedCertificate(commonName: string, years: number, now = new Date()): Promise<{ certPem: string; keyPem: string }> {
  // The CommonJS package's functions sit on `default` once bundled (scripts/bundle.mjs), directly under plain Node.
  const mod = (await import('selfsigned')) as typeof import('selfsigned') & { default?: typeof import('selfsigned') };
  const generate = typeof mod.generate === 'function' ? mod.generate : mod.default!.generate;
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + years);
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keySize: 2048,
    algorithm: 'sha256',
    // A minute of slack: a clock a little behind Entra's must not see a not-yet-valid certificate.
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
    ],
  });
  return { certPem: pems.cert, keyPem: pems.private };
}

export interface CertificateSummary {
  keyId: string;
  displayName: string | null;
  thumbprint: string | null;
  startDateTime: string | null;
  endDateTime: string | null;
  type: string | null;
  usage: string | null;
}

/**
 * What agentid shows of a keyCredential: never the key. The thumbprint comes from the key when
 * Graph returned it ($select), else from customKeyIdentifier, which Graph defaults to the
 * thumbprint (keycredential.md) — unless a client set its own, in which case it is not 20 bytes
 * and no thumbprint is shown rather than a wrong one.
 */
export function summarizeKeyCredential(k: KeyCredential): CertificateSummary {
  let thumbprint: string | null = null;
  if (k.key) {
    try {
      const raw = Buffer.from(k.key, 'base64');
      thumbprint = thumbprintOf(new X509Certificate(raw.subarray(0, 11).toString('latin1') === '-----BEGIN ' ? raw.toString('latin1') : raw).raw);
    } catch {
      thumbprint = null;
    }
  }
  if (!thumbprint && k.customKeyIdentifier) {
    const b = Buffer.from(k.customKeyIdentifier, 'base64');
    if (b.length === 20) thumbprint = b.toString('hex').toUpperCase();
  }
  return {
    keyId: k.keyId,
    displayName: k.displayName ?? null,
    thumbprint,
    startDateTime: k.startDateTime ?? null,
    endDateTime: k.endDateTime ?? null,
    type: k.type ?? null,
    usage: k.usage ?? null,
  };
}
