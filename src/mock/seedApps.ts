import type { AuthState, StoredObject } from './state.js';

// Emulated app registrations that sign in with client_credentials (issue #3): one for CI
// automation with the Agent ID application permissions, one that may only read. Their client
// secrets exist here only as salted SHA-256 hashes; the plain test secret lives in test code.
// The automation app also trusts GitHub Actions tokens of contoso/agents' main branch through a
// federated identity credential (GD v1.0 federatedidentitycredential-post.md shape).

export const SEED_APPS = {
  automation: {
    appId: 'c0a1b2c3-0001-4d5e-8f90-000000000301',
    applicationId: '9c4d2f5e-0001-4e8f-9fa0-000000000301',
    servicePrincipalId: '9c4d2f5e-0002-4e8f-9fa0-000000000302',
    displayName: 'Contoso Agent Automation',
    secretKeyId: 'a7e0c1d2-0001-4b3c-9d4e-000000000311',
    ficId: 'a7e0c1d2-0002-4b3c-9d4e-000000000312',
  },
  reader: {
    appId: 'c0a1b2c3-0002-4d5e-8f90-000000000302',
    applicationId: '9c4d2f5e-0003-4e8f-9fa0-000000000303',
    servicePrincipalId: '9c4d2f5e-0004-4e8f-9fa0-000000000304',
    displayName: 'Contoso Agent Inventory (read-only)',
    secretKeyId: 'a7e0c1d2-0003-4b3c-9d4e-000000000313',
  },
} as const;

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
export const GITHUB_SUBJECT = 'repo:contoso/agents:ref:refs/heads/main';

const CREATED = '2026-01-15T09:00:00Z';
const SECRET_END = '2099-01-01T00:00:00Z';

// The Graph application permissions each app holds (what admin consent to them would grant).
const AUTOMATION_PERMISSIONS = [
  'AgentIdentityBlueprint.ReadWrite.All',
  'AgentIdentityBlueprint.DeleteRestore.All',
  'AgentIdentityBlueprintPrincipal.ReadWrite.All',
  'AgentIdentityBlueprintPrincipal.DeleteRestore.All',
  'AgentIdentity.Create.All',
  'AgentIdentity.ReadWrite.All',
  'AgentIdentity.DeleteRestore.All',
  'AgentIdUser.ReadWrite.All',
  'Application.Read.All',
  'Group.Read.All',
  'Organization.Read.All',
  'User.Read.All',
  // #13: agentid ca and agentid risk
  'Policy.Read.All',
  'Policy.ReadWrite.ConditionalAccess',
  'IdentityRiskyAgent.ReadWrite.All',
  'IdentityRiskEvent.Read.All',
  // ca create --blueprint: the custom security attribute it targets agents by (GD customsecurityattributedefinition-post.md, serviceprincipal-update.md)
  'CustomSecAttributeDefinition.ReadWrite.All',
  'CustomSecAttributeAssignment.ReadWrite.All',
];
const READER_PERMISSIONS = ['AgentIdentityBlueprint.Read.All', 'AgentIdentityBlueprintPrincipal.Read.All', 'AgentIdentity.Read.All', 'User.ReadBasic.All', 'Group.Read.All', 'Organization.Read.All'];

function app(a: (typeof SEED_APPS)[keyof typeof SEED_APPS], hint: string, fic?: StoredObject['federatedIdentityCredentials']): StoredObject[] {
  return [
    {
      id: a.applicationId,
      type: 'application',
      props: {
        appId: a.appId,
        createdDateTime: CREATED,
        displayName: a.displayName,
        signInAudience: 'AzureADMyOrg',
        passwordCredentials: [{ customKeyIdentifier: null, displayName: 'emulator test secret', endDateTime: SECRET_END, hint, keyId: a.secretKeyId, secretText: null, startDateTime: CREATED }],
      },
      owners: [],
      ...(fic ? { federatedIdentityCredentials: fic } : {}),
    },
    {
      id: a.servicePrincipalId,
      type: 'servicePrincipal',
      props: {
        accountEnabled: true,
        appDisplayName: a.displayName,
        appId: a.appId,
        appOwnerOrganizationId: null,
        createdDateTime: CREATED,
        displayName: a.displayName,
        servicePrincipalNames: [a.appId],
        servicePrincipalType: 'Application',
        signInAudience: 'AzureADMyOrg',
        tags: [],
      },
      owners: [],
    },
  ];
}

export function seedApps(): { objects: StoredObject[]; auth: AuthState } {
  return {
    objects: [
      ...app(SEED_APPS.automation, 'Emu', [
        { id: SEED_APPS.automation.ficId, name: 'github-main', issuer: GITHUB_ISSUER, subject: GITHUB_SUBJECT, audiences: ['api://AzureADTokenExchange'], description: 'GitHub Actions, contoso/agents main branch' },
      ]),
      ...app(SEED_APPS.reader, 'Emu'),
    ],
    auth: {
      secrets: [
        // Salted SHA-256 of the test secrets (test/unit/mock-auth.test.ts holds the plain text).
        { appId: SEED_APPS.automation.appId, keyId: SEED_APPS.automation.secretKeyId, salt: '5eed0a11c0ffee0000000000000000a1', sha256: '4d16a9f9a54ae980770ddeebf920b081cae71664c18621f97c5afc63d8a92e50', endDateTime: SECRET_END },
        { appId: SEED_APPS.reader.appId, keyId: SEED_APPS.reader.secretKeyId, salt: '5eed0a11c0ffee0000000000000000a2', sha256: '20ea4913eb4a5654a56904ec46c32518f18ccea3ea1ffe3dfc878344e0eb80be', endDateTime: SECRET_END },
      ],
      appPermissions: {
        [SEED_APPS.automation.appId]: AUTOMATION_PERMISSIONS,
        [SEED_APPS.reader.appId]: READER_PERMISSIONS,
      },
    },
  };
}
