// A table that prints as rows arrive (logs on a terminal): the header and the first page at
// once, then each later page under it. Column widths are fixed by the first page, since lines
// already printed cannot be realigned; a later, longer value is cut with an ellipsis. Each page
// is written whole, so an interrupted listing ends on a complete line.
import { once } from 'node:events';
import type { Column } from './index.js';

export interface StreamTableOptions {
  columns: Column[];
  isTTY: boolean;
  color: boolean;
  /** Widest a column may get from the first page (the rest of the line still fits). */
  maxWidth?: number;
}

function cellText(row: unknown, c: Column): string {
  const v = c.get ? c.get(row) : (row as Record<string, unknown>)[c.key];
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return s.replace(/\r\n|[\r\n\t]/g, ' ');
}

export class StreamTable {
  #widths: number[] | undefined;
  #bold: (s: string) => string = (s) => s;
  #rows = 0;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly opts: StreamTableOptions,
  ) {}

  async write(rows: object[]): Promise<void> {
    if (rows.length === 0) return;
    const { columns } = this.opts;
    const cells = rows.map((r) => columns.map((c) => cellText(r, c)));
    let text = '';
    if (!this.#widths) {
      const max = this.opts.maxWidth ?? 40;
      this.#widths = columns.map((c, i) => Math.min(max, Math.max(c.header.length, ...cells.map((r) => r[i]!.length))));
      if (this.opts.color && this.opts.isTTY) {
        const { Chalk } = await import('chalk');
        const chalk = new Chalk({ level: 1 });
        this.#bold = (s) => chalk.bold(s);
      }
      text += this.#line(columns.map((c) => c.header), true);
    }
    for (const r of cells) text += this.#line(r, false);
    this.#rows += rows.length;
    if (!this.out.write(text)) await once(this.out, 'drain');
  }

  async end(): Promise<void> {}

  get rows(): number {
    return this.#rows;
  }

  #line(values: string[], header: boolean): string {
    const widths = this.#widths!;
    const parts = values.map((v, i) => {
      const w = widths[i]!;
      const fitted = v.length > w ? `${v.slice(0, Math.max(0, w - 1))}…` : v;
      const padded = i === values.length - 1 ? fitted : fitted.padEnd(w);
      return header ? this.#bold(padded) : padded;
    });
    return parts.join('  ').trimEnd() + '\n';
  }
}
