import type { GraphClient } from '../client.js';
import type { Reconciled, Method } from '../batch.js';
import type { ItemRecord } from '../journal.js';
import type { PrincipalRef } from '../directory.js';
import { orUndefined } from '../blueprints.js';
import { AgentIdentity, DirectoryObject, FederatedIdentityCredential, InheritablePermission, parseList } from '../models.js';
import { directoryObjectRef, odataString, paths } from '../paths.js';
import { assignmentBody, getAgentAttributes, valueOf } from '../attributes.js';

// The changes `agentid apply` makes, as bulk-engine operations (issue #16). bulk.ts hands every
// op whose kind starts with 'fleet.' to the functions here, so apply's journal is an ordinary
// bulk journal: `bulk resume` finishes it and `bulk undo` reverses it.
//
// An object created in the same run has no id at plan time. Its dependants name it with `after`
// (the engine waits for it, across phases too) and take its id, or a new blueprint's appId, from
// its result. Every op says how to check, after an unknown outcome, whether it took effect.

export type RefTarget = 'blueprint' | 'agent';
export type Scopes = { kind: 'enumerated'; scopes: string[] } | { kind: 'allAllowed' } | { kind: 'none' };
export interface FicBody {
  name: string;
  issuer: string;
  subject: string;
  audiences: string[];
  description?: string | undefined;
}

export type FleetOp =
  /** PATCH /applications(uniqueName='…') with Prefer: create-if-missing (GD agentidentityblueprint-upsert.md). */
  | { kind: 'fleet.createBlueprint'; uniqueName: string; displayName: string; description?: string | undefined; tags?: string[] | undefined; sponsors: PrincipalRef[]; owners: PrincipalRef[] }
  | { kind: 'fleet.createPrincipal'; appId?: string; accountEnabled: boolean }
  | { kind: 'fleet.updateBlueprint'; id: string; set: Record<string, unknown>; prior: Record<string, unknown> }
  | { kind: 'fleet.addRef'; rel: 'sponsors' | 'owners'; target: RefTarget; id: string; who: PrincipalRef }
  | { kind: 'fleet.removeRef'; rel: 'sponsors' | 'owners'; target: RefTarget; id: string; who: PrincipalRef }
  | { kind: 'fleet.createAgent'; blueprintAppId?: string; displayName: string; sponsors: PrincipalRef[]; owners: PrincipalRef[]; accountEnabled: boolean }
  | { kind: 'fleet.createAgentUser'; identityParentId?: string; displayName: string; userPrincipalName: string; accountEnabled: boolean }
  | { kind: 'fleet.putInheritable'; blueprintId?: string; resourceAppId: string; scopes: Scopes; exists: boolean; prior?: Scopes }
  | { kind: 'fleet.deleteInheritable'; blueprintId: string; resourceAppId: string; prior: Scopes }
  | { kind: 'fleet.putFic'; blueprintId?: string; ficId?: string; fic: FicBody; prior?: FicBody }
  | { kind: 'fleet.deleteFic'; blueprintId: string; ficId: string; prior: FicBody }
  /**
   * A custom security attribute of an agent created by the same run (its id comes from the create
   * item, `after`). An existing agent's attributes go through bulk's own setAttribute op.
   */
  | {
      kind: 'fleet.setAttribute';
      id?: string;
      set: string;
      name: string;
      value: string | null;
      /** #13: agentid's own AgentId.Blueprint tag of a new agent (not asked for by a file): a 403 on it warns, as agent create does. */
      blueprintTag?: true;
    }
  /** A soft delete: the object goes to /directory/deletedItems for 30 days, and undo restores it. */
  | { kind: 'fleet.delete'; target: 'agent' | 'agentUser'; id: string }
  | { kind: 'fleet.restore'; id: string }
  | { kind: 'fleet.deleteCreated'; target: 'blueprint' | 'principal' | 'agent' | 'agentUser'; id: string };

export const isFleetOp = (op: { kind: string }): op is FleetOp => op.kind.startsWith('fleet.');

