import type { Command } from 'commander';
import { z } from 'zod';
import type { CliContext } from '../context.js';
import { NotFoundError, UsageError } from '../errors.js';
import { confirm, helpSections, parseOptions, yesOption } from './shared.js';

// agentid profile list | use | show | remove. Profiles are created by `agentid login`; the
// built-in `local` profile (the emulated tenant) always exists and cannot be removed.

/** How a profile is shown in a table (login prints the profile it saved the same way). */
export const PROFILE_COLUMNS = [
  { key: 'name', header: 'Profile' },
  { key: 'target', header: 'Target' },
  { key: 'tenantId', header: 'Tenant' },
  { key: 'credential', header: 'Sign-in' },
  { key: 'cloud', header: 'Cloud' },
  { key: 'apiVersion', header: 'API' },
];
const COLUMNS = [{ key: 'current', header: '' }, ...PROFILE_COLUMNS];

const NO_GRAPH = 'none (profiles are local configuration; no Graph call)';

export const NameSchema = z.object({ name: z.string().trim().min(1, 'Name a profile; `agentid profile list` shows them.') });

export function register(program: Command, ctx: CliContext): void {
  const group = helpSections(program.command('profile').description('List, show, choose and remove profiles (the tenants agentid talks to)'), [
    'agentid profile list',
    'agentid profile use contoso',
    'agentid profile remove ci --yes',
  ]);

  helpSections(
    group
      .command('list')
      .description('List profiles; * marks the one commands use')
      .action(async () => {
        await ctx.checkOutputOptions();
        const { readConfig, envProfile } = await import('../config.js');
        const config = readConfig(ctx.home());
        const current = (await ctx.selection()).profile.name;
        const implicit = envProfile(ctx.env);
        const profiles = [...Object.values(config.profiles), ...(implicit && !config.profiles.env ? [implicit] : [])];
        const rows = profiles.map((p) => ({ current: p.name === current ? '*' : '', ...p, tenantId: p.tenantId ?? (p.target === 'emulated' ? 'Contoso (emulated)' : '') }));
        await ctx.print(rows, COLUMNS);
      }),
    ['agentid profile list', 'agentid profile list -o json --query "[?target==\'real\'].name"'],
    NO_GRAPH,
  );

  helpSections(
    group
      .command('show')
      .argument('[name]', 'profile name (default: the current one)')
      .description('Show one profile')
      .action(async (name: string | undefined) => {
        await ctx.checkOutputOptions();
        const { readConfig } = await import('../config.js');
        const config = readConfig(ctx.home());
        const profile = name ? config.profiles[name] : (await ctx.selection()).profile;
        if (!profile) throw new NotFoundError(`No profile '${name}'; profiles: ${Object.keys(config.profiles).join(', ')}.`);
        await ctx.print(profile);
      }),
    ['agentid profile show', 'agentid profile show ci -o json'],
    NO_GRAPH,
  );

  helpSections(
    group
      .command('use')
      .argument('[name]', 'the profile commands should use from now on')
      .description('Make a profile the current one (--profile and AGENTID_PROFILE still override it)')
      .action(async (name: string | undefined) => {
        const { readConfig, writeConfig } = await import('../config.js');
        const config = readConfig(ctx.home());
        const chosen = name ?? (await pick(ctx, Object.keys(config.profiles)));
        parseOptions(NameSchema, { name: chosen });
        if (!config.profiles[chosen]) throw new NotFoundError(`No profile '${chosen}'; profiles: ${Object.keys(config.profiles).join(', ')}.`);
        config.current = chosen;
        await writeConfig(ctx.home(), config);
        (await ctx.messenger()).success(`Commands now use profile '${chosen}'.`);
      }),
    ['agentid profile use contoso', 'agentid profile use local'],
    NO_GRAPH,
  );

  helpSections(
    group
      .command('remove')
      .argument('<name>', 'the profile to remove')
      .description('Remove a profile (asks first on a terminal; --yes off one)')
      .addOption(yesOption())
      .action(async (name: string, raw: { yes?: boolean }) => {
        parseOptions(NameSchema, { name });
        if (name === 'local') throw new UsageError("The 'local' profile is the built-in emulated tenant and cannot be removed.");
        const { readConfig, writeConfig } = await import('../config.js');
        const config = readConfig(ctx.home());
        if (!config.profiles[name]) throw new NotFoundError(`No profile '${name}'; profiles: ${Object.keys(config.profiles).join(', ')}.`);
        await confirm(ctx, raw.yes, `Remove profile '${name}'?`);
        delete config.profiles[name];
        if (config.current === name) delete config.current;
        await writeConfig(ctx.home(), config);
        const { removeCacheFiles, cacheNameFor } = await import('../graph/tokenCache.js');
        const files = await removeCacheFiles(ctx.home(), cacheNameFor(name));
        (await ctx.messenger()).success(`Removed profile '${name}'${files.length ? ' and its cached tokens' : ''}.`);
      }),
    ['agentid profile remove ci --yes'],
    NO_GRAPH,
  );
}

async function pick(ctx: CliContext, names: string[]): Promise<string> {
  const { choose } = await import('../output/prompt.js');
  return choose(ctx.promptContext(false), { message: 'Which profile?', flag: 'a profile name', choices: names.map((n) => ({ name: n, value: n })) });
}
