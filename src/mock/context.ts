import type { ParsedPath, Version } from './path.js';
import type { Store } from './store.js';
import type { LogStore } from './logs.js';
import { GraphErrors } from './errors.js';

/** Who is calling, from the bearer token (auth.ts, handler.ts step 4). Handler tests that run
 * without requireToken use a trusted caller instead, with no grants. */
export type Caller = ({ kind: 'user'; userId: string } | { kind: 'app'; appId: string; servicePrincipalId?: string }) & {
  /** What the bearer token grants (issue #3); absent for a trusted in-test caller. */
  grants?: { scopes: string[]; roles: string[]; wids: string[]; clientAppId: string };
};

export interface MockContext {
  req: Request;
  method: string;
  url: URL;
  path: ParsedPath;
  version: Version;
  requestId: string;
  clientRequestId: string | null;
  now: Date;
  store: Store;
  /** Sign-in and audit logs (#5): kept apart from the tenant state, see logs.ts. */
  logs: LogStore;
  caller: Caller;
  /** `https://graph.microsoft.com/v1.0` or the served emulator's own origin + version. */
  serviceRoot: string;
  /** The parsed JSON body (cached); 400 when it is not JSON. */
  json(): Promise<Record<string, unknown>>;
  header(name: string): string | null;
  newId(): string;
}

export interface MockResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type RouteHandler = (ctx: MockContext) => Promise<MockResult>;

export const noContent = (): MockResult => ({ status: 204 });
export const ok = (body: unknown, headers?: Record<string, string>): MockResult => ({ status: 200, body, ...(headers ? { headers } : {}) });
export const created = (body: unknown, location?: string): MockResult => ({ status: 201, body, ...(location ? { headers: { Location: location } } : {}) });

/** The verb is not one this resource supports. */
export function methodNotAllowed(): never {
  throw GraphErrors.methodNotAllowed();
}

/** Graph's `@odata.context`: `{root}/$metadata#{fragment}`. */
export function contextUrl(ctx: MockContext, fragment: string): string {
  return `${ctx.serviceRoot}/$metadata#${fragment}`;
}
