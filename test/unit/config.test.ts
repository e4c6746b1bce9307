import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assertNoSecret, configPath, LOCAL_PROFILE, readConfig, selectProfile, writeConfig, type Config, type Profile } from '../../src/config.js';
import { UsageError } from '../../src/errors.js';

// Profiles under AGENTID_HOME: the built-in `local` profile, which one a command uses, and the
// file itself (atomic, mode 0600, never a secret or a token).

const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});
const home = () => {
  const h = mkdtempSync(path.join(os.tmpdir(), 'agentid-config-'));
  homes.push(h);
  return h;
};

const real = (name: string, extra: Partial<Profile> = {}): Profile => ({ name, target: 'real', credential: 'deviceCode', cloud: 'public', apiVersion: 'v1.0', tenantId: 'contoso.onmicrosoft.com', ...extra });

describe('config file', () => {
  it('has the local profile, the emulated tenant, on a fresh install, without writing anything', () => {
    const h = home();
    expect(readConfig(h)).toEqual({ version: 1, profiles: { local: LOCAL_PROFILE } });
    expect(readdirSync(h)).toEqual([]);
  });

  it('writes atomically with mode 0600 and reads back what it wrote', async () => {
    const h = home();
    const config: Config = { version: 1, current: 'prod', profiles: { local: LOCAL_PROFILE, prod: real('prod') } };
    await writeConfig(h, config);
    expect(statSync(configPath(h)).mode & 0o777).toBe(0o600);
    expect(readdirSync(h)).toEqual(['config.json']); // no temp file left behind
    expect(readConfig(h)).toEqual(config);
  });

  it.each([
    ['a JWT', { tenantId: 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoIn0.sig' }],
    ['a private key', { certificatePath: '-----BEGIN PRIVATE KEY-----\nMIIE' }],
    ['an Entra client secret', { tenantId: 'abc8Q~0123456789abcdefghijklmnopqrstuvwx' }],
  ])('refuses to save a profile holding %s, and writes nothing', async (_what, extra) => {
    const h = home();
    const bad = real('bad', extra as Partial<Profile>);
    expect(() => assertNoSecret(bad)).toThrow(UsageError);
    await expect(writeConfig(h, { version: 1, profiles: { local: LOCAL_PROFILE, bad } })).rejects.toThrow(/looks like a secret or token/);
    expect(readdirSync(h)).toEqual([]);
  });

  it('has no field where a secret could go', async () => {
    const h = home();
    await expect(writeConfig(h, { version: 1, profiles: { x: { ...real('x'), clientSecret: 'hunter2' } as Profile } })).rejects.toThrow();
  });

  it('names the file and the fix when it is not valid', async () => {
    const h = home();
    await writeConfig(h, { version: 1, profiles: { local: LOCAL_PROFILE } });
    const { writeFileSync } = await import('node:fs');
    writeFileSync(configPath(h), '{nope');
    expect(() => readConfig(h)).toThrow(new RegExp(`${configPath(h).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not valid JSON`));
    expect(readFileSync(configPath(h), 'utf8')).toBe('{nope');
  });
});

describe('which profile a command uses', () => {
  const config: Config = { version: 1, current: 'chosen', profiles: { local: LOCAL_PROFILE, chosen: real('chosen'), other: real('other'), env: real('env', { credential: 'environment' }) } };
  const ci = { AZURE_TENANT_ID: 't', AZURE_CLIENT_ID: 'c' };

  it.each<[string, Config, NodeJS.ProcessEnv, string | undefined, string, string]>([
    ['--profile first', config, { AGENTID_PROFILE: 'other' }, 'local', 'local', '--profile'],
    ['then AGENTID_PROFILE', config, { AGENTID_PROFILE: 'other' }, undefined, 'other', 'AGENTID_PROFILE'],
    ['then the one `profile use` chose', config, ci, undefined, 'chosen', 'profile use'],
    ['then AZURE_* (CI, no login step)', { version: 1, profiles: { local: LOCAL_PROFILE } }, ci, undefined, 'env', 'AZURE_* environment'],
    ['else local', { version: 1, profiles: { local: LOCAL_PROFILE } }, {}, undefined, 'local', 'default'],
  ])('%s', (_what, c, env, flag, name, source) => {
    const s = selectProfile(c, env, flag);
    expect({ name: s.profile.name, source: s.source }).toEqual({ name, source });
  });

  it('lists the profiles there are when asked for one that is not', () => {
    expect(() => selectProfile(config, {}, 'nope')).toThrow(/No profile 'nope' \(from --profile\); profiles: local, chosen, other, env\. Create one with 'agentid login --profile nope …'\./);
  });
});
