import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import type { CliContext } from '../context.js';
import type { NameKind } from './completion.js';

// Names for shell completion, from local files only (a TAB press must never wait on the
// network): profiles from config.json; blueprint and agent names from a short-lived cache in
// AGENTID_HOME/cache/names-<profile>.json, written by `blueprint list` and `agent list`, or read
// straight from the emulated tenant's state file when the profile is the in-process emulator.
// Names only, never ids or secrets.

const TTL_MS = 10 * 60_000;

function cacheFile(ctx: CliContext, profile: string): string {
  return path.join(ctx.home(), 'cache', `names-${profile.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
}

/** Called by list commands with what they printed; never fails the command. */
export async function rememberNames(ctx: CliContext, kind: 'blueprint' | 'agent', names: (string | null | undefined)[]): Promise<void> {
  try {
    const profile = (await ctx.target()).profile.name;
    const file = cacheFile(ctx, profile);
    let cache: Record<string, { at: number; names: string[] }> = {};
    try {
      cache = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      /* first time */
    }
    cache[kind] = { at: Date.now(), names: [...new Set(names.filter((n): n is string => !!n))].sort() };
    await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await fsp.writeFile(file, JSON.stringify(cache), { mode: 0o600 });
  } catch {
    /* a cache is never worth a failure */
  }
}

export async function completionNames(ctx: CliContext, kind: NameKind): Promise<string[]> {
  try {
    const { readConfig, selectProfile } = await import('../config.js');
    const config = readConfig(ctx.home());
    if (kind === 'profile') return Object.keys(config.profiles).sort();
    if (kind !== 'blueprint' && kind !== 'agent') return [];
    const { profile } = selectProfile(config, ctx.env, ctx.globals.profile);
    const cached = (() => {
      try {
        const c = JSON.parse(readFileSync(cacheFile(ctx, profile.name), 'utf8'))[kind] as { at: number; names: string[] } | undefined;
        return c && Date.now() - c.at < TTL_MS ? c.names : undefined;
      } catch {
        return undefined;
      }
    })();
    if (cached) return cached;
    if (profile.target === 'emulated' && !profile.graphUrl && !ctx.env.AGENTID_GRAPH_URL) {
      // The in-process emulated tenant is a local file: read it (no lock needed for a hint).
      const state = JSON.parse(readFileSync(ctx.stateFile(), 'utf8')) as { objects: Record<string, { type: string; deletedDateTime?: string; props: { displayName?: string } }> };
      const type = kind === 'blueprint' ? 'agentIdentityBlueprint' : 'agentIdentity';
      return [...new Set(Object.values(state.objects).filter((o) => o.type === type && !o.deletedDateTime).map((o) => o.props.displayName ?? '').filter(Boolean))].sort();
    }
    return [];
  } catch {
    return [];
  }
}
