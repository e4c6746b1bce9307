import { describe, expect, it } from 'vitest';
import { MockGraphError } from '../../src/mock/errors.js';
import {
  applyQuery,
  decodeSkiptoken,
  encodeSkiptoken,
  evaluateFilter,
  parseQuery,
  searchTokens,
  selectProperties,
  type CollectionSpec,
  type ParsedQuery,
} from '../../src/mock/odata.js';

// ---------------------------------------------------------------------------------------------
// Collections shaped like the emulator's: a directory collection (advanced-query rules), the beta
// sign-in log and the audit log (plain OData), and users (for Graph's observed error strings).

const SP_SPEC: CollectionSpec = {
  resource: 'servicePrincipal',
  filterable: {
    id: ['eq', 'in'],
    appId: ['eq', 'in', 'startsWith'],
    displayName: ['eq', 'startsWith', 'in'],
    description: ['eq', 'startsWith'],
    mail: ['eq', 'startsWith', 'endsWith'],
    accountEnabled: ['eq'],
    createdDateTime: ['eq', 'ge', 'le', 'gt', 'lt'],
    servicePrincipalNames: ['any'],
    tags: ['any', 'startsWith'],
    appOwnerOrganizationId: ['eq'],
  },
  searchable: ['displayName', 'description', 'appId'],
  orderable: ['displayName', 'createdDateTime'],
  defaultPageSize: 100,
  maxPageSize: 999,
  advanced: true,
  guidProperties: ['appOwnerOrganizationId'],
};

const SIGNIN_SPEC: CollectionSpec = {
  resource: 'signIn',
  filterable: {
    createdDateTime: ['eq', 'ge', 'le', 'gt', 'lt'],
    appId: ['eq'],
    'status/errorCode': ['eq'],
    signInEventTypes: ['any'],
    'agent/agentType': ['eq'],
    servicePrincipalId: ['eq', 'startsWith', 'endsWith'],
    userDisplayName: ['eq', 'ne', 'not'],
  },
  orderable: ['createdDateTime'],
  defaultPageSize: 1000,
  maxPageSize: 1000,
  advanced: false,
};

const AUDIT_SPEC: CollectionSpec = {
  resource: 'directoryAudit',
  filterable: {
    activityDisplayName: ['eq', 'startsWith'],
    'initiatedBy/user/userPrincipalName': ['eq', 'startsWith'],
    'initiatedBy/app/appId': ['eq'],
    'targetResources/id': ['any', 'eq'],
    'targetResources/displayName': ['any', 'eq', 'startsWith'],
  },
  defaultPageSize: 100,
  maxPageSize: 999,
  advanced: false,
};

const USER_SPEC: CollectionSpec = {
  resource: 'user',
  filterable: {
    jobTitle: ['eq', 'ge', 'le', 'startsWith'],
    accountEnabled: ['eq'],
    displayName: ['eq', 'startsWith'],
    userPrincipalName: ['eq', 'startsWith', 'endsWith'],
  },
  orderable: ['displayName', 'userPrincipalName', 'createdDateTime'],
  orderableByDefault: ['displayName', 'userPrincipalName'],
  defaultPageSize: 100,
  maxPageSize: 999,
  advanced: true,
  properties: ['id', 'displayName', 'userPrincipalName', 'jobTitle', 'accountEnabled', 'identityParentId'],
};

// Agent identities as /servicePrincipals returns them. Instants are chosen so that sorting the
// raw strings and sorting by instant give different orders (02 carries a +01:00 offset).
const AGENTS = [
  {
    '@odata.type': '#microsoft.graph.agentIdentity',
    id: '11111111-0000-4000-8000-000000000001',
    appId: '0a1b2c3d-0000-4000-8000-000000000001',
    displayName: 'Contoso Helpdesk Agent',
    description: 'Answers support tickets',
    createdDateTime: '2025-01-10T08:00:00Z',
    accountEnabled: true,
    mail: 'helpdesk@contoso.com',
    servicePrincipalNames: ['api://helpdesk'],
    tags: ['AgentIdentity', 'Helpdesk'],
    appOwnerOrganizationId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
  },
  {
    '@odata.type': '#microsoft.graph.agentIdentity',
    id: '11111111-0000-4000-8000-000000000002',
    appId: '9f8e7d6c-0000-4000-8000-000000000002',
    displayName: 'OneVideo Summariser',
    description: 'Summarises meeting recordings',
    createdDateTime: '2025-02-01T12:30:00+01:00',
    accountEnabled: false,
    mail: 'video@fabrikam.com',
    servicePrincipalNames: ['api://video'],
    tags: ['AgentIdentity'],
    appOwnerOrganizationId: 'ffffffff-bbbb-4ccc-8ddd-eeeeeeeeeeee',
  },
  {
    '@odata.type': '#microsoft.graph.agentIdentity',
    id: '11111111-0000-4000-8000-000000000003',
    appId: '0a1b2c3d-0000-4000-8000-000000000003',
    displayName: "O'Brien Expense Bot",
    description: null,
    createdDateTime: '2024-12-31T23:59:59Z',
    accountEnabled: true,
    mail: null,
    servicePrincipalNames: [],
    tags: [],
    appOwnerOrganizationId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
  },
  {
    '@odata.type': '#microsoft.graph.servicePrincipal',
    id: '11111111-0000-4000-8000-000000000004',
    appId: '5e5e5e5e-0000-4000-8000-000000000004',
    displayName: 'hello-world probe',
    description: 'Smoke test',
    createdDateTime: '2025-03-15T00:00:00.1234567Z',
    accountEnabled: true,
    mail: 'probe@contoso.com',
    servicePrincipalNames: ['api://probe', 'https://probe.contoso.com'],
    tags: ['Probe'],
    appOwnerOrganizationId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
  },
  {
    '@odata.type': '#microsoft.graph.agentIdentity',
    id: '11111111-0000-4000-8000-000000000005',
    appId: '0a1b2c3d-0000-4000-8000-000000000005',
    displayName: 'alpha test',
    description: 'Blueprint smoke test',
    createdDateTime: '2025-02-01T12:00:00Z',
    accountEnabled: true,
    mail: 'alpha@contoso.com',
    servicePrincipalNames: ['api://alpha'],
    tags: ['AgentIdentity'],
    appOwnerOrganizationId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
  },
];

