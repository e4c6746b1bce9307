import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { UsageError } from './errors.js';
import { incompleteAzureEnv } from './tenantGuard.js';
import { OUTPUT_FORMATS } from './output/format.js';

// Profiles: where agentid points (the emulated tenant, a served emulator or a real tenant) and
// how it signs in there. They live in $AGENTID_HOME/config.json, written atomically with mode
// 0600. A profile names a credential (an env var's name, a certificate's path, a token file's
// path); it never holds a secret or a token: the schema has no field for one, and
// assertNoSecret() refuses a value that looks like one before anything is written.

/** Graph and sign-in hosts of each cloud (GD concepts/deployments.md; entra-docs authentication-national-cloud.md). */
export const CLOUDS = {
  public: { graph: 'https://graph.microsoft.com', authority: 'https://login.microsoftonline.com', label: 'Microsoft Entra global service' },
  usgov: { graph: 'https://graph.microsoft.us', authority: 'https://login.microsoftonline.us', label: 'US Government L4' },
  usgovdod: { graph: 'https://dod-graph.microsoft.us', authority: 'https://login.microsoftonline.us', label: 'US Government L5 (DOD)' },
  china: { graph: 'https://microsoftgraph.chinacloudapi.cn', authority: 'https://login.chinacloudapi.cn', label: 'China operated by 21Vianet' },
} as const;
export type Cloud = keyof typeof CLOUDS;

/** Other sign-in hosts of the national clouds (MSAL's instance metadata aliases). [INFERRED] */
const AUTHORITY_ALIASES: Record<string, Cloud> = { 'login.partner.microsoftonline.cn': 'china', 'login.usgovcloudapi.net': 'usgov' };

/** The cloud a sign-in host belongs to, if it is one of Microsoft's (login.microsoftonline.us: usgov, which DOD shares). */
export function cloudOfAuthority(authority: string): Cloud | undefined {
  let host: string;
  try {
    host = new URL(authority).host;
  } catch {
    return undefined;
  }
  return AUTHORITY_ALIASES[host] ?? (Object.keys(CLOUDS) as Cloud[]).find((c) => new URL(CLOUDS[c].authority).host === host);
}

export const CREDENTIAL_KINDS = ['emulated', 'deviceCode', 'browser', 'clientSecret', 'certificate', 'federatedToken', 'githubOidc', 'managedIdentity', 'azureCli', 'environment'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** MSAL's AuthenticationRecord: which account to use silently; no secret in it. */
const AuthenticationRecordSchema = z.object({
  authority: z.string(),
  homeAccountId: z.string(),
  clientId: z.string(),
  tenantId: z.string(),
  username: z.string(),
}).strict();

export const ProfileSchema = z.object({
  name: z.string().regex(NAME, 'a profile name is letters, digits, dot, dash or underscore (at most 64)'),
  target: z.enum(['emulated', 'real']),
  credential: z.enum(CREDENTIAL_KINDS),
  cloud: z.enum(['public', 'usgov', 'usgovdod', 'china']).default('public'),
  apiVersion: z.enum(['v1.0', 'beta']).default('v1.0'),
  tenantId: z.string().optional(),
  clientId: z.string().regex(GUID, '--client-id must be an application (client) id, a GUID').optional(),
  /** A served emulator's base URL (target 'emulated'); absent: the in-process emulated tenant. */
  graphUrl: z.url().optional(),
  /** Sign-in host other than the cloud's (like AZURE_AUTHORITY_HOST, which still wins). */
  authorityHost: z.url().optional(),
  /** Name of the environment variable holding the client secret; 'stdin' reads it from standard input. */
  clientSecretEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, '--client-secret-env takes the NAME of an environment variable').optional(),
  secretFromStdin: z.boolean().optional(),
  certificatePath: z.string().optional(),
  federatedTokenFile: z.string().optional(),
  managedIdentityClientId: z.string().optional(),
  authenticationRecord: AuthenticationRecordSchema.optional(),
  /** Emulated tenant only: sign in as this seeded app (app-only token), no secret (login --emulated --as-app). */
  emulatedApp: z.enum(['automation', 'reader']).optional(),
}).strict();
export type Profile = z.infer<typeof ProfileSchema>;

