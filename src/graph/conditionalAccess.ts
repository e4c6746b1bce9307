import type { GraphClient } from './client.js';
import { GraphRequestError } from './errors.js';
import { NotFoundError } from '../errors.js';

// Conditional Access policies that target agents (beta /identity/conditionalAccess/policies).
// Sources: GD beta resources/conditionalaccesspolicy.md, conditionalaccessconditionset.md,
// conditionalaccessclientapplications.md (rendered beta page: includeAgentIdServicePrincipals /
// excludeAgentIdServicePrincipals are "Agent identity object IDs", agentIdServicePrincipalFilter a
// custom-security-attribute rule), conditionalaccessroot-post-policies.md; ED
// identity/conditional-access/agent-id.md and howto-target-agent-identities.md:
//   - agent identities are selected with clientApplications.includeAgentIdServicePrincipals
//     (ids or "All"), or "at scale" by custom security attributes with
//     clientApplications.agentIdServicePrincipalFilter (agent-id.md "Attribute-driven Conditional
//     Access"; `ca create --blueprint` uses it); agent users with users.includeUsers
//     ["AllAgentIdUsers"] ("Today, you can target an agent's user account with a single scope");
//   - "When an agent identity is targeted ... the only condition available is Agent risk"
//     (conditions.agentIdRiskLevels: low, medium, high);
//   - "Block access: The only available option for agent identities"; agent users may also be
//     granted with compliantDevice. An MFA grant never applies to an agent.
// The evaluator below is shared: the emulator's token endpoint enforces with it and
// `agentid ca what-if` explains with it, so the two cannot disagree.

export const BETA = { version: 'beta' as const };
export const PREFER_UNKNOWN_ENUMS = { Prefer: 'include-unknown-enum-members' };

export type PolicyState = 'enabled' | 'disabled' | 'enabledForReportingButNotEnforced';

export interface CaPolicy {
  id: string;
  displayName: string;
  state: PolicyState;
  createdDateTime?: string | null;
  modifiedDateTime?: string | null;
  conditions: {
    agentIdRiskLevels?: string[] | string | null;
    applications?: { includeApplications?: string[] | null; excludeApplications?: string[] | null } | null;
    users?: { includeUsers?: string[] | null; excludeUsers?: string[] | null } | null;
    clientApplications?: {
      includeAgentIdServicePrincipals?: string[] | null;
      excludeAgentIdServicePrincipals?: string[] | null;
      agentIdServicePrincipalFilter?: { mode?: string; rule?: string } | null;
      includeServicePrincipals?: string[] | null;
      excludeServicePrincipals?: string[] | null;
    } | null;
    [k: string]: unknown;
  };
  grantControls?: { operator?: string | null; builtInControls?: string[] | null } | null;
  [k: string]: unknown;
}

export const GRAPH_RESOURCE_APP_ID = '00000003-0000-0000-c000-000000000000';

const policiesPath = '/identity/conditionalAccess/policies';
const policyPath = (id: string) => `${policiesPath}/${encodeURIComponent(id)}`;

export async function listPolicies(client: GraphClient): Promise<CaPolicy[]> {
  return client.list<CaPolicy>(policiesPath, BETA);
}

export async function getPolicy(client: GraphClient, id: string): Promise<CaPolicy> {
  try {
    return await client.get<CaPolicy>(policyPath(id), BETA);
  } catch (err) {
    if (err instanceof GraphRequestError && err.status === 404) throw new NotFoundError(`No Conditional Access policy with id '${id}'.`);
    throw err;
  }
}

export async function createPolicy(client: GraphClient, body: Record<string, unknown>): Promise<CaPolicy> {
  return client.post<CaPolicy>(policiesPath, body, BETA);
}

export async function updatePolicy(client: GraphClient, id: string, patch: Record<string, unknown>): Promise<void> {
  await client.patch(policyPath(id), patch, BETA);
}

export async function deletePolicy(client: GraphClient, id: string): Promise<void> {
  await client.delete(policyPath(id), BETA);
}

/**
 * The request createPolicy (no id), updatePolicy or deletePolicy sends, as --dry-run prints it:
 * the full beta URL, so the printed request is the one that would go.
 */
