import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { GraphClient } from '../../src/graph/client.js';
import { bundledFixturesDir, loadFixture } from '../../src/mock/fixtures.js';
import { createMockHandler } from '../../src/mock/handler.js';
import { MemoryLogStore } from '../../src/mock/logs.js';
import { MemoryStore } from '../../src/mock/store.js';
import { propertiesOf, propertiesOfSerializer } from '../../scripts/sdk-properties.mjs';

// Issue 6, point 4b: every property the emulator returns for agentIdentityBlueprint,
// agentIdentityBlueprintPrincipal, agentIdentity, agentUser, signIn and directoryAudit is a
// property of the official model. The model is @microsoft/msgraph-beta-sdk 1.0.0-preview.81:
// its generated serializers write exactly a type's properties and call the base type's first,
// so scripts/sdk-properties.mjs reads the per-type list along the base-type chain. Nested
// complex values are checked against their own type's serializer (signIn.agent against
// microsoft.graph.agentic.agentSignIn, directoryAudit.targetResources[] against targetResource…).
//
// The emulator is loaded with the bundled contoso fixture, so every kind of object (disabled
// agents, agent users, blueprints with secrets and federated credentials) and 30 days of logs are
// there to be read, in v1.0 and beta, by default and with $select of every documented property.

let client: GraphClient;
beforeAll(async () => {
  const f = await loadFixture(path.join(bundledFixturesDir(), 'contoso'));
  const logs = new MemoryLogStore();
  await logs.append('signIns', f.signIns);
  await logs.append('directoryAudits', f.directoryAudits);
  const handler = createMockHandler({ store: new MemoryStore(f.state), logs });
  client = new GraphClient({ baseUrl: 'https://graph.microsoft.com', version: 'beta', transport: handler, token: async () => undefined });
}, 60_000);

/** Properties of `value` that the official type does not have, as dotted paths. */
function unknownProperties(value: unknown, props: Map<string, string | null>, at: string, out: string[] = []): string[] {
  if (!value || typeof value !== 'object') return out;
  if (Array.isArray(value)) {
    value.forEach((v, i) => unknownProperties(v, props, `${at}[${i}]`, out));
    return out;
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k.startsWith('@odata.')) continue; // OData annotations, not properties
    const p = at ? `${at}.${k}` : k;
    if (!props.has(k)) {
      out.push(p);
      continue;
    }
    const nested = props.get(k);
    if (nested && v && typeof v === 'object') unknownProperties(v, propertiesOfSerializer(nested), p, out);
  }
  return out;
}

// The model is beta's. v1.0 answers keep v1.0 names where beta renamed or dropped one, each
// documented: servicePrincipal.oauth2PermissionScopes is beta's publishedPermissionScopes
// (graph-agent-id.md §10.4); v1.0 auditUserIdentity has userType (GD v1.0 directoryaudit-list.md
// example 2), which beta's initiatedBy.user type does not.
const V1_NAMES = new Set(['oauth2PermissionScopes', 'initiatedBy.user.userType']);

async function items(version: 'v1.0' | 'beta', url: string, query?: Record<string, string>): Promise<Record<string, unknown>[]> {
  const body = await client.get<Record<string, unknown>>(url, { version, ...(query ? { query } : {}) });
  return Array.isArray(body.value) ? (body.value as Record<string, unknown>[]) : [body];
}

