import type { GraphClient } from './client.js';
import type { Reconciled, Method } from './batch.js';
import type { ItemRecord } from './journal.js';
import type { Item as BulkItem } from './bulk.js';
import type { Pacer } from './pacer.js';
import { directoryObjectRef, paths } from './paths.js';
import type { PrincipalRef } from './directory.js';
import { collect, type Snapshot } from './governance/collect.js';
import { evaluate } from './governance/evaluate.js';
import { MIN_LOG_DAYS } from './governance/report.js';

// The bulk changes of issue #14, run by the journaled engine of bulk.ts (resume, undo):
//   bulk sponsor replace --from U --to V   add V, then remove U, on every object U sponsors;
//   bulk sponsor add --user|--group X --orphaned   give every orphan `agentid report` finds a sponsor;
//   bulk delete --stale-days N --agents-only   soft-delete the agents the report calls stale.
// Sponsors: "A sponsor is required when creating an agent identity or agent blueprint" (ED
// agent-owners-sponsors-managers.md) and Graph refuses to remove an agent identity's last one,
// so a replacement adds before it removes: the removal runs in a later phase and depends on the
// add (`after`), and fails, untouched, when the add failed. Undo runs the phases backwards,
// which again adds (U back) before it removes (V).
// Stale deletes are the engine's own deleteObject: soft, and undone by its restoreObject from
// /directory/deletedItems (GD directory-deleteditems-restore.md).

export type SponsorTarget = 'blueprint' | 'agent' | 'agentUser';

export type GovernanceOp =
  | { kind: 'addSponsor'; target: SponsorTarget; id: string; sponsor: PrincipalRef }
  | { kind: 'removeSponsor'; target: SponsorTarget; id: string; sponsor: PrincipalRef };

export const GOVERNANCE_ACTIONS: Record<GovernanceOp['kind'], string> = {
  addSponsor: 'add sponsor',
  removeSponsor: 'remove sponsor',
};

type Item = ItemRecord<GovernanceOp>;

const sponsorsPath = (t: SponsorTarget, id: string) => (t === 'blueprint' ? `${paths.blueprint(id)}/sponsors` : t === 'agent' ? `${paths.agent(id)}/sponsors` : `/users/${id}/sponsors`);

export function governanceRequest(client: GraphClient, op: GovernanceOp): { method: Method; url: string; body?: unknown } {
  switch (op.kind) {
    case 'addSponsor':
      return { method: 'POST', url: `${sponsorsPath(op.target, op.id)}/$ref`, body: { '@odata.id': directoryObjectRef(client.baseUrl, client.version, 'directoryObjects', op.sponsor.id) } };
    case 'removeSponsor':
      return { method: 'DELETE', url: `${sponsorsPath(op.target, op.id)}/${op.sponsor.id}/$ref` };
  }
}

/** A removal that meets 404 is done already. */
export function governanceAccept(op: GovernanceOp): number[] {
  return op.kind === 'removeSponsor' ? [404] : [];
}

export async function governanceReconcile(client: GraphClient, op: GovernanceOp): Promise<Reconciled> {
  switch (op.kind) {
    case 'addSponsor':
    case 'removeSponsor': {
      const list = await client.list<{ id: string }>(`${sponsorsPath(op.target, op.id)}?$select=id`);
      const present = list.some((s) => s.id.toLowerCase() === op.sponsor.id.toLowerCase());
      return { done: op.kind === 'addSponsor' ? present : !present };
    }
  }
}

export function governanceInverse(op: GovernanceOp): GovernanceOp {
  switch (op.kind) {
    case 'addSponsor':
      return { ...op, kind: 'removeSponsor' };
    case 'removeSponsor':
      return { ...op, kind: 'addSponsor' };
  }
}

// ---------------------------------------------------------------------------------------------
// Plans

const OBJECT_TYPE: Record<SponsorTarget, string> = { blueprint: 'agentIdentityBlueprint', agent: 'agentIdentity', agentUser: 'agentUser' };

interface Sponsored {
  target: SponsorTarget;
  id: string;
  name: string;
  blueprint: string | undefined;
  sponsorIds: Set<string>;
}

/** Every blueprint, agent and agent user with its sponsors: the report's own pass. */
async function sponsoredObjects(snapshot: Snapshot): Promise<Sponsored[]> {
  const bpByAppId = new Map(snapshot.blueprints.map((b) => [b.appId.toLowerCase(), b.displayName ?? b.appId]));
  const agentBp = new Map(snapshot.agents.map((a) => [a.id.toLowerCase(), bpByAppId.get(String(a.agentIdentityBlueprintId ?? '').toLowerCase())]));
  const out: Sponsored[] = [];
  const add = (target: SponsorTarget, o: { id: string; displayName?: string | null | undefined }, blueprint: string | undefined) => {
    const list = snapshot.sponsors.get(o.id);
    if (list) out.push({ target, id: o.id, name: o.displayName ?? o.id, blueprint, sponsorIds: new Set(list.map((s) => s.id.toLowerCase())) });
  };
  for (const b of snapshot.blueprints) add('blueprint', b, b.displayName ?? b.appId);
  for (const a of snapshot.agents) add('agent', a, bpByAppId.get(String(a.agentIdentityBlueprintId ?? '').toLowerCase()));
  for (const u of snapshot.agentUsers) add('agentUser', u, agentBp.get(String(u.identityParentId ?? '').toLowerCase()));
  return out;
}

