import { GraphErrors } from './errors.js';
import { contextUrl, created, methodNotAllowed, ok, type MockContext, type MockResult } from './context.js';
import type { CollectionSpec } from './odata.js';
import type { TenantState } from './state.js';
import { collectionResponse } from './handlers/common.js';

// Custom security attributes, the documented way to target agents "at scale" in Conditional
// Access (ED identity/conditional-access/agent-id.md "Attribute-driven Conditional Access";
// policy-autonomous-agents.md "Use custom security attributes"): a policy's
// clientApplications.agentIdServicePrincipalFilter is a rule over them.
//   - /directory/attributeSets (GD v1.0 attributeset-post.md, directory-list-attributesets.md):
//     id (the name: up to 32 characters, no spaces or special characters), description,
//     maxAttributesPerSet;
//   - /directory/customSecurityAttributeDefinitions (customsecurityattributedefinition-post.md,
//     directory-list-customsecurityattributedefinitions.md): attributeSet, name, type (String,
//     Integer, Boolean), isCollection, isSearchable, status (Available, Deprecated),
//     usePreDefinedValuesOnly; the id is `{attributeSet}_{name}`;
//   - assignment on an agent identity: PATCH of customSecurityAttributes (GD
//     serviceprincipal-update.md examples "Assign a custom security attribute with a string
//     value", "Remove a single-valued custom security attribute": a null removes it), read only
//     with $select (GD v1.0 resources/agentidentity.md).
// Each has its own permissions (permissions.ts). Not emulated:
// the allowedValues endpoints (values given at creation are kept and enforced), PATCH of a
// definition or set.

// "Can be up to 32 characters long and include Unicode characters. Cannot contain spaces or special characters."
const NAME_RE = /^[\p{L}\p{N}]{1,32}$/u;
const TYPES = ['String', 'Integer', 'Boolean'];
const VALUE_TYPE = '#Microsoft.DirectoryServices.CustomSecurityAttributeValue';

const SET_SPEC: CollectionSpec = { resource: 'attributeSet', filterable: { id: ['eq', 'startsWith'] }, searchable: [], orderable: [], defaultPageSize: 100, maxPageSize: 999, advanced: false };
const DEF_SPEC: CollectionSpec = {
  resource: 'customSecurityAttributeDefinition',
  // GD directory-list-customsecurityattributedefinitions.md: $filter (eq) on attributeSet, name, status, type and the flags.
  filterable: { id: ['eq'], attributeSet: ['eq', 'startsWith'], name: ['eq', 'startsWith'], status: ['eq'], type: ['eq'], isCollection: ['eq'], isSearchable: ['eq'], usePreDefinedValuesOnly: ['eq'] },
  searchable: [],
  orderable: [],
  defaultPageSize: 100,
  maxPageSize: 999,
  advanced: false,
};

const findKey = (rows: Record<string, unknown> | undefined, id: string) => Object.keys(rows ?? {}).find((k) => k.toLowerCase() === id.toLowerCase());

export function attributeSetOf(state: TenantState, id: string): Record<string, unknown> | undefined {
  const k = findKey(state.attributeSets, id);
  return k ? state.attributeSets![k] : undefined;
}

export function definitionOf(state: TenantState, id: string): Record<string, unknown> | undefined {
  const k = findKey(state.customSecurityAttributeDefinitions, id);
  return k ? state.customSecurityAttributeDefinitions![k] : undefined;
}

const shown = (row: Record<string, unknown> | undefined) => (row ? Object.fromEntries(Object.entries(row).filter(([k]) => !k.startsWith('@'))) : undefined);

