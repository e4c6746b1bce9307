import { randomBytes } from 'node:crypto';
import { GraphErrors } from '../errors.js';
import { contextUrl, methodNotAllowed, noContent, ok, type MockContext, type MockResult } from '../context.js';
import type { CollectionSpec } from '../odata.js';
import type { TenantState } from '../state.js';
import { GUID_RE } from '../path.js';
import { collectionResponse, unknownPath } from './common.js';

// ID Protection for agents (beta): /identityProtection/riskyAgents (GD beta resources/riskyagent.md,
// riskyagent-list.md, riskyagent-get.md, riskyagent-confirmcompromised.md, -confirmsafe.md,
// -dismiss.md) and /identityProtection/agentRiskDetections (resources/agentriskdetection.md).
// A risky agent is keyed by the agent object's id [INFERRED, as a riskyUser's id is the user's];
// its subtype follows the object: riskyAgentIdentity, riskyAgentIdentityBlueprintPrincipal,
// riskyAgentUser. The actions take {agentIds: [...]} and answer 204:
//   confirmCompromised → riskState confirmedCompromised, riskLevel high ("sets the targeted
//                        agent's risk level to high"), riskDetail adminConfirmedAgentCompromised;
//   confirmSafe        → confirmedSafe, none, adminConfirmedAgentSafe;
//   dismiss            → dismissed, none, adminDismissedRiskForAgent.
// [INFERRED] an agent with no risk yet gets a row on confirmCompromised (riskyUsers behave so);
// an id that names no agent object is a 404. identityType's agentIdentityBlueprintPrincipal and
// user come after unknownFutureValue: without `Prefer: include-unknown-enum-members` Graph
// answers unknownFutureValue for them (AgentIdentityType in the beta SDK models).

const RISKY_SPEC: CollectionSpec = {
  resource: 'riskyAgent',
  // riskyagent.md "Supports $filter": agentDisplayName (eq, startsWith), riskLastModifiedDateTime (eq, le, ge);
  // riskLevel and riskState are filtered the same way on riskyUsers [INFERRED].
  filterable: { id: ['eq'], agentDisplayName: ['eq', 'startsWith'], riskLastModifiedDateTime: ['eq', 'le', 'ge'], riskLevel: ['eq'], riskState: ['eq'], blueprintId: ['eq'] },
  searchable: [],
  orderable: [],
  defaultPageSize: 100,
  maxPageSize: 500,
  advanced: false,
};

const DETECTION_SPEC: CollectionSpec = {
  resource: 'agentRiskDetection',
  // agentriskdetection.md (beta SDK model comments): "Supports $filter".
  filterable: {
    id: ['eq'],
    activityDateTime: ['eq', 'le', 'ge'],
    detectedDateTime: ['eq', 'le', 'ge'],
    lastModifiedDateTime: ['eq', 'le', 'ge'],
    identityId: ['eq', 'startsWith'],
    agentId: ['eq', 'startsWith'],
    displayName: ['eq', 'startsWith'],
    agentDisplayName: ['eq', 'startsWith'],
    riskEventType: ['eq'],
    riskEvidence: ['eq'],
  },
  searchable: [],
  orderable: [],
  // GD beta identityprotectionroot-list-agentriskdetections.md: "The default and maximum page size is 20 and 500".
  defaultPageSize: 20,
  maxPageSize: 500,
  advanced: false,
};

const LATE_IDENTITY_TYPES = new Set(['agentIdentityBlueprintPrincipal', 'user', 'discoveredAgentIdentity']);
const ODATA_TYPE: Record<string, string> = {
  agentIdentity: '#microsoft.graph.riskyAgentIdentity',
  agentIdentityBlueprintPrincipal: '#microsoft.graph.riskyAgentIdentityBlueprintPrincipal',
  agentUser: '#microsoft.graph.riskyAgentUser',
};

const ACTIONS: Record<string, { riskState: string; riskLevel?: string; riskDetail: string }> = {
  confirmcompromised: { riskState: 'confirmedCompromised', riskLevel: 'high', riskDetail: 'adminConfirmedAgentCompromised' },
  confirmsafe: { riskState: 'confirmedSafe', riskLevel: 'none', riskDetail: 'adminConfirmedAgentSafe' },
  dismiss: { riskState: 'dismissed', riskLevel: 'none', riskDetail: 'adminDismissedRiskForAgent' },
};

function wantsUnknownMembers(ctx: MockContext): boolean {
  return /(^|[,;\s])include-unknown-enum-members($|[,;\s])/i.test(ctx.header('Prefer') ?? '');
}

function view(ctx: MockContext, row: Record<string, unknown>): Record<string, unknown> {
  const type = String(row.identityType);
  const out: Record<string, unknown> = { '@odata.type': ODATA_TYPE[type] ?? '#microsoft.graph.riskyAgent', ...row };
  if (!wantsUnknownMembers(ctx) && LATE_IDENTITY_TYPES.has(type)) out.identityType = 'unknownFutureValue';
  return out;
}

function detectionView(ctx: MockContext, d: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { '@odata.type': '#microsoft.graph.agentRiskDetection', ...d };
  if (!wantsUnknownMembers(ctx) && LATE_IDENTITY_TYPES.has(String(d.identityType))) out.identityType = 'unknownFutureValue';
  return out;
}

