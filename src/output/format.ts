// Kept free of any output library so that option parsing can validate --output without paying
// for chalk, cli-table3 or yaml on the `--help` path.
import { UsageError } from '../errors.js';

// jsonc and yamlc (issue 12, az's names): json and yaml, coloured when stdout is a terminal.
export const OUTPUT_FORMATS = ['table', 'json', 'jsonc', 'yaml', 'yamlc', 'csv', 'tsv', 'ndjson', 'none'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

// Humans get a table; a pipe gets JSON, the one format that keeps the full object for scripts.
export function resolveFormat(requested: string | undefined, isTTY: boolean): OutputFormat {
  if (requested === undefined || requested === '') return isTTY ? 'table' : 'json';
  const normalized = requested.toLowerCase();
  if ((OUTPUT_FORMATS as readonly string[]).includes(normalized)) return normalized as OutputFormat;
  throw new UsageError(`Unknown output format '${requested}'. Use one of: ${OUTPUT_FORMATS.join(', ')}.`);
}
