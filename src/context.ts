import os from 'node:os';
import path from 'node:path';
import type { Writable, Readable } from 'node:stream';
import type { GraphClient } from './graph/client.js';
import type { Chooser } from './graph/resolve.js';
import type { Column } from './output/index.js';
import type { Messenger } from './output/messages.js';
import type { PromptContext } from './output/prompt.js';
import { OperationError, UsageError } from './errors.js';
import type { Profile, Selection } from './config.js';

// Everything a command needs, behind lazy getters: building the Graph client loads the Graph
// SDK, and the in-process emulator loads the whole emulator, so neither happens for --help.

export interface IO {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  stdin: Readable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export interface GlobalOptions {
  output?: string | undefined;
  query?: string | undefined;
  debug?: boolean | undefined;
  color?: boolean | undefined;
  quiet?: boolean | undefined;
  profile?: string | undefined;
  /** #6: record every Graph request/response pair into this directory (also AGENTID_RECORD). */
  record?: string | undefined;
  anonymize?: boolean | undefined;
  /** Issue 12 (az habits): errors only on stderr; one line per Graph request. */
  onlyShowErrors?: boolean | undefined;
  verbose?: boolean | undefined;
}

import type { SignInHost, Target } from './target.js';
export type { Target } from './target.js';

const CLOUD_GRAPH: Record<Profile['cloud'], string> = {
  public: 'https://graph.microsoft.com',
  usgov: 'https://graph.microsoft.us',
  usgovdod: 'https://dod-graph.microsoft.us',
  china: 'https://microsoftgraph.chinacloudapi.cn',
};

export class CliContext implements SignInHost {
  private graphClient: GraphClient | undefined;
  private bannerShown = false;
  globals: GlobalOptions = {};
  /** A successful command's exit status other than 0 (plan --detailed-exitcode). */
  exitCode: number | undefined;
  /** What set the Graph URL in use (a variable or a flag), for "could not reach" messages. */
  graphUrlSource: string | undefined;

  constructor(readonly io: IO) {}

  get env(): NodeJS.ProcessEnv {
    return this.io.env;
  }

  /** AGENTID_HOME, default ~/.agentid: the emulated tenant's state and (later) profiles. */
  home(): string {
    const h = this.env.AGENTID_HOME;
    return h && h.trim() ? path.resolve(h) : path.join(os.homedir(), '.agentid');
  }

  stateFile(): string {
    return path.join(this.home(), 'mock', 'tenant.json');
  }

  private selected: Selection | undefined;
  private tokenFn: ((signal?: AbortSignal) => Promise<string | undefined>) | undefined;

  /** The access token the Graph client sends (the same sign-in, not a second one): for `status`. */
  async accessToken(): Promise<string | undefined> {
    await this.graph();
    return this.tokenFn?.();
  }

  /** The profile this command uses (--profile, AGENTID_PROFILE, `profile use`, AZURE_*, local). */
  async selection(): Promise<Selection> {
    if (this.selected) return this.selected;
    // Loaded here, not at the top: config.ts brings zod, which --help must not load.
    const { readConfig, selectProfile } = await import('./config.js');
    this.selected = selectProfile(readConfig(this.home()), this.env, this.globals.profile);
    return this.selected;
  }

  private targetChosen: Promise<Target> | undefined;

  async target(): Promise<Target> {
    this.targetChosen ??= (async () => {
      const served = this.env.AGENTID_GRAPH_URL?.trim();
      const profile = served ? await this.servedProfile() : (await this.selection()).profile;
      return this.viaServeRecord(this.targetFor(profile, served));
    })();
    return this.targetChosen;
  }

  /**
   * Issue 11: while `agentid mock serve` runs on this home it is the tenant's only writer, so an
   * in-process command sends its requests there (the banner says so) instead of forking its state.
   */
  private async viaServeRecord(t: Target): Promise<Target> {
    if (t.kind !== 'emulated' || t.mode !== 'in-process') return t;
    const { servedUrl } = await import('./mock/serveRecord.js');
    const record = await servedUrl(t.stateFile);
    if (!record) return t;
    if (!record.url) throw new OperationError(`agentid mock serve (pid ${record.pid}) is still starting on this AGENTID_HOME; run the command again once it printed its URL, or stop it.`);
    return {
      kind: 'emulated',
      mode: 'served',
      baseUrl: new URL(record.url).origin,
      profile: t.profile,
      serveRecord: { pid: record.pid, stateFile: t.stateFile, ...(record.tls ? { caPath: record.tls.certPath } : {}) },
    };
  }

