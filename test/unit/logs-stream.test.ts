import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { streamLog } from '../../src/graph/logs.js';
import type { GraphClient, Page, RequestOptions } from '../../src/graph/client.js';
import { StreamTable } from '../../src/output/streamTable.js';

// Page streaming over a stub client (strict: it records every request and fails on an
// unexpected one), and the terminal table that prints as pages arrive.

function stubClient(pages: Record<string, unknown>[][]) {
  const calls: { path: string; opts: RequestOptions & { maxPages?: number } }[] = [];
  let served = 0;
  const client = {
    async *pages<T>(path: string, opts: RequestOptions & { maxPages?: number } = {}): AsyncGenerator<Page<T>> {
      calls.push({ path, opts });
      for (let i = 0; i < pages.length; i++) {
        served++;
        yield { value: pages[i] as T[], ...(i < pages.length - 1 ? { nextLink: `https://graph.microsoft.com/beta${path}?$skiptoken=${i + 1}` } : {}) };
      }
    },
  } as unknown as GraphClient;
  return { client, calls, served: () => served };
}

const rows = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ id: `r${from + i}`, result: (from + i) % 2 ? 'failure' : 'success' }));

describe('streamLog', () => {
  test('asks beta with the Prefer header and the $filter, one request per page', async () => {
    const { client, calls } = stubClient([rows(3)]);
    const out = [];
    for await (const p of streamLog(client, '/auditLogs/signIns', { filter: "appId eq 'a'" })) out.push(p);
    expect(calls).toEqual([{ path: '/auditLogs/signIns', opts: { query: { $filter: "appId eq 'a'" }, version: 'beta', headers: { Prefer: 'include-unknown-enum-members' } } }]);
    expect(out).toEqual([{ rows: rows(3), truncated: false }]);
  });

  test('without --all or --top: the first page only, marked truncated when Graph has more', async () => {
    const { client, served } = stubClient([rows(2), rows(2, 2)]);
    const out = [];
    for await (const p of streamLog(client, '/auditLogs/signIns', {})) out.push(p);
    expect(out).toEqual([{ rows: rows(2), truncated: true }]);
    expect(served()).toBe(1);
  });

  test('--all follows every page to the end', async () => {
    const { client } = stubClient([rows(2), rows(2, 2), rows(1, 4)]);
    const ids: string[] = [];
    for await (const p of streamLog(client, '/auditLogs/signIns', { all: true })) ids.push(...p.rows.map((r) => r.id as string));
    expect(ids).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
  });

  test('--top N sends $top and stops after N rows, across pages', async () => {
    const { client, calls, served } = stubClient([rows(2), rows(2, 2), rows(2, 4)]);
    const ids: string[] = [];
    let last = false;
    for await (const p of streamLog(client, '/auditLogs/signIns', { top: 3 })) {
      ids.push(...p.rows.map((r) => r.id as string));
      last = p.truncated;
    }
    expect(calls[0]!.opts.query).toEqual({ $filter: undefined, $top: 3 });
    expect(ids).toEqual(['r0', 'r1', 'r2']);
    expect(last).toBe(true);
    expect(served()).toBe(2);
  });

  test('a local filter (audit category/result) keeps reading full pages until --top rows pass it', async () => {
    const { client, calls } = stubClient([rows(4), rows(4, 4)]);
    const ids: string[] = [];
    for await (const p of streamLog(client, '/auditLogs/directoryAudits', { top: 3, keep: (r) => r.result === 'failure' })) ids.push(...p.rows.map((r) => r.id as string));
    expect(calls[0]!.opts.query).toEqual({ $filter: undefined });
    expect(ids).toEqual(['r1', 'r3', 'r5']);
  });

  test('an aborted signal stops before the next page', async () => {
    const { client, served } = stubClient([rows(1), rows(1, 1), rows(1, 2)]);
    const controller = new AbortController();
    for await (const p of streamLog(client, '/auditLogs/signIns', { all: true, signal: controller.signal })) {
      expect(p.rows).toHaveLength(1);
      controller.abort();
    }
    expect(served()).toBe(1);
  });
});

describe('StreamTable', () => {
  test('prints the header with the first page, fixes widths by it, and cuts longer later values', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => (text += d));
    const t = new StreamTable(out, { columns: [{ key: 'time', header: 'Time' }, { key: 'agent', header: 'Agent' }, { key: 'ip', header: 'IP' }], isTTY: false, color: false });
    await t.write([{ time: '10:00', agent: 'Sales', ip: '1.1.1.1' }]);
    expect(text).toBe('Time   Agent  IP\n10:00  Sales  1.1.1.1\n');
    await t.write([{ time: '10:01', agent: 'Sales EMEA', ip: '2.2.2.2' }]);
    expect(text.split('\n')[2]).toBe('10:01  Sale…  2.2.2.2');
    await t.end();
    expect(t.rows).toBe(2);
  });
});
