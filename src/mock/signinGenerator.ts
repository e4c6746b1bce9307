import { randomUUID } from 'node:crypto';
import type { LogRecord, LogStore } from './logs.js';
import type { Store } from './store.js';
import type { StoredObject, TenantState } from './state.js';
import { AGENTID_CLIENT_APP_ID, GRAPH_APP_ID, SEED_IDS } from './seed.js';

// Sign-in records: the ones the emulator's token endpoint causes (one per token issued or
// refused), and `agentid mock signins generate`'s synthetic history. Records keep only what
// varies; the auditLogs handler renders the full beta signIn shape around them.
//
// The agent facet (GD beta resources/agentic-agentsignin.md, ED agent-id/sign-in-audit-logs-agents.md):
// agentType / agentSubjectType name the kind of object that asked for the token:
//   blueprint (its token-exchange leg)   → agenticApp
//   blueprint principal (app-only token) → agentIdentityBlueprintPrincipal
//   agent identity                       → agenticAppInstance
//   agent user                           → agentIDuser
// [INFERRED] the docs define the enum but not which leg of the agent token flow gets which value;
// we give both properties the caller's own kind. parentAppId is the blueprint's appId for an agent
// identity or blueprint principal and the agent identity's appId for an agent user;
// agentSubjectParentId is "the id of the agentIdentity or agentIdentityBlueprint" above it.
// [INFERRED] an agent identity's appId is its object id (the emulator stores no separate appId).

export type AgentType = 'notAgentic' | 'agenticApp' | 'agenticAppInstance' | 'agentIdentityBlueprintPrincipal' | 'agentIDuser';
export type CredentialType = 'none' | 'clientSecret' | 'clientAssertion' | 'federatedIdentityCredential' | 'managedIdentity' | 'certificate';

/** What the token endpoint (issue #3's hook in src/mock/auth.ts) reports for every token. */
export interface TokenEvent {
  appId: string;
  servicePrincipalId?: string | undefined;
  userId?: string | undefined;
  credentialType?: CredentialType | undefined;
  success: boolean;
  /** AADSTS code of a refused request (e.g. 7000215 invalid secret). */
  errorCode?: number | undefined;
  failureReason?: string | undefined;
  ipAddress?: string | undefined;
  /** A user sign-in (the device-code grant or a refresh token); absent for app sign-ins. */
  signInEventType?: 'interactiveUser' | 'nonInteractiveUser' | undefined;
  originalTransferMethod?: 'deviceCodeFlow' | undefined;
  userAgent?: string | undefined;
  keyId?: string | undefined;
  federatedCredentialId?: string | undefined;
  correlationId?: string | undefined;
  time?: Date | undefined;
  /** #13: Conditional Access's decision (conditionalAccessStatus, appliedConditionalAccessPolicies). */
  conditionalAccess?: { status: string; applied: unknown[] } | undefined;
}

interface Subject {
  agentType: AgentType;
  appId: string;
  appDisplayName: string | null;
  servicePrincipalId: string | null;
  servicePrincipalName: string | null;
  userId: string | null;
  userPrincipalName: string | null;
  userDisplayName: string | null;
  parentAppId: string | null;
  subjectParentId: string | null;
}

function live(state: TenantState): StoredObject[] {
  return Object.values(state.objects).filter((o) => !o.deletedDateTime);
}

function blueprintOf(state: TenantState, appId: string): StoredObject | undefined {
  const wanted = appId.toLowerCase();
  return Object.values(state.objects).find((o) => o.type === 'agentIdentityBlueprint' && String(o.props.appId).toLowerCase() === wanted);
}

// Clients a user may sign in with that the emulated tenant holds no registration for: Microsoft
// Graph Command Line Tools, agentid's default public client on a real tenant
// (src/graph/credentials.ts DEFAULT_PUBLIC_CLIENT_ID), and the client id the CLI's user profiles
// sign in with on a served emulator (seed.ts AGENTID_CLIENT_APP_ID; its name is ours [INFERRED]).
const FIRST_PARTY_CLIENTS: Record<string, string> = {
  '14d82eec-204b-4c2f-b7e8-296a70dab67e': 'Microsoft Graph Command Line Tools',
  [AGENTID_CLIENT_APP_ID]: 'agentid',
};

