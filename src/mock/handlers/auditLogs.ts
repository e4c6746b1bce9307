import { createHash } from 'node:crypto';
import { GraphErrors } from '../errors.js';
import { contextUrl, type MockContext, type MockResult } from '../context.js';
import { compareEntries, lowerBound, type LogEntry, type LogKind, type LogRecord } from '../logs.js';
import { decodeSkiptoken, encodeSkiptoken, evaluateFilter, parseQuery, selectProperties, type CollectionSpec, type FilterNode } from '../odata.js';
import { nextLink } from './common.js';

// /auditLogs/signIns (GD beta api/signin-list.md, resources/signin.md) and
// /auditLogs/directoryAudits (GD v1.0 api/directoryaudit-list.md, resources/directoryaudit.md).
//
// Both lists are newest first; sign-in pages hold at most 1,000 rows (default and maximum);
// records past retention (logs.ts) are gone. A page is found by keyset, not offset: the
// skiptoken names the last row served (time and id), so paging through 200,000 sign-ins is one
// pass, and rows recorded meanwhile (newer, so before the cursor) never shift a page.

const PAGE_SIZE = 1000;

// Filterable properties and operators as the resource pages list them ("Supports $filter (…)").
export const SIGNIN_SPEC: CollectionSpec = {
  resource: 'signIn',
  filterable: {
    id: ['eq'],
    createdDateTime: ['eq', 'ge', 'le'],
    appId: ['eq'],
    appDisplayName: ['eq', 'startsWith'],
    userId: ['eq'],
    userPrincipalName: ['eq', 'startsWith'],
    userDisplayName: ['eq', 'startsWith'],
    servicePrincipalId: ['eq', 'startsWith'],
    ipAddress: ['eq', 'startsWith'],
    correlationId: ['eq'],
    clientAppUsed: ['eq'],
    conditionalAccessStatus: ['eq'],
    resourceId: ['eq'],
    resourceDisplayName: ['eq'],
    originalRequestId: ['eq'],
    tokenIssuerName: ['eq'],
    riskState: ['eq'],
    riskLevelAggregated: ['eq'],
    riskLevelDuringSignIn: ['eq'],
    authenticationRequirement: ['eq', 'startsWith'],
    userAgent: ['eq', 'startsWith'],
    'location/city': ['eq', 'startsWith'],
    'location/state': ['eq', 'startsWith'],
    'location/countryOrRegion': ['eq', 'startsWith'],
    'deviceDetail/browser': ['eq', 'startsWith'],
    'deviceDetail/operatingSystem': ['eq', 'startsWith'],
    // signin.md documents eq only on status/errorCode; `ne 0` (all failures) is what every
    // failure query uses and the service answers it [UNCONFIRMED in the docs].
    'status/errorCode': ['eq', 'ne'],
    // signin.md: "Supports $filter (eq, ne)", used as a lambda: signInEventTypes/any(t: t eq '…').
    signInEventTypes: ['any', 'eq', 'ne'],
    // ED sign-in-audit-logs-agents.md filters on agent/agentType; the other agent facet
    // properties are filtered the same way [INFERRED].
    'agent/agentType': ['eq'],
    'agent/agentSubjectType': ['eq'],
    'agent/parentAppId': ['eq'],
    'agent/agentSubjectParentId': ['eq'],
  },
  orderable: ['createdDateTime'],
  defaultPageSize: PAGE_SIZE,
  maxPageSize: PAGE_SIZE,
  advanced: false,
};

export const AUDIT_SPEC: CollectionSpec = {
  resource: 'directoryAudit',
  filterable: {
    id: ['eq'],
    activityDateTime: ['eq', 'ge', 'le'],
    activityDisplayName: ['eq', 'startsWith'],
    correlationId: ['eq'],
    loggedByService: ['eq'],
    'initiatedBy/user/id': ['eq'],
    'initiatedBy/user/displayName': ['eq'],
    'initiatedBy/user/userPrincipalName': ['eq', 'startsWith'],
    'initiatedBy/app/appId': ['eq'],
    'initiatedBy/app/displayName': ['eq'],
    'targetResources/id': ['any', 'eq'],
    'targetResources/displayName': ['any', 'eq', 'startsWith'],
  },
  orderable: ['activityDateTime'],
  // [INFERRED] directoryaudit-list.md names no page size; the reporting APIs share sign-ins' 1,000.
  defaultPageSize: PAGE_SIZE,
  maxPageSize: PAGE_SIZE,
  advanced: false,
};

