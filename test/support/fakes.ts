import type { Logger, PasswordVerifier } from '../../src/index.js';

/**
 * A verifier whose "hash" of `pw` is `fake$pw`: instant and timer-free, so the
 * orchestrator can be tested under fake timers. Records every verification.
 */
export interface RecordingVerifier extends PasswordVerifier {
  readonly calls: { password: string; hash: string }[];
  /** The `maxWaitMs` each verification was given, in order. */
  readonly waits: (number | undefined)[];
}

export const fakeHash = (password: string) => `fake$${password}`;
export const FAKE_DUMMY = 'fake$\u0000dummy';

export function recordingVerifier(): RecordingVerifier {
  const calls: { password: string; hash: string }[] = [];
  const waits: (number | undefined)[] = [];
  return {
    calls,
    waits,
    maxPasswordBytes: 72,
    isWellFormed: (hash) => hash.startsWith('fake$'),
    dummyHash: () => FAKE_DUMMY,
    async verify(password, hash, options) {
      calls.push({ password, hash });
      waits.push(options?.maxWaitMs);
      return hash === fakeHash(password);
    },
  };
}

/** A logger that remembers what it was told instead of printing. */
export interface RecordingLogger extends Logger {
  readonly lines: { level: 'warn' | 'error'; message: string; meta?: unknown }[];
}

export function recordingLogger(): RecordingLogger {
  const lines: RecordingLogger['lines'] = [];
  return {
    lines,
    warn: (message, meta) => lines.push({ level: 'warn', message, meta }),
    error: (message, meta) => lines.push({ level: 'error', message, meta }),
  };
}

/** An error shaped like the ones `pg` throws, with a SQLSTATE or errno `code`. */
export function pgError(code: string, message = `simulated ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

/** What `fn` throws (`undefined` when it returns), for assertions on the error's fields. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}