/** The display name of the client app a token was issued to (an agent identity's appId is its id). */
function clientAppName(state: TenantState, appId: string): string | null {
  const a = appId.toLowerCase();
  const agent = state.objects[a];
  if (agent?.type === 'agentIdentity') return (agent.props.displayName as string) ?? null;
  const app = live(state).find((o) => String(o.props.appId ?? '').toLowerCase() === a);
  return (app?.props.displayName as string | undefined) ?? FIRST_PARTY_CLIENTS[a] ?? null;
}

/** Who asked for the token, with the agent facet it gets. */
export function subjectOf(state: TenantState, ev: Pick<TokenEvent, 'appId' | 'servicePrincipalId' | 'userId'>): Subject {
  const user = ev.userId ? state.objects[ev.userId.toLowerCase()] : undefined;
  // A user's sign-in names the user whatever client it went through.
  const base = {
    userId: user?.id ?? null,
    userPrincipalName: user ? String(user.props.userPrincipalName ?? '').toLowerCase() : null,
    userDisplayName: (user?.props.displayName as string | undefined) ?? null,
    parentAppId: null,
    subjectParentId: null,
  };
  const sp = ev.servicePrincipalId ? state.objects[ev.servicePrincipalId.toLowerCase()] : undefined;
  const agent = sp?.type === 'agentIdentity' ? sp : state.objects[ev.appId.toLowerCase()]?.type === 'agentIdentity' ? state.objects[ev.appId.toLowerCase()] : undefined;
  if (user?.type === 'agentUser') {
    const parent = state.objects[String(user.props.identityParentId ?? '')];
    // appId is the client the token went to: the parent agent identity in an agent's own flow
    // (generateSignIns), whatever public client redeemed the user's refresh token otherwise.
    return {
      ...base,
      agentType: 'agentIDuser',
      appId: ev.appId,
      appDisplayName: clientAppName(state, ev.appId),
      servicePrincipalId: null,
      servicePrincipalName: null,
      parentAppId: parent?.id ?? null,
      subjectParentId: parent?.id ?? null,
    };
  }
  if (agent) {
    const bp = blueprintOf(state, String(agent.props.agentIdentityBlueprintId ?? ''));
    const name = (agent.props.displayName as string) ?? null;
    return { ...base, agentType: 'agenticAppInstance', appId: agent.id, appDisplayName: name, servicePrincipalId: agent.id, servicePrincipalName: name, parentAppId: (bp?.props.appId as string) ?? null, subjectParentId: bp?.id ?? null };
  }
  const bp = blueprintOf(state, ev.appId);
  if (bp) {
    const principal = live(state).find((o) => o.type === 'agentIdentityBlueprintPrincipal' && o.props.appId === bp.props.appId);
    const name = (bp.props.displayName as string) ?? null;
    if (principal) {
      return { ...base, agentType: 'agentIdentityBlueprintPrincipal', appId: String(bp.props.appId), appDisplayName: name, servicePrincipalId: principal.id, servicePrincipalName: name, parentAppId: String(bp.props.appId), subjectParentId: bp.id };
    }
    return { ...base, agentType: 'agenticApp', appId: String(bp.props.appId), appDisplayName: name, servicePrincipalId: null, servicePrincipalName: name, parentAppId: null, subjectParentId: null };
  }
  const name = clientAppName(state, ev.appId);
  return { ...base, agentType: 'notAgentic', appId: ev.appId, appDisplayName: name, servicePrincipalId: ev.servicePrincipalId ?? null, servicePrincipalName: name };
}

