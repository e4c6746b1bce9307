import { randomBytes } from 'node:crypto';
import type { MockContext, MockResult } from './context.js';
import type { LogRecord } from './logs.js';
import { BASE_TYPE_OF, ENTITY_SET_OF, type EntityType, type StoredObject, type TenantState } from './state.js';
import { GUID_RE } from './path.js';

// The emulator's audit trail: every successful write records directoryAudit entries of the
// documented shape (GD v1.0 resources/directoryaudit.md; beta adds userAgent and performedBy,
// checked against @microsoft/msgraph-beta-sdk 1.0.0-preview.81 serializeDirectoryAudit).
//
// Capture is generic, in the pipeline (handler.ts step 6), not in each handler: before a write
// runs we snapshot the one object the path names (a structuredClone of that object, not of the
// tenant), after it succeeds we diff it against what the store holds now. Handlers stay unaware
// of auditing, and a write costs one extra read and one small clone. $batch runs the same
// per-request path, so each inner write of a batch is audited on its own.
//
// Agent objects are logged under their base types (ED agent-id/sign-in-audit-logs-agents.md):
// a blueprint is an application ("Add application"), an agent identity or blueprint principal a
// service principal ("Update service principal"), an agent user a user ("Add user").
// [DOC-CONFLICT] that page also puts agentType/blueprintId on initiatedBy.app, initiatedBy.user
// and targetResources; the beta SDK's models (the schema) have them only on performedBy
// (auditActivityPerformer: appId, blueprintId, identityType). We follow the schema.

const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

type Noun = 'application' | 'service principal' | 'user';

function baseOf(type: EntityType): EntityType {
  let t = type;
  while (BASE_TYPE_OF[t]) t = BASE_TYPE_OF[t]!;
  return t;
}

function nounOf(type: EntityType): Noun | undefined {
  const base = baseOf(type);
  if (base === 'application') return 'application';
  if (base === 'servicePrincipal') return 'service principal';
  if (base === 'user') return 'user';
  return undefined;
}

const TARGET_TYPE: Record<Noun, string> = { application: 'Application', 'service principal': 'ServicePrincipal', user: 'User' };
const CATEGORY: Record<Noun, string> = { application: 'ApplicationManagement', 'service principal': 'ApplicationManagement', user: 'UserManagement' };

interface AuditScope {
  commit(result: MockResult): Promise<void>;
}

// Writes to one tenant are audited one at a time: the snapshot, the write and the diff must see
// no other write in between, or two concurrent PATCHes of one object (inner requests of a $batch
// run in parallel) would each report the other's change. Reads never wait.
const queues = new WeakMap<object, Promise<unknown>>();

/** Runs a request's route; a successful write records its directoryAudit entries. */
export async function withAudit(ctx: MockContext, run: () => Promise<MockResult>): Promise<MockResult> {
  if (!WRITE_METHODS.has(ctx.method)) return run();
  const previous = queues.get(ctx.store) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  queues.set(ctx.store, previous.then(() => mine));
  await previous;
  try {
    const scope = await beginAudit(ctx);
    const result = await run();
    if (scope) await scope.commit(result);
    return result;
  } finally {
    release();
  }
}

/** Before a write: remember the object it touches. Undefined for untracked paths. */
async function beginAudit(ctx: MockContext): Promise<AuditScope | undefined> {
  const { path } = ctx;
  let targetId: string | undefined;
  let hard = false;
  let restore = false;
  if (path.set === 'directory') {
    // /directory/deletedItems/{id}[/restore]
    if (path.rest[0]?.toLowerCase() !== 'deleteditems' || !path.rest[1] || !GUID_RE.test(path.rest[1])) return undefined;
    targetId = path.rest[1].toLowerCase();
    restore = path.rest[2]?.toLowerCase() === 'restore';
    hard = !restore && ctx.method === 'DELETE' && path.rest.length === 2;
    if (!restore && !hard) return undefined;
  } else if (path.set === 'identity') {
    return beginPolicyAudit(ctx);
  } else if (path.set !== 'applications' && path.set !== 'servicePrincipals' && path.set !== 'users') {
    return undefined;
  }
  const before = await ctx.store.read((s) => {
    if (targetId) return snapshot(s.objects[targetId]);
    if (!path.key) return undefined;
    return snapshot(findByKey(s, path.set as 'applications' | 'servicePrincipals' | 'users', path.key.kind, path.key.value));
  });
  return {
    commit: async (result) => {
      if (result.status < 200 || result.status > 299) return;
      const records = await ctx.store.read((s) => buildAudits(ctx, s, before, result, { hard, restore }));
      if (records.length) await ctx.logs.append('directoryAudits', records);
    },
  };
}