interface Req {
  method: Method;
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
}

type After = { id?: string; appId?: string } | undefined;

const ACTIONS: Record<FleetOp['kind'], string> = {
  'fleet.createBlueprint': 'create blueprint',
  'fleet.createPrincipal': 'create blueprint principal',
  'fleet.updateBlueprint': 'update blueprint',
  'fleet.addRef': 'add',
  'fleet.removeRef': 'remove',
  'fleet.createAgent': 'create agent identity',
  'fleet.createAgentUser': 'create agent user',
  'fleet.putInheritable': 'set inheritable permission',
  'fleet.deleteInheritable': 'delete inheritable permission',
  'fleet.putFic': 'set federated credential',
  'fleet.deleteFic': 'delete federated credential',
  'fleet.setAttribute': 'set custom security attribute',
  'fleet.delete': 'delete (soft)',
  'fleet.restore': 'restore deleted',
  'fleet.deleteCreated': 'delete created',
};

export function fleetAction(op: FleetOp): string {
  if (op.kind === 'fleet.addRef' || op.kind === 'fleet.removeRef') return `${op.kind === 'fleet.addRef' ? 'add' : 'remove'} ${op.rel.slice(0, -1)}`;
  return ACTIONS[op.kind];
}

const refBind = (client: GraphClient, r: PrincipalRef) => directoryObjectRef(client.baseUrl, client.version, r.kind === 'group' ? 'groups' : 'users', r.id);
const refPath = (target: RefTarget, id: string, rel: string) => `${target === 'blueprint' ? paths.blueprint(id) : paths.agent(id)}/${rel}`;
const scopesBody = (s: Scopes) =>
  s.kind === 'allAllowed' ? { '@odata.type': 'microsoft.graph.allAllowedScopes' } : s.kind === 'none' ? { '@odata.type': 'microsoft.graph.noScopes' } : { '@odata.type': 'microsoft.graph.enumeratedScopes', scopes: s.scopes };
const ficPath = (bp: string, id?: string) => `${paths.blueprint(bp)}/federatedIdentityCredentials${id ? `/${id}` : ''}`;

function need(v: string | undefined, what: string): string {
  if (!v) throw new Error(`No ${what}: the object it belongs to was not created.`);
  return v;
}

const deletePath = (target: 'blueprint' | 'principal' | 'agent' | 'agentUser', id: string) =>
  target === 'blueprint' ? paths.blueprint(id) : target === 'principal' ? paths.principal(id) : target === 'agent' ? paths.agent(id) : paths.agentUser(id);

