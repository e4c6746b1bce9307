import type { GraphClient } from './client.js';
import { User, parseAs, parseList, type AgentUser } from './models.js';
import { odataString, paths } from './paths.js';
import { listRequest } from './listQuery.js';

// Graph returns a narrow default set of user properties; these are the ones agentid shows and
// scripts rely on, asked for explicitly.
export const AGENT_USER_SELECT = 'id,displayName,userPrincipalName,mailNickname,accountEnabled,identityParentId,createdDateTime,mail,usageLocation';

export interface CreateAgentUserInput {
  identityParentId: string;
  displayName: string;
  userPrincipalName: string;
  mailNickname: string;
  accountEnabled?: boolean;
}

export async function createAgentUser(client: GraphClient, input: CreateAgentUserInput): Promise<AgentUser> {
  const body = { accountEnabled: input.accountEnabled ?? true, ...input };
  return parseAs(User, await client.post(paths.agentUsers(), body), 'agent user');
}

export async function listAgentUsers(client: GraphClient, opts: { agentId?: string | undefined; enabled?: boolean | undefined; top?: number | undefined; filter?: string | undefined; search?: string | undefined } = {}): Promise<AgentUser[]> {
  const clauses: string[] = [];
  if (opts.agentId) clauses.push(`identityParentId eq ${odataString(opts.agentId)}`);
  if (opts.enabled !== undefined) clauses.push(`accountEnabled eq ${opts.enabled}`);
  const { query, headers } = listRequest(clauses, opts);
  query.$select = AGENT_USER_SELECT;
  return parseList(User, await client.list(paths.agentUsers(), { top: opts.top, query, ...(headers ? { headers } : {}) }), 'agent user');
}

export async function getAgentUser(client: GraphClient, idOrUpn: string): Promise<AgentUser> {
  return parseAs(User, await client.get(paths.agentUser(encodeURIComponent(idOrUpn)), { query: { $select: AGENT_USER_SELECT } }), 'agent user');
}

export async function updateAgentUser(client: GraphClient, id: string, patch: Record<string, unknown>): Promise<void> {
  // GD agentuser-update.md: the body must carry the derived type.
  await client.patch(paths.agentUser(id), { '@odata.type': '#microsoft.graph.agentUser', ...patch }, { headers: { 'OData-Version': '4.0' } });
}

export async function deleteAgentUser(client: GraphClient, id: string): Promise<void> {
  await client.delete(paths.agentUser(id));
}
