import { spawn } from 'node:child_process';
import { generateKeyPairSync, sign, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ROOT, baseEnv, parseJson, runOnTerminal, startServer, tempHome } from './helpers.js';

// @azure/identity's own DeviceCodeCredential, ClientCertificateCredential and
// WorkloadIdentityCredential signing in against `agentid mock serve --tls`, the way they would
// against Entra (discovery, device code, token endpoint; the emulator's certificate trusted
// through NODE_EXTRA_CA_CERTS), and agentid's real-tenant profiles built on them: the certificate
// registered through Graph's PATCH keyCredentials, the federated credential through Graph's
// POST federatedIdentityCredentials, the device code on a pseudo-terminal (`script`).

const TENANT = '3f2a7c1e-5b8d-4e6f-9a0b-1c2d3e4f5a6b';
const AUTOMATION = { appId: 'c0a1b2c3-0001-4d5e-8f90-000000000301', objectId: '9c4d2f5e-0001-4e8f-9fa0-000000000301' };
const KEY_ID = 'b1c2d3e4-0001-4a5b-8c9d-000000000501';
const K8S = { issuer: 'https://oidc.cluster1.contoso.test', subject: 'system:serviceaccount:agents:deployer' };
const JWT = /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./;

const home = tempHome('agentid-flows-');
let server: Awaited<ReturnType<typeof startServer>>;
let url = '';
let ca = '';
let adminToken = '';
const certFile = path.join(home.home, 'app.pem');
const otherCertFile = path.join(home.home, 'other.pem');
const tokenFile = path.join(home.home, 'sa.token');

beforeAll(async () => {
  server = await startServer(home.home, ['--tls']);
  url = server.url;
  ca = path.join(home.home, 'mock', 'tls', 'cert.pem');
  // The emulated administrator's Graph token, for registering credentials as an admin would.
  adminToken = (await home.run(['mock', 'token', '--scopes', 'Application.ReadWrite.All'])).stdout.trim();
  for (const [file, cn] of [[certFile, 'agentid automation'], [otherCertFile, 'not registered']] as const) {
    const pems = await generate([{ name: 'commonName', value: cn }], { keySize: 2048, algorithm: 'sha256', notBeforeDate: new Date(Date.now() - 60_000), notAfterDate: new Date(Date.now() + 30 * 86400_000) });
    // What ClientCertificateCredential reads: one PEM file holding the private key and the certificate.
    writeFileSync(file, pems.private + pems.cert, { mode: 0o600 });
  }
  // A Kubernetes-style service account token: another issuer, signed by a key the emulator never sees.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${b64({ alg: 'RS256', typ: 'JWT', kid: 'cluster1' })}.${b64({ iss: K8S.issuer, sub: K8S.subject, aud: ['api://AzureADTokenExchange'], iat: now, nbf: now, exp: now + 3600 })}`;
  writeFileSync(tokenFile, `${unsigned}.${sign('RSA-SHA256', Buffer.from(unsigned), privateKey).toString('base64url')}`);
});

afterAll(async () => {
  await server?.stop();
  home.remove();
});

/** A Node child that trusts the emulator's certificate, running an ESM snippet that prints one JSON line. */
function nodeScript(code: string, env: Record<string, string> = {}): Promise<{ code: number | null; out: any; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, env: { ...baseEnv(home.home), URL: url, NODE_EXTRA_CA_CERTS: ca, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (c) => resolve({ code: c, out: stdout ? parseJson(stdout, 'the child script output') : undefined, stderr }));
  });
}

/**
 * agentid on a pseudo-terminal (util-linux `script`), with CI unset for this child only: stdin and
 * stderr are the terminal, so the CLI is interactive; stdout goes to a file for the test to read.
 */
const onTerminal = (args: string[], stdoutFile: string) => runOnTerminal(home.home, args, stdoutFile, { NODE_EXTRA_CA_CERTS: ca });

const claimsSnippet = `const claims = (t) => JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString());`;
const opts = `{ authorityHost: process.env.URL, disableInstanceDiscovery: true }`;

