import { GraphErrors } from '../errors.js';
import type { MockContext, MockResult } from '../context.js';
import { view } from '../entities.js';
import { ENTITY_SET_OF, isA, type TenantState } from '../state.js';
import type { CollectionSpec } from '../odata.js';
import { REFERENCE_SPEC, collectionResponse, countResponse, entityResponse, findInSet, liveObjects } from './common.js';

// /groups: the seeded groups that serve as sponsors (Microsoft 365, dynamic) and the ones that
// must be refused as sponsors (assigned security, role-assignable). Read-only in the emulator:
// creating and changing groups is outside what agentid does, so those verbs answer 405.
// Memberships are read-only too: GET /groups/{id}/members (GD group-list-members.md), which
// `agentid report` uses to find sponsor groups without members (issue #14).

export const GROUP_SPEC: CollectionSpec = {
  resource: 'group',
  filterable: {
    id: ['eq', 'in', 'ne'],
    displayName: ['eq', 'ne', 'in', 'startsWith', 'endsWith'],
    description: ['eq', 'startsWith'],
    mail: ['eq', 'ne', 'in', 'startsWith', 'endsWith'],
    mailNickname: ['eq', 'ne', 'in', 'startsWith', 'endsWith'],
    mailEnabled: ['eq', 'ne'],
    securityEnabled: ['eq', 'ne', 'in'],
    isAssignableToRole: ['eq', 'ne'],
    groupTypes: ['any'],
    membershipRuleProcessingState: ['eq', 'ne'],
    // No createdDateTime: GD aad-advanced-queries.md answers `createdDateTime ge …` on groups,
    // even with the advanced query parameters, with "Unsupported or invalid query filter clause
    // specified for property 'createdDateTime' of resource 'Group'."
  },
  searchable: ['displayName', 'description', 'mail', 'mailNickname'],
  orderable: ['displayName', 'createdDateTime'],
  // GD aad-advanced-queries.md: groups sort on displayName without advanced parameters.
  orderableByDefault: ['displayName'],
  // GD group-list.md: default page 100, maximum 999.
  defaultPageSize: 100,
  maxPageSize: 999,
  advanced: true,
};

export async function groupsRoute(ctx: MockContext): Promise<MockResult> {
  const { path, method } = ctx;
  if (path.cast && !isA(path.cast, 'group')) throw GraphErrors.castMismatch(`microsoft.graph.${path.cast}`);
  const [seg] = path.rest;
  if (!path.key) {
    const members = (state: TenantState) => liveObjects(state).filter((o) => ENTITY_SET_OF[o.type] === 'groups').map((o) => view(o, ctx.version));
    if (seg?.toLowerCase() === '$count') {
      if (method !== 'GET') throw GraphErrors.methodNotAllowed();
      return ctx.store.read((s) => countResponse(ctx, members(s), GROUP_SPEC));
    }
    if (seg !== undefined) throw GraphErrors.unknownSegment(seg);
    if (method !== 'GET') throw GraphErrors.methodNotAllowed();
    return ctx.store.read((s) => collectionResponse(ctx, members(s), GROUP_SPEC, 'groups'));
  }
  const key = path.key;
  if (seg?.toLowerCase() === 'members') {
    if (method !== 'GET') throw GraphErrors.methodNotAllowed();
    const [, tail] = path.rest;
    const members = (s: TenantState) => {
      const g = findInSet(s, 'groups', key, path.cast);
      return (g.members ?? []).map((id) => s.objects[id]).filter((o): o is NonNullable<typeof o> => !!o && !o.deletedDateTime).map((m) => view(m, ctx.version, { withType: true }));
    };
    if (tail?.toLowerCase() === '$count') return ctx.store.read((s) => countResponse(ctx, members(s), REFERENCE_SPEC));
    if (tail !== undefined) throw GraphErrors.unknownSegment(tail);
    return ctx.store.read((s) => collectionResponse(ctx, members(s), REFERENCE_SPEC, 'directoryObjects'));
  }
  // Other navigations (owners, memberOf, transitiveMembers) are not emulated.
  if (seg !== undefined) throw GraphErrors.unknownSegment(seg);
  if (method !== 'GET') throw GraphErrors.methodNotAllowed();
  return ctx.store.read((s) => entityResponse(ctx, findInSet(s, 'groups', key, path.cast), 'groups', path.cast));
}
