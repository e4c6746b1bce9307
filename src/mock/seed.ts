import type { StoredObject, TenantState } from './state.js';
import { seedApps } from './seedApps.js';

// The seeded "Contoso" directory: one signed-in administrator holding Agent ID Administrator,
// a handful of users and groups to act as sponsors and owners, and the Microsoft Graph service
// principal that inheritable permissions point at. Ids are fixed so that README, tests and
// scripts can name them. README.md lists these objects; keep the two in step.

export const SEED_TENANT_ID = '3f2a7c1e-5b8d-4e6f-9a0b-1c2d3e4f5a6b';
export const SEED_DOMAIN = 'contoso.onmicrosoft.com';
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
export const MICROSOFT_TENANT_ID = 'f8cdef31-a31e-4b4a-93e4-5f571e91255a';
export const AGENT_ID_ADMINISTRATOR_ROLE = 'db506228-d27e-4b7d-95e5-295956d6615f';
export const AGENT_ID_DEVELOPER_ROLE = 'adb2368d-a9be-41b5-8667-d96778e081b0';

export const SEED_IDS = {
  admin: '6e1f0c2a-0001-4a5b-8c9d-000000000001',
  megan: '6e1f0c2a-0002-4a5b-8c9d-000000000002',
  adele: '6e1f0c2a-0003-4a5b-8c9d-000000000003',
  alex: '6e1f0c2a-0004-4a5b-8c9d-000000000004',
  diego: '6e1f0c2a-0005-4a5b-8c9d-000000000005',
  lee: '6e1f0c2a-0006-4a5b-8c9d-000000000006',
  aiPlatformTeam: '7a2b0d3c-0001-4b6c-9dae-000000000101',
  agentSponsors: '7a2b0d3c-0002-4b6c-9dae-000000000102',
  financeApprovers: '7a2b0d3c-0003-4b6c-9dae-000000000103',
  tier0Admins: '7a2b0d3c-0004-4b6c-9dae-000000000104',
  graphServicePrincipal: '8b3c1e4d-0001-4c7d-8ebf-000000000201',
} as const;

const CREATED = '2026-01-15T09:00:00Z';

function user(id: string, displayName: string, alias: string, jobTitle: string, extra: Record<string, unknown> = {}): StoredObject {
  const [givenName, ...rest] = displayName.split(' ');
  return {
    id,
    type: 'user',
    props: {
      accountEnabled: true,
      businessPhones: [],
      createdDateTime: CREATED,
      displayName,
      givenName,
      surname: rest.join(' ') || null,
      jobTitle,
      mail: `${alias}@${SEED_DOMAIN}`,
      mailNickname: alias,
      mobilePhone: null,
      officeLocation: null,
      preferredLanguage: 'en-US',
      userPrincipalName: `${alias}@${SEED_DOMAIN}`,
      identities: [{ signInType: 'userPrincipalName', issuer: SEED_DOMAIN, issuerAssignedId: `${alias}@${SEED_DOMAIN}` }],
      proxyAddresses: [`SMTP:${alias}@${SEED_DOMAIN}`],
      userType: 'Member',
      identityParentId: null,
      usageLocation: 'US',
      ...extra,
    },
  };
}

function group(id: string, displayName: string, alias: string, kind: 'unified' | 'dynamic' | 'security' | 'roleAssignable', description: string, members: string[]): StoredObject {
  return {
    id,
    type: 'group',
    members,
    props: {
      createdDateTime: CREATED,
      description,
      displayName,
      groupTypes: kind === 'unified' ? ['Unified'] : kind === 'dynamic' ? ['DynamicMembership'] : [],
      isAssignableToRole: kind === 'roleAssignable' ? true : null,
      mail: kind === 'unified' ? `${alias}@${SEED_DOMAIN}` : null,
      mailEnabled: kind === 'unified',
      mailNickname: alias,
      proxyAddresses: kind === 'unified' ? [`SMTP:${alias}@${SEED_DOMAIN}`] : [],
      renewedDateTime: CREATED,
      membershipRule: kind === 'dynamic' ? '(user.department -eq "AI Platform")' : null,
      membershipRuleProcessingState: kind === 'dynamic' ? 'On' : null,
      securityEnabled: kind !== 'unified',
      visibility: kind === 'unified' ? 'Private' : null,
    },
  };
}

