import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { GraphClient } from '../../src/graph/client.js';
import { Anonymizer, RecordMiddleware, Recorder, redactRecording, type Recording } from '../../src/graph/middleware/record.js';
import { createReplayHandler, keyOf } from '../../src/mock/replay.js';
import { seedFromRecordings } from '../../src/mock/fixtures.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'agentid-rec-unit-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const SECRET = 'Xy9~plantedSECRETvalue-0123456789';
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';

function recording(over: Partial<Recording['request']> = {}, response: Partial<Recording['response']> = {}): Recording {
  return {
    recordingVersion: 1,
    request: { method: 'GET', version: 'v1.0', path: '/applications', query: {}, headers: {}, ...over },
    response: { status: 200, headers: {}, ...response },
  };
}

describe('redaction (allow-lists)', () => {
  test('secrets planted in headers, query, request and response bodies never survive', () => {
    const r = redactRecording(
      recording(
        {
          method: 'POST',
          query: { $filter: "displayName eq 'x'", client_secret: SECRET, code: SECRET },
          headers: { Authorization: `Bearer ${JWT}`, Cookie: SECRET, 'x-custom': SECRET, 'Content-Type': 'application/json', ConsistencyLevel: 'eventual' },
          body: { passwordCredential: { displayName: 'ci', secretText: SECRET }, proof: JWT, keyCredential: { key: PEM, type: 'AsymmetricX509Cert' }, passwordProfile: { password: SECRET }, someNewSecretField: SECRET },
        },
        {
          status: 200,
          headers: { 'Set-Cookie': SECRET, 'request-id': 'r', 'Content-Type': 'application/json', 'x-ms-ags-diagnostic': '{}' },
          body: { keyId: 'k', secretText: SECRET, hint: SECRET.slice(0, 3), displayName: JWT, description: PEM, value: [{ key: SECRET, keyId: 'k2' }] },
        },
      ),
    );
    const text = JSON.stringify(r);
    for (const bad of [SECRET, JWT, 'MIIB', 'Bearer', SECRET.slice(0, 3)]) expect(text).not.toContain(bad);
    expect(r.request.headers).toEqual({ 'content-type': 'application/json', consistencylevel: 'eventual' });
    expect(r.response.headers).toEqual({ 'content-type': 'application/json' });
    expect(r.request.query).toEqual({ $filter: "displayName eq 'x'" });
    expect(r.request.body).toEqual({
      passwordCredential: { displayName: 'ci', secretText: 'REDACTED' },
      proof: 'REDACTED',
      keyCredential: { key: 'REDACTED', type: 'AsymmetricX509Cert' },
      passwordProfile: 'REDACTED',
      someNewSecretField: 'REDACTED',
    });
    expect(r.response.body).toEqual({ keyId: 'k', secretText: 'REDACTED', hint: 'REDACTED', displayName: 'REDACTED', description: 'REDACTED', value: [{ key: 'REDACTED', keyId: 'k2' }] });
  });

  test('$batch items keep only listed headers', () => {
    const r = redactRecording(recording({ method: 'POST', path: '/$batch', body: { requests: [{ id: '1', method: 'GET', url: '/users', headers: { Authorization: SECRET, ConsistencyLevel: 'eventual' } }] } }));
    expect(r.request.body).toEqual({ requests: [{ id: '1', method: 'GET', url: '/users', headers: { consistencylevel: 'eventual' } }] });
  });
});

