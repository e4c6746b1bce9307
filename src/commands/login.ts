import { Command, Option } from 'commander';
import { z } from 'zod';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import type { CredentialKind, Profile } from '../config.js';
import { helpSections, parseOptions, required } from './shared.js';
import { PROFILE_COLUMNS } from './profile.js';

// agentid login: create or update a profile and sign in once with it; agentid logout: forget the
// account a profile signed in with. One flag per sign-in kind, each mapped to one
// @azure/identity credential (src/graph/credentials.ts). A secret is never an argument: it comes
// from an environment variable named by --client-secret-env, or from stdin.

type MethodKey = 'deviceCode' | 'browser' | 'clientSecretEnv' | 'clientSecretStdin' | 'certificate' | 'federatedTokenFile' | 'githubOidc' | 'managedIdentity' | 'azureCli' | 'emulated';

const METHOD_FLAGS: [MethodKey, CredentialKind, string][] = [
  ['deviceCode', 'deviceCode', '--device-code'],
  ['browser', 'browser', '--browser'],
  ['clientSecretEnv', 'clientSecret', '--client-secret-env'],
  ['clientSecretStdin', 'clientSecret', '--client-secret-stdin'],
  ['certificate', 'certificate', '--certificate'],
  ['federatedTokenFile', 'federatedToken', '--federated-token-file'],
  ['githubOidc', 'githubOidc', '--github-oidc'],
  ['managedIdentity', 'managedIdentity', '--managed-identity'],
  ['azureCli', 'azureCli', '--azure-cli'],
  ['emulated', 'emulated', '--emulated'],
];

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TENANT = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[A-Za-z0-9.-]+\.[A-Za-z]{2,})$/i;

export const LoginSchema = z
  .object({
    tenant: z.string().regex(TENANT, '--tenant takes a tenant id (GUID) or a verified domain such as contoso.onmicrosoft.com.').optional(),
    clientId: z.string().regex(GUID, '--client-id takes an application (client) id, a GUID.').optional(),
    cloud: z.enum(['public', 'usgov', 'usgovdod', 'china'], { error: '--cloud is one of public, usgov, usgovdod, china.' }).default('public'),
    apiVersion: z.enum(['v1.0', 'beta'], { error: '--api-version is v1.0 or beta.' }).default('v1.0'),
    graphUrl: z.url({ error: '--graph-url takes a URL such as https://127.0.0.1:8443.' }).optional(),
    authorityHost: z.url({ error: '--authority-host takes an https URL such as https://login.microsoftonline.com.' }).optional(),
    deviceCode: z.boolean().optional(),
    browser: z.boolean().optional(),
    clientSecretEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, '--client-secret-env takes the NAME of an environment variable (the secret itself is never an argument).').optional(),
    clientSecretStdin: z.boolean().optional(),
    certificate: z.string().min(1).optional(),
    federatedTokenFile: z.string().min(1).optional(),
    githubOidc: z.boolean().optional(),
    managedIdentity: z.boolean().optional(),
    azureCli: z.boolean().optional(),
    emulated: z.boolean().optional(),
    asApp: z.union([z.literal(true), z.enum(['automation', 'reader'], { error: "--as-app is 'automation' (the default) or 'reader'." })]).optional(),
    verify: z.boolean().default(true),
  })
  // --emulated combines with one secret flag (an emulated app); everything else is one method.
  .refine((o) => METHOD_FLAGS.filter(([k]) => k !== 'emulated' && o[k] !== undefined && o[k] !== false).length <= 1, {
    message: `Choose one sign-in method: ${METHOD_FLAGS.map(([, , f]) => f).join(', ')}.`,
  })
  .refine((o) => !o.emulated || METHOD_FLAGS.every(([k]) => ['emulated', 'clientSecretEnv', 'clientSecretStdin'].includes(k) || o[k] === undefined || o[k] === false), {
    message: '--emulated signs in as the emulated administrator, or as an emulated app with --client-secret-env or --client-secret-stdin; no other sign-in method applies to it.',
  })
  .refine((o) => !o.asApp || (o.emulated && !o.clientSecretEnv && !o.clientSecretStdin && !o.clientId), {
    message: "--as-app goes with --emulated alone: it signs in as the emulated tenant's seeded app, with no client id or secret to give.",
  });
export type LoginOptions = z.output<typeof LoginSchema>;

/** The sign-in kind the flags chose, if any. */
export function chosenKind(o: LoginOptions): CredentialKind | undefined {
  if (o.emulated) return 'emulated';
  return METHOD_FLAGS.find(([k]) => o[k] !== undefined && o[k] !== false)?.[1];
}

