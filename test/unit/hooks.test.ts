import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  type AttachedAuth,
  type AttemptEvent,
  type AuthHooks,
  bcryptVerifier,
  ConfigError,
  createResilientAuth,
  type DegradedEvent,
  hashPassword,
  type LookupEvent,
  memoryProvider,
} from '../../src/index.js';
import { pgError, recordingLogger } from '../support/fakes.js';
import { PASSWORD, recordingHooks, twoProviders } from '../support/fixtures.js';

const login = { identifier: 'ada@example.com', password: PASSWORD };

/** A real bcrypt account, and recording hooks and logger, for the scans for secrets. */
async function secretScanSetup() {
  const password = 'S3cret-Pa55word!';
  const passwordHash = await hashPassword(password, 4);
  const primary = memoryProvider({
    name: 'primary',
    accounts: [{ identifier: 'ada@example.com', passwordHash, user: { id: 1 } }],
  });
  return { password, passwordHash, recorded: recordingHooks(), logger: recordingLogger(), primary };
}

describe('hooks', () => {
  it('delivers every event to every installed hook set', async () => {
    const a = recordingHooks();
    const b = recordingHooks();
    const { auth, primary } = twoProviders({ hooks: [a.hooks, b.hooks] });
    primary.fail(pgError('42703'));
    await auth.authenticate(login);
    expect(a.events.map((e) => e.hook)).toEqual([
      'onAttemptStart',
      'onLookup',
      'onProviderFailure',
      'onLookup',
      'onFallback',
      'onDegraded',
      'onAttempt',
    ]);
    expect(b.events).toEqual(a.events);
  });

  it('attaches each hook set with an attach() once, to read health later: the providers in order, live state', async () => {
    const attached: AttachedAuth[] = [];
    const { auth, primary } = twoProviders({
      hooks: [{ attach: (view) => void attached.push(view) }, { onAttempt: () => undefined }],
      policy: { breaker: { consecutiveFailures: 1 }, retry: { maxAttempts: 1 } },
    });
    expect(attached).toHaveLength(1);
    const [view] = attached as [AttachedAuth];
    expect(view.providers).toEqual(['primary', 'fallback']);
    expect(view.health().providers.map((p) => p.state)).toEqual(['closed', 'closed']);
    primary.fail(pgError('08006'));
    await auth.authenticate(login);
    expect(view.health()).toEqual(auth.health());
    expect(view.health().providers[0]?.state).toBe('open');
  });

  it("fails the creation with a ConfigError when a hook set's attach() throws, naming the set and the reason", () => {
    const build = () =>
      twoProviders({
        hooks: [
          {},
          {
            attach() {
              throw new Error('metric resilient_auth_attempts_total is a gauge here');
            },
          },
        ],
      });
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(
      /^hooks: hook set #1: attach\(\) failed: metric resilient_auth_attempts_total is a gauge here$/,
    );
  });

  it('closes the hook sets it had attached when a later attach() throws, so none reports an authenticator that never was', async () => {
    const closed: string[] = [];
    const build = () =>
      twoProviders({
        hooks: [
          { attach: () => undefined, close: async () => void closed.push('metrics') },
          { close: async () => void closed.push('never attached') },
          {
            attach() {
              throw new Error('already attached');
            },
          },
        ],
      });
    expect(build).toThrow(/hook set #2: attach\(\) failed: already attached/);
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toEqual(['metrics']);
  });

  it('gives every event of one call the same call object, and each call its own', async () => {
    const { hooks, events } = recordingHooks();
    const { auth, primary } = twoProviders({ hooks });
    primary.fail(pgError('42703'), 1);
    await auth.authenticate(login);
    await auth.authenticate({ ...login, password: 'wrong' });
    const calls = events.flatMap((e) =>
      'call' in (e.event as object) ? [(e.event as { call: object }).call] : [],
    );
    const [first, second] = [calls[0], calls.at(-1)];
    expect(first).toEqual({ id: 1 });
    expect(second).toEqual({ id: 2 });
    expect(Object.isFrozen(first)).toBe(true);
    const perCall = (call: object) =>
      events.filter((e) => (e.event as { call?: object }).call === call).map((e) => e.hook);
    expect(perCall(first as object)).toEqual([
      'onAttemptStart',
      'onLookup',
      'onProviderFailure',
      'onLookup',
      'onFallback',
      'onAttempt',
    ]);
    expect(perCall(second as object)).toEqual(['onAttemptStart', 'onLookup', 'onAttempt']);
  });

  it('reports each lookup attempt with its result and its own duration, a failure with kind and code', async () => {
    const { hooks, of } = recordingHooks();
    const { auth, primary } = twoProviders({ hooks });
    primary.fail(pgError('42P01'));
    await auth.authenticate(login);
    await auth.authenticate({ ...login, identifier: 'nobody@example.com' });
    const lookups = of('onLookup') as LookupEvent[];
    expect(
      lookups.map(({ provider, result, attempt, kind, code }) => ({
        provider,
        result,
        attempt,
        kind,
        code,
      })),
    ).toEqual([
      { provider: 'primary', result: 'failed', attempt: 1, kind: 'schema', code: '42P01' },
      { provider: 'fallback', result: 'found', attempt: 1, kind: undefined, code: undefined },
      { provider: 'primary', result: 'failed', attempt: 1, kind: 'schema', code: '42P01' },
      { provider: 'fallback', result: 'not_found', attempt: 1, kind: undefined, code: undefined },
    ]);
    expect(lookups[1]).not.toHaveProperty('kind');
    for (const lookup of lookups) expect(lookup.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('isolates hooks: throwing, rejecting and never-settling hooks change neither outcome nor completion', async () => {
    const logger = recordingLogger();
    const witness = recordingHooks();
    const everyEvent = (fn: () => unknown): AuthHooks =>
      Object.fromEntries(Object.keys(witness.hooks).map((k) => [k, fn])) as AuthHooks;
    const { auth, primary } = twoProviders({
      logger,
      hooks: [
        everyEvent(() => {
          throw new Error('audit table missing');
        }),
        everyEvent(() => Promise.reject(new Error('metrics push failed'))),
        everyEvent(() => new Promise(() => undefined)),
        witness.hooks,
      ],
    });
    await expect(auth.authenticate(login)).resolves.toMatchObject({
      ok: true,
      provider: 'primary',
    });
    primary.fail(pgError('08006'));
    await expect(auth.authenticate(login)).resolves.toMatchObject({
      ok: true,
      provider: 'fallback',
    });
    await expect(auth.authenticate({ ...login, password: 'wrong' })).resolves.toMatchObject({
      ok: false,
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(witness.of('onAttempt')).toHaveLength(3);
    expect(logger.lines.length).toBeGreaterThan(0);
    expect(
      logger.lines.every(
        (l) => l.level === 'error' && /hook on\w+ \(hook set #[01]\) failed/.test(l.message),
      ),
    ).toBe(true);
  });

  it('a logger that throws does not break login either', async () => {
    const { auth } = twoProviders({
      logger: {
        warn: () => {
          throw new Error('log sink down');
        },
        error: () => {
          throw new Error('log sink down');
        },
      },
      hooks: {
        onAttempt: () => {
          throw new Error('hook down');
        },
      },
    });
    await expect(auth.authenticate(login)).resolves.toMatchObject({ ok: true });
  });

  it('degraded and recovered are edge-triggered: one event per change, not per request', async () => {
    const { auth, primary, of } = twoProviders({ policy: { retry: { maxAttempts: 1 } } });
    await auth.authenticate(login);
    primary.fail(pgError('08006'), 3);
    for (let i = 0; i < 3; i++) await auth.authenticate(login);
    for (let i = 0; i < 3; i++) await auth.authenticate(login);
    expect(of('onDegraded')).toEqual([
      {
        primary: 'primary',
        provider: 'fallback',
        failures: [expect.objectContaining({ provider: 'primary', code: '08006' })],
      },
    ]);
    expect(of('onRecovered')).toEqual([{ provider: 'primary' }]);
    expect(of('onFallback')).toHaveLength(3);
  });

  it('no event and no log line carries the password or the hash', async () => {
    const { password, passwordHash, recorded, logger, primary } = await secretScanSetup();
    const broken = memoryProvider({
      name: 'broken',
      accounts: [{ identifier: 'eve@example.com', passwordHash: 'not-a-hash', user: { id: 2 } }],
    });
    const auth = createResilientAuth({
      mode: 'federated',
      providers: [primary, broken],
      hooks: [
        recorded.hooks,
        {
          onAttempt: () => {
            throw new Error('boom');
          },
        },
      ],
      logger,
      verifier: (await import('../../src/index.js')).bcryptVerifier({ threads: 0 }),
    });
    await auth.authenticate({ identifier: 'ada@example.com', password });
    await auth.authenticate({ identifier: 'ada@example.com', password: `${password}x` });
    await auth.authenticate({ identifier: 'eve@example.com', password });
    primary.fail(pgError('28P01', 'connect to postgres://app:S3cret-Pa55word!@db:5432/app failed'));
    const errors: unknown[] = [];
    await auth.authenticate({ identifier: 'eve@example.com', password }).catch(() => undefined);
    // Unavailable: the failing store might hold this account.
    await auth
      .authenticate({ identifier: 'nobody@example.com', password })
      .catch((e: unknown) => errors.push(e));
    await auth.authenticate({ identifier: 'x', password: `${password}${'y'.repeat(80)}` });
    const everything = JSON.stringify({ events: recorded.events, log: logger.lines }, (_, v) =>
      v instanceof Error ? { message: v.message, cause: v.cause } : v,
    );
    expect(recorded.of('onUnavailable')).toHaveLength(1);
    expect(recorded.events.length).toBeGreaterThan(5);
    // The error as a careless catch block would print or serialise it.
    expect(errors).toHaveLength(1);
    const printed = `${inspect(errors[0], { depth: 10 })}${JSON.stringify(errors[0])}`;
    expect(printed).toContain('postgres://app:***@db');
    expect(printed).not.toContain(password);
    expect(everything).not.toContain(password);
    expect(everything).not.toContain(passwordHash);
    expect(everything).not.toContain(passwordHash.slice(7));
    await auth.close();
  });
});

describe('hook sets given as class instances', () => {
  class AlertHooks {
    readonly pages: string[] = [];
    onDegraded(event: DegradedEvent): void {
      this.pages.push(`login served by ${event.provider}`);
    }
    onUnavailable(): void {
      this.pages.push('login down');
    }
    // A helper that is not a hook is fine.
    format(text: string): string {
      return text;
    }
  }

  it('calls hooks defined on the prototype, with `this` bound to the instance', async () => {
    const alerts = new AlertHooks();
    const { auth, primary } = twoProviders({ hooks: alerts });
    primary.fail(pgError('08006'));
    await auth.authenticate(login);
    expect(alerts.pages).toEqual(['login served by fallback']);
  });

  it('works inherited through a subclass and mixed with plain hook sets', async () => {
    class AuditedAlerts extends AlertHooks {
      readonly seen: string[] = [];
      onAttempt(event: AttemptEvent): void {
        this.seen.push(event.outcome);
      }
    }
    const alerts = new AuditedAlerts();
    const plain = recordingHooks();
    const { auth, primary } = twoProviders({ hooks: [alerts, plain.hooks] });
    primary.fail(pgError('08006'));
    await auth.authenticate(login);
    expect(alerts.pages).toEqual(['login served by fallback']);
    expect(alerts.seen).toEqual(['authenticated']);
    expect(plain.of('onAttempt')).toHaveLength(1);
  });

  it.each<[string, unknown, RegExp]>([
    [
      'an own typo',
      { onAtempt: () => undefined },
      /^hooks\.onAtempt: unknown hook onAtempt; the hooks are onAttemptStart, onAttempt, onLookup, /,
    ],
    [
      'an inherited typo',
      new (class {
        onFallbak(): void {}
      })(),
      /^hooks\.onFallbak: unknown hook onFallbak;/,
    ],
    [
      'two typos',
      { onAtempt: () => undefined, onDegrade: () => undefined },
      /^hooks: unknown hooks onAtempt, onDegrade;/,
    ],
    [
      'a hook that is not a function',
      { onAttempt: 'yes' },
      /^hooks\.onAttempt: expected a function/,
    ],
    ['an attach that is not a function', { attach: true }, /^hooks\.attach: expected a function/],
    ['a hook set that is not an object', 'onAttempt', /^hooks: expected an object/],
    [
      'an array with a bad set',
      [{}, { onRecoverd: () => undefined }],
      /^hooks\.1\.onRecoverd: unknown hook/,
    ],
  ])('refuses %s with a ConfigError naming it', (_, hooks, message) => {
    const build = () =>
      createResilientAuth({
        providers: [memoryProvider({ accounts: [] })],
        hooks: hooks as AuthHooks,
      });
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(message);
  });

  it('nor do the throttle, overload and rehash events: no password, no stored hash, no connection password', async () => {
    const { password, passwordHash, recorded, logger, primary } = await secretScanSetup();
    const failingStore = {
      query: async () => {
        throw new Error(`connect to postgres://app:${password}@db:5432/app failed`);
      },
    };
    const auth = createResilientAuth({
      providers: [primary],
      hooks: [
        recorded.hooks,
        {
          // An ORM error quoting its query parameters, as Drizzle's does.
          onRehash: ({ hash }) => {
            throw new Error(`Failed query: update users set password_hash = $1\nparams: ${hash},1`);
          },
        },
      ],
      logger,
      verifyWaitMs: 0,
      verifier: bcryptVerifier({ threads: 1, cost: 5 }),
      throttle: { consecutive: { limit: 2 }, store: { type: 'postgres', pool: failingStore } },
    });
    const login = { identifier: 'ada@example.com', password, context: { ip: '192.0.2.1' } };
    // Two at once on one thread that may not wait: one is checked (and rehashed to cost 5), one shed.
    const both = await Promise.allSettled([auth.authenticate(login), auth.authenticate(login)]);
    expect(both.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    for (let i = 0; i < 3; i++) await auth.authenticate({ ...login, password: `${password}x` });
    await auth.close();

    expect(recorded.of('onThrottleStoreFailure')).toEqual([
      { store: 'postgres', message: expect.stringContaining('postgres://app:***@db') },
    ]);
    expect(recorded.of('onUnavailable')).toEqual([
      expect.objectContaining({
        failures: [expect.objectContaining({ code: 'OVERLOADED', kind: 'overloaded' })],
      }),
    ]);
    const rehashes = recorded.of('onRehash') as { hash: string }[];
    expect(rehashes).toHaveLength(1);
    expect(rehashes[0]?.hash).toMatch(/^\$2b\$05\$/);
    expect(logger.lines.map((l) => JSON.stringify(l.meta)).join('\n')).toContain(
      'params: [hash],1',
    );
    expect(JSON.stringify(logger.lines)).not.toContain(rehashes[0]?.hash.slice(7));
    expect(recorded.of('onAttempt')).toContainEqual(
      expect.objectContaining({ outcome: 'rejected', cause: 'rate_limited' }),
    );
    const everything = JSON.stringify({ events: recorded.events, log: logger.lines });
    expect(everything).not.toContain(password);
    expect(everything).not.toContain(passwordHash);
    expect(everything).not.toContain(passwordHash.slice(7));
  });
});