// The full beta signIn, in the order of the official model (msgraph-beta-sdk serializeSignIn),
// with what the emulator never varies. Stored records override these.
const SIGNIN_DEFAULTS: Record<string, unknown> = {
  id: null,
  createdDateTime: null,
  agent: null,
  appDisplayName: null,
  appId: null,
  appliedConditionalAccessPolicies: [],
  appliedEventListeners: [],
  appOwnerTenantId: null,
  appTokenProtectionStatus: 'none',
  authenticationAppDeviceDetails: null,
  authenticationAppPolicyEvaluationDetails: [],
  authenticationContextClassReferences: [],
  authenticationDetails: [],
  authenticationMethodsUsed: [],
  authenticationProcessingDetails: [],
  authenticationProtocol: 'none',
  authenticationRequirement: 'singleFactorAuthentication',
  authenticationRequirementPolicies: [],
  autonomousSystemNumber: 8075,
  azureResourceId: null,
  clientAppUsed: null,
  clientCredentialType: 'none',
  clientSessionId: null,
  conditionalAccessAudiences: [],
  conditionalAccessStatus: 'notApplied',
  correlationId: null,
  crossTenantAccessType: 'none',
  deviceDetail: { browser: '', browserId: null, deviceId: '', displayName: '', isCompliant: false, isManaged: false, operatingSystem: '', trustType: '' },
  federatedCredentialId: null,
  flaggedForReview: false,
  globalSecureAccessIpAddress: null,
  homeTenantId: null,
  homeTenantName: '',
  incomingTokenType: 'none',
  ipAddress: null,
  ipAddressFromResourceProvider: null,
  isInteractive: false,
  isTenantRestricted: false,
  isThroughGlobalSecureAccess: false,
  location: { city: 'Redmond', state: 'Washington', countryOrRegion: 'US', geoCoordinates: null },
  managedServiceIdentity: null,
  mfaDetail: null,
  networkLocationDetails: [],
  originalRequestId: '',
  originalTransferMethod: 'none',
  privateLinkDetails: null,
  processingTimeInMilliseconds: 42,
  resourceDisplayName: null,
  resourceId: null,
  resourceOwnerTenantId: null,
  resourceServicePrincipalId: null,
  resourceTenantId: null,
  riskDetail: 'none',
  riskEventTypes_v2: [],
  riskLevelAggregated: 'none',
  riskLevelDuringSignIn: 'none',
  riskState: 'none',
  rootActorId: null,
  servicePrincipalCredentialKeyId: null,
  servicePrincipalCredentialThumbprint: '',
  servicePrincipalId: '',
  servicePrincipalName: null,
  sessionId: null,
  sessionLifetimePolicies: [],
  signInEventTypes: [],
  signInIdentifier: null,
  signInIdentifierType: null,
  signInTokenProtectionStatus: 'none',
  status: { errorCode: 0, failureReason: null, additionalDetails: null },
  tokenIssuerName: '',
  tokenIssuerType: 'AzureAD',
  tokenProtectionStatusDetails: null,
  uniqueTokenIdentifier: null,
  userAgent: null,
  userDisplayName: null,
  userId: '',
  userPrincipalName: null,
  userType: 'member',
};
SIGNIN_SPEC.properties = Object.keys(SIGNIN_DEFAULTS);
AUDIT_SPEC.properties = ['id', 'category', 'correlationId', 'result', 'resultReason', 'activityDisplayName', 'activityDateTime', 'loggedByService', 'operationType', 'initiatedBy', 'targetResources', 'additionalDetails', 'userAgent', 'performedBy'];

// Members declared after unknownFutureValue in microsoft.graph.agentic.agentType: without
// `Prefer: include-unknown-enum-members` Graph answers unknownFutureValue in their place
// (GD beta resources/agentic-agentsignin.md; best-practices-concept.md, evolvable enums).
const LATE_AGENT_TYPES = new Set(['agentIdentityBlueprintPrincipal', 'agentIDuser']);
const LATE_INCOMING_TOKEN_TYPES = new Set(['remoteDesktopToken', 'refreshToken']);
const LATE_CA_CONDITIONS = new Set(['servicePrincipals', 'servicePrincipalRisk', 'authenticationFlows', 'insiderRisk']);

function wantsUnknownMembers(ctx: MockContext): boolean {
  return /(^|[,;\s])include-unknown-enum-members($|[,;\s])/i.test(ctx.header('Prefer') ?? '');
}