/** The stored part of one signIn. Property names are Graph's (beta signIn), so $filter runs on it. */
export function signInRecord(state: TenantState, ev: TokenEvent, now: Date, subject?: Subject): LogRecord {
  const s = subject ?? subjectOf(state, ev);
  const userSignIn = ev.signInEventType;
  const userFlow = s.userId !== null || userSignIn !== undefined;
  const time = ev.time ?? now;
  const errorCode = ev.success ? 0 : (ev.errorCode ?? 7000215);
  const graphSp = state.objects[SEED_IDS.graphServicePrincipal];
  return {
    id: randomUUID(),
    createdDateTime: time.toISOString(),
    userDisplayName: s.userDisplayName,
    userPrincipalName: s.userPrincipalName,
    // A user purged since its refresh token was issued is still named by id (AADSTS50034).
    userId: s.userId ?? ev.userId ?? '',
    appId: s.appId,
    appDisplayName: s.appDisplayName,
    ipAddress: ev.ipAddress ?? '127.0.0.1',
    correlationId: ev.correlationId ?? randomUUID(),
    isInteractive: false,
    resourceDisplayName: (graphSp?.props.displayName as string) ?? 'Microsoft Graph',
    resourceId: GRAPH_APP_ID,
    resourceServicePrincipalId: graphSp?.id ?? null,
    resourceTenantId: state.tenant.id,
    homeTenantId: state.tenant.id,
    appOwnerTenantId: state.tenant.id,
    servicePrincipalId: userFlow ? '' : (s.servicePrincipalId ?? ''),
    servicePrincipalName: userFlow ? null : s.servicePrincipalName,
    servicePrincipalCredentialKeyId: ev.keyId ?? null,
    federatedCredentialId: ev.federatedCredentialId ?? null,
    clientCredentialType: ev.credentialType ?? (userFlow ? 'none' : 'clientSecret'),
    // GD signin.md: agents may appear under any of the four types; app-only tokens are
    // servicePrincipal sign-ins, an agent user's are non-interactive user sign-ins.
    signInEventTypes: [userSignIn ?? (userFlow ? 'nonInteractiveUser' : 'servicePrincipal')],
    ...(userSignIn ? userSignInProperties(userSignIn, ev) : {}),
    status: errorCode === 0 ? { errorCode: 0, failureReason: null, additionalDetails: null } : { errorCode, failureReason: ev.failureReason ?? failureReasonOf(errorCode), additionalDetails: null },
    agent: { agentType: s.agentType, parentAppId: s.parentAppId, agentSubjectType: s.agentType, agentSubjectParentId: s.subjectParentId },
    ...(ev.conditionalAccess ? { conditionalAccessStatus: ev.conditionalAccess.status, appliedConditionalAccessPolicies: ev.conditionalAccess.applied } : {}),
  };
}

/**
 * What a user sign-in through the token endpoint adds (GD beta resources/signin.md). isInteractive
 * "corresponds to" signInEventTypes (same page). The device-code grant is authenticationProtocol
 * deviceCode and starts a protocol-tracked session: originalTransferMethod deviceCodeFlow, kept by
 * every refresh of it (ED conditional-access/concept-authentication-flows.md). A refresh presents
 * incomingTokenType refreshToken (a late member of that evolvable enum: handlers/auditLogs.ts).
 * [INFERRED] authenticationProtocol is none for a refresh ("none for all authentications that
 * don't have a specific value"). [DOC-CONFLICT] signin.md's clientAppUsed examples say "Modern
 * clients"; the sign-in logs' Client app filter splits modern clients into "Browser" and "Mobile
 * apps and desktop clients" (ED monitoring-health/howto-customize-filter-logs.md), and Entra
 * writes "Mobile Apps and Desktop clients" for an MSAL public client, so that is used. The emulated tenant has no Conditional Access policies and no MFA: notApplied,
 * singleFactorAuthentication.
 */
function userSignInProperties(type: 'interactiveUser' | 'nonInteractiveUser', ev: TokenEvent): Record<string, unknown> {
  return {
    isInteractive: type === 'interactiveUser',
    clientAppUsed: 'Mobile Apps and Desktop clients',
    authenticationRequirement: 'singleFactorAuthentication',
    conditionalAccessStatus: 'notApplied',
    authenticationProtocol: type === 'interactiveUser' ? 'deviceCode' : 'none',
    originalTransferMethod: ev.originalTransferMethod ?? 'none',
    incomingTokenType: type === 'nonInteractiveUser' ? 'refreshToken' : 'none',
    userType: 'member',
    userAgent: ev.userAgent ?? null,
  };
}

// AADSTS codes a workload identity meets (entra-docs reference-error-codes.md).
const FAILURES: [number, string][] = [
  [7000215, 'Invalid client secret is provided.'],
  [7000222, 'The provided client secret keys are expired.'],
  [70021, 'No matching federated identity record found for presented assertion.'],
  [700027, 'Client assertion failed signature validation.'],
  [7000112, 'Application is disabled.'],
  [50057, 'User account is disabled.'],
];

function failureReasonOf(code: number): string {
  return FAILURES.find(([c]) => c === code)?.[1] ?? 'Other.';
}

/** Records the sign-in a token request caused (the emulator's token endpoint, #3's hook). */
export async function recordTokenSignIn(store: Store, logs: LogStore, ev: TokenEvent, now: Date): Promise<void> {
  const record = await store.read((s) => signInRecord(s, ev, now));
  await logs.append('signIns', [record]);
}

