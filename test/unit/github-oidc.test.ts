import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClientAssertionCredential } from '@azure/identity';
import { createCredential, getTokenOrExplain, planCredential } from '../../src/graph/credentials.js';
import { exchangeAudience, fetchGithubOidcToken, githubTokenUrl, TOKEN_EXCHANGE_AUDIENCE } from '../../src/graph/githubOidc.js';
import { envProfile, githubOidcFromEnv, type Profile } from '../../src/config.js';
import { AuthError, UsageError } from '../../src/errors.js';
import { LoginSchema, chosenKind, profileFromOptions } from '../../src/commands/login.js';

// GitHub Actions OIDC sign-in: the plan from `login --github-oidc` and from the environment
// (CI with no login step), and the token fetch against a loopback stand-in for GitHub's
// endpoint, each failure included. The request token is planted and looked for in every error.

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const APP = '11111111-2222-4333-8444-555555555555';
const REQUEST_TOKEN = 'ghs_plantedRequestToken0123456789abcdefXYZ';
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL3Rva2VuLmFjdGlvbnMuZ2l0aHVidXNlcmNvbnRlbnQuY29tIn0.c2lnbmF0dXJl';
const GH = { ACTIONS_ID_TOKEN_REQUEST_URL: 'https://pipelines.actions.githubusercontent.com/abc/idtoken/1/2?api-version=2.0', ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN };
const CI = { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: APP };

const profile = (p: Partial<Profile>): Profile => ({ name: 'gha', target: 'real', credential: 'githubOidc', cloud: 'public', apiVersion: 'v1.0', tenantId: TENANT, clientId: APP, ...p });

describe('login --github-oidc', () => {
  it('is one sign-in method, saved as githubOidc with nothing but names in the profile', () => {
    const o = LoginSchema.parse({ tenant: TENANT, clientId: APP, githubOidc: true });
    expect(chosenKind(o)).toBe('githubOidc');
    expect(profileFromOptions('gha', 'githubOidc', o, TENANT, APP)).toEqual({ name: 'gha', target: 'real', credential: 'githubOidc', cloud: 'public', apiVersion: 'v1.0', tenantId: TENANT, clientId: APP });
  });

  it('refuses a second method next to it, and --emulated', () => {
    expect(LoginSchema.safeParse({ githubOidc: true, federatedTokenFile: '/t' }).error?.issues[0]?.message).toMatch(/^Choose one sign-in method: .*--github-oidc/);
    expect(LoginSchema.safeParse({ githubOidc: true, emulated: true }).success).toBe(false);
  });

  it('plans a ClientAssertionCredential for the job’s token URL and Graph’s .default', async () => {
    const plan = planCredential({ profile: profile({}), env: GH });
    expect(plan).toMatchObject({ type: 'ClientAssertionCredential', tenantId: TENANT, clientId: APP, oidcRequestUrl: GH.ACTIONS_ID_TOKEN_REQUEST_URL, oidcAudience: 'api://AzureADTokenExchange', scopes: ['https://graph.microsoft.com/.default'], describe: 'GitHub Actions OIDC token for api://AzureADTokenExchange' });
    expect(await createCredential(plan)).toBeInstanceOf(ClientAssertionCredential);
  });

  it('keeps the request token off JSON and inspection', () => {
    const plan = planCredential({ profile: profile({}), env: GH });
    expect(plan.secret).toBe(REQUEST_TOKEN);
    expect(JSON.stringify(plan)).not.toContain(REQUEST_TOKEN);
    expect(inspect(plan, { depth: 5 })).not.toContain(REQUEST_TOKEN);
  });

  it.each<[string, NodeJS.ProcessEnv, RegExp]>([
    ['neither variable', {}, /ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set: run agentid in a GitHub Actions job with `permissions: id-token: write`/],
    ['the URL without the token', { ACTIONS_ID_TOKEN_REQUEST_URL: GH.ACTIONS_ID_TOKEN_REQUEST_URL }, /ACTIONS_ID_TOKEN_REQUEST_TOKEN is not: the workflow needs `permissions: id-token: write`/],
    ['the token without the URL', { ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN }, /ACTIONS_ID_TOKEN_REQUEST_URL is not set/],
  ])('outside a permitted job (%s) is a usage error naming id-token: write', (_what, env, message) => {
    expect(() => planCredential({ profile: profile({}), env })).toThrow(UsageError);
    expect(() => planCredential({ profile: profile({}), env })).toThrow(message);
  });

  it('needs a tenant and a client id', () => {
    expect(() => planCredential({ profile: profile({ tenantId: undefined }), env: GH })).toThrow(/has no tenant; run 'agentid login --tenant ID --client-id ID --github-oidc'/);
    expect(() => planCredential({ profile: profile({ clientId: undefined }), env: GH })).toThrow(/has no client id/);
  });
});

