import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startServer, tempHome } from './helpers.js';

// --debug logs method, URL, status and an allow-list of headers. A secret must never reach it:
// not the secretText of a new client secret (it is in a response body), and not a credential in
// a header. The CLI sends no token to the emulator, so a proxy in front of `mock serve` plants
// credentials in the response headers the CLI logs.

const h = tempHome();
afterAll(() => h.remove());

const PLANTED = {
  authorization: 'Bearer planted-token-4f0c1d',
  'set-cookie': 'session=planted-cookie-9b2e',
  'x-ms-secret-of-tomorrow': 'planted-unknown-header-77aa',
};

function debugLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('[debug] '));
}

describe('--debug in-process', () => {
  test('logs each request and response line, and never the new secret', async () => {
    const bp = await h.run(['blueprint', 'create', '--name', 'Debug Blueprint', '--sponsor', 'me', '-o', 'none']);
    expect(bp.code).toBe(0);
    const r = await h.run(['--debug', 'blueprint', 'credential', 'add', 'Debug Blueprint']);
    expect(r.code).toBe(0);
    const { secretText } = r.json<{ secretText: string }>();
    expect(secretText.length).toBeGreaterThanOrEqual(32);
    expect(r.stderr).not.toContain(secretText);
    const lines = debugLines(r.stderr);
    expect(lines).toContainEqual(expect.stringMatching(/^\[debug\] > POST https:\/\/graph\.microsoft\.com\/v1\.0\/applications\/[0-9a-f-]{36}\/(microsoft\.graph\.agentIdentityBlueprint\/)?addPassword$/));
    expect(lines).toContainEqual(expect.stringMatching(/^\[debug\] >   \(body: \d+ bytes, not shown\)$/));
    expect(lines).toContainEqual(expect.stringMatching(/^\[debug\] < 200 POST \/v1\.0\/applications\/.*addPassword \(\d+ ms\)$/));
    // Everything that is not a debug line is the one warning about the secret.
    expect(r.stderr.split('\n').filter((l) => l && !l.startsWith('[debug] '))).toEqual([
      'warning: This is the only time the secret is shown. Store it now (or use --secret-file next time).',
    ]);
  });
});

describe('--debug against a served emulator behind a credential-planting proxy', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let proxy: http.Server;
  let proxyUrl: string;

  beforeAll(async () => {
    server = await startServer(h.home);
    proxy = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        try {
          const headers = new Headers();
          for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'connection') headers.set(k, v);
          const body = chunks.length ? Buffer.concat(chunks) : undefined;
          const upstream = await fetch(server.url + req.url, { method: req.method!, headers, ...(body ? { body } : {}) });
          const out: Record<string, string> = { ...PLANTED };
          upstream.headers.forEach((v, k) => {
            if (!['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'content-encoding'].includes(k)) out[k] = v;
          });
          res.writeHead(upstream.status, out);
          res.end(Buffer.from(await upstream.arrayBuffer()));
        } catch (err) {
          res.writeHead(502).end(String(err));
        }
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => proxy?.close(() => resolve()));
    await server?.stop();
  });

  test('prints planted credentials only as REDACTED, and never the new secret', async () => {
    const env = { AGENTID_GRAPH_URL: proxyUrl };
    const r = await h.run(['--debug', 'blueprint', 'credential', 'add', 'Debug Blueprint'], { env });
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const { secretText } = r.json<{ secretText: string }>();
    expect(r.stderr).not.toContain(secretText);
    for (const value of Object.values(PLANTED)) expect(r.stderr).not.toContain(value.split(' ').pop()!);
    const lines = debugLines(r.stderr);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^\\[debug\\] > POST ${proxyUrl.replace(/\./g, '\\.')}/v1\\.0/applications/.*addPassword$`)));
    // Every header line naming a credential shows REDACTED as its whole value.
    const credentialLines = lines.filter((l) => /^\[debug\] [<>]\s+(authorization|set-cookie|cookie|x-ms-secret-of-tomorrow):/i.test(l));
    expect(credentialLines.length).toBeGreaterThanOrEqual(3);
    for (const l of credentialLines) expect(l).toMatch(/: REDACTED$/);
    // The allow-listed diagnostics still come through.
    expect(lines).toContainEqual(expect.stringMatching(/^\[debug\] <\s+request-id: [0-9a-f-]{36}$/));
  });
});
