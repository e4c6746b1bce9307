// Rendering of command results to stdout. chalk, cli-table3, yaml and jmespath are loaded with
// `await import()` only by the code paths that need them: `agentid --help` and the JSON/CSV
// paths must not pay their load time, so this file has no static import of any of them.
import { once } from 'node:events';
import { UsageError } from '../errors.js';
import type { OutputFormat } from './format.js';

export { OUTPUT_FORMATS, resolveFormat, type OutputFormat } from './format.js';

export interface Column {
  key: string;
  header: string;
  // Rows are whatever shape the command fetched; `any` lets each command type its own accessor.
  get?: (row: any) => unknown;
}

export interface RenderOptions {
  format: OutputFormat;
  query?: string;
  columns?: Column[];
  isTTY: boolean;
  color: boolean;
  /** The terminal's width in columns: a property sheet wraps long values to fit it. */
  width?: number | undefined;
}

// Header used when the data (usually a --query result) is a scalar or a list of scalars; az uses
// the same name, so scripts moving from az keep working.
const RESULT_HEADER = 'Result';
const TTY_NESTED_MAX = 60;

export async function render(data: unknown, opts: RenderOptions): Promise<string> {
  let value = data;
  let columns = opts.columns;
  if (opts.query !== undefined) {
    value = await applyQuery(data, opts.query);
    // The command's columns describe its own objects, not whatever shape the query produced.
    columns = undefined;
  }
  switch (opts.format) {
    case 'none':
      return '';
    case 'json':
      return JSON.stringify(value ?? null, null, 2) + '\n';
    case 'jsonc':
      return colourize(JSON.stringify(value ?? null, null, 2) + '\n', 'json', opts);
    case 'yamlc':
      return colourize(await renderYaml(value), 'yaml', opts);
    case 'ndjson':
      return (Array.isArray(value) ? value : [value]).map((v) => JSON.stringify(v ?? null) + '\n').join('');
    case 'yaml':
      return renderYaml(value);
    case 'csv': {
      const grid = toGrid(value, columns, false);
      return csvHeader(grid.columns) + grid.rows.map((r) => csvLine(r, grid.columns)).join('');
    }
    case 'tsv': {
      const grid = toGrid(value, columns, false, true);
      return grid.rows.map((r) => tsvLine(r, grid.columns)).join('');
    }
    case 'table':
      return renderTable(value, columns, opts);
  }
}

// JMESPath evaluates plain JSON; the round trip turns Dates into ISO strings and drops undefined
// the same way `-o json` would, so a query sees exactly what `-o json` prints.
export async function applyQuery(data: unknown, query: string): Promise<unknown> {
  const { search } = await checkQuery(query);
  const json = data === undefined ? null : (JSON.parse(JSON.stringify(data)) as Parameters<typeof search>[0]);
  try {
    return search(json, query);
  } catch (err) {
    // A well-formed expression can still fail on the data, e.g. length() applied to a number.
    throw new UsageError(`--query failed: ${messageOf(err)}`);
  }
}

async function checkQuery(query: string): Promise<typeof import('@jmespath-community/jmespath')> {
  const jmespath = await import('@jmespath-community/jmespath');
  try {
    jmespath.compile(query);
  } catch (err) {
    throw new UsageError(`Invalid --query expression: ${messageOf(err)}`);
  }
  return jmespath;
}

/**
 * Streams list output that arrives page by page. Formats that can be written row by row (json,
 * ndjson, csv, tsv) are; the rest buffer until end(). The streamed text is byte-for-byte what
 * render() would return for the concatenated rows, except that csv/tsv columns are fixed by the
 * first page (a header cannot be rewritten once sent).
 */
export class RowWriter {
  readonly #out: NodeJS.WritableStream;
  readonly #opts: RenderOptions;
  readonly #buffered: object[] = [];
  #count = 0;
  #columns: Column[] | undefined;
  #ended = false;

  constructor(out: NodeJS.WritableStream, opts: RenderOptions) {
    this.#out = out;
    this.#opts = opts;
  }

