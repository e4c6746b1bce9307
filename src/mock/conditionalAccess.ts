import { GraphErrors } from './errors.js';
import { GUID_RE } from './path.js';
import type { StoredObject, TenantState } from './state.js';
import { evaluate, FilterRuleError, parseFilterRule, type CaEvaluation, type CaPolicy, type CaSubject } from '../graph/conditionalAccess.js';

// The emulated tenant's Conditional Access for agents (#13): policy validation for
// handlers/identity.ts, and the evaluation the token endpoint (handlers/oauth.ts) enforces. The
// evaluation itself is src/graph/conditionalAccess.ts `evaluate`, which `agentid ca what-if` uses
// too. What is enforced, and where (ED identity/conditional-access/agent-id.md, "Conditional
// Access boundaries and limitations"): an agent identity's own token and an agent user's token;
// never the blueprint's tokens (creating agents, or the T1 exchange token for
// api://AzureADTokenExchange).

const STATES = new Set(['enabled', 'disabled', 'enabledForReportingButNotEnforced']);
const BUILT_IN = new Set(['block', 'mfa', 'compliantDevice', 'domainJoinedDevice', 'approvedApplication', 'compliantApplication', 'passwordChange', 'riskRemediation']);
const RISK_LEVELS = new Set(['low', 'medium', 'high']);
// Agent users may be granted with a compliant device; nothing else applies to an agent
// (ED howto-target-agent-identities.md "Access controls").
const AGENT_USER_GRANTS = new Set(['block', 'compliantDevice']);

const strings = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.map(String) : undefined);

/** The policy after a create or update: throws a 400 (nothing written) when it is not valid. */
export function validatePolicy(state: TenantState, p: Record<string, unknown>): void {
  const bad = GraphErrors.caPolicyInvalid;
  if (typeof p.displayName !== 'string' || !p.displayName.trim()) throw bad("A value is required for property 'displayName' of resource 'conditionalAccessPolicy'.");
  if (typeof p.state !== 'string' || !STATES.has(p.state)) throw bad(`Invalid value '${String(p.state)}' for property 'state': expected enabled, disabled or enabledForReportingButNotEnforced.`);
  const c = p.conditions as Record<string, unknown> | undefined;
  if (!c || typeof c !== 'object') throw bad("A value is required for property 'conditions' of resource 'conditionalAccessPolicy'.");
  if (!c.applications || typeof c.applications !== 'object') throw bad("A value is required for property 'conditions.applications' of resource 'conditionalAccessPolicy'.");
  const users = c.users as Record<string, unknown> | undefined;
  const clients = c.clientApplications as Record<string, unknown> | undefined;
  // GD conditionalaccessconditionset.md: "Either users or clientApplications is required."
  if (!users && !clients) throw bad("Either 'conditions.users' or 'conditions.clientApplications' is required.");
  const grant = p.grantControls as Record<string, unknown> | null | undefined;
  const controls = strings(grant?.builtInControls) ?? [];
  if (!controls.length && !p.sessionControls) throw bad("A policy needs 'grantControls' or 'sessionControls'.");
  for (const ctl of controls) if (!BUILT_IN.has(ctl)) throw bad(`Invalid value '${ctl}' in 'grantControls.builtInControls'.`);
  if (controls.includes('block') && controls.length > 1) throw bad("The 'block' grant control cannot be combined with other controls.");

  const include = strings(clients?.includeAgentIdServicePrincipals) ?? [];
  const exclude = strings(clients?.excludeAgentIdServicePrincipals) ?? [];
  if (clients && 'includeAgentIdServicePrincipals' in clients && !include.length && !clients.agentIdServicePrincipalFilter && !(strings(clients.includeServicePrincipals) ?? []).length && !(strings(users?.includeUsers) ?? []).some((u) => u !== 'None'))
    throw bad("'conditions.clientApplications.includeAgentIdServicePrincipals' cannot be empty: name agent identity object ids or 'All'.");
  for (const id of [...include, ...exclude]) {
    if (id === 'All' && include.includes(id)) continue;
    if (!GUID_RE.test(id)) throw bad(`'${id}' is not an agent identity object id (or 'All').`);
    const o = state.objects[id.toLowerCase()];
    // [INFERRED] Graph checks the ids name agent identities; the docs only say they are "Agent identity object IDs".
    if (!o || o.deletedDateTime || o.type !== 'agentIdentity') throw bad(`'${id}' is not the object id of an agent identity in this tenant.`);
  }
  const filter = clients?.agentIdServicePrincipalFilter as Record<string, unknown> | null | undefined;
  if (filter) {
    // conditionalAccessFilter: mode include or exclude, and a rule over custom security attributes.
    if (filter.mode !== 'include' && filter.mode !== 'exclude') throw bad(`Invalid value '${String(filter.mode)}' for property 'agentIdServicePrincipalFilter.mode': expected include or exclude.`);
    if (typeof filter.rule !== 'string' || !filter.rule.trim()) throw bad("A value is required for property 'agentIdServicePrincipalFilter.rule'.");
    try {
      parseFilterRule(filter.rule);
    } catch (err) {
      if (err instanceof FilterRuleError) throw bad(`Invalid rule in 'agentIdServicePrincipalFilter': ${err.message}.`);
      throw err;
    }
  }
  // "the only available option is blocking access" for agent identities (ED agent-id.md).
  if ((include.length || clients?.agentIdServicePrincipalFilter) && controls.some((ctl) => ctl !== 'block'))
    throw bad('A policy that targets agent identities can only block access: grantControls.builtInControls must be ["block"].');
  const agentUsers = (strings(users?.includeUsers) ?? []).includes('AllAgentIdUsers');
  if (agentUsers && controls.some((ctl) => !AGENT_USER_GRANTS.has(ctl))) throw bad('A policy that targets agent users can only block access or require a compliant device.');
  const risk = c.agentIdRiskLevels;
  if (risk !== undefined && risk !== null) {
    const levels = (Array.isArray(risk) ? risk.map(String) : String(risk).split(',')).map((x) => x.trim()).filter(Boolean);
    for (const l of levels) if (!RISK_LEVELS.has(l)) throw bad(`Invalid value '${l}' for property 'agentIdRiskLevels': expected low, medium or high.`);
  }
}