export function policyRequest(client: GraphClient, method: 'POST' | 'PATCH' | 'DELETE', id?: string, body?: Record<string, unknown>): { method: string; url: string; body?: Record<string, unknown> } {
  return { method, url: client.urlOf(id === undefined ? policiesPath : policyPath(id), BETA.version), ...(body ? { body } : {}) };
}

/** A policy by id, or by exact display name (exactly one match, else the candidates). */
export async function resolvePolicy(client: GraphClient, ref: string): Promise<CaPolicy> {
  const r = ref.trim();
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(r)) return getPolicy(client, r);
  const matches = (await listPolicies(client)).filter((p) => p.displayName === r);
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new NotFoundError(`No Conditional Access policy named '${r}'.`);
  const { UsageError } = await import('../errors.js');
  throw new UsageError(`${matches.length} Conditional Access policies are named '${r}': ${matches.map((m) => m.id).join(', ')}. Use an id instead.`);
}

// ---------------------------------------------------------------------------------------------
// the policy body agentid builds

export interface AgentPolicySpec {
  displayName: string;
  state: PolicyState;
  /** Agent identity object ids, or ['All']; empty when the policy targets agent users. */
  includeAgents: string[];
  excludeAgents: string[];
  /** users.includeUsers ["AllAgentIdUsers"]. */
  agentUsers: boolean;
  riskLevels: string[];
  /** 'block', or built-in grant controls (agent users only: compliantDevice). */
  grant: string[];
  /** Agents selected by custom security attributes (clientApplications.agentIdServicePrincipalFilter). */
  agentFilter?: { mode: 'include' | 'exclude'; rule: string } | undefined;
}

/**
 * The body the docs describe for an agent policy. An agent-identity policy has no user scope
 * (includeUsers ["None"], as the "block high-risk agents" template shows), every resource
 * ("All"), and its agents under clientApplications.
 */
export function agentPolicyBody(s: AgentPolicySpec): Record<string, unknown> {
  const conditions: Record<string, unknown> = {
    clientAppTypes: ['all'],
    applications: { includeApplications: ['All'] },
    users: s.agentUsers ? { includeUsers: ['AllAgentIdUsers'] } : { includeUsers: ['None'] },
  };
  if (s.includeAgents.length || s.agentFilter) {
    // "Select agent identities based on attributes" is the filter alone, in include mode, with no
    // includeAgentIdServicePrincipals (as a policy made in the admin center reads back).
    conditions.clientApplications = {
      ...(s.includeAgents.length ? { includeAgentIdServicePrincipals: s.includeAgents } : {}),
      ...(s.excludeAgents.length ? { excludeAgentIdServicePrincipals: s.excludeAgents } : {}),
      ...(s.agentFilter ? { agentIdServicePrincipalFilter: s.agentFilter } : {}),
    };
  }
  if (s.riskLevels.length) conditions.agentIdRiskLevels = s.riskLevels.join(',');
  return {
    displayName: s.displayName,
    state: s.state,
    conditions,
    grantControls: { operator: 'OR', builtInControls: s.grant },
  };
}

// ---------------------------------------------------------------------------------------------
// evaluation

/** Who is asking for a token: an agent identity (its own app-only token) or an agent user. */
export interface CaSubject {
  kind: 'agentIdentity' | 'agentUser';
  /** Object id of the agent identity or agent user. */
  id: string;
  /** Agent risk (riskyAgent.riskLevel): none, low, medium, high. */
  riskLevel: string;
  /** The agent's customSecurityAttributes, for agentIdServicePrincipalFilter; undefined when they could not be read. */
  attributes?: Record<string, Record<string, unknown>> | undefined;
}

/** One entry of signIn.appliedConditionalAccessPolicies (GD beta appliedconditionalaccesspolicy.md). */
export interface AppliedPolicy {
  authenticationStrength: null;
  id: string;
  displayName: string;
  enforcedGrantControls: string[];
  enforcedSessionControls: string[];
  result: 'success' | 'failure' | 'notApplied' | 'notEnabled' | 'reportOnlySuccess' | 'reportOnlyFailure' | 'reportOnlyNotApplied';
  conditionsSatisfied: string;
  conditionsNotSatisfied: string;
  includeRulesSatisfied: { conditionalAccessCondition: string; ruleSatisfied: string }[];
  excludeRulesSatisfied: { conditionalAccessCondition: string; ruleSatisfied: string }[];
  sessionControlsNotSatisfied: string[];
}

