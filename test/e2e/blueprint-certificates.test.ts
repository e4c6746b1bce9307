import { spawn } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ROOT, baseEnv, parseJson, startServer, tempHome, type RunResult } from './helpers.js';

// `agentid blueprint credential add|list|remove` with certificates, end to end: the real CLI
// against `agentid mock serve --tls`, and @azure/identity's ClientCertificateCredential signing the
// blueprint in with the certificate the CLI registered (the emulator's token endpoint checks
// certificate assertions against keyCredentials, src/mock/clientAssertion.ts).

const TENANT = '3f2a7c1e-5b8d-4e6f-9a0b-1c2d3e4f5a6b';
const BP = 'Certificate Agent';

const home = tempHome('agentid-certs-');
let server: Awaited<ReturnType<typeof startServer>>;
let env: Record<string, string> = {};
let appId = '';
const ownPem = path.join(home.home, 'own.pem');
const ownCer = path.join(home.home, 'own.cer');
const keyOnly = path.join(home.home, 'key-only.pem');
const keyFile = path.join(home.home, 'created.pem');
let ownThumbprint = '';

const run = (args: string[]) => home.run(args, { env });
const ok = (r: RunResult) => {
  expect({ code: r.code, stderr: r.code === 0 ? 'ok' : r.stderr }).toEqual({ code: 0, stderr: 'ok' });
  return r;
};
const certificates = async () => ok(await run(['blueprint', 'credential', 'list', BP, '-o', 'json', '--query', "[?type=='certificate']"])).json<any[]>();

beforeAll(async () => {
  server = await startServer(home.home, ['--tls']);
  env = { AGENTID_GRAPH_URL: server.url, NODE_EXTRA_CA_CERTS: path.join(home.home, 'mock', 'tls', 'cert.pem') };
  const pems = await generate([{ name: 'commonName', value: 'contoso sales agent' }], { keySize: 2048, algorithm: 'sha256', notBeforeDate: new Date(Date.now() - 60_000), notAfterDate: new Date(Date.now() + 90 * 86400_000) });
  // What an admin has at hand: the PEM with its private key (ClientCertificateCredential's input), the DER .cer, a key alone.
  writeFileSync(ownPem, pems.private + pems.cert, { mode: 0o600 });
  const der = new X509Certificate(pems.cert).raw;
  writeFileSync(ownCer, der);
  writeFileSync(keyOnly, pems.private, { mode: 0o600 });
  ownThumbprint = createHash('sha1').update(der).digest('hex').toUpperCase();
  appId = ok(await run(['blueprint', 'create', '--name', BP, '--sponsor', 'me', '-o', 'json'])).json().appId;
});

afterAll(async () => {
  await server?.stop();
  home.remove();
});

/** ClientCertificateCredential signing the blueprint in with a PEM file; the token's appid, or the AADSTS error. */
function signIn(certificatePath: string): Promise<{ appid?: string; error?: string }> {
  const code = `
    import { ClientCertificateCredential } from '@azure/identity';
    const cred = new ClientCertificateCredential('${TENANT}', '${appId}', { certificatePath: process.env.CERT }, { authorityHost: process.env.URL, disableInstanceDiscovery: true });
    cred.getToken('https://graph.microsoft.com/.default').then(
      (t) => console.log(JSON.stringify({ appid: JSON.parse(Buffer.from(t.token.split('.')[1], 'base64url').toString()).appid })),
      (e) => console.log(JSON.stringify({ error: e.message.match(/AADSTS\\d+: [^[]*\\[Reason - [^,]*/)?.[0] ?? e.message })));
  `;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, env: { ...baseEnv(home.home), URL: server.url, CERT: certificatePath, NODE_EXTRA_CA_CERTS: env.NODE_EXTRA_CA_CERTS }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('close', () => resolve(parseJson(out, 'the sign-in script output')));
  });
}