export function signInView(record: LogRecord, version: 'v1.0' | 'beta', unknownMembers: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { ...SIGNIN_DEFAULTS, ...record };
  out.uniqueTokenIdentifier ??= Buffer.from(record.id).toString('base64url').slice(0, 32);
  out.originalRequestId = record.id;
  const agent = out.agent as Record<string, unknown> | null;
  if (agent && !unknownMembers) {
    out.agent = {
      ...agent,
      agentType: LATE_AGENT_TYPES.has(String(agent.agentType)) ? 'unknownFutureValue' : agent.agentType,
      agentSubjectType: LATE_AGENT_TYPES.has(String(agent.agentSubjectType)) ? 'unknownFutureValue' : agent.agentSubjectType,
    };
  }
  if (out.agent) out.agent = { '@odata.type': '#microsoft.graph.agentic.agentSignIn', ...(out.agent as object) };
  // incomingTokenType's remoteDesktopToken and refreshToken are late members too (GD beta
  // resources/signin.md), and a user's refresh-token sign-in has refreshToken.
  if (!unknownMembers && LATE_INCOMING_TOKEN_TYPES.has(String(out.incomingTokenType))) out.incomingTokenType = 'unknownFutureValue';
  // #13: appliedConditionalAccessPolicy.result's reportOnly* values are late members too (GD beta
  // resources/appliedconditionalaccesspolicy.md).
  // So are conditionalAccessConditions' servicePrincipals, servicePrincipalRisk, authenticationFlows
  // and insiderRisk (beta SDK ConditionalAccessConditionsObject), which agent policies report; the
  // enum is a flags enum, so each late member of the list reads unknownFutureValue [INFERRED].
  if (!unknownMembers && Array.isArray(out.appliedConditionalAccessPolicies)) {
    const flags = (v: unknown) => (typeof v === 'string' ? [...new Set(v.split(',').map((x) => (LATE_CA_CONDITIONS.has(x.trim()) ? 'unknownFutureValue' : x.trim())))].join(',') : v);
    const rules = (v: unknown) => (Array.isArray(v) ? v.map((r: Record<string, unknown>) => ({ ...r, conditionalAccessCondition: flags(r.conditionalAccessCondition) })) : v);
    out.appliedConditionalAccessPolicies = (out.appliedConditionalAccessPolicies as Record<string, unknown>[]).map((p) => ({
      ...p,
      result: String(p.result).startsWith('reportOnly') ? 'unknownFutureValue' : p.result,
      conditionsSatisfied: flags(p.conditionsSatisfied),
      conditionsNotSatisfied: flags(p.conditionsNotSatisfied),
      includeRulesSatisfied: rules(p.includeRulesSatisfied),
      excludeRulesSatisfied: rules(p.excludeRulesSatisfied),
    }));
  }
  if (version === 'v1.0') {
    // v1.0 signIn has neither the agent facet nor signInEventTypes (MD v1.0 type mappings).
    delete out.agent;
    delete out.signInEventTypes;
  }
  return out;
}

export function auditView(record: LogRecord, version: 'v1.0' | 'beta'): Record<string, unknown> {
  if (version === 'beta') {
    // beta's auditUserIdentity has no userType (msgraph-beta-sdk serializeAuditUserIdentity);
    // v1.0's list example shows it.
    const initiatedBy = record.initiatedBy as { user: Record<string, unknown> | null; app: unknown } | undefined;
    if (!initiatedBy?.user) return record;
    const { userType: _t, ...user } = initiatedBy.user;
    return { ...record, initiatedBy: { ...initiatedBy, user } };
  }
  const { userAgent: _ua, performedBy: _pb, ...v1 } = record;
  return v1;
}

export async function auditLogsRoute(ctx: MockContext): Promise<MockResult> {
  const [seg, id, ...more] = ctx.path.rest;
  if (!seg) throw GraphErrors.unknownSegment('auditLogs');
  if (more.length) throw GraphErrors.unknownSegment(more[0]!);
  const name = seg.toLowerCase();
  if (name !== 'signins' && name !== 'directoryaudits') throw GraphErrors.unknownSegment(seg);
  if (ctx.method !== 'GET') throw GraphErrors.methodNotAllowed();
  const kind: LogKind = name === 'signins' ? 'signIns' : 'directoryAudits';
  if (kind === 'signIns' && ctx.logs.tier === 'free') throw GraphErrors.premiumLicenseRequired();
  const unknownMembers = wantsUnknownMembers(ctx);
  const render = kind === 'signIns' ? (r: LogRecord) => signInView(r, ctx.version, unknownMembers) : (r: LogRecord) => auditView(r, ctx.version);
  const entries = await ctx.logs.entries(kind, ctx.now);
  if (id !== undefined) {
    const hit = entries.find((e) => e.record.id === id);
    if (!hit) throw GraphErrors.notFound(id);
    return { status: 200, body: { '@odata.context': contextUrl(ctx, `auditLogs/${kind}/$entity`), ...render(hit.record) } };
  }
  return listLog(ctx, kind, entries, render);
}