export interface PolicyVerdict {
  policy: CaPolicy;
  /** Every condition matched (whatever the policy's state). */
  matches: boolean;
  /** Would refuse the token if enforced. */
  blocks: boolean;
  /** Human reasons, one per condition looked at. */
  reasons: string[];
  applied: AppliedPolicy;
}

export interface CaEvaluation {
  /** signIn.conditionalAccessStatus: report-only policies never change it. */
  status: 'success' | 'failure' | 'notApplied';
  verdicts: PolicyVerdict[];
  /** The enabled policies that refuse the token. */
  blockedBy: CaPolicy[];
}

const list = (v: string[] | null | undefined) => (Array.isArray(v) ? v : []);
const has = (v: string[] | null | undefined, x: string) => list(v).some((e) => e.toLowerCase() === x.toLowerCase());

/** agentIdRiskLevels is a multi-valued (flags) enum: written "low,high" on the wire. */
export function riskLevelsOf(p: CaPolicy): string[] {
  const v = p.conditions?.agentIdRiskLevels;
  if (!v) return [];
  const all = Array.isArray(v) ? v : String(v).split(',');
  return all.map((x) => x.trim()).filter(Boolean);
}

/** True when the policy targets agents at all (agent identities, agent users, agent resources). */
export function targetsAgents(p: CaPolicy): boolean {
  const c = p.conditions ?? {};
  return (
    list(c.clientApplications?.includeAgentIdServicePrincipals).length > 0 ||
    !!c.clientApplications?.agentIdServicePrincipalFilter?.rule ||
    has(c.users?.includeUsers, 'AllAgentIdUsers') ||
    has(c.applications?.includeApplications, 'AllAgentIdResources') ||
    riskLevelsOf(p).length > 0
  );
}

/**
 * Evaluates every policy for one token request of an agent for a resource (Graph, in the
 * emulator). Conditions the emulator can judge: the agent selection (include/exclude, All),
 * the resource, and agent risk. [INFERRED] The conditionsSatisfied values: the
 * conditionalAccessConditions enum has no agent members, so an agent identity's selection is
 * reported as servicePrincipals, an agent user's as users, and agent risk as servicePrincipalRisk.
 * An agentIdServicePrincipalFilter is evaluated over the agent's custom security attributes
 * (filterMatches above); its ruleSatisfied is reported as appFilter, the conditionalAccessRule
 * member for a filter over applications (the enum has none for agents) [INFERRED].
 */
// ---------------------------------------------------------------------------------------------
// agentIdServicePrincipalFilter rules

/**
 * The rule language of Conditional Access filters over custom security attributes (ED
 * concept-filter-for-applications.md; conditionalAccessFilter.rule): clauses
 * `CustomSecurityAttribute.{set}_{attribute} -op value`, joined by -and / -or, with parentheses.
 * Operators: -eq, -ne, -contains, -notContains, -startsWith, -notStartsWith, -in, -notIn.
 * Values: "strings" (\" escapes a quote), numbers, true/false, or ["lists"] for -in / -notIn.
 * "Conditional Access filters ... only work with custom security attributes of type string"
 * (same page): other values compare as their text. [INFERRED] on a multi-valued attribute -eq
 * and -contains hold when one of its values equals the operand, as the portal's "Contains".
 */
type Clause = { attribute: string; op: string; value: unknown };
type Node = { or: Node[] } | { and: Node[] } | Clause;

const OPS = ['eq', 'ne', 'contains', 'notcontains', 'startswith', 'notstartswith', 'in', 'notin'];

export class FilterRuleError extends Error {}