describe('blueprint certificates through the CLI', () => {
  test('refuses a file without a certificate, and a missing file, with exit 2 and one line', async () => {
    const r = await run(['blueprint', 'credential', 'add', BP, '--certificate', keyOnly]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 2,
      stdout: '',
      stderr: `error: --certificate ${keyOnly} holds no X.509 certificate; give a PEM (-----BEGIN CERTIFICATE-----) or DER (.cer) file.\n`,
    });
    const missing = await run(['blueprint', 'credential', 'add', BP, '--certificate', path.join(home.home, 'nope.cer')]);
    expect({ code: missing.code, stderr: missing.stderr }).toEqual({ code: 2, stderr: `error: Cannot read --certificate ${path.join(home.home, 'nope.cer')}: no such file.\n` });
    const both = await run(['blueprint', 'credential', 'add', BP, '--certificate', ownCer, '--create-certificate', '--key-file', keyFile]);
    expect({ code: both.code, stderr: both.stderr }).toEqual({ code: 2, stderr: 'error: Give one kind of credential: --secret, --federated, --certificate PATH or --create-certificate.\n' });
    expect(await certificates()).toEqual([]);
  });

  test('--dry-run adds, creates and removes nothing, and writes no key file', async () => {
    const before = ok(await run(['blueprint', 'credential', 'list', BP, '-o', 'json'])).stdout;
    for (const args of [
      ['blueprint', 'credential', 'add', BP, '--certificate', ownPem],
      ['blueprint', 'credential', 'add', BP, '--create-certificate', '--key-file', keyFile, '--years', '2'],
      ['blueprint', 'credential', 'remove', BP, '--key-id', '00000000-0000-4000-8000-000000000001'],
    ]) {
      const r = await run([...args, '--dry-run', '-o', 'json']);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: 'Dry run: nothing was changed.\n' });
      expect(r.json()).toMatchObject({ dryRun: true });
    }
    const plan = ok(await run(['blueprint', 'credential', 'add', BP, '--certificate', ownPem, '--dry-run', '-o', 'json'])).json();
    expect(plan).toMatchObject({ action: 'add certificate', thumbprint: ownThumbprint, displayName: 'CN=contoso sales agent' });
    expect(existsSync(keyFile)).toBe(false);
    expect(ok(await run(['blueprint', 'credential', 'list', BP, '-o', 'json'])).stdout).toBe(before);
  });

  test('registers a certificate from a PEM that holds its private key, sends only the certificate, and the blueprint signs in with it', async () => {
    const r = ok(await run(['--debug', 'blueprint', 'credential', 'add', BP, '--certificate', ownPem, '-o', 'json']));
    expect(r.json()).toEqual({
      keyId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      displayName: 'CN=contoso sales agent',
      thumbprint: ownThumbprint,
      startDateTime: expect.any(String),
      endDateTime: expect.any(String),
      type: 'AsymmetricX509Cert',
      usage: 'Verify',
    });
    expect(r.stderr).toContain(`Added certificate ${ownThumbprint} to '${BP}' (keyId ${r.json().keyId}).`);
    expect(r.stdout + r.stderr).not.toContain('PRIVATE KEY');
    // The registered DER is the certificate only (a DER .cer of the same certificate is already there).
    const again = await run(['blueprint', 'credential', 'add', BP, '--certificate', ownCer]);
    expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 2, stderr: `error: This certificate (thumbprint ${ownThumbprint}) is already registered as keyId ${r.json().keyId}; nothing to add.\n` });
    expect(await signIn(ownPem)).toEqual({ appid: appId });
  });

  test('--create-certificate writes certificate and key to a new 0600 file, never to stdout, stderr or --debug, and signs in', async () => {
    const r = ok(await run(['--debug', 'blueprint', 'credential', 'add', BP, '--create-certificate', '--key-file', keyFile, '--years', '2', '-o', 'json']));
    const out = r.json();
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const pem = readFileSync(keyFile, 'utf8');
    expect(pem).toMatch(/^-----BEGIN (RSA )?PRIVATE KEY-----[\s\S]+-----BEGIN CERTIFICATE-----/);
    const keyBody = pem.split('\n').slice(1, 4).join('');
    // --debug did log the write (so its silence about the key means something).
    expect(r.stderr).toMatch(/^\[debug\] > PATCH https:\/\/.*\/applications\/[0-9a-f-]{36}\/microsoft\.graph\.agentIdentityBlueprint$/m);
    expect(r.stdout + r.stderr).not.toContain('PRIVATE KEY');
    expect(r.stdout + r.stderr).not.toContain(keyBody.slice(0, 40));
    const x = new X509Certificate(pem);
    expect(out).toMatchObject({ keyFile, thumbprint: createHash('sha1').update(x.raw).digest('hex').toUpperCase(), displayName: `CN=${BP}`, endDateTime: new Date(x.validTo).toISOString() });
    expect(Math.round((Date.parse(x.validTo) - Date.now()) / (365.25 * 86400_000))).toBe(2);
    expect(r.stderr).toContain(`Added a new self-signed certificate ${out.thumbprint} to '${BP}' (keyId ${out.keyId}). Its private key is in ${keyFile} (mode 0600) and is not shown.`);
    expect(await signIn(keyFile)).toEqual({ appid: appId });
    // An existing file is never overwritten: exit 2, nothing registered.
    const count = (await certificates()).length;
    const refused = await run(['blueprint', 'credential', 'add', BP, '--create-certificate', '--key-file', keyFile]);
    expect({ code: refused.code, stdout: refused.stdout, stderr: refused.stderr }).toEqual({ code: 2, stdout: '', stderr: `error: --key-file ${keyFile} already exists; choose a new path (agentid never overwrites a file with a private key).\n` });
    expect(readFileSync(keyFile, 'utf8')).toBe(pem);
    expect(await certificates()).toHaveLength(count);
  });

  test('lists certificates with keyId, name, thumbprint, start and end, never the key', async () => {
    const rows = await certificates();
    expect(rows).toEqual([
      expect.objectContaining({ type: 'certificate', name: 'CN=contoso sales agent', thumbprint: ownThumbprint, detail: `thumbprint ${ownThumbprint}`, starts: expect.any(String), expires: expect.any(String), keyType: 'AsymmetricX509Cert' }),
      expect.objectContaining({ type: 'certificate', name: `CN=${BP}`, thumbprint: expect.stringMatching(/^[0-9A-F]{40}$/) }),
    ]);
    const table = ok(await run(['blueprint', 'credential', 'list', BP, '-o', 'table'])).stdout;
    expect(table).toContain(`thumbprint ${ownThumbprint}`);
    const der = readFileSync(ownCer).toString('base64');
    for (const out of [JSON.stringify(rows), table, ok(await run(['blueprint', 'show', BP, '-o', 'json'])).stdout]) expect(out).not.toContain(der.slice(0, 60));
  });

  test('removes a certificate by keyId only with --yes off a terminal; the blueprint can no longer sign in with it', async () => {
    const [own] = await certificates();
    const unconfirmed = await run(['blueprint', 'credential', 'remove', BP, '--key-id', own.id]);
    expect({ code: unconfirmed.code, stdout: unconfirmed.stdout }).toEqual({ code: 2, stdout: '' });
    expect(unconfirmed.stderr).toContain(`Remove certificate ${ownThumbprint} from '${BP}'?`);
    const plan = ok(await run(['blueprint', 'credential', 'remove', BP, '--key-id', own.id, '--dry-run', '-o', 'json'])).json();
    expect(plan).toEqual({ dryRun: true, action: 'remove credential', blueprintId: expect.any(String), keyId: own.id, credentialType: 'certificate', thumbprint: ownThumbprint });
    const r = ok(await run(['blueprint', 'credential', 'remove', BP, '--key-id', own.id, '--yes', '-o', 'json']));
    expect(r.json()).toEqual({ blueprintId: expect.any(String), removed: own.id });
    expect((await certificates()).map((c) => c.id)).not.toContain(own.id);
    expect(await signIn(ownPem)).toEqual({ error: 'AADSTS700027: Client assertion contains an invalid signature. [Reason - The key was not found.' });
    expect(await signIn(keyFile)).toEqual({ appid: appId });
    const gone = await run(['blueprint', 'credential', 'remove', BP, '--key-id', own.id, '--yes']);
    expect({ code: gone.code, stderr: gone.stderr }).toEqual({ code: 3, stderr: `error: Blueprint '${BP}' holds no secret or certificate with keyId ${own.id}; see 'agentid blueprint credential list'.\n` });
  });

  test('remove --key-id still removes a client secret (removePassword)', async () => {
    const secret = ok(await run(['blueprint', 'credential', 'add', BP, '--secret-file', path.join(home.home, 'bp.secret'), '-o', 'json'])).json();
    const r = ok(await run(['blueprint', 'credential', 'remove', BP, '--key-id', secret.keyId, '--yes']));
    expect(r.stderr).toBe(`Removed the credential from '${BP}'.\n`);
    expect(ok(await run(['blueprint', 'credential', 'list', BP, '-o', 'json', '--query', '[].type'])).json()).toEqual(['certificate']);
  });
});

