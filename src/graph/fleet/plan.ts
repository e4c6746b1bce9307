import path from 'node:path';
import type { GraphClient } from '../client.js';
import type { Item } from '../bulk.js';
import { resolvePrincipal, type PrincipalRef } from '../directory.js';
import { UsageError } from '../../errors.js';
import { API_VERSION, KIND, type FleetFile } from './schema.js';
import type { LoadedFleet } from './file.js';
import type { LiveAgent, LiveBlueprint, LiveFleet, LiveRef } from './live.js';
import { ficOf, sameFic, sameScopes, scopesOf, type FicBody, type FleetOp, type Scopes } from './ops.js';
import { valueOf, type AttributeRef, type AttributeValues, type Definition } from '../attributes.js';

// The diff between a fleet file and the tenant (issue #16): per object, created, updated (each
// property before → after), deleted (only with --prune) or unchanged; and the same changes as
// bulk-engine items, in phases so that nothing waits on what is not there yet:
//   0 blueprints created (upsert by uniqueName)
//   1 their principals; blueprint properties; sponsors and owners added; inheritable
//     permissions and federated credentials set or removed
//   2 agent identities created; agents and principals enabled or disabled; agent sponsors/owners
//     added; existing agents' custom security attributes set (bulk's setAttribute, journaled with
//     the prior value, which undo puts back)
//   3 agent users created or enabled/disabled; new agents' attributes set; sponsors and owners removed (after the adds, so
//     that an object never falls to no sponsor, which Graph refuses)
//   4 agent users deleted, 5 agent identities deleted (--prune: last, soft, restorable)

export type ChangeAction = 'create' | 'update' | 'delete';
export type ObjectType = 'blueprint' | 'agent' | 'agentUser' | 'clientSecret';

export interface PropertyChange {
  property: string;
  before: unknown;
  after: unknown;
}

export interface Change {
  action: ChangeAction;
  type: ObjectType;
  /** uniqueName; uniqueName/agent name; a UPN; uniqueName/secret name. */
  key: string;
  id: string | null;
  properties: PropertyChange[];
}

export interface SecretToCreate {
  blueprint: string;
  displayName: string;
  /** Absolute path of the new file. */
  secretFile: string;
  /** The blueprint's item key when it is created in the same run. */
  blueprintKey?: string;
  blueprintId?: string;
}

export interface FleetPlan {
  changes: Change[];
  unchanged: Record<'blueprint' | 'agent' | 'agentUser', number>;
  items: Item[];
  secrets: SecretToCreate[];
  deletes: number;
}

/** Every sponsor and owner the file names, looked up once; an unknown one is bad input (exit 2). */
export async function resolveRefs(client: GraphClient, loaded: LoadedFleet): Promise<Map<string, PrincipalRef>> {
  const first = new Map<string, (string | number)[]>();
  const note = (list: string[] | undefined, at: (string | number)[]) => list?.forEach((r, i) => first.has(r.toLowerCase()) || first.set(r.toLowerCase(), [...at, i]));
  for (const [u, b] of Object.entries(loaded.fleet.blueprints)) {
    note(b.sponsors, ['blueprints', u, 'sponsors']);
    note(b.owners, ['blueprints', u, 'owners']);
    for (const [n, a] of Object.entries(b.agents)) {
      note(a?.sponsors, ['blueprints', u, 'agents', n, 'sponsors']);
      note(a?.owners, ['blueprints', u, 'agents', n, 'owners']);
    }
  }
  const out = new Map<string, PrincipalRef>();
  const refs = [...first.keys()];
  // Side by side, a few at a time: a file names tens of people, not thousands.
  for (let i = 0; i < refs.length; i += 10) {
    await Promise.all(
      refs.slice(i, i + 10).map(async (r) => {
        try {
          out.set(r, await resolvePrincipal(client, r));
        } catch (err) {
          const e = err as Error;
          if (e.name === 'NotFoundError' || e.name === 'UsageError') throw new UsageError(`${loaded.where(first.get(r)!)}: unknown sponsor or owner '${r}': ${e.message.replace(/\.$/, '')}. Use a UPN or object id of a user (or group, for sponsors) in this tenant.`);
          throw err;
        }
      }),
    );
  }
  for (const [u, b] of Object.entries(loaded.fleet.blueprints)) {
    const check = (list: string[] | undefined, at: (string | number)[]) =>
      list?.forEach((r, i) => {
        if (out.get(r.toLowerCase())?.kind === 'group') throw new UsageError(`${loaded.where([...at, i])}: '${r}' is a group; owners must be users.`);
      });
    check(b.owners, ['blueprints', u, 'owners']);
    for (const [n, a] of Object.entries(b.agents)) check(a?.owners, ['blueprints', u, 'agents', n, 'owners']);
  }
  return out;
}

