import type { AccessToken } from '@azure/identity';
import type { SignInHost as CliContext, Target } from '../target.js';
import type { TokenProvider } from './middleware/auth.js';
import type { Transport } from './middleware/transport.js';
import { CLOUDS, type Profile } from '../config.js';
import type { BuildOptions, CredentialPlan } from './credentials.js';
import { AuthError } from '../errors.js';

// The token behind every Graph request, by target:
//   emulated, in-process, `local`   a token minted on the spot for the seeded Agent ID
//                                   Administrator with the tenant's key: no prompt, no network;
//   emulated, served                the served emulator's token endpoint (device code, approved by
//                                   the emulator at once for its signed-in user; or
//                                   client_credentials for an app profile);
//   real                            the @azure/identity credential the profile names.
// Tokens stay in this process's memory and are reused until five minutes before they expire; a
// real tenant's are also kept, encrypted, in the persistent token cache where the OS offers a
// protected store (tokenCache.ts), so the next command signs in silently.

/** Microsoft's own sign-in hosts; MSAL looks any other authority up at login.microsoftonline.com unless told not to. */
const KNOWN_AUTHORITIES = new Set(Object.values(CLOUDS).map((c) => new URL(c.authority).host));

export async function tokenProvider(ctx: CliContext, target: Target, transport: Transport): Promise<TokenProvider> {
  const fetchToken = await acquirer(ctx, target, transport);
  let cached: AccessToken | undefined;
  return async () => {
    if (!cached || cached.expiresOnTimestamp - Date.now() < 5 * 60_000) cached = await fetchToken();
    return cached.token;
  };
}

/** One fresh token, without the cache: `status` and `login` use it directly. */
export async function acquirer(ctx: CliContext, target: Target, transport: Transport): Promise<() => Promise<AccessToken>> {
  const profile = target.profile;
  if (target.kind === 'emulated') {
    const { AGENTID_CLIENT_APP_ID } = await import('../mock/seed.js');
    const origin = target.mode === 'served' ? target.baseUrl : 'https://login.microsoftonline.com';
    if (profile.credential === 'clientSecret') {
      const { planCredential, emulatorAppToken } = await import('./credentials.js');
      const stdinSecret = profile.secretFromStdin ? await ctx.stdinSecret() : undefined;
      const plan = planCredential({ profile: { ...profile, tenantId: profile.tenantId ?? 'organizations' }, env: ctx.env, ...(stdinSecret ? { stdinSecret } : {}) });
      return () => emulatorAppToken(transport, origin, plan.tenantId!, plan.clientId!, plan.secret!);
    }
    if (profile.emulatedApp) {
      // login --emulated --as-app: the seeded app's app-only token, minted with the tenant's key in
      // AGENTID_HOME like the administrator's (a served emulator on this home trusts the same key).
      const { createFileStore } = await import('../mock/inprocess.js');
      const { mintToken, appClaims, TOKEN_LIFETIME_SECONDS } = await import('../mock/auth.js');
      const { SEED_APPS } = await import('../mock/seedApps.js');
      const store = createFileStore(target.mode === 'served' && target.serveRecord ? target.serveRecord.stateFile : ctx.stateFile());
      const appId = SEED_APPS[profile.emulatedApp].appId;
      const issuerOrigin = target.mode === 'served' && !target.serveRecord ? target.baseUrl : undefined;
      return async () => ({ token: await mintToken(store, (s) => appClaims(s, appId, issuerOrigin ? { issuerOrigin } : {})), expiresOnTimestamp: Date.now() + TOKEN_LIFETIME_SECONDS * 1000 });
    }
    // In-process, and an in-process command sent to its home's `mock serve` (issue 11): the same
    // token minted from the tenant's key, no sign-in round trip.
    const stateFile = target.mode === 'in-process' ? target.stateFile : target.serveRecord?.stateFile;
    if (stateFile) {
      const { createFileStore } = await import('../mock/inprocess.js');
      const { mintToken, userClaims, TOKEN_LIFETIME_SECONDS } = await import('../mock/auth.js');
      const store = createFileStore(stateFile);
      return async () => ({ token: await mintToken(store, (s) => userClaims(s, undefined)), expiresOnTimestamp: Date.now() + TOKEN_LIFETIME_SECONDS * 1000 });
    }
    const { emulatorUserToken } = await import('./credentials.js');
    return () => emulatorUserToken(transport, origin, profile.tenantId ?? 'organizations', AGENTID_CLIENT_APP_ID);
  }
  const { planCredential, checkPlanFiles, getTokenOrExplain, authoritySource } = await import('./credentials.js');
  const stdinSecret = profile.credential === 'clientSecret' && profile.secretFromStdin ? await ctx.stdinSecret() : undefined;
  const plan = planCredential({ profile, env: ctx.env, ...(stdinSecret ? { stdinSecret } : {}) });
  checkPlanFiles(plan);
  const interactive = plan.type === 'DeviceCodeCredential' || plan.type === 'InteractiveBrowserCredential';
  const credential = await realCredential(ctx, profile, plan, {
    ...(profile.authenticationRecord ? { authenticationRecord: profile.authenticationRecord } : {}),
    // A pipeline never waits on a device code: off a terminal only a cached sign-in is used.
    ...(interactive && !ctx.interactive ? { noPrompt: true } : {}),
  });
  const get = () => getTokenOrExplain(credential, plan, undefined, authoritySource(profile, ctx.env));
  if (!interactive || ctx.interactive) return get;
  return () =>
    get().catch((err: Error) => {
      throw new AuthError(`Profile '${profile.name}' signs in interactively (${plan.describe}) and no cached sign-in is usable off a terminal; run 'agentid login --profile ${profile.name}' on a terminal, or use an app profile in CI. (${err.message})`);
    });
}

