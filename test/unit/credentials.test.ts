import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { AzureCliCredential, ClientAssertionCredential, ClientCertificateCredential, ClientSecretCredential, DeviceCodeCredential, InteractiveBrowserCredential, ManagedIdentityCredential, WorkloadIdentityCredential } from '@azure/identity';
import { createCredential, DEFAULT_PUBLIC_CLIENT_ID, planCredential, usePersistentCache } from '../../src/graph/credentials.js';
import { envProfile, type Profile } from '../../src/config.js';
import { UsageError } from '../../src/errors.js';

// Every sign-in kind, built from a profile (what `agentid login` saved from its flags) and from
// the environment, down to the @azure/identity credential object. Nothing here signs in: the
// credentials are constructed and inspected, which needs no network.

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const APP = '11111111-2222-4333-8444-555555555555';
const PLANTED = 'planted~Secret.Value.0123456789abcdefghijklmnop';

const profile = (p: Partial<Profile>): Profile => ({ name: 't', target: 'real', credential: 'deviceCode', cloud: 'public', apiVersion: 'v1.0', ...p });

describe('credentials from login flags (the profile)', () => {
  it.each<[string, Partial<Profile>, NodeJS.ProcessEnv, string, Function, Record<string, unknown>]>([
    ['--device-code', { credential: 'deviceCode', tenantId: TENANT }, {}, 'DeviceCodeCredential', DeviceCodeCredential, { tenantId: TENANT, clientId: DEFAULT_PUBLIC_CLIENT_ID }],
    ['--browser', { credential: 'browser', tenantId: TENANT, clientId: APP }, {}, 'InteractiveBrowserCredential', InteractiveBrowserCredential, { clientId: APP }],
    ['--client-secret-env VAR', { credential: 'clientSecret', tenantId: TENANT, clientId: APP, clientSecretEnv: 'MY_SECRET' }, { MY_SECRET: PLANTED }, 'ClientSecretCredential', ClientSecretCredential, { describe: 'client secret from $MY_SECRET' }],
    ['--certificate PATH', { credential: 'certificate', tenantId: TENANT, clientId: APP, certificatePath: '/etc/agentid/app.pem' }, {}, 'ClientCertificateCredential', ClientCertificateCredential, { certificatePath: '/etc/agentid/app.pem' }],
    ['--federated-token-file PATH', { credential: 'federatedToken', tenantId: TENANT, clientId: APP, federatedTokenFile: '/var/run/secrets/token' }, {}, 'WorkloadIdentityCredential', WorkloadIdentityCredential, { tokenFilePath: '/var/run/secrets/token' }],
    ['--github-oidc', { credential: 'githubOidc', tenantId: TENANT, clientId: APP }, { ACTIONS_ID_TOKEN_REQUEST_URL: 'https://pipelines.actions.githubusercontent.com/x?api-version=2.0', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token' }, 'ClientAssertionCredential', ClientAssertionCredential, { oidcAudience: 'api://AzureADTokenExchange' }],
    ['--managed-identity', { credential: 'managedIdentity' }, {}, 'ManagedIdentityCredential', ManagedIdentityCredential, { describe: 'system-assigned managed identity' }],
    ['--managed-identity --client-id', { credential: 'managedIdentity', managedIdentityClientId: APP }, {}, 'ManagedIdentityCredential', ManagedIdentityCredential, { clientId: APP }],
    ['--azure-cli', { credential: 'azureCli', tenantId: TENANT }, {}, 'AzureCliCredential', AzureCliCredential, { tenantId: TENANT }],
  ])('%s builds a %s', async (_flag, p, env, type, cls, fields) => {
    const plan = planCredential({ profile: profile(p), env });
    expect(plan).toMatchObject({ type, authorityHost: 'https://login.microsoftonline.com', ...fields });
    expect(await createCredential(plan)).toBeInstanceOf(cls);
  });

  it('asks interactive sign-ins for named Graph scopes and app-only ones for .default', () => {
    expect(planCredential({ profile: profile({ credential: 'deviceCode' }), env: {} }).scopes).toContain('https://graph.microsoft.com/AgentIdentity.ReadWrite.All');
    expect(planCredential({ profile: profile({ credential: 'azureCli' }), env: {} }).scopes).toEqual(['https://graph.microsoft.com/.default']);
  });

  it.each<[Profile['cloud'], string, string]>([
    ['usgov', 'https://login.microsoftonline.us', 'https://graph.microsoft.us/.default'],
    ['usgovdod', 'https://login.microsoftonline.us', 'https://dod-graph.microsoft.us/.default'],
    ['china', 'https://login.chinacloudapi.cn', 'https://microsoftgraph.chinacloudapi.cn/.default'],
  ])('uses the %s cloud’s authority and Graph audience', (cloud, authorityHost, scope) => {
    expect(planCredential({ profile: profile({ credential: 'azureCli', cloud }), env: {} })).toMatchObject({ authorityHost, scopes: [scope] });
  });

  it('signs in at the profile’s --authority-host, unless AZURE_AUTHORITY_HOST says otherwise', () => {
    const p = profile({ credential: 'azureCli', authorityHost: 'https://127.0.0.1:8443' });
    expect(planCredential({ profile: p, env: {} }).authorityHost).toBe('https://127.0.0.1:8443');
    expect(planCredential({ profile: p, env: { AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.us' } }).authorityHost).toBe('https://login.microsoftonline.us');
  });

  it('reads the secret from stdin when the profile says so', () => {
    const plan = planCredential({ profile: profile({ credential: 'clientSecret', tenantId: TENANT, clientId: APP, secretFromStdin: true }), env: {}, stdinSecret: PLANTED });
    expect(plan.secret).toBe(PLANTED);
    expect(plan.describe).toBe('client secret from stdin');
  });

  it('never shows the secret when the plan is printed, logged or serialised', () => {
    const plan = planCredential({ profile: profile({ credential: 'clientSecret', tenantId: TENANT, clientId: APP, clientSecretEnv: 'S' }), env: { S: PLANTED } });
    expect(JSON.stringify(plan)).not.toContain(PLANTED);
    expect(inspect(plan, { depth: 5 })).not.toContain(PLANTED);
  });

  it.each<[string, Partial<Profile>, RegExp]>([
    ['a missing secret variable', { credential: 'clientSecret', tenantId: TENANT, clientId: APP, clientSecretEnv: 'NOT_SET' }, /Set the environment variable NOT_SET/],
    ['a secret profile without a tenant', { credential: 'clientSecret', clientId: APP }, /has no tenant; run 'agentid login --tenant ID/],
    ['a certificate profile without a path', { credential: 'certificate', tenantId: TENANT, clientId: APP }, /names no certificate/],
  ])('refuses %s with a usage error that says what to do', (_what, p, message) => {
    expect(() => planCredential({ profile: profile(p), env: {} })).toThrow(UsageError);
    expect(() => planCredential({ profile: profile(p), env: {} })).toThrow(message);
  });
});

describe('credentials from the environment (CI with no login step)', () => {
  const base = { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: APP };
  it.each<[string, NodeJS.ProcessEnv, string, Function]>([
    ['AZURE_CLIENT_SECRET', { ...base, AZURE_CLIENT_SECRET: PLANTED }, 'ClientSecretCredential', ClientSecretCredential],
    ['AZURE_CLIENT_CERTIFICATE_PATH', { ...base, AZURE_CLIENT_CERTIFICATE_PATH: '/ci/cert.pem' }, 'ClientCertificateCredential', ClientCertificateCredential],
    ['AZURE_FEDERATED_TOKEN_FILE', { ...base, AZURE_FEDERATED_TOKEN_FILE: '/ci/oidc-token' }, 'WorkloadIdentityCredential', WorkloadIdentityCredential],
  ])('%s gives a %s', async (_var, env, type, cls) => {
    const implicit = envProfile(env)!;
    expect(implicit).toMatchObject({ name: 'env', target: 'real', credential: 'environment', tenantId: TENANT, clientId: APP });
    const plan = planCredential({ profile: implicit, env });
    expect(plan).toMatchObject({ type, tenantId: TENANT, clientId: APP });
    expect(await createCredential(plan)).toBeInstanceOf(cls);
  });

  it('honours AZURE_AUTHORITY_HOST', () => {
    const env = { ...base, AZURE_CLIENT_SECRET: PLANTED, AZURE_AUTHORITY_HOST: 'https://login.partner.microsoftonline.cn' };
    expect(planCredential({ profile: envProfile(env)!, env }).authorityHost).toBe('https://login.partner.microsoftonline.cn');
  });

  it.each<[string, NodeJS.ProcessEnv, string, string]>([
    ['a US Government sign-in host', { AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.us' }, 'usgov', 'https://graph.microsoft.us/.default'],
    ['AGENTID_CLOUD=usgovdod (DOD shares that host)', { AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.us', AGENTID_CLOUD: 'usgovdod' }, 'usgovdod', 'https://dod-graph.microsoft.us/.default'],
    ["China's sign-in host, or its older alias", { AZURE_AUTHORITY_HOST: 'https://login.partner.microsoftonline.cn' }, 'china', 'https://microsoftgraph.chinacloudapi.cn/.default'],
    ['no sign-in host', {}, 'public', 'https://graph.microsoft.com/.default'],
    ['a host that is not Microsoft’s (a test authority)', { AZURE_AUTHORITY_HOST: 'https://127.0.0.1:8443' }, 'public', 'https://graph.microsoft.com/.default'],
  ])('takes its cloud, and so its Graph audience, from %s', (_what, extra, cloud, scope) => {
    const env = { ...base, AZURE_CLIENT_SECRET: PLANTED, ...extra };
    const implicit = envProfile(env)!;
    expect(implicit.cloud).toBe(cloud);
    expect(planCredential({ profile: implicit, env }).scopes).toEqual([scope]);
  });

  it('refuses an AGENTID_CLOUD it does not know, naming the ones it does', () => {
    expect(() => envProfile({ ...base, AGENTID_CLOUD: 'mars' })).toThrow("AGENTID_CLOUD 'mars' is not a cloud agentid knows; use one of public, usgov, usgovdod, china.");
  });

  it('names the variables to set when only tenant and client are given', () => {
    expect(() => planCredential({ profile: envProfile(base)!, env: base })).toThrow(/none of AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE/);
  });

  it('has no implicit profile without both AZURE_TENANT_ID and AZURE_CLIENT_ID', () => {
    expect(envProfile({ AZURE_TENANT_ID: TENANT })).toBeUndefined();
  });
});

describe('token cache', () => {
  it('stays in memory when no protected OS store is available, and says why', async () => {
    expect(await usePersistentCache({ reason: 'AGENTID_TOKEN_CACHE=memory' })).toEqual({ persistent: false, reason: 'AGENTID_TOKEN_CACHE=memory' });
  });

  it('turns an @azure/identity constructor refusal into a usage error', async () => {
    const plan = planCredential({ profile: profile({ credential: 'clientSecret', tenantId: TENANT, clientId: APP, clientSecretEnv: 'S' }), env: { S: PLANTED, AZURE_AUTHORITY_HOST: 'http://127.0.0.1:1' } });
    await expect(createCredential(plan)).rejects.toThrow(UsageError);
  });
});