describe('@azure/identity credentials against `mock serve --tls`', () => {
  test('DeviceCodeCredential signs the emulated user in, keeps an account MSAL can reuse, and refreshes silently', async () => {
    const r = await nodeScript(`
      import { DeviceCodeCredential } from '@azure/identity';
      ${claimsSnippet}
      const prompts = [];
      const cred = new DeviceCodeCredential({ ...${opts}, tenantId: '${TENANT}', userPromptCallback: (i) => prompts.push(i.userCode) });
      const record = await cred.authenticate(['https://graph.microsoft.com/User.Read', 'https://graph.microsoft.com/AgentIdentity.Read.All']);
      // Graph's .default is not among the cached access token's scopes: MSAL redeems its refresh token.
      const t = await cred.getToken('https://graph.microsoft.com/.default');
      const me = await fetch(process.env.URL + '/v1.0/me', { headers: { Authorization: 'Bearer ' + t.token } });
      console.log(JSON.stringify({ prompts: prompts.length, username: record.username, homeAccountId: record.homeAccountId, tenantId: record.tenantId, scp: claims(t.token).scp, me: me.status }));
    `);
    expect(r.stderr).toBe('');
    expect(r.out).toEqual({ prompts: 1, username: 'admin@contoso.onmicrosoft.com', homeAccountId: `6e1f0c2a-0001-4a5b-8c9d-000000000001.${TENANT}`, tenantId: TENANT, scp: 'User.Read AgentIdentity.Read.All', me: 200 });
  });

  test('ClientCertificateCredential signs in with a certificate registered through PATCH keyCredentials, and an unregistered one is AADSTS700027', async () => {
    const der = new X509Certificate(readFileSync(certFile, 'utf8')).raw.toString('base64');
    const r = await nodeScript(`
      import { ClientCertificateCredential } from '@azure/identity';
      ${claimsSnippet}
      const patch = await fetch(process.env.URL + '/v1.0/applications/${AUTOMATION.objectId}', { method: 'PATCH', headers: { Authorization: 'Bearer ' + process.env.ADMIN_TOKEN, 'Content-Type': 'application/json' },
        body: JSON.stringify({ keyCredentials: [{ keyId: '${KEY_ID}', type: 'AsymmetricX509Cert', usage: 'Verify', key: process.env.CERT_DER, displayName: 'CN=agentid automation' }] }) });
      const t = await new ClientCertificateCredential('${TENANT}', '${AUTOMATION.appId}', { certificatePath: process.env.CERT }, ${opts}).getToken('https://graph.microsoft.com/.default');
      const graph = await fetch(process.env.URL + '/v1.0/servicePrincipals/microsoft.graph.agentIdentity', { headers: { Authorization: 'Bearer ' + t.token } });
      const refused = await new ClientCertificateCredential('${TENANT}', '${AUTOMATION.appId}', { certificatePath: process.env.OTHER }, ${opts}).getToken('https://graph.microsoft.com/.default').then(() => 'signed in', (e) => e.message);
      console.log(JSON.stringify({ patch: patch.status, idtyp: claims(t.token).idtyp, appid: claims(t.token).appid, graph: graph.status, refused: refused.match(/AADSTS\\d+: [^[]*\\[Reason - [^,]*/)?.[0] }));
    `, { ADMIN_TOKEN: adminToken, CERT_DER: der, CERT: certFile, OTHER: otherCertFile });
    expect(r.stderr).toBe('');
    expect(r.out).toEqual({ patch: 204, idtyp: 'app', appid: AUTOMATION.appId, graph: 200, refused: 'AADSTS700027: Client assertion contains an invalid signature. [Reason - The key was not found.' });
  });

  test('WorkloadIdentityCredential signs in with a token file that matches a federated credential added through Graph', async () => {
    const r = await nodeScript(`
      import { WorkloadIdentityCredential } from '@azure/identity';
      ${claimsSnippet}
      const fic = await fetch(process.env.URL + '/v1.0/applications/${AUTOMATION.objectId}/federatedIdentityCredentials', { method: 'POST', headers: { Authorization: 'Bearer ' + process.env.ADMIN_TOKEN, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'cluster1-deployer', issuer: '${K8S.issuer}', subject: '${K8S.subject}', audiences: ['api://AzureADTokenExchange'] }) });
      const t = await new WorkloadIdentityCredential({ ...${opts}, tenantId: '${TENANT}', clientId: '${AUTOMATION.appId}', tokenFilePath: process.env.TOKEN_FILE }).getToken('https://graph.microsoft.com/.default');
      const graph = await fetch(process.env.URL + '/v1.0/servicePrincipals/microsoft.graph.agentIdentity', { headers: { Authorization: 'Bearer ' + t.token } });
      console.log(JSON.stringify({ fic: fic.status, idtyp: claims(t.token).idtyp, appid: claims(t.token).appid, graph: graph.status }));
    `, { ADMIN_TOKEN: adminToken, TOKEN_FILE: tokenFile });
    expect(r.stderr).toBe('');
    expect(r.out).toEqual({ fic: 201, idtyp: 'app', appid: AUTOMATION.appId, graph: 200 });
  });
});

