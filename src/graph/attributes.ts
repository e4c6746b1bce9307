import type { GraphClient } from './client.js';
import { GraphRequestError } from './errors.js';
import { paths } from './paths.js';
import { UsageError } from '../errors.js';

// Custom security attributes on agent identities: how the Entra docs target "every agent of a
// kind" in Conditional Access at scale (ED identity/conditional-access/agent-id.md "Attribute-driven
// Conditional Access"; policy-autonomous-agents.md "Use custom security attributes"). Sources:
// GD v1.0 attributeset-post.md, customsecurityattributedefinition-post.md (the id is
// `{attributeSet}_{name}`), serviceprincipal-update.md "Assign a custom security attribute with a
// string value" / "Remove a single-valued custom security attribute" (null removes it), and
// resources/agentidentity.md (customSecurityAttributes, returned only with $select).
// Permissions: CustomSecAttributeDefinition.ReadWrite.All to define (an Attribute Definition
// Administrator), CustomSecAttributeAssignment.ReadWrite.All to assign (an Attribute Assignment
// Administrator); no admin role, Global Administrator included, holds them by default.

export const VALUE_TYPE = '#Microsoft.DirectoryServices.CustomSecurityAttributeValue';

export type AttributeValues = Record<string, Record<string, unknown>>;

export interface AttributeRef {
  set: string;
  name: string;
}

/**
 * The attribute `ca create --blueprint` tags agents with: set AgentId, attribute Blueprint, value
 * the blueprint's appId (the value agentIdentity.agentIdentityBlueprintId holds). A convention of
 * agentid's, not of Entra: the docs leave the naming of attribute sets to the tenant.
 */
export const BLUEPRINT_ATTRIBUTE: AttributeRef = { set: 'AgentId', name: 'Blueprint' };

export const attributeId = (a: AttributeRef) => `${a.set}_${a.name}`;

// GD attributeset-post.md / customsecurityattributedefinition-post.md: up to 32 characters, Unicode letters and digits.
const NAME_RE = /^[\p{L}\p{N}]{1,32}$/u;

/** `Set.Name=value` (the form of --attribute); an empty value removes the attribute. */
export function parseAttributeArg(arg: string): AttributeRef & { value: string | null } {
  const m = /^([^.=\s]+)\.([^.=\s]+)=(.*)$/s.exec(arg.trim());
  if (!m || !NAME_RE.test(m[1]!) || !NAME_RE.test(m[2]!)) {
    throw new UsageError(`--attribute '${arg}': write SET.NAME=VALUE, e.g. --attribute AgentId.Blueprint=8f3c… (set and name are up to 32 letters and digits; an empty value removes it).`);
  }
  return { set: m[1]!, name: m[2]!, value: m[3] === '' ? null : m[3]! };
}

/** The body of a PATCH that sets (or, with null, removes) single-valued string attributes. */
export function assignmentBody(values: (AttributeRef & { value: string | null })[]): { customSecurityAttributes: AttributeValues } {
  const out: AttributeValues = {};
  for (const v of values) (out[v.set] ??= { '@odata.type': VALUE_TYPE })[v.name] = v.value;
  return { customSecurityAttributes: out };
}

/** The current value of one attribute in an object's customSecurityAttributes (undefined: not assigned). */
export function valueOf(attrs: AttributeValues | null | undefined, a: AttributeRef): unknown {
  const setKey = Object.keys(attrs ?? {}).find((k) => k.toLowerCase() === a.set.toLowerCase());
  const set = setKey ? attrs![setKey]! : {};
  const key = Object.keys(set).find((k) => k.toLowerCase() === a.name.toLowerCase());
  return key ? set[key] : undefined;
}

export const agentAttributesUrl = (id: string) => `${paths.agent(id)}?$select=id,customSecurityAttributes`;

export async function getAgentAttributes(client: GraphClient, id: string): Promise<AttributeValues> {
  const r = await client.get<{ customSecurityAttributes?: AttributeValues | null }>(agentAttributesUrl(id));
  return r.customSecurityAttributes ?? {};
}

export async function setAgentAttributes(client: GraphClient, id: string, values: (AttributeRef & { value: string | null })[]): Promise<void> {
  await client.patch(paths.agent(id), assignmentBody(values));
}

async function orMissing<T>(f: () => Promise<T>): Promise<T | undefined> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof GraphRequestError && err.status === 404) return undefined;
    throw err;
  }
}

