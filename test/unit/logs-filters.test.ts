import { describe, expect, test } from 'vitest';
import { auditFilter, localAuditFilter, parseWhen, quote, signInFilter, SignInSummary } from '../../src/graph/logs.js';
import { AuditSchema, SignInsSchema, timeWindow } from '../../src/commands/logs.js';
import { GenerateSchema } from '../../src/commands/mockSignins.js';

// Each flag of `logs signins` / `logs audit` becomes the $filter Graph documents:
// GD beta resources/signin.md + the note "returns only interactive sign-ins unless you set an
// explicit filter … signInEventTypes/any(t: t eq 'nonInteractiveUser')", ED agent-id/
// sign-in-audit-logs-agents.md (`agent/agentType eq …`), GD v1.0 resources/directoryaudit.md.

const ALL_EVENTS = "signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser' or t eq 'servicePrincipal' or t eq 'managedIdentity')";
const NOW = new Date('2026-11-22T08:00:00.000Z');

describe('sign-in $filter', () => {
  test('asks for all four sign-in types by default, since Graph alone returns only interactive ones', () => {
    expect(signInFilter({})).toBe(ALL_EVENTS);
  });

  test('--event-type becomes the documented any() lambda', () => {
    expect(signInFilter({ eventTypes: ['servicePrincipal'] })).toBe("signInEventTypes/any(t: t eq 'servicePrincipal')");
    expect(signInFilter({ eventTypes: ['nonInteractiveUser', 'servicePrincipal'] })).toBe("signInEventTypes/any(t: t eq 'nonInteractiveUser' or t eq 'servicePrincipal')");
  });

  test('--since/--until become createdDateTime ge/le with an unquoted DateTimeOffset', () => {
    expect(signInFilter({ eventTypes: ['servicePrincipal'], since: '2026-11-21T08:00:00Z', until: '2026-11-22T00:00:00Z' })).toBe(
      "signInEventTypes/any(t: t eq 'servicePrincipal') and createdDateTime ge 2026-11-21T08:00:00Z and createdDateTime le 2026-11-22T00:00:00Z",
    );
  });

  test('--agent, --blueprint and --agent-user filter on appId, the agent facet and userId', () => {
    const agent = '11111111-2222-3333-4444-555555555555';
    expect(signInFilter({ eventTypes: ['servicePrincipal'], agentId: agent })).toBe(`signInEventTypes/any(t: t eq 'servicePrincipal') and appId eq '${agent}'`);
    expect(signInFilter({ eventTypes: ['servicePrincipal'], blueprintAppId: 'abc' })).toBe("signInEventTypes/any(t: t eq 'servicePrincipal') and (appId eq 'abc' or agent/parentAppId eq 'abc')");
    expect(signInFilter({ eventTypes: ['nonInteractiveUser'], agentUserId: 'u1' })).toBe("signInEventTypes/any(t: t eq 'nonInteractiveUser') and userId eq 'u1'");
  });

  test('--status becomes status/errorCode', () => {
    expect(signInFilter({ eventTypes: ['servicePrincipal'], status: 'success' })).toBe("signInEventTypes/any(t: t eq 'servicePrincipal') and status/errorCode eq 0");
    expect(signInFilter({ eventTypes: ['servicePrincipal'], status: 'failure' })).toBe("signInEventTypes/any(t: t eq 'servicePrincipal') and status/errorCode ne 0");
  });

  test('--agent-type becomes agent/agentType eq, or-ed when several', () => {
    expect(signInFilter({ eventTypes: ['servicePrincipal'], agentTypes: ['agenticAppInstance'] })).toBe("signInEventTypes/any(t: t eq 'servicePrincipal') and agent/agentType eq 'agenticAppInstance'");
    expect(signInFilter({ eventTypes: ['servicePrincipal'], agentTypes: ['agenticAppInstance', 'agentIDuser'] })).toBe(
      "signInEventTypes/any(t: t eq 'servicePrincipal') and (agent/agentType eq 'agenticAppInstance' or agent/agentType eq 'agentIDuser')",
    );
  });

  test('string literals double their quotes', () => {
    expect(quote("O'Brien")).toBe("'O''Brien'");
  });
});

describe('audit $filter', () => {
  test('nothing to filter gives no $filter at all', () => {
    expect(auditFilter({})).toBeUndefined();
  });

  test('target, activity, initiator and time window', () => {
    expect(auditFilter({ targetId: 'x1' })).toBe("targetResources/any(t: t/id eq 'x1')");
    expect(auditFilter({ activity: 'Add service principal' })).toBe("activityDisplayName eq 'Add service principal'");
    expect(auditFilter({ activity: 'Add*' })).toBe("startswith(activityDisplayName, 'Add')");
    expect(auditFilter({ initiatedBy: 'admin@contoso.onmicrosoft.com' })).toBe("initiatedBy/user/userPrincipalName eq 'admin@contoso.onmicrosoft.com'");
    expect(auditFilter({ initiatedBy: '5e3a9d1f-7c42-4b8e-a0d6-2f1b3c4d5e6f' })).toBe("initiatedBy/app/appId eq '5e3a9d1f-7c42-4b8e-a0d6-2f1b3c4d5e6f'");
    expect(auditFilter({ since: '2026-11-15T08:00:00Z', until: '2026-11-22T08:00:00Z', targetId: 'x1' })).toBe(
      "activityDateTime ge 2026-11-15T08:00:00Z and activityDateTime le 2026-11-22T08:00:00Z and targetResources/any(t: t/id eq 'x1')",
    );
  });

  test('category and result, which Graph documents no filter for, are checked on the rows', () => {
    expect(auditFilter({ category: 'ApplicationManagement', result: 'success' })).toBeUndefined();
    const keep = localAuditFilter({ category: 'applicationmanagement', result: 'success' })!;
    expect(keep({ category: 'ApplicationManagement', result: 'success' })).toBe(true);
    expect(keep({ category: 'UserManagement', result: 'success' })).toBe(false);
    expect(keep({ category: 'ApplicationManagement', result: 'failure' })).toBe(false);
    expect(localAuditFilter({})).toBeUndefined();
  });
});

