import { ChainedMiddleware, headersOf, urlOf, type Context } from './types.js';

export type TokenProvider = (signal?: AbortSignal) => Promise<string | undefined>;

const GRAPH_HOSTS = new Set([
  'graph.microsoft.com',
  'graph.microsoft.us',
  'dod-graph.microsoft.us',
  'microsoftgraph.chinacloudapi.cn',
]);

/**
 * Attaches the bearer token, but only to Graph's own hosts and the hosts named in
 * `customHosts` (a served emulator on localhost): a nextLink or a redirect that points
 * anywhere else never receives the token.
 */
export class AuthMiddleware extends ChainedMiddleware {
  constructor(
    private readonly getToken: TokenProvider,
    private readonly customHosts: ReadonlySet<string> = new Set(),
  ) {
    super();
  }

  async execute(context: Context): Promise<void> {
    const host = urlOf(context).hostname.toLowerCase();
    if (GRAPH_HOSTS.has(host) || this.customHosts.has(host)) {
      const token = await this.getToken(context.options?.signal ?? undefined);
      if (token) headersOf(context).Authorization = `Bearer ${token}`;
    }
    await this.callNext(context);
  }
}
