import { existsSync } from 'node:fs';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { AuthError, UsageError } from '../errors.js';
import { CLOUDS, type Profile } from '../config.js';
import { TokenVault, type CacheState, type CachePlugin } from './tokenCache.js';
import { exchangeAudience, githubAssertion } from './githubOidc.js';

// How agentid gets a token. Real tenants: one @azure/identity credential per sign-in kind, built
// from the profile (what `agentid login` saved) and the environment. @azure/identity costs about
// 200 ms to load, so it is imported only when a command really needs a token (never for --help).
// The emulated tenant: its own token endpoint (src/mock/handlers/oauth.ts), reached in-process or
// over HTTP(S); this file holds the few lines of OAuth client for that, as @azure/identity does
// for Entra (MSAL refuses a plain-http authority, which is what `mock serve` is by default).
//
// The plan (which class, which options) is separate from the construction so that tests can
// check every kind built from flags and from the environment without any network.

/** Microsoft Graph Command Line Tools: Microsoft's public client for Graph scripts and CLIs, used
 * for device-code and browser sign-in when the profile names no app of its own. */
export const DEFAULT_PUBLIC_CLIENT_ID = '14d82eec-204b-4c2f-b7e8-296a70dab67e';

/** The delegated scopes agentid asks for in an interactive sign-in (what its commands need). */
export const DELEGATED_SCOPES = [
  'AgentIdentityBlueprint.ReadWrite.All',
  'AgentIdentityBlueprint.DeleteRestore.All',
  'AgentIdentityBlueprintPrincipal.ReadWrite.All',
  'AgentIdentityBlueprintPrincipal.DeleteRestore.All',
  'AgentIdentity.Create.All',
  'AgentIdentity.ReadWrite.All',
  'AgentIdentity.DeleteRestore.All',
  'AgentIdUser.ReadWrite.All',
  'Application.Read.All',
  // logs signins / logs audit (GD signin-list.md, directoryaudit-list.md)
  'AuditLog.Read.All',
  'Directory.Read.All',
  'Group.Read.All',
  // ca (#13: GD conditionalaccessroot-post-policies.md) and risk (riskyagent-*.md, agentriskdetection-list.md)
  'Policy.Read.All',
  'Policy.ReadWrite.ConditionalAccess',
  'IdentityRiskyAgent.ReadWrite.All',
  'IdentityRiskEvent.Read.All',
  // ca create --blueprint: the custom security attribute it targets agents by (GD customsecurityattributedefinition-post.md, serviceprincipal-update.md)
  'CustomSecAttributeDefinition.ReadWrite.All',
  'CustomSecAttributeAssignment.ReadWrite.All',
  'User.Read',
  'User.ReadBasic.All',
];

export type CredentialClass =
  | 'DeviceCodeCredential'
  | 'InteractiveBrowserCredential'
  | 'ClientSecretCredential'
  | 'ClientCertificateCredential'
  | 'WorkloadIdentityCredential'
  | 'ClientAssertionCredential'
  | 'ManagedIdentityCredential'
  | 'AzureCliCredential';

export interface CredentialPlan {
  type: CredentialClass;
  tenantId?: string;
  clientId?: string;
  authorityHost: string;
  /** Scopes for getToken: Graph's .default for app-only and CLI credentials, named scopes for interactive sign-in. */
  scopes: string[];
  certificatePath?: string;
  tokenFilePath?: string;
  /** GitHub Actions OIDC (ClientAssertionCredential): the job's token URL and the audience to ask for. */
  oidcRequestUrl?: string;
  oidcAudience?: string;
  /** For `status` and messages: where the credential comes from, never the secret itself. */
  describe: string;
  /** The client secret (or GitHub's ACTIONS_ID_TOKEN_REQUEST_TOKEN), read from the environment or stdin; kept off JSON and inspection. */
  readonly secret?: string;
}

export interface PlanInput {
  profile: Profile;
  env: NodeJS.ProcessEnv;
  /** The secret read from stdin (`login --client-secret-stdin`, or a profile that says so). */
  stdinSecret?: string;
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined || value === '') throw new UsageError(what);
  return value;
}

function withSecret(plan: Omit<CredentialPlan, 'secret'>, secret: string): CredentialPlan {
  // Non-enumerable: JSON.stringify, util.inspect and test snapshots never see it.
  return Object.defineProperty({ ...plan }, 'secret', { value: secret, enumerable: false }) as CredentialPlan;
}