describe('--since / --until', () => {
  test('durations count back from now, dates are UTC, both to the second', () => {
    expect(parseWhen('24h', NOW, '--since')).toBe('2026-11-21T08:00:00Z');
    expect(parseWhen('7d', NOW, '--since')).toBe('2026-11-15T08:00:00Z');
    expect(parseWhen('30m', NOW, '--since')).toBe('2026-11-22T07:30:00Z');
    expect(parseWhen('2026-11-01', NOW, '--since')).toBe('2026-11-01T00:00:00Z');
    expect(parseWhen('2026-11-01T10:15', NOW, '--since')).toBe('2026-11-01T10:15:00Z');
    expect(parseWhen('2026-11-01T10:15:00+02:00', NOW, '--since')).toBe('2026-11-01T08:15:00Z');
  });

  test('anything else is a usage error naming the flag and the accepted forms', () => {
    expect(() => timeWindow({ since: 'yesterday' }, NOW)).toThrow(/--since 'yesterday' is neither a duration \(30m, 24h, 7d\) nor a date/);
    expect(() => timeWindow({ since: '1d', until: '2d' }, NOW)).toThrow(/--since .* is after --until/);
  });
});

describe('option schemas', () => {
  test('--top and --all exclude each other; --follow excludes --all and --summary', () => {
    expect(SignInsSchema.safeParse({ top: 5, all: true }).success).toBe(false);
    expect(SignInsSchema.safeParse({ follow: true, summary: true }).error?.issues[0]?.message).toMatch(/--follow/);
    expect(SignInsSchema.safeParse({ follow: true, top: 10 }).success).toBe(true);
  });

  test('enumerations name their values', () => {
    expect(SignInsSchema.safeParse({ eventType: ['batch'] }).error?.issues[0]?.message).toMatch(/interactiveUser, nonInteractiveUser, servicePrincipal, managedIdentity/);
    expect(SignInsSchema.safeParse({ agentType: ['AgentIdentity'] }).error?.issues[0]?.message).toMatch(/agenticAppInstance/);
    expect(SignInsSchema.safeParse({ status: 'ok' }).error?.issues[0]?.message).toBe('--status must be success or failure.');
  });

  test('audit takes at most one target flag', () => {
    expect(AuditSchema.safeParse({ agent: 'a', target: 'b' }).error?.issues[0]?.message).toBe('Give at most one of --agent, --blueprint, --agent-user and --target.');
  });

  test('generate bounds --days by the retention and --failure-rate to 0..1', () => {
    expect(GenerateSchema.safeParse({ count: '10', days: '31', failureRate: '0' }).error?.issues[0]?.message).toMatch(/at most 30/);
    expect(GenerateSchema.safeParse({ count: '10', days: '7', failureRate: '1.5' }).error?.issues[0]?.message).toBe('--failure-rate must be between 0 and 1.');
    expect(GenerateSchema.safeParse({ count: '10', days: '7', failureRate: '0.1' }).success).toBe(true);
  });
});

describe('--summary', () => {
  test('groups by agent: sign-ins, failures, distinct addresses, first and last seen; most failures first', () => {
    const s = new SignInSummary();
    const row = (appId: string, t: string, ip: string, errorCode = 0, agentType = 'agenticAppInstance') => ({
      appId,
      appDisplayName: `Agent ${appId}`,
      createdDateTime: t,
      ipAddress: ip,
      status: { errorCode },
      agent: { agentType },
    });
    s.add([row('a', '2026-11-20T10:00:00Z', '1.1.1.1'), row('b', '2026-11-20T11:00:00Z', '2.2.2.2', 7000215)]);
    s.add([row('a', '2026-11-19T10:00:00Z', '1.1.1.2', 0, 'agentIDuser'), row('a', '2026-11-21T10:00:00Z', '1.1.1.1')]);
    expect(s.result()).toEqual([
      { agent: 'Agent b', appId: 'b', agentTypes: 'agenticAppInstance', signIns: 1, failures: 1, distinctIpAddresses: 1, firstSeen: '2026-11-20T11:00:00Z', lastSeen: '2026-11-20T11:00:00Z' },
      { agent: 'Agent a', appId: 'a', agentTypes: 'agentIDuser, agenticAppInstance', signIns: 3, failures: 0, distinctIpAddresses: 2, firstSeen: '2026-11-19T10:00:00Z', lastSeen: '2026-11-21T10:00:00Z' },
    ]);
  });
});