const fmtRefs = (list: { ref: string }[]) => list.map((r) => r.ref).sort((a, b) => a.localeCompare(b));

/** Builds the plan. `baseDir` is where relative secretFile paths start (the file's directory). */
export function planFleet(loaded: LoadedFleet, live: LiveFleet, refs: Map<string, PrincipalRef>, opts: { prune: boolean; baseDir: string; definitions?: Map<string, Definition>; tagBlueprint?: AttributeRef }): FleetPlan {
  const fleet = loaded.fleet;
  const changes: Change[] = [];
  const items: Item[] = [];
  const secrets: SecretToCreate[] = [];
  const unchanged = { blueprint: 0, agent: 0, agentUser: 0 };
  const refOf = (r: string): PrincipalRef => refs.get(r.toLowerCase())!;
  const liveByName = new Map(live.blueprints.filter((b) => b.uniqueName).map((b) => [b.uniqueName!, b]));
  const agentKeyOf = new Map<string, string>(); // uniqueName\0agent name → the create item's key
  const agentIdOf = new Map<string, string>(); // uniqueName\0agent name → live id
  const agentNameById = new Map<string, string>();
  const push = (item: Omit<Item, 't'>) => items.push({ t: 'item', ...item } as Item);

  for (const [u, want] of Object.entries(fleet.blueprints)) {
    const have = liveByName.get(u);
    const wantSponsors = want.sponsors.map(refOf);
    const wantOwners = (want.owners ?? []).map(refOf);
    const bpKey = `fleet:bp:${u}`;
    let bpId: string | undefined;
    let bpAppId: string | undefined;
    noSponsors(['blueprints', u, 'sponsors'], want.sponsors, have ? have.sponsors.length : null, 'blueprint');
    if (!have) {
      const props: PropertyChange[] = [
        { property: 'displayName', before: null, after: want.displayName },
        ...(want.description !== undefined ? [{ property: 'description', before: null, after: want.description }] : []),
        { property: 'sponsors', before: null, after: want.sponsors },
        ...(want.owners?.length ? [{ property: 'owners', before: null, after: want.owners }] : []),
        ...(want.tags ? [{ property: 'tags', before: null, after: want.tags }] : []),
        { property: 'enabled', before: null, after: want.enabled },
      ];
      changes.push({ action: 'create', type: 'blueprint', key: u, id: null, properties: props });
      push({ key: bpKey, phase: 0, op: { kind: 'fleet.createBlueprint', uniqueName: u, displayName: want.displayName, description: want.description, tags: want.tags, sponsors: wantSponsors, owners: wantOwners }, label: u, objectType: 'agentIdentityBlueprint', blueprint: u });
      push({ key: `fleet:principal:${u}`, phase: 1, op: { kind: 'fleet.createPrincipal', accountEnabled: want.enabled }, label: u, objectType: 'agentIdentityBlueprintPrincipal', blueprint: u, after: bpKey });
    } else {
      bpId = have.id;
      bpAppId = have.appId;
      const props: PropertyChange[] = [];
      const set: Record<string, unknown> = {};
      const prior: Record<string, unknown> = {};
      const prop = (name: string, before: unknown, after: unknown) => {
        props.push({ property: name, before, after });
        set[name] = after;
        prior[name] = before;
      };
      if (have.displayName !== want.displayName) prop('displayName', have.displayName, want.displayName);
      if (want.description !== undefined && (have.description ?? '') !== want.description) prop('description', have.description, want.description);
      if (want.tags && JSON.stringify([...have.tags].sort()) !== JSON.stringify([...want.tags].sort())) prop('tags', have.tags, want.tags);
      if (Object.keys(set).length) push({ key: `fleet:bpupdate:${have.id}`, phase: 1, op: { kind: 'fleet.updateBlueprint', id: have.id, set, prior }, label: u, objectType: 'agentIdentityBlueprint', objectId: have.id, blueprint: u, prior });
      refDiff(props, items, 'blueprint', have.id, u, u, 'sponsors', have.sponsors, wantSponsors, want.sponsors, true, 1);
      // A file lists users as owners; an app that created the blueprint (Graph makes the creator an
      // owner) is outside it, so --prune leaves it, and export does not write it.
      if (want.owners) refDiff(props, items, 'blueprint', have.id, u, u, 'owners', have.owners.filter((o) => o.kind === 'user'), wantOwners, want.owners, opts.prune, 1);
      if (!have.principal) {
        props.push({ property: 'principal', before: null, after: 'created' });
        push({ key: `fleet:principal:${u}`, phase: 1, op: { kind: 'fleet.createPrincipal', appId: have.appId, accountEnabled: want.enabled }, label: u, objectType: 'agentIdentityBlueprintPrincipal', blueprint: u });
      } else if (have.principal.accountEnabled !== want.enabled) {
        props.push({ property: 'enabled', before: have.principal.accountEnabled, after: want.enabled });
        push({ key: `fleet:enable:principal:${have.principal.id}`, phase: 2, op: { kind: 'setEnabled', target: 'principal', id: have.principal.id, value: want.enabled }, label: u, objectType: 'agentIdentityBlueprintPrincipal', objectId: have.principal.id, blueprint: u, prior: { accountEnabled: have.principal.accountEnabled } });
      }
      if (props.length) changes.push({ action: 'update', type: 'blueprint', key: u, id: have.id, properties: props });
      else unchanged.blueprint++;
    }
    const bpChange = () => changes.find((c) => c.type === 'blueprint' && c.key === u) ?? (changes.push({ action: 'update', type: 'blueprint', key: u, id: have?.id ?? null, properties: [] }), unchanged.blueprint--, changes[changes.length - 1]!);

    // Inheritable permissions and federated credentials: exactly the listed set, when listed.
    if (want.inheritablePermissions) {
      const liveP = new Map((have?.inheritable ?? []).map((p) => [p.resourceAppId.toLowerCase(), scopesOf(p)]));
      for (const [appId, s] of Object.entries(want.inheritablePermissions)) {
        const scopes: Scopes = s.allAllowed ? { kind: 'allAllowed' } : s.none ? { kind: 'none' } : { kind: 'enumerated', scopes: s.scopes! };
        const cur = liveP.get(appId.toLowerCase());
        if (cur && sameScopes(cur, scopes)) continue;
        bpChange().properties.push({ property: `inheritablePermissions.${appId}`, before: cur ? scopesText(cur) : null, after: scopesText(scopes) });
        push({ key: `fleet:inheritable:${u}:${appId.toLowerCase()}`, phase: 1, op: { kind: 'fleet.putInheritable', ...(bpId ? { blueprintId: bpId } : {}), resourceAppId: appId, scopes, exists: !!cur, ...(cur ? { prior: cur } : {}) }, label: `${u}: ${appId}`, objectType: 'inheritablePermission', blueprint: u, ...(bpId ? {} : { after: bpKey }) });
      }
      for (const [appId, cur] of liveP) {
        if (Object.keys(want.inheritablePermissions).some((k) => k.toLowerCase() === appId)) continue;
        bpChange().properties.push({ property: `inheritablePermissions.${appId}`, before: scopesText(cur), after: null });
        push({ key: `fleet:inheritable:${u}:${appId}:delete`, phase: 1, op: { kind: 'fleet.deleteInheritable', blueprintId: bpId!, resourceAppId: appId, prior: cur }, label: `${u}: ${appId}`, objectType: 'inheritablePermission', blueprint: u });
      }
    }
    if (want.federatedCredentials) {
      const liveF = new Map((have?.fics ?? []).map((f) => [f.name, f]));
      for (const [name, f] of Object.entries(want.federatedCredentials)) {
        const fic: FicBody = { name, issuer: f.issuer, subject: f.subject, audiences: f.audiences, ...(f.description !== undefined ? { description: f.description } : {}) };
        const cur = liveF.get(name);
        if (cur && sameFic(ficOf(cur), fic)) continue;
        bpChange().properties.push({ property: `federatedCredentials.${name}`, before: cur ? ficText(ficOf(cur)) : null, after: ficText(fic) });
        push({ key: `fleet:fic:${u}:${name}`, phase: 1, op: { kind: 'fleet.putFic', ...(bpId ? { blueprintId: bpId } : {}), ...(cur ? { ficId: cur.id, prior: ficOf(cur) } : {}), fic }, label: `${u}: ${name}`, objectType: 'federatedIdentityCredential', blueprint: u, ...(bpId ? {} : { after: bpKey }) });
      }
      for (const [name, cur] of liveF) {
        if (name in want.federatedCredentials) continue;
        bpChange().properties.push({ property: `federatedCredentials.${name}`, before: ficText(ficOf(cur)), after: null });
        push({ key: `fleet:fic:${u}:${name}:delete`, phase: 1, op: { kind: 'fleet.deleteFic', blueprintId: bpId!, ficId: cur.id, prior: ficOf(cur) }, label: `${u}: ${name}`, objectType: 'federatedIdentityCredential', objectId: cur.id, blueprint: u });
      }
    }
    if (want.clientSecret && !(have?.secretNames ?? []).includes(want.clientSecret.displayName)) {
      const file = path.resolve(opts.baseDir, want.clientSecret.secretFile);
      changes.push({ action: 'create', type: 'clientSecret', key: `${u}/${want.clientSecret.displayName}`, id: null, properties: [{ property: 'secretFile', before: null, after: file }] });
      secrets.push({ blueprint: u, displayName: want.clientSecret.displayName, secretFile: file, ...(bpId ? { blueprintId: bpId } : { blueprintKey: bpKey }) });
    }

    // Agents, by name within the blueprint.
    const liveAgents = new Map<string, LiveAgent>();
    for (const a of have?.agents ?? []) {
      if (liveAgents.has(a.displayName) && a.displayName in want.agents) throw new UsageError(`Blueprint '${u}' has two agent identities named '${a.displayName}' (${liveAgents.get(a.displayName)!.id}, ${a.id}); rename or delete one, since agent names identify agents in ${path.basename(loaded.where([]).split(':')[0]!)}.`);
      liveAgents.set(a.displayName, a);
      agentNameById.set(a.id.toLowerCase(), `${u}/${a.displayName}`);
    }
    for (const [name, raw] of Object.entries(want.agents)) {
      const a = raw ?? { enabled: true };
      const sponsorsRaw = a.sponsors ?? want.sponsors;
      const sponsors = sponsorsRaw.map(refOf);
      const owners = (a.owners ?? []).map(refOf);
      const cur = liveAgents.get(name);
      noSponsors(['blueprints', u, 'agents', name, ...(a.sponsors ? ['sponsors'] : [])], sponsorsRaw, cur ? cur.sponsors.length : null, 'agent identity');
      const key = `${u}/${name}`;
      const attributes = 'attributes' in a && a.attributes ? wantedAttributes(['blueprints', u, 'agents', name, 'attributes'], a.attributes) : [];
      if (!cur) {
        const ck = `fleet:agent:${u}:${name}`;
        agentKeyOf.set(`${u}\u0000${name}`, ck);
        const set: { set: string; name: string; value: string | null; blueprintTag?: true }[] = attributes.filter((x) => x.value !== null);
        for (const x of attributes.filter((x) => x.value !== null)) assignable(x, null);
        // #13: a new agent of an existing blueprint joins the Conditional Access targeting of its
        // blueprint (AgentId.Blueprint = appId) unless the file sets that attribute itself. A
        // blueprint created by this run has no policy on its appId yet, so its agents are not tagged.
        const tb = opts.tagBlueprint;
        const tag = tb && bpAppId && !set.some((x) => x.set.toLowerCase() === tb.set.toLowerCase() && x.name.toLowerCase() === tb.name.toLowerCase()) ? { set: tb.set, name: tb.name, value: bpAppId, blueprintTag: true as const } : undefined;
        if (tag) set.push(tag);
        changes.push({ action: 'create', type: 'agent', key, id: null, properties: [{ property: 'sponsors', before: null, after: sponsorsRaw }, ...(owners.length ? [{ property: 'owners', before: null, after: a.owners }] : []), { property: 'enabled', before: null, after: a.enabled }, ...set.map((x) => ({ property: `attributes.${x.set}.${x.name}`, before: null, after: x.value }))] });
        push({ key: ck, phase: 2, op: { kind: 'fleet.createAgent', ...(bpAppId ? { blueprintAppId: bpAppId } : {}), displayName: name, sponsors, owners, accountEnabled: a.enabled }, label: name, objectType: 'agentIdentity', blueprint: u, ...(bpAppId ? {} : { after: bpKey }) });
        for (const x of set) push({ key: `${ck}:attribute:${x.set}_${x.name}`, phase: 3, op: { kind: 'fleet.setAttribute', set: x.set, name: x.name, value: x.value, ...(x === tag ? { blueprintTag: true as const } : {}) }, label: `${name}: ${x.set}.${x.name}`, objectType: 'agentIdentity', blueprint: u, after: ck });
        continue;
      }
      agentIdOf.set(`${u}\u0000${name}`, cur.id);
      const props: PropertyChange[] = [];
      if (cur.accountEnabled !== a.enabled) {
        props.push({ property: 'enabled', before: cur.accountEnabled, after: a.enabled });
        push({ key: `fleet:enable:agent:${cur.id}`, phase: 2, op: { kind: 'setEnabled', target: 'agent', id: cur.id, value: a.enabled }, label: name, objectType: 'agentIdentity', objectId: cur.id, blueprint: u, prior: { accountEnabled: cur.accountEnabled } });
      }
      refDiff(props, items, 'agent', cur.id, u, name, 'sponsors', cur.sponsors, sponsors, sponsorsRaw, true, 2);
      if (a.owners) refDiff(props, items, 'agent', cur.id, u, name, 'owners', cur.owners.filter((o) => o.kind === 'user'), owners, a.owners, opts.prune, 2);
      for (const x of attributes) {
        const before = valueOf(cur.attributes, x) ?? null;
        if (before === x.value) continue;
        assignable(x, before);
        props.push({ property: `attributes.${x.set}.${x.name}`, before, after: x.value });
        // bulk's own op (as agent update --attribute and bulk set-attribute): undo writes back `prior`.
        push({ key: `fleet:attribute:${cur.id}:${x.set}_${x.name}`, phase: 2, op: { kind: 'setAttribute', id: cur.id, set: x.set, name: x.name, value: x.value }, label: `${name}: ${x.set}.${x.name}`, objectType: 'agentIdentity', objectId: cur.id, blueprint: u, prior: { value: before } });
      }
      if (props.length) changes.push({ action: 'update', type: 'agent', key, id: cur.id, properties: props });
      else unchanged.agent++;
    }
    if (opts.prune) {
      for (const a of have?.agents ?? []) {
        if (a.displayName in want.agents) continue;
        changes.push({ action: 'delete', type: 'agent', key: `${u}/${a.displayName}`, id: a.id, properties: [] });
        push({ key: `fleet:delete:agent:${a.id}`, phase: 5, op: { kind: 'fleet.delete', target: 'agent', id: a.id }, label: a.displayName, objectType: 'agentIdentity', objectId: a.id, blueprint: u, prior: { displayName: a.displayName, accountEnabled: a.accountEnabled } });
      }
    }
  }

  // Agent users, by UPN.
  const liveUsers = new Map(live.agentUsers.map((x) => [x.upn.toLowerCase(), x]));
  const wantUpns = new Set<string>();
  for (const [upn, want] of Object.entries(fleet.agentUsers ?? {})) {
    wantUpns.add(upn.toLowerCase());
    const cur = liveUsers.get(upn.toLowerCase());
    const parentId = agentIdOf.get(`${want.blueprint}\u0000${want.agent}`);
    const displayName = want.displayName ?? want.agent;
    if (!cur) {
      changes.push({ action: 'create', type: 'agentUser', key: upn, id: null, properties: [{ property: 'agent', before: null, after: `${want.blueprint}/${want.agent}` }, { property: 'enabled', before: null, after: want.enabled }] });
      push({ key: `fleet:agentUser:${upn.toLowerCase()}`, phase: 3, op: { kind: 'fleet.createAgentUser', ...(parentId ? { identityParentId: parentId } : {}), displayName, userPrincipalName: upn, accountEnabled: want.enabled }, label: upn, objectType: 'agentUser', blueprint: want.blueprint, ...(parentId ? {} : { after: agentKeyOf.get(`${want.blueprint}\u0000${want.agent}`)! }) });
      continue;
    }
    const props: PropertyChange[] = [];
    if (!parentId || cur.parentId !== parentId.toLowerCase()) {
      // identityParentId cannot be changed (GD agentuser-update.md lists it as not updatable).
      throw new UsageError(`${loaded.where(['agentUsers', upn, 'agent'])}: agent user ${upn} exists with another parent (${agentNameById.get(cur.parentId) ?? cur.parentId}); an agent user's agent cannot be changed. Point it at that agent, or delete the agent user first.`);
    }
    if (cur.accountEnabled !== want.enabled) {
      props.push({ property: 'enabled', before: cur.accountEnabled, after: want.enabled });
      push({ key: `fleet:enable:agentUser:${cur.id}`, phase: 3, op: { kind: 'setEnabled', target: 'agentUser', id: cur.id, value: want.enabled }, label: upn, objectType: 'agentUser', objectId: cur.id, blueprint: want.blueprint, prior: { accountEnabled: cur.accountEnabled } });
    }
    if (props.length) changes.push({ action: 'update', type: 'agentUser', key: upn, id: cur.id, properties: props });
    else unchanged.agentUser++;
  }
  if (opts.prune) {
    for (const x of live.agentUsers) {
      if (wantUpns.has(x.upn.toLowerCase())) continue;
      changes.push({ action: 'delete', type: 'agentUser', key: x.upn, id: x.id, properties: [] });
      push({ key: `fleet:delete:agentUser:${x.id}`, phase: 4, op: { kind: 'fleet.delete', target: 'agentUser', id: x.id }, label: x.upn, objectType: 'agentUser', objectId: x.id, ...(agentNameById.get(x.parentId) ? { blueprint: agentNameById.get(x.parentId)!.split('/')[0]! } : {}), prior: { userPrincipalName: x.upn, accountEnabled: x.accountEnabled } });
    }
  }
  return { changes, unchanged, items, secrets, deletes: changes.filter((c) => c.action === 'delete').length };

  /**
   * An agent's attributes, each checked against the tenant's definitions before anything is
   * written: defined, and a single-valued String (the values a v1 file holds). Named as the
   * definition spells them. Predefined-values-only attributes are left to Graph to check: their
   * allowed values are a relationship of the definition this plan does not read.
   */
  function wantedAttributes(at: (string | number)[], attrs: Record<string, Record<string, string | null>>) {
    const out: { set: string; name: string; value: string | null; status: string; at: (string | number)[] }[] = [];
    for (const [setName, values] of Object.entries(attrs)) {
      for (const [attr, value] of Object.entries(values)) {
        const where = [...at, setName, attr];
        const def = opts.definitions?.get(`${setName}_${attr}`.toLowerCase());
        if (!def) throw new UsageError(`${loaded.where(where)}: custom security attribute ${setName}_${attr} is not defined in this tenant (no attribute ${attr} in set ${setName}); define it first (an Attribute Definition Administrator, in the Entra admin center or POST /directory/customSecurityAttributeDefinitions), or remove it from the file.`);
        if (def.type !== 'String' || def.isCollection) throw new UsageError(`${loaded.where(where)}: custom security attribute ${def.id} is ${def.isCollection ? 'a multi-valued' : 'an'} attribute of type ${def.type}; agentid/v1 files set single-valued String attributes only (set this one with Graph or the Entra admin center, and leave it out of the file).`);
        out.push({ set: def.attributeSet, name: def.name, value, status: def.status, at: where });
      }
    }
    return out;
  }

  /** A deprecated attribute takes no new values (Graph refuses them); removing one is allowed. */
  function assignable(x: { set: string; name: string; value: string | null; status: string; at: (string | number)[] }, before: unknown): void {
    if (x.value !== null && x.status !== 'Available') throw new UsageError(`${loaded.where(x.at)}: custom security attribute ${x.set}_${x.name} is ${x.status}: Graph assigns no new values to it; keep its current value (${before === null ? 'none' : JSON.stringify(before)}) or use another attribute.`);
  }

  /**
   * `sponsors: []` describes an orphan as it is (export writes it). Graph requires a sponsor to
   * create an object and keeps at least one on it, so [] cannot create or empty anything.
   */
  function noSponsors(at: (string | number)[], want: string[], liveCount: number | null, what: string): void {
    if (want.length) return;
    if (liveCount === null) throw new UsageError(`${loaded.where(at)}: a new ${what} needs at least one sponsor (Graph refuses to create one without); list its sponsors.`);
    if (liveCount > 0) throw new UsageError(`${loaded.where(at)}: sponsors: [] would remove every sponsor of this ${what}, which Graph refuses (an object keeps at least one); list the sponsors it should have.`);
  }

  /** Sponsors or owners: add what is missing; remove what is extra when `exact`. */
  function refDiff(props: PropertyChange[], out: Item[], target: 'blueprint' | 'agent', id: string, u: string, label: string, rel: 'sponsors' | 'owners', cur: LiveRef[], want: PrincipalRef[], wantRaw: string[], exact: boolean, phase: number): void {
    const curIds = new Set(cur.map((c) => c.id.toLowerCase()));
    const wantIds = new Set(want.map((w) => w.id.toLowerCase()));
    const adds = want.filter((w, i) => !curIds.has(w.id.toLowerCase()) && want.findIndex((x) => x.id === w.id) === i);
    const removes = exact ? cur.filter((c) => !wantIds.has(c.id.toLowerCase())) : [];
    if (!adds.length && !removes.length) return;
    const after = exact ? [...wantRaw].sort((a, b) => a.localeCompare(b)) : [...new Set([...fmtRefs(cur), ...adds.map((a) => wantRaw[want.indexOf(a)]!)])].sort((a, b) => a.localeCompare(b));
    props.push({ property: rel, before: fmtRefs(cur), after });
    const objectType = target === 'blueprint' ? 'agentIdentityBlueprint' : 'agentIdentity';
    for (const w of adds) out.push({ t: 'item', key: `fleet:ref:${id}:${rel}:${w.id}:add`, phase, op: { kind: 'fleet.addRef', rel, target, id, who: w } as FleetOp, label: `${label}: ${rel.slice(0, -1)} ${wantRaw[want.indexOf(w)]}`, objectType, objectId: id, blueprint: u });
    for (const c of removes) out.push({ t: 'item', key: `fleet:ref:${id}:${rel}:${c.id}:remove`, phase: 3, op: { kind: 'fleet.removeRef', rel, target, id, who: { kind: c.kind === 'group' ? 'group' : 'user', id: c.id } } as FleetOp, label: `${label}: ${rel.slice(0, -1)} ${c.ref}`, objectType, objectId: id, blueprint: u });
  }
}