/** Which @azure/identity credential a real-tenant profile needs, with its options. Pure. */
export function planCredential({ profile, env, stdinSecret }: PlanInput): CredentialPlan {
  const cloud = CLOUDS[profile.cloud];
  const authorityHost = env.AZURE_AUTHORITY_HOST?.trim() || profile.authorityHost || cloud.authority;
  const graphDefault = [`${cloud.graph}/.default`];
  const tenantId = profile.tenantId;
  const clientId = profile.clientId;
  const base = { authorityHost, ...(tenantId ? { tenantId } : {}), ...(clientId ? { clientId } : {}) };
  switch (profile.credential) {
    case 'deviceCode':
      return { ...base, type: 'DeviceCodeCredential', clientId: clientId ?? DEFAULT_PUBLIC_CLIENT_ID, scopes: DELEGATED_SCOPES.map((s) => `${cloud.graph}/${s}`), describe: 'device code sign-in' };
    case 'browser':
      return { ...base, type: 'InteractiveBrowserCredential', clientId: clientId ?? DEFAULT_PUBLIC_CLIENT_ID, scopes: DELEGATED_SCOPES.map((s) => `${cloud.graph}/${s}`), describe: 'browser sign-in' };
    case 'clientSecret': {
      const t = need(tenantId, `Profile '${profile.name}' has no tenant; run 'agentid login --tenant ID --client-id ID --client-secret-env VAR'.`);
      const c = need(clientId, `Profile '${profile.name}' has no client id; run 'agentid login --client-id ID …'.`);
      const varName = profile.clientSecretEnv ?? 'AZURE_CLIENT_SECRET';
      const secret = profile.secretFromStdin ? stdinSecret : env[varName];
      const missing = profile.secretFromStdin ? 'Pipe the client secret on stdin (the profile says --client-secret-stdin).' : `Set the environment variable ${varName} to the client secret (the profile reads it from there).`;
      return withSecret({ ...base, tenantId: t, clientId: c, type: 'ClientSecretCredential', scopes: graphDefault, describe: profile.secretFromStdin ? 'client secret from stdin' : `client secret from $${varName}` }, need(secret, missing));
    }
    case 'certificate': {
      const t = need(tenantId, `Profile '${profile.name}' has no tenant; run 'agentid login --tenant ID --client-id ID --certificate PATH'.`);
      const c = need(clientId, `Profile '${profile.name}' has no client id; run 'agentid login --client-id ID --certificate PATH'.`);
      const p = need(profile.certificatePath, `Profile '${profile.name}' names no certificate; run 'agentid login --certificate PATH'.`);
      return { ...base, tenantId: t, clientId: c, type: 'ClientCertificateCredential', certificatePath: p, scopes: graphDefault, describe: `certificate ${p}` };
    }
    case 'federatedToken': {
      const t = need(tenantId, `Profile '${profile.name}' has no tenant; run 'agentid login --tenant ID --client-id ID --federated-token-file PATH'.`);
      const c = need(clientId, `Profile '${profile.name}' has no client id; run 'agentid login --client-id ID --federated-token-file PATH'.`);
      const f = need(profile.federatedTokenFile, `Profile '${profile.name}' names no token file; run 'agentid login --federated-token-file PATH'.`);
      return { ...base, tenantId: t, clientId: c, type: 'WorkloadIdentityCredential', tokenFilePath: f, scopes: graphDefault, describe: `federated token file ${f}` };
    }
    case 'githubOidc': {
      const t = need(tenantId, `Profile '${profile.name}' has no tenant; run 'agentid login --tenant ID --client-id ID --github-oidc'.`);
      const c = need(clientId, `Profile '${profile.name}' has no client id; run 'agentid login --client-id ID --github-oidc'.`);
      return planGithubOidc({ ...base, tenantId: t, clientId: c, scopes: graphDefault }, profile, env);
    }
    case 'managedIdentity': {
      const mi = profile.managedIdentityClientId;
      return { ...base, type: 'ManagedIdentityCredential', ...(mi ? { clientId: mi } : {}), scopes: graphDefault, describe: mi ? `managed identity ${mi}` : 'system-assigned managed identity' };
    }
    case 'azureCli':
      return { ...base, type: 'AzureCliCredential', scopes: graphDefault, describe: 'Azure CLI sign-in (az login)' };
    case 'environment':
      return planFromEnvironment(profile, env, authorityHost, graphDefault);
    case 'emulated':
      throw new Error('The emulated tenant signs in through its own token endpoint, not @azure/identity.');
  }
}