/**
 * #13: Conditional Access policy writes. [INFERRED from observed audit events] Entra logs them as
 * "Add conditional access policy" / "Update conditional access policy" / "Delete conditional
 * access policy", category Policy, service Conditional Access, the policy a target of type
 * Policy; the changed properties are the policy's top-level ones (conditions as one value).
 */
async function beginPolicyAudit(ctx: MockContext): Promise<AuditScope | undefined> {
  const [root, coll, id] = ctx.path.rest;
  if (root?.toLowerCase() !== 'conditionalaccess' || coll?.toLowerCase() !== 'policies') return undefined;
  const before = id ? await ctx.store.read((s) => structuredClone(s.conditionalAccessPolicies?.[id.toLowerCase()])) : undefined;
  return {
    commit: async (result) => {
      if (result.status < 200 || result.status > 299) return;
      const records = await ctx.store.read((s) => {
        const body = (result.body ?? {}) as Record<string, unknown>;
        const policyId = (id ?? String(body.id ?? '')).toLowerCase();
        const after = s.conditionalAccessPolicies?.[policyId];
        const [name, op] = ctx.method === 'POST' ? ['Add', 'Add'] : ctx.method === 'DELETE' ? ['Delete', 'Delete'] : ['Update', 'Update'];
        const shown = after ?? before;
        if (!shown) return [];
        const modified: ModifiedProperty[] = [];
        if (ctx.method !== 'DELETE') {
          for (const k of new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])) {
            if (k === 'id' || k === 'createdDateTime' || k === 'modifiedDateTime') continue;
            const o = before?.[k];
            const n = after?.[k];
            if (JSON.stringify(o ?? null) !== JSON.stringify(n ?? null)) modified.push({ displayName: k.charAt(0).toUpperCase() + k.slice(1), oldValue: before ? encode(o) : null, newValue: encode(n) });
          }
        }
        const target = { id: policyId, type: 'group', props: { displayName: shown.displayName } } as StoredObject;
        const rec = auditRecord(ctx, s, { name: `${name} conditional access policy`, operationType: op, target, modified }, 'application');
        rec.category = 'Policy';
        rec.loggedByService = 'Conditional Access';
        (rec.targetResources as Record<string, unknown>[])[0]!.type = 'Policy';
        return [rec];
      });
      await ctx.logs.append('directoryAudits', records);
    },
  };
}

function snapshot(obj: StoredObject | undefined): StoredObject | undefined {
  return obj ? structuredClone(obj) : undefined;
}

function findByKey(s: TenantState, set: 'applications' | 'servicePrincipals' | 'users', kind: string, value: string): StoredObject | undefined {
  const v = value.toLowerCase();
  if (kind === 'id') {
    if (set === 'users' && v.includes('@')) return Object.values(s.objects).find((o) => ENTITY_SET_OF[o.type] === 'users' && !o.deletedDateTime && String(o.props.userPrincipalName).toLowerCase() === v);
    const o = s.objects[v];
    return o && ENTITY_SET_OF[o.type] === set ? o : undefined;
  }
  const prop = kind === 'appId' ? 'appId' : 'uniqueName';
  return Object.values(s.objects).find((o) => ENTITY_SET_OF[o.type] === set && !o.deletedDateTime && String(o.props[prop] ?? '').toLowerCase() === v);
}

interface Activity {
  name: string;
  operationType: string;
  target: StoredObject;
  modified: ModifiedProperty[];
  extraTargets?: StoredObject[];
}

interface ModifiedProperty {
  displayName: string;
  oldValue: string | null;
  newValue: string | null;
}