/**
 * The policy as Graph stores and returns it: collections it was not given come back empty, and
 * the condition sets it was not given null (GD beta conditionalaccessroot-post-policies.md, the
 * responses of examples 1-3).
 */
export function normalizePolicy(p: Record<string, unknown>): void {
  const c = p.conditions as Record<string, unknown>;
  const fill = (o: unknown, keys: string[]) => {
    if (!o || typeof o !== 'object') return;
    for (const k of keys) (o as Record<string, unknown>)[k] ??= [];
  };
  c.signInRiskLevels ??= [];
  c.userRiskLevels ??= [];
  c.servicePrincipalRiskLevels ??= [];
  for (const k of ['platforms', 'locations', 'devices', 'clientApplications', 'users']) c[k] ??= null;
  fill(c.applications, ['includeApplications', 'excludeApplications', 'includeUserActions']);
  fill(c.users, ['includeUsers', 'excludeUsers', 'includeGroups', 'excludeGroups', 'includeRoles', 'excludeRoles']);
  fill(c.clientApplications, ['includeServicePrincipals', 'excludeServicePrincipals', 'includeAgentIdServicePrincipals', 'excludeAgentIdServicePrincipals']);
  fill(p.grantControls, ['builtInControls', 'customAuthenticationFactors', 'termsOfUse']);
}

export function policiesOf(state: TenantState): CaPolicy[] {
  return Object.values(state.conditionalAccessPolicies ?? {}) as unknown as CaPolicy[];
}

export function agentRiskLevel(state: TenantState, id: string): string {
  const row = state.riskyAgents?.[id.toLowerCase()];
  return row ? String(row.riskLevel ?? 'none') : 'none';
}

/** The subject a token request stands for, when Conditional Access governs it. */
export function caSubjectOf(state: TenantState, o: StoredObject | undefined): CaSubject | undefined {
  if (!o || (o.type !== 'agentIdentity' && o.type !== 'agentUser')) return undefined;
  return { kind: o.type, id: o.id, riskLevel: agentRiskLevel(state, o.id), attributes: (o.props.customSecurityAttributes as CaSubject['attributes']) ?? {} };
}

/** Evaluates the tenant's policies for an agent identity's or agent user's token; undefined for anyone else. */
export function evaluateSignIn(state: TenantState, objectId: string): CaEvaluation | undefined {
  const subject = caSubjectOf(state, state.objects[objectId.toLowerCase()]);
  if (!subject) return undefined;
  return evaluate(policiesOf(state), subject);
}
