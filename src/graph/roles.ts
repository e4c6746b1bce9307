// Built-in Microsoft Entra roles agentid reasons about, by role template id (the `wids` claim).
// Source: entra-docs docs/identity/role-based-access-control/permissions-reference.md (04/2026).

export const ROLE = {
  globalAdministrator: '62e90394-69f5-4237-9190-012177145e10',
  agentIdAdministrator: 'db506228-d27e-4b7d-95e5-295956d6615f',
  agentIdDeveloper: 'adb2368d-a9be-41b5-8667-d96778e081b0',
  userAdministrator: 'fe930be7-5e62-47db-91af-98c3a49a38b1',
  privilegedAuthenticationAdministrator: '7be44c8a-adaf-4e2a-84d6-ab2649e08a13',
  reportsReader: '4a5d8f65-41da-4de4-8968-e035b65339cf',
  securityReader: '5d6b6bb7-de71-4623-b4af-96380a352509',
  securityAdministrator: '194ae4cb-b126-40b2-bd5b-6091b380977d',
  globalReader: 'f2ef992c-3afb-46b9-b7cf-a126ee74c451',
  // #13: Conditional Access policies and ID Protection for agents.
  conditionalAccessAdministrator: 'b1be1c3e-b65d-4f19-8427-f6fa0d97feb9',
  securityOperator: '5f2222b1-57c3-48ba-8ad5-d4759f1fde6f',
  // #13: custom security attributes, the at-scale targeting of agents in Conditional Access.
  attributeAssignmentAdministrator: '58a13ea3-c632-46ae-9ee0-9c0d43cd7f3d',
  attributeAssignmentReader: 'ffd52fa5-98dc-465c-991d-fc073eb59f8f',
  attributeDefinitionAdministrator: '8424c6f0-a189-499e-bbd0-26c1753c96d4',
  attributeDefinitionReader: '1d336d2c-4ae8-42ef-9711-b3604ce3fc2c',
} as const;

export const ROLE_NAMES: Record<string, string> = {
  [ROLE.globalAdministrator]: 'Global Administrator',
  [ROLE.agentIdAdministrator]: 'Agent ID Administrator',
  [ROLE.agentIdDeveloper]: 'Agent ID Developer',
  [ROLE.userAdministrator]: 'User Administrator',
  [ROLE.privilegedAuthenticationAdministrator]: 'Privileged Authentication Administrator',
  [ROLE.reportsReader]: 'Reports Reader',
  [ROLE.securityReader]: 'Security Reader',
  [ROLE.securityAdministrator]: 'Security Administrator',
  [ROLE.globalReader]: 'Global Reader',
  [ROLE.conditionalAccessAdministrator]: 'Conditional Access Administrator',
  [ROLE.securityOperator]: 'Security Operator',
  [ROLE.attributeAssignmentAdministrator]: 'Attribute Assignment Administrator',
  [ROLE.attributeAssignmentReader]: 'Attribute Assignment Reader',
  [ROLE.attributeDefinitionAdministrator]: 'Attribute Definition Administrator',
  [ROLE.attributeDefinitionReader]: 'Attribute Definition Reader',
};