/**
 * The @azure/identity credential of a real-tenant plan, as every sign-in builds it: prompts on
 * stderr, the persistent token cache where the OS offers one, and no instance discovery at
 * login.microsoftonline.com for an authority that is not Microsoft's.
 */
async function realCredential(ctx: CliContext, profile: Profile, plan: CredentialPlan, extra: Pick<BuildOptions, 'authenticationRecord' | 'noPrompt'> = {}) {
  const { createCredential, cachesTokens, usePersistentCache } = await import('./credentials.js');
  const { cacheNameFor } = await import('./tokenCache.js');
  const persistent = cachesTokens(plan) && (await usePersistentCache(await ctx.tokenVault())).persistent;
  return createCredential(plan, {
    prompt: (m) => ctx.io.stderr.write(`${m}\n`),
    ...(persistent ? { cacheName: cacheNameFor(profile.name) } : {}),
    disableInstanceDiscovery: !KNOWN_AUTHORITIES.has(new URL(plan.authorityHost).host),
    ...extra,
  });
}

/**
 * `login --device-code` / `--browser`: one interactive sign-in, keeping MSAL's account record (no
 * secret) so that later commands sign in silently from the token cache.
 */
export async function interactiveSignIn(ctx: CliContext, profile: Profile): Promise<{ token: string; record?: NonNullable<Profile['authenticationRecord']> }> {
  const { planCredential } = await import('./credentials.js');
  const plan = planCredential({ profile, env: ctx.env });
  const credential = (await realCredential(ctx, profile, plan)) as import('@azure/identity').DeviceCodeCredential;
  try {
    const r = await credential.authenticate(plan.scopes);
    const token = (await credential.getToken(plan.scopes))!.token;
    return { token, ...(r ? { record: { authority: r.authority, homeAccountId: r.homeAccountId, clientId: r.clientId, tenantId: r.tenantId, username: r.username } } : {}) };
  } catch (err) {
    throw new AuthError(`Sign-in failed (${plan.describe}): ${(err as Error).message.split('\n')[0]}`);
  }
}
