import { createHash, createSign, X509Certificate } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { createSelfSignedCertificate } from '../../src/graph/certificates.js';
import { emulator, type Tenant } from './docs-runner.js';

// What the docs cases added for issue 11 cannot show with a status alone: the 204s of
// setVerifiedPublisher/unsetVerifiedPublisher and of a federated credential upsert change what a
// later GET answers, and the advanced-query scenarios (assignedLicenses/$count, transitiveMemberOf)
// answer the right members, not merely 200.

async function call(t: Tenant, method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
  const h = new Headers(headers);
  if (body !== undefined) h.set('Content-Type', 'application/json');
  const res = await t.handler(new Request(`https://graph.microsoft.com${url}`, { method, headers: h, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) }));
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as Record<string, any> };
}

async function blueprint(t: Tenant): Promise<string> {
  const r = await call(t, 'POST', '/beta/applications/microsoft.graph.agentIdentityBlueprint', { displayName: 'Effects blueprint', 'sponsors@odata.bind': [`https://graph.microsoft.com/beta/users/${t.vars.megan}`] });
  expect(r.status).toBe(201);
  return r.body.id as string;
}

describe('effects behind the documented 204s and 200s', () => {
  test('setVerifiedPublisher sets the MPN id on the blueprint; unsetVerifiedPublisher clears every property; a bad id is a 400', async () => {
    const t = emulator();
    const id = await blueprint(t);
    const base = `/v1.0/applications/${id}/microsoft.graph.agentIdentityBlueprint`;
    expect((await call(t, 'POST', `${base}/setVerifiedPublisher`, { verifiedPublisherId: '1234567' })).status).toBe(204);
    const set = await call(t, 'GET', `${base}?$select=verifiedPublisher`);
    expect(set.body.verifiedPublisher).toMatchObject({ verifiedPublisherId: '1234567', addedDateTime: expect.stringMatching(/^\d{4}-/) });
    expect((await call(t, 'POST', `${base}/unsetVerifiedPublisher`)).status).toBe(204);
    const unset = await call(t, 'GET', `${base}?$select=verifiedPublisher`);
    expect(unset.body.verifiedPublisher).toEqual({ displayName: null, verifiedPublisherId: null, addedDateTime: null });
    const bad = await call(t, 'POST', `${base}/setVerifiedPublisher`, {});
    expect({ status: bad.status, code: bad.body.error.code }).toEqual({ status: 400, code: expect.any(String) });
  });

  test('federatedIdentityCredentials(name=…): upsert creates (201) then updates (204); without Prefer a missing name is 404; a renamed credential is refused', async () => {
    const t = emulator();
    const id = await blueprint(t);
    const url = `/beta/applications/${id}/federatedIdentityCredentials(name='deploy')`;
    const fic = { issuer: 'https://token.actions.githubusercontent.com', subject: 'repo:contoso/app:ref:refs/heads/main', audiences: ['api://AzureADTokenExchange'] };
    expect((await call(t, 'PATCH', url, fic)).status).toBe(404);
    const made = await call(t, 'PATCH', url, fic, { Prefer: 'create-if-missing' });
    expect(made).toMatchObject({ status: 201, body: { name: 'deploy', ...fic, description: null } });
    expect((await call(t, 'PATCH', url, { description: 'main branch' }, { Prefer: 'create-if-missing' })).status).toBe(204);
    const got = await call(t, 'GET', `/beta/applications/${id}/federatedIdentityCredentials/deploy`);
    expect(got.body).toMatchObject({ id: made.body.id, name: 'deploy', description: 'main branch', subject: fic.subject });
    const renamed = await call(t, 'PATCH', `/beta/applications/${id}/federatedIdentityCredentials/${made.body.id}`, { name: 'other' });
    expect(renamed.status).toBe(400);
    const list = await call(t, 'GET', `/beta/applications/${id}/federatedIdentityCredentials`);
    expect(list.body.value.map((f: { name: string }) => f.name)).toEqual(['deploy']);

    // The pages' limits: one audience; audience, issuer, subject and description of at most 600 characters; issuer+subject unique.
    const post = (b: Record<string, unknown>) => call(t, 'POST', `/beta/applications/${id}/federatedIdentityCredentials`, { name: 'second', ...fic, subject: 'repo:contoso/app:environment:prod', ...b });
    expect((await post({ audiences: ['api://AzureADTokenExchange', 'api://other'] })).status).toBe(400);
    expect((await post({ audiences: [`api://${'a'.repeat(600)}`] })).status).toBe(400);
    expect((await post({ subject: 's'.repeat(601) })).status).toBe(400);
    expect((await post({ subject: fic.subject })).status).toBe(400);
    expect((await post({})).status).toBe(201);
    const second = `/beta/applications/${id}/federatedIdentityCredentials/second`;
    expect((await call(t, 'PATCH', second, { description: 'd'.repeat(601) })).status).toBe(400);
    expect((await call(t, 'PATCH', second, { subject: fic.subject })).status).toBe(400);
    expect((await call(t, 'PATCH', second, { description: 'd'.repeat(600) })).status).toBe(204);
  });

  test('assignedLicenses/$count: every user has none in the emulator; eq 0 lists them all, ne 0 none, and it needs the advanced query parameters', async () => {
    const t = emulator();
    const eventual = { ConsistencyLevel: 'eventual' };
    const all = await call(t, 'GET', '/v1.0/users?$count=true', undefined, eventual);
    const none = await call(t, 'GET', '/v1.0/users?$filter=assignedLicenses/$count eq 0&$count=true', undefined, eventual);
    expect(none.body['@odata.count']).toBe(all.body['@odata.count']);
    expect(none.body['@odata.count']).toBeGreaterThan(0);
    const some = await call(t, 'GET', '/v1.0/users?$filter=assignedLicenses/$count ne 0&$count=true', undefined, eventual);
    expect(some.body['@odata.count']).toBe(0);
    const plain = await call(t, 'GET', '/v1.0/users?$filter=assignedLicenses/$count eq 0');
    expect({ status: plain.status, code: plain.body.error.code }).toEqual({ status: 400, code: 'Request_UnsupportedQuery' });
    const unsupported = await call(t, 'GET', '/v1.0/users?$filter=displayName/$count eq 0&$count=true', undefined, eventual);
    expect(unsupported.status).toBe(400);
  });

  test('transitiveMemberOf/microsoft.graph.group lists the dynamic groups whose rule the user meets', async () => {
    const t = emulator();
    const eventual = { ConsistencyLevel: 'eventual' };
    const before = await call(t, 'GET', '/v1.0/me/transitiveMemberOf/microsoft.graph.group?$count=true', undefined, eventual);
    expect(before).toMatchObject({ status: 200, body: { '@odata.count': 0, value: [] } });
    // The seeded dynamic group's rule is (user.department -eq "AI Platform").
    await t.store.write((s) => {
      for (const o of Object.values(s.objects)) if (o.type === 'user' && o.props.userPrincipalName && String(o.props.userPrincipalName).startsWith('admin@')) o.props.department = 'AI Platform';
    });
    const after = await call(t, 'GET', '/v1.0/me/transitiveMemberOf/microsoft.graph.group?$count=true', undefined, eventual);
    expect(after.body['@odata.count']).toBe(1);
    expect(after.body.value).toEqual([expect.objectContaining({ '@odata.type': '#microsoft.graph.group', displayName: 'Agent Sponsors' })]);
    const uncast = await call(t, 'GET', '/v1.0/me/transitiveMemberOf');
    expect(uncast.status).toBe(400);
  });

  test('on beta the $ of a system query option is optional (query-parameters.md); on v1.0 an unprefixed name stays a custom parameter', async () => {
    const t = emulator();
    const beta = await call(t, 'GET', '/beta/users?top=1&select=displayName');
    expect(beta.body.value).toHaveLength(1);
    expect(Object.keys(beta.body.value[0]).filter((k) => !k.startsWith('@'))).toEqual(['displayName']);
    expect(beta.body['@odata.nextLink']).toMatch(/\?\$top=1&\$select=displayName&\$skiptoken=/);
    const v1 = await call(t, 'GET', '/v1.0/users?top=1');
    expect(v1.body.value.length).toBeGreaterThan(1);
    const twice = await call(t, 'GET', '/beta/users?top=1&$top=2');
    expect(twice.status).toBe(400);
  });

  test('addKey/removeKey roll certificates with a proof of possession signed by a registered key (the rules of the pages); every bad proof is refused', async () => {
    const t = emulator();
    const id = await blueprint(t);
    const base = `/v1.0/applications/${id}/microsoft.graph.agentIdentityBlueprint`;
    const [one, two] = await Promise.all([createSelfSignedCertificate('docs effects one', 1), createSelfSignedCertificate('docs effects two', 1)]);
    const der = (pem: string) => new X509Certificate(pem).raw;
    const keyOf = (pem: string) => der(pem).toString('base64');
    const proof = (signer: { certPem: string; keyPem: string }, claims: Record<string, unknown> = {}) => {
      const now = Math.floor(Date.now() / 1000);
      const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const head = enc({ alg: 'RS256', typ: 'JWT', x5t: createHash('sha1').update(der(signer.certPem)).digest('base64url') });
      const body = enc({ aud: '00000002-0000-0000-c000-000000000000', iss: id, nbf: now, exp: now + 600, ...claims });
      return `${head}.${body}.${createSign('RSA-SHA256').update(`${head}.${body}`).sign(signer.keyPem).toString('base64url')}`;
    };
    const newKey = { type: 'AsymmetricX509Cert', usage: 'Verify', key: keyOf(two.certPem), displayName: 'CN=docs effects two' };

    // No certificate yet: nothing can sign a proof ("won't be able to use this service action").
    expect((await call(t, 'POST', `${base}/addKey`, { keyCredential: newKey, proof: proof(one) })).status).toBe(401);
    expect((await call(t, 'PATCH', base, { keyCredentials: [{ type: 'AsymmetricX509Cert', usage: 'Verify', key: keyOf(one.certPem) }] })).status).toBe(204);

    const refused = async (body: Record<string, unknown>) => {
      const r = await call(t, 'POST', `${base}/addKey`, { keyCredential: newKey, ...body });
      return { status: r.status, code: r.body.error.code };
    };
    expect(await refused({})).toEqual({ status: 403, code: 'Authorization_RequestDenied' });
    expect(await refused({ proof: proof(two) })).toEqual({ status: 401, code: 'Authentication_MissingOrMalformed' }); // not a registered key
    expect(await refused({ proof: proof(one, { aud: '00000003-0000-0000-c000-000000000000' }) })).toEqual({ status: 401, code: 'Authentication_MissingOrMalformed' });
    expect(await refused({ proof: proof(one, { iss: t.vars.megan }) })).toEqual({ status: 401, code: 'Authentication_MissingOrMalformed' });
    expect(await refused({ proof: proof(one, { exp: Math.floor(Date.now() / 1000) + 3600 }) })).toEqual({ status: 401, code: 'Authentication_MissingOrMalformed' });
    expect(await refused({ proof: `${proof(one).slice(0, -4)}AAAA` })).toEqual({ status: 401, code: 'Authentication_MissingOrMalformed' });

    const added = await call(t, 'POST', `${base}/addKey`, { keyCredential: newKey, proof: proof(one) });
    expect(added).toMatchObject({ status: 200, body: { type: 'AsymmetricX509Cert', usage: 'Verify', displayName: 'CN=docs effects two', key: null, keyId: expect.any(String) } });
    const keyIdsOf = async () => ((await call(t, 'GET', `${base}?$select=keyCredentials`)).body.keyCredentials as { keyId: string }[]).map((k) => k.keyId);
    const both = await keyIdsOf();
    expect(both).toHaveLength(2);
    const oldKeyId = both.find((k) => k !== added.body.keyId)!;

    // Roll over: the new key proves possession and removes the old one.
    expect((await call(t, 'POST', `${base}/removeKey`, { keyId: '00000000-0000-4000-8000-000000000000', proof: proof(two) })).status).toBe(400);
    expect((await call(t, 'POST', `${base}/removeKey`, { keyId: oldKeyId })).status).toBe(403);
    expect((await call(t, 'POST', `${base}/removeKey`, { keyId: oldKeyId, proof: proof(two) })).status).toBe(204);
    expect(await keyIdsOf()).toEqual([added.body.keyId]);
  });
});
