import { describe, expect, test } from 'vitest';
import { assignAttributes } from '../../src/mock/customSecurityAttributes.js';
import { parseAttributeArg, assignmentBody, valueOf } from '../../src/graph/attributes.js';
import type { TenantState } from '../../src/mock/state.js';

// Custom security attributes (#13, the at-scale targeting of agents): the emulator's assignment
// rules (GD serviceprincipal-update.md examples, customsecurityattributedefinition-post.md) and
// the CLI's --attribute form.

const VALUE = '#Microsoft.DirectoryServices.CustomSecurityAttributeValue';
const def = (name: string, o: Record<string, unknown> = {}) => ({ id: `Engineering_${name}`, attributeSet: 'Engineering', name, type: 'String', isCollection: false, status: 'Available', usePreDefinedValuesOnly: false, ...o });
const state = {
  attributeSets: { Engineering: { id: 'Engineering', maxAttributesPerSet: 25 } },
  customSecurityAttributeDefinitions: {
    Engineering_ProjectDate: def('ProjectDate'),
    Engineering_Project: def('Project', { isCollection: true, usePreDefinedValuesOnly: true, '@allowedValues': [{ id: 'Baker', isActive: true }, { id: 'Cascade', isActive: true }, { id: 'Old', isActive: false }] }),
    Engineering_NumVendors: def('NumVendors', { type: 'Integer' }),
    Engineering_Retired: def('Retired', { status: 'Deprecated' }),
  },
} as unknown as TenantState;

describe('assignment on an object', () => {
  test('sets per attribute set, keeps the others, and a null removes one (and an emptied set)', () => {
    const a = assignAttributes(state, {}, { Engineering: { '@odata.type': VALUE, ProjectDate: '2022-10-01', NumVendors: 8 } });
    expect(a).toEqual({ Engineering: { '@odata.type': VALUE, ProjectDate: '2022-10-01', NumVendors: 8, 'NumVendors@odata.type': '#Int32' } });
    const b = assignAttributes(state, a, { Engineering: { 'Project@odata.type': '#Collection(String)', Project: ['Baker', 'Cascade'] } });
    expect(b.Engineering).toMatchObject({ ProjectDate: '2022-10-01', Project: ['Baker', 'Cascade'], 'Project@odata.type': '#Collection(String)' });
    expect(assignAttributes(state, assignAttributes(state, {}, { Engineering: { ProjectDate: 'x' } }), { Engineering: { ProjectDate: null } })).toEqual({});
  });

  test('refuses what the definitions do not allow, with a 400 naming it', () => {
    const refused = (patch: unknown) => {
      try {
        assignAttributes(state, {}, patch);
      } catch (err) {
        return `${(err as { status: number }).status} ${(err as Error).message}`;
      }
      return 'accepted';
    };
    expect(refused({ Marketing: { X: 'y' } })).toBe("400 Attribute set 'Marketing' does not exist.");
    expect(refused({ Engineering: { Nope: 'y' } })).toBe("400 Custom security attribute 'Engineering_Nope' is not defined.");
    expect(refused({ Engineering: { ProjectDate: 3 } })).toMatch(/^400 Invalid value for custom security attribute 'Engineering_ProjectDate': expected String/);
    expect(refused({ Engineering: { Project: 'Baker' } })).toMatch(/expected a collection of String/);
    expect(refused({ Engineering: { Project: ['Old'] } })).toBe("400 'Old' is not one of the predefined values of 'Project'.");
    expect(refused({ Engineering: { Retired: 'x' } })).toMatch(/is deprecated/);
  });
});

describe('--attribute SET.NAME=VALUE', () => {
  test('parses, builds the PATCH body, reads a value back; an empty value removes', () => {
    expect(parseAttributeArg('AgentId.Blueprint=8f3c')).toEqual({ set: 'AgentId', name: 'Blueprint', value: '8f3c' });
    expect(parseAttributeArg('AgentId.Blueprint=')).toEqual({ set: 'AgentId', name: 'Blueprint', value: null });
    expect(parseAttributeArg('AgentId.Note=a=b')).toEqual({ set: 'AgentId', name: 'Note', value: 'a=b' });
    expect(assignmentBody([{ set: 'AgentId', name: 'Blueprint', value: 'x' }])).toEqual({ customSecurityAttributes: { AgentId: { '@odata.type': VALUE, Blueprint: 'x' } } });
    expect(valueOf({ agentid: { blueprint: 'x' } }, { set: 'AgentId', name: 'Blueprint' })).toBe('x');
    for (const bad of ['Blueprint', 'AgentId.Blueprint', 'Agent Id.Blueprint=x', 'AgentId.Blue_print=x']) expect(() => parseAttributeArg(bad)).toThrow(/write SET\.NAME=VALUE/);
  });
});