/** @azure/identity's environment convention (EnvironmentCredential + WorkloadIdentityCredential). */
function planFromEnvironment(profile: Profile, env: NodeJS.ProcessEnv, authorityHost: string, scopes: string[]): CredentialPlan {
  const tenantId = need(env.AZURE_TENANT_ID ?? profile.tenantId, 'Set AZURE_TENANT_ID (and AZURE_CLIENT_ID) to sign in from the environment.');
  const clientId = need(env.AZURE_CLIENT_ID ?? profile.clientId, 'Set AZURE_CLIENT_ID (and AZURE_TENANT_ID) to sign in from the environment.');
  const base = { tenantId, clientId, authorityHost, scopes };
  if (env.AZURE_CLIENT_SECRET) return withSecret({ ...base, type: 'ClientSecretCredential', describe: 'client secret from $AZURE_CLIENT_SECRET' }, env.AZURE_CLIENT_SECRET);
  if (env.AZURE_CLIENT_CERTIFICATE_PATH) return { ...base, type: 'ClientCertificateCredential', certificatePath: env.AZURE_CLIENT_CERTIFICATE_PATH, describe: `certificate from $AZURE_CLIENT_CERTIFICATE_PATH (${env.AZURE_CLIENT_CERTIFICATE_PATH})` };
  if (env.AZURE_FEDERATED_TOKEN_FILE) return { ...base, type: 'WorkloadIdentityCredential', tokenFilePath: env.AZURE_FEDERATED_TOKEN_FILE, describe: `federated token from $AZURE_FEDERATED_TOKEN_FILE (${env.AZURE_FEDERATED_TOKEN_FILE})` };
  if (env.ACTIONS_ID_TOKEN_REQUEST_URL) return planGithubOidc(base, profile, env);
  throw new UsageError('AZURE_TENANT_ID and AZURE_CLIENT_ID are set, but none of AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE (nor, in a GitHub Actions job with `permissions: id-token: write`, its ACTIONS_ID_TOKEN_REQUEST_URL): set one, or choose a profile with --profile.');
}

/**
 * GitHub Actions' OIDC token as a client assertion (src/graph/githubOidc.ts). Both variables
 * exist only in a job granted `permissions: id-token: write`; the request token is read here, at
 * sign-in, and kept like a secret (never in the profile, JSON or inspection).
 */
function planGithubOidc(base: { tenantId: string; clientId: string; authorityHost: string; scopes: string[] }, profile: Profile, env: NodeJS.ProcessEnv): CredentialPlan {
  const url = env.ACTIONS_ID_TOKEN_REQUEST_URL?.trim();
  const token = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  const where = profile.name === 'env' ? 'The env profile signs in with GitHub Actions OIDC' : `Profile '${profile.name}' signs in with GitHub Actions OIDC (--github-oidc)`;
  if (!url && !token) throw new UsageError(`${where}, but ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set: run agentid in a GitHub Actions job with \`permissions: id-token: write\`.`);
  if (!url) throw new UsageError(`${where}, but ACTIONS_ID_TOKEN_REQUEST_URL is not set: run agentid in a GitHub Actions job with \`permissions: id-token: write\`.`);
  if (!token) throw new UsageError(`ACTIONS_ID_TOKEN_REQUEST_URL is set but ACTIONS_ID_TOKEN_REQUEST_TOKEN is not: the workflow needs \`permissions: id-token: write\` (on the job or the workflow) for agentid to get GitHub's OIDC token.`);
  const audience = exchangeAudience(profile.cloud, base.authorityHost);
  return withSecret({ ...base, type: 'ClientAssertionCredential', oidcRequestUrl: url, oidcAudience: audience, describe: `GitHub Actions OIDC token for ${audience}` }, token);
}

/** Checks what can be checked offline (files exist) before any sign-in is attempted. */
export function checkPlanFiles(plan: CredentialPlan): void {
  if (plan.certificatePath && !existsSync(plan.certificatePath)) throw new UsageError(`--certificate: no file at ${plan.certificatePath} (a PEM file holding the certificate and its private key).`);
  if (plan.tokenFilePath && !existsSync(plan.tokenFilePath)) throw new UsageError(`--federated-token-file: no file at ${plan.tokenFilePath}.`);
}

export interface BuildOptions {
  /** Where device-code instructions go (stderr). */
  prompt?: (message: string) => void;
  authenticationRecord?: Profile['authenticationRecord'];
  /** Persistent token cache under this name (see usePersistentCache()); absent: MSAL's memory cache. */
  cacheName?: string;
  /** Tests and served emulators: skip MSAL's instance discovery at login.microsoftonline.com. */
  disableInstanceDiscovery?: boolean;
  /** Off a terminal: device code and browser sign in silently (cached account) or fail, never prompt. */
  noPrompt?: boolean;
}