const ConfigSchema = z.object({
  version: z.literal(1),
  /** The profile `agentid profile use` chose; absent: `local` (or `env`, see selectProfile). */
  current: z.string().optional(),
  profiles: z.record(z.string(), ProfileSchema),
  /** `agentid config set KEY VALUE` (issue 12): defaults for options, as az's config. */
  settings: z.lazy(() => SettingsSchema).optional(),
}).strict();
export type Config = z.infer<typeof ConfigSchema>;

/** The settings `agentid config` knows; each one a default for a global option. */
export const SettingsSchema = z.object({
  output: z.enum(OUTPUT_FORMATS, { error: `output is one of ${OUTPUT_FORMATS.join(', ')}` }).optional(),
}).strict();
export type Settings = z.infer<typeof SettingsSchema>;
export const SETTING_KEYS = Object.keys(SettingsSchema.shape) as (keyof Settings)[];

/** The stored settings; a config file agentid cannot read gives none (the command that needs it says why). */
export function readSettings(home: string): Settings {
  try {
    return readConfig(home).settings ?? {};
  } catch {
    return {};
  }
}

export const LOCAL_PROFILE: Profile = { name: 'local', target: 'emulated', credential: 'emulated', cloud: 'public', apiVersion: 'v1.0' };

/**
 * A GitHub Actions job's own OIDC token is the env profile's sign-in when none of
 * @azure/identity's credential variables is set and the job may ask for one (both
 * ACTIONS_ID_TOKEN_* variables: `permissions: id-token: write`). The others keep precedence.
 */
export function githubOidcFromEnv(env: NodeJS.ProcessEnv): boolean {
  return !env.AZURE_CLIENT_SECRET && !env.AZURE_CLIENT_CERTIFICATE_PATH && !env.AZURE_FEDERATED_TOKEN_FILE && !!env.ACTIONS_ID_TOKEN_REQUEST_URL && !!env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
}

/** The implicit CI profile: @azure/identity's environment convention, no login step. */
export function envProfile(env: NodeJS.ProcessEnv): Profile | undefined {
  if (!env.AZURE_TENANT_ID || !env.AZURE_CLIENT_ID) return undefined;
  // githubOidc rather than environment: `status` then names the sign-in the job really uses.
  const credential = githubOidcFromEnv(env) ? 'githubOidc' : 'environment';
  return { name: 'env', target: 'real', credential, cloud: envCloud(env), apiVersion: 'v1.0', tenantId: env.AZURE_TENANT_ID, clientId: env.AZURE_CLIENT_ID };
}

/**
 * The env profile's cloud: AGENTID_CLOUD when set, else the cloud of AZURE_AUTHORITY_HOST, else
 * the global service. A US Government pipeline that sets only AZURE_AUTHORITY_HOST thus signs in
 * for graph.microsoft.us and calls it; DOD shares that sign-in host, so it sets AGENTID_CLOUD=usgovdod.
 */
function envCloud(env: NodeJS.ProcessEnv): Cloud {
  const named = env.AGENTID_CLOUD?.trim();
  if (named) {
    if (Object.hasOwn(CLOUDS, named)) return named as Cloud;
    throw new UsageError(`AGENTID_CLOUD '${named}' is not a cloud agentid knows; use one of ${Object.keys(CLOUDS).join(', ')}.`);
  }
  return (env.AZURE_AUTHORITY_HOST && cloudOfAuthority(env.AZURE_AUTHORITY_HOST.trim())) || 'public';
}

export function configPath(home: string): string {
  return path.join(home, 'config.json');
}

