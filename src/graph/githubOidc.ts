import { AuthError } from '../errors.js';
import { cloudOfAuthority, type Cloud } from '../config.js';

// GitHub Actions' OIDC token, the client assertion of a `--github-oidc` sign-in. A job granted
// `permissions: id-token: write` gets ACTIONS_ID_TOKEN_REQUEST_URL and
// ACTIONS_ID_TOKEN_REQUEST_TOKEN; `GET $URL&audience=AUD` with `Authorization: bearer $TOKEN`
// answers `{"value": "<jwt>"}` (GitHub docs, "About security hardening with OpenID Connect" and
// its oidc-permissions-token reusable; actions/toolkit packages/core/src/oidc-utils.ts, which
// azure/login calls with the audience api://AzureADTokenExchange by default, action.yml). The
// URL already carries a query string (api-version), hence `&audience=`.
//
// This is not Graph, so it does not go through the Graph client (src/graph/client.ts) or its
// --debug log: it is Node's fetch, here, and nothing of the request is ever logged. The request
// token is a credential of the running job: it never appears in an error message (GitHub's own
// answer is quoted only with it, and any JWT, cut out) and never reaches a file.

/**
 * The audience Entra expects in an external token, per cloud (entra-docs
 * docs/workload-id/workload-identity-federation-config-app-trust-managed-identity.md: "Public
 * cloud" api://AzureADTokenExchange, "Fairfax" …USGov, "Mooncake" …China). [INFERRED] The GitHub
 * Actions pages (workload-identity-federation-create-trust.md, GitHub's "Configuring OpenID
 * Connect in Azure") give only the public value; the federated credential on the app must carry
 * the same audience as the token, so a national cloud's app registered with its own cloud's
 * value needs that value here.
 */
export const TOKEN_EXCHANGE_AUDIENCE: Record<Cloud, string> = {
  public: 'api://AzureADTokenExchange',
  usgov: 'api://AzureADTokenExchangeUSGov',
  usgovdod: 'api://AzureADTokenExchangeUSGov',
  china: 'api://AzureADTokenExchangeChina',
};

/** The audience for a sign-in at this authority: a national cloud's sign-in host (AZURE_AUTHORITY_HOST in CI) wins over the profile's cloud. */
export function exchangeAudience(cloud: Cloud, authorityHost: string): string {
  return TOKEN_EXCHANGE_AUDIENCE[cloudOfAuthority(authorityHost) ?? cloud];
}

/** Where the token is asked for: the job's URL with the audience appended to its query string. */
export function githubTokenUrl(requestUrl: string, audience: string): string {
  return `${requestUrl}${requestUrl.includes('?') ? '&' : '?'}audience=${encodeURIComponent(audience)}`;
}

export interface GithubOidcRequest {
  requestUrl: string;
  /** ACTIONS_ID_TOKEN_REQUEST_TOKEN: sent as the bearer, nowhere else. */
  requestToken: string;
  audience: string;
}

export type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

const FIX_PERMISSION = 'give the job `permissions: id-token: write` and run agentid in that job, while it runs (the request token lasts only as long as the job)';
const FIX_URL = 'check that ACTIONS_ID_TOKEN_REQUEST_URL is the one GitHub Actions set for this job';
const ENDPOINT = "GitHub's OIDC token endpoint ($ACTIONS_ID_TOKEN_REQUEST_URL)";

/** GitHub's own words from an error body, without anything that looks like a credential. */
function quote(body: string, requestToken: string): string {
  let text = body;
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === 'string') text = parsed.message;
  } catch {
    /* not JSON: the text itself */
  }
  const clean = text
    .split(requestToken).join('[REDACTED]')
    .replace(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*/g, '[REDACTED]')
    .replace(/\s+/g, ' ')
    .trim();
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}

/** A failure worth another try (the endpoint unreachable, 429 or 5xx): what happened, and the fix. */
class Transient extends Error {
  constructor(
    readonly what: string,
    readonly fix: string,
  ) {
    super(`${what}: ${fix}.`);
  }
}

/**
 * Waits before the 2nd and 3rd try. GitHub's token service fails now and then under load, and a
 * pipeline that stops on one such answer must be rerun by hand: actions/toolkit retries too.
 */
const RETRY_DELAYS_MS = [1000, 3000];

/** One fresh GitHub OIDC token (a JWT) for this audience; every failure is one exit-4 line. */
export async function fetchGithubOidcToken(req: GithubOidcRequest, o: { fetch?: FetchFn; signal?: AbortSignal; retryDelaysMs?: number[] } = {}): Promise<string> {
  const delays = o.retryDelaysMs ?? RETRY_DELAYS_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetchOnce(req, o);
    } catch (err) {
      if (!(err instanceof Transient)) throw err;
      if (attempt >= delays.length || o.signal?.aborted) throw new AuthError(`${err.what}${attempt > 0 ? `, ${attempt + 1} times` : ''}: ${err.fix}.`);
      await new Promise((r) => setTimeout(r, delays[attempt]));
    }
  }
}

async function fetchOnce(req: GithubOidcRequest, o: { fetch?: FetchFn; signal?: AbortSignal }): Promise<string> {
  const fetchFn = o.fetch ?? fetch;
  let res: Response;
  try {
    res = await fetchFn(githubTokenUrl(req.requestUrl, req.audience), {
      method: 'GET',
      headers: { Authorization: `bearer ${req.requestToken}`, Accept: 'application/json' },
      ...(o.signal ? { signal: o.signal } : {}),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const why = e.cause?.code ?? e.name;
    throw new Transient(`${ENDPOINT} is unreachable (${why})`, 'run agentid inside the GitHub Actions job that set ACTIONS_ID_TOKEN_REQUEST_URL, on a runner that can reach it');
  }
  const text = await res.text().catch(() => '');
  if (res.status !== 200) {
    const said = quote(text, req.requestToken);
    const what = `${ENDPOINT} answered HTTP ${res.status}${said ? ` (${said})` : ''}`;
    if (res.status >= 500 || res.status === 429) throw new Transient(what, 'GitHub could not issue the token now; rerun the job');
    throw new AuthError(`${what}: ${res.status === 401 || res.status === 403 ? FIX_PERMISSION : FIX_URL}.`);
  }
  let value: unknown;
  try {
    value = (JSON.parse(text) as { value?: unknown }).value;
  } catch {
    value = undefined;
  }
  if (typeof value !== 'string' || value === '') {
    throw new AuthError(`${ENDPOINT} answered 200 without a token (no "value" in its JSON): ${FIX_URL}.`);
  }
  return value;
}

/** ClientAssertionCredential's getAssertion: a fresh GitHub token on every call, as GitHub's tokens last minutes. */
export function githubAssertion(req: GithubOidcRequest, o: { fetch?: FetchFn; retryDelaysMs?: number[] } = {}): () => Promise<string> {
  return () => fetchGithubOidcToken(req, o);
}