  // A --query needs the whole array (sorting, slicing, [0]), so it turns streaming off.
  get #streaming(): boolean {
    const { format, query } = this.#opts;
    return query === undefined && (format === 'json' || format === 'ndjson' || format === 'csv' || format === 'tsv');
  }

  async write(rows: object[]): Promise<void> {
    if (this.#ended) throw new Error('RowWriter.write() called after end()');
    if (rows.length === 0) return;
    if (!this.#streaming) {
      // 'none' prints nothing, so holding a large listing in memory for it would be waste.
      if (this.#opts.format !== 'none') this.#buffered.push(...rows);
      return;
    }
    // Rows go out in ~64 KB chunks, each waiting for the pipe: a whole page as one string
    // (a 1,000-row sign-in page is ~4 MB) made several page-sized copies per page and kept a
    // 200,000-row export's memory far above what one row at a time needs.
    let text = '';
    const emit = async (piece: string) => {
      text += piece;
      if (text.length >= 65_536) {
        await writeTo(this.#out, text);
        text = '';
      }
    };
    switch (this.#opts.format) {
      case 'json':
        for (const row of rows) {
          await emit((this.#count === 0 ? '[\n' : ',\n') + indent(JSON.stringify(row, null, 2)));
          this.#count++;
        }
        break;
      case 'ndjson':
        for (const row of rows) await emit(JSON.stringify(row) + '\n');
        break;
      case 'csv':
      case 'tsv': {
        const first = this.#columns === undefined;
        const columns = (this.#columns ??= toGrid(rows, this.#opts.columns, false, this.#opts.format === 'tsv').columns);
        if (this.#opts.format === 'csv' && first) await emit(csvHeader(columns));
        for (const r of rows) await emit(this.#opts.format === 'csv' ? csvLine(r, columns) : tsvLine(r, columns));
        break;
      }
    }
    await writeTo(this.#out, text);
  }

  async end(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    if (!this.#streaming) {
      await writeTo(this.#out, await render(this.#buffered, this.#opts));
      return;
    }
    switch (this.#opts.format) {
      case 'json':
        await writeTo(this.#out, this.#count === 0 ? '[]\n' : '\n]\n');
        break;
      case 'csv':
        // Explicit columns give a header even for an empty list, as render() does.
        if (this.#columns === undefined) await writeTo(this.#out, csvHeader(this.#opts.columns ?? []));
        break;
    }
  }
}

export async function createRowWriter(out: NodeJS.WritableStream, opts: RenderOptions): Promise<RowWriter> {
  // Fail on a malformed expression before the first page is fetched, not after the last.
  if (opts.query !== undefined) await checkQuery(opts.query);
  return new RowWriter(out, opts);
}

// ---------------------------------------------------------------------------------------------
// Tabular shape shared by table, csv and tsv.

interface Grid {
  columns: Column[];
  rows: unknown[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function isNested(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !(v instanceof Date);
}

const resultColumn: Column = { key: RESULT_HEADER, header: RESULT_HEADER, get: (v: unknown) => v };

// Lists of objects become one row per object; az-style `[].[a, b]` projections become positional
// columns; scalars (and lists of them) become a single Result column; null prints nothing.
function toGrid(value: unknown, columns: Column[] | undefined, scalarKeysOnly: boolean, flatten = false): Grid {
  if (value === null || value === undefined) return { columns: [], rows: [] };
  if (!Array.isArray(value)) {
    if (isRecord(value)) return { columns: columns ?? deriveColumns([value], false, flatten), rows: [value] };
    return { columns: [resultColumn], rows: [value] };
  }
  if (value.length === 0) return { columns: columns ?? [], rows: [] };
  if (value.every(isRecord)) return { columns: columns ?? deriveColumns(value, scalarKeysOnly, flatten), rows: value };
  if (value.every(Array.isArray)) {
    const width = Math.max(...value.map((r: unknown[]) => r.length));
    const positional = Array.from({ length: width }, (_, i): Column => {
      const header = `Column${i + 1}`;
      return { key: header, header, get: (r: unknown[]) => r[i] };
    });
    return { columns: positional, rows: value };
  }
  return { columns: [resultColumn], rows: value };
}

// Derived keys are looked up literally: Graph keys such as `@odata.type` contain dots.
function deriveColumns(rows: Record<string, unknown>[], scalarKeysOnly: boolean, flatten = false): Column[] {
  const keys: string[] = [];
  const seen = new Set<string>();
  const scalar = new Set<string>();
  for (const row of rows) {
    // Tables leave out @odata.* annotations; tsv spreads nested records over dotted columns.
    const entries = flatten ? Object.entries(flattenRecord(row, false)) : Object.entries(row).filter(([k]) => !(scalarKeysOnly && isAnnotation(k)));
    for (const [key, v] of entries) {
      if (!seen.has(key)) {
        seen.add(key);
        keys.push(key);
      }
      if (!isNested(v)) scalar.add(key);
    }
  }
  // A table of only nested values would be empty; show them JSON-encoded instead.
  const chosen = scalarKeysOnly && scalar.size > 0 ? keys.filter((k) => scalar.has(k)) : keys;
  // Flattened keys are dotted paths, which cellOf() follows when the row has no such literal key.
  return chosen.map((key) => (flatten ? { key, header: key } : { key, header: key, get: (r: Record<string, unknown>) => r[key] }));
}

// A caller's key is taken literally when the row has it, else as a dotted path ("owner.id").
function cellOf(row: unknown, column: Column): unknown {
  if (column.get) return column.get(row);
  if (!isRecord(row)) return undefined;
  if (Object.hasOwn(row, column.key)) return row[column.key];
  let cur: unknown = row;
  for (const part of column.key.split('.')) {
    if (!isRecord(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

function textOf(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function csvField(v: unknown): string {
  const s = textOf(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// Issue 12: a CSV's header names the JSON fields (what --query and -o json call them), not the
// table's display headers, so one name serves every format.
function csvHeader(columns: Column[]): string {
  return columns.length === 0 ? '' : columns.map((c) => csvField(c.key)).join(',') + '\n';
}

function csvLine(row: unknown, columns: Column[]): string {
  return columns.map((c) => csvField(cellOf(row, c))).join(',') + '\n';
}

// `cut -f` and `read` split on tabs and newlines, so neither may survive inside a value.
function tsvLine(row: unknown, columns: Column[]): string {
  return columns.map((c) => readableText(cellOf(row, c), ',').replace(/\r\n|[\t\r\n]/g, ' ')).join('\t') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Issue 12: nested values as people (and `cut`) read them, not as JSON. A nested object becomes
// dotted keys (principal.accountEnabled); a list becomes its items joined, an object in a list
// its name; `@odata.*` annotations are dropped from tables.

const isAnnotation = (k: string) => k.startsWith('@odata.');
const isEmpty = (v: unknown) => v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0) || (isRecord(v) && Object.keys(v).length === 0);

/** Dotted keys of a record's nested records, in order; lists and empty records stay as values. */
export function flattenRecord(obj: Record<string, unknown>, dropAnnotations: boolean, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(obj)) {
    if (dropAnnotations && isAnnotation(k)) continue;
    const key = prefix ? `${prefix}.${k}` : k;
    if (isRecord(v) && Object.keys(v).length) flattenRecord(v, dropAnnotations, key, out);
    else out[key] = v;
  }
  return out;
}

function itemLabel(v: unknown): string {
  if (!isRecord(v)) return textOf(v);
  for (const k of ['displayName', 'userPrincipalName', 'name', 'id']) if (typeof v[k] === 'string') return v[k] as string;
  return Object.entries(flattenRecord(v, true)).map(([k, x]) => `${k}=${textOf(x)}`).join(' ');
}

function readableText(v: unknown, separator: string): string {
  if (Array.isArray(v)) return v.map(itemLabel).join(separator);
  if (isRecord(v)) return itemLabel(v);
  return textOf(v);
}

// Prefixing every line is safe: JSON.stringify escapes newlines inside strings.
function indent(text: string): string {
  return text.replace(/^/gm, '  ');
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function writeTo(out: NodeJS.WritableStream, text: string): Promise<void> {
  if (text === '') return;
  // Honour backpressure so a slow pipe does not make us buffer every page in memory.
  if (!out.write(text)) await once(out, 'drain');
}

// ---------------------------------------------------------------------------------------------
// jsonc / yamlc: keys, strings and literals in colour on a terminal; piped, the plain text.

async function colourize(text: string, kind: 'json' | 'yaml', opts: RenderOptions): Promise<string> {
  if (!opts.color || !opts.isTTY) return text;
  const { Chalk } = await import('chalk');
  const chalk = new Chalk({ level: 1 });
  if (kind === 'json') {
    // JSON.stringify's output: a string followed by a colon is a key.
    return text.replace(/("(?:[^"\\]|\\.)*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g, (m, str: string | undefined, colon: string | undefined, lit: string | undefined, num: string | undefined) => {
      if (str !== undefined) return colon ? chalk.cyan(str) + colon : chalk.green(str);
      if (lit !== undefined) return chalk.yellow(lit);
      if (num !== undefined) return chalk.yellow(num);
      return m;
    });
  }
  return text
    .split('\n')
    .map((line) => line.replace(/^(\s*(?:- )*)([^\s:#-][^:]*?)(:)(\s|$)/, (_m, lead: string, key: string, colon: string, rest: string) => `${lead}${chalk.cyan(key)}${colon}${rest}`))
    .join('\n');
}

// ---------------------------------------------------------------------------------------------
// yaml and table: the only formats that need a library.

async function renderYaml(value: unknown): Promise<string> {
  const { stringify } = await import('yaml');
  // Anchors/aliases for repeated objects and folded long lines are valid YAML but surprise
  // people reading or grepping the output.
  return stringify(value ?? null, { aliasDuplicateObjects: false, lineWidth: 0 });
}

// Piped tables follow `gh`: no borders, columns separated by two spaces, header line then rows.
const PLAIN_CHARS = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '',
  middle: '  ',
};
// On a terminal: a box, but without a rule between every row (it doubles the height of a list).
const NO_ROW_RULES = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };

async function renderTable(value: unknown, columns: Column[] | undefined, opts: RenderOptions): Promise<string> {
  const cell = (v: unknown): string => {
    if (opts.isTTY) {
      const s = textOf(v);
      return isNested(v) && s.length > TTY_NESTED_MAX ? s.slice(0, TTY_NESTED_MAX - 1) + '…' : s;
    }
    // One record per line when piped, so `grep` and `wc -l` see whole rows.
    return textOf(v).replace(/\r\n|[\r\n]/g, ' ');
  };

  // A property sheet has room for a whole list: its items joined, not its JSON.
  const sheetCell = (v: unknown): string => {
    const s = readableText(v, ', ');
    return opts.isTTY ? s : s.replace(/\r\n|[\r\n]/g, ' ');
  };
  let head: string[];
  let body: string[][];
  let colWidths: number[] | undefined;
  if (isRecord(value)) {
    // A single object reads better as a vertical property sheet than as one very wide row.
    head = ['Property', 'Value'];
    body = columns
      ? columns.map((c) => [c.header, sheetCell(cellOf(value, c))])
      : Object.entries(flattenRecord(value, true))
          // A nested object's empty properties (principal.logoutUrl: null) are noise in a sheet; -o json has them.
          .filter(([k, v]) => !(k.includes('.') && !Object.hasOwn(value, k) && isEmpty(v)))
          .map(([k, v]) => [k, sheetCell(v)]);
    // On a terminal a long value (a token's permissions) wraps at the terminal's edge instead of
    // making every line of the sheet as wide as it is.
    if (opts.isTTY && opts.width) {
      const keyWidth = Math.max(...[...body, head].map(([k]) => (k ?? '').length)) + 2;
      const valueWidth = opts.width - keyWidth - 3;
      const widest = Math.max(...body.map(([, v]) => Math.max(...(v ?? '').split('\n').map((l) => l.length)))) + 2;
      if (valueWidth >= 20 && widest > valueWidth) colWidths = [keyWidth, valueWidth];
    }
  } else {
    const grid = toGrid(value, columns, true);
    if (grid.rows.length === 0 || grid.columns.length === 0) return '';
    head = grid.columns.map((c) => c.header);
    body = grid.rows.map((r) => grid.columns.map((c) => cell(cellOf(r, c))));
  }
  if (body.length === 0) return '';

  // A piped table is read by grep/awk/cut, where escape codes corrupt column widths and matches,
  // so colour needs a terminal on stdout even if the caller's colour setting says yes.
  if (opts.color && opts.isTTY) {
    const { Chalk } = await import('chalk');
    // The caller owns the colour decision (--no-color, NO_COLOR); chalk's own detection would
    // second-guess it from environment variables.
    const chalk = new Chalk({ level: 1 });
    head = head.map((h) => chalk.bold(h));
    if (isRecord(value)) body = body.map(([k, v]) => [chalk.bold(k ?? ''), v ?? '']);
  }

  const { default: Table } = await import('cli-table3');
  // cli-table3 colours headers and borders itself (via @colors/colors) unless told not to.
  const style = { head: [] as string[], border: [] as string[] };
  if (!opts.isTTY) {
    const table = new Table({ head, chars: PLAIN_CHARS, style: { ...style, 'padding-left': 0, 'padding-right': 0 } });
    table.push(...body);
    return table.toString().split('\n').map((line) => line.trimEnd()).join('\n') + '\n';
  }
  const table = new Table({ head, chars: NO_ROW_RULES, style, ...(colWidths ? { colWidths, wordWrap: true } : {}) });
  table.push(...body);
  // With the row rules gone cli-table3 also drops the rule under the header; put that one back,
  // drawn from the top border so the junctions line up.
  const lines = table.toString().split('\n');
  const top = lines[0] ?? '';
  const rule = top.replace('┌', '├').replace(/┬/g, '┼').replace('┐', '┤');
  lines.splice(2, 0, rule);
  return lines.join('\n') + '\n';
}
