import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runOnTerminal, startServer, tempHome } from './helpers.js';

// A user's device-code sign-in to `mock serve --tls` on a terminal, the way a person signs agentid
// in to Entra, lands in the emulated tenant's sign-in log as an interactive user sign-in, and
// `agentid logs signins --event-type interactiveUser` shows it.

const TENANT = '3f2a7c1e-5b8d-4e6f-9a0b-1c2d3e4f5a6b';
const PUBLIC_CLIENT = '14d82eec-204b-4c2f-b7e8-296a70dab67e';
const ADMIN = '6e1f0c2a-0001-4a5b-8c9d-000000000001';
const AGENTID_CLIENT = '5e3a9d1f-7c42-4b8e-a0d6-2f1b3c4d5e6f';

const h = tempHome('agentid-e2e-user-signins-');
let server: Awaited<ReturnType<typeof startServer>> | undefined;
let url = '';
const ca = () => path.join(h.home, 'mock', 'tls', 'cert.pem');

beforeAll(async () => {
  server = await startServer(h.home, ['--tls']);
  url = server.url;
});
afterAll(async () => {
  await server?.stop();
  h.remove();
});

describe.skipIf(process.platform !== 'linux')('user sign-ins in the sign-in log', () => {
  test('login --device-code on a terminal is one interactiveUser sign-in of the emulated user, shown by logs signins', async () => {
    const login = await runOnTerminal(h.home, ['login', '--profile', 'dc', '--tenant', TENANT, '--graph-url', url, '--authority-host', url, '--device-code', '-o', 'none'], path.join(h.home, 'login.out'), { NODE_EXTRA_CA_CERTS: ca() });
    expect(login.code, login.terminal).toBe(0);
    expect(login.terminal).toContain(`Signed in to ${TENANT} as admin@contoso.onmicrosoft.com.`);

    // Read through the local profile, pointed at the served tenant.
    const logs = (types: string) => h.run(['--profile', 'local', 'logs', 'signins', '--event-type', types, '-o', 'json'], { env: { AGENTID_GRAPH_URL: url, NODE_EXTRA_CA_CERTS: ca() } });
    const r = await logs('interactiveUser');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    // Two: the login, and this command's own sign-in (a user profile on a served emulator signs
    // in with a device code too, as agentid's client).
    const rows = r.json<any[]>();
    expect(rows.map((s) => [s.appId, s.appDisplayName]).sort()).toEqual([[PUBLIC_CLIENT, 'Microsoft Graph Command Line Tools'], [AGENTID_CLIENT, 'agentid']].sort());
    const loginRow = rows.find((s) => s.appId === PUBLIC_CLIENT);
    expect(loginRow).toMatchObject({
      userId: ADMIN,
      userPrincipalName: 'admin@contoso.onmicrosoft.com',
      appId: PUBLIC_CLIENT,
      appDisplayName: 'Microsoft Graph Command Line Tools',
      resourceDisplayName: 'Microsoft Graph',
      isInteractive: true,
      signInEventTypes: ['interactiveUser'],
      clientAppUsed: 'Mobile Apps and Desktop clients',
      authenticationProtocol: 'deviceCode',
      status: { errorCode: 0 },
      agent: { agentType: 'notAgentic' },
    });
    // The default (all four types) has it too, and nothing was logged as a service principal.
    const all = await h.run(['--profile', 'local', 'logs', 'signins', '-o', 'json'], { env: { AGENTID_GRAPH_URL: url, NODE_EXTRA_CA_CERTS: ca() } });
    expect(all.json<any[]>().filter((s) => s.userId === ADMIN).map((s) => s.id)).toContain(loginRow.id);
    expect((await logs('servicePrincipal')).json<any[]>()).toEqual([]);
  });
});
