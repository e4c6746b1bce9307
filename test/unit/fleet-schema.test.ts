import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { fleetJsonSchema } from '../../src/graph/fleet/schema.js';
import { parseFleet } from '../../src/graph/fleet/file.js';

// The JSON Schema shipped in the package (schema/agentid.schema.json) is generated from the zod
// schema; this fails when someone changes one without regenerating the other
// (npm run build && node scripts/fleet-schema.mjs).

const root = path.resolve(import.meta.dirname, '../..');

describe('fleet file schema', () => {
  test('schema/agentid.schema.json is what the zod schema generates', () => {
    expect(JSON.parse(readFileSync(path.join(root, 'schema', 'agentid.schema.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(fleetJsonSchema())));
  });

  test('the package ships the schema directory', () => {
    expect(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).files).toContain('schema');
  });

  test('JSON files read like YAML, with line numbers in errors', () => {
    const json = JSON.stringify({ apiVersion: 'agentid/v1', kind: 'AgentFleet', blueprints: { b: { displayName: 'B', sponsors: ['a@contoso.com'], agents: { x: { enabled: 'no' } } } } }, null, 2);
    expect(() => parseFleet(json, 'agentid.json', {})).toThrow(/^agentid\.json:12 \(blueprints\.b\.agents\.x\.enabled\): Invalid input: expected boolean, received string\.$/);
    const ok = parseFleet(json.replace('"no"', 'false'), 'agentid.json', {});
    expect(ok.fleet.blueprints.b!.agents.x).toEqual({ enabled: false });
  });

  test('inheritable permissions take exactly one of scopes, allAllowed or none (noScopes)', () => {
    const file = (perm: string) => `apiVersion: agentid/v1\nkind: AgentFleet\nblueprints:\n  b:\n    displayName: B\n    sponsors: [a@contoso.com]\n    inheritablePermissions:\n      00000003-0000-0000-c000-000000000000: ${perm}\n`;
    expect(parseFleet(file('{ none: true }'), 'f.yaml', {}).fleet.blueprints.b!.inheritablePermissions).toEqual({ '00000003-0000-0000-c000-000000000000': { none: true } });
    expect(() => parseFleet(file('{ none: true, allAllowed: true }'), 'f.yaml', {})).toThrow(/^f\.yaml:8 \(blueprints\.b\.inheritablePermissions\["00000003-0000-0000-c000-000000000000"\]\): give one of scopes: \[\.\.\.\], allAllowed: true or none: true\.$/);
    expect(() => parseFleet(file('{}'), 'f.yaml', {})).toThrow(/give one of scopes/);
  });

  test('sponsors: [] parses (an orphan as it is); plan decides whether Graph allows it', () => {
    const r = parseFleet('apiVersion: agentid/v1\nkind: AgentFleet\nblueprints:\n  b:\n    displayName: B\n    sponsors: []\n    agents:\n      A: { sponsors: [] }\n', 'f.yaml', {});
    expect(r.fleet.blueprints.b!.sponsors).toEqual([]);
    expect(r.fleet.blueprints.b!.agents.A!.sponsors).toEqual([]);
  });

  test('an agent written as a bare key is an enabled agent with the blueprint\'s sponsors', () => {
    const r = parseFleet('apiVersion: agentid/v1\nkind: AgentFleet\nblueprints:\n  b:\n    displayName: B\n    sponsors: [a@contoso.com]\n    agents:\n      Agent A:\n', 'f.yaml', {});
    expect(r.fleet.blueprints.b!.agents).toEqual({ 'Agent A': null });
    expect(r.fleet.blueprints.b!.enabled).toBe(true);
  });
});
