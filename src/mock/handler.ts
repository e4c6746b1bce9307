import { randomUUID } from 'node:crypto';
import { errorBody, GraphErrors, MockGraphError } from './errors.js';
import { parsePath } from './path.js';
import { prefixSystemOptions } from './odata.js';
import type { Store } from './store.js';
import type { Caller, MockContext, MockResult, RouteHandler } from './context.js';
import { applicationsRoute } from './handlers/applications.js';
import { servicePrincipalsRoute } from './handlers/servicePrincipals.js';
import { usersRoute, meRoute } from './handlers/users.js';
import { groupsRoute } from './handlers/groups.js';
import { directoryObjectsRoute, directoryRoute } from './handlers/directory.js';
import { organizationRoute } from './handlers/organization.js';
import { isOAuthPath, oauthRoute } from './handlers/oauth.js';
import { authenticate } from './auth.js';
import { authorizeRequest } from './permissions.js';
import { oauth2PermissionGrantsRoute } from './handlers/grants.js';
import { batchRoute } from './handlers/batch.js';
import type { Traffic } from './traffic.js';
import { auditLogsRoute } from './handlers/auditLogs.js';
import { roleManagementRoute } from './handlers/roleManagement.js';
import { identityRoute } from './handlers/identity.js';
import { identityProtectionRoute } from './handlers/identityProtection.js';
import { withAudit } from './audit.js';
import { MemoryLogStore, type LogStore } from './logs.js';
import { recordTokenSignIn } from './signinGenerator.js';
import { onTokenIssued } from './auth.js';

export interface MockHandlerOptions {
  store: Store;
  now?: () => Date;
  /** Who the caller is when the request carries no token the emulator understands. */
  defaultCaller?: (store: Store) => Promise<Caller>;
  /** Graph's rule (#3): a request without a bearer token is a 401. The CLI's in-process
   * transport and `mock serve` set it; unit tests that drive handlers directly may leave it off,
   * and their tokenless requests then act as `defaultCaller` (or the signed-in user), unchecked. */
  requireToken?: boolean;
  /** Latency, injected faults and throttling (#4, `mock serve` flags); absent: none. */
  traffic?: Traffic;
  /** Sign-in and audit logs (#5); default: in memory. */
  logs?: LogStore;
}

export type MockHandler = (req: Request) => Promise<Response>;

const ROUTES: Record<string, RouteHandler> = {
  applications: applicationsRoute,
  servicePrincipals: servicePrincipalsRoute,
  users: usersRoute,
  me: meRoute,
  groups: groupsRoute,
  directoryObjects: directoryObjectsRoute,
  directory: directoryRoute,
  organization: organizationRoute,
  oauth2PermissionGrants: oauth2PermissionGrantsRoute,
  auditLogs: auditLogsRoute,
  roleManagement: roleManagementRoute,
  identity: identityRoute,
  identityProtection: identityProtectionRoute,
};

/**
 * The emulator: one function from a Fetch Request to a Fetch Response, used in-process by the
 * CLI's transport and served over HTTP by `agentid mock serve`. The order of the steps is fixed
 * here (steps marked with an issue number are added by that issue; keep this list in step):
 *   0. non-Graph endpoints: the OAuth token endpoint and OpenID discovery (#3) answer before
 *      anything below, since they live outside /v1.0 and /beta;
 *   1. request ids: every response carries request-id / client-request-id, errors included;
 *   2. injected latency and faults, then throttling with Retry-After (#4, `mock serve` flags);
 *   3. path parsing: unknown segments and bad keys become Graph-shaped 400s before any handler;
 *   4. caller: authenticate the bearer token, then authorize the request against the permission
 *      table (#3); $batch (#4) runs steps 2–6 again for each inner request (without latency:
 *      inner requests travel in the batch's), since Graph faults and throttles them one by one;
 *   5. route: one handler module per entity set;
 *   6. audit: a successful write records its directoryAudit entries (#5);
 *   7. errors: a MockGraphError becomes Graph's error body; anything else is a 500 with the same
 *      shape, never a stack trace.
 */