  /** Where a profile points (AGENTID_GRAPH_URL, when set, replaces an emulated profile's URL). */
  targetFor(profile: Profile, served?: string): Target {
    const url = served ?? profile.graphUrl;
    if (profile.target === 'emulated' && url) {
      let u: URL;
      try {
        u = new URL(url);
      } catch {
        throw new UsageError(`AGENTID_GRAPH_URL '${url}' is not a URL; set it to the base URL 'agentid mock serve' printed, e.g. http://127.0.0.1:8080.`);
      }
      return { kind: 'emulated', mode: 'served', baseUrl: u.origin, profile };
    }
    if (profile.target === 'emulated') return { kind: 'emulated', mode: 'in-process', baseUrl: 'https://graph.microsoft.com', stateFile: this.stateFile(), profile };
    // A real profile may name its Graph URL (a proxy, or the TLS emulator in tests); else its cloud's.
    return { kind: 'real', baseUrl: profile.graphUrl ? new URL(profile.graphUrl).origin : CLOUD_GRAPH[profile.cloud], profile };
  }

  /** AGENTID_GRAPH_URL wins over profiles: an emulated profile keeps its credential, else the admin. */
  private async servedProfile(): Promise<Profile> {
    const explicit = this.globals.profile || this.env.AGENTID_PROFILE;
    const p = explicit ? (await this.selection()).profile : undefined;
    return p?.target === 'emulated' ? p : { name: 'local', target: 'emulated', credential: 'emulated', cloud: 'public', apiVersion: 'v1.0' };
  }

  get isTTY(): boolean {
    return !!this.io.stdout.isTTY;
  }

  /** Prompts are allowed only on a terminal and never in CI: a pipeline must not hang. */
  get interactive(): boolean {
    const ci = (this.env.CI ?? '').toLowerCase();
    return !!this.io.stdin.isTTY && !!this.io.stderr.isTTY && !(ci && ci !== 'false' && ci !== '0');
  }

  get color(): boolean {
    if (this.globals.color === false || this.env.NO_COLOR) return false;
    return !!this.io.stdout.isTTY;
  }

  async graph(): Promise<GraphClient> {
    if (this.graphClient) return this.graphClient;
    const { GraphClient } = await import('./graph/client.js');
    const target = await this.target();
    this.graphUrlSource = this.env.AGENTID_GRAPH_URL?.trim() ? 'AGENTID_GRAPH_URL'
      : target.profile.graphUrl ? `--graph-url of profile '${target.profile.name}' (agentid login --graph-url URL)`
      : `the ${target.profile.cloud} cloud of profile '${target.profile.name}' (agentid login --cloud)`;
    if (target.kind === 'emulated') {
      const { checkEmulatedAllowed } = await import('./tenantGuard.js');
      checkEmulatedAllowed(this.env);
    }
    // --verbose keeps only the summary line of each response ("< 200 GET /v1.0/… (12 ms)").
    const debug = this.globals.debug
      ? (line: string) => this.io.stderr.write(`[debug] ${line}\n`)
      : this.globals.verbose
        ? (line: string) => {
            if (/^< \d/.test(line)) this.io.stderr.write(`[verbose] ${line.slice(2)}\n`);
          }
        : undefined;
    const envVersion = this.env.AGENTID_API_VERSION;
    const version = (envVersion === 'beta' || envVersion === 'v1.0' ? envVersion : target.profile.apiVersion) as 'v1.0' | 'beta';
    const { tokenProvider } = await import('./graph/signin.js');
    const recorder = await this.recorder();
    if (target.kind === 'emulated' && target.mode === 'in-process') {
      const { createInProcessTransport } = await import('./mock/inprocess.js');
      const transport = createInProcessTransport(target.stateFile);
      this.graphClient = new GraphClient({
        baseUrl: target.baseUrl,
        version,
        transport,
        token: (this.tokenFn = await tokenProvider(this, target, transport)),
        ...(debug ? { debug } : {}),
        ...(recorder ? { recorder } : {}),
      });
    } else {
      const { createHttpTransport } = await import('./graph/middleware/transport.js');
      // A served emulator with --tls found through the serve record: trust its own certificate.
      const caPath = target.kind === 'emulated' && target.mode === 'served' ? target.serveRecord?.caPath : undefined;
      const transport = createHttpTransport(caPath ? { ca: (await import('node:fs')).readFileSync(caPath, 'utf8') } : {});
      this.graphClient = new GraphClient({
        baseUrl: target.baseUrl,
        version,
        transport,
        token: (this.tokenFn = await tokenProvider(this, target, transport)),
        // The token may go to a host outside Graph's own only when the profile named it.
        ...(target.kind === 'emulated' || target.profile.graphUrl ? { customHosts: [new URL(target.baseUrl).hostname] } : {}),
        ...(debug ? { debug } : {}),
        ...(recorder ? { recorder } : {}),
      });
    }
    await this.banner();
    return this.graphClient;
  }