/** /directory/attributeSets[/{id}] and /directory/customSecurityAttributeDefinitions[/{id}]. */
export async function customSecurityAttributesRoute(ctx: MockContext, coll: 'attributeSets' | 'customSecurityAttributeDefinitions', rest: string[]): Promise<MockResult> {
  const [id, ...more] = rest;
  if (more.length) throw GraphErrors.unknownSegment(more[0]!);
  const sets = coll === 'attributeSets';
  if (id !== undefined) {
    if (ctx.method !== 'GET') return methodNotAllowed();
    const row = await ctx.store.read((s) => shown(sets ? attributeSetOf(s, id) : definitionOf(s, id)));
    if (!row) throw GraphErrors.notFound(id);
    return ok({ '@odata.context': contextUrl(ctx, `directory/${coll}/$entity`), ...row });
  }
  if (ctx.method === 'GET') {
    const items = await ctx.store.read((s) => Object.values((sets ? s.attributeSets : s.customSecurityAttributeDefinitions) ?? {}).map((r) => shown(r)!));
    items.sort((a, b) => String(a.id).localeCompare(String(b.id)));
    return collectionResponse(ctx, items, sets ? SET_SPEC : DEF_SPEC, `directory/${coll}`);
  }
  if (ctx.method !== 'POST') return methodNotAllowed();
  const body = await ctx.json();
  const row = await ctx.store.write((s) => (sets ? createSet(s, body) : createDefinition(s, body)));
  return created({ '@odata.context': contextUrl(ctx, `directory/${coll}/$entity`), ...row });
}

function createSet(s: TenantState, body: Record<string, unknown>): Record<string, unknown> {
  const id = body.id;
  if (typeof id !== 'string' || !id) throw GraphErrors.missingProperty('id', 'attributeSet');
  if (!NAME_RE.test(id)) throw GraphErrors.attributeInvalid(`Attribute set name '${id}' is invalid: up to 32 letters and digits, no spaces or special characters.`);
  if (typeof body.description === 'string' && body.description.length > 128) throw GraphErrors.invalidValue('description');
  if (attributeSetOf(s, id)) throw GraphErrors.attributeExists(id);
  const max = body.maxAttributesPerSet ?? null;
  if (max !== null && (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 500)) throw GraphErrors.invalidValue('maxAttributesPerSet');
  const row = { id, description: typeof body.description === 'string' ? body.description : null, maxAttributesPerSet: max };
  (s.attributeSets ??= {})[id] = row;
  return { ...row };
}

function createDefinition(s: TenantState, body: Record<string, unknown>): Record<string, unknown> {
  for (const k of ['attributeSet', 'name', 'type', 'isCollection', 'isSearchable', 'status', 'usePreDefinedValuesOnly']) {
    if (body[k] === undefined || body[k] === null) throw GraphErrors.missingProperty(k, 'customSecurityAttributeDefinition');
  }
  const set = attributeSetOf(s, String(body.attributeSet));
  if (!set) throw GraphErrors.attributeInvalid(`Attribute set '${String(body.attributeSet)}' does not exist.`);
  const name = String(body.name);
  if (!NAME_RE.test(name)) throw GraphErrors.attributeInvalid(`Attribute name '${name}' is invalid: up to 32 letters and digits, no spaces or special characters.`);
  if (typeof body.description === 'string' && body.description.length > 128) throw GraphErrors.invalidValue('description');
  if (!TYPES.includes(String(body.type))) throw GraphErrors.invalidValue('type');
  if (body.type === 'Boolean' && body.isCollection === true) throw GraphErrors.attributeInvalid('A Boolean attribute cannot be a collection.');
  if (body.type === 'Boolean' && body.usePreDefinedValuesOnly === true) throw GraphErrors.attributeInvalid('A Boolean attribute cannot use predefined values only.');
  // allowedValues may come with the definition (GD customsecurityattributedefinition-post.md example 3).
  const allowed = body.allowedValues ?? [];
  if (!Array.isArray(allowed) || allowed.some((v) => !v || typeof v !== 'object' || typeof (v as Record<string, unknown>).id !== 'string')) throw GraphErrors.invalidValue('allowedValues');
  if (!['Available', 'Deprecated'].includes(String(body.status))) throw GraphErrors.invalidValue('status');
  const id = `${String(set.id)}_${name}`;
  if (definitionOf(s, id)) throw GraphErrors.attributeExists(id);
  const inSet = Object.values(s.customSecurityAttributeDefinitions ?? {}).filter((d) => String(d.attributeSet).toLowerCase() === String(set.id).toLowerCase()).length;
  if (inSet >= Number(set.maxAttributesPerSet ?? 500)) throw GraphErrors.attributeInvalid(`Attribute set '${String(set.id)}' holds its maximum of ${String(set.maxAttributesPerSet)} attributes.`);
  const row = {
    id,
    attributeSet: set.id,
    description: typeof body.description === 'string' ? body.description : null,
    isCollection: body.isCollection === true,
    isSearchable: body.isSearchable === true,
    name,
    status: body.status,
    type: body.type,
    usePreDefinedValuesOnly: body.usePreDefinedValuesOnly === true,
  };
  // Kept beside the definition, not in its JSON (allowedValues is a relationship, not a property).
  (s.customSecurityAttributeDefinitions ??= {})[id] = { ...row, '@allowedValues': (allowed as Record<string, unknown>[]).map((v) => ({ id: String(v.id), isActive: v.isActive !== false })) };
  return { ...row };
}

