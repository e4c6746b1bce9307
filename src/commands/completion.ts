import { Command, type Option } from 'commander';
import type { CliContext } from '../context.js';
import type { GroupEntry } from '../main.js';
import { UsageError } from '../errors.js';
import { OUTPUT_FORMATS } from '../output/format.js';
import { helpSections } from './shared.js';

// agentid completion bash|zsh|fish: a completion script generated from the real command tree
// (every group is loaded once, here), so it never drifts from the commands. Subcommands, flags
// (after positional arguments too, and the global ones after any subcommand) and fixed values
// (-o, --cloud, --status …) are in the script itself. Profile, blueprint and agent names come
// from `agentid completion names KIND`, which reads local files only: config.json, and a name
// cache (src/commands/nameCache.ts) kept fresh by list commands; never a network call per TAB.

/** A value kind completed from local files. */
export type NameKind = 'profile' | 'blueprint' | 'agent';

export interface Node {
  path: string;
  subcommands: string[];
  options: string[];
  /** Options that take a value: the word after them is not a subcommand. */
  valueOptions: string[];
  /** Values of an option: fixed words, or a name kind. */
  values: Record<string, string[] | NameKind>;
  /** What the first positional argument names, if completable. */
  positional?: NameKind | undefined;
}

const OPTION_NAMES: Record<string, NameKind> = { '--profile': 'profile', '--blueprint': 'blueprint', '--agent': 'agent' };
// -o's values are the formats -o accepts (jsonc and yamlc included), from the one list.
const FIXED: Record<string, string[]> = { '--output': [...OUTPUT_FORMATS], '-o': [...OUTPUT_FORMATS], '--status': ['success', 'failure'] };
const ARGUMENT_NAMES: Record<string, NameKind> = { blueprint: 'blueprint', agent: 'agent', name: 'profile' };

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
  const flags = (o: Option) => [o.long, o.short].filter((x): x is string => !!x);
  const walk = (cmd: Command, path: string[]) => {
    const shown = cmd.options.filter((o) => !o.hidden);
    const values: Node['values'] = {};
    for (const o of cmd.options.filter((x) => x.required || x.optional)) {
      for (const f of flags(o)) {
        const v = o.argChoices ?? FIXED[f] ?? OPTION_NAMES[o.long ?? ''];
        if (v) values[f] = v;
      }
    }
    const arg = cmd.registeredArguments[0]?.name();
    nodes.push({
      path: path.join(' '),
      subcommands: cmd.commands.map((c) => c.name()),
      options: [...shown.flatMap(flags), '--help'],
      valueOptions: cmd.options.filter((o) => o.required || o.optional).flatMap(flags),
      values,
      positional: arg ? ARGUMENT_NAMES[arg] : undefined,
    });
    for (const c of cmd.commands) walk(c, [...path, c.name()]);
  };
  walk(root, []);
  return nodes;
}

const words = (xs: string[]) => xs.join(' ');

