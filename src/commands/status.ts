import type { Command } from 'commander';
import type { CliContext, Target } from '../context.js';
import type { Profile } from '../config.js';
import { UsageError } from '../errors.js';
import { helpSections } from './shared.js';

// agentid status: which profile, which tenant (emulated or real), who is signed in, and what the
// current token allows: its delegated scopes (scp) or application permissions (roles), and the
// directory roles (wids) of a signed-in user. It warns about the Directory.AccessAsUser.All trap
// and about permissions the common commands need that the token lacks.

export const TRAP = ['Directory.AccessAsUser.All', 'Directory.ReadWrite.All'];

/** What the common commands need; any one permission of each list will do (GD permission includes). */
export const COMMON_NEEDS: { what: string; delegated: string[]; application: string[] }[] = [
  { what: 'list and show blueprints', delegated: ['AgentIdentityBlueprint.Read.All', 'AgentIdentityBlueprint.ReadWrite.All', 'Application.Read.All', 'Application.ReadWrite.All', 'Directory.Read.All'], application: ['AgentIdentityBlueprint.Read.All', 'AgentIdentityBlueprint.ReadWrite.All', 'Application.Read.All', 'Application.ReadWrite.All', 'Directory.Read.All'] },
  { what: 'create blueprints', delegated: ['AgentIdentityBlueprint.Create', 'AgentIdentityBlueprint.ReadWrite.All'], application: ['AgentIdentityBlueprint.Create', 'AgentIdentityBlueprint.ReadWrite.All'] },
  { what: 'create blueprint principals', delegated: ['AgentIdentityBlueprintPrincipal.Create', 'AgentIdentityBlueprintPrincipal.ReadWrite.All'], application: ['AgentIdentityBlueprintPrincipal.Create', 'AgentIdentityBlueprintPrincipal.ReadWrite.All'] },
  { what: 'list and show agents', delegated: ['AgentIdentity.Read.All', 'AgentIdentity.ReadWrite.All', 'Application.Read.All', 'Directory.Read.All'], application: ['AgentIdentity.Read.All', 'AgentIdentity.ReadWrite.All', 'Application.Read.All', 'Directory.Read.All'] },
  { what: 'create agents', delegated: ['AgentIdentity.Create.All'], application: ['AgentIdentity.Create.All', 'AgentIdentity.CreateAsManager'] },
  { what: 'enable and disable agents', delegated: ['AgentIdentity.EnableDisable.All', 'AgentIdentity.ReadWrite.All'], application: ['AgentIdentity.EnableDisable.All', 'AgentIdentity.ReadWrite.All', 'AgentIdentity.CreateAsManager'] },
  { what: 'delete agents', delegated: ['AgentIdentity.DeleteRestore.All'], application: ['AgentIdentity.DeleteRestore.All', 'AgentIdentity.CreateAsManager'] },
  { what: 'manage agent users', delegated: ['AgentIdUser.ReadWrite.IdentityParentedBy', 'AgentIdUser.ReadWrite.All', 'User.ReadWrite.All'], application: ['AgentIdUser.ReadWrite.IdentityParentedBy', 'AgentIdUser.ReadWrite.All', 'User.ReadWrite.All'] },
  { what: 'look up users and groups (sponsors, owners)', delegated: ['User.ReadBasic.All', 'User.Read.All', 'Directory.Read.All'], application: ['User.ReadBasic.All', 'User.Read.All', 'Directory.Read.All'] },
];

export interface SignedIn {
  target: Target;
  claims: Record<string, unknown>;
  tenant: string;
  identity: string;
  authenticationRecord?: Profile['authenticationRecord'];
}