// Beta sign-ins: agent fields as in GD beta resources/agentic-agentsignin.md.
const SIGN_INS = [
  {
    id: 's1',
    createdDateTime: '2026-05-01T10:00:00Z',
    appId: 'app-1',
    servicePrincipalId: 'sp-helpdesk-1',
    status: { errorCode: 0, failureReason: null },
    signInEventTypes: ['servicePrincipal'],
    agent: { agentType: 'agenticAppInstance', parentAppId: 'bp-1' },
    userDisplayName: null,
  },
  {
    id: 's2',
    createdDateTime: '2026-05-01T11:00:00Z',
    appId: 'app-2',
    servicePrincipalId: 'sp-video-2',
    status: { errorCode: 50126, failureReason: 'Invalid username or password.' },
    signInEventTypes: ['interactiveUser'],
    agent: { agentType: 'notAgentic' },
    userDisplayName: 'Adele Vance',
  },
  {
    id: 's3',
    createdDateTime: '2026-05-01T12:00:00Z',
    appId: 'app-1',
    servicePrincipalId: 'sp-helpdesk-3',
    status: { errorCode: 0 },
    signInEventTypes: ['nonInteractiveUser', 'servicePrincipal'],
    agent: { agentType: 'agenticApp' },
    userDisplayName: 'Megan Bowen',
  },
];

const AUDITS = [
  {
    id: 'd1',
    activityDisplayName: 'Add service principal',
    initiatedBy: { user: { id: 'u1', displayName: 'Megan Bowen', userPrincipalName: 'MeganB@contoso.com' }, app: null },
    targetResources: [{ id: 't-1', displayName: 'Helpdesk Agent', type: 'ServicePrincipal' }],
  },
  {
    id: 'd2',
    activityDisplayName: 'Update application',
    initiatedBy: { user: null, app: { appId: 'a365-cli', displayName: 'Agent 365 CLI' } },
    targetResources: [
      { id: 't-2', displayName: 'Helpdesk Blueprint', type: 'Application' },
      { id: 't-1', displayName: 'Helpdesk Agent', type: 'ServicePrincipal' },
    ],
  },
  {
    id: 'd3',
    activityDisplayName: 'Add user',
    initiatedBy: { user: { id: 'u2', displayName: 'Adele Vance', userPrincipalName: 'AdeleV@contoso.com' }, app: null },
    targetResources: [{ id: 't-3', displayName: 'Agent User 7', type: 'User' }],
  },
];

const EVENTUAL = { ConsistencyLevel: 'eventual' };

function parse(spec: CollectionSpec, options: Record<string, string> | [string, string][], headers: Record<string, string> = {}): ParsedQuery {
  const pairs = Array.isArray(options) ? options : Object.entries(options);
  return parseQuery(new URLSearchParams(pairs), new Headers(headers), spec);
}

function run<T extends Record<string, unknown>>(
  items: T[],
  spec: CollectionSpec,
  options: Record<string, string> | [string, string][],
  headers: Record<string, string> = {},
) {
  return applyQuery(items, parse(spec, options, headers), spec);
}

function ids(items: Record<string, unknown>[], spec: CollectionSpec, options: Record<string, string>, headers: Record<string, string> = {}): unknown[] {
  return run(items, spec, options, headers).page.map((i) => i.id);
}

/** Advanced queries on directory collections: header plus $count=true. */
function agentIds(filter: string): unknown[] {
  return ids(AGENTS, SP_SPEC, { $filter: filter, $count: 'true' }, EVENTUAL);
}

const last = (id: string) => id.slice(-1);

function graphError(fn: () => unknown): { status: number; code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof MockGraphError) return { status: e.status, code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a MockGraphError, but nothing was thrown');
}

// ---------------------------------------------------------------------------------------------

