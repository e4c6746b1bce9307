import { stringify } from 'yaml';

// Rendering for agentid export / plan (issue #16): the fleet file as YAML or JSON, a plan's
// changes as table rows, and the plan as Markdown for a pull-request comment.

export interface PlanChange {
  action: 'create' | 'update' | 'delete';
  type: string;
  key: string;
  id: string | null;
  properties: { property: string; before: unknown; after: unknown }[];
}

export interface PlanView {
  file: string;
  target: string;
  prune: boolean;
  changes: PlanChange[];
  unchanged: Record<string, number>;
}

const TYPE_NAMES: Record<string, string> = { blueprint: 'blueprint', agent: 'agent identity', agentUser: 'agent user', clientSecret: 'client secret' };

export function fleetText(doc: unknown, format: 'yaml' | 'json'): string {
  if (format === 'json') return `${JSON.stringify(doc, null, 2)}\n`;
  const header = '# agentid desired state: edit, then agentid plan -f agentid.yaml; agentid schema prints the JSON Schema.\n';
  return header + stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false });
}

export function valueText(v: unknown): string {
  if (v === null || v === undefined) return '(none)';
  if (Array.isArray(v)) return v.length ? v.map(String).join(', ') : '(none)';
  return String(v);
}

export function propertyText(p: { property: string; before: unknown; after: unknown }): string {
  if (p.before === null || p.before === undefined) return `${p.property}: ${valueText(p.after)}`;
  return `${p.property}: ${valueText(p.before)} → ${valueText(p.after)}`;
}

export function changeRows(changes: PlanChange[]): Record<string, unknown>[] {
  return changes.map((c) => ({ action: c.action, type: TYPE_NAMES[c.type] ?? c.type, key: c.key, changes: c.properties.map(propertyText).join('; ') }));
}

export const CHANGE_COLUMNS = [
  { key: 'action', header: 'Action' },
  { key: 'type', header: 'Type' },
  { key: 'key', header: 'Object' },
  { key: 'changes', header: 'Changes' },
];

export function summaryLine(v: PlanView): string {
  const n = (a: string) => v.changes.filter((c) => c.action === a).length;
  const same = Object.values(v.unchanged).reduce((a, b) => a + b, 0);
  if (!v.changes.length) return `No changes: the tenant matches ${v.file} (${same} object(s) unchanged).`;
  return `Plan: ${n('create')} to create, ${n('update')} to update, ${n('delete')} to delete; ${same} unchanged.`;
}

const md = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** A pull-request comment: a summary line, then one table per action. */
export function planMarkdown(v: PlanView): string {
  const out: string[] = ['### agentid plan', '', `\`${v.file}\` against \`${v.target}\`${v.prune ? ' (with --prune)' : ''}`, '', `**${summaryLine(v)}**`, ''];
  const u = v.unchanged;
  out.push(`Unchanged: ${u.blueprint ?? 0} blueprint(s), ${u.agent ?? 0} agent identit${(u.agent ?? 0) === 1 ? 'y' : 'ies'}, ${u.agentUser ?? 0} agent user(s).`, '');
  for (const [action, title] of [
    ['create', 'To create'],
    ['update', 'To update'],
    ['delete', 'To delete (soft: restorable for 30 days)'],
  ] as const) {
    const list = v.changes.filter((c) => c.action === action);
    if (!list.length) continue;
    out.push(`#### ${title} (${list.length})`, '');
    if (action === 'update') {
      out.push('| Type | Object | Property | Before | After |', '|---|---|---|---|---|');
      for (const c of list) for (const p of c.properties) out.push(`| ${TYPE_NAMES[c.type] ?? c.type} | ${md(c.key)} | ${md(p.property)} | ${md(valueText(p.before))} | ${md(valueText(p.after))} |`);
    } else {
      out.push('| Type | Object | Details |', '|---|---|---|');
      for (const c of list) out.push(`| ${TYPE_NAMES[c.type] ?? c.type} | ${md(c.key)} | ${md(c.properties.map(propertyText).join('; ') || (c.id ?? ''))} |`);
    }
    out.push('');
  }
  return `${out.join('\n')}\n`;
}