export function bashScript(nodes: Node[]): string {
  const root = nodes.find((n) => n.path === '')!;
  const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const subs = nodes.filter((n) => n.subcommands.length).map((n) => `    ${sq(n.path)}) echo ${sq(words(n.subcommands))} ;;`).join('\n');
  const opts = nodes.map((n) => `    ${sq(n.path)}) echo ${sq(words([...n.options, ...(n.path ? root.options.filter((o) => !n.options.includes(o)) : [])]))} ;;`).join('\n');
  const valopts = nodes.map((n) => `    ${sq(n.path)}) echo ${sq(` ${words([...new Set([...n.valueOptions, ...root.valueOptions])])} `)} ;;`).join('\n');
  const values = nodes
    .flatMap((n) => Object.entries({ ...root.values, ...n.values }).map(([o, v]) => `    ${sq(`${n.path}|${o}`)}) ${Array.isArray(v) ? `echo ${sq(words(v))}` : `echo @${v}`} ;;`))
    .join('\n');
  const positional = nodes.filter((n) => n.positional).map((n) => `    ${sq(n.path)}) echo @${n.positional} ;;`).join('\n');
  return `# agentid completion for bash: eval "$(agentid completion bash)" in ~/.bashrc
_agentid_subs() { case "$1" in
${subs}
  esac; }
_agentid_opts() { case "$1" in
${opts}
  esac; }
_agentid_valopts() { case "$1" in
${valopts}
  esac; }
_agentid_values() { case "$1|$2" in
${values}
  esac; }
_agentid_positional() { case "$1" in
${positional}
  esac; }
# Words to offer: fixed ones, or "@kind": names read from local files by agentid itself.
_agentid_offer() {
  local cur="$2" IFS=$'\n' w
  if [[ "$1" == @* ]]; then
    local names
    names="$(\${COMP_WORDS[0]} completion names "\${1#@}" 2>/dev/null)"
    COMPREPLY=()
    while IFS= read -r w; do
      [[ -n "$w" && "$w" == "$cur"* ]] && COMPREPLY+=("$(printf '%q' "$w")")
    done <<< "$names"
  else
    IFS=' ' COMPREPLY=( $(compgen -W "$1" -- "$cur") )
  fi
}
_agentid_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" node="" skip=0 i w
  for ((i=1; i<COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    if [[ $skip == 1 ]]; then skip=0; continue; fi
    if [[ "$(_agentid_valopts "$node")" == *" $w "* ]]; then skip=1; continue; fi
    [[ "$w" == -* ]] && continue
    # Only a subcommand moves down the tree; anything else is a positional argument.
    if [[ " $(_agentid_subs "$node") " == *" $w "* ]]; then node="\${node:+$node }$w"; fi
  done
  if [[ $skip == 1 ]]; then
    local v; v="$(_agentid_values "$node" "\${COMP_WORDS[COMP_CWORD-1]}")"
    if [[ -n "$v" ]]; then _agentid_offer "$v" "$cur"; else COMPREPLY=(); compopt -o default 2>/dev/null; fi
    return
  fi
  if [[ "$cur" == -* ]]; then _agentid_offer "$(_agentid_opts "$node")" "$cur"; return; fi
  local s; s="$(_agentid_subs "$node")"
  if [[ -n "$s" ]]; then _agentid_offer "$s" "$cur"; return; fi
  local p; p="$(_agentid_positional "$node")"
  if [[ -n "$p" ]]; then _agentid_offer "$p" "$cur"; return; fi
  _agentid_offer "$(_agentid_opts "$node")" "$cur"
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
    // fish does not substitute (…) inside double quotes (before 3.4 not at all), so the path is
    // compared in a function rather than in `test "(…)"`, which would always be false.
    'function __agentid_at',
    '    set -l p (__agentid_path)',
    '    test "$p" = "$argv[1]"',
    'end',
    // A command's flags also after its positional arguments (`blueprint delete "Sales Agent" --`).
    'function __agentid_in',
    '    set -l p (__agentid_path)',
    '    test "$p" = "$argv[1]"; or string match -q -- "$argv[1] *" "$p"',
    'end',
    'complete -c agentid -f',
  ];
  // Command paths are plain words, so a double-quoted path inside a single-quoted condition is safe.
  const values = (v: string[] | NameKind | undefined) => (v === undefined ? '' : Array.isArray(v) ? ` -x -a '${v.join(' ')}'` : ` -x -a '(agentid completion names ${v})'`);
  for (const n of nodes) {
    const at = ` -n '__agentid_at "${n.path}"'`;
    // The root's options are the global ones: offered after any subcommand too; a leaf's, after
    // its arguments.
    const cond = n.path === '' ? '' : n.subcommands.length ? at : ` -n '__agentid_in "${n.path}"'`;
    if (n.subcommands.length) lines.push(`complete -c agentid${at} -a '${n.subcommands.join(' ')}'`);
    if (n.positional) lines.push(`complete -c agentid${at} -a '(agentid completion names ${n.positional})'`);
    for (const o of n.options) {
      const flag = o.startsWith('--') ? `-l ${o.slice(2)}` : `-s ${o.slice(1)}`;
      lines.push(`complete -c agentid${cond} ${flag}${n.valueOptions.includes(o) ? ' -r' : ''}${values(n.values[o])}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function register(program: Command, ctx: CliContext, groups: readonly GroupEntry[]): void {
  helpSections(
    program
      .command('completion')
      .argument('<shell>', 'bash, zsh or fish')
      .argument('[kind]')
      .description('Print a shell completion script for bash, zsh or fish')
      .action(async (shell: string, kind: string | undefined) => {
        if (shell === 'names') {
          // Called by the scripts on TAB: local files only, one name per line.
          const { completionNames } = await import('./nameCache.js');
          const names = await completionNames(ctx, kind as NameKind);
          if (names.length) ctx.io.stdout.write(`${names.join('\n')}\n`);
          return;
        }
        const make = { bash: bashScript, zsh: zshScript, fish: fishScript }[shell];
        if (!make) throw new UsageError(`completion: '${shell}' is not a supported shell; use bash, zsh or fish.`);
        ctx.io.stdout.write(make(await commandTree(ctx, program, groups)));
      }),
    [
      // Each works on a fresh account: bash-completion reads ~/.bash_completion, zsh gets the line its
      // script's header asks for, and fish's folder may not exist yet.
      'agentid completion bash >> ~/.bash_completion',
      `echo 'eval "$(agentid completion zsh)"' >> ~/.zshrc`,
      'mkdir -p ~/.config/fish/completions && agentid completion fish > ~/.config/fish/completions/agentid.fish',
    ],
    'none (no Graph call)',
  );
}
