import { GraphErrors, type MockGraphError } from './errors.js';

// `mock serve --latency MS --fault-rate P`: a network-shaped delay on every HTTP request, and
// random transient failures of the three kinds Graph asks clients to retry (GD concepts/
// throttling.md, best practices: 429, 503, 504). Where in the request's life each one happens
// matters to a client that must not apply a change twice:
//   429 and 503 refuse the request before the directory acts on it;
//   504 is a gateway timeout after the directory acted: the change is made and the answer lost,
//   so a client that simply resends a non-idempotent write (a create) would apply it twice.
// Requests inside a $batch draw their own fault, as Graph evaluates them one by one.

export type FaultKind = 429 | 503 | 504;

export interface FaultOptions {
  /** Delay per HTTP request in milliseconds of the emulated clock (divided by timeScale). */
  latencyMs?: number;
  /** Probability in [0, 1] that a request fails with one of the kinds. */
  rate?: number;
  kinds?: FaultKind[];
  timeScale?: number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export type Fault = { kind: 'before'; error: MockGraphError } | { kind: 'after'; error: MockGraphError };

export class Faults {
  private readonly scale: number;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly opts: FaultOptions) {
    this.scale = opts.timeScale && opts.timeScale > 0 ? opts.timeScale : 1;
    this.random = opts.random ?? Math.random;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  get active(): boolean {
    return (this.opts.latencyMs ?? 0) > 0 || (this.opts.rate ?? 0) > 0;
  }

  async delay(): Promise<void> {
    const ms = (this.opts.latencyMs ?? 0) / this.scale;
    if (ms > 0) await this.sleep(ms);
  }

  /** The fault this request meets, if any. */
  draw(): Fault | undefined {
    const rate = this.opts.rate ?? 0;
    if (rate <= 0 || this.random() >= rate) return undefined;
    const kinds = this.opts.kinds?.length ? this.opts.kinds : ([429, 503, 504] as FaultKind[]);
    const kind = kinds[Math.floor(this.random() * kinds.length)] ?? 429;
    // One emulated second of Retry-After, in the scaled clock (see throttle.ts on fractions).
    const retryAfter = this.scale === 1 ? 1 : Math.max(0.001, 1 / this.scale);
    if (kind === 429) return { kind: 'before', error: GraphErrors.throttled(retryAfter) };
    if (kind === 503) return { kind: 'before', error: GraphErrors.serviceUnavailable(retryAfter) };
    return { kind: 'after', error: GraphErrors.gatewayTimeout() };
  }
}