describe('the audience per cloud', () => {
  it.each<[Profile['cloud'], string]>([
    ['public', 'api://AzureADTokenExchange'],
    ['usgov', 'api://AzureADTokenExchangeUSGov'],
    ['usgovdod', 'api://AzureADTokenExchangeUSGov'],
    ['china', 'api://AzureADTokenExchangeChina'],
  ])('a %s profile asks GitHub for %s', (cloud, audience) => {
    expect(planCredential({ profile: profile({ cloud }), env: GH }).oidcAudience).toBe(audience);
  });

  it('follows a national cloud’s sign-in host (AZURE_AUTHORITY_HOST) in the env profile, and the profile’s cloud elsewhere', () => {
    expect(exchangeAudience('public', 'https://login.microsoftonline.us')).toBe(TOKEN_EXCHANGE_AUDIENCE.usgov);
    expect(exchangeAudience('public', 'https://login.partner.microsoftonline.cn')).toBe(TOKEN_EXCHANGE_AUDIENCE.china);
    expect(exchangeAudience('usgov', 'https://127.0.0.1:8443')).toBe(TOKEN_EXCHANGE_AUDIENCE.usgov);
    const env = { ...CI, ...GH, AZURE_AUTHORITY_HOST: 'https://login.chinacloudapi.cn' };
    expect(planCredential({ profile: envProfile(env)!, env }).oidcAudience).toBe('api://AzureADTokenExchangeChina');
  });
});

describe('the env profile (CI with no login step)', () => {
  it('signs in with GitHub OIDC when both ACTIONS_ID_TOKEN_* variables are set and no AZURE_* credential is', async () => {
    const env = { ...CI, ...GH };
    expect(githubOidcFromEnv(env)).toBe(true);
    const implicit = envProfile(env)!;
    expect(implicit).toEqual({ name: 'env', target: 'real', credential: 'githubOidc', cloud: 'public', apiVersion: 'v1.0', tenantId: TENANT, clientId: APP });
    const plan = planCredential({ profile: implicit, env });
    expect(plan).toMatchObject({ type: 'ClientAssertionCredential', oidcRequestUrl: GH.ACTIONS_ID_TOKEN_REQUEST_URL, oidcAudience: 'api://AzureADTokenExchange' });
    expect(await createCredential(plan)).toBeInstanceOf(ClientAssertionCredential);
  });

  it.each<[string, NodeJS.ProcessEnv, string]>([
    ['AZURE_CLIENT_SECRET', { AZURE_CLIENT_SECRET: 'planted~Secret.Value.0123456789abcdefghijklmnop' }, 'ClientSecretCredential'],
    ['AZURE_CLIENT_CERTIFICATE_PATH', { AZURE_CLIENT_CERTIFICATE_PATH: '/ci/cert.pem' }, 'ClientCertificateCredential'],
    ['AZURE_FEDERATED_TOKEN_FILE', { AZURE_FEDERATED_TOKEN_FILE: '/ci/token' }, 'WorkloadIdentityCredential'],
  ])('keeps %s ahead of GitHub OIDC', (_var, extra, type) => {
    const env = { ...CI, ...GH, ...extra };
    expect(githubOidcFromEnv(env)).toBe(false);
    expect(envProfile(env)!.credential).toBe('environment');
    expect(planCredential({ profile: envProfile(env)!, env }).type).toBe(type);
  });

  it('says the workflow needs id-token: write when only the URL is set', () => {
    const env = { ...CI, ACTIONS_ID_TOKEN_REQUEST_URL: GH.ACTIONS_ID_TOKEN_REQUEST_URL };
    expect(envProfile(env)!.credential).toBe('environment');
    expect(() => planCredential({ profile: envProfile(env)!, env })).toThrow(UsageError);
    expect(() => planCredential({ profile: envProfile(env)!, env })).toThrow('ACTIONS_ID_TOKEN_REQUEST_URL is set but ACTIONS_ID_TOKEN_REQUEST_TOKEN is not: the workflow needs `permissions: id-token: write` (on the job or the workflow) for agentid to get GitHub\'s OIDC token.');
  });

  it('mentions the GitHub path when no credential variable is set at all', () => {
    expect(() => planCredential({ profile: envProfile(CI)!, env: CI })).toThrow(/in a GitHub Actions job with `permissions: id-token: write`, its ACTIONS_ID_TOKEN_REQUEST_URL/);
  });
});