// A few of Microsoft Graph's delegated scopes, enough for inheritable-permission examples.
const GRAPH_SCOPES: [string, string][] = [
  ['e1fe6dd8-ba31-4d61-89e7-88639da4683d', 'User.Read'],
  ['b340eb25-3456-403f-be2f-af7a0d370277', 'User.ReadBasic.All'],
  ['570282fd-fa5c-430d-a7fd-fc8dc98a9dca', 'Mail.Read'],
  ['e383f46e-2787-4529-855e-0e479a3ffac0', 'Mail.Send'],
  ['465a38f9-76ea-45b9-9f34-9e8b0d4b0b42', 'Calendars.Read'],
  ['10465720-29dd-4523-a11a-6a75c743c9d9', 'Files.Read'],
  ['5c28f0bf-8a70-41f1-8ab2-9032436ddb65', 'Files.ReadWrite'],
  ['7427e0e9-2fba-42fe-b0c0-848c9e6a8182', 'offline_access'],
  ['37f7f235-527c-4136-accd-4a02d197296e', 'openid'],
  ['14dad69e-099b-42c9-810b-d002981feec1', 'profile'],
  ['205e70e5-aba6-4c52-a976-6d2d46c48043', 'Sites.Read.All'],
  ['ebf0f66e-9fb1-49e4-a278-222f76911cf4', 'Chat.ReadWrite'],
];

// Application permission ids as Graph publishes them (permissions reference; the AgentIdUser id is
// GD agentid-platform-overview.md's table).
export const GRAPH_APP_ROLES: [string, string][] = [
  ['df021288-bdef-4463-88db-98f22de89214', 'User.Read.All'],
  ['b633e1c5-b582-4048-a93e-9f11b44c7e96', 'Mail.Send'],
  ['4aa6e624-eee0-40ab-bdd8-f9639038a614', 'AgentIdUser.ReadWrite.IdentityParentedBy'],
  // High-privilege: the contoso fixture's privileged agent holds it (agentid report, issue #14).
  ['19dbc75e-c2e2-444c-a770-ec69d8559fc7', 'Directory.ReadWrite.All'],
];

