import { Command } from 'commander';
import type { CliContext } from '../context.js';
import type { GroupEntry } from '../main.js';
import { UsageError } from '../errors.js';
import { helpSections } from './shared.js';

// agentid completion bash|zsh|fish: a completion script generated from the real command tree
// (every group is loaded once, here), so it never drifts from the commands. The scripts are
// static: completing never runs agentid, so a TAB press costs nothing.

export interface Node {
  path: string;
  subcommands: string[];
  options: string[];
  /** Options that take a value: the word after them is not a subcommand. */
  valueOptions: string[];
}

/**
 * Every command path with its subcommands and options. `program` is the root (its options are
 * the global ones); `groups` is main.ts's list, handed in so that this module never imports main.
 */
export async function commandTree(ctx: CliContext, program: Command, groups: readonly GroupEntry[]): Promise<Node[]> {
  // Load every group into a scratch root.
  const root = new Command('agentid');
  for (const o of program.options) root.addOption(o);
  const seen = new Set<string>();
  for (const g of groups) {
    const mod = await g.load();
    const scratch = new Command('agentid');
    mod.register(scratch, ctx, groups);
    for (const c of scratch.commands) {
      if (seen.has(c.name())) continue;
      seen.add(c.name());
      root.addCommand(c);
    }
  }
  const nodes: Node[] = [];
  const walk = (cmd: Command, path: string[]) => {
    const opts = cmd.options.flatMap((o) => [o.long, o.short].filter((x): x is string => !!x));
    const valueOptions = cmd.options.filter((o) => o.required || o.optional).flatMap((o) => [o.long, o.short].filter((x): x is string => !!x));
    nodes.push({ path: path.join(' '), subcommands: cmd.commands.map((c) => c.name()), options: [...opts, '--help'], valueOptions });
    for (const c of cmd.commands) walk(c, [...path, c.name()]);
  };
  walk(root, []);
  return nodes;
}

export function bashScript(nodes: Node[]): string {
  const globalValueOpts = [...new Set(nodes.flatMap((n) => n.valueOptions))].join(' ');
  const cases = nodes.map((n) => `    "${n.path}") words="${[...n.subcommands, ...n.options].join(' ')}" ;;`).join('\n');
  return `# agentid completion for bash: eval "$(agentid completion bash)" in ~/.bashrc
_agentid_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" skip=0 i w
  local valopts=" ${globalValueOpts} "
  for ((i=1; i<COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    if [[ $skip == 1 ]]; then skip=0; continue; fi
    if [[ "$valopts" == *" $w "* ]]; then skip=1; continue; fi
    [[ "$w" == -* ]] && continue
    path="\${path:+$path }$w"
  done
  if [[ $skip == 1 ]]; then COMPREPLY=(); compopt -o default 2>/dev/null; return; fi
  local words=""
  case "$path" in
${cases}
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -o default -F _agentid_complete agentid
`;
}

export function zshScript(nodes: Node[]): string {
  // zsh runs the bash function through bashcompinit, as az and many CLIs do.
  return `#compdef agentid
# agentid completion for zsh: eval "$(agentid completion zsh)" in ~/.zshrc
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashScript(nodes).split('\n').slice(1).join('\n')}`;
}

export function fishScript(nodes: Node[]): string {
  const valopts = [...new Set(nodes.flatMap((n) => n.valueOptions))].join(' ');
  const lines = [
    '# agentid completion for fish: agentid completion fish > ~/.config/fish/completions/agentid.fish',
    'function __agentid_path',
    '    set -l tokens (commandline -opc)',
    '    set -e tokens[1]',
    '    set -l out',
    '    set -l skip 0',
    '    for t in $tokens',
    '        if test $skip -eq 1',
    '            set skip 0',
    '            continue',
    '        end',
    `        if contains -- $t ${valopts}`,
    '            set skip 1',
    '            continue',
    '        end',
    "        string match -q -- '-*' $t; and continue",
    '        set out $out $t',
    '    end',
    '    string join " " -- $out',
    'end',
    'complete -c agentid -f',
  ];
  for (const n of nodes) {
    const cond = `test "(__agentid_path)" = "${n.path}"`;
    if (n.subcommands.length) lines.push(`complete -c agentid -n '${cond}' -a '${n.subcommands.join(' ')}'`);
    for (const o of n.options.filter((x) => x.startsWith('--'))) {
      lines.push(`complete -c agentid -n '${cond}' -l ${o.slice(2)}${n.valueOptions.includes(o) ? ' -r' : ''}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function register(program: Command, ctx: CliContext, groups: readonly GroupEntry[]): void {
  helpSections(
    program
      .command('completion')
      .argument('<shell>', 'bash, zsh or fish')
      .description('Print a shell completion script for bash, zsh or fish')
      .action(async (shell: string) => {
        const make = { bash: bashScript, zsh: zshScript, fish: fishScript }[shell];
        if (!make) throw new UsageError(`completion: '${shell}' is not a supported shell; use bash, zsh or fish.`);
        ctx.io.stdout.write(make(await commandTree(ctx, program, groups)));
      }),
    ['agentid completion bash > ~/.local/share/bash-completion/completions/agentid', 'agentid completion zsh > "${fpath[1]}/_agentid"', 'agentid completion fish > ~/.config/fish/completions/agentid.fish'],
    'none (no Graph call)',
  );
}
