// Typed CLI errors. Each kind maps to one exit code, and the mapping lives only in exitCodeOf()
// (used by main.ts). Commands throw these; they never call process.exit.

export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  notFound: 3,
  auth: 4,
  cancelled: 130,
  /** agentid plan --detailed-exitcode: the plan has changes (not an error). */
  changesPending: 10,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Bad input: one line naming the problem and the fix. Exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A named object does not exist (resolved client-side, e.g. by display name). Exit 3. */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

/** Not signed in, or no right to do this. Exit 4. */
export class AuthError extends Error {
  override name = 'AuthError';
}

/** The user declined a confirmation or pressed Ctrl-C. Exit 130. */
export class CancelledError extends Error {
  override name = 'CancelledError';
  constructor(message = 'Cancelled.') {
    super(message);
  }
}

/**
 * The user answered "no" to a confirmation: their choice was honoured and nothing failed, so exit
 * 0 with "Cancelled: nothing was changed." on stderr (issue 12 #7). gh answers a declined prompt
 * with its silent CancelError, exit 2, which a script cannot tell from bad input; Ctrl-C stays 130.
 */
export class DeclinedError extends CancelledError {
  override name = 'DeclinedError';
  constructor(message = 'Cancelled: nothing was changed.') {
    super(message);
  }
}

/** The operation ran but did not succeed (e.g. some items of a bulk run failed). Exit 1. */
export class OperationError extends Error {
  override name = 'OperationError';
}

/** Anything carrying an HTTP status (GraphRequestError) maps by status: a Graph 400 is an
 * operation failure (1), not a usage error — our own validation catches bad input first. */
export function exitCodeOf(err: unknown): ExitCodeValue {
  if (err instanceof UsageError) return ExitCode.usage;
  if (err instanceof NotFoundError) return ExitCode.notFound;
  if (err instanceof AuthError) return ExitCode.auth;
  if (err instanceof DeclinedError) return ExitCode.ok;
  if (err instanceof CancelledError) return ExitCode.cancelled;
  if (err instanceof OperationError) return ExitCode.failed;
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === 'number') {
    if (status === 404) return ExitCode.notFound;
    if (status === 401 || status === 403) return ExitCode.auth;
    return ExitCode.failed;
  }
  return ExitCode.failed;
}
