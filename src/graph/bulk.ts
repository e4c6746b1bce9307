import { randomUUID } from 'node:crypto';
import type { GraphClient } from './client.js';
import { GraphRequestError } from './errors.js';
import { BatchEngine, type Job, type Reconciled, type Method } from './batch.js';
import { Pacer } from './pacer.js';
import { JournalWriter, readJournal, type ErrorSummary, type ItemRecord, type JournalState } from './journal.js';
import { directoryObjectRef, odataString, paths } from './paths.js';
import { AGENT_USER_SELECT } from './agentUsers.js';
import { AgentIdentity, Blueprint, BlueprintPrincipal, FederatedIdentityCredential, InheritablePermission, User, parseAs, parseList } from './models.js';
import { AppRoleAssignment, Grant, grantBody, grantPaths, grantSpec, findAssignment, findGrant, type AssignmentSpec, type GrantSpec } from './grants.js';
import { getCredentials, orUndefined } from './blueprints.js';
import { summarizeKeyCredential } from './certificates.js';
import { getRiskyAgent } from './risk.js';
import type { PrincipalRef } from './directory.js';
import { agentAttributesUrl, assignmentBody, getAgentAttributes, valueOf, type AttributeRef, type AttributeValues } from './attributes.js';
import { fleetAccept, fleetAction, fleetInverse, fleetReconcile, fleetRequest, fleetResult, isFleetOp, type FleetOp } from './fleet/ops.js';
import { GOVERNANCE_ACTIONS, governanceAccept, governanceInverse, governanceReconcile, governanceRequest, type GovernanceOp } from './bulkGovernance.js';

// Planning and running of bulk changes (issue #4): what each change is as a Graph request, how
// to tell after a crash whether it was applied, how to reverse it, and the plans for disable /
// enable / revoke / create / undo. The engine (batch.ts) sends; the journal (journal.ts) keeps
// the record; the command (commands/bulk.ts) only validates, confirms and renders.

export type Target = 'principal' | 'agent' | 'agentUser';

export type Op =
  | { kind: 'setEnabled'; target: Target; id: string; value: boolean }
  | { kind: 'deleteGrant'; id: string; grant: GrantSpec }
  | { kind: 'createGrant'; grant: GrantSpec }
  | { kind: 'deleteAssignment'; id: string; assignment: AssignmentSpec }
  | { kind: 'createAssignment'; assignment: AssignmentSpec }
  | { kind: 'deleteInheritable'; blueprintId: string; permission: InheritablePermission }
  | { kind: 'createInheritable'; blueprintId: string; permission: InheritablePermission }
  | { kind: 'removePassword'; blueprintId: string; keyId: string }
  /** Every certificate of a blueprint in one PATCH: keyCredentials is written whole (blueprints.ts). */
  | { kind: 'removeCertificates'; blueprintId: string; keyIds: string[] }
  | { kind: 'deleteFederatedCredential'; blueprintId: string; credentialId: string }
  | { kind: 'revokeSessions'; userId: string }
  | { kind: 'createAgent'; blueprintAppId: string; displayName: string; sponsors: PrincipalRef[]; owners: PrincipalRef[] }
  | { kind: 'createAgentUser'; identityParentId?: string; displayName: string; userPrincipalName: string; mailNickname: string }
  | { kind: 'deleteObject'; target: DeletableTarget; id: string }
  /** Issue 12: the inverse of a delete, from /directory/deletedItems (GD directory-deleteditems-restore.md). */
  | { kind: 'restoreObject'; target: DeletableTarget; id: string }
  /** Sponsors and soft deletes of issue #14: src/graph/bulkGovernance.ts. */
  | GovernanceOp
  /** #13: one custom security attribute of an agent identity (src/graph/attributes.ts); null removes it. */
  | { kind: 'setAttribute'; id: string; set: string; name: string; value: string | null }
  /** Incident containment (#15): GD beta riskyagent-confirmcompromised.md, one POST for many agents. */
  | { kind: 'confirmCompromised'; agentIds: string[] }
  /** agentid apply's changes (issue #16), defined and run in fleet/ops.ts. */
  | FleetOp;

/** What a journal may delete: blueprint delete --with-agents deletes all four, in that order reversed. */
export type DeletableTarget = 'agent' | 'agentUser' | 'principal' | 'blueprint';

export type Item = ItemRecord<Op>;
export type BulkJournal = JournalState<Op>;

const ACTION: Record<Exclude<Op['kind'], FleetOp['kind']>, string> = {
  setEnabled: 'set accountEnabled',
  deleteGrant: 'delete oauth2PermissionGrant',
  createGrant: 'create oauth2PermissionGrant',
  deleteAssignment: 'delete appRoleAssignment',
  createAssignment: 'create appRoleAssignment',
  deleteInheritable: 'delete inheritablePermission',
  createInheritable: 'create inheritablePermission',
  removePassword: 'remove password credential',
  removeCertificates: 'remove certificates',
  deleteFederatedCredential: 'delete federated identity credential',
  revokeSessions: 'revoke sign-in sessions',
  createAgent: 'create agent identity',
  createAgentUser: 'create agent user',
  deleteObject: 'delete',
  restoreObject: 'restore',
  ...GOVERNANCE_ACTIONS,
  confirmCompromised: 'confirm compromised',
  setAttribute: 'set custom security attribute',
};

export function actionOf(op: Op): string {
  if (isFleetOp(op)) return fleetAction(op);
  if (op.kind === 'setEnabled') return op.value ? 'enable' : 'disable';
  return ACTION[op.kind];
}

const deletablePath = (t: DeletableTarget, id: string) => (t === 'blueprint' ? paths.blueprint(id) : t === 'principal' ? paths.principal(id) : t === 'agent' ? paths.agent(id) : paths.agentUser(id));

