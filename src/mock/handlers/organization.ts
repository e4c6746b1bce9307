import { GraphErrors } from '../errors.js';
import { contextUrl, ok, type MockContext, type MockResult } from '../context.js';
import type { TenantState } from '../state.js';
import type { CollectionSpec } from '../odata.js';
import { selectProperties } from '../odata.js';
import { collectionResponse } from './common.js';

// /organization: the tenant itself, a collection of exactly one (GD v1.0 organization-list.md,
// resources/organization.md). agentid reads verifiedDomains from it to build agent users' UPNs
// (GD agentuser-post.md points there). Read-only in the emulator.

const ORGANIZATION_SPEC: CollectionSpec = {
  resource: 'organization',
  filterable: {},
  defaultPageSize: 100,
  maxPageSize: 100,
  advanced: false,
};

function organization(state: TenantState): Record<string, unknown> {
  const t = state.tenant;
  // The first *.onmicrosoft.com domain is the initial one; the default is tenant.defaultDomain.
  const initial = t.verifiedDomains.find((d) => d.toLowerCase().endsWith('.onmicrosoft.com')) ?? t.defaultDomain;
  return {
    id: t.id,
    deletedDateTime: null,
    businessPhones: [],
    city: null,
    country: null,
    countryLetterCode: 'US',
    createdDateTime: null,
    defaultUsageLocation: null,
    displayName: t.displayName,
    isMultipleDataLocationsForServicesEnabled: null,
    marketingNotificationEmails: [],
    onPremisesLastSyncDateTime: null,
    onPremisesSyncEnabled: null,
    // Only partner (CSP) tenants have a partnerTenantType (GD v1.0 resources/organization.md).
    partnerTenantType: null,
    postalCode: null,
    preferredLanguage: 'en',
    securityComplianceNotificationMails: [],
    securityComplianceNotificationPhones: [],
    state: null,
    street: null,
    technicalNotificationMails: [],
    tenantType: 'AAD',
    // 50,000 is the object quota of a tenant with no verified custom domain; objects in use count against it.
    directorySizeQuota: { used: Object.keys(state.objects).length, total: 50000 },
    assignedPlans: [],
    privacyProfile: null,
    provisionedPlans: [],
    verifiedDomains: t.verifiedDomains.map((name) => ({
      capabilities: name === initial ? 'Email, OfficeCommunicationsOnline' : 'None',
      isDefault: name.toLowerCase() === t.defaultDomain.toLowerCase(),
      isInitial: name === initial,
      name,
      type: 'Managed',
    })),
  };
}

export async function organizationRoute(ctx: MockContext): Promise<MockResult> {
  const { path, method } = ctx;
  if (path.cast) throw GraphErrors.castMismatch(`microsoft.graph.${path.cast}`);
  const [seg] = path.rest;
  if (seg !== undefined) throw GraphErrors.unknownSegment(seg);
  if (method !== 'GET') throw GraphErrors.methodNotAllowed();
  if (!path.key) return ctx.store.read((s) => collectionResponse(ctx, [organization(s)], ORGANIZATION_SPEC, 'organization'));
  const key = path.key;
  return ctx.store.read((s) => {
    const org = organization(s);
    if (key.kind !== 'id' || key.value.toLowerCase() !== String(org.id)) throw GraphErrors.notFound(key.value);
    const raw = ctx.url.searchParams.get('$select');
    const select = raw ? raw.split(',').map((x) => x.trim()).filter(Boolean) : undefined;
    const fragment = select ? `organization(${select.join(',')})/$entity` : 'organization/$entity';
    return ok({ '@odata.context': contextUrl(ctx, fragment), ...(select ? selectProperties(org, select) : org) });
  });
}