/** Builds the credential a plan names. No network: credentials sign in lazily on getToken. */
export async function createCredential(plan: CredentialPlan, o: BuildOptions = {}): Promise<TokenCredential> {
  try {
    return await construct(plan, o);
  } catch (err) {
    // @azure/identity validates its options in the constructor (e.g. a non-https authority).
    throw new UsageError(`Cannot use ${plan.describe}: ${(err as Error).message.split('\n')[0]}`);
  }
}

async function construct(plan: CredentialPlan, o: BuildOptions): Promise<TokenCredential> {
  const id = await import('@azure/identity');
  const common = {
    authorityHost: plan.authorityHost,
    ...(o.disableInstanceDiscovery ? { disableInstanceDiscovery: true } : {}),
    ...(o.cacheName ? { tokenCachePersistenceOptions: { enabled: true, name: o.cacheName, unsafeAllowUnencryptedStorage: false } } : {}),
  };
  switch (plan.type) {
    case 'DeviceCodeCredential':
      return new id.DeviceCodeCredential({
        ...common,
        ...(plan.tenantId ? { tenantId: plan.tenantId } : {}),
        clientId: plan.clientId ?? DEFAULT_PUBLIC_CLIENT_ID,
        ...(o.authenticationRecord ? { authenticationRecord: o.authenticationRecord } : {}),
        ...(o.noPrompt ? { disableAutomaticAuthentication: true } : {}),
        userPromptCallback: (info) => (o.prompt ?? ((m) => process.stderr.write(`${m}\n`)))(info.message),
      });
    case 'InteractiveBrowserCredential':
      return new id.InteractiveBrowserCredential({
        ...common,
        ...(plan.tenantId ? { tenantId: plan.tenantId } : {}),
        clientId: plan.clientId ?? DEFAULT_PUBLIC_CLIENT_ID,
        ...(o.authenticationRecord ? { authenticationRecord: o.authenticationRecord } : {}),
        ...(o.noPrompt ? { disableAutomaticAuthentication: true } : {}),
      });
    case 'ClientSecretCredential':
      return new id.ClientSecretCredential(plan.tenantId!, plan.clientId!, plan.secret!, common);
    case 'ClientCertificateCredential':
      return new id.ClientCertificateCredential(plan.tenantId!, plan.clientId!, { certificatePath: plan.certificatePath! }, common);
    case 'WorkloadIdentityCredential':
      return new id.WorkloadIdentityCredential({ ...common, tenantId: plan.tenantId!, clientId: plan.clientId!, tokenFilePath: plan.tokenFilePath! });
    case 'ClientAssertionCredential':
      return new id.ClientAssertionCredential(plan.tenantId!, plan.clientId!, githubAssertion({ requestUrl: plan.oidcRequestUrl!, requestToken: plan.secret!, audience: plan.oidcAudience! }), common);
    case 'ManagedIdentityCredential':
      return plan.clientId ? new id.ManagedIdentityCredential({ clientId: plan.clientId }) : new id.ManagedIdentityCredential();
    case 'AzureCliCredential':
      return new id.AzureCliCredential(plan.tenantId ? { tenantId: plan.tenantId } : {});
  }
}

/** Which credentials keep a token cache through MSAL (the others: managed identity and the Azure CLI keep their own). */
export function cachesTokens(plan: CredentialPlan): boolean {
  return ['DeviceCodeCredential', 'InteractiveBrowserCredential', 'ClientSecretCredential', 'ClientCertificateCredential'].includes(plan.type);
}

let registeredVault: TokenVault | undefined;

/**
 * Persistent token cache: only where the operating system offers a protected store
 * (src/graph/tokenCache.ts). Registers agentid's cache plugin with @azure/identity through its
 * plugin hook, the one @azure/identity-cache-persistence uses (which agentid does not depend on:
 * it builds native code at install). Without a store, tokens stay in memory for the one command:
 * agentid never writes a token to disk in plain text (unsafeAllowUnencryptedStorage stays false).
 */
export async function usePersistentCache(vault: TokenVault | { reason: string }): Promise<CacheState> {
  if (!(vault instanceof TokenVault)) return { persistent: false, reason: vault.reason };
  const state = await vault.state();
  if (!state.persistent || registeredVault === vault) return state;
  const { useIdentityPlugin } = await import('@azure/identity');
  useIdentityPlugin((context) => {
    // The context's shape is @azure/identity's AzurePluginContext (plugins/provider.d.ts).
    const control = (context as { cachePluginControl: { setPersistence(factory: (o?: { name?: string }) => Promise<CachePlugin>): void } }).cachePluginControl;
    control.setPersistence(async (o) => vault.plugin(o?.name ?? 'agentid'));
  });
  registeredVault = vault;
  return state;
}

