import { describe, expect, test } from 'vitest';
import { agentPolicyBody, attributeRule, evaluate, filterMatches, parseFilterRule, riskLevelsOf, targetsAgents, type CaPolicy } from '../../src/graph/conditionalAccess.js';
import { CreateSchema, ListSchema, UpdateSchema, WhatIfSchema, blueprintsOfRule } from '../../src/commands/ca.js';
import { ActionSchema, DetectionsSchema } from '../../src/commands/risk.js';
import { signInView } from '../../src/mock/handlers/auditLogs.js';

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

describe('agentIdServicePrincipalFilter: agents selected by custom security attributes', () => {
  const tagged = (value: string | string[]) => ({ AgentId: { '@odata.type': '#Microsoft.DirectoryServices.CustomSecurityAttributeValue', Blueprint: value } });
  const byRule = (mode: 'include' | 'exclude', rule: string, include: string[] = []) =>
    policy({ conditions: { applications: { includeApplications: ['All'] }, users: { includeUsers: ['None'] }, clientApplications: { includeAgentIdServicePrincipals: include, agentIdServicePrincipalFilter: { mode, rule } } } });

  test('the rule language: operators, -and / -or, parentheses, lists; a bad rule is refused with its reason', () => {
    const a = tagged('bp-1');
    expect(filterMatches('CustomSecurityAttribute.AgentId_Blueprint -eq "bp-1"', a)).toBe(true);
    expect(filterMatches('CustomSecurityAttribute.agentid_blueprint -eq "BP-1"', a)).toBe(true);
    expect(filterMatches('CustomSecurityAttribute.AgentId_Blueprint -ne "bp-1"', a)).toBe(false);
    expect(filterMatches('CustomSecurityAttribute.AgentId_Blueprint -startsWith "bp"', a)).toBe(true);
    expect(filterMatches('CustomSecurityAttribute.AgentId_Blueprint -in ["x", "bp-1"]', a)).toBe(true);
    expect(filterMatches('CustomSecurityAttribute.AgentId_Blueprint -notIn ["x", "bp-1"]', a)).toBe(false);
    expect(filterMatches('CustomSecurityAttribute.AgentId_Blueprint -eq "x" -or CustomSecurityAttribute.AgentId_Blueprint -eq "bp-1"', a)).toBe(true);
    expect(filterMatches('(CustomSecurityAttribute.AgentId_Blueprint -eq "bp-1") -and CustomSecurityAttribute.AgentId_Other -eq "y"', a)).toBe(false);
    expect(filterMatches('CustomSecurityAttribute.AgentId_Blueprint -contains "b"', tagged(['a', 'b']))).toBe(true);
    expect(filterMatches('CustomSecurityAttribute.AgentId_Blueprint -eq "bp-1"', {})).toBe(false);
    expect(() => parseFilterRule('AgentId_Blueprint -eq "x"')).toThrow(/not a custom security attribute/);
    expect(() => parseFilterRule('CustomSecurityAttribute.AgentId_Blueprint -like "x"')).toThrow(/not an operator/);
    expect(() => parseFilterRule('CustomSecurityAttribute.AgentId_Blueprint -eq x')).toThrow(/quote strings/);
    expect(attributeRule('AgentId_Blueprint', ['a', 'b'])).toBe('CustomSecurityAttribute.AgentId_Blueprint -eq "a" -or CustomSecurityAttribute.AgentId_Blueprint -eq "b"');
  });

  test('include mode selects the tagged agents only; exclude mode carves them out of All; ids still count', () => {
    const rule = attributeRule('AgentId_Blueprint', ['bp-1']);
    const include = byRule('include', rule);
    expect(evaluate([include], { ...agent(A), attributes: tagged('bp-1') }).verdicts[0]).toMatchObject({ matches: true, reasons: [`selects this agent by its custom security attributes (${rule})`, 'applies to all resources'] });
    expect(evaluate([include], { ...agent(B), attributes: tagged('bp-2') }).verdicts[0]).toMatchObject({ matches: false, applied: { conditionsNotSatisfied: 'servicePrincipals' } });
    expect(evaluate([include], agent(B)).verdicts[0]!.reasons[0]).toContain('could not be read');
    expect(evaluate([byRule('include', rule, [B])], { ...agent(B), attributes: {} }).verdicts[0]!.matches).toBe(true);
    const exclude = byRule('exclude', rule, ['All']);
    expect(evaluate([exclude], { ...agent(A), attributes: tagged('bp-1') }).verdicts[0]).toMatchObject({ matches: false, reasons: [`the agent is excluded by its custom security attributes (${rule})`, 'applies to all resources'] });
    expect(evaluate([exclude], { ...agent(B), attributes: {} }).verdicts[0]!.matches).toBe(true);
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

test('a sign-in record carries every appliedConditionalAccessPolicy property; late enum members read unknownFutureValue without Prefer: include-unknown-enum-members', () => {
  const r = evaluate([policy({ state: 'enabledForReportingButNotEnforced' })], agent(A));
  const applied = r.verdicts.map((v) => v.applied);
  expect(Object.keys(applied[0]!).sort()).toEqual(['authenticationStrength', 'conditionsNotSatisfied', 'conditionsSatisfied', 'displayName', 'enforcedGrantControls', 'enforcedSessionControls', 'excludeRulesSatisfied', 'id', 'includeRulesSatisfied', 'result', 'sessionControlsNotSatisfied']);
  const record = { id: 'r1', conditionalAccessStatus: r.status, appliedConditionalAccessPolicies: applied } as unknown as Parameters<typeof signInView>[0];
  const plain = signInView(record, 'beta', false).appliedConditionalAccessPolicies as any[];
  expect(plain[0]).toMatchObject({ result: 'unknownFutureValue', conditionsSatisfied: 'unknownFutureValue,application', includeRulesSatisfied: [{ conditionalAccessCondition: 'unknownFutureValue', ruleSatisfied: 'appId' }, { conditionalAccessCondition: 'application', ruleSatisfied: 'allApps' }] });
  const opted = signInView(record, 'beta', true).appliedConditionalAccessPolicies as any[];
  expect(opted[0]).toMatchObject({ result: 'reportOnlyFailure', conditionsSatisfied: 'servicePrincipals,application', authenticationStrength: null, sessionControlsNotSatisfied: [] });
});

test("blueprintsOfRule reads back the rule ca create --blueprint writes, and nothing else", () => {
  expect(blueprintsOfRule(attributeRule('AgentId_Blueprint', ['a1', 'b2']))).toEqual(['a1', 'b2']);
  expect(blueprintsOfRule(undefined)).toEqual([]);
  expect(blueprintsOfRule('CustomSecurityAttribute.AgentId_Blueprint -eq "a1" -and CustomSecurityAttribute.X_Y -eq "z"')).toBeUndefined();
  expect(blueprintsOfRule('CustomSecurityAttribute.Other_Attr -eq "a1"')).toBeUndefined();
});
