import { FileStore } from './store.js';
import { seedState } from './seed.js';
import { createMockHandler } from './handler.js';
import type { Transport } from '../graph/middleware/transport.js';

/** The emulated tenant in this process: the same handler `mock serve` serves, over the state
 * file under AGENTID_HOME, with every write locked and atomic (several CLIs may run at once). */
export function createInProcessTransport(stateFile: string): Transport {
  const store = new FileStore(stateFile, { seed: seedState, mode: 'sync' });
  // Like Graph, the emulator answers only requests that carry a token it issued (#3).
  const handler = createMockHandler({ store, requireToken: true });
  return (request) => handler(request);
}

export function createFileStore(stateFile: string, mode: 'sync' | 'deferred' = 'sync'): FileStore {
  return new FileStore(stateFile, { seed: seedState, mode });
}
