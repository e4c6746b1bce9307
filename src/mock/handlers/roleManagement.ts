import { createHash } from 'node:crypto';
import { GraphErrors } from '../errors.js';
import type { MockContext, MockResult } from '../context.js';
import type { CollectionSpec } from '../odata.js';
import type { DirectoryRoleAssignment, TenantState } from '../state.js';
import { collectionResponse } from './common.js';

// GET /roleManagement/directory/roleAssignments (GD v1.0 rbacapplication-list-roleassignments.md):
// the tenant's directory role assignments, read by `agentid report` to find agents holding a
// Microsoft Entra role. Read-only here; assignments come from the state's roleAssignments (the
// same list that becomes the `wids` claim of tokens). For built-in roles roleDefinitionId is the
// role template id. [INFERRED] page size 100 and the filterable properties (the page documents
// $filter and shows principalId / roleDefinitionId eq).

const SPEC: CollectionSpec = {
  resource: 'roleAssignments',
  filterable: { principalId: ['eq'], roleDefinitionId: ['eq'], directoryScopeId: ['eq'] },
  defaultPageSize: 100,
  maxPageSize: 100,
  advanced: false,
  properties: ['id', 'principalId', 'roleDefinitionId', 'directoryScopeId', 'appScopeId'],
};

/** An id in the shape Graph's have (base64url, then "-1"), stable for one assignment. */
function assignmentId(r: DirectoryRoleAssignment): string {
  return `${createHash('sha256').update(`${r.roleTemplateId}/${r.principalId}`).digest('base64url').slice(0, 43)}-1`;
}

function view(r: DirectoryRoleAssignment): Record<string, unknown> {
  return { id: assignmentId(r), principalId: r.principalId, roleDefinitionId: r.roleTemplateId, directoryScopeId: '/', appScopeId: null };
}

export async function roleManagementRoute(ctx: MockContext): Promise<MockResult> {
  const [provider, set, ...rest] = ctx.path.rest;
  if (provider?.toLowerCase() !== 'directory') throw GraphErrors.unknownSegment(provider ?? 'roleManagement');
  if (set?.toLowerCase() !== 'roleassignments') throw GraphErrors.unknownSegment(set ?? 'directory');
  if (rest.length || ctx.method !== 'GET') throw GraphErrors.methodNotAllowed();
  return ctx.store.read((s: TenantState) => collectionResponse(ctx, s.roleAssignments.map(view), SPEC, 'roleManagement/directory/roleAssignments'));
}
