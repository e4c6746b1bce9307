import { GraphErrors } from './errors.js';

// managerApplications on a blueprint (GD beta agentidentityblueprint-update.md): "Currently,
// only Microsoft first-party application IDs can be set as values. Maximum of 10 values." The
// page's examples give the order Graph checks in: more than 10 values fails on the count (its
// 11 ids are not checked one by one), then each id must be a Microsoft first-party app.
//
// Which apps are first-party is Microsoft's registry, not the tenant's; the emulator knows the
// well-known Microsoft apps below plus the one the page's success example sets.
const FIRST_PARTY_APP_IDS = new Set(
  [
    '00000003-0000-0000-c000-000000000000', // Microsoft Graph
    '00000002-0000-0000-c000-000000000000', // Azure AD Graph
    '00000002-0000-0ff1-ce00-000000000000', // Office 365 Exchange Online
    '00000003-0000-0ff1-ce00-000000000000', // Office 365 SharePoint Online
    'de8bc8b5-d9f9-48b1-a8ad-b748da725064', // Graph Explorer
    '14d82eec-204b-4c2f-b7e8-296a70dab67e', // Microsoft Graph Command Line Tools
    '04b07795-8ddb-461a-bbee-02f9e1bf7b46', // Microsoft Azure CLI
    '1950a258-227b-4e31-a9cf-717495945fc2', // Microsoft Azure PowerShell
    '77504268-3426-435e-99c0-9bc8656bc20e', // set as a manager in the page's Example 2
  ].map((s) => s.toLowerCase()),
);

export const MAX_MANAGER_APPLICATIONS = 10;

export function validateManagerApplications(value: unknown): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw GraphErrors.invalidValue('managerApplications');
  if (value.length > MAX_MANAGER_APPLICATIONS) throw GraphErrors.tooManyManagerApplications();
  for (const id of value as string[]) if (!FIRST_PARTY_APP_IDS.has(id.toLowerCase())) throw GraphErrors.managerNotFirstParty(id);
}
