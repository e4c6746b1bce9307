import { AuthError, UsageError } from './errors.js';

// Issue 12 #1: a pipeline must never run against the emulated tenant by accident. Three guards:
//  - AZURE_* variables half set (a typo in a pipeline's variable name) are an error naming the
//    missing variable, instead of a silent fall-back to the emulated tenant;
//  - off a terminal, every command that talks to the emulated tenant says so in one stderr line
//    (-q hides it, and so does AGENTID_EMULATED_NOTE=off, for scripts that use the emulator on
//    purpose and want every other message; on a terminal the tenant banner says it);
//  - AGENTID_REQUIRE_REAL_TENANT=1 makes the emulated tenant an error (exit 4, as "not signed in":
//    the pipeline has no real tenant to talk to).

const CREDENTIAL_VARS = ['AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PATH', 'AZURE_FEDERATED_TOKEN_FILE'] as const;
const ALL_VARS = ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID', ...CREDENTIAL_VARS] as const;

const set = (env: NodeJS.ProcessEnv, k: string) => !!env[k]?.trim();

/**
 * Why the AZURE_* variables do not make an env profile, when some are set; undefined when none
 * is set or the env profile has its tenant and client (a missing secret is told at sign-in).
 */
export function incompleteAzureEnv(env: NodeJS.ProcessEnv): string | undefined {
  const present = ALL_VARS.filter((k) => set(env, k));
  if (!present.length) return undefined;
  const missing = (['AZURE_TENANT_ID', 'AZURE_CLIENT_ID'] as const).filter((k) => !set(env, k));
  if (!missing.length) return undefined;
  return (
    `${present.join(' and ')} ${present.length === 1 ? 'is' : 'are'} set but ${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not: ` +
    `signing in from the environment needs AZURE_TENANT_ID, AZURE_CLIENT_ID and one of ${CREDENTIAL_VARS.join(', ')}. ` +
    `Set ${missing.join(' and ')}, unset ${present.join(' and ')}, or choose a profile with --profile (--profile local is the emulated tenant).`
  );
}


export function requireRealTenant(env: NodeJS.ProcessEnv): boolean {
  return /^(1|true|yes)$/i.test(env.AGENTID_REQUIRE_REAL_TENANT?.trim() ?? '');
}

export function checkEmulatedAllowed(env: NodeJS.ProcessEnv): void {
  if (requireRealTenant(env)) {
    throw new AuthError(
      "AGENTID_REQUIRE_REAL_TENANT is set and this command would talk to the emulated tenant: sign in to a real tenant ('agentid login', or AZURE_TENANT_ID, AZURE_CLIENT_ID and a credential variable), or choose a real profile with --profile.",
    );
  }
}

export function emulatedNoteWanted(env: NodeJS.ProcessEnv): boolean {
  return !/^(0|off|false|no)$/i.test(env.AGENTID_EMULATED_NOTE?.trim() ?? '');
}

export function emulatedNotice(target: { mode: 'in-process' | 'served'; baseUrl: string; profile: { name: string } }): string {
  const where = target.mode === 'served' ? `served at ${target.baseUrl}` : 'in-process';
  return `Note: emulated tenant Contoso (${where}, profile ${target.profile.name}), not a real one; 'agentid login' signs in to a real tenant, -q or AGENTID_EMULATED_NOTE=off hides this note.`;
}
