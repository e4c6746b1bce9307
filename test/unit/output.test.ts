import { once } from 'node:events';
import { Writable } from 'node:stream';
import { describe, expect, test, vi } from 'vitest';

// Records which output libraries actually get loaded, while still handing back the real module,
// so the lazy-loading promise made to `agentid --help` is checked rather than assumed.
const loaded = vi.hoisted(() => new Set<string>());
vi.mock('chalk', async (importOriginal) => {
  loaded.add('chalk');
  return importOriginal();
});
vi.mock('cli-table3', async (importOriginal) => {
  loaded.add('cli-table3');
  return importOriginal();
});
vi.mock('yaml', async (importOriginal) => {
  loaded.add('yaml');
  return importOriginal();
});
vi.mock('@jmespath-community/jmespath', async (importOriginal) => {
  loaded.add('jmespath');
  return importOriginal();
});

import { UsageError } from '../../src/errors.js';
import { resolveFormat } from '../../src/output/format.js';
import { applyQuery, createRowWriter, render, type Column, type RenderOptions } from '../../src/output/index.js';
import { createMessenger } from '../../src/output/messages.js';

const agents = [
  {
    id: '6f1c2a9e-0b7d-4c1e-9a51-2d0f3e8b7c41',
    displayName: 'Invoice Bot',
    accountEnabled: true,
    createdDateTime: '2025-05-01T10:00:00Z',
    tags: ['finance', 'ap'],
  },
  {
    id: 'b83e5d10-7f2a-4a6b-8c3d-91e4f0a2b5d6',
    displayName: 'HR Helper',
    accountEnabled: false,
    createdDateTime: '2025-06-02T08:30:00Z',
    tags: [],
  },
];
const [invoiceBot] = agents;

const piped = (format: RenderOptions['format'], extra: Partial<RenderOptions> = {}): RenderOptions => ({
  format,
  isTTY: false,
  color: false,
  ...extra,
});
const terminal = (format: RenderOptions['format'], extra: Partial<RenderOptions> = {}): RenderOptions => ({
  format,
  isTTY: true,
  color: false,
  ...extra,
});

const ANSI = /\u001b\[/;
const BOX = /[\u2500-\u257f]/;
const stripAnsi = (s: string): string => s.replace(/\u001b\[[0-9;]*m/g, '');

// A slow sink completes each write on a later tick, so write() reports backpressure as soon as
// its (tiny) buffer is full; a fast one records synchronously, so text() is complete at once.
function sink(slow = false): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    highWaterMark: slow ? 1 : 16384,
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      if (slow) setImmediate(cb);
      else cb();
    },
  });
  return { stream, text: () => text };
}

// Declared first: vitest runs tests in order, and later tests load the libraries on purpose.
describe('lazy loading', () => {
  test('importing the output modules loads none of the output libraries', () => {
    expect([...loaded]).toEqual([]);
  });

  test('json, ndjson, csv and tsv rendering and plain messages load none of them', async () => {
    for (const format of ['json', 'ndjson', 'csv', 'tsv', 'none'] as const) await render(agents, piped(format));
    const m = await createMessenger(sink().stream, { color: false });
    m.success('done');
    expect([...loaded]).toEqual([]);
  });

  test('each library is loaded by the first output that needs it', async () => {
    await render(agents, piped('table'));
    expect([...loaded].sort()).toEqual(['cli-table3']);
    await render(agents, piped('yaml'));
    await render(agents, terminal('table', { color: true }));
    await applyQuery(agents, '[0]');
    expect([...loaded].sort()).toEqual(['chalk', 'cli-table3', 'jmespath', 'yaml']);
  });
});

describe('resolveFormat', () => {
  test('defaults to a table on a terminal and JSON when piped', () => {
    expect(resolveFormat(undefined, true)).toBe('table');
    expect(resolveFormat(undefined, false)).toBe('json');
  });

  test('accepts a known format in any case', () => {
    expect(resolveFormat('tsv', true)).toBe('tsv');
    expect(resolveFormat('YAML', false)).toBe('yaml');
  });

  test('rejects an unknown format naming the valid ones', () => {
    expect(() => resolveFormat('xml', true)).toThrow(UsageError);
    expect(() => resolveFormat('xml', true)).toThrow(
      "Unknown output format 'xml'. Use one of: table, json, jsonc, yaml, yamlc, csv, tsv, ndjson, none.",
    );
  });
});