/** Signs in with a profile once and describes who that is (login's check, status's report). */
export async function signIn(ctx: CliContext, profile: Profile, o: { interactiveRecord?: boolean } = {}): Promise<SignedIn> {
  const target = ctx.targetFor(profile, profile.target === 'emulated' ? ctx.env.AGENTID_GRAPH_URL?.trim() || undefined : undefined);
  const { tokenClaims } = await import('../graph/credentials.js');
  let record: Profile['authenticationRecord'] | undefined;
  let token: string;
  if (o.interactiveRecord && target.kind === 'real' && (profile.credential === 'deviceCode' || profile.credential === 'browser')) {
    if (!ctx.interactive) {
      const flag = profile.credential === 'deviceCode' ? '--device-code' : '--browser';
      throw new UsageError(`${flag} signs in interactively and there is no terminal here; run it on a terminal, or save the profile with --no-verify.`);
    }
    const { interactiveSignIn } = await import('../graph/signin.js');
    const signedIn = await interactiveSignIn(ctx, profile);
    token = signedIn.token;
    record = signedIn.record;
  } else {
    const { acquirer } = await import('../graph/signin.js');
    const transport = target.kind === 'emulated' && target.mode === 'in-process' ? (await import('../mock/inprocess.js')).createInProcessTransport(target.stateFile) : (await import('../graph/middleware/transport.js')).fetchTransport;
    token = (await (await acquirer(ctx, target, transport))()).token;
  }
  const claims = tokenClaims(token);
  const identity = claims.idtyp === 'app' ? `app ${String(claims.app_displayname ?? '') || String(claims.appid ?? claims.azp)} (${String(claims.appid ?? claims.azp)})` : `${String(claims.upn ?? claims.preferred_username ?? claims.name ?? claims.oid)}`;
  return { target, claims, tenant: String(claims.tid ?? profile.tenantId ?? 'unknown'), identity, ...(record ? { authenticationRecord: record } : {}) };
}

const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' && v ? v.split(' ') : []);

/** The warnings `status` prints for a token's claims. Pure, for tests. */
export function tokenWarnings(claims: Record<string, unknown>): string[] {
  const app = claims.idtyp === 'app' || (!claims.scp && Array.isArray(claims.roles));
  const held = app ? list(claims.roles) : list(claims.scp);
  const has = (wanted: string[]) => wanted.some((w) => held.some((h) => h.toLowerCase() === w.toLowerCase()));
  const out: string[] = [];
  const trap = TRAP.filter((t) => has([t]));
  if (trap.length) {
    out.push(`The token carries ${trap.join(' and ')}: Graph ignores Agent ID write permissions in such a token and answers creates, updates and deletes of blueprints, agents and agent users with 403. Sign in with an app that was not granted ${trap.join(' or ')} (the Azure CLI and Graph Explorer are such apps).`);
  }
  for (const need of COMMON_NEEDS) {
    const wanted = app ? need.application : need.delegated;
    if (!has(wanted)) out.push(`Cannot ${need.what}: the token has none of ${wanted.join(', ')}.`);
  }
  if (!app) {
    const wids = list(claims.wids);
    const { agentIdAdministrator, agentIdDeveloper, globalAdministrator } = ROLE_IDS;
    if (![agentIdAdministrator, agentIdDeveloper, globalAdministrator].some((r) => wids.includes(r))) {
      out.push('The signed-in user holds neither Agent ID Administrator nor Agent ID Developer: writes succeed only on blueprints and agents this user owns.');
    }
    out.push('Adding or removing the sponsors of an agent identity works only app-only in Graph (no delegated permission exists); use an app profile for it.');
  }
  return out;
}

/** Where this profile's tokens are kept between commands. */
async function cacheReport(ctx: CliContext, target: Target): Promise<{ persistent: boolean; store?: string; location?: string; reason?: string }> {
  if (target.kind === 'emulated') return { persistent: false, reason: 'the emulated tenant signs in anew on every command' };
  const { planCredential, cachesTokens, usePersistentCache } = await import('../graph/credentials.js');
  const kind = target.profile.credential;
  const plan = (() => {
    try {
      return planCredential({ profile: target.profile, env: ctx.env, stdinSecret: '-' });
    } catch {
      return undefined; // the sign-in worked, so only a stdin secret can be missing here
    }
  })();
  if (plan && !cachesTokens(plan)) {
    const why = kind === 'azureCli' ? 'the Azure CLI keeps its own token cache' : kind === 'managedIdentity' ? 'the managed identity endpoint caches its own tokens' : kind === 'githubOidc' ? 'a fresh GitHub Actions OIDC token is fetched and exchanged on every command' : 'a federated token is exchanged anew on every command';
    return { persistent: false, reason: why };
  }
  const state = await usePersistentCache(await ctx.tokenVault());
  return state.persistent ? { persistent: true, store: state.store, location: state.dir } : { persistent: false, reason: state.reason };
}

