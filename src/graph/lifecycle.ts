import type { GraphClient } from './client.js';
import { listAgents } from './agents.js';
import { listAgentUsers } from './agentUsers.js';
import { getBlueprintByAppId, getPrincipalByAppId, orUndefined, getBlueprint } from './blueprints.js';
import { listDeleted, resolveDeleted, restoreDeleted, type DeletedItem } from './deletedItems.js';
import { isGuid } from './paths.js';
import type { Item } from './bulk.js';
import type { AgentIdentity, AgentUser, Blueprint, BlueprintPrincipal } from './models.js';
import { NotFoundError } from '../errors.js';
import { resolveBlueprint, type Chooser } from './resolve.js';

// Issue 12: Graph does not cascade a blueprint's delete to its agents at once (a background job
// soft-deletes them about a day later, ED concept-agent-identity-deletion.md), and restoring an
// application does not restore its service principal (GD directory-deleteditems-restore.md:
// "restoring an application doesn't restore the associated service principal automatically").
// What agentid does about both lives here.

export interface Dependents {
  agents: AgentIdentity[];
  agentUsers: AgentUser[];
}

/** The agent identities of a blueprint (by its appId) and their agent users. */
export async function dependentsOf(client: GraphClient, blueprintAppId: string): Promise<Dependents> {
  const agents = await listAgents(client, { blueprintAppId });
  if (!agents.length) return { agents, agentUsers: [] };
  const ids = new Set(agents.map((a) => a.id.toLowerCase()));
  const agentUsers = (await listAgentUsers(client)).filter((u) => u.identityParentId && ids.has(u.identityParentId.toLowerCase()));
  return { agents, agentUsers };
}

/**
 * blueprint delete --with-agents as a journaled plan: agent users, then agents, then the
 * principal, then the blueprint, each its own phase, so `bulk undo` restores them the other way
 * round: the blueprint first, its principal, its agents, their agent users.
 */
export function planBlueprintDelete(b: Blueprint, principal: BlueprintPrincipal | undefined, deps: Dependents): Item[] {
  const bpName = b.displayName ?? b.appId;
  const items: Item[] = [];
  for (const u of deps.agentUsers) {
    items.push({ t: 'item', key: `agentUser:${u.id}`, phase: 0, op: { kind: 'deleteObject', target: 'agentUser', id: u.id }, label: u.userPrincipalName ?? u.id, objectType: 'agentUser', objectId: u.id, blueprint: bpName });
  }
  for (const a of deps.agents) {
    items.push({ t: 'item', key: `agent:${a.id}`, phase: 1, op: { kind: 'deleteObject', target: 'agent', id: a.id }, label: a.displayName ?? a.id, objectType: 'agentIdentity', objectId: a.id, blueprint: bpName });
  }
  if (principal) {
    items.push({ t: 'item', key: `principal:${principal.id}`, phase: 2, op: { kind: 'deleteObject', target: 'principal', id: principal.id }, label: principal.displayName ?? principal.id, objectType: 'agentIdentityBlueprintPrincipal', objectId: principal.id, blueprint: bpName });
  }
  items.push({ t: 'item', key: `blueprint:${b.id}`, phase: 3, op: { kind: 'deleteObject', target: 'blueprint', id: b.id }, label: bpName, objectType: 'agentIdentityBlueprint', objectId: b.id, blueprint: bpName });
  return items;
}

/**
 * `agent list --blueprint REF`: a live blueprint, else a deleted one (its orphans keep its appId
 * in agentIdentityBlueprintId), else a GUID taken as the appId of a purged blueprint.
 */
export async function blueprintAppIdForListing(client: GraphClient, ref: string, choose?: Chooser): Promise<{ appId: string; deleted?: DeletedItem; purged?: boolean }> {
  try {
    return { appId: (await resolveBlueprint(client, ref, choose)).appId };
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    try {
      const d = await resolveDeleted(client, ['blueprint'], ref, choose);
      return { appId: d.appId ?? ref, deleted: d };
    } catch (err2) {
      if (err2 instanceof NotFoundError && isGuid(ref.trim())) return { appId: ref.trim(), purged: true };
      throw err instanceof NotFoundError ? new NotFoundError(`No blueprint, live or deleted, with id, appId or name '${ref.trim()}'.`) : err;
    }
  }
}

export interface BlueprintRestoreResult {
  blueprint: Record<string, unknown>;
  principal: Record<string, unknown> | null;
  principalRestored: boolean;
  disabledAgents: { id: string; displayName: string | null }[];
  deletedAgents: { id: string; displayName: string | null }[];
}

/** Restores a deleted blueprint, then its principal; reports the agents that are not back in service. */
export async function restoreBlueprint(client: GraphClient, item: DeletedItem): Promise<BlueprintRestoreResult> {
  const restored = await restoreDeleted(client, item.id);
  const appId = String(restored.appId ?? item.appId ?? '');
  let principal: Record<string, unknown> | null = null;
  let principalRestored = false;
  const deletedPrincipal = (await listDeleted(client, 'principal')).filter((p) => p.appId?.toLowerCase() === appId.toLowerCase());
  // The newest deleted principal of the app is the one deleted with it.
  deletedPrincipal.sort((a, b) => String(b.deletedDateTime).localeCompare(String(a.deletedDateTime)));
  if (deletedPrincipal[0] && !(await getPrincipalByAppId(client, appId))) {
    principal = await restoreDeleted(client, deletedPrincipal[0].id);
    principalRestored = true;
  } else principal = ((await getPrincipalByAppId(client, appId)) as Record<string, unknown> | undefined) ?? null;
  const live = await listAgents(client, { blueprintAppId: appId });
  const deleted = (await listDeleted(client, 'agent')).filter((a) => a.agentIdentityBlueprintId?.toLowerCase() === appId.toLowerCase());
  const blueprint = ((await orUndefined(() => getBlueprint(client, item.id))) ?? (await getBlueprintByAppId(client, appId)) ?? restored) as Record<string, unknown>;
  return {
    blueprint,
    principal,
    principalRestored,
    disabledAgents: live.filter((a) => a.accountEnabled === false).map((a) => ({ id: a.id, displayName: a.displayName ?? null })),
    deletedAgents: deleted.map((a) => ({ id: a.id, displayName: a.displayName })),
  };
}