describe('agentid real-tenant profiles through those credentials', () => {
  const env = () => ({ NODE_EXTRA_CA_CERTS: ca });
  const at = () => ['--tenant', TENANT, '--graph-url', url, '--authority-host', url];

  test('login --certificate signs in as the app, saves no key material, and a Graph command runs through it', async () => {
    const login = await home.run(['login', '--profile', 'cert', ...at(), '--client-id', AUTOMATION.appId, '--certificate', certFile, '-o', 'json', '--query', '{credential:credential,certificatePath:certificatePath}'], { env: env() });
    expect({ code: login.code, stderr: login.stderr }).toEqual({ code: 0, stderr: `Signed in to ${TENANT} as app Contoso Agent Automation (${AUTOMATION.appId}).\nCreated profile 'cert'; it is now the current profile.\n` });
    expect(login.json()).toEqual({ credential: 'certificate', certificatePath: certFile });
    const config = readFileSync(path.join(home.home, 'config.json'), 'utf8');
    expect(config).not.toContain('PRIVATE KEY');
    expect(config).not.toMatch(JWT);
    const list = await home.run(['--profile', 'cert', 'blueprint', 'list', '-o', 'json', '--query', 'length(@)'], { env: env() });
    expect({ code: list.code, stderr: list.stderr }).toEqual({ code: 0, stderr: '' });
    expect(typeof list.json()).toBe('number');
  });

  test('login --federated-token-file signs in as the app and a Graph command runs through it', async () => {
    const login = await home.run(['login', '--profile', 'wif', ...at(), '--client-id', AUTOMATION.appId, '--federated-token-file', tokenFile, '-o', 'none'], { env: env() });
    expect({ code: login.code, stderr: login.stderr }).toEqual({ code: 0, stderr: `Signed in to ${TENANT} as app Contoso Agent Automation (${AUTOMATION.appId}).\nCreated profile 'wif'; it is now the current profile.\n` });
    const status = await home.run(['--profile', 'wif', 'status', '-o', 'json', '--query', '{signIn:signIn,identity:identity.type,permissionType:permissionType}'], { env: env() });
    expect(status.code).toBe(0);
    expect(status.json()).toEqual({ signIn: 'federatedToken', identity: 'application', permissionType: 'application (roles)' });
  });

  test('a device-code profile on a terminal shows the code, is approved by the emulated user, and a Graph command runs through it', async () => {
    const saved = await home.run(['login', '--profile', 'dc', ...at(), '--device-code', '--no-verify', '-o', 'none'], { env: env() });
    expect(saved.code).toBe(0);
    const out = path.join(home.home, 'status.json');
    const r = await onTerminal(['--profile', 'dc', 'status', '-o', 'json', '--query', '{signIn:signIn,upn:identity.userPrincipalName,client:identity.clientAppId,roles:directoryRoles}'], out);
    expect(r.code).toBe(0);
    expect(r.terminal).toMatch(/To sign in, use a web browser to open the page https:\/\/microsoft\.com\/devicelogin and enter the code [A-Z0-9]{9} to authenticate\./);
    expect(r.terminal).not.toMatch(JWT);
    expect(parseJson(r.stdout, 'status')).toEqual({ signIn: 'deviceCode', upn: 'admin@contoso.onmicrosoft.com', client: '14d82eec-204b-4c2f-b7e8-296a70dab67e', roles: expect.arrayContaining(['Agent ID Administrator']) });
  });

  test('login --device-code on a terminal signs in before it saves the profile', async () => {
    const out = path.join(home.home, 'login.json');
    const r = await onTerminal(['login', '--profile', 'dc2', ...at(), '--device-code', '-o', 'none'], out);
    expect(r.code).toBe(0);
    expect(r.terminal).toContain(`Signed in to ${TENANT} as admin@contoso.onmicrosoft.com.`);
  });
});
