import type { GraphClient } from './client.js';
import { AgentIdentity, parseAs, parseList } from './models.js';
import { directoryObjectRef, odataString, paths } from './paths.js';
import type { PrincipalRef } from './directory.js';
import { listRequest } from './listQuery.js';

export interface CreateAgentInput {
  displayName: string;
  blueprintAppId: string;
  sponsors: PrincipalRef[];
  owners: PrincipalRef[];
}

export async function createAgent(client: GraphClient, input: CreateAgentInput): Promise<AgentIdentity> {
  const ref = (r: PrincipalRef) => directoryObjectRef(client.baseUrl, client.version, r.kind === 'group' ? 'groups' : 'users', r.id);
  const body: Record<string, unknown> = {
    displayName: input.displayName,
    agentIdentityBlueprintId: input.blueprintAppId,
    'sponsors@odata.bind': input.sponsors.map(ref),
    ...(input.owners.length ? { 'owners@odata.bind': input.owners.map(ref) } : {}),
  };
  return parseAs(AgentIdentity, await client.post(paths.agents(), body), 'agent identity');
}

export interface ListAgentsOptions {
  blueprintAppId?: string | undefined;
  enabled?: boolean | undefined;
  displayName?: string | undefined;
  top?: number | undefined;
  /** --filter / --search (issue 12). */
  filter?: string | undefined;
  search?: string | undefined;
}

/** Filters go to Graph as $filter; nothing is downloaded to be filtered here. */
export async function listAgents(client: GraphClient, opts: ListAgentsOptions = {}): Promise<AgentIdentity[]> {
  const clauses: string[] = [];
  if (opts.blueprintAppId) clauses.push(`agentIdentityBlueprintId eq ${odataString(opts.blueprintAppId)}`);
  if (opts.enabled !== undefined) clauses.push(`accountEnabled eq ${opts.enabled}`);
  if (opts.displayName !== undefined) clauses.push(`displayName eq ${odataString(opts.displayName)}`);
  const { query, headers } = listRequest(clauses, opts);
  const items = await client.list<unknown>(paths.agents(), { top: opts.top, query, ...(headers ? { headers } : {}) });
  return parseList(AgentIdentity, items, 'agent identity');
}

export async function getAgent(client: GraphClient, id: string): Promise<AgentIdentity> {
  return parseAs(AgentIdentity, await client.get(paths.agent(id)), 'agent identity');
}

export async function updateAgent(client: GraphClient, id: string, patch: { displayName?: string; accountEnabled?: boolean; tags?: string[] }): Promise<void> {
  await client.patch(paths.agent(id), patch);
}

export async function deleteAgent(client: GraphClient, id: string): Promise<void> {
  await client.delete(paths.agent(id));
}