export interface Definition {
  id: string;
  attributeSet: string;
  name: string;
  type: string;
  isCollection: boolean;
  status: string;
  usePreDefinedValuesOnly: boolean;
}

export const getDefinition = (client: GraphClient, a: AttributeRef) => orMissing(() => client.get<Definition>(`/directory/customSecurityAttributeDefinitions/${encodeURIComponent(attributeId(a))}`));

export const getAttributeSet = (client: GraphClient, set: string) => orMissing(() => client.get<{ id: string }>(`/directory/attributeSets/${encodeURIComponent(set)}`));

/** Definition requests with their full URLs, as --dry-run prints them. */
export function definitionPreview(client: GraphClient, defs: { method: 'POST'; path: string; body: Record<string, unknown> }[]): { method: 'POST'; url: string; body: Record<string, unknown> }[] {
  return defs.map((d) => ({ method: d.method, url: client.urlOf(d.path), body: d.body }));
}

/** The requests that define the blueprint attribute, each only if it is missing. */
export async function missingDefinitionRequests(client: GraphClient, a: AttributeRef = BLUEPRINT_ATTRIBUTE): Promise<{ method: 'POST'; path: string; body: Record<string, unknown> }[]> {
  const def = await getDefinition(client, a);
  if (def) {
    if (def.type !== 'String' || def.isCollection || def.usePreDefinedValuesOnly || def.status !== 'Available') {
      throw new UsageError(`Custom security attribute ${attributeId(a)} exists but is not an available single-valued free-text String; agentid cannot tag agents with it. Fix or rename it in Entra first.`);
    }
    return [];
  }
  const out: { method: 'POST'; path: string; body: Record<string, unknown> }[] = [];
  if (!(await getAttributeSet(client, a.set))) out.push({ method: 'POST', path: '/directory/attributeSets', body: { id: a.set, description: 'Agent ID attributes for Conditional Access targeting (agentid)', maxAttributesPerSet: 25 } });
  out.push({
    method: 'POST',
    path: '/directory/customSecurityAttributeDefinitions',
    body: { attributeSet: a.set, name: a.name, description: "The appId of the agent's blueprint, for Conditional Access targeting (agentid)", type: 'String', status: 'Available', isCollection: false, isSearchable: true, usePreDefinedValuesOnly: false },
  });
  return out;
}

export async function send(client: GraphClient, r: { method: 'POST'; path: string; body: Record<string, unknown> }): Promise<void> {
  await client.post(r.path, r.body);
}

// ---------------------------------------------------------------------------------------------
// #13 follow-up: agents created after a blueprint-scoped policy join its targeting

/**
 * Whether agents agentid creates are tagged with AgentId.Blueprint: one read of the definition
 * per command (GD customsecurityattributedefinition-get.md). 404: the tenant has no blueprint
 * attribute, so no policy targets blueprints by it and nothing more is sent. 403: the caller may
 * not read definitions (CustomSecAttributeDefinition.Read.All), so the new agents are not tagged
 * and the command warns. A definition that cannot take the value (deprecated, not a free-text
 * single String) is left alone, as `ca create` would refuse it.
 */
export type BlueprintTagging = { tag: true } | { tag: false; denied?: { code: string } };

export async function blueprintTagging(client: GraphClient): Promise<BlueprintTagging> {
  try {
    const def = await getDefinition(client, BLUEPRINT_ATTRIBUTE);
    if (!def || def.type !== 'String' || def.isCollection || def.usePreDefinedValuesOnly || def.status !== 'Available') return { tag: false };
    return { tag: true };
  } catch (err) {
    if (err instanceof GraphRequestError && err.status === 403) return { tag: false, denied: { code: err.code } };
    throw err;
  }
}

/** The one warning line for an agent agentid created but could not tag. */
export function untaggedWarning(agent: { id: string; displayName?: string | null | undefined }, blueprint: { appId: string; displayName?: string | null | undefined }, why: string): string {
  return (
    `Agent '${agent.displayName ?? agent.id}' is not tagged ${attributeId(BLUEPRINT_ATTRIBUTE)} (${why}): Conditional Access policies that target blueprint '${blueprint.displayName ?? blueprint.appId}' by that attribute do not cover it; ` +
    `tag it with 'agentid agent update ${agent.id} --attribute ${BLUEPRINT_ATTRIBUTE.set}.${BLUEPRINT_ATTRIBUTE.name}=${blueprint.appId}' (needs CustomSecAttributeAssignment.ReadWrite.All; delegated: an Attribute Assignment Administrator).`
  );
}
