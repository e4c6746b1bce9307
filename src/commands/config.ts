import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { NotFoundError, UsageError } from '../errors.js';
import { helpSections } from './shared.js';

// agentid config (issue 12, as `az config`): defaults for global options, kept in
// $AGENTID_HOME/config.json beside the profiles. Today one key: output.

async function settingKey(key: string): Promise<'output'> {
  const { SETTING_KEYS } = await import('../config.js');
  if (!(SETTING_KEYS as string[]).includes(key)) throw new UsageError(`Unknown setting '${key}'; agentid config knows: ${SETTING_KEYS.join(', ')}.`);
  return key as 'output';
}

const LOCAL_CONFIG = 'none (config is a local file; no Graph call)';

export function register(program: Command, ctx: CliContext): void {
  const group = helpSections(program.command('config').description('Set, show and unset defaults for options (output format), kept in $AGENTID_HOME/config.json'), [
    'agentid config set output json',
    'agentid config list',
    'agentid config unset output',
  ]);

  helpSections(
    group
      .command('set')
      .description('Set a default: output (the format when -o is not given)')
      .argument('<key>', 'the setting: output')
      .argument('<value>', 'its value, e.g. json, yaml, table, jsonc')
      .action(async (key: string, value: string) => {
        const k = await settingKey(key);
        const { readConfig, writeConfig, SettingsSchema } = await import('../config.js');
        const parsed = SettingsSchema.safeParse({ [k]: value.toLowerCase() });
        if (!parsed.success) throw new UsageError(`'${value}' is not a value for ${k}: ${parsed.error.issues[0]!.message}.`);
        const config = readConfig(ctx.home());
        config.settings = { ...(config.settings ?? {}), ...parsed.data };
        await writeConfig(ctx.home(), config);
        (await ctx.messenger()).success(`Set ${k} to ${parsed.data[k]}.`);
        await ctx.print({ key: k, value: parsed.data[k] });
      }),
    ['agentid config set output json', 'agentid config set output yamlc'],
    LOCAL_CONFIG,
  );

  helpSections(
    group
      .command('get')
      .description('Show one setting (exit 3 when it is not set)')
      .argument('<key>', 'the setting: output')
      .action(async (key: string) => {
        const k = await settingKey(key);
        const { readConfig } = await import('../config.js');
        const value = readConfig(ctx.home()).settings?.[k];
        if (value === undefined) throw new NotFoundError(`${k} is not set; set it with: agentid config set ${k} VALUE.`);
        await ctx.print({ key: k, value });
      }),
    ['agentid config get output', 'agentid config get output --query value'],
    LOCAL_CONFIG,
  );

  helpSections(
    group
      .command('list')
      .description('List the settings that are set')
      .action(async () => {
        const { readConfig } = await import('../config.js');
        const settings = readConfig(ctx.home()).settings ?? {};
        await ctx.print(Object.entries(settings).map(([key, value]) => ({ key, value })), [
          { key: 'key', header: 'Setting' },
          { key: 'value', header: 'Value' },
        ]);
      }),
    ['agentid config list', 'agentid config list -o json'],
    LOCAL_CONFIG,
  );

  helpSections(
    group
      .command('unset')
      .description('Remove a setting (back to the built-in default)')
      .argument('<key>', 'the setting: output')
      .action(async (key: string) => {
        const k = await settingKey(key);
        const { readConfig, writeConfig } = await import('../config.js');
        const config = readConfig(ctx.home());
        const m = await ctx.messenger();
        if (config.settings?.[k] === undefined) {
          m.info(`${k} was not set.`);
          return;
        }
        delete config.settings[k];
        if (Object.keys(config.settings).length === 0) delete config.settings;
        await writeConfig(ctx.home(), config);
        m.success(`Unset ${k}.`);
      }),
    ['agentid config unset output'],
    LOCAL_CONFIG,
  );
}
