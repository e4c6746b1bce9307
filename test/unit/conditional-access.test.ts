import { describe, expect, test } from 'vitest';
import { agentPolicyBody, evaluate, riskLevelsOf, targetsAgents, type CaPolicy } from '../../src/graph/conditionalAccess.js';
import { CreateSchema, ListSchema, UpdateSchema, WhatIfSchema } from '../../src/commands/ca.js';
import { ActionSchema, DetectionsSchema } from '../../src/commands/risk.js';

// The evaluator the emulator enforces and `ca what-if` explains with (src/graph/conditionalAccess.ts).

const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';
const agent = (id: string, riskLevel = 'none') => ({ kind: 'agentIdentity' as const, id, riskLevel });

function policy(over: Partial<CaPolicy> & { conditions?: CaPolicy['conditions'] } = {}): CaPolicy {
  return { id: 'p1', displayName: 'P', state: 'enabled', conditions: { applications: { includeApplications: ['All'] }, users: { includeUsers: ['None'] }, clientApplications: { includeAgentIdServicePrincipals: [A] } }, grantControls: { operator: 'OR', builtInControls: ['block'] }, ...over };
}

describe('evaluate', () => {
  test('an enabled block that includes the agent refuses it; status failure', () => {
    const r = evaluate([policy()], agent(A));
    expect(r.status).toBe('failure');
    expect(r.blockedBy.map((p) => p.id)).toEqual(['p1']);
    expect(r.verdicts[0]!.applied).toMatchObject({ result: 'failure', enforcedGrantControls: ['Block'], conditionsSatisfied: 'servicePrincipals,application', conditionsNotSatisfied: 'none' });
  });

  test('report-only never refuses and never changes the status', () => {
    const r = evaluate([policy({ state: 'enabledForReportingButNotEnforced' })], agent(A));
    expect(r).toMatchObject({ status: 'notApplied', blockedBy: [] });
    expect(r.verdicts[0]!.applied.result).toBe('reportOnlyFailure');
  });

  test('another agent, an excluded agent and a disabled policy are not applied, each with its reason', () => {
    expect(evaluate([policy()], agent(B)).verdicts[0]).toMatchObject({ matches: false, reasons: ['does not include this agent identity', 'applies to all resources'], applied: { result: 'notApplied', conditionsNotSatisfied: 'servicePrincipals' } });
    const excluded = policy({ conditions: { applications: { includeApplications: ['All'] }, clientApplications: { includeAgentIdServicePrincipals: ['All'], excludeAgentIdServicePrincipals: [A] } } });
    expect(evaluate([excluded], agent(A)).verdicts[0]!.reasons[0]).toBe('the agent is excluded (excludeAgentIdServicePrincipals)');
    expect(evaluate([policy({ state: 'disabled' })], agent(A)).verdicts[0]!.applied).toMatchObject({ result: 'notEnabled', enforcedGrantControls: [] });
  });

  test('agent risk: the policy applies only at the levels it names', () => {
    const risky = policy({ conditions: { applications: { includeApplications: ['All'] }, clientApplications: { includeAgentIdServicePrincipals: ['All'] }, agentIdRiskLevels: 'medium,high' } });
    expect(riskLevelsOf(risky)).toEqual(['medium', 'high']);
    expect(evaluate([risky], agent(A, 'low')).status).toBe('notApplied');
    expect(evaluate([risky], agent(A, 'high')).verdicts[0]!.applied.conditionsSatisfied).toBe('servicePrincipals,application,servicePrincipalRisk');
  });

  test('agent users are targeted by AllAgentIdUsers only; an all-users policy does not include them', () => {
    const user = { kind: 'agentUser' as const, id: B, riskLevel: 'none' };
    const forAgentUsers = policy({ conditions: { applications: { includeApplications: ['All'] }, users: { includeUsers: ['AllAgentIdUsers'] } } });
    const forAllUsers = policy({ conditions: { applications: { includeApplications: ['All'] }, users: { includeUsers: ['All'] } } });
    expect(evaluate([forAgentUsers], user).status).toBe('failure');
    expect(evaluate([forAllUsers], user).status).toBe('notApplied');
  });

  test('a policy for agent resources only does not apply to a Graph token', () => {
    const p = policy({ conditions: { applications: { includeApplications: ['AllAgentIdResources'] }, clientApplications: { includeAgentIdServicePrincipals: ['All'] } } });
    expect(evaluate([p], agent(A)).verdicts[0]!.reasons).toContain('applies to agent resources only, not to this resource');
    expect(targetsAgents(p)).toBe(true);
    expect(targetsAgents(policy({ conditions: { applications: { includeApplications: ['All'] }, users: { includeUsers: ['All'] } } }))).toBe(false);
  });
});

test('agentPolicyBody is the documented agent policy', () => {
  expect(agentPolicyBody({ displayName: 'X', state: 'enabled', includeAgents: ['All'], excludeAgents: [A], agentUsers: false, riskLevels: ['high'], grant: ['block'] })).toEqual({
    displayName: 'X',
    state: 'enabled',
    conditions: { clientAppTypes: ['all'], applications: { includeApplications: ['All'] }, users: { includeUsers: ['None'] }, clientApplications: { includeAgentIdServicePrincipals: ['All'], excludeAgentIdServicePrincipals: [A] }, agentIdRiskLevels: 'high' },
    grantControls: { operator: 'OR', builtInControls: ['block'] },
  });
});

describe('option schemas', () => {
  const msg = (r: { success: boolean; error?: { issues: { message: string }[] } }) => (r.success ? 'ok' : r.error!.issues[0]!.message);
  test('ca create needs one target and one control, and blocks only for agent identities', () => {
    expect(msg(CreateSchema.safeParse({ name: 'x', block: true }))).toMatch(/Say whom/);
    expect(msg(CreateSchema.safeParse({ name: 'x', allAgents: true, agentUsers: true, block: true }))).toMatch(/Say whom/);
    expect(msg(CreateSchema.safeParse({ name: 'x', allAgents: true }))).toMatch(/Say what/);
    expect(msg(CreateSchema.safeParse({ name: 'x', agent: [A], grant: ['mfa'] }))).toMatch(/can only be blocked/);
    expect(msg(CreateSchema.safeParse({ name: 'x', agentUsers: true, grant: ['mfa'] }))).toMatch(/compliantDevice/);
    expect(msg(CreateSchema.safeParse({ name: 'x', agentUsers: true, grant: ['compliantDevice'] }))).toBe('ok');
    expect(msg(CreateSchema.safeParse({ name: 'x', blueprint: ['B'], block: true, riskLevel: ['severe'] }))).toMatch(/--risk-level/);
  });
  test('ca update, list, what-if; risk detections and actions', () => {
    expect(msg(UpdateSchema.safeParse({}))).toMatch(/Nothing to update/);
    expect(msg(ListSchema.safeParse({ agent: 'a', blueprint: 'b' }))).toMatch(/one of/);
    expect(msg(WhatIfSchema.safeParse({}))).toMatch(/--agent A or --agent-user U/);
    expect(msg(DetectionsSchema.safeParse({ since: 'yesterday' }))).toMatch(/--since/);
    expect(msg(ActionSchema.safeParse({ agents: [] }))).toMatch(/at least one agent/);
  });
});