const ROLE_IDS = {
  globalAdministrator: '62e90394-69f5-4237-9190-012177145e10',
  agentIdAdministrator: 'db506228-d27e-4b7d-95e5-295956d6615f',
  agentIdDeveloper: 'adb2368d-a9be-41b5-8667-d96778e081b0',
};

export function register(program: Command, ctx: CliContext): void {
  helpSections(
    program
      .command('status')
      .description('Show the profile, the tenant (emulated or real), the signed-in identity, and the Graph permissions and directory roles in its token; warn about what is missing')
      .action(async () => {
        await ctx.checkOutputOptions();
        const selection = await ctx.selection();
        const target = await ctx.target();
        const profile = target.profile;
        const { tokenClaims } = await import('../graph/credentials.js');
        const c = tokenClaims((await ctx.accessToken()) ?? '');
        const who = { target };
        const { ROLE_NAMES } = await import('../graph/roles.js');
        let tenantName: string | undefined;
        try {
          const { getOrganization } = await import('../graph/directory.js');
          const org = await getOrganization(await ctx.graph());
          tenantName = org?.displayName ? `${org.displayName}${org.verifiedDomains?.find((d) => d.isDefault) ? ` (${org.verifiedDomains.find((d) => d.isDefault)!.name})` : ''}` : undefined;
        } catch {
          /* a token without Organization.Read.All still has a status */
        }
        const app = c.idtyp === 'app';
        const warnings = tokenWarnings(c);
        const tokenCache = await cacheReport(ctx, target);
        const report = {
          profile: profile.name,
          selectedBy: ctx.env.AGENTID_GRAPH_URL && profile.target === 'emulated' ? 'AGENTID_GRAPH_URL' : selection.source,
          emulated: who.target.kind === 'emulated',
          graph: `${who.target.baseUrl}/${ctx.env.AGENTID_API_VERSION === 'beta' ? 'beta' : profile.apiVersion}`,
          tenant: { id: String(c.tid ?? ''), name: tenantName ?? null, cloud: profile.cloud },
          identity: {
            type: app ? 'application' : 'user',
            name: String((app ? c.app_displayname : c.name) ?? ''),
            ...(app ? {} : { userPrincipalName: String(c.upn ?? c.preferred_username ?? '') }),
            objectId: String(c.oid ?? ''),
            clientAppId: String(c.appid ?? c.azp ?? ''),
          },
          signIn: profile.credential,
          tokenExpires: typeof c.exp === 'number' ? new Date(c.exp * 1000).toISOString() : null,
          permissions: app ? list(c.roles) : list(c.scp),
          permissionType: app ? 'application (roles)' : 'delegated (scp)',
          directoryRoles: list(c.wids).map((id) => ROLE_NAMES[id] ?? id),
          tokenCache,
          warnings,
        };
        const msg = await ctx.messenger();
        for (const w of warnings) msg.warn(w);
        await ctx.print(report, undefined, {
          profile: `${report.profile} (${report.selectedBy})`,
          tenant: `${report.tenant.name ?? report.tenant.id} · ${report.emulated ? 'emulated' : `real, ${report.tenant.cloud} cloud`}`,
          graph: report.graph,
          identity: `${report.identity.type} ${report.identity.name}${report.identity.userPrincipalName ? ` <${report.identity.userPrincipalName}>` : ''}`,
          // Row labels are the JSON field names (#12 point 6); the kind of permission leads the value.
          permissions: `${report.permissionType}: ${report.permissions.join(', ') || '(none)'}`,
          directoryRoles: report.directoryRoles.join(', ') || '(none)',
          tokenExpires: report.tokenExpires,
          tokenCache: tokenCache.persistent ? `persistent: encrypted in ${tokenCache.location}, key in ${tokenCache.store}` : `memory only (${tokenCache.reason})`,
        });
      }),
    ['agentid status', 'agentid status --profile ci -o json --query permissions', 'AGENTID_PROFILE=contoso agentid status'],
    'none (it reads the claims of your own token; the tenant name needs User.Read or Organization.Read.All)',
  );
}