describe('render: a list of two agents', () => {
  test('json is the full objects, 2-space indented, with a trailing newline', async () => {
    expect(await render(agents, piped('json'))).toBe(`[
  {
    "id": "6f1c2a9e-0b7d-4c1e-9a51-2d0f3e8b7c41",
    "displayName": "Invoice Bot",
    "accountEnabled": true,
    "createdDateTime": "2025-05-01T10:00:00Z",
    "tags": [
      "finance",
      "ap"
    ]
  },
  {
    "id": "b83e5d10-7f2a-4a6b-8c3d-91e4f0a2b5d6",
    "displayName": "HR Helper",
    "accountEnabled": false,
    "createdDateTime": "2025-06-02T08:30:00Z",
    "tags": []
  }
]
`);
  });

  test('json ignores the table columns', async () => {
    const columns: Column[] = [{ key: 'id', header: 'ID' }];
    expect(await render(agents, piped('json', { columns }))).toBe(await render(agents, piped('json')));
  });

  test('ndjson is one compact object per line', async () => {
    expect(await render(agents, piped('ndjson'))).toBe(
      '{"id":"6f1c2a9e-0b7d-4c1e-9a51-2d0f3e8b7c41","displayName":"Invoice Bot","accountEnabled":true,"createdDateTime":"2025-05-01T10:00:00Z","tags":["finance","ap"]}\n' +
        '{"id":"b83e5d10-7f2a-4a6b-8c3d-91e4f0a2b5d6","displayName":"HR Helper","accountEnabled":false,"createdDateTime":"2025-06-02T08:30:00Z","tags":[]}\n',
    );
  });

  test('yaml keeps the key order of the objects', async () => {
    expect(await render(agents, piped('yaml'))).toBe(`- id: 6f1c2a9e-0b7d-4c1e-9a51-2d0f3e8b7c41
  displayName: Invoice Bot
  accountEnabled: true
  createdDateTime: 2025-05-01T10:00:00Z
  tags:
    - finance
    - ap
- id: b83e5d10-7f2a-4a6b-8c3d-91e4f0a2b5d6
  displayName: HR Helper
  accountEnabled: false
  createdDateTime: 2025-06-02T08:30:00Z
  tags: []
`);
  });

  test('yaml writes a shared object out twice rather than as an anchor and alias', async () => {
    const sponsor = { id: 'u1' };
    expect(await render([{ sponsor }, { sponsor }], piped('yaml'))).toBe('- sponsor:\n    id: u1\n- sponsor:\n    id: u1\n');
  });

  test('csv has a header of all keys and JSON-encodes nested values', async () => {
    expect(await render(agents, piped('csv'))).toBe(
      'id,displayName,accountEnabled,createdDateTime,tags\n' +
        '6f1c2a9e-0b7d-4c1e-9a51-2d0f3e8b7c41,Invoice Bot,true,2025-05-01T10:00:00Z,"[""finance"",""ap""]"\n' +
        'b83e5d10-7f2a-4a6b-8c3d-91e4f0a2b5d6,HR Helper,false,2025-06-02T08:30:00Z,[]\n',
    );
  });

  test('tsv has no header and one tab-separated line per agent, lists joined by commas (no JSON)', async () => {
    expect(await render(agents, piped('tsv'))).toBe(
      '6f1c2a9e-0b7d-4c1e-9a51-2d0f3e8b7c41\tInvoice Bot\ttrue\t2025-05-01T10:00:00Z\tfinance,ap\n' +
        'b83e5d10-7f2a-4a6b-8c3d-91e4f0a2b5d6\tHR Helper\tfalse\t2025-06-02T08:30:00Z\t\n',
    );
  });

  test('piped table is space-aligned with a header line, scalar keys only, no ANSI and no box drawing', async () => {
    const out = await render(agents, piped('table'));
    expect(out).toBe(
      'id                                    displayName  accountEnabled  createdDateTime\n' +
        '6f1c2a9e-0b7d-4c1e-9a51-2d0f3e8b7c41  Invoice Bot  true            2025-05-01T10:00:00Z\n' +
        'b83e5d10-7f2a-4a6b-8c3d-91e4f0a2b5d6  HR Helper    false           2025-06-02T08:30:00Z\n',
    );
    expect(out).not.toMatch(ANSI);
    expect(out).not.toMatch(BOX);
  });

  test('piped table stays plain even when colour is requested', async () => {
    const out = await render(agents, piped('table', { color: true }));
    expect(out).toBe(await render(agents, piped('table')));
    expect(out).not.toMatch(ANSI);
  });

  test('terminal table is boxed with a rule under the header only', async () => {
    expect(await render(agents, terminal('table'))).toBe(
      '┌──────────────────────────────────────┬─────────────┬────────────────┬──────────────────────┐\n' +
        '│ id                                   │ displayName │ accountEnabled │ createdDateTime      │\n' +
        '├──────────────────────────────────────┼─────────────┼────────────────┼──────────────────────┤\n' +
        '│ 6f1c2a9e-0b7d-4c1e-9a51-2d0f3e8b7c41 │ Invoice Bot │ true           │ 2025-05-01T10:00:00Z │\n' +
        '│ b83e5d10-7f2a-4a6b-8c3d-91e4f0a2b5d6 │ HR Helper   │ false          │ 2025-06-02T08:30:00Z │\n' +
        '└──────────────────────────────────────┴─────────────┴────────────────┴──────────────────────┘\n',
    );
  });

  test('terminal table with colour has bold headers and the same layout', async () => {
    const coloured = await render(agents, terminal('table', { color: true }));
    expect(coloured).toMatch(ANSI);
    expect(coloured).toContain('\u001b[1mdisplayName\u001b[22m');
    expect(stripAnsi(coloured)).toBe(await render(agents, terminal('table')));
  });

  test('table uses the command columns, dotted paths and accessors', async () => {
    const rows = [
      { id: 'a1', displayName: 'Invoice Bot', accountEnabled: true, sponsor: { displayName: 'Ada' } },
      { id: 'b2', displayName: 'HR Helper', accountEnabled: false, sponsor: null },
    ];
    const columns: Column[] = [
      { key: 'displayName', header: 'NAME' },
      { key: 'sponsor.displayName', header: 'SPONSOR' },
      { key: 'accountEnabled', header: 'STATE', get: (r: { accountEnabled: boolean }) => (r.accountEnabled ? 'enabled' : 'disabled') },
    ];
    expect(await render(rows, piped('table', { columns }))).toBe(
      'NAME         SPONSOR  STATE\n' + 'Invoice Bot  Ada      enabled\n' + 'HR Helper             disabled\n',
    );
    // The CSV header names the JSON fields, whatever the table calls them.
    expect(await render(rows, piped('csv', { columns }))).toBe('displayName,sponsor.displayName,accountEnabled\nInvoice Bot,Ada,enabled\nHR Helper,,disabled\n');
  });

  test('a key containing dots, like @odata.type, is read literally', async () => {
    const rows = [{ '@odata.type': '#microsoft.graph.agentIdentity', id: 'a1' }];
    expect(await render(rows, piped('tsv', { columns: [{ key: '@odata.type', header: 'TYPE' }] }))).toBe(
      '#microsoft.graph.agentIdentity\n',
    );
  });

  test('terminal table truncates long nested values to 60 characters; piped keeps them whole', async () => {
    const rows = [{ id: 'a1', roles: Array.from({ length: 10 }, (_, i) => `Agent.ReadWrite.${i}`) }];
    const columns: Column[] = [
      { key: 'id', header: 'ID' },
      { key: 'roles', header: 'ROLES' },
    ];
    const json = JSON.stringify(rows[0]!.roles);
    expect(await render(rows, terminal('table', { columns }))).toContain(`│ ${json.slice(0, 59)}… │`);
    expect(await render(rows, piped('table', { columns }))).toBe(`ID  ROLES\na1  ${json}\n`);
  });

  test('piped table puts a multi-line value on one line', async () => {
    expect(await render([{ description: 'line one\nline two' }], piped('table'))).toBe('description\nline one line two\n');
  });
});

