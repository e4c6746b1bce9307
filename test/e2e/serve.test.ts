import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import { parseJson, startServer, tempHome } from './helpers.js';

// `agentid mock serve` as a real child process: the URL on the first stdout line, the CLI
// pointed at it with AGENTID_GRAPH_URL, and the state flushed to tenant.json on SIGTERM.

const h = tempHome();
let server: Awaited<ReturnType<typeof startServer>> | undefined;
afterAll(async () => {
  await server?.stop();
  h.remove();
});

const blueprintNames = () => {
  const state = parseJson<{ objects: Record<string, { type: string; props: { displayName: string } }> }>(readFileSync(h.stateFile, 'utf8'), 'tenant.json');
  return Object.values(state.objects)
    .filter((o) => o.type === 'agentIdentityBlueprint')
    .map((o) => o.props.displayName);
};

describe('mock serve', () => {
  test('prints its base URL as the first line of stdout and says where its state lives on stderr', async () => {
    server = await startServer(h.home);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // stderr may lag the URL line by a tick.
    await expect.poll(() => server!.stderr()).toContain(`Emulated tenant served at ${server.url} (state: ${h.stateFile})`);
  });

  test('serves the CLI: an empty agent list, then a blueprint created and listed through it', async () => {
    const env = { AGENTID_GRAPH_URL: server!.url };
    const agents = await h.run(['agent', 'list'], { env });
    expect({ code: agents.code, stdout: agents.stdout, stderr: agents.stderr }).toEqual({ code: 0, stdout: '[]\n', stderr: '' });

    const created = await h.run(['blueprint', 'create', '--name', 'Served Blueprint', '--sponsor', 'me', '--unique-name', 'served'], { env });
    expect(created.code).toBe(0);
    const bp = created.json();

    const listed = await h.run(['blueprint', 'list', '--query', '[].{id:id,name:displayName}'], { env });
    expect(listed.json()).toEqual([{ id: bp.id, name: 'Served Blueprint' }]);

    const agent = await h.run(['agent', 'create', '--blueprint', 'Served Blueprint', '--name', 'Served Agent', '--sponsor', 'me'], { env });
    expect(agent.code).toBe(0);
    const status = await h.run(['mock', 'status', '--query', 'servedAt'], { env });
    expect(status.json()).toBe(server!.url);
  });

  test('exits 0 on SIGTERM and flushes its state to $AGENTID_HOME/mock/tenant.json', async () => {
    const exit = await server!.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(blueprintNames()).toEqual(['Served Blueprint']);
    // The in-process CLI now reads the same tenant the server wrote.
    const r = await h.run(['agent', 'list', '--query', '[].displayName']);
    expect(r.json()).toEqual(['Served Agent']);
  });

  test('a CLI pointed at a server that is gone fails with exit 1 and one error line', async () => {
    const r = await h.run(['agent', 'list'], { env: { AGENTID_GRAPH_URL: server!.url } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: NetworkError: Could not reach Microsoft Graph at 127\.0\.0\.1:\d+: .*; the Graph URL is set by AGENTID_GRAPH_URL\n$/);
  });
});