/** The profile `login` saves for these options (validated, without any secret). */
export function profileFromOptions(name: string, kind: CredentialKind, o: LoginOptions, tenant: string | undefined, clientId: string | undefined): Profile {
  const p: Profile = { name, target: kind === 'emulated' ? 'emulated' : 'real', credential: kind, cloud: o.cloud, apiVersion: o.apiVersion };
  if (tenant) p.tenantId = tenant;
  if (kind === 'managedIdentity') {
    if (clientId) p.managedIdentityClientId = clientId;
  } else if (clientId) p.clientId = clientId;
  if (o.graphUrl) p.graphUrl = o.graphUrl;
  if (o.authorityHost) p.authorityHost = o.authorityHost;
  if (kind === 'emulated' && (o.clientSecretEnv || o.clientSecretStdin)) p.credential = 'clientSecret';
  if (o.clientSecretEnv) p.clientSecretEnv = o.clientSecretEnv;
  if (o.clientSecretStdin) p.secretFromStdin = true;
  if (o.certificate) p.certificatePath = o.certificate;
  if (o.federatedTokenFile) p.federatedTokenFile = o.federatedTokenFile;
  if (kind === 'emulated' && o.asApp) p.emulatedApp = o.asApp === true ? 'automation' : o.asApp;
  return p;
}

const NEEDS_APP: CredentialKind[] = ['clientSecret', 'certificate', 'federatedToken', 'githubOidc'];

