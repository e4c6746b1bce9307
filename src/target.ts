import type { Profile } from './config.js';
import type { TokenVault } from './graph/tokenCache.js';

// Where a command's requests go, and what signing in needs of the CLI. These live here, not in
// context.ts, so that the Graph layer's sign-in (graph/signin.ts) depends on them and not on
// CliContext: context -> graph/signin, never back (issue 11 §4 broke that cycle).

/** Where requests go: the profile's tenant (#3), or the served emulator AGENTID_GRAPH_URL names. */
export type Target =
  | { kind: 'emulated'; mode: 'in-process'; baseUrl: string; stateFile: string; profile: Profile }
  | {
      kind: 'emulated';
      mode: 'served';
      baseUrl: string;
      profile: Profile;
      /** Issue 11: an in-process command sent to the `mock serve` its home's serve record names. */
      serveRecord?: { pid: number; stateFile: string; caPath?: string };
    }
  | { kind: 'real'; baseUrl: string; profile: Profile };

/** The part of the CLI context that signing in uses (CliContext implements it). */
export interface SignInHost {
  readonly env: NodeJS.ProcessEnv;
  readonly io: { stderr: { write(s: string): unknown } };
  readonly interactive: boolean;
  stdinSecret(): Promise<string | undefined>;
  /** The emulated tenant's file in AGENTID_HOME (its key signs the tokens an emulated profile mints). */
  stateFile(): string;
  tokenVault(): Promise<TokenVault | { reason: string }>;
}