export interface GovernancePlanInput {
  pacer: Pacer;
  now: Date;
  blueprintAppIds?: string[] | undefined;
  concurrency?: number;
}

function snapshotOf(client: GraphClient, o: GovernancePlanInput, days = MIN_LOG_DAYS): Promise<Snapshot> {
  return collect(client, { pacer: o.pacer, now: o.now, days, blueprintAppIds: o.blueprintAppIds, ...(o.concurrency ? { concurrency: o.concurrency } : {}) });
}

/** Where `from` sponsors: add `to` (phase 0), then remove `from` (phase 1, after the add). */
export async function planSponsorReplace(client: GraphClient, from: PrincipalRef, to: PrincipalRef, o: GovernancePlanInput): Promise<Item[]> {
  const objects = (await sponsoredObjects(await snapshotOf(client, o))).filter((x) => x.sponsorIds.has(from.id.toLowerCase()));
  const items: Item[] = [];
  const label = (p: PrincipalRef) => p.displayName ?? p.id;
  for (const x of objects) {
    const addKey = `sponsor+:${x.target}:${x.id}:${to.id}`;
    const has = x.sponsorIds.has(to.id.toLowerCase());
    items.push({ t: 'item', key: addKey, phase: 0, op: { kind: 'addSponsor', target: x.target, id: x.id, sponsor: to }, label: `${x.name}: + ${label(to)}`, objectType: OBJECT_TYPE[x.target], objectId: x.id, ...(x.blueprint ? { blueprint: x.blueprint } : {}), ...(has ? { skip: 'already a sponsor' } : {}) });
    items.push({ t: 'item', key: `sponsor-:${x.target}:${x.id}:${from.id}`, phase: 1, op: { kind: 'removeSponsor', target: x.target, id: x.id, sponsor: from }, label: `${x.name}: − ${label(from)}`, objectType: OBJECT_TYPE[x.target], objectId: x.id, ...(x.blueprint ? { blueprint: x.blueprint } : {}), ...(has ? {} : { after: addKey }) });
  }
  return items;
}

/** Every object the report finds orphaned (no sponsor, or none who can act) gets `who`. */
export async function planSponsorOrphans(client: GraphClient, who: PrincipalRef, o: GovernancePlanInput): Promise<Item[]> {
  const snapshot = await snapshotOf(client, o);
  const orphans = evaluate(snapshot, { staleDays: MIN_LOG_DAYS, expiringDays: 30 }).filter((f) => f.rule === 'orphaned.no-sponsor' || f.rule === 'orphaned.inactive-sponsors');
  const kinds: Record<string, SponsorTarget> = { blueprint: 'blueprint', agent: 'agent', agentUser: 'agentUser' };
  return orphans
    .filter((f) => kinds[f.objectType])
    .map((f) => {
      const target = kinds[f.objectType]!;
      const has = snapshot.sponsors.get(f.objectId)?.some((s) => s.id.toLowerCase() === who.id.toLowerCase());
      return { t: 'item' as const, key: `sponsor+:${target}:${f.objectId}:${who.id}`, phase: 0, op: { kind: 'addSponsor' as const, target, id: f.objectId, sponsor: who }, label: `${f.object}: + ${who.displayName ?? who.id}`, objectType: OBJECT_TYPE[target], objectId: f.objectId, ...(f.blueprint ? { blueprint: f.blueprint } : {}), ...(has ? { skip: 'already a sponsor' } : {}) };
    });
}

/** Agents without a successful sign-in for `staleDays` (the report's stale rules), soft-deleted. */
export async function planStaleDelete(client: GraphClient, staleDays: number, o: GovernancePlanInput): Promise<BulkItem[]> {
  const snapshot = await snapshotOf(client, o, Math.max(staleDays, MIN_LOG_DAYS));
  // Without the sign-in logs nothing can be called stale: Graph's own error (403 → exit 4).
  if (snapshot.signInError) throw snapshot.signInError;
  // The report's stale agents, and those it calls never signed in that are older than the
  // window: they too had no successful sign-in for `staleDays` (an agent younger than that is not).
  const cutoff = o.now.getTime() - staleDays * 86_400_000;
  const stale = evaluate(snapshot, { staleDays, expiringDays: 30 }).filter(
    (f) => f.objectType === 'agent' && (f.rule === 'stale.no-recent-sign-in' || (f.rule === 'stale.never-signed-in' && Date.parse(String(f.detail.createdDateTime)) <= cutoff)),
  );
  return stale.map((f) => ({
    t: 'item' as const,
    key: `delete:agent:${f.objectId}`,
    phase: 0,
    op: { kind: 'deleteObject' as const, target: 'agent' as const, id: f.objectId },
    label: `${f.object} (last sign-in: ${(f.detail.lastSignIn as string | null) ?? 'none'})`,
    objectType: 'agentIdentity',
    objectId: f.objectId,
    ...(f.blueprint ? { blueprint: f.blueprint } : {}),
  }));
}