export function parseFilterRule(rule: string): Node {
  const tokens: string[] = [];
  const re = /\s*(\(|\)|\[|\]|,|"(?:[^"\\]|\\.)*"|-[A-Za-z]+|[^\s()[\],"]+)/gy;
  let m: RegExpExecArray | null;
  let at = 0;
  while (at < rule.length) {
    re.lastIndex = at;
    m = re.exec(rule);
    if (!m) {
      if (!rule.slice(at).trim()) break;
      throw new FilterRuleError(`cannot read the rule at '${rule.slice(at).trim().slice(0, 20)}'`);
    }
    tokens.push(m[1]!);
    at = re.lastIndex;
  }
  let i = 0;
  const peek = () => tokens[i];
  const take = (want?: string) => {
    const t = tokens[i++];
    if (t === undefined || (want !== undefined && t.toLowerCase() !== want)) throw new FilterRuleError(want ? `expected '${want}'${t ? ` before '${t}'` : ' at the end'}` : 'the rule ends too early');
    return t;
  };
  const literal = (t: string): unknown => {
    if (t.startsWith('"')) return t.slice(1, -1).replace(/\\(.)/g, '$1');
    if (/^(true|false)$/i.test(t)) return t.toLowerCase() === 'true';
    if (/^-?\d+$/.test(t)) return Number(t);
    throw new FilterRuleError(`'${t}' is not a value: quote strings ("…")`);
  };
  const clause = (): Node => {
    if (peek() === '(') {
      take('(');
      const e = or();
      take(')');
      return e;
    }
    const name = take();
    const mm = /^CustomSecurityAttribute\.([A-Za-z0-9]+)_([A-Za-z0-9]+)$/i.exec(name);
    if (!mm) throw new FilterRuleError(`'${name}' is not a custom security attribute: write CustomSecurityAttribute.{set}_{attribute}`);
    const opToken = take();
    const op = opToken.replace(/^-/, '').toLowerCase();
    if (!opToken.startsWith('-') || !OPS.includes(op)) throw new FilterRuleError(`'${opToken}' is not an operator (-eq, -ne, -contains, -notContains, -startsWith, -notStartsWith, -in, -notIn)`);
    let value: unknown;
    if (op === 'in' || op === 'notin') {
      take('[');
      const values: unknown[] = [];
      while (peek() !== ']') {
        values.push(literal(take()));
        if (peek() === ',') take(',');
      }
      take(']');
      value = values;
    } else value = literal(take());
    return { attribute: `${mm[1]}_${mm[2]}`, op, value };
  };
  const and = (): Node => {
    const parts = [clause()];
    while (peek()?.toLowerCase() === '-and') {
      take();
      parts.push(clause());
    }
    return parts.length === 1 ? parts[0]! : { and: parts };
  };
  const or = (): Node => {
    const parts = [and()];
    while (peek()?.toLowerCase() === '-or') {
      take();
      parts.push(and());
    }
    return parts.length === 1 ? parts[0]! : { or: parts };
  };
  if (!tokens.length) throw new FilterRuleError('the rule is empty');
  const root = or();
  if (i < tokens.length) throw new FilterRuleError(`unexpected '${tokens[i]}'`);
  return root;
}