function checkValue(def: Record<string, unknown>, attr: string, v: unknown): void {
  const bad = () => GraphErrors.attributeInvalid(`Invalid value for custom security attribute '${String(def.id)}': expected ${def.isCollection ? 'a collection of ' : ''}${String(def.type)}.`);
  const one = (x: unknown) => (def.type === 'String' ? typeof x === 'string' : def.type === 'Integer' ? Number.isInteger(x) : typeof x === 'boolean');
  if (def.isCollection ? !Array.isArray(v) || !v.every(one) : !one(v)) throw bad();
  if (def.status !== 'Available') throw GraphErrors.attributeInvalid(`Custom security attribute '${String(def.id)}' is deprecated: no new values can be assigned.`);
  if (def.usePreDefinedValuesOnly) {
    const allowed = new Set(((def['@allowedValues'] as { id: string; isActive: boolean }[] | undefined) ?? []).filter((a) => a.isActive).map((a) => a.id));
    for (const x of Array.isArray(v) ? v : [v]) if (!allowed.has(String(x))) throw GraphErrors.attributeInvalid(`'${String(x)}' is not one of the predefined values of '${attr}'.`);
  }
}

/**
 * The object's customSecurityAttributes after a PATCH of them: per attribute set, the named
 * attributes are set (null removes one); the others stay. Throws a 400 (nothing written) when a
 * set or attribute is not defined or a value does not fit its definition.
 */
export function assignAttributes(state: TenantState, current: unknown, patch: unknown): Record<string, Record<string, unknown>> {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) throw GraphErrors.invalidValue('customSecurityAttributes');
  // A JSON copy: inside a write the state may be an undo proxy, which structuredClone refuses.
  const out = JSON.parse(JSON.stringify(current ?? {})) as Record<string, Record<string, unknown>>;
  for (const [setName, values] of Object.entries(patch as Record<string, unknown>)) {
    const set = attributeSetOf(state, setName);
    if (!set) throw GraphErrors.attributeInvalid(`Attribute set '${setName}' does not exist.`);
    if (!values || typeof values !== 'object' || Array.isArray(values)) throw GraphErrors.invalidValue(`customSecurityAttributes.${setName}`);
    const key = String(set.id);
    const next: Record<string, unknown> = { ...(out[key] ?? {}) };
    for (const [attr, v] of Object.entries(values as Record<string, unknown>)) {
      if (attr.includes('@odata.')) continue;
      const def = definitionOf(state, `${key}_${attr}`);
      if (!def) throw GraphErrors.attributeInvalid(`Custom security attribute '${key}_${attr}' is not defined.`);
      const name = String(def.name);
      if (v === null) {
        delete next[name];
        delete next[`${name}@odata.type`];
        continue;
      }
      checkValue(def, name, v);
      next[name] = v;
      if (def.isCollection) next[`${name}@odata.type`] = def.type === 'Integer' ? '#Collection(Int32)' : '#Collection(String)';
      else if (def.type === 'Integer') next[`${name}@odata.type`] = '#Int32';
    }
    const names = Object.keys(next).filter((k) => !k.includes('@'));
    if (names.length) out[key] = { '@odata.type': VALUE_TYPE, ...Object.fromEntries(Object.entries(next).filter(([k]) => k !== '@odata.type')) };
    else delete out[key];
  }
  return out;
}
