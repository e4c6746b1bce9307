import { z } from 'zod';

// agentid.yaml, v1 (issue #16): the desired state of a fleet of blueprints, their agents and
// agent users. Objects are strict (a misspelt key is an error, not a silently ignored setting)
// and the stable keys are the map keys: a blueprint's uniqueName, an agent's display name within
// its blueprint, an agent user's UPN. The JSON Schema for editors is generated from this file
// (z.toJSONSchema; schema/agentid.schema.json, checked by test/unit/fleet-schema.test.ts).
// Agents carry custom security attributes (issue #13's assignment, written through the bulk
// engine's setAttribute op) in Graph's customSecurityAttributes shape without the @odata.type
// annotations: { SetName: { AttributeName: value } }.

export const API_VERSION = 'agentid/v1';
export const KIND = 'AgentFleet';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UPN = /^[^@\s]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$/;

const Principal = z
  .string()
  .refine((s) => UPN.test(s) || GUID.test(s), { message: 'a sponsor or owner is a user principal name (name@domain) or an object id (a user or a group)' })
  .describe('A user by UPN (name@domain), or a user or group by object id.');

// [] is allowed only to describe an object that has no sponsor left (an orphan, e.g. its sponsor's
// account was deleted), so that export of such a tenant plans as no changes. Graph requires a
// sponsor to create an object and refuses to remove the last one, so plan refuses [] for a new
// object and for one that has sponsors (src/graph/fleet/plan.ts).
const Sponsors = z.array(Principal).max(100, 'at most 100 sponsors');
const Owners = z.array(Principal).describe('Owners (users). Listed owners are added; others are removed only with --prune (Graph makes the creator an owner).');

export const InheritableScopes = z
  .strictObject({
    scopes: z.array(z.string().min(1)).min(1).optional().describe('Delegated scopes the agents inherit (enumeratedScopes).'),
    allAllowed: z.literal(true).optional().describe('Every scope the blueprint was granted (allAllowedScopes).'),
    none: z.literal(true).optional().describe('No scope is inherited (noScopes).'),
  })
  .refine((s) => [s.scopes, s.allAllowed, s.none].filter((x) => x !== undefined).length === 1, { message: 'give one of scopes: [...], allAllowed: true or none: true' });

export const FederatedCredential = z.strictObject({
  issuer: z.string().url(),
  subject: z.string().min(1),
  audiences: z.array(z.string().min(1)).min(1).default(['api://AzureADTokenExchange']),
  description: z.string().optional(),
});

export const ClientSecret = z
  .strictObject({
    displayName: z.string().min(1).default('agentid').describe('The secret\'s display name; a secret with this name on the blueprint counts as present.'),
    secretFile: z.string().min(1).describe('Where a newly created secret is written (a new file, mode 0600). The secret itself never goes in this file.'),
  })
  .describe('A client secret the blueprint must have. Created once by apply and written to secretFile; never inline.');

// GD attributeset-post.md / customsecurityattributedefinition-post.md: a set or attribute name is
// up to 32 characters, letters and digits (no spaces or special characters).
const AttributeName = z.string().regex(/^[\p{L}\p{N}]{1,32}$/u, 'up to 32 letters and digits (no spaces or special characters)');

export const Attributes = z
  .record(
    AttributeName.describe('An attribute set (its id, e.g. Engineering).'),
    z
      .record(
        AttributeName.describe('An attribute of that set (e.g. Project).'),
        z.string().min(1, 'an attribute value is a non-empty string; null removes the attribute').nullable().describe('The value, a string; null: the attribute must not be assigned.'),
      )
      .describe('Attributes of one set: name → value.'),
  )
  .describe(
    "Custom security attributes of the agent identity, as Graph's customSecurityAttributes without the @odata.type annotations: { SetName: { AttributeName: value } }. Supported: single-valued String attributes (free text or predefined values) that are defined in the tenant and Available; a null value removes the attribute. Listed attributes are set; attributes the file does not list are left as they are. Assigning needs CustomSecAttributeAssignment.ReadWrite.All (delegated: Attribute Assignment Administrator); plan reads the definitions (CustomSecAttributeDefinition.Read.All).",
  );

export const Agent = z
  .strictObject({
    sponsors: Sponsors.optional().describe("Default: the blueprint's sponsors."),
    owners: Owners.optional(),
    enabled: z.boolean().default(true).describe('accountEnabled of the agent identity.'),
    attributes: Attributes.optional(),
  })
  .describe('An agent identity; its key is its display name, unique within the blueprint.');

export const Blueprint = z
  .strictObject({
    displayName: z.string().min(1).max(256),
    description: z.string().max(1024).optional(),
    sponsors: Sponsors,
    owners: Owners.optional(),
    tags: z.array(z.string().min(1)).optional(),
    enabled: z.boolean().default(true).describe("accountEnabled of the blueprint principal: false stops every agent of the blueprint."),
    inheritablePermissions: z.record(z.string().regex(GUID, 'a resource appId (GUID)'), InheritableScopes).optional().describe('Keyed by the resource appId; exactly this set when given.'),
    federatedCredentials: z.record(z.string().min(1).max(120), FederatedCredential).optional().describe('Keyed by name; exactly this set when given.'),
    clientSecret: ClientSecret.optional(),
    agents: z.record(z.string().min(1).max(256), Agent.nullable()).default({}).describe('Agent identities keyed by display name.'),
  })
  .describe("A blueprint; its key is its uniqueName.");

export const AgentUser = z
  .strictObject({
    blueprint: z.string().min(1).describe('uniqueName of a blueprint in this file.'),
    agent: z.string().min(1).describe('The agent identity (its name under that blueprint).'),
    displayName: z.string().min(1).optional().describe("Default: the agent's name."),
    enabled: z.boolean().default(true),
  })
  .describe('An agent user; its key is its user principal name.');

export const Fleet = z
  .strictObject({
    $schema: z.string().optional(),
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(KIND),
    blueprints: z.record(z.string().min(1).max(120), Blueprint).default({}).describe('Blueprints keyed by uniqueName.'),
    agentUsers: z.record(z.string().regex(UPN, 'a user principal name (name@domain)'), AgentUser).optional().describe('Agent users keyed by UPN.'),
  })
  .describe('agentid desired-state file (agentid export / plan / apply).');

export type FleetFile = z.output<typeof Fleet>;
export type FleetBlueprint = z.output<typeof Blueprint>;
export type FleetAgent = z.output<typeof Agent>;

/** The published JSON Schema (what `agentid schema` prints and schema/agentid.schema.json holds). */
export function fleetJsonSchema(): Record<string, unknown> {
  const s = z.toJSONSchema(Fleet, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  return { ...s, title: 'agentid AgentFleet (agentid/v1)' };
}