describe('$filter comparison operators', () => {
  it('matches eq on strings case-insensitively, as directory properties do', () => {
    expect(agentIds("displayName eq 'contoso HELPDESK agent'").map((i) => last(String(i)))).toEqual(['1']);
  });

  it('matches eq on booleans and nested numbers', () => {
    expect(agentIds('accountEnabled eq false').map((i) => last(String(i)))).toEqual(['2']);
    expect(ids(SIGN_INS, SIGNIN_SPEC, { $filter: 'status/errorCode eq 0' })).toEqual(['s1', 's3']);
  });

  it('matches ne, including objects where the property is null', () => {
    expect(agentIds("description ne 'Smoke test'").map((i) => last(String(i)))).toEqual(['1', '2', '3', '5']);
    expect(agentIds('description ne null').map((i) => last(String(i)))).toEqual(['1', '2', '4', '5']);
  });

  it('matches eq null only where the property is null or absent', () => {
    expect(agentIds('description eq null').map((i) => last(String(i)))).toEqual(['3']);
  });

  it('compares datetimes by instant, not by their text', () => {
    // 02 is 12:30+01:00, the same instant as 11:30Z.
    expect(agentIds('createdDateTime eq 2025-02-01T11:30:00Z').map((i) => last(String(i)))).toEqual(['2']);
    expect(agentIds('createdDateTime gt 2025-02-01T11:30:00Z').map((i) => last(String(i)))).toEqual(['4', '5']);
    expect(agentIds('createdDateTime ge 2025-02-01T11:30:00Z').map((i) => last(String(i)))).toEqual(['2', '4', '5']);
    expect(agentIds('createdDateTime le 2025-02-01T11:30:00Z').map((i) => last(String(i)))).toEqual(['1', '2', '3']);
    expect(agentIds('createdDateTime lt 2025-01-10T08:00:00Z').map((i) => last(String(i)))).toEqual(['3']);
  });

  it('accepts unquoted date-only and offset datetime literals', () => {
    expect(agentIds('createdDateTime lt 2025-01-01').map((i) => last(String(i)))).toEqual(['3']);
    expect(agentIds('createdDateTime eq 2025-03-15T01:00:00.123+01:00').map((i) => last(String(i)))).toEqual(['4']);
  });

  it('matches in against any listed value, and allows in wherever eq is allowed', () => {
    const filter = "displayName in ('alpha TEST', 'OneVideo Summariser', 'nobody')";
    expect(agentIds(filter).map((i) => last(String(i)))).toEqual(['2', '5']);
    expect(ids(SIGN_INS, SIGNIN_SPEC, { $filter: "appId in ('app-2')" })).toEqual(['s2']);
  });

  it('unescapes doubled single quotes in string literals', () => {
    expect(agentIds("displayName eq 'O''Brien Expense Bot'").map((i) => last(String(i)))).toEqual(['3']);
  });

  it('matches property names case-insensitively', () => {
    expect(agentIds("DISPLAYNAME eq 'alpha test'").map((i) => last(String(i)))).toEqual(['5']);
    expect(ids(SIGN_INS, SIGNIN_SPEC, { $filter: 'Status/ErrorCode eq 50126' })).toEqual(['s2']);
  });

  it('accepts an unquoted GUID for an Edm.Guid property', () => {
    expect(agentIds('appOwnerOrganizationId eq FFFFFFFF-bbbb-4ccc-8ddd-eeeeeeeeeeee').map((i) => last(String(i)))).toEqual(['2']);
  });
});

describe('$filter functions', () => {
  it('matches startsWith case-insensitively under any spelling of the function name', () => {
    for (const fn of ['startsWith', 'startswith', 'STARTSWITH']) {
      expect(agentIds(`${fn}(displayName,'CONTOSO')`).map((i) => last(String(i)))).toEqual(['1']);
    }
  });

  it('matches endsWith with advanced query parameters', () => {
    expect(agentIds("endswith(mail,'@CONTOSO.com')").map((i) => last(String(i)))).toEqual(['1', '4', '5']);
  });

  it('negates a function compared with eq false', () => {
    expect(agentIds("startswith(displayName,'o') eq false").map((i) => last(String(i)))).toEqual(['1', '4', '5']);
  });
});

describe('$filter logical operators and precedence', () => {
  it('binds and tighter than or', () => {
    const loose = "displayName eq 'alpha test' or accountEnabled eq true and startswith(displayName,'hello')";
    const grouped = "(displayName eq 'alpha test' or accountEnabled eq true) and startswith(displayName,'hello')";
    expect(agentIds(loose).map((i) => last(String(i)))).toEqual(['4', '5']);
    expect(agentIds(grouped).map((i) => last(String(i)))).toEqual(['4']);
    // and on the left: (false-and-nothing) or 5, not false-and-(nothing or 5).
    expect(agentIds("accountEnabled eq false and displayName eq 'x' or displayName eq 'alpha test'").map((i) => last(String(i)))).toEqual(['5']);
  });

  it('binds not tighter than and', () => {
    expect(agentIds("not startswith(displayName,'o') and accountEnabled eq true").map((i) => last(String(i)))).toEqual(['1', '4', '5']);
    expect(agentIds("not (startswith(displayName,'o') and accountEnabled eq true)").map((i) => last(String(i)))).toEqual(['1', '2', '4', '5']);
  });

  it('accepts upper-case keywords as Graph examples write them', () => {
    expect(agentIds("NOT(displayName eq 'alpha test') AND accountEnabled eq false").map((i) => last(String(i)))).toEqual(['2']);
    expect(agentIds("displayName eq 'alpha test' OR accountEnabled eq false").map((i) => last(String(i)))).toEqual(['2', '5']);
  });
});

