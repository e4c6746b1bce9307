// Every Graph failure, including each failed $batch item and a transport failure, becomes one
// GraphRequestError, built only here. The raw request and response hang off non-enumerable
// properties so that JSON.stringify, util.inspect in logs, and test snapshots never carry a
// token or a body (Azure core's restError.ts does the same).

export interface GraphErrorInit {
  status: number;
  code: string;
  message: string;
  requestId?: string | undefined;
  clientRequestId?: string | undefined;
  date?: string | undefined;
  method?: string | undefined;
  path?: string | undefined;
  retryAfterSeconds?: number | undefined;
}

export class GraphRequestError extends Error {
  override name = 'GraphRequestError';
  readonly status: number;
  readonly code: string;
  readonly requestId: string | undefined;
  readonly clientRequestId: string | undefined;
  readonly date: string | undefined;
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  declare readonly response?: Response;

  constructor(init: GraphErrorInit, response?: Response) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId;
    this.clientRequestId = init.clientRequestId;
    this.date = init.date;
    this.method = init.method;
    this.path = init.path;
    this.retryAfterSeconds = init.retryAfterSeconds;
    if (response) Object.defineProperty(this, 'response', { value: response, enumerable: false });
  }

  /** One line for humans: `Request_ResourceNotFound: Resource 'x' does not exist… (request-id: …)`. */
  describe(): string {
    const id = this.requestId ? ` (request-id: ${this.requestId}${this.date ? `, date: ${this.date}` : ''})` : '';
    return `${this.code}: ${this.message}${id}`;
  }

  toJSON() {
    return { status: this.status, code: this.code, message: this.message, requestId: this.requestId, date: this.date };
  }
}

/** Reads Graph's error body (`error.code`, `error.message`, `error.innerError` / `innererror`). */
export function graphErrorFromBody(
  status: number,
  body: unknown,
  headers: Headers,
  request: { method?: string; path?: string } = {},
  response?: Response,
): GraphRequestError {
  const err = (body as { error?: Record<string, unknown> } | null)?.error;
  const inner = (err?.innerError ?? err?.innererror ?? {}) as Record<string, unknown>;
  const retryAfter = parseRetryAfter(headers.get('Retry-After'), new Date());
  return new GraphRequestError(
    {
      status,
      code: typeof err?.code === 'string' ? err.code : statusCode(status),
      message: typeof err?.message === 'string' && err.message ? err.message : `Graph answered HTTP ${status}.`,
      requestId: (inner['request-id'] as string | undefined) ?? headers.get('request-id') ?? undefined,
      clientRequestId: (inner['client-request-id'] as string | undefined) ?? headers.get('client-request-id') ?? undefined,
      date: inner.date as string | undefined,
      method: request.method,
      path: request.path,
      retryAfterSeconds: retryAfter === undefined ? undefined : Math.ceil(retryAfter / 1000),
    },
    response,
  );
}

export function transportError(cause: unknown, request: { method?: string; path?: string }, host?: string): GraphRequestError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new GraphRequestError({ status: 0, code: 'NetworkError', message: `Could not reach Microsoft Graph${host ? ` at ${host}` : ''}: ${message}`, ...request });
}

function statusCode(status: number): string {
  if (status === 429) return 'TooManyRequests';
  if (status === 401) return 'InvalidAuthenticationToken';
  if (status === 403) return 'Authorization_RequestDenied';
  if (status === 404) return 'Request_ResourceNotFound';
  return `HTTP${status}`;
}

/**
 * Retry-After as milliseconds: Graph sends delta-seconds, RFC 9110 also allows an HTTP date.
 * Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now: Date): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const when = Date.parse(trimmed);
  if (Number.isNaN(when)) return undefined;
  return Math.max(0, when - now.getTime());
}
