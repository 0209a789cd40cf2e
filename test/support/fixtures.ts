import { AUTH_HOOK_NAMES } from '../../src/hooks/events.js';
import {
  type AuthHookName,
  type AuthHooks,
  type AuthProvider,
  createResilientAuth,
  type MemoryAccount,
  memoryProvider,
  type ResilientAuthOptions,
} from '../../src/index.js';
import { manualClock } from '../../src/testing/index.js';
import { fakeHash, pgError, recordingLogger, recordingVerifier } from './fakes.js';

export const ADA = { id: 1, email: 'ada@example.com' };
export const PASSWORD = 'correct horse battery staple';

export const accounts: MemoryAccount<typeof ADA>[] = [
  { identifier: 'ada@example.com', passwordHash: fakeHash(PASSWORD), user: ADA },
  {
    identifier: 'disabled@example.com',
    passwordHash: fakeHash(PASSWORD),
    user: { id: 2, email: 'disabled@example.com' },
    active: false,
  },
  {
    identifier: 'rotate@example.com',
    passwordHash: fakeHash(PASSWORD),
    user: { id: 3, email: 'rotate@example.com' },
    mustChangePassword: true,
  },
];

/** Every event every hook saw, in order, for assertions and secret scans. */
export function recordingHooks() {
  const events: { hook: AuthHookName; event: unknown }[] = [];
  const record =
    (hook: AuthHookName) =>
    (event: unknown): void => {
      events.push({ hook, event });
    };
  const hooks: AuthHooks = Object.fromEntries(AUTH_HOOK_NAMES.map((name) => [name, record(name)]));
  const of = (hook: AuthHookName) => events.filter((e) => e.hook === hook).map((e) => e.event);
  return { hooks, events, of };
}

/** Two providers over the same accounts (primary, fallback), a recording verifier, hooks and a manual clock. */
export function twoProviders(options: Partial<ResilientAuthOptions<typeof ADA>> = {}) {
  const primary = memoryProvider({ name: 'primary', accounts });
  const fallback = memoryProvider({ name: 'fallback', accounts });
  const verifier = recordingVerifier();
  const recorded = recordingHooks();
  const logger = recordingLogger();
  const clock = manualClock();
  const auth = createResilientAuth<typeof ADA>({
    providers: [primary, fallback],
    verifier,
    hooks: recorded.hooks,
    logger,
    clock,
    ...options,
  });
  return { auth, primary, fallback, verifier, clock, logger, ...recorded };
}

/** Holds every lookup of `provider` until `release()`: a trial call kept in flight. */
export function holdLookups(provider: { findAccount: AuthProvider<typeof ADA>['findAccount'] }) {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const original = provider.findAccount.bind(provider);
  provider.findAccount = async (identifier, ctx) => {
    await gate;
    return original(identifier, ctx);
  };
  return { release: () => release() };
}

/** A provider that spends `ms` (of the call's deadline) and then fails permanently (42P01). */
export function slowFailure(ms: number): AuthProvider<typeof ADA> {
  return {
    name: 'slow-failure',
    findAccount: async () => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      throw pgError('42P01');
    },
  };
}

/** One primary whose close() is recorded in `closed`, with a recording verifier. */
export function closeRecordingAuth() {
  const closed: string[] = [];
  const primary = memoryProvider({ name: 'primary', accounts });
  const auth = createResilientAuth<typeof ADA>({
    providers: [
      {
        ...primary,
        findAccount: primary.findAccount,
        close: async () => void closed.push('primary'),
      },
    ],
    verifier: recordingVerifier(),
  });
  return { auth, primary, closed };
}