describe('$filter lambdas and property paths', () => {
  it('filters a primitive collection with any(t: t eq …)', () => {
    expect(ids(SIGN_INS, SIGNIN_SPEC, { $filter: "signInEventTypes/any(t: t eq 'servicePrincipal')" })).toEqual(['s1', 's3']);
  });

  it('combines a lambda with a nested path as the Entra agent sign-in example does', () => {
    const filter = "signInEventTypes/any(t: t eq 'servicePrincipal') and agent/agentType eq 'agenticAppInstance'";
    expect(ids(SIGN_INS, SIGNIN_SPEC, { $filter: filter })).toEqual(['s1']);
  });

  it('filters a complex collection on a member property', () => {
    expect(ids(AUDITS, AUDIT_SPEC, { $filter: "targetResources/any(t: t/id eq 't-1')" })).toEqual(['d1', 'd2']);
    expect(ids(AUDITS, AUDIT_SPEC, { $filter: "targetResources/any(t:startswith(t/displayName,'helpdesk b'))" })).toEqual(['d2']);
  });

  it('filters on deep paths and skips objects whose intermediate value is null', () => {
    expect(ids(AUDITS, AUDIT_SPEC, { $filter: "startswith(initiatedBy/user/userPrincipalName,'adele')" })).toEqual(['d3']);
    expect(ids(AUDITS, AUDIT_SPEC, { $filter: "initiatedBy/app/appId eq 'a365-cli'" })).toEqual(['d2']);
  });

  it('evaluates a parsed filter against a single object', () => {
    const q = parse(SP_SPEC, { $filter: "tags/any(t: startswith(t,'help'))" });
    expect(q.filter).toBeDefined();
    expect(evaluateFilter(q.filter!, AGENTS[0]!)).toBe(true);
    expect(evaluateFilter(q.filter!, AGENTS[1]!)).toBe(false);
    expect(evaluateFilter(q.filter!, { tags: null })).toBe(false);
  });

  it('treats any() with no predicate as "collection not empty"', () => {
    expect(ids(AGENTS, SP_SPEC, { $filter: 'servicePrincipalNames/any()' }).map((i) => last(String(i)))).toEqual(['1', '2', '4', '5']);
  });
});

describe('$filter errors', () => {
  it('reports a syntax error just past the offending token, as Graph does', () => {
    // The exact body quoted in microsoft-graph-explorer-v4#3227.
    expect(graphError(() => parse(USER_SPEC, { $filter: "jobtitle ge '!' , accountenabled eq true" }, EVENTUAL))).toEqual({
      status: 400,
      code: 'BadRequest',
      message: "Invalid filter clause: Syntax error at position 17 in 'jobtitle ge '!' , accountenabled eq true'.",
    });
    expect(graphError(() => parse(USER_SPEC, { $filter: 'iswhatever 12' })).message).toBe(
      "Invalid filter clause: Syntax error at position 13 in 'iswhatever 12'.",
    );
  });

  it('reports a truncated filter at the end of the text', () => {
    expect(graphError(() => parse(SP_SPEC, { $filter: 'displayName eq' })).message).toBe(
      "Invalid filter clause: Syntax error at position 14 in 'displayName eq'.",
    );
  });

  it('rejects a character outside the grammar, such as a still-encoded quote', () => {
    expect(graphError(() => parse(USER_SPEC, { $filter: 'startswith(displayName,%27Kamolika%27)' }))).toEqual({
      status: 400,
      code: 'BadRequest',
      message: "Invalid filter clause: Syntax error: character '%' is not valid at position 23 in 'startswith(displayName,%27Kamolika%27)'.",
    });
  });

  it('rejects an unterminated string literal', () => {
    expect(graphError(() => parse(SP_SPEC, { $filter: "displayName eq 'abc" }))).toEqual({
      status: 400,
      code: 'BadRequest',
      message: "Invalid filter clause: There is an unterminated string literal at position 15 in 'displayName eq 'abc'.",
    });
  });

  it('rejects an unknown function', () => {
    expect(graphError(() => parse(SP_SPEC, { $filter: "substringof('a',displayName)" }))).toEqual({
      status: 400,
      code: 'BadRequest',
      message:
        "Invalid filter clause: An unknown function with name 'substringof' was found. This may also be a function import or a key lookup on a navigation property, which is not allowed.",
    });
  });

  it('rejects a function whose argument is not a string', () => {
    expect(graphError(() => parse(SP_SPEC, { $filter: 'startswith(displayName,1)' })).message).toBe(
      "Invalid filter clause: No function signature for the function with name 'startswith' matches the specified arguments. The function signatures considered are: startswith(Edm.String Nullable=true, Edm.String Nullable=true).",
    );
  });

  it('rejects an unquoted GUID against a string property such as id', () => {
    expect(graphError(() => parse(SP_SPEC, { $filter: 'id eq 11111111-0000-4000-8000-000000000001' }))).toEqual({
      status: 400,
      code: 'BadRequest',
      message:
        "Invalid filter clause: A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Guid' for operator kind 'Equal'.",
    });
  });

  it('rejects a quoted GUID against an Edm.Guid property', () => {
    expect(graphError(() => parse(SP_SPEC, { $filter: "appOwnerOrganizationId eq 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee'" })).message).toBe(
      "Invalid filter clause: A binary operator with incompatible types was detected. Found operand types 'Edm.Guid' and 'Edm.String' for operator kind 'Equal'.",
    );
  });

  it('rejects a property the collection cannot filter on, naming the resource as Graph does', () => {
    expect(graphError(() => parse(SP_SPEC, { $filter: 'appRoleAssignmentRequired eq true' }))).toEqual({
      status: 400,
      code: 'Request_UnsupportedQuery',
      message: "Unsupported or invalid query filter clause specified for property 'appRoleAssignmentRequired' of resource 'ServicePrincipal'.",
    });
  });

  it('rejects an operator the property does not support, even with advanced query parameters', () => {
    expect(graphError(() => parse(SP_SPEC, { $filter: "displayName gt 'a'", $count: 'true' }, EVENTUAL))).toEqual({
      status: 400,
      code: 'Request_UnsupportedQuery',
      message: "Unsupported or invalid query filter clause specified for property 'displayName' of resource 'ServicePrincipal'.",
    });
    expect(graphError(() => parse(SP_SPEC, { $filter: "endswith(displayName,'bot')", $count: 'true' }, EVENTUAL)).code).toBe(
      'Request_UnsupportedQuery',
    );
  });

  it('rejects contains and the all lambda, which directory filters do not support', () => {
    expect(graphError(() => parse(SP_SPEC, { $filter: "contains(displayName,'bot')" })).message).toBe(
      "Unsupported or invalid query filter clause specified for property 'displayName' of resource 'ServicePrincipal'.",
    );
    expect(graphError(() => parse(SP_SPEC, { $filter: "tags/all(t: t eq 'x')" })).message).toBe(
      "Unsupported or invalid query filter clause specified for property 'tags' of resource 'ServicePrincipal'.",
    );
  });

  it('rejects a lambda over a property not filterable as a collection', () => {
    expect(graphError(() => parse(SP_SPEC, { $filter: 'keyCredentials/any(k:k/endDateTime le 2021-01-02T12:00:00Z)' }))).toEqual({
      status: 400,
      code: 'Request_UnsupportedQuery',
      message: 'Complex query on property keyCredentials is not supported.',
    });
  });

  it('rejects a lambda-only member path used outside a lambda', () => {
    expect(graphError(() => parse(AUDIT_SPEC, { $filter: "targetResources/id eq 't-1'" })).code).toBe('Request_UnsupportedQuery');
  });

  it('rejects inner lambda operators the collection does not list', () => {
    expect(graphError(() => parse(SIGNIN_SPEC, { $filter: "signInEventTypes/any(t: startswith(t,'service'))" })).message).toBe(
      "Unsupported or invalid query filter clause specified for property 'signInEventTypes' of resource 'SignIn'.",
    );
  });
});

