import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import { GraphClient } from '../../src/graph/client.js';
import * as bp from '../../src/graph/blueprints.js';
import { createSelfSignedCertificate, readCertificate, summarizeKeyCredential, type CertificateInfo } from '../../src/graph/certificates.js';
import { UsageError } from '../../src/errors.js';
import { createMockHandler, type MockHandler } from '../../src/mock/handler.js';
import { MemoryStore } from '../../src/mock/store.js';
import { seedState, SEED_IDS } from '../../src/mock/seed.js';
import { SEED_APPS } from '../../src/mock/seedApps.js';
import { appClaims, mintToken } from '../../src/mock/auth.js';
import { CertificateSchema } from '../../src/commands/blueprint.js';

// Certificates on blueprints (src/graph/certificates.ts, the certificate half of
// src/graph/blueprints.ts) and the emulator's keyCredentials rules (src/mock/keyCredentials.ts):
// GD v1.0 resources/keycredential.md, concepts/applications-how-to-add-certificate.md,
// agentidentityblueprint-update.md.

const ROOT = 'https://graph.microsoft.com/v1.0';
const bind = (id: string) => `${ROOT}/users/${id}`;

interface Pems {
  certPem: string;
  keyPem: string;
}
let first: Pems;
let second: Pems;
let firstCert: CertificateInfo;
let secondCert: CertificateInfo;

beforeAll(async () => {
  [first, second] = await Promise.all([createSelfSignedCertificate('agentid unit one', 2), createSelfSignedCertificate('agentid unit two', 1)]);
  firstCert = readCertificate(Buffer.from(first.keyPem + first.certPem), 'first.pem');
  secondCert = readCertificate(Buffer.from(second.certPem), 'second.pem');
});