const targetPath = (t: Target, id: string) => (t === 'principal' ? paths.principal(id) : t === 'agent' ? paths.agent(id) : paths.agentUser(id));

// ---------------------------------------------------------------------------------------------
// One change as a request, its reconciliation and its inverse

interface Req {
  method: Method;
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
}

function ref(client: GraphClient, r: PrincipalRef): string {
  return directoryObjectRef(client.baseUrl, client.version, r.kind === 'group' ? 'groups' : 'users', r.id);
}

/** `results` holds what earlier items answered (an agent's id for its agent user). */
export function opRequest(client: GraphClient, op: Op, after?: unknown): Req {
  if (isFleetOp(op)) return fleetRequest(client, op, after);
  switch (op.kind) {
    case 'setEnabled':
      // GD agentuser-update.md wants the derived type in the body of an agent user's PATCH.
      if (op.target === 'agentUser') return { method: 'PATCH', url: targetPath(op.target, op.id), body: { '@odata.type': '#microsoft.graph.agentUser', accountEnabled: op.value }, headers: { 'OData-Version': '4.0' } };
      return { method: 'PATCH', url: targetPath(op.target, op.id), body: { accountEnabled: op.value } };
    case 'deleteGrant':
      return { method: 'DELETE', url: grantPaths.grant(op.id) };
    case 'createGrant':
      return { method: 'POST', url: grantPaths.grants(), body: grantBody(op.grant) };
    case 'deleteAssignment':
      return { method: 'DELETE', url: grantPaths.assignment(op.assignment.principalId, op.id) };
    case 'createAssignment':
      return { method: 'POST', url: grantPaths.assignments(op.assignment.principalId), body: { ...op.assignment } };
    case 'deleteInheritable':
      return { method: 'DELETE', url: `${paths.blueprint(op.blueprintId)}/inheritablePermissions/${op.permission.resourceAppId}` };
    case 'createInheritable': {
      const s = op.permission.inheritableScopes;
      const odataType = s['@odata.type'] ?? (s.kind === 'allAllowed' ? '#microsoft.graph.allAllowedScopes' : s.kind === 'none' ? '#microsoft.graph.noScopes' : '#microsoft.graph.enumeratedScopes');
      const inheritableScopes = { '@odata.type': odataType.replace(/^#/, ''), ...(s.scopes ? { scopes: s.scopes } : {}) };
      return { method: 'POST', url: `${paths.blueprint(op.blueprintId)}/inheritablePermissions`, body: { resourceAppId: op.permission.resourceAppId, inheritableScopes } };
    }
    case 'removePassword':
      return { method: 'POST', url: `${paths.blueprint(op.blueprintId)}/removePassword`, body: { keyId: op.keyId } };
    case 'removeCertificates':
      // The collection is replaced whole: the plan removes every certificate, so the blueprint is
      // left with none, including one added after the plan was read (in a compromise, suspect too).
      return { method: 'PATCH', url: paths.blueprint(op.blueprintId), body: { keyCredentials: [] } };
    case 'deleteFederatedCredential':
      return { method: 'DELETE', url: `${paths.blueprint(op.blueprintId)}/federatedIdentityCredentials/${op.credentialId}` };
    case 'revokeSessions':
      return { method: 'POST', url: `/users/${op.userId}/revokeSignInSessions`, body: {} };
    case 'createAgent':
      return {
        method: 'POST',
        url: paths.agents(),
        body: {
          displayName: op.displayName,
          agentIdentityBlueprintId: op.blueprintAppId,
          'sponsors@odata.bind': op.sponsors.map((s) => ref(client, s)),
          ...(op.owners.length ? { 'owners@odata.bind': op.owners.map((s) => ref(client, s)) } : {}),
        },
      };
    case 'createAgentUser': {
      const parent = op.identityParentId ?? (after as { id?: string } | undefined)?.id;
      if (!parent) throw new Error(`No agent identity for agent user ${op.userPrincipalName}.`);
      return { method: 'POST', url: paths.agentUsers(), body: { accountEnabled: true, displayName: op.displayName, mailNickname: op.mailNickname, userPrincipalName: op.userPrincipalName, identityParentId: parent } };
    }
    case 'deleteObject':
      return { method: 'DELETE', url: deletablePath(op.target, op.id) };
    case 'restoreObject':
      // GD directory-deleteditems-restore.md: "Do not supply a request body for this method."
      return { method: 'POST', url: `/directory/deletedItems/${op.id}/restore` };
    case 'addSponsor':
    case 'removeSponsor':
      return governanceRequest(client, op);
    case 'setAttribute':
      // GD serviceprincipal-update.md, custom security attribute examples: PATCH customSecurityAttributes.
      return { method: 'PATCH', url: paths.agent(op.id), body: assignmentBody([{ set: op.set, name: op.name, value: op.value }]) };
    case 'confirmCompromised':
      // GD beta riskyagent-confirmcompromised.md: POST /identityProtection/riskyAgents/confirmCompromised
      // {agentIds}, 204. Beta only: runJournal sends it in a /beta/$batch (opVersion).
      return { method: 'POST', url: '/identityProtection/riskyAgents/confirmCompromised', body: { agentIds: op.agentIds } };
  }
}

/** The version root of an op's request, when it is not the client's: the beta-only risk API. */
function opVersion(op: Op): 'beta' | undefined {
  return op.kind === 'confirmCompromised' ? 'beta' : undefined;
}

/**
 * Statuses that mean "already as wanted". A delete that meets 404 was done (by an earlier
 * attempt whose answer was lost, or by someone else); a create meeting "already exists" is
 * left to reconcile(), which finds the object and its id.
 */
function opAccept(op: Op): number[] {
  if (isFleetOp(op)) return fleetAccept(op);
  if (op.kind === 'addSponsor' || op.kind === 'removeSponsor') return governanceAccept(op);
  return op.kind.startsWith('delete') || op.kind === 'removePassword' || op.kind === 'removeCertificates' ? [404] : [];
}

/** Resource units of the request (GD throttling-limits.md); reconciles are separate reads. */
function opRu(): number {
  return 1;
}

/**
 * After an unknown outcome: is the change already in Graph? Each kind has its own answer:
 * setting accountEnabled is idempotent, but re-sending it would still be a second write, so
 * we read the flag; a create looks for the object by what identifies it (a grant by client,
 * resource, consent type and user; an assignment by principal, resource and role; an agent
 * by name within its blueprint; an agent user by UPN) and takes its id; a delete checks the
 * object is gone; revokeSignInSessions checks signInSessionsValidFromDateTime moved past the
 * moment the attempt was sent.
 */
export async function opReconcile(client: GraphClient, op: Op, intentAt: string | undefined, after?: unknown): Promise<Reconciled> {
  if (isFleetOp(op)) return fleetReconcile(client, op, after);
  const gone = async (url: string): Promise<Reconciled> => ((await orUndefined(() => client.get(url))) === undefined ? { done: true } : { done: false });
  switch (op.kind) {
    case 'setEnabled': {
      const cur = await orUndefined(() => client.get<{ accountEnabled?: boolean }>(targetPath(op.target, op.id), { query: { $select: 'id,accountEnabled' } }));
      return cur?.accountEnabled === op.value ? { done: true } : { done: false };
    }
    case 'deleteGrant':
      return gone(grantPaths.grant(op.id));
    case 'createGrant': {
      const g = await findGrant(client, op.grant);
      return g ? { done: true, result: { id: g.id } } : { done: false };
    }
    case 'deleteAssignment': {
      const a = await findAssignment(client, op.assignment);
      return a && a.id === op.id ? { done: false } : { done: true };
    }
    case 'createAssignment': {
      const a = await findAssignment(client, op.assignment);
      return a ? { done: true, result: { id: a.id } } : { done: false };
    }
    case 'deleteInheritable':
    case 'createInheritable': {
      const list = parseList(InheritablePermission, await client.list(`${paths.blueprint(op.blueprintId)}/inheritablePermissions`), 'inheritable permission');
      const present = list.some((p) => p.resourceAppId.toLowerCase() === op.permission.resourceAppId.toLowerCase());
      return { done: op.kind === 'deleteInheritable' ? !present : present };
    }
    case 'removePassword': {
      const bp = parseAs(Blueprint, await client.get(paths.blueprint(op.blueprintId), { query: { $select: 'id,appId,displayName,passwordCredentials' } }), 'blueprint');
      return { done: !(bp.passwordCredentials ?? []).some((c) => c.keyId.toLowerCase() === op.keyId.toLowerCase()) };
    }
    case 'removeCertificates': {
      const wanted = new Set(op.keyIds.map((k) => k.toLowerCase()));
      const { keyCredentials } = await getCredentials(client, op.blueprintId);
      return { done: !keyCredentials.some((k) => wanted.has(k.keyId.toLowerCase())) };
    }
    case 'deleteFederatedCredential':
      return gone(`${paths.blueprint(op.blueprintId)}/federatedIdentityCredentials/${op.credentialId}`);
    case 'revokeSessions': {
      const u = await client.get<{ signInSessionsValidFromDateTime?: string | null }>(`/users/${op.userId}`, { query: { $select: 'id,signInSessionsValidFromDateTime' } });
      const since = u.signInSessionsValidFromDateTime ? Date.parse(u.signInSessionsValidFromDateTime) : NaN;
      return intentAt && since >= Date.parse(intentAt) ? { done: true } : { done: false };
    }
    case 'createAgent': {
      const filter = `displayName eq ${odataString(op.displayName)} and agentIdentityBlueprintId eq ${odataString(op.blueprintAppId)}`;
      const found = parseList(AgentIdentity, await client.list(paths.agents(), { query: { $filter: filter } }), 'agent identity');
      return found[0] ? { done: true, result: { id: found[0].id } } : { done: false };
    }
    case 'createAgentUser': {
      const u = await orUndefined(() => client.get<{ id: string; identityParentId?: string }>(paths.user(op.userPrincipalName), { query: { $select: 'id,identityParentId' } }));
      void after;
      return u ? { done: true, result: { id: u.id } } : { done: false };
    }
    case 'deleteObject':
      return gone(deletablePath(op.target, op.id));
    case 'restoreObject':
      return (await orUndefined(() => client.get(deletablePath(op.target, op.id)))) === undefined ? { done: false } : { done: true };
    case 'addSponsor':
    case 'removeSponsor':
      return governanceReconcile(client, op);
    case 'setAttribute': {
      const current = valueOf(await getAgentAttributes(client, op.id), op);
      return (current ?? null) === op.value ? { done: true } : { done: false };
    }
    case 'confirmCompromised': {
      // Done when every agent of the request reads confirmedCompromised (GD beta riskyagent-get.md):
      // an answer lost to a kill -9 is not sent again.
      const rows = await Promise.all(op.agentIds.map((id) => getRiskyAgent(client, id)));
      return rows.every((r) => r?.riskState === 'confirmedCompromised') ? { done: true } : { done: false };
    }
  }
}

/** The change that puts back what `op` changed, or why there is none. */
export function opInverse(item: Item, result: unknown): Op | { irreversible: string } {
  const op = item.op;
  if (isFleetOp(op)) return fleetInverse(item as ItemRecord<FleetOp>, result);
  const createdId = (result as { id?: string } | undefined)?.id;
  switch (op.kind) {
    case 'setEnabled': {
      const prior = (item.prior as { accountEnabled?: boolean | null } | undefined)?.accountEnabled;
      if (typeof prior !== 'boolean') return { irreversible: 'the journal has no prior accountEnabled' };
      return { kind: 'setEnabled', target: op.target, id: op.id, value: prior };
    }
    case 'deleteGrant':
      return { kind: 'createGrant', grant: op.grant };
    case 'createGrant':
      return createdId ? { kind: 'deleteGrant', id: createdId, grant: op.grant } : { irreversible: 'the id of the created grant is unknown' };
    case 'deleteAssignment':
      return { kind: 'createAssignment', assignment: op.assignment };
    case 'createAssignment':
      return createdId ? { kind: 'deleteAssignment', id: createdId, assignment: op.assignment } : { irreversible: 'the id of the created assignment is unknown' };
    case 'deleteInheritable':
      return { kind: 'createInheritable', blueprintId: op.blueprintId, permission: op.permission };
    case 'createInheritable':
      return { kind: 'deleteInheritable', blueprintId: op.blueprintId, permission: op.permission };
    case 'removePassword':
      return { irreversible: 'a removed client secret cannot be recreated (Graph returns a secret only once, at creation)' };
    case 'deleteFederatedCredential':
    case 'removeCertificates':
      return { irreversible: 'removed credentials are not recreated by undo; add them again with agentid blueprint' };
    case 'revokeSessions':
      return { irreversible: 'revoked sign-in sessions cannot be restored' };
    case 'createAgent':
      return createdId ? { kind: 'deleteObject', target: 'agent', id: createdId } : { irreversible: 'the id of the created agent is unknown' };
    case 'createAgentUser':
      return createdId ? { kind: 'deleteObject', target: 'agentUser', id: createdId } : { irreversible: 'the id of the created agent user is unknown' };
    case 'deleteObject':
      // Soft-deleted objects stay in /directory/deletedItems for 30 days; undo restores them from there.
      return { kind: 'restoreObject', target: op.target, id: op.id };
    case 'restoreObject':
      return { kind: 'deleteObject', target: op.target, id: op.id };
    case 'addSponsor':
    case 'removeSponsor':
      return governanceInverse(op);
    case 'setAttribute': {
      // The prior value as read at planning time (planSetAttribute); none assigned puts back null.
      const prior = item.prior as { value?: unknown } | undefined;
      if (!prior || !('value' in prior)) return { irreversible: 'the journal has no prior value of the attribute' };
      if (prior.value !== null && typeof prior.value !== 'string') return { irreversible: 'the prior value was not a single string' };
      return { kind: 'setAttribute', id: op.id, set: op.set, name: op.name, value: prior.value };
    }
    case 'confirmCompromised':
      return { irreversible: "it is not undone by a release; once the agents are clean, clear it with agentid risk confirm-safe (or dismiss)" };
  }
}

/** Only ids go into the journal: the created objects themselves may be large. */
function resultToKeep(op: Op, body: unknown): unknown {
  if (isFleetOp(op)) return fleetResult(op, body);
  if (op.kind.startsWith('create')) {
    const id = (body as { id?: unknown } | undefined)?.id;
    return typeof id === 'string' ? { id } : undefined;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Reading many objects at once (planning)

/** GETs through $batch, 20 at a time; a failure fails the planning (nothing was written yet). */
export async function readMany(client: GraphClient, urls: string[], opts: { pacer: Pacer; concurrency?: number; signal?: AbortSignal }): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  const errors: GraphRequestError[] = [];
  const engine = new BatchEngine(client, opts.pacer, { concurrency: opts.concurrency ?? 8 });
  const unique = [...new Set(urls)];
  await engine.run(
    unique.map((url) => ({ key: url, request: () => ({ method: 'GET' as const, url }) })),
    {
      onDone: async (o) => {
        out.set(o.job.key, o.result);
      },
      onFailed: async (_job, err) => {
        errors.push(err);
      },
    },
    opts.signal,
  );
  if (errors.length) throw errors[0];
  // A collection that pages on: follow the rest outside the batch.
  for (const [url, body] of out) {
    const next = (body as { '@odata.nextLink'?: string } | undefined)?.['@odata.nextLink'];
    if (next) {
      const rest = await client.list(next);
      out.set(url, { value: [...((body as { value: unknown[] }).value ?? []), ...rest] });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Plans

export interface BlueprintScope {
  blueprint: Blueprint;
  principal?: BlueprintPrincipal | undefined;
}

export interface TogglePlanInput {
  enabled: boolean;
  blueprints: BlueprintScope[];
  /** --agents-file: only these agent identities (object ids). */
  agentIds?: string[];
  includeAgentUsers: boolean;
  principal: boolean;
  agents: boolean;
}

const AGENT_SELECT = 'id,displayName,accountEnabled,agentIdentityBlueprintId';

async function listAgentsOf(client: GraphClient, blueprintAppId: string): Promise<AgentIdentity[]> {
  return parseList(AgentIdentity, await client.list(paths.agents(), { query: { $filter: `agentIdentityBlueprintId eq ${odataString(blueprintAppId)}`, $select: AGENT_SELECT } }), 'agent identity');
}

/** Agent users whose parent is one of `agentIds`, listed once rather than per agent. */
async function agentUsersOf(client: GraphClient, agentIds: Set<string>): Promise<Map<string, User>> {
  const users = parseList(User, await client.list(paths.agentUsers(), { query: { $select: AGENT_USER_SELECT } }), 'agent user');
  const out = new Map<string, User>();
  for (const u of users) if (u.identityParentId && agentIds.has(u.identityParentId.toLowerCase())) out.set(u.id, u);
  return out;
}

/**
 * Disable: the blueprint principal first (phase 0: one write and every agent of the blueprint
 * stops authenticating, ED manage-agent-blueprint.md), then each agent identity and agent user
 * (phase 1). Enable runs the other way round: agents first, the principal last, so that they
 * come back together when the master switch flips. Objects already in the wanted state are
 * planned as skipped: no write, and undo leaves them as they were.
 */
export async function planToggle(client: GraphClient, input: TogglePlanInput, pacer: Pacer): Promise<Item[]> {
  const items: Item[] = [];
  const want = input.enabled;
  const principalPhase = want ? 2 : 0;
  const add = (target: Target, obj: { id: string; displayName?: string | null | undefined; accountEnabled?: boolean | null | undefined }, blueprint: string | undefined, phase: number) => {
    const prior = { accountEnabled: obj.accountEnabled ?? null };
    items.push({
      t: 'item',
      key: `${target}:${obj.id}`,
      phase,
      op: { kind: 'setEnabled', target, id: obj.id, value: want },
      label: obj.displayName ?? obj.id,
      objectType: target === 'principal' ? 'agentIdentityBlueprintPrincipal' : target === 'agent' ? 'agentIdentity' : 'agentUser',
      objectId: obj.id,
      ...(blueprint ? { blueprint } : {}),
      prior,
      ...(obj.accountEnabled === want ? { skip: want ? 'already enabled' : 'already disabled' } : {}),
    });
  };
  let agents: { agent: AgentIdentity; blueprint?: string }[] = [];
  // Blueprints are listed side by side: each is a chain of pages (100 agents a page at most).
  const listed = await Promise.all(input.blueprints.map((b) => (input.agents ? listAgentsOf(client, b.blueprint.appId) : Promise.resolve([]))));
  input.blueprints.forEach((b, i) => {
    const name = b.blueprint.displayName ?? b.blueprint.appId;
    if (input.principal && b.principal) add('principal', b.principal, name, principalPhase);
    agents.push(...listed[i]!.map((agent) => ({ agent, blueprint: name })));
  });
  if (input.agentIds?.length) {
    const urls = input.agentIds.map((id) => `${paths.agent(id)}?$select=${AGENT_SELECT}`);
    const got = await readMany(client, urls, { pacer });
    agents = input.agentIds.map((id, i) => ({ agent: parseAs(AgentIdentity, got.get(urls[i]!), 'agent identity') }));
  }
  for (const { agent, blueprint } of agents) add('agent', agent, blueprint, 1);
  if (input.includeAgentUsers && agents.length) {
    const parents = new Map(agents.map((a) => [a.agent.id.toLowerCase(), a.blueprint]));
    for (const u of (await agentUsersOf(client, new Set(parents.keys()))).values()) add('agentUser', u, parents.get(u.identityParentId!.toLowerCase()), 1);
  }
  return items;
}

export interface RevokeSet {
  grants: boolean;
  appRoles: boolean;
  inheritable: boolean;
  credentials: boolean;
  sessions: boolean;
}

/**
 * Revoke: the grants and app role assignments of the blueprint principal and of every agent
 * identity (read 20 principals per $batch), the blueprint's inheritable permissions, its
 * secrets, certificates and federated credentials, and the sign-in sessions of the agents' agent users.
 * Everything revoked is kept in the journal so that undo can recreate it (except credentials
 * and sessions, which cannot come back).
 */
export async function planRevoke(client: GraphClient, scopes: BlueprintScope[], what: RevokeSet, pacer: Pacer): Promise<Item[]> {
  const items: Item[] = [];
  for (const b of scopes) {
    const bpName = b.blueprint.displayName ?? b.blueprint.appId;
    const agents = what.grants || what.appRoles || what.sessions ? await listAgentsOf(client, b.blueprint.appId) : [];
    const principals = [...(b.principal ? [{ id: b.principal.id, displayName: b.principal.displayName, type: 'agentIdentityBlueprintPrincipal' }] : []), ...agents.map((a) => ({ id: a.id, displayName: a.displayName, type: 'agentIdentity' }))];
    if (what.grants) {
      const urls = principals.map((p) => grantPaths.principalGrants(p.id));
      const got = await readMany(client, urls, { pacer });
      principals.forEach((p, i) => {
        for (const g of parseList(Grant, ((got.get(urls[i]!) as { value?: unknown[] }) ?? {}).value ?? [], 'oauth2PermissionGrant')) {
          items.push({ t: 'item', key: `grant:${g.id}`, phase: 0, op: { kind: 'deleteGrant', id: g.id, grant: grantSpec(g) }, label: `${p.displayName ?? p.id}: ${g.scope ?? ''}`.trim(), objectType: 'oAuth2PermissionGrant', objectId: g.id, blueprint: bpName, prior: g });
        }
      });
    }
    if (what.appRoles) {
      const urls = principals.map((p) => grantPaths.assignments(p.id));
      const got = await readMany(client, urls, { pacer });
      principals.forEach((p, i) => {
        for (const a of parseList(AppRoleAssignment, ((got.get(urls[i]!) as { value?: unknown[] }) ?? {}).value ?? [], 'appRoleAssignment')) {
          const spec = { principalId: a.principalId, resourceId: a.resourceId, appRoleId: a.appRoleId };
          items.push({ t: 'item', key: `assignment:${a.id}`, phase: 0, op: { kind: 'deleteAssignment', id: a.id, assignment: spec }, label: `${p.displayName ?? p.id}: ${a.resourceDisplayName ?? a.resourceId} ${a.appRoleId}`, objectType: 'appRoleAssignment', objectId: a.id, blueprint: bpName, prior: a });
        }
      });
    }
    if (what.inheritable) {
      const list = parseList(InheritablePermission, await client.list(`${paths.blueprint(b.blueprint.id)}/inheritablePermissions`), 'inheritable permission');
      for (const p of list) {
        items.push({ t: 'item', key: `inheritable:${b.blueprint.id}:${p.resourceAppId}`, phase: 0, op: { kind: 'deleteInheritable', blueprintId: b.blueprint.id, permission: p }, label: `${bpName}: ${p.resourceAppId}`, objectType: 'inheritablePermission', objectId: p.resourceAppId, blueprint: bpName, prior: p });
      }
    }
    if (what.credentials) {
      const creds = await getCredentials(client, b.blueprint.id);
      for (const c of creds.passwordCredentials) {
        // The hint and dates identify the secret for people; the secret itself is never returned.
        items.push({ t: 'item', key: `password:${b.blueprint.id}:${c.keyId}`, phase: 0, op: { kind: 'removePassword', blueprintId: b.blueprint.id, keyId: c.keyId }, label: `${bpName}: secret ${c.displayName ? `${c.displayName} ` : ''}(${c.hint ?? '?'}…)`, objectType: 'passwordCredential', objectId: c.keyId, blueprint: bpName, prior: { keyId: c.keyId, displayName: c.displayName ?? null, hint: c.hint ?? null, endDateTime: c.endDateTime ?? null } });
      }
      if (creds.keyCredentials.length) {
        // Public certificates only: what the journal keeps of them is their summary, never a key.
        const certs = creds.keyCredentials.map(summarizeKeyCredential);
        const label = `${bpName}: ${certs.length} certificate${certs.length === 1 ? '' : 's'} (${certs.map((c) => c.displayName ?? c.thumbprint ?? c.keyId).join(', ')})`;
        items.push({ t: 'item', key: `certificates:${b.blueprint.id}`, phase: 0, op: { kind: 'removeCertificates', blueprintId: b.blueprint.id, keyIds: certs.map((c) => c.keyId) }, label, objectType: 'keyCredentials', objectId: b.blueprint.id, blueprint: bpName, prior: certs });
      }
      const fics = parseList(FederatedIdentityCredential, await client.list(`${paths.blueprint(b.blueprint.id)}/federatedIdentityCredentials`), 'federated identity credential');
      for (const f of fics) {
        items.push({ t: 'item', key: `fic:${b.blueprint.id}:${f.id}`, phase: 0, op: { kind: 'deleteFederatedCredential', blueprintId: b.blueprint.id, credentialId: f.id }, label: `${bpName}: ${f.name}`, objectType: 'federatedIdentityCredential', objectId: f.id, blueprint: bpName, prior: f });
      }
    }
    if (what.sessions && agents.length) {
      const users = await agentUsersOf(client, new Set(agents.map((a) => a.id.toLowerCase())));
      for (const u of users.values()) {
        items.push({ t: 'item', key: `sessions:${u.id}`, phase: 0, op: { kind: 'revokeSessions', userId: u.id }, label: u.userPrincipalName ?? u.id, objectType: 'agentUser', objectId: u.id, blueprint: bpName });
      }
    }
  }
  return items;
}

export interface CreateRow {
  name: string;
  sponsors: PrincipalRef[];
  owners: PrincipalRef[];
  agentUserUpn?: string | undefined;
}

/**
 * Create: one agent identity per row, and its agent user when the row names a UPN (phase 1,
 * after its agent: the agent user's identityParentId is the new agent's id). Rows whose agent
 * already exists in the blueprint (same display name) are skipped, and so are agent users whose
 * UPN exists: a pipeline can run the same file on every deploy.
 */
export async function planCreate(client: GraphClient, scope: BlueprintScope, rows: CreateRow[], opts: { tag?: AttributeRef } = {}): Promise<Item[]> {
  const existing = new Map((await listAgentsOf(client, scope.blueprint.appId)).map((a) => [a.displayName ?? '', a]));
  const upns = rows.filter((r) => r.agentUserUpn).map((r) => r.agentUserUpn!.toLowerCase());
  const existingUsers = new Set<string>();
  if (upns.length) {
    for (const u of parseList(User, await client.list(paths.agentUsers(), { query: { $select: AGENT_USER_SELECT } }), 'agent user')) {
      if (u.userPrincipalName) existingUsers.add(u.userPrincipalName.toLowerCase());
    }
  }
  const bpName = scope.blueprint.displayName ?? scope.blueprint.appId;
  const items: Item[] = [];
  for (const r of rows) {
    const have = existing.get(r.name);
    const agentKey = `agent:${bpName}:${r.name}`;
    items.push({
      t: 'item',
      key: agentKey,
      phase: 0,
      op: { kind: 'createAgent', blueprintAppId: scope.blueprint.appId, displayName: r.name, sponsors: r.sponsors, owners: r.owners },
      label: r.name,
      objectType: 'agentIdentity',
      ...(have ? { objectId: have.id, skip: 'already exists' } : {}),
      blueprint: bpName,
    });
    // #13: the new agent joins Conditional Access targeting of its blueprint (attribute = appId).
    // Same engine as the create: journaled, resumed, and undone by the create's undo (planUndo).
    if (opts.tag && !have) {
      items.push({
        t: 'item',
        key: `${agentKey}:attribute:${opts.tag.set}_${opts.tag.name}`,
        phase: 1,
        op: { kind: 'fleet.setAttribute', set: opts.tag.set, name: opts.tag.name, value: scope.blueprint.appId, blueprintTag: true },
        label: `${r.name}: ${opts.tag.set}.${opts.tag.name}`,
        objectType: 'agentIdentity',
        blueprint: bpName,
        after: agentKey,
      });
    }
    if (r.agentUserUpn) {
      const upn = r.agentUserUpn;
      const exists = existingUsers.has(upn.toLowerCase());
      items.push({
        t: 'item',
        key: `agentUser:${upn.toLowerCase()}`,
        phase: 1,
        op: { kind: 'createAgentUser', ...(have ? { identityParentId: have.id } : {}), displayName: r.name, userPrincipalName: upn, mailNickname: upn.split('@')[0]!.replace(/[^A-Za-z0-9._-]/g, '').slice(0, 64) || 'agent' },
        label: upn,
        objectType: 'agentUser',
        blueprint: bpName,
        ...(have ? {} : { after: agentKey }),
        ...(exists ? { skip: 'already exists' } : {}),
      });
    }
  }
  return items;
}

/** Undo: the inverse of every change a journal records as done, in reverse phase order. */
export function planUndo(journal: BulkJournal): { items: Item[]; irreversible: { item: Item; reason: string }[] } {
  const items: Item[] = [];
  const irreversible: { item: Item; reason: string }[] = [];
  const maxPhase = Math.max(0, ...journal.items.map((s) => s.item.phase));
  for (const st of journal.items) {
    if (st.status !== 'done') continue;
    // An attribute set on an agent the same run created: undoing the create deletes that agent.
    if (st.item.op.kind === 'fleet.setAttribute' && st.item.after && journal.items.some((x) => x.item.key === st.item.after && x.status === 'done')) continue;
    const inv = opInverse(st.item, st.result);
    if ('irreversible' in inv) {
      irreversible.push({ item: st.item, reason: inv.irreversible });
      continue;
    }
    const { after: _after, skip: _skip, ...rest } = st.item;
    void _after;
    void _skip;
    items.push({ ...rest, key: `undo:${st.item.key}`, phase: maxPhase - st.item.phase, op: inv, prior: undefined });
  }
  return { items, irreversible };
}

// ---------------------------------------------------------------------------------------------
// Running

export interface RowReport {
  key: string;
  action: string;
  objectType: string;
  objectId: string | null;
  name: string;
  blueprint: string | null;
  status: 'done' | 'failed' | 'skipped' | 'pending';
  detail: string | null;
  requestId: string | null;
}

export interface Progress {
  total: number;
  done: number;
  failed: number;
  skipped: number;
  throttled: number;
}

export interface RunOptions {
  /** The engine's client: retries only through the engine (see batch.ts). */
  client: GraphClient;
  pacer: Pacer;
  concurrency?: number;
  /** Backoff base for answers without Retry-After (shorter against a time-scaled emulator). */
  baseDelayMs?: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  now?: () => Date;
}

export function newRunId(): string {
  return randomUUID().slice(0, 8);
}

export async function startJournal(file: string, kind: string, args: Record<string, unknown>, items: Item[], undoOf?: string): Promise<JournalWriter> {
  return JournalWriter.create(file, { id: newRunId(), kind, createdAt: new Date().toISOString(), args, ...(undoOf ? { undoOf } : {}) }, items);
}

/**
 * Runs (or resumes) a journal's plan: phase by phase, every item without an outcome (failed
 * ones are tried again on resume), uncertain ones reconciled before anything is resent.
 */
export async function runJournal(file: string, writer: JournalWriter, opts: RunOptions): Promise<{ journal: BulkJournal; rows: RowReport[]; interrupted: boolean }> {
  const journal = readJournal<Op>(file);
  const results = new Map<string, unknown>();
  for (const st of journal.items) if (st.status === 'done' && st.result !== undefined) results.set(st.item.key, st.result);
  const progress: Progress = {
    total: journal.items.length,
    done: journal.items.filter((s) => s.status === 'done').length,
    failed: 0,
    skipped: journal.items.filter((s) => s.status === 'skipped').length,
    throttled: 0,
  };
  const engine = new BatchEngine(opts.client, opts.pacer, { concurrency: opts.concurrency ?? 8, ...(opts.baseDelayMs !== undefined ? { baseDelayMs: opts.baseDelayMs } : {}) });
  const phases = [...new Set(journal.items.map((s) => s.item.phase))].sort((a, b) => a - b);
  opts.onProgress?.(progress);
  for (const phase of phases) {
    if (opts.signal?.aborted) break;
    const todo = journal.items.filter((s) => s.item.phase === phase && (s.status === 'pending' || s.status === 'uncertain' || s.status === 'failed'));
    const jobs: Job[] = todo.map((st) => {
      const op = st.item.op;
      const after = st.item.after;
      return {
        key: st.item.key,
        request: () => opRequest(opts.client, op, after ? results.get(after) : undefined),
        ...(after ? { after } : {}),
        ru: opRu(),
        accept: opAccept(op),
        ...(opVersion(op) ? { version: opVersion(op) } : {}),
        reconcile: () => opReconcile(opts.client, op, st.intentAt, after ? results.get(after) : undefined),
        // Failed before: it may have been applied after all (a 504 that ran out of attempts).
        uncertain: st.status === 'uncertain' || st.status === 'failed',
      };
    });
    const byKey = new Map(todo.map((s) => [s.item.key, s]));
    await engine.run(
      jobs,
      {
        beforeSend: async (sent) => {
          const at = new Date().toISOString();
          for (const j of sent) byKey.get(j.key)!.intentAt = at;
          await writer.intent(sent.map((j) => j.key));
        },
        onDone: async (o) => {
          const st = byKey.get(o.job.key)!;
          const keep = resultToKeep(st.item.op, o.result);
          if (keep !== undefined) results.set(st.item.key, keep);
          await writer.done(st.item.key, o.status, keep, o.reconciled);
          if (st.status === 'failed') progress.failed--;
          st.status = 'done';
          st.result = keep;
          delete st.error;
          progress.done++;
          opts.onProgress?.(progress);
        },
        onFailed: async (job, err) => {
          const st = byKey.get(job.key)!;
          const error: ErrorSummary = { status: err.status, code: err.code, message: err.message, ...(err.requestId ? { requestId: err.requestId } : {}) };
          await writer.failed(st.item.key, error);
          st.status = 'failed';
          st.error = error;
          progress.failed++;
          opts.onProgress?.(progress);
        },
        onThrottled: (n) => {
          progress.throttled += n;
          opts.onProgress?.(progress);
        },
      },
      opts.signal,
    );
  }
  const interrupted = !!opts.signal?.aborted && journal.items.some((s) => s.status === 'pending' || s.status === 'uncertain');
  if (!interrupted) await writer.end();
  return { journal, rows: report(journal), interrupted };
}

export function report(journal: BulkJournal): RowReport[] {
  const idOf = (st: { result?: unknown } | undefined) => (st?.result as { id?: string } | undefined)?.id;
  const byKey = new Map(journal.items.map((st) => [st.item.key, st]));
  return journal.items.map((st) => ({
    key: st.item.key,
    action: actionOf(st.item.op),
    objectType: st.item.objectType,
    // An attribute of an agent the run created names that agent (the create's result).
    objectId: st.item.objectId ?? idOf(st) ?? (st.item.op.kind === 'fleet.setAttribute' && !st.item.op.id && st.item.after ? idOf(byKey.get(st.item.after)) : undefined) ?? null,
    name: st.item.label,
    blueprint: st.item.blueprint ?? null,
    status: st.status === 'uncertain' ? 'pending' : st.status,
    detail: st.status === 'skipped' ? (st.item.skip ?? null) : st.error ? `${st.error.code}: ${st.error.message}` : null,
    requestId: st.error?.requestId ?? null,
  }));
}

/** Counts per blueprint and action, for confirmations and dry runs. */
export function summarize(items: Item[]): { blueprint: string; action: string; objectType: string; count: number; skipped: number }[] {
  const m = new Map<string, { blueprint: string; action: string; objectType: string; count: number; skipped: number }>();
  for (const i of items) {
    const k = `${i.blueprint ?? ''}\u0000${actionOf(i.op)}\u0000${i.objectType}`;
    const e = m.get(k) ?? { blueprint: i.blueprint ?? '(agents file)', action: actionOf(i.op), objectType: i.objectType, count: 0, skipped: 0 };
    if (i.skip) e.skipped++;
    else e.count++;
    m.set(k, e);
  }
  return [...m.values()];
}


/**
 * Issue 12: an undo (or any plan) whose changes are already in Graph — a journal undone twice —
 * plans them as skipped, so the run reports "0 changed, N already as asked" instead of sending
 * them again. accountEnabled, what most undos set, is read 20 objects per $batch; other kinds
 * ask their own reconcile, a few at a time.
 */
export async function skipAlreadyDone(client: GraphClient, items: Item[], pacer: Pacer, concurrency = 8): Promise<Item[]> {
  const out = items.slice();
  const toggles = out.map((item, i) => ({ item, i })).filter(({ item }) => !item.skip && !item.after && item.op.kind === 'setEnabled');
  const url = (op: Op & { kind: 'setEnabled' }) => `${targetPath(op.target, op.id)}?$select=id,accountEnabled`;
  if (toggles.length) {
    const urls = toggles.map(({ item }) => url(item.op as Op & { kind: 'setEnabled' }));
    // A read that fails (the object is gone) leaves its item to the run, which reports it.
    const got = await readMany(client, urls, { pacer, concurrency }).catch(() => new Map<string, unknown>());
    for (const { item, i } of toggles) {
      const op = item.op as Op & { kind: 'setEnabled' };
      if ((got.get(url(op)) as { accountEnabled?: boolean } | undefined)?.accountEnabled === op.value) out[i] = { ...item, skip: 'already as asked' };
    }
  }
  const others = out.map((item, i) => ({ item, i })).filter(({ item }) => !item.skip && !item.after && item.op.kind !== 'setEnabled');
  let next = 0;
  const worker = async () => {
    while (next < others.length) {
      const { item, i } = others[next++]!;
      const r = await opReconcile(client, item.op, undefined).catch(() => ({ done: false }));
      if (r.done) out[i] = { ...item, skip: 'already as asked' };
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, others.length) }, worker));
  return out;
}

// ---------------------------------------------------------------------------------------------
// #13: a custom security attribute on every agent of some blueprints

/**
 * Set one attribute on each of these agents. The current values are read first (20 agents to a
 * $batch): they are the journal's prior values, which undo writes back, and an agent that already
 * holds the value is planned as skipped.
 */
export async function planSetAttribute(client: GraphClient, agents: { id: string; displayName?: string | null | undefined; blueprint?: string | undefined }[], attribute: AttributeRef, value: string | null, pacer: Pacer): Promise<Item[]> {
  const urls = agents.map((a) => agentAttributesUrl(a.id));
  const got = await readMany(client, urls, { pacer });
  return agents.map((a, i) => {
    const attrs = ((got.get(urls[i]!) as { customSecurityAttributes?: AttributeValues | null } | undefined)?.customSecurityAttributes ?? {}) as AttributeValues;
    const current = valueOf(attrs, attribute) ?? null;
    return {
      t: 'item' as const,
      key: `attribute:${a.id}:${attribute.set}_${attribute.name}`,
      phase: 0,
      op: { kind: 'setAttribute' as const, id: a.id, set: attribute.set, name: attribute.name, value },
      label: a.displayName ?? a.id,
      objectType: 'agentIdentity',
      objectId: a.id,
      ...(a.blueprint ? { blueprint: a.blueprint } : {}),
      prior: { value: current },
      ...(current === value ? { skip: value === null ? 'not assigned' : 'already set' } : {}),
    };
  });
}
