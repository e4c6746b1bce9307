import { describe, expect, test } from 'vitest';
import type { Snapshot } from '../../src/graph/governance/collect.js';
import { evaluate, unsafeFederation } from '../../src/graph/governance/evaluate.js';
import { RULES } from '../../src/graph/governance/rules.js';

// The rules of agentid report on hand-made snapshots: each verdict pinned, including the
// borders (a credential expiring exactly inside the window, an agent younger than the window).

const NOW = new Date('2026-06-01T00:00:00Z');
const DAY = 86_400_000;
const ago = (d: number) => new Date(NOW.getTime() - d * DAY).toISOString();
const BP_APP = 'b1e2f3a4-0000-4000-8000-000000000001';

function snapshot(over: Partial<Snapshot> = {}): Snapshot {
  return {
    now: NOW,
    since: ago(30),
    blueprints: [{ id: 'bp1', appId: BP_APP, displayName: 'Sales Agent', passwordCredentials: [], keyCredentials: [] }],
    principals: [{ id: 'p1', appId: BP_APP, displayName: 'Sales Agent', accountEnabled: true }],
    agents: [],
    agentUsers: [],
    sponsors: new Map([['bp1', [{ id: 'u1', kind: 'user', displayName: 'Megan', accountEnabled: true, userPrincipalName: 'megan@contoso.com' }]]]),
    owners: new Map([['bp1', [{ id: 'u1' }]]]),
    federated: new Map(),
    inheritable: new Map(),
    groupMembers: new Map(),
    grants: [],
    graphAppRoles: [],
    roleAssignments: [],
    signInsByApp: new Map(),
    signInsByUser: new Map(),
    daily: new Map(),
    warnings: [],
    ...over,
  };
}
const rules = (s: Snapshot) => evaluate(s, { staleDays: 30, expiringDays: 30 }).map((f) => `${f.rule} ${f.objectId}`);