/** Synchronous on purpose: a few hundred bytes, read once per command, before anything else. */
export function readConfig(home: string): Config {
  let text: string;
  try {
    text = readFileSync(configPath(home), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, profiles: { local: LOCAL_PROFILE } };
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`${configPath(home)} is not valid JSON; fix it or delete it to start again from the 'local' profile.`);
  }
  const r = ConfigSchema.safeParse(parsed);
  if (!r.success) throw new UsageError(`${configPath(home)} is not a valid agentid config (${r.error.issues[0]?.message}); fix it or delete it.`);
  // `local` always exists, even in a config written before it or after a `profile remove local`.
  if (!r.data.profiles.local) r.data.profiles.local = LOCAL_PROFILE;
  return r.data;
}

// What a secret or token looks like: a JWT, a PEM private key, or an Entra client secret
// (40 characters with a '~' at position 4 since 2021). Profiles hold names and paths only.
const SECRET_PATTERNS = [/eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, /^[A-Za-z0-9_.-]{3}[78]Q~[A-Za-z0-9_.~-]{31,}$/];

export function assertNoSecret(profile: Profile): void {
  for (const [k, v] of Object.entries(profile)) {
    const values = typeof v === 'string' ? [v] : v && typeof v === 'object' ? Object.values(v).map(String) : [];
    if (values.some((s) => SECRET_PATTERNS.some((re) => re.test(s)))) {
      throw new UsageError(`Refusing to save profile '${profile.name}': '${k}' looks like a secret or token. Profiles keep only names and paths; pass the secret through --client-secret-env VAR or stdin.`);
    }
  }
}

/** Writes the whole config atomically (temp file, fsync, rename), mode 0600, directory 0700. */
export async function writeConfig(home: string, config: Config): Promise<void> {
  const checked = ConfigSchema.parse(config);
  for (const p of Object.values(checked.profiles)) assertNoSecret(p);
  await fsp.mkdir(home, { recursive: true, mode: 0o700 });
  const file = configPath(home);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await fsp.open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(checked, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsp.rename(tmp, file);
  await fsp.chmod(file, 0o600);
}

export interface Selection {
  profile: Profile;
  /** How it was chosen, for `status` and the banner. */
  source: '--profile' | 'AGENTID_PROFILE' | 'profile use' | 'AZURE_* environment' | 'default';
}

/**
 * The profile a command uses: --profile, else AGENTID_PROFILE, else the one `profile use`
 * chose, else `env` when AZURE_TENANT_ID and AZURE_CLIENT_ID are set (CI with no login step,
 * @azure/identity's environment convention), else `local`, the emulated tenant.
 */
export function selectProfile(config: Config, env: NodeJS.ProcessEnv, flag: string | undefined): Selection {
  const fromEnv = envProfile(env);
  const find = (name: string, source: Selection['source']): Selection => {
    const p = config.profiles[name] ?? (name === 'env' ? fromEnv : undefined);
    if (!p) {
      const names = [...Object.keys(config.profiles), ...(fromEnv ? ['env'] : [])].join(', ');
      throw new UsageError(`No profile '${name}' (from ${source}); profiles: ${names}. Create one with 'agentid login --profile ${name} …'.`);
    }
    return { profile: p, source };
  };
  if (flag) return find(flag, '--profile');
  if (env.AGENTID_PROFILE?.trim()) return find(env.AGENTID_PROFILE.trim(), 'AGENTID_PROFILE');
  if (config.current) return find(config.current, 'profile use');
  // Half-set AZURE_* variables are a pipeline's typo, not a wish for the emulated tenant (issue 12 #1).
  const incomplete = incompleteAzureEnv(env);
  if (incomplete) throw new UsageError(incomplete);
  if (fromEnv) return { profile: fromEnv, source: 'AZURE_* environment' };
  return { profile: config.profiles.local ?? LOCAL_PROFILE, source: 'default' };
}