describe('render: a single agent', () => {
  test('json is the object itself', async () => {
    expect(await render(invoiceBot, piped('json'))).toBe(`{
  "id": "6f1c2a9e-0b7d-4c1e-9a51-2d0f3e8b7c41",
  "displayName": "Invoice Bot",
  "accountEnabled": true,
  "createdDateTime": "2025-05-01T10:00:00Z",
  "tags": [
    "finance",
    "ap"
  ]
}
`);
  });

  test('ndjson is one line', async () => {
    expect(await render(invoiceBot, piped('ndjson'))).toBe(
      '{"id":"6f1c2a9e-0b7d-4c1e-9a51-2d0f3e8b7c41","displayName":"Invoice Bot","accountEnabled":true,"createdDateTime":"2025-05-01T10:00:00Z","tags":["finance","ap"]}\n',
    );
  });

  test('yaml is a mapping', async () => {
    expect(await render(invoiceBot, piped('yaml'))).toBe(`id: 6f1c2a9e-0b7d-4c1e-9a51-2d0f3e8b7c41
displayName: Invoice Bot
accountEnabled: true
createdDateTime: 2025-05-01T10:00:00Z
tags:
  - finance
  - ap
`);
  });

  test('csv is a header and one row', async () => {
    expect(await render(invoiceBot, piped('csv'))).toBe(
      'id,displayName,accountEnabled,createdDateTime,tags\n' +
        '6f1c2a9e-0b7d-4c1e-9a51-2d0f3e8b7c41,Invoice Bot,true,2025-05-01T10:00:00Z,"[""finance"",""ap""]"\n',
    );
  });

  test('tsv is one line', async () => {
    expect(await render(invoiceBot, piped('tsv'))).toBe(
      '6f1c2a9e-0b7d-4c1e-9a51-2d0f3e8b7c41\tInvoice Bot\ttrue\t2025-05-01T10:00:00Z\tfinance,ap\n',
    );
  });

  test('tsv spreads a nested object over dotted columns: no JSON in any column', async () => {
    const status = { profile: 'local', tenant: { id: 't1', name: 'Contoso' }, permissions: ['A.Read', 'B.Write'], tokenCache: { persistent: false } };
    expect(await render(status, piped('tsv'))).toBe('local\tt1\tContoso\tA.Read,B.Write\tfalse\n');
  });

  test('a property sheet shows nested objects as dotted rows, lists by name, and no @odata annotations', async () => {
    const bp = { '@odata.type': '#microsoft.graph.agentIdentityBlueprint', id: 'b1', appId: 'a1', principal: { '@odata.type': '#x', id: 'p1', accountEnabled: true }, sponsors: [{ id: 'u1', displayName: 'Megan' }, { id: 'u2' }] };
    expect(await render(bp, piped('table'))).toBe(
      'Property                  Value\n' +
        'id                        b1\n' +
        'appId                     a1\n' +
        'principal.id              p1\n' +
        'principal.accountEnabled  true\n' +
        'sponsors                  Megan, u2\n',
    );
    const list = await render([{ '@odata.type': '#x', id: 'a' }], piped('table'));
    expect(list).toBe('id\na\n');
  });

  test('piped table is a Property/Value sheet including nested values', async () => {
    expect(await render(invoiceBot, piped('table'))).toBe(
      'Property         Value\n' +
        'id               6f1c2a9e-0b7d-4c1e-9a51-2d0f3e8b7c41\n' +
        'displayName      Invoice Bot\n' +
        'accountEnabled   true\n' +
        'createdDateTime  2025-05-01T10:00:00Z\n' +
        'tags             finance, ap\n',
    );
  });

  test('terminal table is a boxed Property/Value sheet', async () => {
    expect(await render(invoiceBot, terminal('table'))).toBe(
      '┌─────────────────┬──────────────────────────────────────┐\n' +
        '│ Property        │ Value                                │\n' +
        '├─────────────────┼──────────────────────────────────────┤\n' +
        '│ id              │ 6f1c2a9e-0b7d-4c1e-9a51-2d0f3e8b7c41 │\n' +
        '│ displayName     │ Invoice Bot                          │\n' +
        '│ accountEnabled  │ true                                 │\n' +
        '│ createdDateTime │ 2025-05-01T10:00:00Z                 │\n' +
        '│ tags            │ finance, ap                          │\n' +
        '└─────────────────┴──────────────────────────────────────┘\n',
    );
  });

  test("on a terminal, a long value wraps at the terminal's width instead of widening every line", async () => {
    const permissions = Array.from({ length: 12 }, (_, i) => `AgentIdentity.Permission${i}.ReadWrite.All`).join(', ');
    const out = await render({ profile: 'local', permissions }, terminal('table', { width: 80 }));
    const lines = out.trimEnd().split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBe(80);
    expect(lines[3]).toBe('│ profile     │ local                                                          │');
    // Every permission is still there, whole, one after another.
    const text = lines.slice(4, -1).map((l) => l.slice(l.lastIndexOf('│', l.length - 2) + 2, -1).trimEnd()).join(' ');
    expect(text).toBe(permissions);
    // Narrow enough already: no wrapping, the sheet keeps its natural width.
    expect(await render(invoiceBot, terminal('table', { width: 80 }))).toBe(await render(invoiceBot, terminal('table')));
  });

  test('the Property/Value sheet follows the command columns when given', async () => {
    const columns: Column[] = [
      { key: 'displayName', header: 'Name' },
      { key: 'accountEnabled', header: 'Enabled' },
    ];
    expect(await render(invoiceBot, piped('table', { columns }))).toBe('Property  Value\nName      Invoice Bot\nEnabled   true\n');
  });

  test('none prints nothing', async () => {
    expect(await render(invoiceBot, piped('none'))).toBe('');
  });
});

