import { GraphErrors } from '../errors.js';
import { ok, type MockContext, type MockResult } from '../context.js';

// POST /$batch (GD concepts/json-batching.md): up to 20 requests in one JSON body, each with an
// id, method and relative url (headers and body optional; a body needs a Content-Type header).
// The batch itself answers 200 whenever it parses; each request gets its own status, headers and
// body, and goes through the same per-request pipeline as a top-level request (faults,
// throttling, path parsing, authorization, routing), which `dispatch` runs. dependsOn orders
// requests: one waits for all it names, and answers 424 when any of them failed. Requests that
// depend on nothing run concurrently, so their answers may come back in any order.

export type Dispatch = (req: Request) => Promise<Response>;

export const BATCH_LIMIT = 20;

interface BatchRequest {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: unknown;
  dependsOn: string[];
}

interface BatchResponse {
  id: string;
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

function parseRequests(raw: Record<string, unknown>): BatchRequest[] {
  const list = raw.requests;
  if (!Array.isArray(list)) throw GraphErrors.batchMalformed("The batch request body must contain a 'requests' array.");
  if (list.length > BATCH_LIMIT) throw GraphErrors.batchTooLarge();
  const seen = new Set<string>();
  const out: BatchRequest[] = [];
  for (const item of list) {
    if (!item || typeof item !== 'object' || Array.isArray(item)) throw GraphErrors.batchMalformed('Each batch request must be a JSON object.');
    const r = item as Record<string, unknown>;
    const id = typeof r.id === 'number' ? String(r.id) : r.id;
    if (typeof id !== 'string' || !id) throw GraphErrors.batchMalformed("Each batch request must have an 'id'.");
    // "Not case-sensitive. Must be unique in the batch, otherwise the batch request fails with a 400."
    if (seen.has(id.toLowerCase())) throw GraphErrors.batchDuplicateId(id);
    seen.add(id.toLowerCase());
    if (typeof r.method !== 'string' || !/^(GET|POST|PATCH|PUT|DELETE)$/i.test(r.method)) throw GraphErrors.batchMalformed(`Batch request '${id}' has no valid 'method'.`);
    if (typeof r.url !== 'string' || !r.url) throw GraphErrors.batchMalformed(`Batch request '${id}' has no 'url'.`);
    const headers: Record<string, string> = {};
    if (r.headers !== undefined) {
      if (!r.headers || typeof r.headers !== 'object' || Array.isArray(r.headers)) throw GraphErrors.batchMalformed(`Batch request '${id}' has invalid 'headers'.`);
      for (const [k, v] of Object.entries(r.headers)) headers[k] = String(v);
    }
    // The wording is the one Graph answers with (quoted in Graph SDK issues) [UNCONFIRMED status of the whole batch].
    const hasContentType = Object.keys(headers).some((k) => k.toLowerCase() === 'content-type');
    if (r.body !== undefined && !hasContentType) throw GraphErrors.batchMalformed(`Write request id : ${id} does not contain Content-Type header or body.`);
    let dependsOn: string[] = [];
    if (r.dependsOn !== undefined) {
      if (!Array.isArray(r.dependsOn) || r.dependsOn.some((d) => typeof d !== 'string')) throw GraphErrors.batchMalformed(`Batch request '${id}' has an invalid 'dependsOn'.`);
      dependsOn = r.dependsOn as string[];
    }
    out.push({ id, method: r.method.toUpperCase(), url: r.url, headers, ...(r.body !== undefined ? { body: r.body } : {}), dependsOn });
  }
  const ids = new Set(out.map((r) => r.id.toLowerCase()));
  for (const r of out) {
    for (const d of r.dependsOn) {
      if (!ids.has(d.toLowerCase()) || d.toLowerCase() === r.id.toLowerCase()) throw GraphErrors.batchMalformed(`Batch request '${r.id}' depends on unknown request '${d}'.`);
    }
  }
  return out;
}

/** Copies the outer request's credentials and tracing headers onto an inner one. */
function innerRequest(ctx: MockContext, r: BatchRequest): Request {
  if (/^[a-z]+:\/\//i.test(r.url)) throw GraphErrors.invalidRequest(`Batch request '${r.id}': the url must be relative to the service root, e.g. '/users'.`);
  const rel = r.url.replace(/^\/+/, '');
  if (/^\$batch\b/i.test(rel)) throw GraphErrors.invalidRequest('A batch request cannot contain another $batch.');
  const headers = new Headers();
  for (const name of ['authorization', 'client-request-id']) {
    const v = ctx.header(name);
    if (v) headers.set(name, v);
  }
  for (const [k, v] of Object.entries(r.headers)) headers.set(k, v);
  let body: string | undefined;
  if (r.body !== undefined && r.method !== 'GET') body = typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
  return new Request(`${ctx.url.origin}/${ctx.version}/${rel}`, { method: r.method, headers, ...(body !== undefined ? { body } : {}) });
}

async function toBatchResponse(id: string, res: Response): Promise<BatchResponse> {
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    // The envelope carries the ids; inner answers keep the headers a client acts on.
    if (k !== 'request-id' && k !== 'client-request-id' && k !== 'x-ms-ags-diagnostic') headers[k] = v;
  });
  const text = res.status === 204 ? '' : await res.text();
  if (!text) return { id, status: res.status, headers };
  let body: unknown = text;
  if ((res.headers.get('Content-Type') ?? '').includes('json')) {
    try {
      body = JSON.parse(text);
    } catch {
      /* keep the text */
    }
  }
  return { id, status: res.status, headers, body };
}

export async function batchRoute(ctx: MockContext, dispatch: Dispatch, errorResponse: (err: unknown) => Response): Promise<MockResult> {
  if (ctx.path.rest.length) throw GraphErrors.unknownSegment(ctx.path.rest[0]!);
  if (ctx.method !== 'POST') throw GraphErrors.methodNotAllowed();
  const requests = parseRequests(await ctx.json());
  const byId = new Map(requests.map((r) => [r.id.toLowerCase(), r]));
  const settled = new Map<string, Promise<BatchResponse>>();
  const responses: BatchResponse[] = [];

  const run = (r: BatchRequest): Promise<BatchResponse> => {
    const key = r.id.toLowerCase();
    let p = settled.get(key);
    if (p) return p;
    p = (async () => {
      const deps = await Promise.all(r.dependsOn.map((d) => run(byId.get(d.toLowerCase())!)));
      let res: Response;
      if (deps.some((d) => d.status < 200 || d.status > 299)) res = errorResponse(GraphErrors.failedDependency());
      else {
        try {
          res = await dispatch(innerRequest(ctx, r));
        } catch (err) {
          res = errorResponse(err);
        }
      }
      const out = await toBatchResponse(r.id, res);
      responses.push(out);
      return out;
    })();
    settled.set(key, p);
    return p;
  };
  // A dependency cycle would wait forever; the doc allows only chains and fan-outs, so refuse it.
  assertAcyclic(requests, byId);
  await Promise.all(requests.map(run));
  return ok({ responses });
}

function assertAcyclic(requests: BatchRequest[], byId: Map<string, BatchRequest>): void {
  const state = new Map<string, 1 | 2>();
  const visit = (r: BatchRequest): void => {
    const k = r.id.toLowerCase();
    if (state.get(k) === 2) return;
    if (state.get(k) === 1) throw GraphErrors.batchMalformed(`Batch request '${r.id}' is part of a dependsOn cycle.`);
    state.set(k, 1);
    for (const d of r.dependsOn) visit(byId.get(d.toLowerCase())!);
    state.set(k, 2);
  };
  for (const r of requests) visit(r);
}