  /** --record DIR / AGENTID_RECORD (#6): the middleware that writes fixture files; loaded only then. */
  private async recorder(): Promise<import('./graph/middleware/record.js').RecordMiddleware | undefined> {
    const dir = (this.globals.record ?? this.env.AGENTID_RECORD ?? '').trim();
    if (!dir) {
      if (this.globals.anonymize) throw new UsageError('--anonymize applies to a recording; add --record DIR (or set AGENTID_RECORD).');
      return undefined;
    }
    // Checked before the first request, so a bad directory fails the command before it writes.
    const { statSync } = await import('node:fs');
    const st = statSync(path.resolve(dir), { throwIfNoEntry: false });
    if (st && !st.isDirectory()) throw new UsageError(`--record ${dir} is a file; name a directory (it is created if missing) for the recordings.`);
    const { Recorder, RecordMiddleware, anonymizeKeyFile } = await import('./graph/middleware/record.js');
    const anonymize = this.globals.anonymize || /^(1|true|yes)$/i.test(this.env.AGENTID_ANONYMIZE ?? '');
    return new RecordMiddleware(new Recorder({ dir: path.resolve(dir), ...(anonymize ? { anonymize: { keyFile: anonymizeKeyFile(this.home(), dir) } } : {}) }));
  }

  /** On a terminal, every command that talks to a tenant names it first (stderr). */
  private async banner(): Promise<void> {
    if (this.bannerShown || this.globals.quiet) return;
    const target = await this.target();
    if (!this.io.stderr.isTTY) {
      // Off a terminal too, the emulated tenant says so (issue 12 #1): a pipeline must not pass on fake data unawares.
      this.bannerShown = true;
      const { emulatedNotice, emulatedNoteWanted } = await import('./tenantGuard.js');
      if (target.kind === 'emulated' && emulatedNoteWanted(this.env)) this.io.stderr.write(`${emulatedNotice(target)}\n`);
      return;
    }
    this.bannerShown = true;
    let name = target.kind === 'real' ? 'unknown' : 'Contoso';
    try {
      const { getOrganization } = await import('./graph/directory.js');
      const org = await getOrganization(this.graphClient!);
      const domain = org?.verifiedDomains?.find((d) => d.isDefault)?.name;
      name = `${org?.displayName ?? 'unknown'}${domain ? ` (${domain})` : ''}`;
    } catch {
      /* the banner must never fail a command */
    }
    const where =
      target.kind === 'real' ? `real tenant ${target.profile.tenantId ?? ''} (${target.profile.cloud})`.replace('  ', ' ')
      : target.mode === 'in-process' ? 'emulated tenant, in-process'
      : target.serveRecord ? `emulated tenant at ${target.baseUrl} (the mock serve running on this home, pid ${target.serveRecord.pid})`
      : `emulated tenant at ${target.baseUrl}`;
    this.io.stderr.write(`Tenant: ${name} · ${where} · profile ${target.profile.name}\n`);
  }

  private vault: Promise<import('./graph/tokenCache.js').TokenVault | { reason: string }> | undefined;

  /** The persistent token cache (real tenants), or why tokens stay in memory. Opened once. */
  tokenVault(): Promise<import('./graph/tokenCache.js').TokenVault | { reason: string }> {
    this.vault ??= import('./graph/tokenCache.js').then(({ openVault }) =>
      openVault({ home: this.home(), env: this.env, ...(this.globals.debug ? { onError: (m: string) => this.io.stderr.write(`[debug] ${m}\n`) } : {}) }),
    );
    return this.vault;
  }