/** The values of `{set}_{attribute}` in an object's customSecurityAttributes (none: []). */
function attributeValues(attrs: Record<string, Record<string, unknown>>, id: string): string[] {
  const [set, name] = [id.slice(0, id.indexOf('_')), id.slice(id.indexOf('_') + 1)];
  const setKey = Object.keys(attrs).find((k) => k.toLowerCase() === set.toLowerCase());
  const values = setKey ? attrs[setKey]! : {};
  const key = Object.keys(values).find((k) => k.toLowerCase() === name.toLowerCase());
  const v = key ? values[key] : undefined;
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

function clauseHolds(c: Clause, attrs: Record<string, Record<string, unknown>>): boolean {
  const have = attributeValues(attrs, c.attribute).map((v) => v.toLowerCase());
  const want = (Array.isArray(c.value) ? c.value : [c.value]).map((v) => String(v).toLowerCase());
  const any = (f: (v: string) => boolean) => have.some(f);
  switch (c.op) {
    case 'eq':
      return any((v) => v === want[0]);
    case 'ne':
      return !any((v) => v === want[0]);
    case 'contains':
      return any((v) => v === want[0] || (have.length === 1 && v.includes(want[0]!)));
    case 'notcontains':
      return !any((v) => v === want[0] || (have.length === 1 && v.includes(want[0]!)));
    case 'startswith':
      return any((v) => v.startsWith(want[0]!));
    case 'notstartswith':
      return !any((v) => v.startsWith(want[0]!));
    case 'in':
      return any((v) => want.includes(v));
    default:
      return !any((v) => want.includes(v));
  }
}

function holds(n: Node, attrs: Record<string, Record<string, unknown>>): boolean {
  if ('or' in n) return n.or.some((x) => holds(x, attrs));
  if ('and' in n) return n.and.every((x) => holds(x, attrs));
  return clauseHolds(n, attrs);
}

/** Whether an object with these custom security attributes matches the rule; a rule that cannot be read matches nothing. */
export function filterMatches(rule: string, attrs: Record<string, Record<string, unknown>>): boolean {
  try {
    return holds(parseFilterRule(rule), attrs);
  } catch {
    return false;
  }
}

/** The rule `ca create --blueprint` writes: agents whose attribute holds one of these values. */
export function attributeRule(attribute: string, values: string[]): string {
  const q = (v: string) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  return values.map((v) => `CustomSecurityAttribute.${attribute} -eq ${q(v)}`).join(' -or ');
}

export function evaluate(policies: CaPolicy[], subject: CaSubject, resourceAppId = GRAPH_RESOURCE_APP_ID): CaEvaluation {
  const verdicts = policies.map((p) => verdict(p, subject, resourceAppId));
  const enforced = verdicts.filter((v) => v.policy.state === 'enabled' && v.matches);
  const blockedBy = enforced.filter((v) => v.blocks).map((v) => v.policy);
  const status = blockedBy.length ? 'failure' : enforced.length ? 'success' : 'notApplied';
  return { status, verdicts, blockedBy };
}

function verdict(p: CaPolicy, s: CaSubject, resourceAppId: string): PolicyVerdict {
  const c = p.conditions ?? {};
  const reasons: string[] = [];
  const satisfied: string[] = [];
  const notSatisfied: string[] = [];
  const includeRules: AppliedPolicy['includeRulesSatisfied'] = [];
  const excludeRules: AppliedPolicy['excludeRulesSatisfied'] = [];
  let ok = true;
  const fail = (cond: string, why: string) => {
    ok = false;
    notSatisfied.push(cond);
    reasons.push(why);
  };

  // Who: agent identities under clientApplications, agent users under users.
  if (s.kind === 'agentIdentity') {
    const inc = list(c.clientApplications?.includeAgentIdServicePrincipals);
    const exc = list(c.clientApplications?.excludeAgentIdServicePrincipals);
    // "Select agent identities based on attributes" (ED policy-autonomous-agents.md): a rule over
    // the agent's custom security attributes, in include or exclude mode.
    const filter = c.clientApplications?.agentIdServicePrincipalFilter;
    const rule = filter?.rule ?? '';
    const hit = rule ? filterMatches(rule, s.attributes ?? {}) : false;
    const unread = rule && !s.attributes ? ' (its attributes could not be read: CustomSecAttributeAssignment.Read.All)' : '';
    if (has(exc, s.id)) {
      fail('servicePrincipals', 'the agent is excluded (excludeAgentIdServicePrincipals)');
      excludeRules.push({ conditionalAccessCondition: 'servicePrincipals', ruleSatisfied: 'appId' });
    } else if (filter?.mode === 'exclude' && hit) {
      fail('servicePrincipals', `the agent is excluded by its custom security attributes (${rule})`);
      excludeRules.push({ conditionalAccessCondition: 'servicePrincipals', ruleSatisfied: 'appFilter' });
    } else if (has(inc, 'All')) {
      satisfied.push('servicePrincipals');
      reasons.push(`includes all agent identities${filter?.mode === 'exclude' ? `; its custom security attributes do not match the exclusion ${rule}${unread}` : ''}`);
    } else if (has(inc, s.id)) {
      satisfied.push('servicePrincipals');
      reasons.push('includes this agent identity');
      includeRules.push({ conditionalAccessCondition: 'servicePrincipals', ruleSatisfied: 'appId' });
    } else if (filter?.mode === 'include' && hit) {
      satisfied.push('servicePrincipals');
      reasons.push(`selects this agent by its custom security attributes (${rule})`);
      includeRules.push({ conditionalAccessCondition: 'servicePrincipals', ruleSatisfied: 'appFilter' });
    } else if (filter?.mode === 'include') {
      fail('servicePrincipals', `the agent's custom security attributes do not match ${rule}${unread}`);
    } else fail('servicePrincipals', inc.length ? 'does not include this agent identity' : 'does not target agent identities');
  } else {
    const inc = list(c.users?.includeUsers);
    if (has(c.users?.excludeUsers, s.id)) fail('users', 'the agent user is excluded (excludeUsers)');
    else if (has(inc, 'AllAgentIdUsers')) {
      satisfied.push('users');
      reasons.push('includes all agent users (AllAgentIdUsers)');
      includeRules.push({ conditionalAccessCondition: 'users', ruleSatisfied: 'allUsers' });
    } else fail('users', 'does not target agent users (policies for all users do not include agent users)');
  }

  // What: the resource the token is for.
  const apps = list(c.applications?.includeApplications);
  if (has(c.applications?.excludeApplications, resourceAppId)) fail('application', 'the resource is excluded');
  else if (has(apps, 'All') || has(apps, resourceAppId)) {
    satisfied.push('application');
    reasons.push(has(apps, 'All') ? 'applies to all resources' : 'applies to this resource');
    includeRules.push({ conditionalAccessCondition: 'application', ruleSatisfied: has(apps, 'All') ? 'allApps' : 'appId' });
  } else fail('application', has(apps, 'AllAgentIdResources') ? 'applies to agent resources only, not to this resource' : 'does not apply to this resource');

  // Agent risk.
  const levels = riskLevelsOf(p);
  if (levels.length) {
    if (levels.includes(s.riskLevel)) {
      satisfied.push('servicePrincipalRisk');
      reasons.push(`agent risk ${s.riskLevel} is one of ${levels.join(', ')}`);
    } else fail('servicePrincipalRisk', `agent risk ${s.riskLevel || 'none'} is not one of ${levels.join(', ')}`);
  }

  const controls = list(p.grantControls?.builtInControls);
  // Any grant an agent cannot satisfy (no interactive remediation, no device in the emulator)
  // refuses it when it applies; block is the one the docs name for agent identities.
  const blocks = controls.length > 0;
  const reportOnly = p.state === 'enabledForReportingButNotEnforced';
  let result: AppliedPolicy['result'];
  if (p.state === 'disabled') result = 'notEnabled';
  else if (!ok) result = reportOnly ? 'reportOnlyNotApplied' : 'notApplied';
  else if (blocks) result = reportOnly ? 'reportOnlyFailure' : 'failure';
  else result = reportOnly ? 'reportOnlySuccess' : 'success';
  // Every property of appliedConditionalAccessPolicy (GD beta resources/appliedconditionalaccesspolicy.md).
  const applied: AppliedPolicy = {
    authenticationStrength: null,
    id: p.id,
    displayName: p.displayName,
    // Sign-in logs name the controls as the portal does ("Block", "RequireCompliantDevice")
    // [INFERRED from signin.md's example values such as "Mfa"].
    enforcedGrantControls: ok && p.state !== 'disabled' ? controls.map(controlName) : [],
    enforcedSessionControls: [],
    result,
    conditionsSatisfied: satisfied.length ? satisfied.join(',') : 'none',
    conditionsNotSatisfied: notSatisfied.length ? notSatisfied.join(',') : 'none',
    includeRulesSatisfied: includeRules,
    excludeRulesSatisfied: excludeRules,
    sessionControlsNotSatisfied: [],
  };
  return { policy: p, matches: ok, blocks: ok && blocks, reasons, applied };
}

function controlName(c: string): string {
  const names: Record<string, string> = { block: 'Block', mfa: 'Mfa', compliantDevice: 'RequireCompliantDevice', domainJoinedDevice: 'RequireDomainJoinedDevice' };
  return names[c] ?? c;
}
