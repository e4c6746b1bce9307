import { HttpMethod, RequestInformation, type AuthenticationProvider, type ErrorMappings } from '@microsoft/kiota-abstractions';
import { GraphBetaRequestAdapter } from '@microsoft/msgraph-beta-sdk';
import {
  createAgentIdentityBlueprintFromDiscriminatorValue,
  createApplicationCollectionResponseFromDiscriminatorValue,
  createInheritablePermissionFromDiscriminatorValue,
  serializeAgentIdentityBlueprint,
  serializeInheritablePermission,
  type AgentIdentityBlueprint,
  type Application,
  type InheritablePermission,
} from '@microsoft/msgraph-beta-sdk/models/index.js';
import { createODataErrorFromDiscriminatorValue, type ODataError } from '@microsoft/msgraph-beta-sdk/models/oDataErrors/index.js';
import { PageIterator, type PageCollection } from '@microsoft/msgraph-sdk-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startServer, tempHome } from './helpers.js';

// Issue 11 §2: the served emulator driven by the official SDK's own client, not only its models:
// the Graph request adapter of @microsoft/msgraph-beta-sdk (kiota's fetch adapter with the Graph
// middleware chain), kiota RequestInformation for each request, the SDK's model parsers and
// serializers, PageIterator from @microsoft/msgraph-sdk-core for @odata.nextLink paging, and the
// SDK's ODataError for failures. The SDK's fluent request builders for applications and
// servicePrincipals ship in separate fluent packages that are not on the npm registry (only the
// core @microsoft/msgraph-beta-sdk is), so the requests are built with RequestInformation,
// which is what those builders produce.
//
// What the SDK cannot place in a model lands in `additionalData`: an emulator property unknown to
// the models shows up there, so each parsed object's additionalData is checked too.

const h = tempHome();
let server: Awaited<ReturnType<typeof startServer>>;
let adapter: GraphBetaRequestAdapter;
const MEGAN = '6e1f0c2a-0002-4a5b-8c9d-000000000002';
const errors: ErrorMappings = { XXX: createODataErrorFromDiscriminatorValue as never };

beforeAll(async () => {
  server = await startServer(h.home);
  const token = (await h.run(['mock', 'token'])).stdout.trim();
  // The SDK's bearer provider only signs requests to Graph hosts; the emulator is a loopback URL.
  const auth: AuthenticationProvider = {
    authenticateRequest: async (request) => {
      request.headers.add('Authorization', `Bearer ${token}`);
    },
  };
  adapter = new GraphBetaRequestAdapter(auth);
  adapter.baseUrl = `${server.url}/beta`;
}, 60_000);

afterAll(async () => {
  await server?.stop();
  h.remove();
});

function request(method: HttpMethod, path: string, query?: Record<string, string>): RequestInformation {
  const info = new RequestInformation(method, `{+baseurl}${path}`);
  info.headers.add('Accept', 'application/json');
  if (query) {
    // kiota expands query options from the template; a literal query string keeps this readable.
    const qs = new URLSearchParams(query).toString().replace(/%24/g, '$');
    info.urlTemplate = `{+baseurl}${path}?${qs}`;
  }
  return info;
}

async function createBlueprint(name: string): Promise<AgentIdentityBlueprint> {
  const info = request(HttpMethod.POST, '/applications/microsoft.graph.agentIdentityBlueprint');
  const body: AgentIdentityBlueprint = { displayName: name, additionalData: { 'sponsors@odata.bind': [`https://graph.microsoft.com/beta/users/${MEGAN}`] } };
  info.setContentFromParsable(adapter, 'application/json', body, serializeAgentIdentityBlueprint as never);
  const bp = await adapter.send(info, createAgentIdentityBlueprintFromDiscriminatorValue, errors);
  return bp as AgentIdentityBlueprint;
}

/** Keys the SDK could not map onto its model (annotations aside). */
const unknownKeys = (o: { additionalData?: Record<string, unknown> } | undefined) => Object.keys(o?.additionalData ?? {}).filter((k) => !k.startsWith('@odata.'));

