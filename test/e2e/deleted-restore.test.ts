import { afterAll, describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { BIN, ROOT, baseEnv, fixture, tempHome, type RunResult } from './helpers.js';

// Issue 12 points 3 and 4: a blueprint delete that would orphan agents says so and needs a
// choice; what delete promises ("restorable for 30 days") the deleted group and restore verbs keep.

const dir = fixture('contoso-directory.json');
const megan = dir.users[1];
const h = tempHome();
afterAll(() => h.remove());

function ok(r: RunResult): RunResult {
  expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
  return r;
}

/** agentid on a pseudo-terminal (util-linux `script`, CI unset), typing `answer` once it asks (y/N). */
function answerOnTerminal(args: string[], answer: string): Promise<{ code: number | null; terminal: string }> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', [process.execPath, BIN, ...args].map(quote).join(' '), '/dev/null'], { cwd: ROOT, env: baseEnv(h.home, { CI: undefined, TERM: 'dumb' }), stdio: ['pipe', 'pipe', 'pipe'] });
    let terminal = '';
    let answered = false;
    const onData = (d: string) => {
      terminal += d;
      if (!answered && terminal.includes('(y/N)')) {
        answered = true;
        child.stdin.write(`${answer}\r`);
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    child.on('close', (code) => resolve({ code, terminal }));
  });
}

async function blueprintWithAgents(name: string, agents: string[], upn?: string): Promise<{ id: string; appId: string; agentIds: string[] }> {
  const bp = ok(await h.run(['blueprint', 'create', '--name', name, '--sponsor', megan.userPrincipalName])).json();
  const agentIds: string[] = [];
  for (const a of agents) agentIds.push(ok(await h.run(['agent', 'create', '--blueprint', bp.appId, '--name', a, '--sponsor', megan.userPrincipalName])).json().id);
  if (upn) ok(await h.run(['agent-user', 'create', '--agent', agentIds[0]!, '--upn', upn]));
  return { id: bp.id, appId: bp.appId, agentIds };
}