export function createMockHandler(opts: MockHandlerOptions): MockHandler {
  const now = opts.now ?? (() => new Date());
  const logs = opts.logs ?? new MemoryLogStore();
  // Every answer of the token endpoint (#3) records a sign-in with the agent facet (#5).
  onTokenIssued(async (info, { store }) => {
    if (store !== opts.store) return;
    await recordTokenSignIn(store, logs, { ...info, keyId: info.servicePrincipalCredentialKeyId }, now());
  });
  // `inner`: a request inside a $batch (#4), run through steps 2–7 again by handlers/batch.ts.
  const handle = async (req: Request, inner: boolean): Promise<Response> => {
    // Step 0 (#3): the sign-in endpoints live beside Graph, not under /v1.0 or /beta.
    if (!inner && isOAuthPath(new URL(req.url).pathname)) return oauthRoute(req, { store: opts.store, now });
    const requestId = randomUUID();
    const clientRequestId = req.headers.get('client-request-id');
    const started = now();
    const baseHeaders: Record<string, string> = {
      'request-id': requestId,
      'client-request-id': clientRequestId ?? requestId,
      'x-ms-ags-diagnostic': JSON.stringify({ ServerInfo: { DataCenter: 'Emulated', Slice: 'E', Ring: '0', ScaleUnit: '000', RoleInstance: 'agentid-mock' } }),
    };
    // Step 2 (#4): a 429/503 refuses here; a 504 fault lets the request act and loses the answer.
    let after: MockGraphError | undefined;
    const errorResponse = (err: unknown): Response => {
      const e = err instanceof MockGraphError ? err : GraphErrors.internal();
      if (!(err instanceof MockGraphError) && process.env.AGENTID_MOCK_TRACE) console.error(err);
      return toResponse({ status: e.status, body: errorBody(e, requestId, clientRequestId, started), headers: e.headers }, baseHeaders);
    };
    try {
      const url = new URL(req.url);
      if (opts.traffic) {
        const admission = await opts.traffic.admit(req, url, inner, opts.store);
        if (admission.refuse) throw admission.refuse;
        after = admission.after;
        Object.assign(baseHeaders, admission.headers);
      }
      const path = parsePath(url.pathname);
      if (path.version === 'beta') prefixSystemOptions(url.searchParams);
      const route = path.set === '$batch' ? undefined : ROUTES[path.set];
      if (!route && path.set !== '$batch') throw GraphErrors.unknownSegment(path.set);
      // Step 4 (#3): who is calling, from the bearer token; 401 when there is none or it is not ours.
      const fallback = opts.requireToken ? undefined : () => (opts.defaultCaller ? opts.defaultCaller(opts.store) : signedInUser(opts.store));
      const caller = await authenticate(req.headers.get('Authorization'), opts.store, started, fallback);
      let bodyCache: Record<string, unknown> | undefined;
      const ctx: MockContext = {
        req,
        method: req.method.toUpperCase(),
        url,
        path,
        version: path.version,
        requestId,
        clientRequestId,
        now: started,
        store: opts.store,
        logs,
        caller,
        serviceRoot: `${url.origin}/${path.version}`,
        header: (name) => req.headers.get(name),
        newId: () => randomUUID(),
        json: async () => {
          if (bodyCache) return bodyCache;
          const text = await req.text();
          if (!text.trim()) {
            bodyCache = {};
            return bodyCache;
          }
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            throw GraphErrors.invalidJson();
          }
          if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw GraphErrors.invalidJson();
          bodyCache = parsed as Record<string, unknown>;
          return bodyCache;
        },
      };
      // Step 4 (#3), continued: 403 unless the token's permissions, roles or ownership allow it.
      // Runs again for each inner request of a $batch (the outer POST /$batch needs no permission).
      await authorizeRequest(ctx);
      // $batch (#4): every inner request goes through this pipeline again, from step 2.
      // Step 6 (#5): a write's target is snapshotted before the route runs and its directoryAudit
      // recorded once it succeeded; inner $batch requests come through here one by one.
      const result = route ? await withAudit(ctx, () => route(ctx)) : await batchRoute(ctx, (r) => handle(r, true), errorResponse);
      if (after) throw after;
      return toResponse(result, baseHeaders);
    } catch (err) {
      return errorResponse(err);
    }
  };
  return (req: Request) => handle(req, false);
}

async function signedInUser(store: Store): Promise<Caller> {
  return store.read((s) => ({ kind: 'user', userId: s.signedInUserId }) as Caller);
}

function toResponse(result: MockResult, base: Record<string, string>): Response {
  const headers = new Headers(base);
  for (const [k, v] of Object.entries(result.headers ?? {})) headers.set(k, v);
  if (result.body === undefined || result.status === 204) return new Response(null, { status: result.status, headers });
  if (typeof result.body === 'string') {
    if (!headers.has('Content-Type')) headers.set('Content-Type', 'text/plain');
    return new Response(result.body, { status: result.status, headers });
  }
  headers.set('Content-Type', 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8');
  return new Response(JSON.stringify(result.body), { status: result.status, headers });
}