describe('render: an empty list is not an error', () => {
  test.each([
    ['table', ''],
    ['json', '[]\n'],
    ['yaml', '[]\n'],
    ['csv', ''],
    ['tsv', ''],
    ['ndjson', ''],
    ['none', ''],
  ] as const)('%s prints %j', async (format, expected) => {
    expect(await render([], piped(format))).toBe(expected);
    expect(await render([], terminal(format))).toBe(expected);
  });

  test('csv with known columns still prints the header, so scripts see the schema', async () => {
    expect(await render([], piped('csv', { columns: [{ key: 'id', header: 'ID' }, { key: 'displayName', header: 'Name' }] }))).toBe(
      'id,displayName\n',
    );
  });
});

describe('csv quoting (RFC 4180)', () => {
  test('quotes fields with commas, quotes, CR or LF and doubles inner quotes', async () => {
    const rows = [
      { name: 'Smith, Jane', note: 'She said "hi"', text: 'line1\nline2' },
      { name: 'plain', note: 'cr\rhere', text: 'crlf\r\nhere' },
    ];
    expect(await render(rows, piped('csv'))).toBe(
      'name,note,text\n' + '"Smith, Jane","She said ""hi""","line1\nline2"\n' + 'plain,"cr\rhere","crlf\r\nhere"\n',
    );
  });

  test('null and undefined are empty, booleans and numbers are literal, nested values are quoted JSON', async () => {
    const rows = [{ a: null, b: undefined, c: false, d: 0, e: { k: 'v', n: 1 } }];
    expect(await render(rows, piped('csv'))).toBe('a,b,c,d,e\n,,false,0,"{""k"":""v"",""n"":1}"\n');
  });

  test('a header that needs quoting is quoted', async () => {
    expect(await render([{ 'x,y': 1 }], piped('csv', { columns: [{ key: 'x,y', header: 'Name, full' }] }))).toBe('"x,y"\n1\n');
  });

  test('columns are the union of keys in first-seen order', async () => {
    expect(await render([{ a: 1 }, { b: 2, a: 3 }], piped('csv'))).toBe('a,b\n1,\n3,2\n');
  });
});

