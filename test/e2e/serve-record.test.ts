import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parseJson, startServer, stderrLines, tempHome } from './helpers.js';

// Issue 11: `agentid mock serve` and in-process CLIs on one AGENTID_HOME. The server records
// itself in mock/serve.json for its life; in-process commands on that home go through it, a
// second server and `mock reset` refuse, a dead server's record is taken over, and kill -9 loses
// no write whose answer was sent.

type State = { objects: Record<string, { type: string; props: { displayName: string } }> };
const namesOf = (file: string, type: string) =>
  Object.values(parseJson<State>(readFileSync(file, 'utf8'), 'tenant.json').objects)
    .filter((o) => o.type === type)
    .map((o) => o.props.displayName)
    .sort();

const homes: ReturnType<typeof tempHome>[] = [];
const servers: Awaited<ReturnType<typeof startServer>>[] = [];
const home = () => {
  const h = tempHome('agentid-e2e-serve-record-');
  homes.push(h);
  return h;
};
const start = async (h: ReturnType<typeof tempHome>, args: string[] = []) => {
  const s = await startServer(h.home, args);
  servers.push(s);
  return s;
};
afterAll(async () => {
  for (const s of servers) await s.stop();
  for (const h of homes) h.remove();
});

describe('mock serve and in-process CLIs on one home', () => {
  test('the lost-write sequence keeps both blueprints: an in-process create goes through the running server', async () => {
    const h = home();
    const server = await start(h);
    const inProcess = await h.run(['blueprint', 'create', '--name', 'X1', '--sponsor', 'me', '-o', 'none']);
    expect({ code: inProcess.code, stderr: inProcess.stderr }).toEqual({ code: 0, stderr: expect.stringContaining("Created blueprint 'X1'") });
    const served = await h.run(['blueprint', 'create', '--name', 'ServedBP', '--sponsor', 'me', '-o', 'none'], { env: { AGENTID_GRAPH_URL: server.url } });
    expect(served.code).toBe(0);

    const listed = await h.run(['blueprint', 'list', '--query', '[].displayName']);
    expect(listed.json<string[]>().sort()).toEqual(['ServedBP', 'X1']);
    const viaUrl = await h.run(['blueprint', 'list', '--query', '[].displayName'], { env: { AGENTID_GRAPH_URL: server.url } });
    expect(viaUrl.json<string[]>().sort()).toEqual(['ServedBP', 'X1']);

    // mock status shows the serve record, and counts every answered write.
    const status = await h.run(['mock', 'status', '-o', 'json']);
    expect(status.json()).toMatchObject({ servedAt: server.url, serve: { url: server.url, pid: server.child.pid, tlsCertificate: null }, objects: { agentIdentityBlueprint: 2 } });

    expect(await server.stop()).toEqual({ code: 0, signal: null });
    expect(namesOf(h.stateFile, 'agentIdentityBlueprint')).toEqual(['ServedBP', 'X1']);
    // Stopped: no record, no log left, and the CLI is in-process again.
    expect(existsSync(path.join(h.home, 'mock', 'serve.json'))).toBe(false);
    expect(existsSync(`${h.stateFile}.wal`) || existsSync(`${h.stateFile}.wal.old`)).toBe(false);
    const after = await h.run(['mock', 'status', '--query', 'serve']);
    expect(after.json()).toBeNull();
  });

  test('reset, fixture and recording loads refuse while it runs (exit 1, one line naming URL and pid); sign-in generation goes to its log', async () => {
    const h = home();
    await h.run(['blueprint', 'create', '--name', 'Kept', '--sponsor', 'me', '-o', 'none']);
    const server = await start(h);
    const pid = server.child.pid!;
    for (const args of [['mock', 'reset', '--yes'], ['mock', 'reset', '--fixture', 'contoso', '--yes'], ['mock', 'reset', '--seed', h.home, '--yes']]) {
      const r = await h.run(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(stderrLines(r)).toEqual([expect.stringMatching(new RegExp(`^error: agentid mock serve is running on this AGENTID_HOME at ${server.url.replace(/[.:/]/g, '\\$&')} \\(pid ${pid}\\), so .*stop it first`))]);
    }
    // An agent created through the server, then sign-ins generated from another process: the
    // generator sees the agent (snapshot plus log), appends to the shared log, the server lists them.
    expect((await h.run(['agent', 'create', '--blueprint', 'Kept', '--name', 'Signing Agent', '--sponsor', 'me', '-o', 'none'])).code).toBe(0);
    const gen = await h.run(['mock', 'signins', 'generate', '--count', '25', '--days', '1', '-o', 'json']);
    expect(gen.code, gen.stderr).toBe(0);
    expect(gen.json()).toMatchObject({ count: 25 });
    const listed = await h.run(['logs', 'signins', '--since', '2d', '--all', '-o', 'json', '--query', 'length(@)']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.json<number>()).toBeGreaterThanOrEqual(25);
    await server.stop();
    expect(namesOf(h.stateFile, 'agentIdentityBlueprint')).toEqual(['Kept']);
    expect(namesOf(h.stateFile, 'agentIdentity')).toEqual(['Signing Agent']);
  });

  test('a second mock serve on the same home refuses; after kill -9 the stale record is taken over', async () => {
    const h = home();
    const first = await start(h);
    const second = await h.run(['mock', 'serve', '--port', '0']);
    expect(second.code).toBe(1);
    expect(second.stdout).toBe('');
    expect(stderrLines(second)).toEqual([`error: agentid mock serve is running on this AGENTID_HOME at ${first.url} (pid ${first.child.pid}), so a second one cannot serve it: stop it first (Ctrl-C, or kill ${first.child.pid}), or use another AGENTID_HOME.`]);

    expect((await h.run(['blueprint', 'create', '--name', 'Before Kill', '--sponsor', 'me', '-o', 'none'])).code).toBe(0);
    first.child.kill('SIGKILL');
    await first.stop();
    expect(existsSync(path.join(h.home, 'mock', 'serve.json'))).toBe(true); // left behind, stale

    const next = await start(h);
    expect(next.child.pid).not.toBe(first.child.pid);
    const record = parseJson<{ pid: number; url: string }>(readFileSync(path.join(h.home, 'mock', 'serve.json'), 'utf8'), 'serve.json');
    expect(record).toMatchObject({ pid: next.child.pid, url: next.url });
    const listed = await h.run(['blueprint', 'list', '--query', '[].displayName']);
    expect(listed.json()).toEqual(['Before Kill']);
    await next.stop();
  });

  test('8 in-process CLIs and 8 served clients at once: every write present, the file valid', async () => {
    const h = home();
    expect((await h.run(['blueprint', 'create', '--name', 'Mixed', '--sponsor', 'me', '-o', 'none'])).code).toBe(0);
    const server = await start(h);
    const jobs = Array.from({ length: 16 }, (_, i) => ({ name: `Mixed Agent ${i + 1}`, served: i % 2 === 1 }));
    const results = await Promise.all(
      jobs.map((j) => h.run(['agent', 'create', '--blueprint', 'Mixed', '--name', j.name, '--sponsor', 'me', '--query', 'id'], j.served ? { env: { AGENTID_GRAPH_URL: server.url } } : {})),
    );
    expect(results.map((r) => ({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }))).toEqual(jobs.map(() => ({ code: 0, stderr: '' })));
    expect(await server.stop()).toEqual({ code: 0, signal: null });
    expect(namesOf(h.stateFile, 'agentIdentity')).toEqual(jobs.map((j) => j.name).sort());
    const listed = await h.run(['agent', 'list', '--blueprint', 'Mixed', '--query', 'length(@)']);
    expect(listed.json()).toBe(16);
  });

  test('kill -9 mid-burst of writes loses no write whose answer was sent', async () => {
    const h = home();
    const server = await start(h, ['--throttle', 'off']);
    const token = (await h.run(['mock', 'token'])).stdout.trim();
    const auth = { Authorization: `Bearer ${token}` };
    const me = ((await (await fetch(`${server.url}/v1.0/me`, { headers: auth })).json()) as { id: string }).id;
    const acked: string[] = [];
    let sent = 0;
    let stop = false;
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const name = `burst-${w}-${i}`;
        sent++;
        try {
          const r = await fetch(`${server.url}/beta/applications/microsoft.graph.agentIdentityBlueprint`, {
            method: 'POST',
            headers: { ...auth, 'Content-Type': 'application/json' },
            body: JSON.stringify({ displayName: name, 'sponsors@odata.bind': [`https://graph.microsoft.com/v1.0/users/${me}`] }),
          });
          if (r.status === 201) acked.push(name);
          else await r.arrayBuffer();
        } catch {
          return; // the server is gone
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    const deadline = Date.now() + 20_000;
    while (acked.length < 150 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    server.child.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    await server.stop();
    // The next process on the home replays the log into tenant.json.
    const listed = await h.run(['mock', 'status', '--query', 'objects.agentIdentityBlueprint']);
    expect(listed.code, listed.stderr).toBe(0);
    const present = new Set(namesOf(h.stateFile, 'agentIdentityBlueprint'));
    const lost = acked.filter((n) => !present.has(n));
    expect({ lost, ackedAtLeast150: acked.length >= 150 }).toEqual({ lost: [], ackedAtLeast150: true });
    expect(listed.json()).toBe(present.size);
    expect(present.size).toBeLessThanOrEqual(sent);
    expect(existsSync(`${h.stateFile}.wal`)).toBe(false);
  });
});