const TYPES: [string, string, (v: 'v1.0' | 'beta') => Promise<Record<string, unknown>[]>][] = [
  ['AgentIdentityBlueprint', 'applications/microsoft.graph.agentIdentityBlueprint', async (v) => items(v, '/applications/microsoft.graph.agentIdentityBlueprint')],
  ['AgentIdentityBlueprintPrincipal', 'servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal', async (v) => items(v, '/servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal')],
  ['AgentIdentity', 'servicePrincipals/microsoft.graph.agentIdentity', async (v) => items(v, '/servicePrincipals/microsoft.graph.agentIdentity', { $top: '100' })],
  ['AgentUser', 'users/microsoft.graph.agentUser', async (v) => items(v, '/users/microsoft.graph.agentUser', { $top: '100' })],
  // Without a signInEventTypes filter only interactive user sign-ins come back (GD beta signin-list.md).
  ['SignIn', 'auditLogs/signIns', async () => [
    ...(await items('beta', '/auditLogs/signIns', { $top: '500', $filter: "signInEventTypes/any(t: t eq 'servicePrincipal')" })),
    ...(await items('beta', '/auditLogs/signIns', { $top: '500', $filter: "signInEventTypes/any(t: t eq 'nonInteractiveUser')" })),
  ]],
  ['DirectoryAudit', 'auditLogs/directoryAudits', async (v) => items(v, '/auditLogs/directoryAudits', { $top: '500' })],
  // #13, beta only (the agent conditions and ID Protection for agents are beta): the contoso fixture's protection.json.
  ['ConditionalAccessPolicy', 'identity/conditionalAccess/policies', async () => items('beta', '/identity/conditionalAccess/policies')],
  ['RiskyAgentIdentity', 'identityProtection/riskyAgents', async () => items('beta', '/identityProtection/riskyAgents')],
  ['AgentRiskDetection', 'identityProtection/agentRiskDetections', async () => items('beta', '/identityProtection/agentRiskDetections')],
];
const BETA_ONLY = new Set(['SignIn', 'ConditionalAccessPolicy', 'RiskyAgentIdentity', 'AgentRiskDetection']);

describe('emulator properties are properties of the official model (@microsoft/msgraph-beta-sdk serializers)', () => {
  test('the extraction reads the base-type chain and nested types', () => {
    const agent = propertiesOf('AgentIdentity');
    // own, servicePrincipal's, directoryObject's and entity's properties
    for (const p of ['agentIdentityBlueprintId', 'servicePrincipalType', 'deletedDateTime', 'id']) expect(agent.has(p), p).toBe(true);
    expect(agent.has('identifierUris')).toBe(false); // an application property
    expect([...propertiesOfSerializer(propertiesOf('SignIn').get('agent')!).keys()].sort()).toEqual(['@odata.type', 'agentSubjectParentId', 'agentSubjectType', 'agentType', 'parentAppId']);
  });

  test('a property the model lacks is reported, nested ones too', () => {
    // graph-agent-id.md §6.1: there is no isAgent property in Graph metadata.
    expect(unknownProperties({ id: 'x', isAgent: true, agent: { agentType: 'agenticAppInstance', bogus: 1 } }, propertiesOf('SignIn'), '')).toEqual(['isAgent', 'agent.bogus']);
  });

  for (const [type, label, fetch] of TYPES) {
    for (const version of ['v1.0', 'beta'] as const) {
      if (BETA_ONLY.has(type) && version === 'v1.0') continue; // the agent facet is beta-only (graph-agent-id.md §6.1), and so are #13's types
      test(`${type}: ${version} ${label}`, async () => {
        const props = propertiesOf(type);
        const list = await fetch(version);
        expect(list.length).toBeGreaterThan(0);
        const allowed = version === 'v1.0' ? V1_NAMES : new Set<string>();
        const unknown = new Set(list.flatMap((o) => unknownProperties(o, props, '').map((p) => p.replace(/\[\d+\]/g, '[]'))).filter((p) => !allowed.has(p)));
        expect([...unknown]).toEqual([]);
        // $select of every property the model has returns nothing outside it either.
        if (type !== 'SignIn' && type !== 'DirectoryAudit' && !BETA_ONLY.has(type)) {
          const one = await client.get<Record<string, unknown>>(`/${label}/${list[0]!.id as string}`.replace(/^\/(\w+)\/(microsoft\.graph\.\w+)\/([^/]+)$/, (_m, set: string, cast: string, id: string) => (set === 'users' ? `/users/${cast}/${id}` : `/${set}/${id}/${cast}`)), { version });
          expect(unknownProperties(one, props, '').filter((p) => !allowed.has(p))).toEqual([]);
        }
      });
    }
  }
});
