// Reading the tabular files bulk commands take (agents-file, bulk create's agents.csv|yaml).
// It lives beside the writers because yaml may be loaded only from src/output/.
import { UsageError } from '../errors.js';

/** RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF. Rows of strings, header included. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      field = '';
      if (row.some((f) => f.trim() !== '')) rows.push(row);
      row = [];
    } else field += c;
  }
  row.push(field);
  if (row.some((f) => f.trim() !== '')) rows.push(row);
  return rows;
}

/** CSV rows as objects keyed by the lower-cased header. */
export function csvRecords(text: string, file: string): Record<string, string>[] {
  const rows = parseCsv(text.replace(/^\uFEFF/, ''));
  if (!rows.length) return [];
  const header = rows[0]!.map((h) => h.trim().toLowerCase());
  return rows.slice(1).map((r, i) => {
    if (r.length > header.length) throw new UsageError(`${file} line ${i + 2} has ${r.length} fields but the header has ${header.length}; quote values that contain commas.`);
    return Object.fromEntries(header.map((h, j) => [h, (r[j] ?? '').trim()]));
  });
}

export async function parseYamlText(text: string, file: string): Promise<unknown> {
  const { parse } = await import('yaml');
  try {
    return parse(text);
  } catch (err) {
    throw new UsageError(`${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}