function listLog(ctx: MockContext, kind: LogKind, entries: readonly LogEntry[], render: (r: LogRecord) => Record<string, unknown>): MockResult {
  const spec = kind === 'signIns' ? SIGNIN_SPEC : AUDIT_SPEC;
  // The skiptoken is ours (a keyset cursor), so it is taken out before the generic parser,
  // which knows only offset tokens.
  const params = new URLSearchParams(ctx.url.searchParams);
  let token: string | undefined;
  for (const key of [...params.keys()]) {
    if (key.toLowerCase() === '$skiptoken') {
      token = params.get(key) ?? undefined;
      params.delete(key);
    }
  }
  const q = parseQuery(params, ctx.req.headers, ctx.version === 'v1.0' && kind === 'signIns' ? V1_SIGNIN_SPEC : spec);
  const ascending = q.orderby?.[0] ? !q.orderby[0].desc : false;
  const pageSize = Math.min(q.top ?? PAGE_SIZE, PAGE_SIZE);
  const hash = createHash('sha256')
    .update(JSON.stringify({ k: kind, f: q.filter ?? null, a: ascending }).toLowerCase())
    .digest('base64url')
    .slice(0, 12);

  // "This API returns only interactive sign-ins unless you set an explicit filter" (GD beta
  // resources/signin.md): without a signInEventTypes clause only interactiveUser rows match.
  const onlyInteractive = kind === 'signIns' && !(q.filter && mentions(q.filter, 'signInEventTypes'));
  const filter = q.filter;
  const matches = (e: LogEntry): boolean => {
    // A row without signInEventTypes (v1.0's shape, GD v1.0 signin-list.md) is interactive by isInteractive.
    const types = e.record.signInEventTypes as string[] | undefined;
    if (onlyInteractive && !(types ? types.includes('interactiveUser') : e.record.isInteractive === true)) return false;
    return !filter || evaluateFilter(filter, e.record);
  };

  let i: number;
  if (token !== undefined) {
    const state = decodeSkiptoken(token) as { t?: unknown; id?: unknown; h?: unknown };
    if (typeof state.t !== 'number' || typeof state.id !== 'string' || typeof state.h !== 'string') throw GraphErrors.invalidSkipToken();
    if (state.h !== hash) throw GraphErrors.expiredPageToken();
    const at = lowerBound(entries, state.t, state.id);
    const exact = entries[at] && compareEntries(entries[at]!, { t: state.t, record: { id: state.id } }) === 0;
    i = ascending ? (exact ? at + 1 : at) : at - 1;
  } else {
    i = ascending ? 0 : entries.length - 1;
  }
  const step = ascending ? 1 : -1;
  const page: LogEntry[] = [];
  for (; i >= 0 && i < entries.length && page.length < pageSize; i += step) {
    if (matches(entries[i]!)) page.push(entries[i]!);
  }
  // Look ahead for one more match, so the last page carries no nextLink.
  let more = false;
  if (page.length === pageSize) {
    for (let j = i; j >= 0 && j < entries.length; j += step) {
      if (matches(entries[j]!)) {
        more = true;
        break;
      }
    }
  }
  const select = q.select;
  const body: Record<string, unknown> = { '@odata.context': contextUrl(ctx, select ? `auditLogs/${kind}(${select.join(',')})` : `auditLogs/${kind}`) };
  if (more) {
    const last = page[page.length - 1]!;
    body['@odata.nextLink'] = nextLink(ctx, encodeSkiptoken({ t: last.t, id: last.record.id, h: hash }));
  }
  body.value = page.map((e) => (select ? selectProperties(render(e.record), select) : render(e.record)));
  return { status: 200, body };
}

const V1_SIGNIN_SPEC: CollectionSpec = {
  ...SIGNIN_SPEC,
  filterable: Object.fromEntries(Object.entries(SIGNIN_SPEC.filterable).filter(([k]) => k !== 'signInEventTypes' && !k.startsWith('agent/'))),
};

function mentions(node: FilterNode, property: string): boolean {
  switch (node.type) {
    case 'and':
    case 'or':
      return mentions(node.left, property) || mentions(node.right, property);
    case 'not':
      return mentions(node.operand, property);
    default:
      return node.ref.scope === 'item' && node.ref.path[0]?.toLowerCase() === property.toLowerCase();
  }
}