export function fleetRequest(client: GraphClient, op: FleetOp, afterResult?: unknown): Req {
  const after = afterResult as After;
  switch (op.kind) {
    case 'fleet.createBlueprint':
      return {
        method: 'PATCH',
        url: paths.blueprintByUniqueName(op.uniqueName),
        headers: { Prefer: 'create-if-missing' },
        body: {
          displayName: op.displayName,
          ...(op.description !== undefined ? { description: op.description } : {}),
          ...(op.tags ? { tags: op.tags } : {}),
          'sponsors@odata.bind': op.sponsors.map((s) => refBind(client, s)),
          ...(op.owners.length ? { 'owners@odata.bind': op.owners.map((s) => refBind(client, s)) } : {}),
        },
      };
    case 'fleet.createPrincipal':
      return { method: 'POST', url: paths.principals(), body: { appId: need(op.appId ?? after?.appId, 'blueprint appId'), ...(op.accountEnabled ? {} : { accountEnabled: false }) } };
    case 'fleet.updateBlueprint':
      return { method: 'PATCH', url: paths.blueprint(op.id), body: op.set };
    case 'fleet.addRef':
      return { method: 'POST', url: `${refPath(op.target, op.id, op.rel)}/$ref`, body: { '@odata.id': directoryObjectRef(client.baseUrl, client.version, 'directoryObjects', op.who.id) } };
    case 'fleet.removeRef':
      return { method: 'DELETE', url: `${refPath(op.target, op.id, op.rel)}/${op.who.id}/$ref` };
    case 'fleet.createAgent':
      return {
        method: 'POST',
        url: paths.agents(),
        body: {
          displayName: op.displayName,
          agentIdentityBlueprintId: need(op.blueprintAppId ?? after?.appId, 'blueprint appId'),
          'sponsors@odata.bind': op.sponsors.map((s) => refBind(client, s)),
          ...(op.owners.length ? { 'owners@odata.bind': op.owners.map((s) => refBind(client, s)) } : {}),
          ...(op.accountEnabled ? {} : { accountEnabled: false }),
        },
      };
    case 'fleet.createAgentUser': {
      const nick = op.userPrincipalName.split('@')[0]!.replace(/[^A-Za-z0-9._-]/g, '').slice(0, 64) || 'agent';
      return { method: 'POST', url: paths.agentUsers(), body: { accountEnabled: op.accountEnabled, displayName: op.displayName, mailNickname: nick, userPrincipalName: op.userPrincipalName, identityParentId: need(op.identityParentId ?? after?.id, 'agent identity id') } };
    }
    case 'fleet.putInheritable': {
      const bp = need(op.blueprintId ?? after?.id, 'blueprint id');
      if (op.exists) return { method: 'PATCH', url: `${paths.blueprint(bp)}/inheritablePermissions/${op.resourceAppId}`, body: { inheritableScopes: scopesBody(op.scopes) } };
      return { method: 'POST', url: `${paths.blueprint(bp)}/inheritablePermissions`, body: { resourceAppId: op.resourceAppId, inheritableScopes: scopesBody(op.scopes) } };
    }
    case 'fleet.deleteInheritable':
      return { method: 'DELETE', url: `${paths.blueprint(op.blueprintId)}/inheritablePermissions/${op.resourceAppId}` };
    case 'fleet.putFic': {
      const bp = need(op.blueprintId ?? after?.id, 'blueprint id');
      if (op.ficId) {
        const { name: _n, ...rest } = op.fic;
        void _n;
        return { method: 'PATCH', url: ficPath(bp, op.ficId), body: rest };
      }
      return { method: 'POST', url: ficPath(bp), body: op.fic };
    }
    case 'fleet.deleteFic':
      return { method: 'DELETE', url: ficPath(op.blueprintId, op.ficId) };
    case 'fleet.setAttribute':
      // GD serviceprincipal-update.md, custom security attribute examples (as bulk's setAttribute).
      return { method: 'PATCH', url: paths.agent(need(op.id ?? after?.id, 'agent identity id')), body: assignmentBody([{ set: op.set, name: op.name, value: op.value }]) };
    case 'fleet.delete':
      return { method: 'DELETE', url: deletePath(op.target, op.id) };
    case 'fleet.restore':
      // GD directory-deleteditems-restore.md
      return { method: 'POST', url: `/directory/deletedItems/${op.id}/restore`, body: {} };
    case 'fleet.deleteCreated':
      return { method: 'DELETE', url: deletePath(op.target, op.id) };
  }
}

export function fleetAccept(op: FleetOp): number[] {
  return op.kind === 'fleet.removeRef' || op.kind === 'fleet.deleteInheritable' || op.kind === 'fleet.deleteFic' || op.kind === 'fleet.delete' || op.kind === 'fleet.deleteCreated' ? [404] : [];
}

/** What the journal keeps of an answer: ids (and a new blueprint's appId), never whole objects. */
export function fleetResult(op: FleetOp, body: unknown): unknown {
  const b = body as { id?: unknown; appId?: unknown } | undefined;
  if (typeof b?.id !== 'string') return undefined;
  return op.kind === 'fleet.createBlueprint' && typeof b.appId === 'string' ? { id: b.id, appId: b.appId } : { id: b.id };
}

