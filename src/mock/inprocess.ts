import { FileStore } from './store.js';
import { seedState } from './seed.js';
import { createMockHandler } from './handler.js';
import { FileLogStore, licenseTier, logDirOf } from './logs.js';
import type { Transport } from '../graph/middleware/transport.js';

/** The emulated tenant in this process: the same handler `mock serve` serves, over the state
 * file under AGENTID_HOME, with every write locked and atomic (several CLIs may run at once). */
export function createInProcessTransport(stateFile: string): Transport {
  const store = new FileStore(stateFile, { seed: seedState, mode: 'sync' });
  // Like Graph, the emulator answers only requests that carry a token it issued (#3).
  const handler = createMockHandler({ store, logs: createLogStore(stateFile), requireToken: true });
  return (request) => handler(request);
}

export function createFileStore(stateFile: string, mode: 'sync' | 'deferred' = 'sync'): FileStore {
  return new FileStore(stateFile, { seed: seedState, mode });
}

/** The tenant's sign-in and audit logs, in files beside tenant.json (#5, see logs.ts). */
export function createLogStore(stateFile: string, mode: 'sync' | 'deferred' = 'sync'): FileLogStore {
  return new FileLogStore(logDirOf(stateFile), { mode, tier: licenseTier() });
}