describe('the official Graph SDK client against `agentid mock serve`', () => {
  test('creates a blueprint and reads it back as the SDK model, every property known to it', async () => {
    const bp = await createBlueprint('SDK Blueprint');
    expect(bp.odataType).toBe('#microsoft.graph.agentIdentityBlueprint');
    expect(bp.displayName).toBe('SDK Blueprint');
    expect(bp.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(bp.signInAudience).toBe('AzureADMyOrg');
    expect(unknownKeys(bp)).toEqual([]);

    const got = (await adapter.send(request(HttpMethod.GET, `/applications/${bp.id}/microsoft.graph.agentIdentityBlueprint`), createAgentIdentityBlueprintFromDiscriminatorValue, errors)) as AgentIdentityBlueprint;
    expect({ id: got.id, appId: got.appId, web: got.web?.redirectUris, logoUrl: got.info?.logoUrl ?? null }).toEqual({ id: bp.id, appId: bp.appId, web: [], logoUrl: null });
    expect(unknownKeys(got)).toEqual([]);
    expect(unknownKeys(got.api as never)).toEqual([]);
  });

  test('PATCH through the SDK answers 204, and the change reads back', async () => {
    const bp = await createBlueprint('SDK Rename');
    const patch = request(HttpMethod.PATCH, `/applications/${bp.id}/microsoft.graph.agentIdentityBlueprint`);
    patch.setContentFromParsable(adapter, 'application/json', { displayName: 'SDK Renamed', managerApplications: ['de8bc8b5-d9f9-48b1-a8ad-b748da725064'] } as AgentIdentityBlueprint, serializeAgentIdentityBlueprint as never);
    await adapter.sendNoResponseContent(patch, errors);
    const got = (await adapter.send(request(HttpMethod.GET, `/applications/${bp.id}/microsoft.graph.agentIdentityBlueprint`), createAgentIdentityBlueprintFromDiscriminatorValue, errors)) as AgentIdentityBlueprint;
    expect(got.displayName).toBe('SDK Renamed');
    expect(got.managerApplications).toEqual(['de8bc8b5-d9f9-48b1-a8ad-b748da725064']);
  });

  test('an inheritable permission through the SDK serializer: the derived scope type comes back typed', async () => {
    const bp = await createBlueprint('SDK Inheritable');
    const post = (perm: InheritablePermission) => {
      const info = request(HttpMethod.POST, `/applications/${bp.id}/microsoft.graph.agentIdentityBlueprint/inheritablePermissions`);
      info.setContentFromParsable(adapter, 'application/json', perm, serializeInheritablePermission as never);
      return adapter.send(info, createInheritablePermissionFromDiscriminatorValue, errors);
    };
    // SDK 1.0.0-preview.81 drops `scopes` when it serializes an enumeratedScopes nested in an
    // inheritablePermission (serializeInheritableScopes calls serializeEnumeratedScopes with
    // isSerializingDerivedType=true, which returns at once), so the emulator refuses the body the
    // way the v1.0 page's rule says ("scopes … must be present and non-empty").
    const dropped = (await post({ resourceAppId: '00000003-0000-0000-c000-000000000000', inheritableScopes: { odataType: '#microsoft.graph.enumeratedScopes', scopes: ['User.Read'] } as never }).catch((e: unknown) => e)) as ODataError;
    expect(dropped.responseStatusCode).toBe(400);
    // The scopes carried as additional data reach the service; the answer parses into the derived model.
    const created = (await post({ resourceAppId: '00000003-0000-0000-c000-000000000000', inheritableScopes: { odataType: '#microsoft.graph.enumeratedScopes', additionalData: { scopes: ['User.Read'] } } })) as InheritablePermission;
    expect(created.resourceAppId).toBe('00000003-0000-0000-c000-000000000000');
    expect(created.inheritableScopes?.odataType).toBe('#microsoft.graph.enumeratedScopes');
    expect((created.inheritableScopes as { scopes?: string[] }).scopes).toEqual(['User.Read']);
    expect(created.inheritableScopes?.kind).toBe('enumerated');
    expect(unknownKeys(created.inheritableScopes as never)).toEqual([]);
  });

  test('PageIterator follows @odata.nextLink to the end: every blueprint once', async () => {
    for (const n of ['SDK Page 1', 'SDK Page 2', 'SDK Page 3', 'SDK Page 4', 'SDK Page 5']) await createBlueprint(n);
    const all = (await adapter.send(request(HttpMethod.GET, '/applications/microsoft.graph.agentIdentityBlueprint', { $select: 'id' }), createApplicationCollectionResponseFromDiscriminatorValue, errors)) as PageCollection<Application>;
    const first = (await adapter.send(request(HttpMethod.GET, '/applications/microsoft.graph.agentIdentityBlueprint', { $top: '2' }), createApplicationCollectionResponseFromDiscriminatorValue, errors)) as PageCollection<Application>;
    expect(first.value).toHaveLength(2);
    expect(first.odataNextLink).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/beta\/applications\/microsoft\.graph\.agentIdentityBlueprint\?.*\$top=2/);
    const seen: string[] = [];
    const iterator = new PageIterator<Application>(adapter, first, (item) => {
      seen.push(item.id!);
      expect(item.odataType).toBe('#microsoft.graph.agentIdentityBlueprint');
      return true;
    }, createApplicationCollectionResponseFromDiscriminatorValue as never, errors);
    await iterator.iterate();
    expect(iterator.getPagingState()).toBe('Complete');
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.sort()).toEqual(all.value.map((a) => a.id!).sort());
    expect(seen.length).toBeGreaterThanOrEqual(5);
  });

  test('a Graph error reaches the caller as the SDK ODataError: status, code, message, innerError', async () => {
    const missing = '00000000-0000-4000-8000-000000000404';
    const err = (await adapter.send(request(HttpMethod.GET, `/applications/${missing}/microsoft.graph.agentIdentityBlueprint`), createAgentIdentityBlueprintFromDiscriminatorValue, errors).catch((e: unknown) => e)) as ODataError;
    expect(err.responseStatusCode).toBe(404);
    expect(err.errorEscaped?.code).toBe('Request_ResourceNotFound');
    expect(err.errorEscaped?.message).toContain(missing);
    expect(err.errorEscaped?.innerError?.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(err.errorEscaped?.innerError?.date).toBeInstanceOf(Date);
    expect(err.errorEscaped?.innerError?.clientRequestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('the documented managerApplications limit comes back as an ODataError with the page’s message', async () => {
    const bp = await createBlueprint('SDK Limit');
    const patch = request(HttpMethod.PATCH, `/applications/${bp.id}/microsoft.graph.agentIdentityBlueprint`);
    const eleven = Array.from({ length: 11 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    patch.setContentFromParsable(adapter, 'application/json', { managerApplications: eleven } as AgentIdentityBlueprint, serializeAgentIdentityBlueprint as never);
    const err = (await adapter.sendNoResponseContent(patch, errors).catch((e: unknown) => e)) as ODataError;
    expect(err.responseStatusCode).toBe(400);
    expect({ code: err.errorEscaped?.code, message: err.errorEscaped?.message }).toEqual({ code: 'BadRequest', message: 'The number of ManagerApplications exceeds the limit. A blueprint can have only 10 ManagerApplications values.' });
  });
});