describe('anonymizer', () => {
  test('maps the same value to the same stand-in under one key, differently under another', async () => {
    const keyFile = path.join(tmp(), 'k.key');
    const a = await Anonymizer.load(keyFile);
    const again = await Anonymizer.load(keyFile);
    const other = await Anonymizer.load(path.join(tmp(), 'other.key'));
    const id = '6e1f0c2a-0002-4a5b-8c9d-000000000002';
    expect(a.guid(id)).toBe(again.guid(id));
    expect(a.guid(id)).not.toBe(other.guid(id));
    expect(a.guid(id)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.guid('00000003-0000-0000-c000-000000000000')).toBe('00000003-0000-0000-c000-000000000000');
    expect(a.address('meganb@contoso.onmicrosoft.com')).toMatch(/^user[0-9a-f]{8}@tenant[0-9a-f]{8}\.onmicrosoft\.com$/);
    expect(a.name('Megan Bowen')).toBe(again.name('Megan Bowen'));
  });

  test('a recording is rewritten consistently: path, $filter literals, bodies and links', async () => {
    const a = await Anonymizer.load(path.join(tmp(), 'k.key'));
    const id = '6e1f0c2a-0002-4a5b-8c9d-000000000002';
    const r = a.recording(
      recording(
        { path: `/users/meganb@contoso.onmicrosoft.com`, query: { $filter: "displayName eq 'Megan Bowen'", $skiptoken: 'abc' } },
        { headers: { location: `https://graph.microsoft.com/v1.0/users/${id}` }, body: { id, displayName: 'Megan Bowen', userPrincipalName: 'meganb@contoso.onmicrosoft.com', '@odata.nextLink': `https://graph.microsoft.com/v1.0/users?$skiptoken=abc`, '@odata.context': `https://graph.microsoft.com/v1.0/$metadata#users('${id}')` } },
      ),
    );
    const body = r.response.body as Record<string, string>;
    expect(r.request.path).toBe(`/users/${body.userPrincipalName}`);
    expect(r.request.query.$filter).toBe(`displayName eq '${body.displayName}'`);
    expect(body['@odata.nextLink']).toBe(`https://graph.microsoft.com/v1.0/users?$skiptoken=${r.request.query.$skiptoken}`);
    expect(body['@odata.context']).toContain(body.id!);
    expect(r.response.headers.location).toBe(`https://graph.microsoft.com/v1.0/users/${body.id}`);
    expect(JSON.stringify(r)).not.toMatch(/Megan|meganb|contoso|6e1f0c2a-0002/);
  });
});

describe('RecordMiddleware in the client chain', () => {
  test('records each attempt (a 429 and its retry), canonicalises the origin, numbers files in order', async () => {
    const dir = tmp();
    let calls = 0;
    const client = new GraphClient({
      baseUrl: 'http://127.0.0.1:9999',
      version: 'v1.0',
      token: async () => JWT,
      customHosts: ['127.0.0.1'],
      retry: { sleep: async () => undefined, baseDelayMs: 1 },
      recorder: new RecordMiddleware(new Recorder({ dir })),
      transport: async () =>
        ++calls === 1
          ? new Response(JSON.stringify({ error: { code: 'TooManyRequests', message: 'Too many requests.' } }), { status: 429, headers: { 'Retry-After': '0', 'Content-Type': 'application/json' } })
          : new Response(JSON.stringify({ value: [], '@odata.nextLink': 'http://127.0.0.1:9999/v1.0/groups?$skiptoken=x' }), { status: 200, headers: { 'Content-Type': 'application/json' } }),
    });
    await client.get('/groups', { query: { $top: 1 } });
    const files = readdirSync(dir).sort();
    expect(files).toEqual(['0001-GET-groups.json', '0002-GET-groups.json']);
    const [first, second] = files.map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Recording);
    expect(first!.response).toMatchObject({ status: 429, headers: { 'retry-after': '0' } });
    expect(second!.response.body).toEqual({ value: [], '@odata.nextLink': 'https://graph.microsoft.com/v1.0/groups?$skiptoken=x' });
    expect(second!.request).toEqual({ method: 'GET', version: 'v1.0', path: '/groups', query: { $top: '1' }, headers: {} });
    expect(readFileSync(path.join(dir, files[0]!), 'utf8')).not.toContain(JWT);
    // A second recorder (another command) continues the numbering.
    await new Recorder({ dir }).record('https://graph.microsoft.com', second!);
    expect(readdirSync(dir).sort()[2]).toBe('0003-GET-groups.json');
  });
});

