import { promises as fsp } from 'node:fs';
import { X509Certificate as X509 } from 'node:crypto';
import { isIP } from 'node:net';
import path from 'node:path';

// The certificate of `agentid mock serve --tls`. MSAL (inside @azure/identity) refuses an
// authority that is not https, so signing in with @azure/identity's own credentials against the
// emulator needs TLS. The certificate is self-signed, for localhost and the served host, kept in
// $AGENTID_HOME/mock/tls/ (the key with mode 0600) and reused while it covers the host and is
// valid; clients trust it through NODE_EXTRA_CA_CERTS=<cert.pem>.

export interface TlsMaterial {
  certPath: string;
  keyPath: string;
  cert: string;
  key: string;
}

function covers(certPem: string, host: string, now: Date): boolean {
  try {
    const x = new X509(certPem);
    if (new Date(x.validTo).getTime() - now.getTime() < 24 * 3600 * 1000) return false;
    return isIP(host) ? x.checkIP(host) !== undefined : x.checkHost(host) !== undefined;
  } catch {
    return false;
  }
}

export async function ensureTlsCertificate(dir: string, host: string, now = new Date()): Promise<TlsMaterial> {
  const certPath = path.join(dir, 'cert.pem');
  const keyPath = path.join(dir, 'key.pem');
  const existing = await Promise.all([fsp.readFile(certPath, 'utf8'), fsp.readFile(keyPath, 'utf8')]).catch(() => undefined);
  if (existing && covers(existing[0], host, now)) return { certPath, keyPath, cert: existing[0], key: existing[1] };
  const { generate } = await import('selfsigned');
  const names = new Set(['localhost', '127.0.0.1', '::1', host]);
  const altNames = [...names].map((n) => (isIP(n) ? { type: 7 as const, ip: n } : { type: 2 as const, value: n }));
  const pems = await generate([{ name: 'commonName', value: 'agentid emulated tenant' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + 365 * 24 * 3600 * 1000),
    extensions: [
      // Its own trust anchor: NODE_EXTRA_CA_CERTS adds it as a CA, and it signs itself.
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  await fsp.writeFile(keyPath, pems.private, { mode: 0o600 });
  await fsp.writeFile(certPath, pems.cert, { mode: 0o644 });
  return { certPath, keyPath, cert: pems.cert, key: pems.private };
}