describe('advanced query rules on directory collections', () => {
  it('rejects ne without ConsistencyLevel eventual', () => {
    expect(graphError(() => parse(SP_SPEC, { $filter: "displayName ne 'x'", $count: 'true' }))).toEqual({
      status: 400,
      code: 'Request_UnsupportedQuery',
      message: "Filter operator 'NotEqualsMatch' is not supported.",
    });
  });

  it('rejects ne with the header but without $count=true', () => {
    expect(graphError(() => parse(SP_SPEC, { $filter: "displayName ne 'x'" }, EVENTUAL)).message).toBe(
      "Filter operator 'NotEqualsMatch' is not supported.",
    );
  });

  it('rejects not without advanced query parameters', () => {
    expect(graphError(() => parse(SP_SPEC, { $filter: "not(displayName eq 'x')" }))).toEqual({
      status: 400,
      code: 'Request_UnsupportedQuery',
      message:
        "Operator 'not' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information",
    });
  });

  it('rejects endsWith without advanced query parameters with the documented message', () => {
    expect(graphError(() => parse(USER_SPEC, { $filter: "endsWith(userPrincipalName,'#EXT#@contoso.com')" }))).toEqual({
      status: 400,
      code: 'Request_UnsupportedQuery',
      message:
        "Operator 'endsWith' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information",
    });
  });

  it('lets non-directory collections use ne, not and endsWith when listed, without the header', () => {
    expect(ids(SIGN_INS, SIGNIN_SPEC, { $filter: "userDisplayName ne 'Adele Vance'" })).toEqual(['s1', 's3']);
    expect(ids(SIGN_INS, SIGNIN_SPEC, { $filter: "not(userDisplayName eq 'Megan Bowen')" })).toEqual(['s1', 's2']);
    expect(ids(SIGN_INS, SIGNIN_SPEC, { $filter: "endswith(servicePrincipalId,'-3')" })).toEqual(['s3']);
  });

  it('refuses ne on a non-directory property that does not list it', () => {
    expect(graphError(() => parse(SIGNIN_SPEC, { $filter: "appId ne 'app-1'" })).message).toBe(
      "Unsupported or invalid query filter clause specified for property 'appId' of resource 'SignIn'.",
    );
  });

  it('rejects $filter with $orderby without advanced query parameters', () => {
    const options = { $filter: "startswith(displayName,'a')", $count: 'true', $top: '1', $orderby: 'displayName' };
    expect(graphError(() => parse(SP_SPEC, options))).toEqual({
      status: 400,
      code: 'Request_UnsupportedQuery',
      message: 'Sorting not supported for current query.',
    });
    expect(parse(SP_SPEC, options, EVENTUAL).orderby).toEqual([{ path: 'displayName', desc: false }]);
  });

  it('rejects $orderby on a property sortable only in advanced queries', () => {
    expect(graphError(() => parse(USER_SPEC, { $orderby: 'createdDateTime desc' }))).toEqual({
      status: 400,
      code: 'Request_UnsupportedQuery',
      message: "Unsupported sort property 'createdDateTime' for 'User'.",
    });
    expect(graphError(() => parse(SP_SPEC, { $orderby: 'displayName' })).message).toBe(
      "Unsupported sort property 'displayName' for 'ServicePrincipal'.",
    );
  });

  it('sorts by a default-sortable property without advanced query parameters', () => {
    expect(parse(USER_SPEC, { $orderby: 'userPrincipalName desc' }).orderby).toEqual([{ path: 'userPrincipalName', desc: true }]);
  });

  it('rejects $search without ConsistencyLevel eventual but does not require $count', () => {
    expect(graphError(() => parse(SP_SPEC, { $search: '"displayName:helpdesk"', $count: 'true' }))).toEqual({
      status: 400,
      code: 'Request_UnsupportedQuery',
      message: "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
    });
    expect(ids(AGENTS, SP_SPEC, { $search: '"displayName:helpdesk"' }, EVENTUAL).map((i) => last(String(i)))).toEqual(['1']);
  });
});

