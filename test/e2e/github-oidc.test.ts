import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startServer, tempHome } from './helpers.js';

// GitHub Actions OIDC sign-in, end to end: `agentid mock serve --tls` is the authority (trusted
// through NODE_EXTRA_CA_CERTS), and a loopback stand-in for GitHub's token endpoint answers
// `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=…` with a JWT from GitHub's issuer for
// contoso/agents' main branch, which the seeded "Contoso Agent Automation" app trusts through its
// federated identity credential. The emulator checks that assertion's iss, sub, aud and lifetime
// (not its signature: it cannot fetch GitHub's keys offline), as Entra would match them.

const TENANT = '3f2a7c1e-5b8d-4e6f-9a0b-1c2d3e4f5a6b';
const APP_ID = 'c0a1b2c3-0001-4d5e-8f90-000000000301';
const TRUSTED_SUBJECT = 'repo:contoso/agents:ref:refs/heads/main';
const REQUEST_TOKEN = 'ghs_e2ePlantedRequestToken9876543210zyxwv';
const JWT = /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./;

const home = tempHome('agentid-gh-oidc-');
let emulator: Awaited<ReturnType<typeof startServer>>;
let github: Server;
let requestUrl = '';
let ca = '';
let subject = TRUSTED_SUBJECT;
const asked: { url: string; authorization: string | undefined }[] = [];

beforeAll(async () => {
  emulator = await startServer(home.home, ['--tls']);
  ca = path.join(home.home, 'mock', 'tls', 'cert.pem');
  github = createServer((req, res) => {
    asked.push({ url: req.url!, authorization: req.headers.authorization });
    if (req.headers.authorization !== `bearer ${REQUEST_TOKEN}`) return void res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"message":"Bad credentials"}');
    const aud = new URL(req.url!, 'http://x').searchParams.get('audience');
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    // GitHub's token shape (GitHub docs, OIDC token claims); the signature is never checked here.
    const jwt = `${b64({ typ: 'JWT', alg: 'RS256', kid: 'github-e2e' })}.${b64({ iss: 'https://token.actions.githubusercontent.com', sub: subject, aud, repository: 'contoso/agents', ref: 'refs/heads/main', iat: now, nbf: now - 5, exp: now + 300 })}.${Buffer.from('not-a-signature').toString('base64url')}`;
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ count: jwt.length, value: jwt }));
  });
  await new Promise<void>((r) => github.listen(0, '127.0.0.1', r));
  // The real URL carries its own query string, hence agentid's `&audience=`.
  requestUrl = `http://127.0.0.1:${(github.address() as AddressInfo).port}/00000000-run/idtoken/job/1?api-version=2.0`;
});

afterAll(async () => {
  await emulator?.stop();
  await new Promise<void>((r) => (github ? github.close(() => r()) : r()));
  home.remove();
});

beforeEach(() => {
  subject = TRUSTED_SUBJECT;
  asked.length = 0;
});

const job = () => ({ NODE_EXTRA_CA_CERTS: ca, ACTIONS_ID_TOKEN_REQUEST_URL: requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN });
const expectAskedGithub = () => {
  expect(asked.length).toBeGreaterThan(0);
  for (const a of asked) expect(a).toEqual({ url: '/00000000-run/idtoken/job/1?api-version=2.0&audience=api%3A%2F%2FAzureADTokenExchange', authorization: `bearer ${REQUEST_TOKEN}` });
};
const expectNoSecret = (text: string) => {
  expect(text).not.toContain(REQUEST_TOKEN);
  expect(text).not.toMatch(JWT);
};

describe('login --github-oidc', () => {
  const at = () => ['--tenant', TENANT, '--client-id', APP_ID, '--graph-url', emulator.url, '--authority-host', emulator.url];

  test('signs in as the app with GitHub’s token, saves no token, and Graph commands run through it with --debug showing none', async () => {
    const login = await home.run(['login', '--profile', 'gha', ...at(), '--github-oidc', '-o', 'json', '--query', '{credential:credential,clientId:clientId}'], { env: job() });
    expect({ code: login.code, stderr: login.stderr }).toEqual({ code: 0, stderr: `Signed in to ${TENANT} as app Contoso Agent Automation (${APP_ID}).\nCreated profile 'gha'; it is now the current profile.\n` });
    expect(login.json()).toEqual({ credential: 'githubOidc', clientId: APP_ID });
    expectAskedGithub();
    expectNoSecret(readFileSync(path.join(home.home, 'config.json'), 'utf8'));

    asked.length = 0;
    const list = await home.run(['--debug', '--profile', 'gha', 'agent', 'list', '-o', 'json', '--query', 'length(@)'], { env: job() });
    expect(list.code).toBe(0);
    expect(typeof list.json()).toBe('number');
    expect(list.stderr).toMatch(/\[debug\] > GET https:\/\/127\.0\.0\.1:\d+\/v1\.0\/servicePrincipals\/microsoft\.graph\.agentIdentity/);
    expectAskedGithub();
    expectNoSecret(list.stdout + list.stderr);
  });

  test('a token for another repository is refused by the emulator: exit 4 with its AADSTS70021 line, and no profile saved', async () => {
    subject = 'repo:fabrikam/agents:ref:refs/heads/main';
    const login = await home.run(['login', '--profile', 'wrong-repo', ...at(), '--github-oidc', '-o', 'none'], { env: job() });
    expect(login.code).toBe(4);
    expect(login.stderr).toMatch(/^error: Sign-in failed \(GitHub Actions OIDC token for api:\/\/AzureADTokenExchange\): .*AADSTS70021: No matching federated identity record found for presented assertion\./);
    expect(login.stderr.trim().split('\n')).toHaveLength(1);
    expectNoSecret(login.stderr);
    expect(readFileSync(path.join(home.home, 'config.json'), 'utf8')).not.toContain('wrong-repo');
  });

  test('outside a job granted id-token: write, login says so with exit 2 and asks GitHub nothing', async () => {
    const r = await home.run(['login', '--profile', 'nojob', ...at(), '--github-oidc'], { env: { NODE_EXTRA_CA_CERTS: ca, ACTIONS_ID_TOKEN_REQUEST_URL: undefined, ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined } });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: "error: Profile 'nojob' signs in with GitHub Actions OIDC (--github-oidc), but ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set: run agentid in a GitHub Actions job with `permissions: id-token: write`.\n" });
    expect(asked).toEqual([]);
  });
});

