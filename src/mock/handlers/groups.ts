import { GraphErrors } from '../errors.js';
import type { MockContext, MockResult } from '../context.js';
import { view } from '../entities.js';
import { ENTITY_SET_OF, isA, type TenantState } from '../state.js';
import type { CollectionSpec } from '../odata.js';
import { collectionResponse, countResponse, entityResponse, findInSet, liveObjects } from './common.js';

// /groups: the seeded groups that serve as sponsors (Microsoft 365, dynamic) and the ones that
// must be refused as sponsors (assigned security, role-assignable). Read-only in the emulator:
// creating and changing groups is outside what agentid does, so those verbs answer 405.

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
  // Memberships are not emulated: members/owners/memberOf are unknown segments here.
  if (seg !== undefined) throw GraphErrors.unknownSegment(seg);
  if (method !== 'GET') throw GraphErrors.methodNotAllowed();
  return ctx.store.read((s) => entityResponse(ctx, findInSet(s, 'groups', key, path.cast), 'groups', path.cast));
}