describe('$search', () => {
  const search = (expr: string) => ids(AGENTS, SP_SPEC, { $search: expr }, EVENTUAL).map((i) => last(String(i)));

  it('splits camel case and matches word prefixes in any order', () => {
    expect(search('"displayName:OneVideo"')).toEqual(['2']);
    expect(search('"displayName:summ one"')).toEqual(['2']);
    expect(search('"displayName:agent contoso"')).toEqual(['1']);
    expect(search('"displayName:video one drive"')).toEqual([]);
  });

  it('does not do contains matching inside a word', () => {
    expect(search('"displayName:elpdesk"')).toEqual([]);
  });

  it('matches words joined by symbols as one word', () => {
    expect(search('"displayName:helloworld"')).toEqual(['4']);
    expect(search('"displayName:world"')).toEqual(['4']);
  });

  it('matches other properties by startsWith on the whole value', () => {
    expect(search('"appId:0a1b2c3d"')).toEqual(['1', '3', '5']);
    expect(search('"appId:0000-4000"')).toEqual([]);
  });

  it('combines clauses with AND by default, OR when written, and parentheses', () => {
    expect(search('"displayName:smoke" OR "description:smoke"')).toEqual(['4', '5']);
    expect(search('"description:smoke" "displayName:alpha"')).toEqual(['5']);
    expect(search('"description:smoke" AND ("displayName:alpha" OR "displayName:hello")')).toEqual(['4', '5']);
  });

  it('unescapes quotes and backslashes inside a clause', () => {
    const items = [{ id: 'exact', appId: 'a"b\\c' }, { id: 'other', appId: 'a"bc' }];
    expect(ids(items, SP_SPEC, { $search: '"appId:a\\"b\\\\c"' }, EVENTUAL)).toEqual(['exact']);
    expect(search('"displayName:O\'Brien"')).toEqual(['3']);
  });

  it('tokenises as the Graph documentation describes', () => {
    expect(searchTokens('HelloWORld', false)).toEqual(['hello', 'world']);
    expect(searchTokens('HELLOworld', false)).toEqual(['helloworld']);
    expect(searchTokens('hello123world', false)).toEqual(['hello', '123', 'world']);
    expect(searchTokens('hello.world', true)).toEqual(['hello', 'world', 'helloworld']);
    expect(searchTokens('李四(David Li)', false)).toEqual(['李四', 'david', 'li']);
  });

  it('rejects a property that cannot be searched', () => {
    expect(graphError(() => parse(SP_SPEC, { $search: '"mail:helpdesk"' }, EVENTUAL))).toEqual({
      status: 400,
      code: 'Request_UnsupportedQuery',
      message: "Unsupported or invalid query filter clause specified for property 'mail' of resource 'ServicePrincipal'.",
    });
  });

  it('rejects lower-case operators and unquoted clauses', () => {
    expect(graphError(() => parse(SP_SPEC, { $search: '"displayName:a" or "displayName:b"' }, EVENTUAL))).toEqual({
      status: 400,
      code: 'BadRequest',
      message: 'Invalid search clause: Syntax error at position 18 in \'"displayName:a" or "displayName:b"\'.',
    });
    expect(graphError(() => parse(SP_SPEC, { $search: 'displayName:a' }, EVENTUAL)).code).toBe('BadRequest');
    expect(graphError(() => parse(SP_SPEC, { $search: '"helpdesk"' }, EVENTUAL)).code).toBe('BadRequest');
  });
});

describe('$top and page size', () => {
  it('rejects a page size outside 1..999 on directory collections', () => {
    expect(graphError(() => parse(SP_SPEC, { $top: '1000' }))).toEqual({
      status: 400,
      code: 'Request_UnsupportedQuery',
      message: "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.",
    });
    expect(graphError(() => parse(SP_SPEC, { $top: '0' })).message).toBe("Invalid page size specified: '0'. Must be between 1 and 999 inclusive.");
  });

  it('rejects a $top that is not a non-negative integer', () => {
    for (const bad of ['abc', '-1', '1.5', '']) {
      expect(graphError(() => parse(SP_SPEC, { $top: bad }))).toEqual({
        status: 400,
        code: 'BadRequest',
        message: `Invalid value '${bad}' for $top query option found. The $top query option requires a non-negative integer value.`,
      });
    }
  });

  it('accepts up to the collection maximum on sign-ins', () => {
    expect(parse(SIGNIN_SPEC, { $top: '1000' }).top).toBe(1000);
    expect(graphError(() => parse(SIGNIN_SPEC, { $top: '1001' })).message).toBe(
      "Invalid page size specified: '1001'. Must be between 1 and 1000 inclusive.",
    );
  });

  it('caps the page at the collection maximum when $top may exceed it', () => {
    const spec: CollectionSpec = { ...SP_SPEC, maxPageSize: 100, topLimit: 999 };
    const items = Array.from({ length: 150 }, (_, i) => ({ id: `x${i}` }));
    expect(run(items, spec, { $top: '500' }).page).toHaveLength(100);
    expect(run(items, spec, { $top: '7' }).page).toHaveLength(7);
    expect(run(items, spec, {}).page).toHaveLength(100);
  });
});

