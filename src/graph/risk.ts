import type { GraphClient } from './client.js';
import { GraphRequestError } from './errors.js';
import { NotFoundError } from '../errors.js';
import { BETA, PREFER_UNKNOWN_ENUMS } from './conditionalAccess.js';

// ID Protection for agents, beta only (GD beta resources/riskyagent.md, riskyagent-list.md,
// riskyagent-get.md, riskyagent-confirmcompromised.md, riskyagent-confirmsafe.md,
// riskyagent-dismiss.md, resources/agentriskdetection.md, agentriskdetection-list.md).
// Property names are the beta SDK models' (RiskyAgent, AgentRiskDetection). Reads send
// `Prefer: include-unknown-enum-members`, or identityType agentIdentityBlueprintPrincipal comes
// back as unknownFutureValue. The three actions take many ids in one call (`agentIds`, 204);
// the docs give no maximum, so calls are chunked at 60 ids, riskyUsers' documented limit for the
// same actions [INFERRED].

export interface RiskyAgent {
  id: string;
  '@odata.type'?: string;
  agentDisplayName: string | null;
  blueprintId: string | null;
  identityType: string;
  isDeleted: boolean;
  isEnabled: boolean;
  isProcessing: boolean;
  riskDetail: string;
  riskLastModifiedDateTime: string;
  riskLevel: string;
  riskState: string;
}

export interface AgentRiskDetection {
  id: string;
  identityId?: string | null;
  agentId?: string | null;
  displayName?: string | null;
  blueprintId?: string | null;
  identityType?: string | null;
  activityDateTime?: string | null;
  detectedDateTime?: string | null;
  riskEventType?: string | null;
  riskLevel?: string | null;
  riskState?: string | null;
  riskDetail?: string | null;
  source?: string | null;
  [k: string]: unknown;
}

export const RISK_ACTION_CHUNK = 60;

const opts = { ...BETA, headers: PREFER_UNKNOWN_ENUMS };

export async function listRiskyAgents(client: GraphClient, o: { filter?: string } = {}): Promise<RiskyAgent[]> {
  return client.list<RiskyAgent>('/identityProtection/riskyAgents', { ...opts, ...(o.filter ? { query: { $filter: o.filter } } : {}) });
}

/** The risk of one agent; undefined when ID Protection holds none for it. */
export async function getRiskyAgent(client: GraphClient, id: string): Promise<RiskyAgent | undefined> {
  try {
    return await client.get<RiskyAgent>(`/identityProtection/riskyAgents/${encodeURIComponent(id)}`, opts);
  } catch (err) {
    if (err instanceof GraphRequestError && err.status === 404) return undefined;
    throw err;
  }
}

export async function requireRiskyAgent(client: GraphClient, id: string, name: string): Promise<RiskyAgent> {
  const r = await getRiskyAgent(client, id);
  if (!r) throw new NotFoundError(`ID Protection holds no risk for '${name}' (${id}).`);
  return r;
}

export async function listDetections(client: GraphClient, o: { filter?: string } = {}): Promise<AgentRiskDetection[]> {
  return client.list<AgentRiskDetection>('/identityProtection/agentRiskDetections', { ...opts, ...(o.filter ? { query: { $filter: o.filter } } : {}) });
}

export type RiskAction = 'confirmCompromised' | 'confirmSafe' | 'dismiss';

/**
 * One action over many agents, in as few calls as the API allows. Returns once every chunk
 * succeeded; a failing chunk throws (the chunks before it stay done: the action is idempotent,
 * so running it again is the way to finish).
 */
export async function riskAction(client: GraphClient, action: RiskAction, agentIds: string[], o: { onChunk?: (done: number) => void } = {}): Promise<void> {
  let done = 0;
  for (const chunk of chunks(agentIds)) {
    await client.post(`/identityProtection/riskyAgents/${action}`, { agentIds: chunk }, BETA);
    o.onChunk?.((done += chunk.length));
  }
}

/** The requests riskAction sends, as --dry-run prints them. */
export function riskActionRequests(client: GraphClient, action: RiskAction, agentIds: string[]): { method: 'POST'; url: string; body: { agentIds: string[] } }[] {
  return chunks(agentIds).map((chunk) => ({ method: 'POST', url: client.urlOf(`/identityProtection/riskyAgents/${action}`, BETA.version), body: { agentIds: chunk } }));
}

function chunks(ids: string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += RISK_ACTION_CHUNK) out.push(ids.slice(i, i + RISK_ACTION_CHUNK));
  return out;
}

/** For `incident contain` and scripts: mark agents compromised (their risk level becomes high). */
export function confirmCompromised(client: GraphClient, agentIds: string[]): Promise<void> {
  return riskAction(client, 'confirmCompromised', agentIds);
}

export function confirmSafe(client: GraphClient, agentIds: string[]): Promise<void> {
  return riskAction(client, 'confirmSafe', agentIds);
}

export function dismissRisk(client: GraphClient, agentIds: string[]): Promise<void> {
  return riskAction(client, 'dismiss', agentIds);
}