export interface GenerateOptions {
  count: number;
  days: number;
  failureRate: number;
  /** Limit to one blueprint (its appId) and its agents. */
  blueprintAppId?: string | undefined;
  now: Date;
  random?: () => number;
  /** Agent identity ids that never sign in, nor do their agent users (a fixture's stale agents). */
  exclude?: string[];
}

const CITIES = [
  { city: 'Redmond', state: 'Washington', countryOrRegion: 'US' },
  { city: 'Dublin', state: 'Dublin', countryOrRegion: 'IE' },
  { city: 'Amsterdam', state: 'Noord-Holland', countryOrRegion: 'NL' },
  { city: 'Singapore', state: 'Singapore', countryOrRegion: 'SG' },
];

/**
 * A realistic history: sign-ins spread over the last `days` days, by the blueprint principals,
 * agent identities and agent users the tenant holds (agents most, then agent users), each from
 * a couple of addresses of its own, with `failureRate` of them refused for a credential reason.
 * Throws when the tenant has nothing agentic to sign in.
 */
export function generateSignIns(state: TenantState, o: GenerateOptions): LogRecord[] {
  const rnd = o.random ?? Math.random;
  const wanted = o.blueprintAppId?.toLowerCase();
  const objects = live(state);
  const inScope = (bpAppId: unknown) => !wanted || String(bpAppId ?? '').toLowerCase() === wanted;
  const silent = new Set((o.exclude ?? []).map((x) => x.toLowerCase()));
  const agents = objects.filter((x) => x.type === 'agentIdentity' && inScope(x.props.agentIdentityBlueprintId) && !silent.has(x.id));
  const agentIds = new Set(agents.map((a) => a.id));
  const agentUsers = objects.filter((x) => x.type === 'agentUser' && agentIds.has(String(x.props.identityParentId ?? '')));
  const principals = objects.filter((x) => x.type === 'agentIdentityBlueprintPrincipal' && inScope(x.props.appId));
  const actors: { ev: Omit<TokenEvent, 'success' | 'time'>; weight: number; ips: string[]; city: (typeof CITIES)[number]; subject?: Subject }[] = [];
  let n = 0;
  const ipsFor = () => {
    n++;
    return [`20.${(n * 37) % 250}.${(n * 11) % 250}.${10 + (n % 200)}`, `52.${(n * 13) % 250}.${(n * 7) % 250}.${20 + (n % 180)}`];
  };
  for (const p of principals) actors.push({ ev: { appId: String(p.props.appId), servicePrincipalId: p.id, credentialType: 'federatedIdentityCredential' }, weight: 1, ips: ipsFor(), city: CITIES[n % CITIES.length]! });
  for (const a of agents) actors.push({ ev: { appId: a.id, servicePrincipalId: a.id, credentialType: 'federatedIdentityCredential' }, weight: 4, ips: ipsFor(), city: CITIES[n % CITIES.length]! });
  for (const u of agentUsers) actors.push({ ev: { appId: String(u.props.identityParentId), userId: u.id, credentialType: 'none' }, weight: 2, ips: ipsFor(), city: CITIES[n % CITIES.length]! });
  if (actors.length === 0) return [];
  // Who each actor is does not change between its sign-ins: work it out once, not per record.
  for (const a of actors) a.subject = subjectOf(state, a.ev);
  const total = actors.reduce((a, x) => a + x.weight, 0);
  const span = o.days * 24 * 3600 * 1000;
  const out: LogRecord[] = [];
  for (let i = 0; i < o.count; i++) {
    let pick = rnd() * total;
    let actor = actors[0]!;
    for (const x of actors) {
      pick -= x.weight;
      if (pick <= 0) {
        actor = x;
        break;
      }
    }
    const failed = rnd() < o.failureRate;
    const failure = FAILURES[Math.floor(rnd() * (actor.ev.userId ? FAILURES.length : FAILURES.length - 1))]!;
    // One sign-in in fifty comes from an address the agent has never used: what a responder hunts for.
    const ip = rnd() < 0.02 ? `185.${Math.floor(rnd() * 250)}.${Math.floor(rnd() * 250)}.${Math.floor(rnd() * 250)}` : actor.ips[Math.floor(rnd() * actor.ips.length)]!;
    const time = new Date(o.now.getTime() - Math.floor(rnd() * span));
    const rec = signInRecord(state, { ...actor.ev, success: !failed, ...(failed ? { errorCode: failure[0], failureReason: failure[1] } : {}), ipAddress: ip, time }, o.now, actor.subject);
    rec.location = { ...actor.city, geoCoordinates: null };
    out.push(rec);
  }
  return out;
}