/** A seeded tenant, a GraphClient on it, and every request the client sent. */
function tenant() {
  const store = new MemoryStore(seedState());
  const handler: MockHandler = createMockHandler({ store });
  const sent: { method: string; url: string; body: string }[] = [];
  const transport = async (req: Request) => {
    const body = req.body ? await req.clone().text() : '';
    sent.push({ method: req.method, url: decodeURIComponent(req.url.replace(ROOT, '')), body });
    return handler(req);
  };
  const client = new GraphClient({ baseUrl: 'https://graph.microsoft.com', version: 'v1.0', transport, token: async () => undefined, retry: { maxRetries: 0 } });
  const raw = async (method: string, path: string, body?: unknown) => {
    const res = await handler(new Request(`${ROOT}${path}`, { method, headers: body === undefined ? {} : { 'Content-Type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }));
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  const blueprint = async () => {
    const r = await raw('POST', '/applications/microsoft.graph.agentIdentityBlueprint', { displayName: 'Cert Blueprint', 'sponsors@odata.bind': [bind(SEED_IDS.megan)] });
    expect(r.status).toBe(201);
    return r.body as { id: string; appId: string };
  };
  return { store, client, sent, raw, blueprint };
}

const der64 = (c: CertificateInfo) => c.der.toString('base64');
const certOnly = (c: CertificateInfo, extra: Record<string, unknown> = {}) => ({ type: 'AsymmetricX509Cert', usage: 'Verify', key: der64(c), ...extra });

describe('readCertificate', () => {
  test('takes the certificate out of a PEM that also holds the private key, and never the key', () => {
    const x = new X509Certificate(first.certPem);
    expect(firstCert.der.equals(x.raw)).toBe(true);
    expect(firstCert.der.toString('latin1')).not.toContain('PRIVATE KEY');
    expect(firstCert.thumbprint).toBe(createHash('sha1').update(x.raw).digest('hex').toUpperCase());
    expect(firstCert.subject).toBe('CN=agentid unit one');
    expect(firstCert.notAfter).toBe(new Date(x.validTo).toISOString());
  });

  test('reads a DER (.cer) file the same as its PEM', () => {
    expect(readCertificate(firstCert.der, 'first.cer')).toEqual(firstCert);
  });

  test('refuses a key-only PEM and a file that is no certificate, naming the flag and the formats', () => {
    const message = (bytes: Buffer) => {
      try {
        readCertificate(bytes, 'x.pem');
      } catch (err) {
        expect(err).toBeInstanceOf(UsageError);
        return (err as Error).message;
      }
      return 'accepted';
    };
    const expected = '--certificate x.pem holds no X.509 certificate; give a PEM (-----BEGIN CERTIFICATE-----) or DER (.cer) file.';
    expect(message(Buffer.from(first.keyPem))).toBe(expected);
    expect(message(Buffer.from('hello world\n'))).toBe(expected);
  });
});

describe('createSelfSignedCertificate', () => {
  test('makes a certificate valid for the years asked, whose public key is the private key in the PEM', () => {
    const x = new X509Certificate(first.certPem);
    const years = (Date.parse(x.validTo) - Date.parse(x.validFrom)) / (365.25 * 86400_000);
    expect(Math.round(years)).toBe(2);
    expect(first.keyPem).toMatch(/^-----BEGIN (RSA )?PRIVATE KEY-----/);
    const fromKey = createPublicKey(createPrivateKey(first.keyPem)).export({ type: 'spki', format: 'der' });
    expect(Buffer.from(x.publicKey.export({ type: 'spki', format: 'der' })).equals(Buffer.from(fromKey))).toBe(true);
  });
});

describe('CertificateSchema', () => {
  test.each([
    [{ certificate: 'a.cer', createCertificate: true, keyFile: 'k.pem' }, 'Use either --certificate PATH (an existing certificate) or --create-certificate, not both.'],
    [{ createCertificate: true }, '--create-certificate needs --key-file PATH: the new file that receives the certificate and its private key.'],
    [{ certificate: 'a.cer', keyFile: 'k.pem' }, '--key-file and --years only go with --create-certificate.'],
    [{ createCertificate: true, keyFile: 'k.pem', years: '0' }, '--years takes a whole number of years from 1 to 10.'],
    [{ createCertificate: true, keyFile: 'k.pem', years: 'two' }, '--years takes a whole number of years from 1 to 10.'],
  ])('refuses %j', (input, message) => {
    const r = CertificateSchema.safeParse(input);
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toBe(message);
  });

  test('accepts a certificate file, and a created certificate with its key file and years', () => {
    expect(CertificateSchema.safeParse({ certificate: 'a.cer', displayName: 'prod' }).success).toBe(true);
    expect(CertificateSchema.parse({ createCertificate: true, keyFile: 'k.pem', years: '3' })).toEqual({ createCertificate: true, keyFile: 'k.pem', years: 3 });
  });
});

describe('Graph layer: addCertificate / removeCertificate / getCredentials', () => {
  test('reads keyCredentials with $select, PATCHes them back with the new certificate, and reports what Graph stored', async () => {
    const t = tenant();
    const b = await t.blueprint();
    const one = await bp.addCertificate(t.client, b.id, firstCert, 'CN=agentid unit one');
    expect(one).toEqual({
      keyId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      displayName: 'CN=agentid unit one',
      thumbprint: firstCert.thumbprint,
      startDateTime: firstCert.notBefore,
      endDateTime: firstCert.notAfter,
      type: 'AsymmetricX509Cert',
      usage: 'Verify',
    });
    t.sent.length = 0;
    const two = await bp.addCertificate(t.client, b.id, secondCert, 'second');
    expect(t.sent.map((r) => `${r.method} ${r.url}`)).toEqual([
      `GET /applications/${b.id}/microsoft.graph.agentIdentityBlueprint?$select=id,displayName,keyCredentials,passwordCredentials`,
      `PATCH /applications/${b.id}/microsoft.graph.agentIdentityBlueprint`,
      `GET /applications/${b.id}/microsoft.graph.agentIdentityBlueprint?$select=id,displayName,keyCredentials,passwordCredentials`,
    ]);
    const patch = JSON.parse(t.sent[1]!.body);
    // The existing certificate goes back with its key (a PATCH without it would remove it), and the new one as Graph asks for it.
    expect(patch.keyCredentials).toEqual([
      expect.objectContaining({ keyId: one.keyId, key: der64(firstCert), type: 'AsymmetricX509Cert', usage: 'Verify' }),
      { keyId: two.keyId, type: 'AsymmetricX509Cert', usage: 'Verify', key: der64(secondCert), displayName: 'second' },
    ]);
    expect(t.sent.map((r) => r.body).join('')).not.toContain('PRIVATE KEY');
    const creds = await bp.getCredentials(t.client, b.id);
    expect(creds.keyCredentials.map((k) => summarizeKeyCredential(k).thumbprint)).toEqual([firstCert.thumbprint, secondCert.thumbprint]);

    await bp.removeCertificate(t.client, b.id, one.keyId);
    expect((await bp.getCredentials(t.client, b.id)).keyCredentials.map((k) => k.keyId)).toEqual([two.keyId]);
  });

  test('refuses to register the same certificate twice, with exit-2 wording and no write', async () => {
    const t = tenant();
    const b = await t.blueprint();
    const one = await bp.addCertificate(t.client, b.id, firstCert, 'x');
    t.sent.length = 0;
    await expect(bp.addCertificate(t.client, b.id, firstCert, 'x')).rejects.toThrow(new UsageError(`This certificate (thumbprint ${firstCert.thumbprint}) is already registered as keyId ${one.keyId}; nothing to add.`));
    expect(t.sent.map((r) => r.method)).toEqual(['GET']);
  });

  test('summarizeKeyCredential: thumbprint from the key, else from a 20-byte customKeyIdentifier, never the key itself', () => {
    const k = { keyId: 'k', key: der64(firstCert), customKeyIdentifier: 'bm90IGEgdGh1bWJwcmludA==', type: 'AsymmetricX509Cert', usage: 'Verify' };
    expect(summarizeKeyCredential(k)).toEqual({ keyId: 'k', displayName: null, thumbprint: firstCert.thumbprint, startDateTime: null, endDateTime: null, type: 'AsymmetricX509Cert', usage: 'Verify' });
    const sha1 = createHash('sha1').update(firstCert.der).digest('base64');
    expect(summarizeKeyCredential({ keyId: 'k', key: null, customKeyIdentifier: sha1 }).thumbprint).toBe(firstCert.thumbprint);
    expect(summarizeKeyCredential({ keyId: 'k', key: null, customKeyIdentifier: 'bm90IGEgdGh1bWJwcmludA==' }).thumbprint).toBeNull();
    expect(JSON.stringify(summarizeKeyCredential(k))).not.toContain(der64(firstCert).slice(0, 40));
  });
});

describe('emulator: keyCredentials', () => {
  test('key is returned only on a single-object GET with $select=keyCredentials, on applications and service principals', async () => {
    const t = tenant();
    const b = await t.blueprint();
    expect((await t.raw('PATCH', `/applications/${b.id}`, { keyCredentials: [certOnly(firstCert)] })).status).toBe(204);
    const key = der64(firstCert);
    const keysOf = (body: any) => body.keyCredentials.map((k: any) => k.key);
    expect(keysOf((await t.raw('GET', `/applications/${b.id}`)).body)).toEqual([null]);
    expect(keysOf((await t.raw('GET', `/applications/${b.id}/microsoft.graph.agentIdentityBlueprint`)).body)).toEqual([null]);
    expect(keysOf((await t.raw('GET', `/applications/${b.id}?$select=keyCredentials`)).body)).toEqual([key]);
    expect(keysOf((await t.raw('GET', `/applications/${b.id}/microsoft.graph.agentIdentityBlueprint?$select=id,keyCredentials`)).body)).toEqual([key]);
    const list = (await t.raw('GET', `/applications/microsoft.graph.agentIdentityBlueprint?$select=id,keyCredentials`)).body.value.find((a: any) => a.id === b.id);
    expect(keysOf(list)).toEqual([null]);

    const sp = SEED_APPS.automation;
    expect((await t.raw('PATCH', `/servicePrincipals/${sp.servicePrincipalId}`, { keyCredentials: [{ ...certOnly(secondCert), keyId: 'b1c2d3e4-0001-4a5b-8c9d-000000000777' }] })).status).toBe(204);
    expect(keysOf((await t.raw('GET', `/servicePrincipals/${sp.servicePrincipalId}`)).body)).toEqual([null]);
    expect(keysOf((await t.raw('GET', `/servicePrincipals/${sp.servicePrincipalId}?$select=keyCredentials`)).body)).toEqual([der64(secondCert)]);
  });

  test('fills in keyId, customKeyIdentifier (the thumbprint) and the certificate dates; leaves displayName as sent', async () => {
    const t = tenant();
    const b = await t.blueprint();
    expect((await t.raw('PATCH', `/applications/${b.id}/microsoft.graph.agentIdentityBlueprint`, { keyCredentials: [certOnly(firstCert)] })).status).toBe(204);
    const [k] = (await t.raw('GET', `/applications/${b.id}?$select=keyCredentials`)).body.keyCredentials;
    expect(k).toEqual({
      customKeyIdentifier: createHash('sha1').update(firstCert.der).digest('base64'),
      displayName: null,
      endDateTime: firstCert.notAfter,
      key: der64(firstCert),
      keyId: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      startDateTime: firstCert.notBefore,
      type: 'AsymmetricX509Cert',
      usage: 'Verify',
    });
  });

  test.each([
    ['a key that is no certificate', () => certOnly(firstCert, { key: Buffer.from('not a certificate').toString('base64') }), 'KeyCredentialsInvalidValue', 'Key credential value is invalid: the key must be the base64 encoding of an X.509 certificate.'],
    ['a private key', () => certOnly(firstCert, { key: Buffer.from(first.keyPem).toString('base64') }), 'KeyCredentialsInvalidValue', 'Key credential value is invalid: the key must be the base64 encoding of an X.509 certificate.'],
    ['no key', () => certOnly(firstCert, { key: null }), 'KeyCredentialsInvalidValue', 'KeyValue cannot be null or empty.'],
    ['an unknown usage', () => certOnly(firstCert, { usage: 'Encrypt' }), 'Request_BadRequest', 'The value for the property "usage" in one of your credentials is invalid. Acceptable values are Sign, Verify.'],
    ['an end date after the certificate expires', () => certOnly(firstCert, { endDateTime: new Date(Date.parse(firstCert.notAfter) + 86400_000).toISOString() }), 'Request_BadRequest', 'Key credential end date is invalid.'],
  ])('refuses %s with 400 and Graph’s error body, changing nothing', async (_what, credential: () => Record<string, unknown>, code, message) => {
    const t = tenant();
    const b = await t.blueprint();
    const r = await t.raw('PATCH', `/applications/${b.id}/microsoft.graph.agentIdentityBlueprint`, { keyCredentials: [credential()] });
    expect({ status: r.status, code: r.body.error.code, message: r.body.error.message }).toEqual({ status: 400, code, message });
    expect(r.body.error.innerError).toMatchObject({ 'request-id': expect.any(String), date: expect.any(String) });
    expect((await t.raw('GET', `/applications/${b.id}`)).body.keyCredentials).toEqual([]);
  });

  test('refuses an existing keyId sent with another certificate, and replaces the collection otherwise', async () => {
    const t = tenant();
    const b = await t.blueprint();
    const keyId = 'a1b2c3d4-0001-4a5b-8c9d-000000000001';
    expect((await t.raw('PATCH', `/applications/${b.id}`, { keyCredentials: [certOnly(firstCert, { keyId })] })).status).toBe(204);
    const swapped = await t.raw('PATCH', `/applications/${b.id}`, { keyCredentials: [certOnly(secondCert, { keyId })] });
    expect([swapped.status, swapped.body.error.message]).toEqual([400, 'Update to existing credential with KeyId is not allowed.']);
    expect((await t.raw('PATCH', `/applications/${b.id}`, { keyCredentials: [certOnly(secondCert)] })).status).toBe(204);
    const after = (await t.raw('GET', `/applications/${b.id}`)).body.keyCredentials;
    expect(after.map((k: any) => k.customKeyIdentifier)).toEqual([createHash('sha1').update(secondCert.der).digest('base64')]);
  });

  test('audits the change as certificates management without the key', async () => {
    const t = tenant();
    const b = await t.blueprint();
    await t.raw('PATCH', `/applications/${b.id}/microsoft.graph.agentIdentityBlueprint`, { keyCredentials: [certOnly(firstCert, { displayName: 'CN=agentid unit one' })] });
    const audits = (await t.raw('GET', `/auditLogs/directoryAudits?$filter=targetResources/any(t:t/id eq '${b.id}')`)).body.value;
    const update = audits.find((a: any) => a.activityDisplayName === 'Update application – Certificates and secrets management');
    expect(update.targetResources[0].modifiedProperties[0]).toMatchObject({ displayName: 'KeyDescription', oldValue: null, newValue: expect.stringContaining('KeyType=AsymmetricX509Cert,KeyUsage=Verify,DisplayName=CN=agentid unit one') });
    expect(JSON.stringify(audits)).not.toContain(der64(firstCert).slice(0, 60));
  });
});

describe('emulator: permissions of PATCH keyCredentials (GD agentidentityblueprint-update.md)', () => {
  const store = new MemoryStore(seedState());
  const handler = createMockHandler({ store, requireToken: true });
  let blueprintId = '';
  const patchAs = async (roles: string[], body: unknown, path = (id: string) => `/applications/${id}/microsoft.graph.agentIdentityBlueprint`) => {
    const token = await mintToken(store, (s) => appClaims(s, SEED_APPS.automation.appId, { roles }));
    const res = await handler(new Request(`${ROOT}${path(blueprintId)}`, { method: 'PATCH', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) }));
    return res.status;
  };
  beforeAll(async () => {
    const token = await mintToken(store, (s) => appClaims(s, SEED_APPS.automation.appId, { roles: ['AgentIdentityBlueprint.ReadWrite.All'] }));
    const res = await handler(new Request(`${ROOT}/applications/microsoft.graph.agentIdentityBlueprint`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ displayName: 'Perm BP', 'sponsors@odata.bind': [bind(SEED_IDS.megan)] }) }));
    blueprintId = ((await res.json()) as { id: string }).id;
  });

  test.each([
    ['AddRemoveCreds.All: keyCredentials', ['AgentIdentityBlueprint.AddRemoveCreds.All'], 'creds', 204],
    ['AddRemoveCreds.All: keyCredentials on the plain /applications/{id}', ['AgentIdentityBlueprint.AddRemoveCreds.All'], 'credsPlain', 204],
    ['AddRemoveCreds.All: displayName', ['AgentIdentityBlueprint.AddRemoveCreds.All'], 'branding', 403],
    ['AddRemoveCreds.All: both', ['AgentIdentityBlueprint.AddRemoveCreds.All'], 'both', 403],
    ['UpdateBranding.All: keyCredentials', ['AgentIdentityBlueprint.UpdateBranding.All'], 'creds', 403],
    ['AddRemoveCreds.All + UpdateBranding.All: both', ['AgentIdentityBlueprint.AddRemoveCreds.All', 'AgentIdentityBlueprint.UpdateBranding.All'], 'both', 403],
    ['ReadWrite.All: both', ['AgentIdentityBlueprint.ReadWrite.All'], 'both', 204],
    ['Application.Read.All: keyCredentials', ['Application.Read.All'], 'creds', 403],
  ])('%s → %s', async (_name, roles, kind, status) => {
    const creds = { keyCredentials: [certOnly(firstCert)] };
    const body = kind === 'branding' ? { displayName: 'Perm BP' } : kind === 'both' ? { ...creds, displayName: 'Perm BP' } : creds;
    expect(await patchAs(roles, body, kind === 'credsPlain' ? (id) => `/applications/${id}` : undefined)).toBe(status);
  });
});