export function register(program: Command, ctx: CliContext): void {
  helpSections(
    program
      .command('login')
      .description('Create or update a profile (tenant, app, sign-in method, cloud, API version), sign in once with it, and make it the current profile')
      .option('--tenant <id>', 'tenant id or verified domain')
      .option('--client-id <id>', 'application (client) id; with --managed-identity, a user-assigned identity')
      .addOption(new Option('--cloud <cloud>', 'national cloud').choices(['public', 'usgov', 'usgovdod', 'china']).default('public'))
      .addOption(new Option('--api-version <v>', 'Graph API version').choices(['v1.0', 'beta']).default('v1.0'))
      .option('--device-code', 'sign in as a user with a device code (any machine, no browser needed)')
      .option('--browser', 'sign in as a user in the browser')
      .option('--client-secret-env <var>', 'sign in as an app with the secret in environment variable VAR (read at each run)')
      .option('--client-secret-stdin', 'sign in as an app with the secret read from stdin (asked for, masked, on a terminal)')
      .option('--certificate <path>', 'sign in as an app with a PEM certificate and private key')
      .option('--federated-token-file <path>', 'sign in as an app with a federated token (workload identity: GitHub Actions, Kubernetes)')
      .option('--github-oidc', "sign in as an app with the GitHub Actions job's own OIDC token (needs `permissions: id-token: write`; no secret, no token file)")
      .option('--managed-identity', 'sign in as the Azure managed identity of this machine (with --client-id for a user-assigned one)')
      .option('--azure-cli', 'reuse the Azure CLI sign-in (az login)')
      .option('--emulated', 'a profile on the emulated tenant (with --graph-url for a served emulator; with --client-id and a secret flag for an emulated app)')
      .option('--as-app [app]', "with --emulated: sign in as the emulated tenant's seeded app, app-only, no secret: automation (default; the Agent ID application permissions, e.g. for agent sponsors) or reader")
      .option('--graph-url <url>', 'Graph base URL: a served emulator, or a proxy in front of Graph')
      .option('--authority-host <url>', "sign-in host, when not the cloud's (AZURE_AUTHORITY_HOST overrides it)")
      .option('--no-verify', 'save the profile without signing in now')
      .action(async (raw) => {
        const o = parseOptions(LoginSchema, raw);
        const name = ctx.globals.profile ?? ctx.env.AGENTID_PROFILE ?? 'default';
        const { ProfileSchema, readConfig, writeConfig } = await import('../config.js');
        if (!ProfileSchema.shape.name.safeParse(name).success) throw new UsageError(`--profile '${name}': a profile name is letters, digits, dot, dash or underscore (at most 64).`);
        if (name === 'local') throw new UsageError("The 'local' profile is the built-in emulated tenant and cannot be changed; choose another name with --profile NAME.");
        const kind = chosenKind(o) ?? (await askKind(ctx));
        const tenant = kind === 'emulated' || kind === 'managedIdentity' || kind === 'azureCli' ? o.tenant : NEEDS_APP.includes(kind) || o.tenant ? await required(ctx, o.tenant, '--tenant', 'Tenant id or domain') : undefined;
        const appSecret = kind === 'emulated' && (o.clientSecretEnv || o.clientSecretStdin);
        const clientId = NEEDS_APP.includes(kind) || appSecret ? await required(ctx, o.clientId, '--client-id', 'Application (client) id') : o.clientId;
        if (clientId && !GUID.test(clientId)) throw new UsageError('--client-id takes an application (client) id, a GUID.');
        const profile = ProfileSchema.parse(profileFromOptions(name, kind, o, tenant, clientId));
        const config = readConfig(ctx.home());
        const before = config.profiles[name];
        config.profiles[name] = profile;
        config.current = name;
        const msg = await ctx.messenger();
        // A changed profile starts with an empty token cache: its tokens may be another app's or tenant's.
        const { removeCacheFiles, cacheNameFor } = await import('../graph/tokenCache.js');
        await removeCacheFiles(ctx.home(), cacheNameFor(name));
        if (o.verify) {
          // Sign in before saving: a profile that cannot sign in is not written.
          ctx.globals.profile = name;
          const { signIn } = await import('./status.js');
          const who = await signIn(ctx, profile, { interactiveRecord: true });
          if (who.authenticationRecord) profile.authenticationRecord = who.authenticationRecord;
          msg.success(`Signed in to ${who.tenant} as ${who.identity}.`);
        }
        await writeConfig(ctx.home(), config);
        msg.info(`${before ? 'Updated' : 'Created'} profile '${name}'; it is now the current profile.`);
        await ctx.print(profile, PROFILE_COLUMNS);
      }),
    [
      'agentid login --profile contoso --tenant contoso.onmicrosoft.com --device-code',
      'agentid login --profile ci --tenant $TENANT --client-id $APP --client-secret-env AGENTID_SECRET',
      'agentid login --profile gha --tenant $TENANT --client-id $APP --github-oidc',
      'agentid login --profile automation --emulated --as-app',
      'agentid login --profile served --emulated --graph-url http://127.0.0.1:8080 --no-verify',
    ],
    'none to save a profile; the sign-in asks for the Agent ID permissions the commands need',
  );

  helpSections(
    program
      .command('logout')
      .description("Sign a profile out: forget its account and delete its cached tokens (the next command signs in again)")
      .option('--all', 'sign out of every profile, and delete the token cache key from the OS store')
      .action(async (raw: { all?: boolean }) => {
        const { readConfig, writeConfig, selectProfile } = await import('../config.js');
        const { removeCacheFiles, cacheNameFor, TokenVault } = await import('../graph/tokenCache.js');
        const config = readConfig(ctx.home());
        const msg = await ctx.messenger();
        if (raw.all) {
          const records = Object.values(config.profiles).filter((p) => p.authenticationRecord);
          for (const p of records) delete p.authenticationRecord;
          if (records.length) await writeConfig(ctx.home(), config);
          const vault = await ctx.tokenVault();
          const files = await removeCacheFiles(ctx.home());
          let key = '';
          if (vault instanceof TokenVault) {
            await vault.forget().then(
              () => (key = `, and the cache key in ${vault.storeLabel}`),
              (err: Error) => msg.warn(`The token cache key stays in ${vault.storeLabel}: ${err.message}`),
            );
          }
          msg.success(`Signed out of every profile: forgot ${records.length} signed-in account(s), deleted ${files.length} token cache file(s)${key}.`);
          return;
        }
        const { profile } = selectProfile(config, ctx.env, ctx.globals.profile);
        const saved = config.profiles[profile.name];
        const hadRecord = !!saved?.authenticationRecord;
        if (hadRecord) {
          delete saved!.authenticationRecord;
          await writeConfig(ctx.home(), config);
        }
        const files = await removeCacheFiles(ctx.home(), cacheNameFor(profile.name));
        if (hadRecord || files.length) {
          msg.success(`Signed out of profile '${profile.name}'${files.length ? ': its cached tokens are deleted' : ''}.`);
        } else {
          msg.info(`Profile '${profile.name}' keeps no signed-in account and no cached token${profile.target === 'emulated' ? ' (the emulated tenant signs in anew on every command)' : ''}; nothing to forget.`);
        }
      }),
    ['agentid logout', 'agentid logout --profile contoso', 'agentid logout --all'],
    'none (it changes only local files and the OS store)',
  );
}

async function askKind(ctx: CliContext): Promise<CredentialKind> {
  if (!ctx.interactive) throw new UsageError(`Missing a sign-in method: pass one of ${METHOD_FLAGS.map(([, , f]) => f).join(', ')}.`);
  const { choose } = await import('../output/prompt.js');
  return choose<CredentialKind>(ctx.promptContext(false), {
    message: 'How do you want to sign in?',
    flag: '--device-code',
    choices: [
      { name: 'Device code (a user, any machine)', value: 'deviceCode' },
      { name: 'Browser (a user, this machine)', value: 'browser' },
      { name: 'Azure CLI (reuse az login)', value: 'azureCli' },
      { name: 'Managed identity (an Azure resource)', value: 'managedIdentity' },
    ],
  });
}