export async function fleetReconcile(client: GraphClient, op: FleetOp, afterResult?: unknown): Promise<Reconciled> {
  const after = afterResult as After;
  const exists = async (url: string) => (await orUndefined(() => client.get<{ id: string; appId?: string }>(url))) !== undefined;
  switch (op.kind) {
    case 'fleet.createBlueprint': {
      const b = await orUndefined(() => client.get<{ id: string; appId: string }>(paths.blueprintByUniqueName(op.uniqueName), { query: { $select: 'id,appId' } }));
      return b ? { done: true, result: { id: b.id, appId: b.appId } } : { done: false };
    }
    case 'fleet.createPrincipal': {
      const appId = op.appId ?? after?.appId;
      const p = appId ? await orUndefined(() => client.get<{ id: string }>(paths.principalByAppId(appId), { query: { $select: 'id' } })) : undefined;
      return p ? { done: true, result: { id: p.id } } : { done: false };
    }
    case 'fleet.updateBlueprint': {
      const cur = await client.get<Record<string, unknown>>(paths.blueprint(op.id), { query: { $select: Object.keys(op.set).join(',') } });
      return { done: Object.entries(op.set).every(([k, v]) => JSON.stringify(cur[k] ?? null) === JSON.stringify(v ?? null)) };
    }
    case 'fleet.addRef':
    case 'fleet.removeRef': {
      const list = parseList(DirectoryObject, await client.list(refPath(op.target, op.id, op.rel)), op.rel);
      const present = list.some((o) => o.id.toLowerCase() === op.who.id.toLowerCase());
      return { done: op.kind === 'fleet.addRef' ? present : !present };
    }
    case 'fleet.createAgent': {
      const appId = op.blueprintAppId ?? after?.appId;
      if (!appId) return { done: false };
      const found = parseList(AgentIdentity, await client.list(paths.agents(), { query: { $filter: `displayName eq ${odataString(op.displayName)} and agentIdentityBlueprintId eq ${odataString(appId)}`, $select: 'id,displayName' } }), 'agent identity');
      return found[0] ? { done: true, result: { id: found[0].id } } : { done: false };
    }
    case 'fleet.createAgentUser': {
      const u = await orUndefined(() => client.get<{ id: string }>(paths.user(op.userPrincipalName), { query: { $select: 'id' } }));
      return u ? { done: true, result: { id: u.id } } : { done: false };
    }
    case 'fleet.putInheritable':
    case 'fleet.deleteInheritable': {
      const bp = op.blueprintId ?? after?.id;
      if (!bp) return { done: false };
      const list = parseList(InheritablePermission, await client.list(`${paths.blueprint(bp)}/inheritablePermissions`), 'inheritable permission');
      const p = list.find((x) => x.resourceAppId.toLowerCase() === op.resourceAppId.toLowerCase());
      if (op.kind === 'fleet.deleteInheritable') return { done: !p };
      return { done: !!p && sameScopes(scopesOf(p), op.scopes) };
    }
    case 'fleet.putFic': {
      const bp = op.blueprintId ?? after?.id;
      if (!bp) return { done: false };
      const list = parseList(FederatedIdentityCredential, await client.list(ficPath(bp)), 'federated identity credential');
      const f = list.find((x) => x.name === op.fic.name);
      return f && sameFic(ficOf(f), op.fic) ? { done: true, result: { id: f.id } } : { done: false };
    }
    case 'fleet.deleteFic':
      return { done: !(await exists(ficPath(op.blueprintId, op.ficId))) };
    case 'fleet.setAttribute': {
      const id = op.id ?? after?.id;
      if (!id) return { done: false };
      return { done: (valueOf(await getAgentAttributes(client, id), op) ?? null) === op.value };
    }
    case 'fleet.delete':
    case 'fleet.deleteCreated':
      return { done: !(await exists(deletePath(op.target, op.id))) };
    case 'fleet.restore':
      return { done: await exists(paths.directoryObject(op.id)) };
  }
}