// ---------------------------------------------------------------------------------------------
// the fetch, against a loopback stand-in for GitHub's endpoint

interface Seen { method: string; url: string; authorization: string | undefined }
type Answer = { status: number; body: string } | 'hang-up';

let server: Server;
let base = '';
const seen: Seen[] = [];
const answers: Answer[] = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization });
    const a = answers.shift();
    if (!a) throw new Error(`unexpected request ${req.url}`);
    if (a === 'hang-up') return req.socket.destroy();
    res.writeHead(a.status, { 'Content-Type': 'application/json' }).end(a.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

afterEach(() => {
  // Strict stub: every queued answer was asked for.
  expect(answers).toEqual([]);
  seen.length = 0;
});

const request = () => ({ requestUrl: `${base}/abc/idtoken/1/2?api-version=2.0`, requestToken: REQUEST_TOKEN, audience: 'api://AzureADTokenExchange' });

const NO_WAIT = { retryDelaysMs: [0, 0] };

async function failure(answer: Answer, times = 1): Promise<AuthError> {
  for (let i = 0; i < times; i++) answers.push(answer);
  const err = await fetchGithubOidcToken(request(), NO_WAIT).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(AuthError);
  const e = err as AuthError;
  expect(e.message).not.toContain(REQUEST_TOKEN);
  expect(e.message).not.toMatch(/eyJ[A-Za-z0-9_-]+\./);
  expect(e.message).not.toContain('\n');
  return e;
}

describe('fetching GitHub’s OIDC token', () => {
  it('appends &audience= to the URL’s own query string', () => {
    expect(githubTokenUrl('https://x.test/t?api-version=2.0', 'api://AzureADTokenExchange')).toBe('https://x.test/t?api-version=2.0&audience=api%3A%2F%2FAzureADTokenExchange');
  });

  it('GETs the job’s URL with the audience and the request token as bearer, and returns "value"', async () => {
    answers.push({ status: 200, body: JSON.stringify({ count: 1, value: JWT }) });
    await expect(fetchGithubOidcToken(request())).resolves.toBe(JWT);
    expect(seen).toEqual([{ method: 'GET', url: '/abc/idtoken/1/2?api-version=2.0&audience=api%3A%2F%2FAzureADTokenExchange', authorization: `bearer ${REQUEST_TOKEN}` }]);
  });

  it('asks anew on every call (ClientAssertionCredential calls it per token request)', async () => {
    const { githubAssertion } = await import('../../src/graph/githubOidc.js');
    answers.push({ status: 200, body: JSON.stringify({ value: JWT }) }, { status: 200, body: JSON.stringify({ value: `${JWT}2` }) });
    const get = githubAssertion(request());
    expect([await get(), await get()]).toEqual([JWT, `${JWT}2`]);
    expect(seen).toHaveLength(2);
  });

  it('a 403 names the endpoint and id-token: write, quoting GitHub without the request token', async () => {
    const e = await failure({ status: 403, body: JSON.stringify({ message: `Token ${REQUEST_TOKEN} is not allowed to request an id token` }) });
    expect(e.message).toBe("GitHub's OIDC token endpoint ($ACTIONS_ID_TOKEN_REQUEST_URL) answered HTTP 403 (Token [REDACTED] is not allowed to request an id token): give the job `permissions: id-token: write` and run agentid in that job, while it runs (the request token lasts only as long as the job).");
  });

  it('a 401 (an expired request token) gives the same fix', async () => {
    expect((await failure({ status: 401, body: '' })).message).toMatch(/answered HTTP 401: give the job `permissions: id-token: write`/);
  });

  it('a 500 is tried three times, then says to rerun the job, and a JWT in the body is cut out', async () => {
    const e = await failure({ status: 500, body: `upstream failed for ${JWT}` }, 3);
    expect(e.message).toBe("GitHub's OIDC token endpoint ($ACTIONS_ID_TOKEN_REQUEST_URL) answered HTTP 500 (upstream failed for [REDACTED]), 3 times: GitHub could not issue the token now; rerun the job.");
    expect(seen).toHaveLength(3);
  });

  it('a 503 or a 429 followed by a token is a token: GitHub’s service fails now and then', async () => {
    answers.push({ status: 503, body: '' }, { status: 429, body: '' }, { status: 200, body: JSON.stringify({ value: JWT }) });
    await expect(fetchGithubOidcToken(request(), NO_WAIT)).resolves.toBe(JWT);
    expect(seen).toHaveLength(3);
  });

  it('a 403 or 404 is not tried again', async () => {
    await failure({ status: 403, body: '' });
    expect(seen).toHaveLength(1);
  });

  it('a 404 points at the URL', async () => {
    expect((await failure({ status: 404, body: '{"message":"Not Found"}' })).message).toMatch(/answered HTTP 404 \(Not Found\): check that ACTIONS_ID_TOKEN_REQUEST_URL is the one GitHub Actions set for this job\.$/);
  });

  it.each<[string, string]>([
    ['no "value"', JSON.stringify({ count: 0 })],
    ['an empty "value"', JSON.stringify({ value: '' })],
    ['not JSON', '<html>sign in</html>'],
  ])('a 200 with %s is an auth error', async (_what, body) => {
    expect((await failure({ status: 200, body })).message).toBe("GitHub's OIDC token endpoint ($ACTIONS_ID_TOKEN_REQUEST_URL) answered 200 without a token (no \"value\" in its JSON): check that ACTIONS_ID_TOKEN_REQUEST_URL is the one GitHub Actions set for this job.");
  });

  it('a dropped connection is an auth error naming the endpoint', async () => {
    expect((await failure('hang-up', 3)).message).toMatch(/^GitHub's OIDC token endpoint \(\$ACTIONS_ID_TOKEN_REQUEST_URL\) is unreachable \(\w+\), 3 times: run agentid inside the GitHub Actions job/);
  });

  it('an unreachable endpoint is an auth error naming the endpoint', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const err = await fetchGithubOidcToken({ ...request(), requestUrl: `http://127.0.0.1:${port}/t?api-version=2.0` }, NO_WAIT).catch((e: Error) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toMatch(/is unreachable \(ECONNREFUSED\), 3 times: run agentid inside the GitHub Actions job that set ACTIONS_ID_TOKEN_REQUEST_URL/);
    expect((err as Error).message).not.toContain(REQUEST_TOKEN);
  });

  it('through the credential, a refusal is one exit-4 line that still names the endpoint', async () => {
    answers.push({ status: 403, body: '{"message":"denied"}' });
    const plan = planCredential({ profile: profile({ authorityHost: 'https://127.0.0.1:1' }), env: { ACTIONS_ID_TOKEN_REQUEST_URL: request().requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN } });
    const credential = await createCredential(plan, { disableInstanceDiscovery: true });
    const err = await getTokenOrExplain(credential, plan).catch((e: Error) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toMatch(/^Sign-in failed \(GitHub Actions OIDC token for api:\/\/AzureADTokenExchange\): GitHub's OIDC token endpoint \(\$ACTIONS_ID_TOKEN_REQUEST_URL\) answered HTTP 403 \(denied\): give the job `permissions: id-token: write`/);
    expect((err as Error).message).not.toContain(REQUEST_TOKEN);
  });
});
