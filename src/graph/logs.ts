import type { GraphClient } from './client.js';

// Sign-in and audit logs: $filter builders (pure, so tests can pin the exact strings Graph
// documents) and page streaming.
//
// Everything Graph can filter is sent as $filter; nothing is downloaded to be filtered here,
// except the two audit properties the directoryAudit page documents no $filter for (category,
// result), which localAuditFilter() applies to the rows as they stream.
//
// Sources: GD beta resources/signin.md (filterable properties: createdDateTime ge/le, appId eq,
// userId eq, status/errorCode eq, signInEventTypes via any()), resources/agentic-agentsignin.md
// and ED agent-id/sign-in-audit-logs-agents.md (`agent/agentType eq '…'`), GD v1.0
// resources/directoryaudit.md (activityDateTime ge/le, activityDisplayName eq/startswith,
// initiatedBy/user/userPrincipalName, initiatedBy/app/appId, targetResources any(t: t/id eq)).

export const SIGNIN_EVENT_TYPES = ['interactiveUser', 'nonInteractiveUser', 'servicePrincipal', 'managedIdentity'] as const;
export type SignInEventType = (typeof SIGNIN_EVENT_TYPES)[number];

// microsoft.graph.agentic.agentType, without the unknownFutureValue sentinel.
export const AGENT_TYPES = ['notAgentic', 'agenticApp', 'agenticAppInstance', 'agentIdentityBlueprintPrincipal', 'agentIDuser'] as const;
export type AgentType = (typeof AGENT_TYPES)[number];

/** Sign-ins and audits both use it: agentIdentityBlueprintPrincipal and agentIDuser come after
 * unknownFutureValue in the evolvable enum and are hidden without it (agentic-agentsignin.md). */
export const PREFER_UNKNOWN_ENUMS = { Prefer: 'include-unknown-enum-members' };

/** Every page of these lists holds at most 1,000 rows (GD signin-list.md). */
export const LOG_PAGE_SIZE = 1000;

/** OData string literal: single quotes doubled. */
export function quote(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** `24h`, `7d`, `30m` before now, or an ISO date/time → `2026-01-15T09:00:00Z` (what $filter takes). */
export function parseWhen(value: string, now: Date, flag: string): string {
  const v = value.trim();
  const m = /^(\d+)\s*([mhd])$/i.exec(v);
  let t: number;
  if (m) {
    const n = Number(m[1]);
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2]!.toLowerCase() as 'm' | 'h' | 'd'];
    t = now.getTime() - n * unit;
  } else if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v)) {
    // A date or time without a zone is UTC, as in the logs themselves.
    const withZone = /[T ]\d{2}:\d{2}/.test(v) && !/(Z|[+-]\d{2}:?\d{2})$/.test(v) ? `${v}Z` : v;
    t = Date.parse(withZone.replace(' ', 'T'));
  } else {
    t = NaN;
  }
  if (Number.isNaN(t)) throw new WhenError(`${flag} '${value}' is neither a duration (30m, 24h, 7d) nor a date or time (2026-01-15, 2026-01-15T09:00:00Z).`);
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class WhenError extends Error {
  override name = 'WhenError';
}

export interface SignInQuery {
  /** Agent identity object id: its sign-ins and its agent user's carry it as appId. */
  agentId?: string | undefined;
  /** Blueprint appId: the blueprint's own sign-ins, and those whose agent facet names it as parent. */
  blueprintAppId?: string | undefined;
  agentUserId?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  status?: 'success' | 'failure' | undefined;
  /** Default: all four. Graph alone returns only interactiveUser rows without this clause. */
  eventTypes?: readonly SignInEventType[] | undefined;
  agentTypes?: readonly AgentType[] | undefined;
}

function anyOf(path: string, values: readonly string[]): string {
  const parts = values.map((v) => `${path} eq ${quote(v)}`);
  return parts.length === 1 ? parts[0]! : `(${parts.join(' or ')})`;
}

/** The $filter for a sign-in query; clauses in a fixed order, joined by `and`. */
export function signInFilter(q: SignInQuery): string {
  const clauses: string[] = [];
  const events = q.eventTypes?.length ? q.eventTypes : SIGNIN_EVENT_TYPES;
  clauses.push(`signInEventTypes/any(t: ${events.map((e) => `t eq ${quote(e)}`).join(' or ')})`);
  if (q.since) clauses.push(`createdDateTime ge ${q.since}`);
  if (q.until) clauses.push(`createdDateTime le ${q.until}`);
  if (q.agentId) clauses.push(`appId eq ${quote(q.agentId)}`);
  if (q.blueprintAppId) clauses.push(`(appId eq ${quote(q.blueprintAppId)} or agent/parentAppId eq ${quote(q.blueprintAppId)})`);
  if (q.agentUserId) clauses.push(`userId eq ${quote(q.agentUserId)}`);
  // [UNCONFIRMED] signin.md lists only eq for status/errorCode; `ne 0` is the usual failure query.
  if (q.status === 'success') clauses.push('status/errorCode eq 0');
  if (q.status === 'failure') clauses.push('status/errorCode ne 0');
  if (q.agentTypes?.length) clauses.push(anyOf('agent/agentType', q.agentTypes));
  return clauses.join(' and ');
}

export interface AuditQuery {
  /** Object ids the entry must target (agent, blueprint, agent user, --target). */
  targetId?: string | undefined;
  /** Exact activity name, or a prefix when it ends in `*`. */
  activity?: string | undefined;
  /** A UPN (contains @) is a user; anything else an app's appId. */
  initiatedBy?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  category?: string | undefined;
  result?: 'success' | 'failure' | undefined;
}

