import { randomUUID } from 'node:crypto';
import type { StoredObject, TenantState } from './state.js';
import { AGENTID_CLIENT_APP_ID, GRAPH_APP_ROLES, SEED_DOMAIN, SEED_IDS } from './seed.js';

// Large emulated tenants for bulk tests and bench/bulk.mjs, written straight into the state
// (through Store.replace) instead of thousands of API calls. The objects have the shape the
// handlers give what they create (servicePrincipals.ts, applications.ts, users.ts), so the CLI
// cannot tell them apart from ones it made itself.

export interface BulkSeedOptions {
  blueprints: number;
  agentsPerBlueprint: number;
  /** Give every n-th agent an agent user (0: none). */
  agentUserEvery?: number;
  /** Give every agent (and principal) one delegated grant and one app role on Microsoft Graph. */
  grants?: boolean;
  /** Every n-th agent starts disabled (0: none). */
  disabledEvery?: number;
  prefix?: string;
}

export interface SeededBlueprint {
  id: string;
  appId: string;
  principalId: string;
  name: string;
  agentIds: string[];
}

export function addBulkAgents(state: TenantState, opts: BulkSeedOptions): SeededBlueprint[] {
  const now = new Date().toISOString();
  const prefix = opts.prefix ?? 'Bulk';
  const out: SeededBlueprint[] = [];
  const put = (o: StoredObject) => (state.objects[o.id] = o);
  const grants = (state.oauth2PermissionGrants ??= {});
  const assignments = (state.appRoleAssignments ??= {});
  const grantFor = (clientId: string) => {
    const id = `g${clientId.replace(/-/g, '')}`;
    grants[id] = { id, clientId, consentType: 'AllPrincipals', principalId: null, resourceId: SEED_IDS.graphServicePrincipal, scope: 'User.Read Mail.Read' };
    const aid = `a${clientId.replace(/-/g, '')}`;
    assignments[aid] = { id: aid, appRoleId: GRAPH_APP_ROLES[0]![0], createdDateTime: now, principalId: clientId, principalType: 'ServicePrincipal', resourceId: SEED_IDS.graphServicePrincipal };
  };
  let n = 0;
  for (let b = 0; b < opts.blueprints; b++) {
    const name = `${prefix} Blueprint ${b + 1}`;
    const id = randomUUID();
    const appId = randomUUID();
    put({
      id,
      type: 'agentIdentityBlueprint',
      props: { appId, displayName: name, createdDateTime: now, createdByAppId: AGENTID_CLIENT_APP_ID, signInAudience: 'AzureADMyOrg', tags: [], identifierUris: [], passwordCredentials: [], keyCredentials: [], publisherDomain: SEED_DOMAIN },
      owners: [SEED_IDS.admin],
      sponsors: [SEED_IDS.megan],
    });
    const principalId = randomUUID();
    put({
      id: principalId,
      type: 'agentIdentityBlueprintPrincipal',
      props: { accountEnabled: true, appDisplayName: name, appId, appOwnerOrganizationId: state.tenant.id, createdByAppId: AGENTID_CLIENT_APP_ID, createdDateTime: now, displayName: name, servicePrincipalNames: [appId], servicePrincipalType: 'Application', tags: [] },
      owners: [SEED_IDS.admin],
      sponsors: [],
    });
    if (opts.grants) grantFor(principalId);
    const agentIds: string[] = [];
    for (let a = 0; a < opts.agentsPerBlueprint; a++, n++) {
      const agentId = randomUUID();
      agentIds.push(agentId);
      const disabled = !!opts.disabledEvery && n % opts.disabledEvery === 0;
      put({
        id: agentId,
        type: 'agentIdentity',
        props: { accountEnabled: !disabled, tags: [], agentIdentityBlueprintId: appId, createdByAppId: AGENTID_CLIENT_APP_ID, createdDateTime: now, disabledByMicrosoftStatus: null, displayName: `${name} Agent ${a + 1}`, servicePrincipalType: 'ServiceIdentity' },
        owners: [],
        sponsors: [SEED_IDS.megan],
      });
      if (opts.grants) grantFor(agentId);
      if (opts.agentUserEvery && a % opts.agentUserEvery === 0) {
        const upn = `${prefix.toLowerCase()}-b${b + 1}-a${a + 1}@${SEED_DOMAIN}`;
        put({
          id: randomUUID(),
          type: 'agentUser',
          props: { accountEnabled: true, businessPhones: [], displayName: `${name} Agent ${a + 1}`, mail: upn, mailNickname: `${prefix.toLowerCase()}-b${b + 1}-a${a + 1}`, userPrincipalName: upn, userType: 'Member', createdDateTime: now, identityParentId: agentId },
          sponsors: [SEED_IDS.megan],
        });
      }
    }
    out.push({ id, appId, principalId, name, agentIds });
  }
  return out;
}