function scopesText(s: Scopes): string {
  return s.kind === 'enumerated' ? [...s.scopes].sort().join(' ') : s.kind;
}

function ficText(f: FicBody): string {
  return `${f.issuer} ${f.subject} [${[...f.audiences].sort().join(', ')}]${f.description ? ` "${f.description}"` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Export: the file for what the tenant holds (plan on it shows no changes)

/** An agent's string-valued attributes as a file writes them; the others are noted in `skipped`. */
function exportAttributes(attrs: AttributeValues | undefined, agent: string, skipped: string[]): Record<string, Record<string, string>> | undefined {
  const out: Record<string, Record<string, string>> = {};
  for (const setName of Object.keys(attrs ?? {}).sort((a, b) => a.localeCompare(b))) {
    const set = attrs![setName]!;
    for (const name of Object.keys(set).filter((k) => !k.includes('@')).sort((a, b) => a.localeCompare(b))) {
      const v = set[name];
      if (typeof v === 'string') (out[setName] ??= {})[name] = v;
      else skipped.push(`agent '${agent}': custom security attribute ${setName}_${name} holds ${Array.isArray(v) ? 'several values' : `a ${typeof v} value`}; agentid/v1 files hold single String values, and plan leaves unlisted attributes as they are`);
    }
  }
  return Object.keys(out).length ? out : undefined;
}

export function exportFleet(live: LiveFleet): { fleet: FleetFile; skipped: string[] } {
  const skipped: string[] = [];
  const blueprints: FleetFile['blueprints'] = {};
  const nameOfAgent = new Map<string, { bp: string; name: string }>();
  for (const b of [...live.blueprints].sort((x, y) => (x.uniqueName ?? '').localeCompare(y.uniqueName ?? ''))) {
    if (!b.uniqueName) {
      skipped.push(`blueprint '${b.displayName}' (${b.id}) has no uniqueName, the key a fleet file needs; set one to manage it`);
      continue;
    }
    const sponsors = fmtRefs(b.sponsors.filter((s) => s.kind !== 'other'));
    const agents: FleetFile['blueprints'][string]['agents'] = {};
    const seen = new Set<string>();
    for (const a of [...b.agents].sort((x, y) => x.displayName.localeCompare(y.displayName))) {
      if (seen.has(a.displayName)) {
        skipped.push(`blueprint '${b.uniqueName}' has a second agent named '${a.displayName}' (${a.id}); agent names are keys, so it is left out`);
        continue;
      }
      seen.add(a.displayName);
      nameOfAgent.set(a.id.toLowerCase(), { bp: b.uniqueName, name: a.displayName });
      const as = fmtRefs(a.sponsors.filter((s) => s.kind !== 'other'));
      const ao = fmtRefs(a.owners.filter((s) => s.kind === 'user'));
      const attributes = exportAttributes(a.attributes, `${b.uniqueName}/${a.displayName}`, skipped);
      agents[a.displayName] = {
        ...(JSON.stringify(as) !== JSON.stringify(sponsors) ? { sponsors: as } : {}),
        ...(ao.length ? { owners: ao } : {}),
        enabled: a.accountEnabled,
        ...(attributes ? { attributes } : {}),
      };
    }
    const owners = fmtRefs(b.owners.filter((s) => s.kind === 'user'));
    blueprints[b.uniqueName] = {
      displayName: b.displayName,
      ...(b.description ? { description: b.description } : {}),
      sponsors,
      ...(owners.length ? { owners } : {}),
      ...(b.tags.length ? { tags: [...b.tags] } : {}),
      enabled: b.principal?.accountEnabled ?? true,
      ...(b.inheritable.length ? { inheritablePermissions: Object.fromEntries(b.inheritable.map((p) => { const s = scopesOf(p); return [p.resourceAppId, s.kind === 'allAllowed' ? { allAllowed: true as const } : s.kind === 'none' ? { none: true as const } : { scopes: [...s.scopes].sort() }]; })) } : {}),
      ...(b.fics.length ? { federatedCredentials: Object.fromEntries(b.fics.map((f) => [f.name, { issuer: f.issuer, subject: f.subject, audiences: [...f.audiences], ...(f.description ? { description: f.description } : {}) }])) } : {}),
      agents,
    } as FleetFile['blueprints'][string];
  }
  const agentUsers: NonNullable<FleetFile['agentUsers']> = {};
  for (const u of [...live.agentUsers].sort((x, y) => x.upn.localeCompare(y.upn))) {
    const parent = nameOfAgent.get(u.parentId);
    if (!parent) continue;
    agentUsers[u.upn] = { blueprint: parent.bp, agent: parent.name, ...(u.displayName && u.displayName !== parent.name ? { displayName: u.displayName } : {}), enabled: u.accountEnabled };
  }
  return { fleet: { apiVersion: API_VERSION, kind: KIND, blueprints, ...(Object.keys(agentUsers).length ? { agentUsers } : {}) } as FleetFile, skipped };
}