/** The op that puts back what `item` changed (run by bulk undo in reverse phase order). */
export function fleetInverse(item: ItemRecord<FleetOp>, result: unknown): FleetOp | { irreversible: string } {
  const op = item.op;
  const id = (result as { id?: string } | undefined)?.id;
  const unknownId = { irreversible: 'the id of the created object is unknown' };
  switch (op.kind) {
    case 'fleet.createBlueprint':
      return id ? { kind: 'fleet.deleteCreated', target: 'blueprint', id } : unknownId;
    case 'fleet.createPrincipal':
      return id ? { kind: 'fleet.deleteCreated', target: 'principal', id } : unknownId;
    case 'fleet.updateBlueprint':
      return { kind: 'fleet.updateBlueprint', id: op.id, set: op.prior, prior: op.set };
    case 'fleet.addRef':
      return { ...op, kind: 'fleet.removeRef' };
    case 'fleet.removeRef':
      return { ...op, kind: 'fleet.addRef' };
    case 'fleet.createAgent':
      return id ? { kind: 'fleet.deleteCreated', target: 'agent', id } : unknownId;
    case 'fleet.createAgentUser':
      return id ? { kind: 'fleet.deleteCreated', target: 'agentUser', id } : unknownId;
    case 'fleet.putInheritable': {
      const bp = op.blueprintId;
      if (!bp) return { irreversible: 'the blueprint was created by the same run; undo deletes it' };
      if (op.exists && op.prior) return { kind: 'fleet.putInheritable', blueprintId: bp, resourceAppId: op.resourceAppId, scopes: op.prior, exists: true, prior: op.scopes };
      return { kind: 'fleet.deleteInheritable', blueprintId: bp, resourceAppId: op.resourceAppId, prior: op.scopes };
    }
    case 'fleet.deleteInheritable':
      return { kind: 'fleet.putInheritable', blueprintId: op.blueprintId, resourceAppId: op.resourceAppId, scopes: op.prior, exists: false };
    case 'fleet.putFic': {
      const bp = op.blueprintId;
      if (!bp) return { irreversible: 'the blueprint was created by the same run; undo deletes it' };
      if (op.ficId && op.prior) return { kind: 'fleet.putFic', blueprintId: bp, ficId: op.ficId, fic: op.prior, prior: op.fic };
      return id ? { kind: 'fleet.deleteFic', blueprintId: bp, ficId: id, prior: op.fic } : unknownId;
    }
    case 'fleet.deleteFic':
      return { kind: 'fleet.putFic', blueprintId: op.blueprintId, fic: op.prior };
    case 'fleet.setAttribute':
      return { irreversible: 'the agent was created by the same run; undo deletes it' };
    case 'fleet.delete':
      return { kind: 'fleet.restore', id: op.id };
    case 'fleet.restore':
      return { kind: 'fleet.delete', target: item.objectType === 'agentUser' ? 'agentUser' : 'agent', id: op.id };
    case 'fleet.deleteCreated':
      return { irreversible: 'an undone create is not recreated' };
  }
}

export function scopesOf(p: InheritablePermission): Scopes {
  const t = (p.inheritableScopes['@odata.type'] ?? p.inheritableScopes.kind ?? '').toLowerCase();
  if (t.includes('allallowed')) return { kind: 'allAllowed' };
  if (t.includes('noscopes') || t === 'none') return { kind: 'none' };
  return { kind: 'enumerated', scopes: [...(p.inheritableScopes.scopes ?? [])] };
}

export function sameScopes(a: Scopes, b: Scopes): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind !== 'enumerated') return true;
  return JSON.stringify([...a.scopes].sort()) === JSON.stringify([...(b as { scopes: string[] }).scopes].sort());
}

export function ficOf(f: FederatedIdentityCredential): FicBody {
  return { name: f.name, issuer: f.issuer, subject: f.subject, audiences: [...f.audiences], ...(f.description ? { description: f.description } : {}) };
}

export function sameFic(a: FicBody, b: FicBody): boolean {
  return a.issuer === b.issuer && a.subject === b.subject && JSON.stringify([...a.audiences].sort()) === JSON.stringify([...b.audiences].sort()) && (a.description ?? '') === (b.description ?? '');
}
