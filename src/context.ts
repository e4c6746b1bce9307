import os from 'node:os';
import path from 'node:path';
import type { Writable, Readable } from 'node:stream';
import type { GraphClient } from './graph/client.js';
import type { Chooser } from './graph/resolve.js';
import type { Column } from './output/index.js';
import type { Messenger } from './output/messages.js';
import type { PromptContext } from './output/prompt.js';
import { UsageError } from './errors.js';

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
}

/** Where requests go. Issue #3 adds real tenants through profiles. */
export type Target =
  | { kind: 'emulated'; mode: 'in-process'; baseUrl: string; stateFile: string }
  | { kind: 'emulated'; mode: 'served'; baseUrl: string };

export class CliContext {
  private graphClient: GraphClient | undefined;
  private bannerShown = false;
  globals: GlobalOptions = {};

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

  target(): Target {
    const served = this.env.AGENTID_GRAPH_URL?.trim();
    if (served) {
      let u: URL;
      try {
        u = new URL(served);
      } catch {
        throw new UsageError(`AGENTID_GRAPH_URL '${served}' is not a URL; set it to the base URL 'agentid mock serve' printed, e.g. http://127.0.0.1:8080.`);
      }
      return { kind: 'emulated', mode: 'served', baseUrl: u.origin };
    }
    return { kind: 'emulated', mode: 'in-process', baseUrl: 'https://graph.microsoft.com', stateFile: this.stateFile() };
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
    const target = this.target();
    const debug = this.globals.debug ? (line: string) => this.io.stderr.write(`[debug] ${line}\n`) : undefined;
    const version = (this.env.AGENTID_API_VERSION === 'beta' ? 'beta' : 'v1.0') as 'v1.0' | 'beta';
    if (target.mode === 'in-process') {
      const { createInProcessTransport } = await import('./mock/inprocess.js');
      this.graphClient = new GraphClient({
        baseUrl: target.baseUrl,
        version,
        transport: createInProcessTransport(target.stateFile),
        token: async () => undefined,
        ...(debug ? { debug } : {}),
      });
    } else {
      const { fetchTransport } = await import('./graph/middleware/transport.js');
      this.graphClient = new GraphClient({
        baseUrl: target.baseUrl,
        version,
        transport: fetchTransport,
        token: async () => undefined,
        customHosts: [new URL(target.baseUrl).hostname],
        ...(debug ? { debug } : {}),
      });
    }
    await this.banner();
    return this.graphClient;
  }

  /** On a terminal, every command that talks to a tenant names it first (stderr). */
  private async banner(): Promise<void> {
    if (this.bannerShown || !this.io.stderr.isTTY || this.globals.quiet) return;
    this.bannerShown = true;
    const target = this.target();
    let name = 'Contoso';
    try {
      const { getOrganization } = await import('./graph/directory.js');
      const org = await getOrganization(this.graphClient!);
      const domain = org?.verifiedDomains?.find((d) => d.isDefault)?.name;
      name = `${org?.displayName ?? 'unknown'}${domain ? ` (${domain})` : ''}`;
    } catch {
      /* the banner must never fail a command */
    }
    const where = target.mode === 'in-process' ? 'emulated tenant, in-process' : `emulated tenant at ${target.baseUrl}`;
    this.io.stderr.write(`Tenant: ${name} · ${where}\n`);
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