describe('$select', () => {
  it('keeps selected properties case-insensitively and always keeps @odata.type', () => {
    const q = parse(SP_SPEC, { $select: 'DISPLAYNAME, appid' });
    expect(q.select).toEqual(['DISPLAYNAME', 'appid']);
    expect(selectProperties(AGENTS[0]!, q.select)).toEqual({
      '@odata.type': '#microsoft.graph.agentIdentity',
      appId: '0a1b2c3d-0000-4000-8000-000000000001',
      displayName: 'Contoso Helpdesk Agent',
    });
  });

  it('returns a copy of every property without $select or with *', () => {
    const copy = selectProperties(AGENTS[1]!, undefined);
    expect(copy).toEqual(AGENTS[1]);
    expect(copy).not.toBe(AGENTS[1]);
    expect(selectProperties(AGENTS[1]!, ['*'])).toEqual(AGENTS[1]);
  });

  it('ignores unknown properties when the collection declares no property list', () => {
    expect(selectProperties(AGENTS[0]!, parse(SP_SPEC, { $select: 'id,nonsense' }).select)).toEqual({
      '@odata.type': '#microsoft.graph.agentIdentity',
      id: '11111111-0000-4000-8000-000000000001',
    });
  });

  it('rejects an unknown property when the collection declares its properties', () => {
    expect(graphError(() => parse(USER_SPEC, { $select: 'displayName,wellKnownName' }))).toEqual({
      status: 400,
      code: 'BadRequest',
      message: "Parsing OData Select and Expand failed: Could not find a property named 'wellKnownName' on type 'microsoft.graph.user'.",
    });
    expect(parse(USER_SPEC, { $select: 'IdentityParentId' }).select).toEqual(['IdentityParentId']);
  });

  it('rejects @odata.type as a $select term', () => {
    expect(graphError(() => parse(SP_SPEC, { $select: 'id,@odata.type' }))).toEqual({
      status: 400,
      code: 'BadRequest',
      message: "Parsing OData Select and Expand failed: Term '@odata.type' is not valid in a $select or $expand expression.",
    });
  });
});

describe('$orderby', () => {
  const ordered = (orderby: string) =>
    ids(AGENTS, SP_SPEC, { $orderby: orderby, $count: 'true' }, EVENTUAL).map((i) => last(String(i)));

  it('sorts strings case-insensitively, ascending by default', () => {
    expect(ordered('displayName')).toEqual(['5', '1', '4', '3', '2']);
    expect(ordered('displayName desc')).toEqual(['2', '3', '4', '1', '5']);
  });

  it('sorts datetimes by instant', () => {
    expect(ordered('createdDateTime desc')).toEqual(['4', '5', '2', '1', '3']);
    expect(ordered('createdDateTime ASC')).toEqual(['3', '1', '2', '5', '4']);
  });

  it('puts nulls first ascending and keeps ties in their original order', () => {
    const items = [
      { id: 'a', displayName: 'same', createdDateTime: null },
      { id: 'b', displayName: 'Same', createdDateTime: '2025-01-01T00:00:00Z' },
      { id: 'c', displayName: null, createdDateTime: '2024-01-01T00:00:00Z' },
      { id: 'd', displayName: 'same', createdDateTime: '2024-01-01T00:00:00Z' },
    ];
    expect(ids(items, SP_SPEC, { $orderby: 'displayName', $count: 'true' }, EVENTUAL)).toEqual(['c', 'a', 'b', 'd']);
    expect(ids(items, SP_SPEC, { $orderby: 'displayName,createdDateTime desc', $count: 'true' }, EVENTUAL)).toEqual(['c', 'b', 'd', 'a']);
  });

  it('rejects a property the collection cannot sort on', () => {
    expect(graphError(() => parse(SP_SPEC, { $orderby: 'appId', $count: 'true' }, EVENTUAL))).toEqual({
      status: 400,
      code: 'Request_UnsupportedQuery',
      message: 'An unsupported property was specified.',
    });
  });

  it('rejects a malformed $orderby', () => {
    expect(graphError(() => parse(SIGNIN_SPEC, { $orderby: 'createdDateTime up' }))).toEqual({
      status: 400,
      code: 'BadRequest',
      message: "Syntax error at position 18 in 'createdDateTime up'.",
    });
  });

  it('sorts non-directory collections without advanced query parameters', () => {
    expect(ids(SIGN_INS, SIGNIN_SPEC, { $orderby: 'createdDateTime desc' })).toEqual(['s3', 's2', 's1']);
  });
});

describe('query option handling', () => {
  it('parses $expand into top-level items, keeping nested options intact', () => {
    expect(parse(SP_SPEC, { $expand: 'owners, manager($select=id,displayName),sponsors' }).expand).toEqual([
      'owners',
      'manager($select=id,displayName)',
      'sponsors',
    ]);
  });

  it('rejects an unknown $ query option', () => {
    expect(graphError(() => parse(SP_SPEC, { $foo: 'bar' }))).toEqual({
      status: 400,
      code: 'Request_BadRequest',
      message: "Unrecognized query argument specified: '$foo'.",
    });
  });

  it('rejects $skip on directory collections', () => {
    expect(graphError(() => parse(SP_SPEC, { $top: '1', $skip: '1' }))).toEqual({
      status: 400,
      code: 'Request_BadRequest',
      message: "'$skip' is not supported by the service.",
    });
  });

  it('ignores parameters without a $ prefix', () => {
    expect(parse(SP_SPEC, { foo: 'bar', select: 'id' })).toEqual({ count: false, consistencyEventual: false });
  });

  it('matches option names case-insensitively', () => {
    const q = parse(SP_SPEC, { $Filter: "displayName eq 'alpha test'", $orderBy: 'displayName', $COUNT: 'true' }, { consistencylevel: 'Eventual' });
    expect(q.consistencyEventual).toBe(true);
    expect(q.count).toBe(true);
    expect(applyQuery(AGENTS, q, SP_SPEC).page.map((a) => a.id)).toEqual(['11111111-0000-4000-8000-000000000005']);
  });

  it('rejects an option given twice', () => {
    expect(graphError(() => parse(SP_SPEC, [['$top', '1'], ['$TOP', '2']]))).toEqual({
      status: 400,
      code: 'BadRequest',
      message: "Query option '$top' was specified more than once, but it must be specified at most once.",
    });
  });

  it('rejects a $count that is neither true nor false', () => {
    expect(graphError(() => parse(SP_SPEC, { $count: 'yes' }))).toEqual({
      status: 400,
      code: 'BadRequest',
      message: "Invalid value 'yes' for $count query option found. Valid values are 'true' and 'false'.",
    });
  });
});

