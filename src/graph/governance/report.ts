import type { GraphClient } from '../client.js';
import type { Pacer } from '../pacer.js';
import { collect, type Snapshot } from './collect.js';
import { evaluate, summarizeFindings, type Finding } from './evaluate.js';

// `agentid report`: collect (one pass of pages and $batch reads), evaluate the rules, and the
// figures the HTML page charts. Orphans found here are also what `bulk sponsor add --orphaned`
// and `bulk delete --stale-days` act on (bulkGovernance.ts), so the three never disagree.

export interface ReportOptions {
  pacer: Pacer;
  now: Date;
  staleDays: number;
  expiringDays: number;
  blueprintAppIds?: string[] | undefined;
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (what: string) => void;
}

export interface ReportResult {
  generatedAt: string;
  tenant: string;
  staleDays: number;
  expiringDays: number;
  counts: { blueprints: number; agents: number; agentUsers: number; findings: number };
  summary: ReturnType<typeof summarizeFindings>;
  findings: Finding[];
  charts: {
    agentsPerBlueprint: { blueprint: string; enabled: number; disabled: number }[];
    /** UTC days; the first and the last (today) are `partial`: the window starts and ends inside them. */
    signInsPerDay: { day: string; signIns: number; failures: number; partial: boolean }[];
  };
  warnings: string[];
}

/** The sign-in logs are read at least 30 days back (the usual retention), so a
 * "never signed in" verdict covers the agent's whole life when it is younger than that. */
export const MIN_LOG_DAYS = 30;

export async function runReport(client: GraphClient, tenant: string, o: ReportOptions): Promise<{ result: ReportResult; snapshot: Snapshot }> {
  const snapshot = await collect(client, {
    pacer: o.pacer,
    now: o.now,
    days: Math.max(o.staleDays, MIN_LOG_DAYS),
    blueprintAppIds: o.blueprintAppIds,
    ...(o.concurrency ? { concurrency: o.concurrency } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
  const findings = evaluate(snapshot, { staleDays: o.staleDays, expiringDays: o.expiringDays });
  const perBp = new Map<string, { blueprint: string; enabled: number; disabled: number }>();
  const names = new Map(snapshot.blueprints.map((b) => [b.appId.toLowerCase(), b.displayName ?? b.appId]));
  for (const a of snapshot.agents) {
    const name = names.get(String(a.agentIdentityBlueprintId ?? '').toLowerCase()) ?? String(a.agentIdentityBlueprintId ?? '(none)');
    const e = perBp.get(name) ?? { blueprint: name, enabled: 0, disabled: 0 };
    if (a.accountEnabled === false) e.disabled++;
    else e.enabled++;
    perBp.set(name, e);
  }
  const result: ReportResult = {
    generatedAt: o.now.toISOString(),
    tenant,
    staleDays: o.staleDays,
    expiringDays: o.expiringDays,
    counts: { blueprints: snapshot.blueprints.length, agents: snapshot.agents.length, agentUsers: snapshot.agentUsers.length, findings: findings.length },
    summary: summarizeFindings(findings),
    findings,
    charts: {
      agentsPerBlueprint: [...perBp.values()].sort((a, b) => a.blueprint.localeCompare(b.blueprint)),
      signInsPerDay: [...snapshot.daily].map(([day, d], i, all) => ({ day, ...d, partial: (i === 0 && !snapshot.since.endsWith('T00:00:00Z')) || i === all.length - 1 })),
    },
    warnings: snapshot.warnings,
  };
  return { result, snapshot };
}
