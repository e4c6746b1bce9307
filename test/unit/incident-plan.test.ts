import { describe, expect, test } from 'vitest';
import { PHASE, planIncident, type Snapshot, type Targets } from '../../src/graph/incident.js';

// The incident plan is a pure function of what was read: its phases are the steps of issue #15
// in their order, and what is already disabled is left alone (so release leaves it disabled).

const BP = { id: 'b0000000-0000-4000-8000-000000000001', appId: 'a0000000-0000-4000-8000-000000000001', displayName: 'Sales Agent' };
const snap = (): Snapshot => ({
  takenAt: '2026-05-01T10:00:00.000Z',
  blueprints: [BP],
  principals: [{ id: 'p1', appId: BP.appId, displayName: 'Sales Agent', accountEnabled: true }],
  agents: [
    { id: 'ag1', displayName: 'Agent 1', accountEnabled: true, agentIdentityBlueprintId: BP.appId },
    { id: 'ag2', displayName: 'Agent 2', accountEnabled: false, agentIdentityBlueprintId: BP.appId },
  ],
  agentUsers: [{ id: 'u1', userPrincipalName: 'a1@contoso.com', accountEnabled: true, identityParentId: 'ag1' }],
  oauth2PermissionGrants: [{ id: 'g1', clientId: 'ag1', consentType: 'AllPrincipals', principalId: null, resourceId: 'graph', scope: 'User.Read' }],
  appRoleAssignments: [{ id: 'r1', principalId: 'p1', resourceId: 'graph', appRoleId: 'role' }],
  inheritablePermissions: [{ blueprintId: BP.id, resourceAppId: '00000003-0000-0000-c000-000000000000', inheritableScopes: { '@odata.type': '#microsoft.graph.allAllowedScopes', kind: 'allAllowed' } }],
  credentials: [{ blueprintId: BP.id, passwordCredentials: [{ keyId: 'k1', displayName: 'ci', hint: 'abc' }], certificates: [], federatedIdentityCredentials: [] }],
});
const targets: Targets = { kind: 'blueprint', blueprints: [{ id: BP.id, appId: BP.appId, principalId: 'p1' }], agentIds: [], agentUserIds: [] };

describe('planIncident', () => {
  test('principal first, then agents and agent users, sessions, grants, then the agents confirmed compromised', () => {
    const items = planIncident(targets, snap(), { credentials: false });
    expect(items.map((i) => [i.phase, i.key, i.skip ?? null])).toEqual([
      [PHASE.principal, 'principal:p1', null],
      [PHASE.identities, 'agent:ag1', null],
      [PHASE.identities, 'agent:ag2', 'already disabled'],
      [PHASE.identities, 'agentUser:u1', null],
      [PHASE.sessions, 'sessions:u1', null],
      [PHASE.revoke, 'grant:g1', null],
      [PHASE.revoke, 'assignment:r1', null],
      [PHASE.revoke, `inheritable:${BP.id}:00000003-0000-0000-c000-000000000000`, null],
      [PHASE.risk, 'risk:0', null],
    ]);
    // The agents and their agent users are risky agents; the blueprint principal is not marked.
    expect(items.find((i) => i.key === 'risk:0')!.op).toEqual({ kind: 'confirmCompromised', agentIds: ['ag1', 'ag2', 'u1'] });
    expect(items[0]!.prior).toEqual({ accountEnabled: true });
  });

  test('the risk step sends at most 60 agents a request (risk.ts), and --agent-user marks only the agent users', () => {
    const many = snap();
    many.agents = Array.from({ length: 130 }, (_, i) => ({ id: `ag${i}`, displayName: `Agent ${i}`, accountEnabled: true, agentIdentityBlueprintId: BP.appId }));
    many.agentUsers = [];
    const risk = planIncident(targets, many, { credentials: false }).filter((i) => i.phase === PHASE.risk);
    expect(risk.map((i) => (i.op as { agentIds: string[] }).agentIds.length)).toEqual([60, 60, 10]);
    const users: Targets = { kind: 'agentUser', blueprints: [], agentIds: [], agentUserIds: ['u1'] };
    const only = { ...snap(), blueprints: [], principals: [], agents: [], oauth2PermissionGrants: [], appRoleAssignments: [], inheritablePermissions: [], credentials: [] };
    expect(planIncident(users, only, { credentials: false }).find((i) => i.phase === PHASE.risk)!.op).toEqual({ kind: 'confirmCompromised', agentIds: ['u1'] });
  });

  test('--credentials adds the secrets (the secret text is never in the plan)', () => {
    const items = planIncident(targets, snap(), { credentials: true });
    const pw = items.find((i) => i.op.kind === 'removePassword')!;
    expect(pw).toMatchObject({ phase: PHASE.revoke, key: `password:${BP.id}:k1`, label: 'Sales Agent: secret ci (abc…)' });
  });
});