describe('blueprint delete with agents', () => {
  let bp: { id: string; appId: string; agentIds: string[] };

  test('--dry-run lists the agents and agent users that would be left', async () => {
    bp = await blueprintWithAgents('Orphan Maker', ['Orphan One', 'Orphan Two'], 'orphan-one@contoso.onmicrosoft.com');
    const r = ok(await h.run(['blueprint', 'delete', bp.id, '--dry-run']));
    const plan = r.json();
    expect(plan).toMatchObject({ dryRun: true, agentsAction: 'refuse' });
    expect(plan.agents.map((a: { displayName: string }) => a.displayName).sort()).toEqual(['Orphan One', 'Orphan Two']);
    expect(plan.agentUsers).toEqual([expect.objectContaining({ userPrincipalName: 'orphan-one@contoso.onmicrosoft.com' })]);
    expect(r.stderr).toContain('--with-agents');
  });

  test('refuses without --with-agents or --leave-agents, naming both, and deletes nothing', async () => {
    const r = await h.run(['blueprint', 'delete', bp.id, '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: Blueprint 'Orphan Maker' has 2 agent identities and 1 agent user \(.*Orphan One.*\).*--with-agents.*--leave-agents/);
    ok(await h.run(['blueprint', 'show', bp.id]));
  });

  test('on a terminal the confirmation names the agents and agent users; answering no is exit 0 and changes nothing', async () => {
    const r = await answerOnTerminal(['blueprint', 'delete', bp.id, '--with-agents'], 'n');
    expect(r.code).toBe(0);
    const screen = r.terminal.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\s+/g, ' ');
    expect(screen).toMatch(/Delete blueprint 'Orphan Maker'.*2 agent identities and 1 agent user \(Orphan (One|Two), Orphan (One|Two), orphan-one@contoso\.onmicrosoft\.com\)\?/);
    expect(screen).toContain('Cancelled: nothing was changed.');
    ok(await h.run(['blueprint', 'show', bp.id]));
    expect(ok(await h.run(['agent', 'list', '--blueprint', bp.id])).json()).toHaveLength(2);
  });

  test('--leave-agents deletes the blueprint; agent list --blueprint <deleted id> lists the orphans', async () => {
    const r = ok(await h.run(['blueprint', 'delete', bp.id, '--leave-agents', '--yes']));
    expect(r.json()).toMatchObject({ deleted: true, agentsAction: 'leave', journal: null });
    for (const ref of [bp.id, bp.appId]) {
      const l = ok(await h.run(['agent', 'list', '--blueprint', ref]));
      expect(l.json().map((a: { id: string }) => a.id).sort()).toEqual([...bp.agentIds].sort());
      expect(l.stderr).toMatch(/is deleted .*orphans/);
    }
  });

  test('blueprint restore brings back the blueprint and its principal', async () => {
    ok(await h.run(['agent', 'disable', bp.agentIds[1]!]));
    const r = ok(await h.run(['blueprint', 'restore', bp.id]));
    const out = r.json();
    expect(out).toMatchObject({ id: bp.id, appId: bp.appId, principalRestored: true, principal: { appId: bp.appId, accountEnabled: true } });
    expect(out.disabledAgents).toEqual([{ id: bp.agentIds[1], displayName: 'Orphan Two' }]);
    expect(r.stderr).toContain("Restored blueprint 'Orphan Maker' and its principal.");
    expect(r.stderr).toMatch(/1 of its agents is disabled: Orphan Two/);
    const show = ok(await h.run(['blueprint', 'show', bp.id])).json();
    expect(show.principal).toMatchObject({ accountEnabled: true });
  });

  test('--with-agents deletes agents and agent users first, journaled; bulk undo --last restores everything; a second undo changes nothing', async () => {
    const r = ok(await h.run(['blueprint', 'delete', bp.id, '--with-agents', '--yes']));
    const out = r.json();
    expect(out).toMatchObject({ deleted: true, agentsAction: 'delete', journal: expect.stringMatching(/delete-blueprint-.*\.jsonl$/) });
    expect(ok(await h.run(['agent', 'list', '--blueprint', bp.appId])).json()).toEqual([]);
    const deleted = ok(await h.run(['deleted', 'list'])).json();
    expect(deleted.map((d: { id: string }) => d.id)).toEqual(expect.arrayContaining([bp.id, ...bp.agentIds]));

    const status = ok(await h.run(['bulk', 'status', '--last']));
    expect(status.json()).toMatchObject({ journal: out.journal, kind: 'delete-blueprint', state: 'finished', done: 5 });

    const undo = ok(await h.run(['bulk', 'undo', '--last', '--yes']));
    expect(undo.stderr).toContain('Done: 5 changed, 0 already as asked.');
    expect(ok(await h.run(['agent', 'list', '--blueprint', bp.id])).json()).toHaveLength(2);
    expect(ok(await h.run(['blueprint', 'show', bp.id])).json().principal).toMatchObject({ appId: bp.appId });
    expect(ok(await h.run(['agent-user', 'show', 'orphan-one@contoso.onmicrosoft.com'])).json()).toMatchObject({ identityParentId: bp.agentIds[0] });

    const again = ok(await h.run(['bulk', 'undo', out.journal, '--yes']));
    expect(again.stderr).toContain('0 changed, 5 already as asked');
  });

  test('blueprint restore after --with-agents says which agents are still deleted, and restores only the blueprint and principal', async () => {
    const del = ok(await h.run(['blueprint', 'delete', bp.id, '--with-agents', '--yes']));
    expect(del.json()).toMatchObject({ deleted: true, agentsAction: 'delete' });
    const r = ok(await h.run(['blueprint', 'restore', bp.appId]));
    const out = r.json();
    expect(out).toMatchObject({ id: bp.id, principalRestored: true, principal: { appId: bp.appId }, disabledAgents: [] });
    expect(out.deletedAgents.map((a: { id: string }) => a.id).sort()).toEqual([...bp.agentIds].sort());
    expect(r.stderr).toContain("Restored blueprint 'Orphan Maker' and its principal.");
    expect(r.stderr).toMatch(/2 of its agents are still deleted: Orphan (One|Two), Orphan (One|Two) \(agentid agent restore NAME\)/);
    expect(ok(await h.run(['agent', 'list', '--blueprint', bp.id])).json()).toEqual([]);
    // The next step it names brings one back.
    ok(await h.run(['agent', 'restore', 'Orphan One']));
    expect(ok(await h.run(['agent', 'list', '--blueprint', bp.id])).json().map((a: { displayName: string }) => a.displayName)).toEqual(['Orphan One']);
  });

  test('a blueprint without agents is deleted with --yes alone', async () => {
    const lone = await blueprintWithAgents('Lonely Blueprint', []);
    expect(ok(await h.run(['blueprint', 'delete', lone.id, '--yes'])).json()).toMatchObject({ deleted: true, agentsAction: 'none' });
  });
});

describe('deleted list, restore and purge', () => {
  let bp: { id: string; appId: string; agentIds: string[] };

  test('deleted list --type narrows to one type, one shape for every type', async () => {
    bp = await blueprintWithAgents('Restore Test', ['Restore Agent'], 'restore-agent@contoso.onmicrosoft.com');
    ok(await h.run(['agent-user', 'delete', 'restore-agent@contoso.onmicrosoft.com', '--yes']));
    ok(await h.run(['agent', 'delete', bp.agentIds[0]!, '--yes']));
    const agents = ok(await h.run(['deleted', 'list', '--type', 'agent'])).json();
    expect(agents.every((d: { type: string }) => d.type === 'agent')).toBe(true);
    expect(agents).toContainEqual(expect.objectContaining({ id: bp.agentIds[0], displayName: 'Restore Agent', agentIdentityBlueprintId: bp.appId, userPrincipalName: null }));
    const users = ok(await h.run(['deleted', 'list', '--type', 'agent-user'])).json();
    expect(users).toContainEqual(expect.objectContaining({ type: 'agent-user', userPrincipalName: 'restore-agent@contoso.onmicrosoft.com', identityParentId: bp.agentIds[0] }));
    expect(Object.keys(users[0]).sort()).toEqual(Object.keys(agents[0]).sort());
    const bad = await h.run(['deleted', 'list', '--type', 'group']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--type takes blueprint, agent or agent-user/);
  });

  test('agent restore and agent-user restore (by name and by UPN) bring them back', async () => {
    const a = ok(await h.run(['agent', 'restore', 'Restore Agent']));
    expect(a.json()).toMatchObject({ id: bp.agentIds[0], accountEnabled: true });
    expect(a.stderr).toContain("Restored agent 'Restore Agent'.");
    const u = ok(await h.run(['agent-user', 'restore', 'restore-agent@contoso.onmicrosoft.com']));
    expect(u.json()).toMatchObject({ userPrincipalName: 'restore-agent@contoso.onmicrosoft.com', identityParentId: bp.agentIds[0] });
    const none = await h.run(['agent', 'restore', 'Restore Agent']);
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/No deleted agent identity named 'Restore Agent'/);
  });

  test('deleted purge needs --yes off a terminal, then removes the object for good', async () => {
    ok(await h.run(['agent', 'delete', bp.agentIds[0]!, '--yes']));
    const noYes = await h.run(['deleted', 'purge', bp.agentIds[0]!]);
    expect(noYes.code).toBe(2);
    expect(ok(await h.run(['deleted', 'purge', bp.agentIds[0]!, '--dry-run'])).json()).toMatchObject({ dryRun: true, action: 'purge agent' });
    const r = ok(await h.run(['deleted', 'purge', bp.agentIds[0]!, '--yes']));
    expect(r.json()).toMatchObject({ id: bp.agentIds[0], purged: true });
    const gone = await h.run(['agent', 'restore', bp.agentIds[0]!]);
    expect(gone.code).toBe(3);
    expect(ok(await h.run(['deleted', 'list', '--type', 'agent'])).json().map((d: { id: string }) => d.id)).not.toContain(bp.agentIds[0]);
  });
});
