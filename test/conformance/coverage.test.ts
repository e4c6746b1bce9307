import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { grantPaths } from '../../src/graph/grants.js';
import * as pathsModule from '../../src/graph/paths.js';

// Coverage of the conformance suite: every Graph endpoint agentid calls has at least one case.
//
// endpoints.json lists the endpoints (method, version, path with {placeholders}) by hand, each
// with the resource module that calls it. Two checks keep it honest:
//  1. every URL template written in src/graph (string and template literals starting with '/',
//     with ${paths.x(…)} / ${grantPaths.x(…)} expanded and any other ${…} a wildcard) matches a
//     listed endpoint, so a new call without a list entry fails here;
//  2. every listed endpoint has a case in cases/ with the same method, version and path.
// The source scan sees paths, not methods: a new method on an already-listed path is caught only
// if its entry is added to the list, which is what review of src/graph changes should ask for.

const HERE = path.dirname(fileURLToPath(import.meta.url));
const GRAPH_DIR = path.join(HERE, '../../src/graph');

interface Endpoint {
  method: string;
  version?: 'v1.0' | 'beta';
  path: string;
  calledBy: string;
}
const endpoints = (JSON.parse(readFileSync(path.join(HERE, 'endpoints.json'), 'utf8')) as { endpoints: Endpoint[] }).endpoints;

/**
 * The form both sides are compared in: no query, and every key a `{}` — placeholders `{…}`,
 * literal GUIDs (a case may name Microsoft Graph's appId) and quoted alternate-key values
 * (`(uniqueName='app-{unique}')`).
 */
const normalize = (p: string) =>
  p
    .split('?')[0]!
    .replace(/\{[^}/]*\}/g, '{}')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '{}')
    .replace(/='[^']*'/g, "='{}'");

const caseRequests = readdirSync(path.join(HERE, 'cases'))
  .filter((n) => n.endsWith('.json'))
  .map((n) => {
    const { request } = JSON.parse(readFileSync(path.join(HERE, 'cases', n), 'utf8')) as { request: { method: string; url: string } };
    const m = /^\/(v1\.0|beta)(\/.*)$/.exec(request.url)!;
    return { name: n, method: request.method, version: m[1]!, path: normalize(m[2]!) };
  });

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? sourceFiles(p) : n.endsWith('.ts') ? [p] : [];
  });
}

const SENTINEL = 'ZZID';
type PathBuilders = Record<string, (...args: string[]) => string>;
const builders: Record<string, PathBuilders> = { paths: pathsModule.paths as unknown as PathBuilders, grantPaths: grantPaths as unknown as PathBuilders };

/** Files of src/graph that send nothing to Graph (their '/…' strings are file paths). */
const NOT_GRAPH = new Set(['tokenCache.ts']);

/** URL templates in src/graph, as `{file, template}` with `{}` for every dynamic part. */
function templatesInSource(): { file: string; template: string }[] {
  const out: { file: string; template: string }[] = [];
  for (const file of sourceFiles(GRAPH_DIR)) {
    if (NOT_GRAPH.has(path.basename(file))) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/'((?:[^'\\\n]|\\.)*)'|`((?:[^`\\]|\\.)*)`/g)) {
      let s = m[1] ?? m[2]!;
      s = s.replace(/\$\{(paths|grantPaths)\.(\w+)\([^}]*\)\}/g, (_, obj: string, fn: string) => builders[obj]![fn]!(SENTINEL, SENTINEL).replaceAll(SENTINEL, '{}'));
      s = s.replace(/\$\{(\w+_CAST)\}/g, (_, name: string) => (pathsModule as unknown as Record<string, string>)[name]!);
      s = normalize(s.replace(/\$\{[^}]*\}/g, '{}'));
      // A path, not a regex or message that happens to start with '/'.
      if (/^(\/|\{\}\/)[A-Za-z$][\w.$'(){}=/-]*$/.test(s)) out.push({ file: path.relative(GRAPH_DIR, file), template: s });
    }
  }
  return out;
}

/** A source template's `{}` stands for one or more path segments of a listed endpoint. */
function matches(template: string, listed: string): boolean {
  const re = new RegExp(`^${template.split('{}').map((s) => s.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('[^?]+')}$`, 'i');
  return re.test(listed);
}

describe('conformance coverage: every endpoint agentid calls has a case', () => {
  const listed = endpoints.map((e) => ({ ...e, version: e.version ?? 'v1.0', path: normalize(e.path) }));

  test('every URL template in src/graph is a listed endpoint', () => {
    const templates = templatesInSource();
    expect(templates.length).toBeGreaterThan(30);
    const unlisted = templates.filter((t) => !listed.some((e) => matches(t.template, e.path))).map((t) => `${t.file}: ${t.template}`);
    expect(unlisted, 'add these to test/conformance/endpoints.json and give each a case').toEqual([]);
  });

  test('every paths.* and grantPaths.* builder is a listed endpoint', () => {
    const missing: string[] = [];
    for (const [obj, fns] of Object.entries(builders)) {
      for (const [name, fn] of Object.entries(fns)) {
        const p = normalize(fn(SENTINEL, SENTINEL).replaceAll(SENTINEL, '{}'));
        if (!listed.some((e) => e.path.toLowerCase() === p.toLowerCase())) missing.push(`${obj}.${name}: ${p}`);
      }
    }
    expect(missing).toEqual([]);
  });

  for (const e of listed) {
    test(`${e.method} /${e.version}${e.path} has a case`, () => {
      const found = caseRequests.filter((c) => c.method === e.method && c.version === e.version && c.path.toLowerCase() === e.path.toLowerCase());
      expect(found.map((c) => c.name), `no case in test/conformance/cases/ for ${e.method} /${e.version}${e.path} (${e.calledBy})`).not.toEqual([]);
    });
  }

  test('the scan can fail: an unlisted template and a wildcard are told apart', () => {
    expect(matches('/users/{}/revokeSignInSessions', '/users/{}/revokeSignInSessions')).toBe(true);
    expect(matches('{}/$ref', '/users/{}/sponsors/$ref')).toBe(true);
    expect(matches('/users/{}/manager', '/users/{}/sponsors')).toBe(false);
  });
});