describe('governance rules', () => {
  test('a clean blueprint has no findings', () => {
    expect(rules(snapshot())).toEqual([]);
  });

  test('orphans: no sponsor, only disabled users, an empty group; a group whose members are unknown still counts', () => {
    const agent = (id: string) => ({ id, displayName: id, accountEnabled: true, agentIdentityBlueprintId: BP_APP, createdDateTime: ago(1) });
    const s = snapshot({
      agents: [agent('a-none'), agent('a-disabled'), agent('a-empty'), agent('a-unknown-group')],
      sponsors: new Map([
        ['bp1', [{ id: 'u1', kind: 'user', displayName: 'Megan', accountEnabled: true, userPrincipalName: 'megan@contoso.com' }]],
        ['a-none', []],
        ['a-disabled', [{ id: 'u9', kind: 'user', displayName: 'Left', accountEnabled: false, userPrincipalName: 'left@contoso.com' }]],
        ['a-empty', [{ id: 'g1', kind: 'group', displayName: 'Empty', accountEnabled: null, userPrincipalName: null }]],
        ['a-unknown-group', [{ id: 'g2', kind: 'group', displayName: 'Team', accountEnabled: null, userPrincipalName: null }]],
      ]),
      groupMembers: new Map([['g1', 0]]),
    });
    expect(rules(s).sort()).toEqual(['orphaned.inactive-sponsors a-disabled', 'orphaned.inactive-sponsors a-empty', 'orphaned.no-sponsor a-none']);
    const f = evaluate(s, { staleDays: 30, expiringDays: 30 }).find((x) => x.objectId === 'a-disabled')!;
    expect(f.fix).toBe('agentid bulk sponsor replace --from left@contoso.com --to UPN');
  });

  test('stale: no success in the window (older agents), never signed in (younger, past a week), and young agents left alone', () => {
    const agent = (id: string, createdDays: number) => ({ id, displayName: id, accountEnabled: true, agentIdentityBlueprintId: BP_APP, createdDateTime: ago(createdDays) });
    const s = snapshot({
      agents: [agent('old-silent', 90), agent('old-failing', 90), agent('old-active', 90), agent('new-silent', 10), agent('newborn', 2)],
      signInsByApp: new Map([
        ['old-failing', { count: 3, failures: 3, lastAttempt: ago(1) }],
        ['old-active', { count: 1, failures: 0, lastSuccess: ago(2), lastAttempt: ago(2) }],
      ]),
    });
    expect(rules(s).filter((r) => r.startsWith('stale')).sort()).toEqual(['stale.never-signed-in new-silent', 'stale.no-recent-sign-in old-failing', 'stale.no-recent-sign-in old-silent']);
    const failing = evaluate(s, { staleDays: 30, expiringDays: 30 }).find((x) => x.objectId === 'old-failing')!;
    expect(failing.why).toContain(`last failed attempt ${ago(1)}`);
  });

  test('without sign-in logs the stale rules are skipped, not fired for everyone', () => {
    const s = snapshot({ agents: [{ id: 'a', displayName: 'a', accountEnabled: true, agentIdentityBlueprintId: BP_APP, createdDateTime: ago(90) }], signInError: Object.assign(new Error('denied'), { status: 403 }) as never });
    expect(rules(s)).toEqual([]);
  });

  test('credentials: expired, expiring inside --expiring-days, fine outside; more than one kind', () => {
    const s = snapshot({
      blueprints: [
        {
          id: 'bp1',
          appId: BP_APP,
          displayName: 'Sales Agent',
          passwordCredentials: [
            { keyId: 'k-expired', displayName: 'old', endDateTime: ago(1) },
            { keyId: 'k-soon', displayName: 'soon', endDateTime: ago(-29) },
            { keyId: 'k-later', displayName: 'later', endDateTime: ago(-31) },
          ],
          keyCredentials: [{ keyId: 'c1', displayName: 'cert', endDateTime: ago(-400) }],
        },
      ],
    });
    const found = evaluate(s, { staleDays: 30, expiringDays: 30 });
    expect(found.map((f) => [f.rule, f.detail.keyId ?? null])).toEqual([
      ['credentials.expired', 'k-expired'],
      ['credentials.expiring', 'k-soon'],
      ['credentials.mixed-kinds', null],
    ]);
    expect(found[0]!.fix).toBe('agentid blueprint credential remove bp1 --key-id k-expired');
  });

  test.each([
    ['https://token.actions.githubusercontent.com', 'repo:contoso/app:ref:refs/heads/main', undefined],
    ['https://token.actions.githubusercontent.com', 'repo:contoso/app:environment:prod', undefined],
    ['https://token.actions.githubusercontent.com', 'repo:contoso/app:*', 'a wildcard in the subject'],
    ['https://token.actions.githubusercontent.com', 'repo:contoso/app', "a public issuer with a broad subject ('repo:contoso/app' does not pin a repository and a branch, tag or environment)"],
    ['https://login.microsoftonline.com/*/v2.0', 'x', 'a wildcard in the issuer'],
    ['https://login.microsoftonline.com/3f2a7c1e-5b8d-4e6f-9a0b-1c2d3e4f5a6b/v2.0', '9c4d2f5e-0002-4e8f-9fa0-000000000302', undefined],
  ])('federated %s / %s', (issuer, subject, want) => {
    expect(unsafeFederation(issuer, subject)).toBe(want);
  });

  test('privilege: a high-privilege app role or grant, a directory role, allAllowed inheritance', () => {
    const s = snapshot({
      agents: [{ id: 'a1', displayName: 'a1', accountEnabled: true, agentIdentityBlueprintId: BP_APP, createdDateTime: ago(1) }],
      grants: [{ id: 'g', clientId: 'a1', consentType: 'AllPrincipals', resourceId: 'graph', scope: 'User.Read directory.readwrite.all' }],
      graphAppRoles: [{ id: 'r', appRoleId: '9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8', principalId: 'p1', resourceId: 'graph' }],
      roleAssignments: [{ principalId: 'a1', roleDefinitionId: '62e90394-69f5-4237-9190-012177145e10' }],
      inheritable: new Map([['bp1', [{ resourceAppId: '00000003-0000-0000-c000-000000000000', inheritableScopes: { '@odata.type': '#microsoft.graph.allAllowedScopes' } }]]]),
    });
    const found = evaluate(s, { staleDays: 30, expiringDays: 30 });
    expect(found.map((f) => `${f.rule} ${f.objectId}`).sort()).toEqual(['privilege.directory-role a1', 'privilege.high-permission a1', 'privilege.high-permission p1', 'privilege.inherit-all-scopes bp1']);
    expect(found.find((f) => f.rule === 'privilege.directory-role')!.detail.role).toBe('Global Administrator');
    expect(found.find((f) => f.rule === 'privilege.inherit-all-scopes')!.fix).toContain('--resource graph');
  });

  test('every rule has a unique id, a why and a fix', () => {
    expect(new Set(RULES.map((r) => r.id)).size).toBe(RULES.length);
    for (const r of RULES) expect(r.why.length && r.fix.length).toBeTruthy();
  });
});