describe('tsv escaping', () => {
  test('tabs, CR, LF and CRLF inside values become single spaces; null is empty', async () => {
    const rows = [{ a: 'x\ty', b: 'l1\r\nl2', c: 'p\nq\rr', d: null }];
    expect(await render(rows, piped('tsv'))).toBe('x y\tl1 l2\tp q r\t\n');
  });
});

describe('--query (JMESPath, applied before formatting)', () => {
  const projection = '[].{name:displayName,id:id}';

  test('a projection reshapes the JSON output', async () => {
    expect(await render(agents, piped('json', { query: projection }))).toBe(`[
  {
    "name": "Invoice Bot",
    "id": "6f1c2a9e-0b7d-4c1e-9a51-2d0f3e8b7c41"
  },
  {
    "name": "HR Helper",
    "id": "b83e5d10-7f2a-4a6b-8c3d-91e4f0a2b5d6"
  }
]
`);
  });

  test('table and csv columns come from the query result, not the command columns', async () => {
    const columns: Column[] = [{ key: 'accountEnabled', header: 'ENABLED' }];
    expect(await render(agents, piped('table', { query: projection, columns }))).toBe(
      'name         id\n' +
        'Invoice Bot  6f1c2a9e-0b7d-4c1e-9a51-2d0f3e8b7c41\n' +
        'HR Helper    b83e5d10-7f2a-4a6b-8c3d-91e4f0a2b5d6\n',
    );
    expect(await render(agents, piped('csv', { query: projection, columns }))).toBe(
      'name,id\nInvoice Bot,6f1c2a9e-0b7d-4c1e-9a51-2d0f3e8b7c41\nHR Helper,b83e5d10-7f2a-4a6b-8c3d-91e4f0a2b5d6\n',
    );
  });

  test('a scalar result prints bare in tsv, as JSON in json, and under Result in a table', async () => {
    const query = '[0].id';
    expect(await render(agents, piped('tsv', { query }))).toBe('6f1c2a9e-0b7d-4c1e-9a51-2d0f3e8b7c41\n');
    expect(await render(agents, piped('json', { query }))).toBe('"6f1c2a9e-0b7d-4c1e-9a51-2d0f3e8b7c41"\n');
    expect(await render(agents, piped('table', { query }))).toBe('Result\n6f1c2a9e-0b7d-4c1e-9a51-2d0f3e8b7c41\n');
    expect(await applyQuery(agents, query)).toBe('6f1c2a9e-0b7d-4c1e-9a51-2d0f3e8b7c41');
  });

  test('a list of scalars prints one per line', async () => {
    const query = '[].displayName';
    expect(await render(agents, piped('tsv', { query }))).toBe('Invoice Bot\nHR Helper\n');
    expect(await render(agents, piped('table', { query }))).toBe('Result\nInvoice Bot\nHR Helper\n');
  });

  test('an az-style list projection gives positional tsv fields', async () => {
    expect(await render(agents, piped('tsv', { query: '[].[displayName, accountEnabled]' }))).toBe(
      'Invoice Bot\ttrue\nHR Helper\tfalse\n',
    );
  });

  test('a filter that matches nothing is an empty list', async () => {
    const query = "[?displayName=='nobody']";
    expect(await render(agents, piped('json', { query }))).toBe('[]\n');
    expect(await render(agents, piped('table', { query }))).toBe('');
  });

  test('a malformed expression is a usage error naming --query', async () => {
    const err = await render(agents, piped('json', { query: '[].{name:' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/^Invalid --query expression: Syntax error/);
  });

  test('a malformed expression fails even with -o none', async () => {
    await expect(render(agents, piped('none', { query: 'foo[' }))).rejects.toThrow(UsageError);
  });

  test('an expression that fails on the data is a usage error too', async () => {
    await expect(applyQuery(agents, 'length(@[0].accountEnabled)')).rejects.toThrow(/^--query failed: Invalid type/);
    await expect(applyQuery(agents, 'length(@[0].accountEnabled)')).rejects.toBeInstanceOf(UsageError);
  });
});

describe('RowWriter', () => {
  const pages = [[agents[0]!], [agents[1]!], [{ id: 'c3', displayName: 'Travel Desk', accountEnabled: true }]];
  const all = pages.flat();

  async function writeAll(opts: RenderOptions, slow = false): Promise<{ text: string; afterFirstPage: string }> {
    const out = sink(slow);
    const writer = await createRowWriter(out.stream, opts);
    await writer.write(pages[0]!);
    const afterFirstPage = out.text();
    await writer.write(pages[1]!);
    await writer.write(pages[2]!);
    await writer.end();
    out.stream.end();
    await once(out.stream, 'finish');
    return { text: out.text(), afterFirstPage };
  }

  test('json written in three pages is one valid array, identical to render()', async () => {
    const { text, afterFirstPage } = await writeAll(piped('json'));
    expect(afterFirstPage.startsWith('[\n  {\n    "id": "6f1c2a9e')).toBe(true);
    expect(JSON.parse(text)).toEqual(all);
    expect(text).toBe(await render(all, piped('json')));
  });

  test('json with no rows is an empty array', async () => {
    const out = sink();
    const writer = await createRowWriter(out.stream, piped('json'));
    await writer.write([]);
    await writer.end();
    expect(out.text()).toBe('[]\n');
  });

  test('ndjson streams one line per row as pages arrive', async () => {
    const { text, afterFirstPage } = await writeAll(piped('ndjson'));
    expect(afterFirstPage).toBe(JSON.stringify(agents[0]) + '\n');
    expect(text.split('\n')).toHaveLength(4);
    expect(text).toBe(await render(all, piped('ndjson')));
  });

  test('csv writes the header once, with columns fixed by the first page', async () => {
    const columns: Column[] = [
      { key: 'displayName', header: 'Name' },
      { key: 'accountEnabled', header: 'Enabled' },
    ];
    const { text, afterFirstPage } = await writeAll(piped('csv', { columns }));
    expect(afterFirstPage).toBe('displayName,accountEnabled\nInvoice Bot,true\n');
    expect(text).toBe('displayName,accountEnabled\nInvoice Bot,true\nHR Helper,false\nTravel Desk,true\n');
  });

  test('csv with no rows prints only the header of the known columns', async () => {
    const out = sink();
    const writer = await createRowWriter(out.stream, piped('csv', { columns: [{ key: 'id', header: 'ID' }] }));
    await writer.end();
    expect(out.text()).toBe('id\n');
  });

  test('tsv streams rows without a header', async () => {
    const columns: Column[] = [{ key: 'id', header: 'ID' }];
    const { text } = await writeAll(piped('tsv', { columns }));
    expect(text).toBe('6f1c2a9e-0b7d-4c1e-9a51-2d0f3e8b7c41\nb83e5d10-7f2a-4a6b-8c3d-91e4f0a2b5d6\nc3\n');
  });

  test('table and yaml buffer until end() and then match render()', async () => {
    for (const opts of [piped('table'), terminal('table'), piped('yaml')]) {
      const { text, afterFirstPage } = await writeAll(opts);
      expect(afterFirstPage).toBe('');
      expect(text).toBe(await render(all, opts));
    }
  });

  test('a query buffers every page and is applied to the whole list at end()', async () => {
    const opts = piped('ndjson', { query: '[-1].displayName' });
    const { text, afterFirstPage } = await writeAll(opts);
    expect(afterFirstPage).toBe('');
    expect(text).toBe('"Travel Desk"\n');
  });

  test('a malformed query is rejected before any page is written', async () => {
    await expect(createRowWriter(sink().stream, piped('json', { query: '[?' }))).rejects.toThrow(/^Invalid --query expression/);
  });

  test('waits for a slow consumer instead of failing or losing rows', async () => {
    const { text } = await writeAll(piped('ndjson'), true);
    expect(text).toBe(await render(all, piped('ndjson')));
  });

  test('none writes nothing', async () => {
    const { text } = await writeAll(piped('none'));
    expect(text).toBe('');
  });
});

describe('messages on stderr', () => {
  test('plain output has text prefixes for warnings and errors only', async () => {
    const err = sink();
    const m = await createMessenger(err.stream, { color: false });
    m.info('Fetching agents');
    m.success('Disabled 12 agents');
    m.warn('2 agents were already disabled');
    m.error('Could not disable Invoice Bot');
    expect(err.text()).toBe(
      'Fetching agents\nDisabled 12 agents\nwarning: 2 agents were already disabled\nerror: Could not disable Invoice Bot\n',
    );
  });

  test('colour output marks success with a green tick and colours the prefixes', async () => {
    const err = sink();
    const m = await createMessenger(err.stream, { color: true });
    m.success('Disabled 12 agents');
    m.warn('careful');
    m.error('failed');
    expect(err.text()).toBe(
      '\u001b[32m✓\u001b[39m Disabled 12 agents\n\u001b[33mwarning:\u001b[39m careful\n\u001b[31merror:\u001b[39m failed\n',
    );
  });

  test('quiet suppresses info and success but never warnings or errors', async () => {
    const err = sink();
    const m = await createMessenger(err.stream, { color: false, quiet: true });
    m.info('Fetching agents');
    m.success('Disabled 12 agents');
    m.warn('careful');
    m.error('failed');
    expect(err.text()).toBe('warning: careful\nerror: failed\n');
  });
});