describe('CI with no login step (the env profile)', () => {
  const ci = (extra: Record<string, string | undefined> = {}) => ({ ...job(), AGENTID_PROFILE: undefined, AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: APP_ID, AZURE_AUTHORITY_HOST: emulator.url, ...extra });

  test('status shows the app identity and the githubOidc sign-in', async () => {
    // `profile use` from the tests above would win over the environment: start from a fresh home.
    const fresh = tempHome('agentid-gh-oidc-env-');
    try {
      const status = await fresh.run(['status', '-o', 'json', '--query', '{profile:profile,selectedBy:selectedBy,signIn:signIn,identity:identity,tokenCache:tokenCache}'], { env: ci() });
      expect({ code: status.code, stderr: status.stderr }).toEqual({ code: 0, stderr: '' });
      expect(status.json()).toEqual({
        profile: 'env',
        selectedBy: 'AZURE_* environment',
        signIn: 'githubOidc',
        identity: { type: 'application', name: 'Contoso Agent Automation', objectId: '9c4d2f5e-0002-4e8f-9fa0-000000000302', clientAppId: APP_ID },
        tokenCache: { persistent: false, reason: 'a fresh GitHub Actions OIDC token is fetched and exchanged on every command' },
      });
      expectAskedGithub();
      expectNoSecret(status.stdout + status.stderr);

      // The env profile's Graph is graph.microsoft.com: here unreachable (exit 1) or, with a
      // network, a 401 for the emulator's token (exit 4). Either way the sign-in has run, and
      // nothing it used is in the --debug output.
      asked.length = 0;
      const list = await fresh.run(['--debug', 'agent', 'list'], { env: ci() });
      expect([1, 4]).toContain(list.code);
      expect(list.stderr).toContain('[debug] > GET https://graph.microsoft.com/v1.0/servicePrincipals/microsoft.graph.agentIdentity');
      expect(list.stderr).toContain('Authorization: REDACTED');
      expect(list.stderr).not.toContain('Sign-in failed');
      expectAskedGithub();
      expectNoSecret(list.stdout + list.stderr);
    } finally {
      fresh.remove();
    }
  });

  test('with the URL but not the request token, the error names id-token: write', async () => {
    const fresh = tempHome('agentid-gh-oidc-perm-');
    try {
      const r = await fresh.run(['status'], { env: ci({ ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined }) });
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: "error: ACTIONS_ID_TOKEN_REQUEST_URL is set but ACTIONS_ID_TOKEN_REQUEST_TOKEN is not: the workflow needs `permissions: id-token: write` (on the job or the workflow) for agentid to get GitHub's OIDC token.\n" });
      expect(asked).toEqual([]);
    } finally {
      fresh.remove();
    }
  });

  test('a request token GitHub refuses is exit 4 naming GitHub’s endpoint, without the token', async () => {
    const fresh = tempHome('agentid-gh-oidc-401-');
    try {
      const r = await fresh.run(['status'], { env: ci({ ACTIONS_ID_TOKEN_REQUEST_TOKEN: `${REQUEST_TOKEN}-expired` }) });
      expect(r.code).toBe(4);
      expect(r.stderr).toBe("error: Sign-in failed (GitHub Actions OIDC token for api://AzureADTokenExchange): GitHub's OIDC token endpoint ($ACTIONS_ID_TOKEN_REQUEST_URL) answered HTTP 401 (Bad credentials): give the job `permissions: id-token: write` and run agentid in that job, while it runs (the request token lasts only as long as the job).\n");
      expect(r.stderr).not.toContain(REQUEST_TOKEN);
    } finally {
      fresh.remove();
    }
  });
});