export function seedState(): TenantState {
  const objects: StoredObject[] = [
    user(SEED_IDS.admin, 'Contoso Admin', 'admin', 'Identity Administrator'),
    user(SEED_IDS.megan, 'Megan Bowen', 'meganb', 'Marketing Manager'),
    user(SEED_IDS.adele, 'Adele Vance', 'adelev', 'Retail Manager'),
    user(SEED_IDS.alex, 'Alex Wilber', 'alexw', 'Marketing Assistant'),
    user(SEED_IDS.diego, 'Diego Siciliani', 'diegos', 'HR Manager'),
    user(SEED_IDS.lee, 'Lee Gu', 'leeg', 'Director of AI Platform'),
    group(SEED_IDS.aiPlatformTeam, 'AI Platform Team', 'aiplatform', 'unified', 'Microsoft 365 group of the people who run Contoso\'s agents.', [SEED_IDS.lee, SEED_IDS.admin]),
    group(SEED_IDS.agentSponsors, 'Agent Sponsors', 'agentsponsors', 'dynamic', 'Dynamic group of everyone in the AI Platform department.', [SEED_IDS.lee]),
    group(SEED_IDS.financeApprovers, 'Finance Approvers', 'financeapprovers', 'security', 'Assigned-membership security group (not accepted as a sponsor).', [SEED_IDS.adele]),
    group(SEED_IDS.tier0Admins, 'Tier 0 Admins', 'tier0admins', 'roleAssignable', 'Role-assignable group (not accepted as a sponsor).', [SEED_IDS.admin]),
    {
      id: SEED_IDS.graphServicePrincipal,
      type: 'servicePrincipal',
      props: {
        accountEnabled: true,
        appDisplayName: 'Microsoft Graph',
        appId: GRAPH_APP_ID,
        appOwnerOrganizationId: MICROSOFT_TENANT_ID,
        // A few of Graph's application permissions, so that app role assignments to agents and
        // blueprint principals (issue #4's bulk revoke --app-roles) have real role ids to name.
        appRoles: GRAPH_APP_ROLES.map(([id, value]) => ({
          allowedMemberTypes: ['Application'],
          description: `Allows the app to use ${value} without a signed-in user.`,
          displayName: value,
          id,
          isEnabled: true,
          origin: 'Application',
          value,
        })),
        createdDateTime: CREATED,
        displayName: 'Microsoft Graph',
        oauth2PermissionScopes: GRAPH_SCOPES.map(([id, value]) => ({
          adminConsentDescription: `Allows the app to use ${value}.`,
          adminConsentDisplayName: value,
          id,
          isEnabled: true,
          type: 'User',
          userConsentDescription: null,
          userConsentDisplayName: null,
          value,
        })),
        servicePrincipalNames: [GRAPH_APP_ID, 'https://graph.microsoft.com'],
        servicePrincipalType: 'Application',
        signInAudience: 'AzureADMultipleOrgs',
        tags: [],
      },
    },
  ];
  // Emulated app registrations that sign in with client_credentials (#3, seedApps.ts).
  const apps = seedApps();
  objects.push(...apps.objects);
  return {
    auth: apps.auth,
    schemaVersion: 1,
    tenant: { id: SEED_TENANT_ID, displayName: 'Contoso', defaultDomain: SEED_DOMAIN, verifiedDomains: [SEED_DOMAIN] },
    signedInUserId: SEED_IDS.admin,
    roleAssignments: [
      { principalId: SEED_IDS.admin, roleTemplateId: AGENT_ID_ADMINISTRATOR_ROLE, roleName: 'Agent ID Administrator' },
      // #3: sign-in and audit logs need a reader role for delegated callers (GD signin-list.md);
      // Megan develops agents: she may create blueprints and manage those she owns, nothing else.
      { principalId: SEED_IDS.admin, roleTemplateId: '4a5d8f65-41da-4de4-8968-e035b65339cf', roleName: 'Reports Reader' },
      { principalId: SEED_IDS.megan, roleTemplateId: AGENT_ID_DEVELOPER_ROLE, roleName: 'Agent ID Developer' },
      // #13: agentid ca needs a Conditional Access Administrator, agentid risk a Security
      // Operator (ED howto-target-agent-identities.md; GD riskyagent-confirmcompromised.md).
      { principalId: SEED_IDS.admin, roleTemplateId: 'b1be1c3e-b65d-4f19-8427-f6fa0d97feb9', roleName: 'Conditional Access Administrator' },
      { principalId: SEED_IDS.admin, roleTemplateId: '5f2222b1-57c3-48ba-8ad5-d4759f1fde6f', roleName: 'Security Operator' },
      // #13: `ca create --blueprint` targets agents by a custom security attribute, which it defines
      // and assigns; no admin role, Global Administrator included, holds those rights by default.
      { principalId: SEED_IDS.admin, roleTemplateId: '8424c6f0-a189-499e-bbd0-26c1753c96d4', roleName: 'Attribute Definition Administrator' },
      { principalId: SEED_IDS.admin, roleTemplateId: '58a13ea3-c632-46ae-9ee0-9c0d43cd7f3d', roleName: 'Attribute Assignment Administrator' },
    ],
    objects: Object.fromEntries(objects.map((o) => [o.id, o])),
  };
}

/** The appId the emulator records as `createdByAppId` for objects the agentid CLI creates
 * (a real tenant records the client app of the token). */
export const AGENTID_CLIENT_APP_ID = '5e3a9d1f-7c42-4b8e-a0d6-2f1b3c4d5e6f';