describe('a compromised blueprint: bulk revoke --credentials', () => {
  test('strips secrets, certificates and federated credentials in one run; the certificate no longer signs in, and undo says it cannot bring them back', async () => {
    ok(await run(['blueprint', 'credential', 'add', BP, '--secret-file', path.join(home.home, 'revoke.secret')]));
    ok(await run(['blueprint', 'credential', 'add', BP, '--federated', '--name', 'gh-main', '--issuer', 'https://token.actions.githubusercontent.com', '--subject', 'repo:contoso/sales:ref:refs/heads/main']));
    expect(await signIn(keyFile)).toEqual({ appid: appId });
    expect(ok(await run(['blueprint', 'credential', 'list', BP, '-o', 'json', '--query', '[].type'])).json<string[]>().sort()).toEqual(['certificate', 'federated', 'secret']);

    const journal = path.join(home.home, 'revoke-credentials.jsonl');
    const dry = ok(await run(['bulk', 'revoke', '--blueprint', BP, '--credentials', '--dry-run', '-o', 'json']));
    expect(dry.stdout).toContain(`${BP}: 1 certificate (CN=${BP})`);
    const r = ok(await run(['bulk', 'revoke', '--blueprint', BP, '--credentials', '--yes', '--journal', journal, '-o', 'json']));
    expect(r.json<{ objectType: string; status: string }[]>().map((i) => [i.objectType, i.status]).sort()).toEqual([
      ['federatedIdentityCredential', 'done'],
      ['keyCredentials', 'done'],
      ['passwordCredential', 'done'],
    ]);
    expect(ok(await run(['blueprint', 'credential', 'list', BP, '-o', 'json'])).json()).toEqual([]);
    expect(await signIn(keyFile)).toEqual({ error: 'AADSTS700027: Client assertion contains an invalid signature. [Reason - The key was not found.' });
    // The journal keeps what was removed for people (names, thumbprints), never a key.
    const text = readFileSync(journal, 'utf8');
    expect(text).toContain('"kind":"removeCertificates"');
    expect(text).not.toContain(readFileSync(keyFile, 'utf8').split('\n')[1]!.slice(0, 40));
    const undo = await run(['bulk', 'undo', journal, '--yes', '-o', 'json']);
    expect(undo.stderr).toContain('removed credentials are not recreated by undo');
  });
});