describe('paging and $count', () => {
  const many = Array.from({ length: 250 }, (_, i) => ({
    id: `obj-${String(i).padStart(3, '0')}`,
    displayName: `Agent ${i}`,
    accountEnabled: i % 2 === 0,
  }));

  function allPages(spec: CollectionSpec, options: Record<string, string>, headers: Record<string, string> = {}) {
    const pages: { ids: unknown[]; count?: number; token?: string }[] = [];
    let token: string | undefined;
    do {
      const opts = token ? { ...options, $skiptoken: token } : options;
      const r = run(many, spec, opts, headers);
      pages.push({ ids: r.page.map((i) => i.id), count: r.count, token: r.nextSkiptoken });
      token = r.nextSkiptoken;
    } while (token && pages.length < 10);
    return pages;
  }

  it('pages 250 objects in pages of 100 without losing or repeating any', () => {
    const pages = allPages(SP_SPEC, {});
    expect(pages.map((p) => p.ids.length)).toEqual([100, 100, 50]);
    expect(pages[2]!.token).toBeUndefined();
    const seen = pages.flatMap((p) => p.ids);
    expect(seen).toEqual(many.map((m) => m.id));
    expect(new Set(seen).size).toBe(250);
  });

  it('pages a filtered result with $top', () => {
    const pages = allPages(SP_SPEC, { $filter: 'accountEnabled eq true', $top: '40' });
    expect(pages.map((p) => p.ids.length)).toEqual([40, 40, 40, 5]);
    expect(pages.flatMap((p) => p.ids)).toEqual(many.filter((m) => m.accountEnabled).map((m) => m.id));
  });

  it('returns @odata.count of all matches on the first page only, with advanced query parameters', () => {
    const pages = allPages(SP_SPEC, { $count: 'true', $filter: 'accountEnabled eq false' }, EVENTUAL);
    expect(pages.map((p) => p.count)).toEqual([125, undefined]);
  });

  it('silently ignores $count=true without ConsistencyLevel on directory collections', () => {
    const r = run(many, SP_SPEC, { $count: 'true' });
    expect(r.count).toBeUndefined();
    expect(r.page).toHaveLength(100);
  });

  it('returns no count unless $count=true was asked for', () => {
    expect(run(many, SP_SPEC, {}, EVENTUAL).count).toBeUndefined();
  });

  it('counts on non-directory collections without the header', () => {
    expect(run(SIGN_INS, SIGNIN_SPEC, { $count: 'true', $filter: 'status/errorCode eq 0' }).count).toBe(2);
  });

  it('stops paging past the end with an empty page', () => {
    const token = encodeSkiptoken({ ...decodeSkiptoken(run(many, SP_SPEC, {}).nextSkiptoken!), o: 400 });
    const r = run(many, SP_SPEC, { $skiptoken: token });
    expect(r.page).toEqual([]);
    expect(r.nextSkiptoken).toBeUndefined();
  });

  it('makes opaque, deterministic tokens', () => {
    const a = run(many, SP_SPEC, { $filter: "startswith(displayName,'agent 1')" }).nextSkiptoken;
    const b = run(many, SP_SPEC, { $filter: "startswith(displayName,'agent 1')" }).nextSkiptoken;
    expect(a).toBeDefined();
    expect(a).toBe(b);
    expect(a).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeSkiptoken(a!)).toMatchObject({ o: 100 });
  });

  it('accepts a token with the same query spelled in another case', () => {
    const token = run(many, SP_SPEC, { $filter: 'accountEnabled eq true' }).nextSkiptoken!;
    expect(run(many, SP_SPEC, { $filter: 'ACCOUNTENABLED eq true', $skiptoken: token }).page).toHaveLength(25);
  });

  it('refuses a token replayed with a different filter', () => {
    const token = run(many, SP_SPEC, { $filter: 'accountEnabled eq true' }).nextSkiptoken!;
    expect(graphError(() => parse(SP_SPEC, { $filter: 'accountEnabled eq false', $skiptoken: token }))).toEqual({
      status: 400,
      code: 'Directory_ExpiredPageToken',
      message: 'The specified page token value has expired and can no longer be included in your request.',
    });
    expect(graphError(() => parse(SP_SPEC, { $skiptoken: token })).code).toBe('Directory_ExpiredPageToken');
  });

  it('refuses garbage skiptokens', () => {
    const garbage = [
      'not base64!',
      Buffer.from('not json').toString('base64url'),
      encodeSkiptoken([1, 2]),
      encodeSkiptoken({ v: 1, o: -5, h: 'x' }),
      encodeSkiptoken({ v: 1, o: 'ten', h: 'x' }),
      encodeSkiptoken({ o: 100 }),
    ];
    for (const token of garbage) {
      expect(graphError(() => parse(SP_SPEC, { $skiptoken: token }))).toEqual({
        status: 400,
        code: 'Request_BadRequest',
        message: 'Invalid Skip Token',
      });
    }
  });

  it('decodes what it encodes', () => {
    expect(decodeSkiptoken(encodeSkiptoken({ a: 1, b: 'é' }))).toEqual({ a: 1, b: 'é' });
  });
});