/** What set a profile's sign-in host, for "could not reach" messages (issue 12 #5). */
export function authoritySource(profile: Profile, env: NodeJS.ProcessEnv): string {
  if (env.AZURE_AUTHORITY_HOST?.trim()) return 'AZURE_AUTHORITY_HOST';
  if (profile.authorityHost) return `--authority-host of profile '${profile.name}' (agentid login --authority-host URL)`;
  return `the ${profile.cloud} cloud of profile '${profile.name}' (agentid login --cloud, or AZURE_AUTHORITY_HOST)`;
}

// MSAL's codes and Node's socket errors for a host that does not answer.
const UNREACHABLE = /network_error|endpoints_resolution_error|ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|ECONNRESET|EHOSTUNREACH/;

/** A TokenCredential's token, with sign-in failures as exit-4 errors that say what to do. */
export async function getTokenOrExplain(credential: TokenCredential, plan: CredentialPlan, signal?: AbortSignal, hostSource?: string): Promise<AccessToken> {
  try {
    const t = await credential.getToken(plan.scopes, signal ? { abortSignal: signal } : {});
    if (!t) throw new Error('no token returned');
    return t;
  } catch (err) {
    const msg = (err as Error).message?.split('\n')[0] ?? String(err);
    if (hostSource && UNREACHABLE.test(msg)) {
      throw new AuthError(`Sign-in failed (${plan.describe}): could not reach the sign-in host ${new URL(plan.authorityHost).host}, set by ${hostSource}; check that value and the network. (${msg})`);
    }
    throw new AuthError(`Sign-in failed (${plan.describe}): ${msg}`);
  }
}

// ---------------------------------------------------------------------------------------------
// the emulated tenant's token endpoint

export type FetchLike = (req: Request) => Promise<Response>;

/** An unreachable served emulator is the same failure as an unreachable Graph: one NetworkError. */
async function send(fetchFn: FetchLike, req: Request): Promise<Response> {
  try {
    return await fetchFn(req);
  } catch (err) {
    const { transportError } = await import('./errors.js');
    throw transportError(err, { method: 'POST', path: new URL(req.url).pathname }, new URL(req.url).host);
  }
}

interface OAuthTokenResponse {
  access_token?: string;
  expires_in?: number;
  error?: string;
  error_description?: string;
}

async function postForm(fetchFn: FetchLike, url: string, form: Record<string, string>): Promise<OAuthTokenResponse & { status: number }> {
  const res = await send(fetchFn, new Request(url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() }));
  const body = (await res.json().catch(() => ({}))) as OAuthTokenResponse;
  return { ...body, status: res.status };
}

function accessToken(r: OAuthTokenResponse & { status: number }, what: string): AccessToken {
  if (r.status !== 200 || !r.access_token) throw new AuthError(`Sign-in to the emulated tenant failed (${what}): ${r.error_description?.split(' Trace ID')[0] ?? r.error ?? `HTTP ${r.status}`}`);
  return { token: r.access_token, expiresOnTimestamp: Date.now() + (r.expires_in ?? 3599) * 1000 };
}

/** Signs in as the emulated tenant's signed-in user: the device-code grant, which the emulator approves at once. */
export async function emulatorUserToken(fetchFn: FetchLike, origin: string, tenantId: string, clientId: string): Promise<AccessToken> {
  const scope = 'https://graph.microsoft.com/.default offline_access openid profile';
  const res = await send(fetchFn, new Request(`${origin}/${tenantId}/oauth2/v2.0/devicecode`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: clientId, scope }).toString() }));
  const dc = (await res.json().catch(() => ({}))) as { device_code?: string; error_description?: string };
  if (!res.ok || !dc.device_code) throw new AuthError(`Sign-in to the emulated tenant at ${origin} failed: ${dc.error_description ?? `HTTP ${res.status}`}`);
  const r = await postForm(fetchFn, `${origin}/${tenantId}/oauth2/v2.0/token`, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: clientId, device_code: dc.device_code });
  return accessToken(r, 'device code');
}

/** client_credentials against the emulated tenant, for an app profile on it. */
export async function emulatorAppToken(fetchFn: FetchLike, origin: string, tenantId: string, clientId: string, secret: string): Promise<AccessToken> {
  const r = await postForm(fetchFn, `${origin}/${tenantId}/oauth2/v2.0/token`, { grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope: 'https://graph.microsoft.com/.default' });
  return accessToken(r, `client secret of ${clientId}`);
}

/** The claims of a JWT access token, unverified: for `status`, which only reports them. */
export function tokenClaims(token: string): Record<string, unknown> {
  const part = token.split('.')[1];
  if (!part) return {};
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}