function buildAudits(ctx: MockContext, s: TenantState, before: StoredObject | undefined, result: MockResult, flags: { hard: boolean; restore: boolean }): LogRecord[] {
  const activities: Activity[] = [];
  const body = (result.body ?? {}) as Record<string, unknown>;
  const after = before ? s.objects[before.id] : typeof body.id === 'string' ? s.objects[body.id] : undefined;
  const noun = nounOf((before ?? after)?.type ?? 'group');
  if (!noun) return [];
  const [seg, ...rest] = ctx.path.set === 'directory' ? [] : ctx.path.rest;
  if (flags.hard && before) {
    activities.push({ name: noun === 'application' ? 'Hard Delete application' : `Hard delete ${noun}`, operationType: 'Delete', target: before, modified: [] });
  } else if (flags.restore && after) {
    activities.push({ name: `Restore ${noun}`, operationType: 'Add', target: after, modified: diff(before, after) });
  } else if (!before && after && result.status === 201) {
    activities.push({ name: `Add ${noun}`, operationType: 'Add', target: after, modified: diff(undefined, after) });
  } else if (before && after && !before.deletedDateTime && after.deletedDateTime) {
    activities.push({ name: `Delete ${noun}`, operationType: 'Delete', target: after, modified: [] });
    // A blueprint's principal goes with it (ED concept-agent-identity-deletion.md).
    for (const o of Object.values(s.objects)) {
      if (o.type === 'agentIdentityBlueprintPrincipal' && o.props.appId === after.props.appId && o.deletedDateTime === after.deletedDateTime && after.type === 'agentIdentityBlueprint') {
        activities.push({ name: 'Delete service principal', operationType: 'Delete', target: o, modified: [] });
      }
    }
  } else if (before && after) {
    const rel = seg?.toLowerCase();
    if (rel === 'owners' && (rest.at(-1) === '$ref')) {
      const adding = ctx.method === 'POST';
      const ids = adding ? (after.owners ?? []).filter((i) => !(before.owners ?? []).includes(i)) : (before.owners ?? []).filter((i) => !(after.owners ?? []).includes(i));
      const owners = ids.map((i) => s.objects[i]).filter((o): o is StoredObject => !!o);
      activities.push({
        name: adding ? `Add owner to ${noun}` : `Remove owner from ${noun}`,
        operationType: adding ? 'Assign' : 'Unassign',
        target: after,
        modified: [],
        extraTargets: owners,
      });
    } else {
      const modified = diff(before, after);
      if (modified.length === 0) return [];
      // Secrets and certificates have their own activity name on applications (what Entra logs
      // for addPassword/removePassword; the name ends in a space there, we drop it).
      const creds = modified.some((m) => m.displayName === 'KeyDescription');
      const name = creds && noun === 'application' ? 'Update application – Certificates and secrets management' : `Update ${noun}`;
      activities.push({ name, operationType: 'Update', target: after, modified });
    }
  }
  return activities.map((a) => auditRecord(ctx, s, a, noun));
}

function auditRecord(ctx: MockContext, s: TenantState, a: Activity, noun: Noun): LogRecord {
  const correlationId = ctx.clientRequestId && GUID_RE.test(ctx.clientRequestId) ? ctx.clientRequestId : ctx.requestId;
  const userAgent = ctx.header('User-Agent');
  const caller = ctx.caller;
  let initiatedBy: Record<string, unknown>;
  let performedBy: Record<string, unknown> | null = null;
  if (caller.kind === 'user') {
    const u = s.objects[caller.userId];
    initiatedBy = {
      app: null,
      user: {
        id: caller.userId,
        displayName: (u?.props.displayName as string) ?? null,
        userPrincipalName: (u?.props.userPrincipalName as string) ?? null,
        ipAddress: '127.0.0.1',
        userType: null,
        homeTenantId: s.tenant.id,
        homeTenantName: null,
      },
    };
  } else {
    const sp = caller.servicePrincipalId ? s.objects[caller.servicePrincipalId] : Object.values(s.objects).find((o) => ENTITY_SET_OF[o.type] === 'servicePrincipals' && o.props.appId === caller.appId);
    const name = (sp?.props.displayName as string) ?? null;
    initiatedBy = { user: null, app: { appId: caller.appId, displayName: name, servicePrincipalId: sp?.id ?? caller.servicePrincipalId ?? null, servicePrincipalName: name } };
    const agentic = sp?.type === 'agentIdentity' || sp?.type === 'agentIdentityBlueprintPrincipal';
    const bpAppId = sp?.type === 'agentIdentity' ? sp.props.agentIdentityBlueprintId : sp?.props.appId;
    const bp = agentic ? Object.values(s.objects).find((o) => o.type === 'agentIdentityBlueprint' && o.props.appId === bpAppId) : undefined;
    performedBy = { appId: caller.appId, blueprintId: bp?.id ?? null, identityType: agentic ? 'agent' : 'servicePrincipal' };
  }
  const targets = [a.target, ...(a.extraTargets ?? [])].map((o, i) => {
    const n = nounOf(o.type);
    return {
      id: o.id,
      displayName: (o.props.displayName as string) ?? null,
      type: n ? TARGET_TYPE[n] : 'Other',
      userPrincipalName: n === 'user' ? ((o.props.userPrincipalName as string) ?? null) : null,
      groupType: null,
      modifiedProperties: i === 0 ? a.modified : [],
    };
  });
  return {
    id: `Directory_${correlationId}_${randomBytes(4).toString('hex').toUpperCase()}`,
    category: CATEGORY[noun],
    correlationId,
    result: 'success',
    resultReason: '',
    activityDisplayName: a.name,
    activityDateTime: monotonicTime(ctx.store, ctx.now).toISOString(),
    loggedByService: 'Core Directory',
    operationType: a.operationType,
    initiatedBy,
    targetResources: targets,
    additionalDetails: userAgent ? [{ key: 'User-Agent', value: userAgent }] : [],
    userAgent: userAgent ?? null,
    performedBy,
  };
}

