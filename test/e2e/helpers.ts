import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// End-to-end tests run the built CLI (`npm run build` first) as a child process, the way a script
// or a CI job would: stdin is a pipe, never a terminal, CI=true, and every test file gets its own
// throw-away AGENTID_HOME so files can run in parallel without seeing each other's tenant.

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin', 'agentid.js');

// A spawn that outlives this is a hung prompt or a lost lock: fail loudly instead of timing out
// the whole test with no output.
const SPAWN_TIMEOUT_MS = 30_000;

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  json<T = any>(): T;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  input?: string;
}

/** The parent's environment minus anything that would change how agentid behaves or renders. */
export function baseEnv(home: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['FORCE_COLOR', 'NO_COLOR', 'AGENTID_GRAPH_URL', 'AGENTID_API_VERSION', 'AGENTID_MOCK_TRACE', 'NODE_OPTIONS', 'AGENTID_REQUIRE_REAL_TENANT', 'AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PATH', 'AZURE_FEDERATED_TOKEN_FILE']) delete env[k];
  // AGENTID_TOKEN_CACHE=memory: a test run never touches the developer's own keyring; the token
  // cache tests opt in with a store of their own (test/e2e/token-cache.test.ts).
  // AGENTID_EMULATED_NOTE=off: tests use the emulated tenant on purpose; test/e2e/tenant-guard.test.ts
  // turns the note back on and checks it.
  Object.assign(env, { CI: 'true', AGENTID_HOME: home, AGENTID_TOKEN_CACHE: 'memory', AGENTID_EMULATED_NOTE: 'off' });
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${what} is not JSON:\n${text}`);
  }
}

/** A temporary AGENTID_HOME with a `run` bound to it; call `remove()` in afterAll. */
export function tempHome(prefix = 'agentid-e2e-') {
  const home = mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    home,
    stateFile: path.join(home, 'mock', 'tenant.json'),
    run: (args: string[], opts: RunOptions = {}) => run(args, { ...opts, env: { AGENTID_HOME: home, ...opts.env } }),
    remove: () => rmSync(home, { recursive: true, force: true }),
  };
}

export function run(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const home = opts.env?.AGENTID_HOME;
  if (!home) throw new Error('run() needs env.AGENTID_HOME: never let a test touch ~/.agentid');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: baseEnv(home, opts.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`agentid ${args.join(' ')} did not finish in ${SPAWN_TIMEOUT_MS} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, SPAWN_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, json: () => parseJson(stdout, `stdout of 'agentid ${args.join(' ')}'`) });
    });
    // Closing stdin at once: anything that tried to read an answer from it would see EOF.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs `fn` over `items` with at most `limit` at a time (spawning 50 CLIs at once starves 2 cores). */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A JSON fixture from test/fixtures. */
export function fixture<T = any>(name: string): T {
  return parseJson<T>(readFileSync(path.join(ROOT, 'test', 'fixtures', name), 'utf8'), `fixture ${name}`);
}

export const stderrLines = (r: RunResult): string[] => r.stderr.split('\n').filter((l) => l !== '');

/** `agentid mock serve --port 0 [extraArgs]` as a child; resolves once it has printed its URL. */
export async function startServer(home: string, extraArgs: string[] = []): Promise<{ url: string; child: ChildProcess; stderr: () => string; stop: () => Promise<{ code: number | null; signal: NodeJS.Signals | null }> }> {
  const child = spawn(process.execPath, [BIN, 'mock', 'serve', '--port', '0', ...extraArgs], { cwd: ROOT, env: baseEnv(home), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mock serve printed no URL in ${SPAWN_TIMEOUT_MS} ms; stderr: ${err}`));
    }, SPAWN_TIMEOUT_MS);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`mock serve exited (${code}) before printing its URL; stderr: ${err}`));
    });
  });
  return {
    url,
    child,
    stderr: () => err,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/**
 * Runs agentid on a pseudo-terminal (util-linux `script`), with CI unset, so that it is
 * interactive; stdout goes to stdoutFile, and `terminal` is what the terminal showed.
 */
export function runOnTerminal(home: string, args: string[], stdoutFile: string, env: Record<string, string | undefined> = {}): Promise<{ code: number | null; terminal: string; stdout: string }> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = `${[process.execPath, BIN, ...args].map(quote).join(' ')} > ${quote(stdoutFile)}`;
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env: baseEnv(home, { CI: undefined, TERM: 'dumb', ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
    let terminal = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (terminal += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (terminal += d));
    child.on('close', (c) => resolve({ code: c, terminal, stdout: readFileSync(stdoutFile, 'utf8') }));
  });
}

/** Subcommand names from a help text's "Commands:" section (commander's layout). */
export function subcommands(help: string): string[] {
  const section = /(?:^|\n)Commands:\n([\s\S]*?)(?:\n\n|$)/.exec(help);
  if (!section) return [];
  return section[1]!
    .split('\n')
    .map((l) => /^  (\S+)/.exec(l)?.[1])
    .filter((n): n is string => !!n && n !== 'help');
}

/** The records of a bulk journal, the line a kill cut short left out. */
export function journalRecords(file: string): any[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .flatMap((l) => {
      try {
        return [JSON.parse(l)];
      } catch {
        return [];
      }
    });
}

/**
 * Runs agentid with `args` on `home` and SIGKILLs it as soon as `when` holds for the records of
 * its journal (kill -9 at a chosen point of a journaled run); rejects if the run finished first.
 */
export function killWhen(home: string, args: string[], env: Record<string, string>, journal: string, when: (recs: any[]) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: baseEnv(home, env), stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.end();
    let killed = false;
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setInterval(() => {
      if (killed || !existsSync(journal)) return;
      if (when(journalRecords(journal))) {
        killed = true;
        child.kill('SIGKILL');
      }
    }, 2);
    child.on('exit', () => {
      clearInterval(timer);
      if (killed) resolve();
      else reject(new Error(`the run finished before the kill point; stderr: ${stderr}`));
    });
  });
}
