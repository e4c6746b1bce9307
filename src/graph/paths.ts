// Paths of the Agent ID API, in the documented spellings (GD v1.0 agentidentity*-*.md). Kept in
// one place so that the emulator's conformance tests and the resource modules agree.
import { keySegment } from './client.js';

export const BLUEPRINT_CAST = 'microsoft.graph.agentIdentityBlueprint';
export const PRINCIPAL_CAST = 'microsoft.graph.agentIdentityBlueprintPrincipal';
export const AGENT_CAST = 'microsoft.graph.agentIdentity';
export const AGENT_USER_CAST = 'microsoft.graph.agentUser';

export const paths = {
  blueprints: () => `/applications/${BLUEPRINT_CAST}`,
  blueprint: (id: string) => `/applications/${id}/${BLUEPRINT_CAST}`,
  blueprintByAppId: (appId: string) => `/applications(appId='${keySegment(appId)}')/${BLUEPRINT_CAST}`,
  blueprintByUniqueName: (name: string) => `/applications(uniqueName='${keySegment(name)}')/${BLUEPRINT_CAST}`,
  principals: () => `/servicePrincipals/${PRINCIPAL_CAST}`,
  principal: (id: string) => `/servicePrincipals/${id}/${PRINCIPAL_CAST}`,
  principalByAppId: (appId: string) => `/servicePrincipals(appId='${keySegment(appId)}')/${PRINCIPAL_CAST}`,
  agents: () => `/servicePrincipals/${AGENT_CAST}`,
  agent: (id: string) => `/servicePrincipals/${id}/${AGENT_CAST}`,
  agentUsers: () => `/users/${AGENT_USER_CAST}`,
  agentUser: (id: string) => `/users/${AGENT_USER_CAST}/${id}`,
  user: (idOrUpn: string) => `/users/${encodeURIComponent(idOrUpn)}`,
  group: (id: string) => `/groups/${id}`,
  directoryObject: (id: string) => `/directoryObjects/${id}`,
};

/** The reference URL Graph expects in @odata.bind / @odata.id bodies. */
export function directoryObjectRef(baseUrl: string, version: string, kind: 'users' | 'groups' | 'directoryObjects', id: string): string {
  // Graph resolves references against its own host; the docs always write graph.microsoft.com
  // even for a served emulator, and the emulator accepts any host.
  void baseUrl;
  return `https://graph.microsoft.com/${version}/${kind}/${id}`;
}

export const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isGuid = (s: string) => GUID_RE.test(s);

/** A string literal inside $filter: single quotes doubled (OData ABNF). */
export function odataString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
