import { GraphErrors } from '../errors.js';
import { contextUrl, created, methodNotAllowed, noContent, ok, type MockContext, type MockResult } from '../context.js';
import type { CollectionSpec } from '../odata.js';
import { normalizePolicy, validatePolicy } from '../conditionalAccess.js';
import { collectionResponse, unknownPath } from './common.js';

// /identity/conditionalAccess/policies (GD beta conditionalaccessroot-list-policies.md,
// conditionalaccessroot-post-policies.md, conditionalaccesspolicy-{get,update,delete}.md,
// resources/conditionalaccesspolicy.md). POST answers 201 with the policy, PATCH and DELETE 204.
// Validation, and the agent rules a policy must keep, are in ../conditionalAccess.ts.
// [DOC-CONFLICT] the create page's examples answer @odata.context "#conditionalAccess/policies/$entity";
// the entity set lives under identity (the request path, and the SDK's ConditionalAccessRoot
// under identityContainer), so the context names identity/conditionalAccess/policies. The same page
// lists Policy.Read.All + Policy.ReadWrite.ConditionalAccess + Application.Read.All together;
// newer permission includes name Policy.ReadWrite.ConditionalAccess alone (permissions.ts).
// Beta only here: the agent conditions (includeAgentIdServicePrincipals, agentIdRiskLevels,
// AllAgentIdUsers) are beta properties; v1.0 answers the same paths without them.

const SPEC: CollectionSpec = {
  resource: 'conditionalAccessPolicy',
  // GD conditionalaccessroot-list-policies.md: "This method supports the $filter and $select".
  filterable: { id: ['eq'], displayName: ['eq', 'startsWith'], state: ['eq'] },
  searchable: [],
  orderable: [],
  defaultPageSize: 100,
  maxPageSize: 999,
  advanced: false,
};

// Properties a client may write; the others are read-only (createdDateTime, modifiedDateTime, id).
const WRITABLE = new Set(['displayName', 'description', 'state', 'conditions', 'grantControls', 'sessionControls']);

/** v1.0 has the policies but none of the agent conditions (v1.0 conditionalAccessClientApplications,
 * conditionalAccessConditionSet): they are left out of a v1.0 answer. */
function versioned(ctx: MockContext, p: Record<string, unknown>): Record<string, unknown> {
  if (ctx.version === 'beta') return p;
  const out = JSON.parse(JSON.stringify(p)) as Record<string, any>;
  if (out.conditions) {
    delete out.conditions.agentIdRiskLevels;
    const c = out.conditions.clientApplications;
    if (c) for (const k of ['includeAgentIdServicePrincipals', 'excludeAgentIdServicePrincipals', 'agentIdServicePrincipalFilter']) delete c[k];
  }
  return out;
}

export async function identityRoute(ctx: MockContext): Promise<MockResult> {
  const [root, coll, id, ...more] = ctx.path.rest;
  if (root?.toLowerCase() !== 'conditionalaccess') return unknownPath(ctx.path.rest);
  if (coll?.toLowerCase() !== 'policies') return unknownPath([coll ?? '']);
  if (more.length) return unknownPath(more);
  const fragment = 'identity/conditionalAccess/policies';
  if (id === undefined) {
    if (ctx.method === 'GET') {
      const items = await ctx.store.read((s) => Object.values(s.conditionalAccessPolicies ?? {}).map((p) => versioned(ctx, structuredClone(p))));
      items.sort((a, b) => String(a.createdDateTime).localeCompare(String(b.createdDateTime)));
      return collectionResponse(ctx, items, SPEC, fragment);
    }
    if (ctx.method !== 'POST') return methodNotAllowed();
    const body = await ctx.json();
    const policy: Record<string, unknown> = { id: ctx.newId(), createdDateTime: ctx.now.toISOString(), modifiedDateTime: null };
    for (const [k, v] of Object.entries(body)) {
      if (k.startsWith('@odata.')) continue;
      if (k === 'id' || k === 'createdDateTime' || k === 'modifiedDateTime') throw GraphErrors.readOnlyProperty(k);
      if (!WRITABLE.has(k)) throw GraphErrors.unknownProperty(k, 'microsoft.graph.conditionalAccessPolicy');
      policy[k] = v;
    }
    policy.grantControls ??= null;
    policy.sessionControls ??= null;
    await ctx.store.write((s) => {
      validatePolicy(s, policy);
      normalizePolicy(policy);
      (s.conditionalAccessPolicies ??= {})[policy.id as string] = policy;
    });
    return created({ '@odata.context': contextUrl(ctx, `${fragment}/$entity`), ...versioned(ctx, policy) });
  }
  const key = id.toLowerCase();
  if (ctx.method === 'GET') {
    const p = await ctx.store.read((s) => s.conditionalAccessPolicies?.[key]);
    if (!p) throw GraphErrors.caPolicyNotFound(id);
    return ok({ '@odata.context': contextUrl(ctx, `${fragment}/$entity`), ...versioned(ctx, p) });
  }
  if (ctx.method === 'PATCH') {
    const body = await ctx.json();
    await ctx.store.write((s) => {
      const current = s.conditionalAccessPolicies?.[key];
      if (!current) throw GraphErrors.caPolicyNotFound(id);
      // A JSON copy: inside a write the state may be an undo proxy, which structuredClone refuses.
      const next = JSON.parse(JSON.stringify(current)) as Record<string, unknown>;
      for (const [k, v] of Object.entries(body)) {
        if (k.startsWith('@odata.')) continue;
        if (k === 'id' || k === 'createdDateTime' || k === 'modifiedDateTime') throw GraphErrors.readOnlyProperty(k);
        if (!WRITABLE.has(k)) throw GraphErrors.unknownProperty(k, 'microsoft.graph.conditionalAccessPolicy');
        // PATCH replaces a complex property as a whole, as Graph does for conditions.
        next[k] = v;
      }
      next.modifiedDateTime = ctx.now.toISOString();
      validatePolicy(s, next);
      normalizePolicy(next);
      s.conditionalAccessPolicies![key] = next;
    });
    return noContent();
  }
  if (ctx.method === 'DELETE') {
    await ctx.store.write((s) => {
      if (!s.conditionalAccessPolicies?.[key]) throw GraphErrors.caPolicyNotFound(id);
      delete s.conditionalAccessPolicies[key];
    });
    return noContent();
  }
  return methodNotAllowed();
}