/** The $filter for an audit query, or undefined when nothing can be filtered server-side. */
export function auditFilter(q: AuditQuery): string | undefined {
  const clauses: string[] = [];
  if (q.since) clauses.push(`activityDateTime ge ${q.since}`);
  if (q.until) clauses.push(`activityDateTime le ${q.until}`);
  if (q.targetId) clauses.push(`targetResources/any(t: t/id eq ${quote(q.targetId)})`);
  if (q.activity) {
    const a = q.activity;
    clauses.push(a.endsWith('*') ? `startswith(activityDisplayName, ${quote(a.slice(0, -1))})` : `activityDisplayName eq ${quote(a)}`);
  }
  if (q.initiatedBy) {
    clauses.push(q.initiatedBy.includes('@') ? `initiatedBy/user/userPrincipalName eq ${quote(q.initiatedBy)}` : `initiatedBy/app/appId eq ${quote(q.initiatedBy)}`);
  }
  return clauses.length ? clauses.join(' and ') : undefined;
}

/** directoryaudit.md documents no $filter on category or result: those two are checked here. */
export function localAuditFilter(q: AuditQuery): ((row: Record<string, unknown>) => boolean) | undefined {
  if (!q.category && !q.result) return undefined;
  const category = q.category?.toLowerCase();
  return (row) => (!category || String(row.category ?? '').toLowerCase() === category) && (!q.result || row.result === q.result);
}

export type LogPath = '/auditLogs/signIns' | '/auditLogs/directoryAudits';

export interface StreamOptions {
  filter?: string | undefined;
  /** Stop after this many rows (sent as $top when a page could hold them all). */
  top?: number | undefined;
  /** Follow @odata.nextLink to the end; otherwise one page. */
  all?: boolean;
  /** Rows per page ($top, at most 1,000) when `top` does not set it: a smaller page holds less in memory at once. */
  pageSize?: number | undefined;
  /** Rows Graph cannot filter are dropped here (audit category/result). */
  keep?: ((row: Record<string, unknown>) => boolean) | undefined;
  signal?: AbortSignal | undefined;
}

export interface LogPage<T> {
  rows: T[];
  /** Graph said there is more, and we stopped (one page, or --top reached). */
  truncated: boolean;
}

/**
 * Pages of a log as they arrive. Only the current page is held in memory, so an export of any
 * size stays flat; the caller writes each page out before asking for the next. Both lists are
 * read from beta, where sign-ins have the agent facet and audits performedBy.
 */
export async function* streamLog<T extends Record<string, unknown>>(client: GraphClient, path: LogPath, o: StreamOptions = {}): AsyncGenerator<LogPage<T>> {
  const query: Record<string, string | number | undefined> = { $filter: o.filter };
  // $top is the page size here; with a local filter a page may keep fewer rows, so ask for full pages.
  if (o.top !== undefined && !o.keep) query.$top = Math.min(o.top, LOG_PAGE_SIZE);
  else if (o.pageSize !== undefined) query.$top = Math.min(o.pageSize, LOG_PAGE_SIZE);
  let remaining = o.top ?? Infinity;
  const pages = client.pages<T>(path, { query, version: 'beta', headers: { ...PREFER_UNKNOWN_ENUMS }, ...(o.signal ? { signal: o.signal } : {}) });
  for await (const page of pages) {
    let rows = o.keep ? page.value.filter(o.keep) : page.value;
    if (rows.length > remaining) rows = rows.slice(0, remaining);
    remaining -= rows.length;
    const more = page.nextLink !== undefined;
    const stop = remaining <= 0 || (!o.all && o.top === undefined);
    yield { rows, truncated: more && stop };
    if (!more || stop || o.signal?.aborted) return;
  }
}

export interface AgentSummary {
  agent: string | null;
  appId: string;
  agentTypes: string;
  signIns: number;
  failures: number;
  distinctIpAddresses: number;
  firstSeen: string;
  lastSeen: string;
}

/**
 * `logs signins --summary`: per agent (the appId the sign-in names — an agent identity's own
 * and its agent user's both carry the agent's id), sign-ins, failures, distinct addresses and
 * the first and last time seen. Memory grows with agents and addresses, not rows.
 */
export class SignInSummary {
  private readonly groups = new Map<string, { agent: string | null; types: Set<string>; signIns: number; failures: number; ips: Set<string>; first: string; last: string }>();

  add(rows: readonly Record<string, unknown>[]): void {
    for (const r of rows) {
      const appId = String(r.appId ?? '');
      const time = String(r.createdDateTime ?? '');
      let g = this.groups.get(appId);
      if (!g) {
        g = { agent: (r.appDisplayName as string | null) ?? null, types: new Set(), signIns: 0, failures: 0, ips: new Set(), first: time, last: time };
        this.groups.set(appId, g);
      }
      const agent = r.agent as { agentType?: string } | null | undefined;
      g.types.add(agent?.agentType ?? 'notAgentic');
      g.signIns++;
      if (Number((r.status as { errorCode?: number } | undefined)?.errorCode ?? 0) !== 0) g.failures++;
      if (r.ipAddress) g.ips.add(String(r.ipAddress));
      if (time < g.first) g.first = time;
      if (time > g.last) g.last = time;
    }
  }

  /** Most failures first, then most sign-ins: the agents a responder looks at first. */
  result(): AgentSummary[] {
    return [...this.groups.entries()]
      .map(([appId, g]) => ({
        agent: g.agent,
        appId,
        agentTypes: [...g.types].sort().join(', '),
        signIns: g.signIns,
        failures: g.failures,
        distinctIpAddresses: g.ips.size,
        firstSeen: g.first,
        lastSeen: g.last,
      }))
      .sort((a, b) => b.failures - a.failures || b.signIns - a.signIns || a.appId.localeCompare(b.appId));
  }
}
