import type { CliContext } from '../context.js';
import { AuthError } from '../errors.js';

// Operations Graph offers to applications only (delegated: "Not supported"), e.g. adding or
// removing the sponsors of an agent identity (GD agentidentity-post-sponsors-permissions.md,
// agentidentity-delete-sponsors-permissions.md). On a delegated profile they are a dead end
// unless we say so and name the way out: an app profile, one command away on the emulated tenant.
// --dry-run checks the same thing, from the token's claims, so it never promises what the real
// call will refuse.

export const AS_APP_LOGIN = 'agentid login --profile automation --emulated --as-app';

async function wayOut(ctx: CliContext): Promise<string> {
  const target = await ctx.target();
  return target.kind === 'emulated'
    ? `on the emulated tenant run '${AS_APP_LOGIN}' once, then repeat the command (with --profile automation)`
    : "sign in as an app that was granted it ('agentid login --profile app --tenant T --client-id APP --client-secret-env VAR', or --certificate), then repeat the command with --profile app";
}

/** Throws exit 4 unless the token is an app's and holds one of `permissions`. */
export async function requireAppPermission(ctx: CliContext, what: string, permissions: string[]): Promise<void> {
  const { tokenClaims } = await import('../graph/credentials.js');
  const c = tokenClaims((await ctx.accessToken()) ?? '');
  if (c.idtyp !== 'app') {
    throw new AuthError(`${what} is app-only in Graph (no delegated permission exists), and profile '${(await ctx.target()).profile.name}' signs in as a user: ${await wayOut(ctx)}.`);
  }
  const roles = Array.isArray(c.roles) ? (c.roles as string[]) : [];
  if (!permissions.some((p) => roles.includes(p))) {
    throw new AuthError(`${what} needs the application permission ${permissions.join(' or ')}, which the token of profile '${(await ctx.target()).profile.name}' does not hold; grant it to the app (admin consent), or ${await wayOut(ctx)}.`);
  }
}

/** A Graph 403 of an app-only operation, told with the way out (the Graph error stays in the line). */
export async function explainAppOnly<T>(ctx: CliContext, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const e = err as { status?: number; describe?: () => string };
    if (e?.status === 403 && typeof e.describe === 'function') throw new AuthError(`${what} is app-only in Graph: ${await wayOut(ctx)}. (${e.describe()})`);
    throw err;
  }
}
