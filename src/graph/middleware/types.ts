import type { Context, Middleware } from '@microsoft/microsoft-graph-client';

// Our middleware use @microsoft/microsoft-graph-client's chain contract (execute + setNext), so
// the SDK's Client drives them; each is small, named and tested on its own.

export type { Context, Middleware };

export abstract class ChainedMiddleware implements Middleware {
  protected next: Middleware | undefined;
  setNext(next: Middleware): void {
    this.next = next;
  }
  abstract execute(context: Context): Promise<void>;
  protected async callNext(context: Context): Promise<void> {
    if (!this.next) throw new Error(`${this.constructor.name} is the last middleware; a transport must follow it.`);
    await this.next.execute(context);
  }
}

/** Headers of a fetch RequestInit as a mutable plain object. */
export function headersOf(context: Context): Record<string, string> {
  const options = (context.options ??= {});
  const h = options.headers;
  if (h instanceof Headers) {
    const plain: Record<string, string> = {};
    h.forEach((v, k) => (plain[k] = v));
    options.headers = plain;
    return plain;
  }
  if (Array.isArray(h)) {
    const plain = Object.fromEntries(h as [string, string][]);
    options.headers = plain;
    return plain;
  }
  options.headers = (h as Record<string, string> | undefined) ?? {};
  return options.headers as Record<string, string>;
}

export function urlOf(context: Context): URL {
  return new URL(typeof context.request === 'string' ? context.request : (context.request as Request).url);
}