/** A new riskyAgent row for an agent object, or undefined when the id names none. */
export function riskyAgentRow(state: TenantState, id: string, now: Date): Record<string, unknown> | undefined {
  const o = state.objects[id.toLowerCase()];
  if (!o || (o.type !== 'agentIdentity' && o.type !== 'agentUser' && o.type !== 'agentIdentityBlueprintPrincipal')) return undefined;
  const blueprintAppId = o.type === 'agentIdentity' ? o.props.agentIdentityBlueprintId : o.type === 'agentIdentityBlueprintPrincipal' ? o.props.appId : state.objects[String(o.props.identityParentId ?? '')]?.props.agentIdentityBlueprintId;
  return {
    id: o.id,
    agentDisplayName: o.props.displayName ?? null,
    blueprintId: blueprintAppId ?? null,
    identityType: o.type,
    isDeleted: !!o.deletedDateTime,
    isEnabled: o.props.accountEnabled !== false,
    isProcessing: false,
    riskDetail: 'none',
    riskLastModifiedDateTime: now.toISOString(),
    riskLevel: 'none',
    riskState: 'none',
  };
}

/**
 * The detection an admin's confirmation leaves. [INFERRED] riskEventType
 * adminConfirmedAgentCompromised, by analogy with riskDetection's documented
 * adminConfirmedUserCompromised for riskyUsers' confirmCompromised; the agent pages name no
 * admin detection. The id is 64 hex characters, like the documented example's.
 */
function adminDetection(row: Record<string, unknown>, now: Date, id: string): Record<string, unknown> {
  const t = now.toISOString();
  return {
    id,
    identityId: row.id,
    displayName: row.agentDisplayName,
    agentId: row.id,
    agentDisplayName: row.agentDisplayName,
    blueprintId: row.blueprintId,
    identityType: row.identityType,
    activityDateTime: t,
    detectedDateTime: t,
    detectionTimingType: 'offline',
    lastModifiedDateTime: t,
    riskDetail: 'adminConfirmedAgentCompromised',
    riskLevel: 'high',
    riskState: 'confirmedCompromised',
    riskEventType: 'adminConfirmedAgentCompromised',
    riskEvidence: null,
    additionalInfo: '',
    source: 'activeDirectory',
  };
}

export async function identityProtectionRoute(ctx: MockContext): Promise<MockResult> {
  const [coll, id, ...more] = ctx.path.rest;
  const c = coll?.toLowerCase();
  // riskyAgents and agentRiskDetections are beta only (no v1.0 pages, not in the v1.0 model).
  if (ctx.version !== 'beta' && (c === 'riskyagents' || c === 'agentriskdetections')) throw GraphErrors.unknownSegment(coll!);
  if (c === 'agentriskdetections') {
    if (ctx.method !== 'GET') return methodNotAllowed();
    if (more.length) return unknownPath(more);
    if (id === undefined) {
      const items = await ctx.store.read((s) => Object.values(s.agentRiskDetections ?? {}).map((d) => detectionView(ctx, structuredClone(d))));
      items.sort((a, b) => String(b.detectedDateTime).localeCompare(String(a.detectedDateTime)));
      return collectionResponse(ctx, items, DETECTION_SPEC, 'identityProtection/agentRiskDetections');
    }
    const d = await ctx.store.read((s) => s.agentRiskDetections?.[id.toLowerCase()]);
    if (!d) throw GraphErrors.notFound(id);
    return ok({ '@odata.context': contextUrl(ctx, 'identityProtection/agentRiskDetections/$entity'), ...detectionView(ctx, structuredClone(d)) });
  }
  if (c !== 'riskyagents') return unknownPath(ctx.path.rest);
  if (more.length) return unknownPath(more);
  const action = id ? ACTIONS[id.toLowerCase()] : undefined;
  if (action) {
    if (ctx.method !== 'POST') return methodNotAllowed();
    const body = await ctx.json();
    const ids = body.agentIds;
    if (!Array.isArray(ids) || !ids.length) throw GraphErrors.missingProperty('agentIds', 'riskyAgent');
    for (const a of ids) if (typeof a !== 'string' || !GUID_RE.test(a)) throw GraphErrors.invalidId(String(a));
    await ctx.store.write((s) => {
      const rows = (s.riskyAgents ??= {});
      // Validate every id before changing any: one unknown id changes nothing.
      const next = (ids as string[]).map((a) => {
        const row = rows[a.toLowerCase()] ?? riskyAgentRow(s, a, ctx.now);
        if (!row) throw GraphErrors.riskyAgentNotFound(a);
        return row;
      });
      for (const row of next) {
        Object.assign(row, { riskState: action.riskState, riskDetail: action.riskDetail, riskLastModifiedDateTime: ctx.now.toISOString() }, action.riskLevel ? { riskLevel: action.riskLevel } : {});
        rows[String(row.id)] = row;
        if (action.riskState === 'confirmedCompromised') {
          const d = adminDetection(row, ctx.now, randomBytes(32).toString('hex'));
          (s.agentRiskDetections ??= {})[String(d.id)] = d;
        }
      }
    });
    return noContent();
  }
  if (ctx.method !== 'GET') return methodNotAllowed();
  if (id === undefined) {
    const items = await ctx.store.read((s) => Object.values(s.riskyAgents ?? {}).map((r) => view(ctx, structuredClone(r))));
    items.sort((a, b) => String(b.riskLastModifiedDateTime).localeCompare(String(a.riskLastModifiedDateTime)));
    return collectionResponse(ctx, items, RISKY_SPEC, 'identityProtection/riskyAgents');
  }
  const row = await ctx.store.read((s) => s.riskyAgents?.[id.toLowerCase()]);
  if (!row) throw GraphErrors.riskyAgentNotFound(id);
  return ok({ '@odata.context': contextUrl(ctx, 'identityProtection/riskyAgents/$entity'), ...view(ctx, structuredClone(row)) });
}
