import os from 'node:os';
import path from 'node:path';
import type { Writable, Readable } from 'node:stream';
import type { GraphClient } from './graph/client.js';
import type { Chooser } from './graph/resolve.js';
import type { Column } from './output/index.js';
import type { Messenger } from './output/messages.js';
import type { PromptContext } from './output/prompt.js';
import { UsageError } from './errors.js';
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
}

/** Where requests go: the profile's tenant (#3), or the served emulator AGENTID_GRAPH_URL names. */
export type Target =
  | { kind: 'emulated'; mode: 'in-process'; baseUrl: string; stateFile: string; profile: Profile }
  | { kind: 'emulated'; mode: 'served'; baseUrl: string; profile: Profile }
  | { kind: 'real'; baseUrl: string; profile: Profile };

const CLOUD_GRAPH: Record<Profile['cloud'], string> = {
  public: 'https://graph.microsoft.com',
  usgov: 'https://graph.microsoft.us',
  usgovdod: 'https://dod-graph.microsoft.us',
  china: 'https://microsoftgraph.chinacloudapi.cn',
};

export class CliContext {
  private graphClient: GraphClient | undefined;
  private bannerShown = false;
  globals: GlobalOptions = {};
  /** A successful command's exit status other than 0 (plan --detailed-exitcode). */
  exitCode: number | undefined;

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

  async target(): Promise<Target> {
    const served = this.env.AGENTID_GRAPH_URL?.trim();
    const profile = served ? await this.servedProfile() : (await this.selection()).profile;
    return this.targetFor(profile, served);
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
    const debug = this.globals.debug ? (line: string) => this.io.stderr.write(`[debug] ${line}\n`) : undefined;
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
      const transport = createHttpTransport();
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
    if (this.bannerShown || !this.io.stderr.isTTY || this.globals.quiet) return;
    this.bannerShown = true;
    const target = await this.target();
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
    return createMessenger(this.io.stderr, { color: this.color && !!this.io.stderr.isTTY, quiet: !!this.globals.quiet });
  }

  promptContext(assumeYes: boolean): PromptContext {
    return { interactive: this.interactive, assumeYes, input: this.io.stdin, output: this.io.stderr };
  }

  /** On a terminal an ambiguous name offers a choice; elsewhere it is an error listing candidates. */
  chooser(): Chooser | undefined {
    if (!this.interactive) return undefined;
    return async (what, candidates) => {
      const { choose } = await import('./output/prompt.js');
      return choose(this.promptContext(false), {
        message: `Several ${what}s match; which one?`,
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