// Properties that are bookkeeping, not something an admin changed.
const IGNORED = new Set(['createdDateTime', 'deletedDateTime']);

/**
 * modifiedProperties, as Entra writes them [INFERRED from observed audit events]: the property
 * name capitalised, values JSON-encoded in a one-element array ("[false]"), and a trailing
 * "Included Updated Properties" listing the names. Password credentials appear as KeyDescription
 * lines (key id, type, usage, display name): never the secret, which the store does not hold.
 */
function diff(before: StoredObject | undefined, after: StoredObject): ModifiedProperty[] {
  const out: ModifiedProperty[] = [];
  const keys = new Set([...Object.keys(before?.props ?? {}), ...Object.keys(after.props)]);
  for (const k of keys) {
    if (IGNORED.has(k)) continue;
    let oldV = before?.props[k];
    let newV = after.props[k];
    let name = k.charAt(0).toUpperCase() + k.slice(1);
    if (k === 'passwordCredentials' || k === 'keyCredentials') {
      oldV = keyDescriptions(oldV, k);
      newV = keyDescriptions(newV, k);
      name = 'KeyDescription';
    }
    if (!before && (newV === null || newV === undefined || (Array.isArray(newV) && newV.length === 0))) continue;
    if (JSON.stringify(oldV ?? null) === JSON.stringify(newV ?? null)) continue;
    out.push({ displayName: name, oldValue: encode(oldV), newValue: encode(newV) });
  }
  for (const rel of ['owners', 'sponsors', 'federatedIdentityCredentials', 'inheritablePermissions'] as const) {
    const oldV = before?.[rel] ?? [];
    const newV = after[rel] ?? [];
    if (JSON.stringify(oldV) === JSON.stringify(newV)) continue;
    if (!before && newV.length === 0) continue;
    out.push({ displayName: rel.charAt(0).toUpperCase() + rel.slice(1), oldValue: before ? JSON.stringify(oldV) : null, newValue: JSON.stringify(newV) });
  }
  if (out.length && before) out.push({ displayName: 'Included Updated Properties', oldValue: null, newValue: JSON.stringify(out.map((m) => m.displayName).join(', ')) });
  return out;
}

function encode(v: unknown): string | null {
  if (v === undefined) return null;
  if (Array.isArray(v)) return JSON.stringify(v);
  return JSON.stringify(v === null ? [] : [v]);
}

function keyDescriptions(v: unknown, kind: string): unknown {
  if (!Array.isArray(v)) return v;
  return v.map((c: Record<string, unknown>) => `[KeyIdentifier=${String(c.keyId)},KeyType=${kind === 'passwordCredentials' ? 'Password' : String(c.type ?? 'AsymmetricX509Cert')},KeyUsage=${kind === 'passwordCredentials' ? 'Verify' : String(c.usage ?? 'Verify')},DisplayName=${String(c.displayName ?? '')}]`);
}

// Two writes within one millisecond would share an activityDateTime, and the newest-first list
// would then order them by their random ids. A tenant's audit times only move forward, so events
// always list in the order they happened (one counter per tenant store: tests and fixtures that
// inject their own clocks do not disturb each other).
const lastAuditTime = new WeakMap<object, number>();
function monotonicTime(tenant: object, now: Date): Date {
  const t = Math.max(now.getTime(), (lastAuditTime.get(tenant) ?? 0) + 1);
  lastAuditTime.set(tenant, t);
  return new Date(t);
}
