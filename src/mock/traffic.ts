import type { MockGraphError } from './errors.js';
import type { Store } from './store.js';
import { Faults, type FaultOptions } from './faults.js';
import { Throttle, callerAppId, tenantSizeOf, type TenantSize, type ThrottleOptions } from './throttle.js';
import { AGENTID_CLIENT_APP_ID } from './seed.js';

// Step 2 of the emulator pipeline (handler.ts): latency, injected faults and throttling, in that
// order, for every request including each one inside a $batch (latency only once per HTTP
// request: the inner requests travel inside the batch's).

export interface TrafficOptions {
  throttle?: ThrottleOptions;
  faults?: FaultOptions;
}

export interface Admission {
  /** Refused before the directory acts (429 throttling or fault, 503 fault). */
  refuse?: MockGraphError;
  /** Let through, but answered with this error after the directory acted (504 fault). */
  after?: MockGraphError;
  /** Headers for the answer (x-ms-resource-unit, x-ms-throttle-limit-percentage). */
  headers: Record<string, string>;
}

export class Traffic {
  readonly throttle: Throttle;
  readonly faults: Faults;
  private size: { value: TenantSize; at: number } | undefined;

  constructor(opts: TrafficOptions) {
    this.throttle = new Throttle(opts.throttle ?? { mode: 'off' });
    this.faults = new Faults(opts.faults ?? {});
  }

  async admit(req: Request, url: URL, inner: boolean, store: Store): Promise<Admission> {
    if (!inner) await this.faults.delay();
    const m = /^\/(v1\.0|beta)(\/.*)?$/.exec(url.pathname);
    const path = m?.[2] ?? url.pathname;
    // The $batch envelope is neither faulted nor throttled itself: its requests are, one by one.
    if (/^\/\$batch\/?$/i.test(path)) return { headers: {} };
    const fault = this.faults.draw();
    if (fault?.kind === 'before') return { refuse: fault.error, headers: {} };
    const { tenantId, size } = this.throttle.enabled ? await this.tenant(store) : { tenantId: '', size: 'S' as TenantSize };
    const decision = this.throttle.admit({
      method: req.method.toUpperCase(),
      path,
      query: url.searchParams,
      appId: callerAppId(req.headers.get('authorization'), AGENTID_CLIENT_APP_ID),
      tenantId,
      tenantSize: size,
    });
    if (!decision.ok) return { refuse: decision.error, headers: {} };
    return { ...(fault ? { after: fault.error } : {}), headers: decision.headers };
  }

  /** The tenant's size class, recounted at most once a second (counting users is O(objects)). */
  private async tenant(store: Store): Promise<{ tenantId: string; size: TenantSize }> {
    const now = Date.now();
    return store.read((s) => {
      if (!this.size || now - this.size.at > 1000) {
        let users = 0;
        for (const o of Object.values(s.objects)) if ((o.type === 'user' || o.type === 'agentUser') && !o.deletedDateTime) users++;
        this.size = { value: tenantSizeOf(users), at: now };
      }
      return { tenantId: s.tenant.id, size: this.size.value };
    });
  }
}