describe('replay matching', () => {
  test('method, decoded lower-cased path and sorted query make the key', () => {
    expect(keyOf('get', 'v1.0', '/ServicePrincipals/Microsoft.Graph.AgentIdentity/', { $top: '5', $filter: "displayName  eq 'a'" })).toBe(
      keyOf('GET', 'v1.0', '/serviceprincipals/microsoft.graph.agentidentity', new URLSearchParams("$filter=displayName eq 'a'&$top=5")),
    );
    expect(keyOf('GET', 'v1.0', '/users', {})).not.toBe(keyOf('GET', 'beta', '/users', {}));
  });

  test('answers in recorded order, then repeats the last; rewrites Graph links to its own origin', async () => {
    const dir = tmp();
    const rec = new Recorder({ dir });
    await rec.record('https://graph.microsoft.com', recording({}, { body: { value: [1], '@odata.nextLink': 'https://graph.microsoft.com/v1.0/applications?$skiptoken=a' } }));
    await rec.record('https://graph.microsoft.com', recording({}, { body: { value: [2] } }));
    const replay = await createReplayHandler({ dir });
    const get = async () => (await (await replay(new Request('http://127.0.0.1:5555/v1.0/applications'))).json()) as { value: number[]; '@odata.nextLink'?: string };
    const first = await get();
    expect(first).toEqual({ value: [1], '@odata.nextLink': 'http://127.0.0.1:5555/v1.0/applications?$skiptoken=a' });
    expect((await get()).value).toEqual([2]);
    expect((await get()).value).toEqual([2]);
  });

  test('seedFromRecordings keeps recorded objects, their sponsors and later PATCHes, and drops deleted ones', () => {
    const bp = '11111111-2222-4333-8444-555555555555';
    const agent = '21111111-2222-4333-8444-555555555555';
    const gone = '31111111-2222-4333-8444-555555555555';
    const state = seedFromRecordings([
      recording({ method: 'POST', path: '/applications/microsoft.graph.agentIdentityBlueprint', body: { displayName: 'B', 'sponsors@odata.bind': ['https://graph.microsoft.com/v1.0/users/6e1f0c2a-0002-4a5b-8c9d-000000000002'] } }, { status: 201, body: { '@odata.type': '#microsoft.graph.agentIdentityBlueprint', id: bp, appId: 'a', displayName: 'B' } }),
      recording({ path: '/servicePrincipals/microsoft.graph.agentIdentity' }, { body: { value: [{ '@odata.type': '#microsoft.graph.agentIdentity', id: agent, displayName: 'A', accountEnabled: true }, { '@odata.type': '#microsoft.graph.agentIdentity', id: gone, displayName: 'G' }] } }),
      recording({ method: 'PATCH', path: `/servicePrincipals/${agent}/microsoft.graph.agentIdentity`, body: { accountEnabled: false } }, { status: 204 }),
      recording({ method: 'DELETE', path: `/servicePrincipals/${gone}/microsoft.graph.agentIdentity` }, { status: 204 }),
      recording({ path: `/servicePrincipals/${agent}/microsoft.graph.agentIdentity/sponsors` }, { body: { value: [{ '@odata.type': '#microsoft.graph.user', id: '6e1f0c2a-0003-4a5b-8c9d-000000000003' }] } }),
    ]);
    expect(state.objects[bp]).toMatchObject({ type: 'agentIdentityBlueprint', props: { displayName: 'B' }, sponsors: ['6e1f0c2a-0002-4a5b-8c9d-000000000002'] });
    expect(state.objects[agent]).toMatchObject({ type: 'agentIdentity', props: { displayName: 'A', accountEnabled: false }, sponsors: ['6e1f0c2a-0003-4a5b-8c9d-000000000003'] });
    expect(state.objects[gone]).toBeUndefined();
    // The seeded directory is still there.
    expect(state.objects['6e1f0c2a-0003-4a5b-8c9d-000000000003']?.props.displayName).toBe('Adele Vance');
  });
});