  private stdinSecretRead: Promise<string | undefined> | undefined;

  /** A client secret: asked for (masked) on a terminal, else the first line of stdin. Read once. */
  async stdinSecret(): Promise<string | undefined> {
    this.stdinSecretRead ??= (async () => {
      if (this.interactive) {
        const { askSecret } = await import('./output/prompt.js');
        return askSecret(this.promptContext(false), { message: 'Client secret', flag: '--client-secret-stdin' });
      }
      if (this.io.stdin.isTTY) return undefined;
      let data = '';
      for await (const chunk of this.io.stdin) data += String(chunk);
      return data.split(/\r?\n/)[0]?.trim() || undefined;
    })();
    return this.stdinSecretRead;
  }

  async messenger(): Promise<Messenger> {
    const { createMessenger } = await import('./output/messages.js');
    return createMessenger(this.io.stderr, { color: this.color && !!this.io.stderr.isTTY, quiet: !!this.globals.quiet, onlyErrors: !!this.globals.onlyShowErrors });
  }

  promptContext(assumeYes: boolean): PromptContext {
    return { interactive: this.interactive, assumeYes, input: this.io.stdin, output: this.io.stderr };
  }

  /** On a terminal an ambiguous name offers a choice; elsewhere it is an error listing candidates. */
  chooser(): Chooser | undefined {
    if (!this.interactive) return undefined;
    return async (what, candidates) => {
      const { choose } = await import('./output/prompt.js');
      const { plural } = await import('./graph/resolve.js');
      return choose(this.promptContext(false), {
        message: `Several ${plural(what)} match; which one?`,
        flag: `an object id`,
        choices: candidates.map((c) => ({ name: c.label, value: c.value })),
      });
    };
  }

  /**
   * Renders a result to stdout in the format the user asked for. `summary` replaces the data
   * in a table (a human view of a compound result); scripts always get the full JSON.
   */
  async print(data: unknown, columns?: Column[], summary?: unknown): Promise<void> {
    const { render, resolveFormat } = await import('./output/index.js');
    const format = resolveFormat(this.globals.output, this.isTTY);
    const shown = format === 'table' && !this.globals.query && summary !== undefined ? summary : data;
    const text = await render(shown, {
      format,
      ...(this.globals.query ? { query: this.globals.query } : {}),
      ...(columns ? { columns } : {}),
      isTTY: this.isTTY,
      color: this.color,
      width: (this.io.stdout as { columns?: number }).columns,
    });
    if (text) this.io.stdout.write(text);
    if (this.globals.query) await this.warnEmptyProjection(shown, this.globals.query);
  }

  /** Issue 12: a --query that finds nothing in one object is almost always a wrong field name. */
  private async warnEmptyProjection(data: unknown, query: string): Promise<void> {
    if (typeof data !== 'object' || data === null || Array.isArray(data)) return;
    const { applyQuery } = await import('./output/index.js');
    if ((await applyQuery(data, query)) !== null) return;
    const fields = Object.keys(data).filter((k) => !k.startsWith('@odata.'));
    (await this.messenger()).warn(`--query '${query}' matched nothing in the result; its top-level fields are: ${fields.join(', ')}.`);
  }

  /**
   * Before a command runs: --only-show-errors implies --quiet, and without -o the output format
   * is the one `agentid config set output` stored (issue 12), if any.
   */
  async applyDefaults(): Promise<void> {
    if (this.globals.onlyShowErrors) this.globals.quiet = true;
    if (this.globals.output !== undefined) return;
    const { readSettings } = await import('./config.js');
    const output = readSettings(this.home()).output;
    if (output) this.globals.output = output;
  }

  /** Fails early (before any write) when -o or --query is unusable. */
  async checkOutputOptions(): Promise<void> {
    const { resolveFormat, applyQuery } = await import('./output/index.js');
    resolveFormat(this.globals.output, this.isTTY);
    if (this.globals.query) await applyQuery({}, this.globals.query).catch((err: unknown) => {
      if (err instanceof UsageError && /Invalid --query/.test(err.message)) throw err;
    });
  }
}
