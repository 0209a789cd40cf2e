import { performance } from 'node:perf_hooks';
import { failureHint, safeMessage } from '../errors/classify.js';
import {
  AuthUnavailableError,
  ConfigError,
  type ProviderFailure,
  ResilientAuthError,
} from '../errors/errors.js';
import { HookDispatcher } from '../hooks/dispatch.js';
import type { AuthHooks, FailureSummary, RejectionCause, RequestContext } from '../hooks/events.js';
import { consoleLogger } from '../hooks/logger.js';
import { bcryptVerifier } from '../password/bcrypt-verifier.js';
import type { PasswordVerifier } from '../password/verifier.js';
import type { Account, AuthUser, ProviderNotice } from '../providers/provider.js';
import { type Clock, systemClock } from './clock.js';
import { type Credentials, type CredentialsParser, credentialsParser } from './credentials.js';
import { Deadline } from './deadline.js';
import type { CheckReport, HealthSnapshot, HealthStatus, ProviderCheck } from './health.js';
import {
  type AuthMode,
  DEFAULT_DEADLINE_MS,
  type ResilientAuthOptions,
  resolvePolicy,
  validateOptions,
} from './options.js';
import { type AttemptFailure, ProviderSlot, type SlotRecord } from './policies.js';
import type { AuthResult } from './result.js';

/** A configured authenticator. Create it once, share it, `close()` it on shutdown. */
export interface ResilientAuth<U = AuthUser> {
  /**
   * Checks credentials. Resolves an {@link AuthResult} whenever it could decide
   * (wrong password included); rejects with `AuthUnavailableError` only when no
   * provider could answer within the deadline.
   */
  authenticate(credentials: Credentials): Promise<AuthResult<U>>;
  /** Synchronous snapshot: per-provider breaker state, last failure and success; overall status. */
  health(): HealthSnapshot;
  /** Runs every provider's `check()` probe (under its timeout) in parallel. */
  check(): Promise<CheckReport>;
  /** Holds a provider's breaker open by hand: it is skipped until {@link reset}. */
  isolate(name: string): void;
  /** Closes a provider's breaker (lifting isolation) and clears its failure count. */
  reset(name: string): void;
  /** Closes every provider and the verifier's threads. Idempotent. */
  close(): Promise<void>;
}

type Serving = 'healthy' | 'degraded' | 'unavailable';

interface Found<U> {
  readonly account: Account<U> | null;
  readonly provider: string;
  readonly failures: readonly ProviderFailure[];
}

const NO_CONTEXT: RequestContext = Object.freeze({});

/**
 * Creates the authenticator.
 *
 * @example
 * ```ts
 * const auth = createResilientAuth({
 *   providers: [ormProvider, { provider: rawSqlProvider, policy: { timeoutMs: 500 } }],
 *   hooks: { onDegraded: (e) => pager.alert(`login served by ${e.provider}`) },
 * });
 * const result = await auth.authenticate({ identifier: email, password });
 * if (result.ok) startSession(result.user);
 * ```
 * @throws {@link ConfigError} naming the first invalid option.
 */
export function createResilientAuth<U = AuthUser>(
  options: ResilientAuthOptions<U>,
): ResilientAuth<U> {
  validateOptions(options);
  return new Authenticator<U>(options);
}

class Authenticator<U> implements ResilientAuth<U> {
  readonly #slots: readonly ProviderSlot<U>[];
  readonly #byName: ReadonlyMap<string, ProviderSlot<U>>;
  readonly #notifiers: ReadonlyMap<ProviderSlot<U>, (notice: ProviderNotice) => void>;
  readonly #mode: AuthMode;
  readonly #deadlineMs: number;
  readonly #verifier: PasswordVerifier;
  readonly #clock: Clock;
  readonly #hooks: HookDispatcher;
  readonly #parse: CredentialsParser;
  readonly #logger;
  readonly #onAttemptFailure:
    | ((failure: AttemptFailure, context: RequestContext) => void)
    | undefined;
  #dummyHash: string;
  #serving: Serving = 'healthy';
  #closed: Promise<void> | undefined;

  constructor(options: ResilientAuthOptions<U>) {
    this.#mode = options.mode ?? 'failover';
    this.#deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? consoleLogger;
    this.#verifier = options.verifier ?? bcryptVerifier({ logger: this.#logger });
    this.#dummyHash = this.#verifier.dummyHash(undefined);
    this.#parse = credentialsParser(this.#verifier.maxPasswordBytes);
    const hookSets: readonly AuthHooks[] = Array.isArray(options.hooks)
      ? options.hooks
      : options.hooks
        ? [options.hooks as AuthHooks]
        : [];
    this.#hooks = new HookDispatcher(hookSets, this.#logger);
    this.#slots = options.providers.map((entry) => {
      const [provider, own] = 'provider' in entry ? [entry.provider, entry.policy] : [entry];
      return new ProviderSlot<U>(
        provider,
        resolvePolicy(options.policy, own),
        this.#clock,
        (from, to) =>
          this.#hooks.emit('onCircuitStateChange', { provider: provider.name, from, to }),
      );
    });
    this.#byName = new Map(this.#slots.map((slot) => [slot.name, slot]));
    this.#notifiers = new Map(
      this.#hooks.has('onSchemaDrift')
        ? this.#slots.map((slot) => [
            slot,
            (notice: ProviderNotice) =>
              this.#hooks.emit('onSchemaDrift', { ...notice, provider: slot.name }),
          ])
        : [],
    );
    this.#onAttemptFailure = this.#hooks.has('onProviderFailure')
      ? (failure, context) =>
          this.#hooks.emit('onProviderFailure', {
            provider: failure.provider,
            code: failure.code,
            kind: failure.kind,
            message: failure.message,
            attempt: failure.attempt,
            willRetry: failure.willRetry,
            transient: failure.transient,
            durationMs: failure.durationMs,
            context,
          })
      : undefined;
  }

  async authenticate(credentials: Credentials): Promise<AuthResult<U>> {
    if (this.#closed) throw new ResilientAuthError('CLOSED', 'authenticate() called after close()');
    const started = performance.now();
    const input = this.#parse(credentials);
    if (!input.ok) {
      this.#rejected('invalid_input', undefined, undefined, false, started, NO_CONTEXT);
      return { ok: false, reason: 'invalid_input', field: input.field };
    }
    const { identifier, password } = input.value;
    const context = input.value.context ?? NO_CONTEXT;
    const found = await this.#find(identifier, context, started);
    const degraded = found.failures.length > 0;
    const { account, provider } = found;

    let cause: RejectionCause | undefined;
    let hash: string;
    if (account === null) {
      cause = 'unknown_identifier';
      hash = this.#dummyHash;
    } else if (
      typeof account.passwordHash !== 'string' ||
      !this.#verifier.isWellFormed(account.passwordHash)
    ) {
      cause = 'malformed_hash';
      hash = this.#dummyHash;
      this.#hooks.emit('onInvalidHash', { provider, identifier });
    } else {
      hash = account.passwordHash;
      this.#dummyHash = this.#verifier.dummyHash(hash);
    }

    let matches: boolean;
    try {
      matches = await this.#verifier.verify(password, hash);
    } catch (error) {
      throw this.#verifierFailed(error, started, context);
    }
    // A dummy or malformed hash never grants, whatever the verifier said.
    if (cause === undefined && !matches) cause = 'wrong_password';
    if (cause !== undefined || account === null) {
      this.#rejected(cause ?? 'wrong_password', identifier, provider, degraded, started, context);
      return { ok: false, reason: 'invalid_credentials' };
    }
    if (account.active !== true) {
      this.#rejected('account_disabled', identifier, provider, degraded, started, context);
      return { ok: false, reason: 'account_disabled' };
    }
    const lockedForMs = this.#lockedForMs(account.lockedUntil);
    if (lockedForMs > 0) {
      this.#rejected('account_locked', identifier, provider, degraded, started, context);
      return { ok: false, reason: 'account_locked', retryAfterMs: lockedForMs };
    }
    if (this.#hooks.has('onAttempt')) {
      this.#hooks.emit('onAttempt', {
        outcome: 'authenticated',
        identifier,
        provider,
        degraded,
        durationMs: performance.now() - started,
        context,
      });
    }
    return {
      ok: true,
      user: account.user,
      provider,
      degraded,
      mustChangePassword: account.mustChangePassword === true,
    };
  }

  /** The lookup answered but the password could not be checked: that is "cannot decide" too. */
  #verifierFailed(error: unknown, started: number, context: RequestContext): AuthUnavailableError {
    const message = `password verification failed: ${safeMessage(error)}`;
    const failure: ProviderFailure = {
      provider: 'password-verifier',
      code: 'VERIFIER_FAILED',
      kind: 'other',
      message,
      error,
      attempts: 1,
      durationMs: performance.now() - started,
    };
    if (this.#hooks.has('onUnavailable')) {
      this.#hooks.emit('onUnavailable', {
        failures: summaries([failure]),
        durationMs: failure.durationMs,
        context,
      });
    }
    return new AuthUnavailableError(message, [failure], { cause: error });
  }

  /** Asks the providers in order until one can answer (failover) or one finds the account (federated). */
  async #find(identifier: string, context: RequestContext, started: number): Promise<Found<U>> {
    const deadline = new Deadline(this.#deadlineMs);
    const failures: ProviderFailure[] = [];
    const onFailure = this.#onAttemptFailure
      ? (failure: AttemptFailure) => this.#onAttemptFailure?.(failure, context)
      : undefined;
    let notFoundBy: string | undefined;
    for (const slot of this.#slots) {
      const skipped = deadline.expired ? 'deadline_exceeded' : slot.skipReason();
      if (skipped) {
        failures.push(skippedFailure(slot.name, skipped, slot.lastFailure?.code));
        continue;
      }
      const outcome = await slot.lookup(identifier, deadline, onFailure, this.#notifiers.get(slot));
      if (!outcome.ok) {
        failures.push(outcome.failure);
        continue;
      }
      if (outcome.account !== null || this.#mode === 'failover') {
        return this.#answered({ account: outcome.account, provider: slot.name, failures }, context);
      }
      notFoundBy = slot.name;
    }
    // Federated: "not found" is an answer only if every store could be asked.
    if (notFoundBy !== undefined && failures.length === 0) {
      return this.#answered({ account: null, provider: notFoundBy, failures }, context);
    }
    this.#transition('unavailable', undefined, failures);
    if (this.#hooks.has('onUnavailable')) {
      this.#hooks.emit('onUnavailable', {
        failures: summaries(failures),
        durationMs: performance.now() - started,
        context,
      });
    }
    throw new AuthUnavailableError(unavailableMessage(this.#mode, failures, notFoundBy), failures);
  }

  #answered(found: Found<U>, context: RequestContext): Found<U> {
    if (found.failures.length > 0) {
      if (this.#hooks.has('onFallback')) {
        const failures = summaries(found.failures);
        this.#hooks.emit('onFallback', { provider: found.provider, failures, context });
      }
      this.#transition('degraded', found.provider, found.failures);
    } else {
      this.#transition('healthy', found.provider, found.failures);
    }
    return found;
  }

  /** Edge-triggered degraded/recovered events: one per change, not one per request. */
  #transition(
    next: Serving,
    provider: string | undefined,
    failures: readonly ProviderFailure[],
  ): void {
    const previous = this.#serving;
    if (previous === next) return;
    this.#serving = next;
    if (next === 'degraded' && provider !== undefined) {
      if (this.#hooks.has('onDegraded')) {
        this.#hooks.emit('onDegraded', {
          primary: this.#slots[0]!.name,
          provider,
          failures: summaries(failures),
        });
      }
    } else if (next === 'healthy' && provider !== undefined) {
      this.#hooks.emit('onRecovered', { provider });
    }
  }

  #rejected(
    cause: RejectionCause,
    identifier: string | undefined,
    provider: string | undefined,
    degraded: boolean,
    started: number,
    context: RequestContext,
  ): void {
    if (!this.#hooks.has('onAttempt')) return;
    this.#hooks.emit('onAttempt', {
      outcome: 'rejected',
      cause,
      ...(identifier === undefined ? {} : { identifier }),
      ...(provider === undefined ? {} : { provider }),
      degraded,
      durationMs: performance.now() - started,
      context,
    });
  }

  /** Milliseconds until the lock lifts; a value that is not a valid date locks (fail closed). */
  #lockedForMs(lockedUntil: Account<U>['lockedUntil']): number {
    if (lockedUntil === undefined || lockedUntil === null) return 0;
    const until =
      lockedUntil instanceof Date ? lockedUntil.getTime() : new Date(lockedUntil).getTime();
    if (Number.isNaN(until)) return Number.MAX_SAFE_INTEGER;
    return Math.max(0, until - this.#clock.now());
  }

  health(): HealthSnapshot {
    const providers = this.#slots.map((slot) => ({
      name: slot.name,
      state: slot.state,
      ...(slot.lastFailure && {
        lastFailure: { ...describeFailure(slot.lastFailure), at: new Date(slot.lastFailure.atMs) },
      }),
      ...(slot.lastSuccessAtMs !== undefined && { lastSuccessAt: new Date(slot.lastSuccessAtMs) }),
    }));
    return { status: this.#status(), providers };
  }

  #status(): HealthStatus {
    const canServe = this.#slots.map((s) => s.state === 'closed' || s.state === 'half-open');
    if (!canServe.includes(true) || this.#serving === 'unavailable') return 'unhealthy';
    const needed = this.#mode === 'failover' ? canServe.slice(0, 1) : canServe;
    return needed.every(Boolean) && this.#serving === 'healthy' ? 'healthy' : 'degraded';
  }

  async check(): Promise<CheckReport> {
    const providers = await Promise.all(
      this.#slots.map(async (slot): Promise<ProviderCheck> => {
        const started = performance.now();
        if (!slot.provider.check)
          return { name: slot.name, probed: false, ok: true, durationMs: 0 };
        const failed = await slot.probe(this.#notifiers.get(slot));
        return {
          name: slot.name,
          probed: true,
          ok: failed === undefined,
          durationMs: performance.now() - started,
          ...(failed && { error: describeFailure(failed) }),
        };
      }),
    );
    return { ok: providers.every((p) => p.ok), providers, health: this.health() };
  }

  isolate(name: string): void {
    this.#slot(name).isolate();
  }

  reset(name: string): void {
    this.#slot(name).reset();
  }

  #slot(name: string): ProviderSlot<U> {
    const slot = this.#byName.get(name);
    if (!slot) {
      throw new ConfigError(
        'name',
        `no provider named "${name}" (have: ${[...this.#byName.keys()].join(', ')})`,
      );
    }
    return slot;
  }

  close(): Promise<void> {
    this.#closed ??= this.#closeAll();
    return this.#closed;
  }

  async #closeAll(): Promise<void> {
    const closing = [
      ...this.#slots.map((slot) => ({
        what: `provider "${slot.name}"`,
        run: () => slot.provider.close?.(),
      })),
      { what: 'password verifier', run: () => this.#verifier.close?.() },
    ];
    await Promise.all(
      closing.map(async ({ what, run }) => {
        try {
          await run();
        } catch (error) {
          this.#logger.warn(`closing ${what} failed`, { error: safeMessage(error) });
        }
      }),
    );
  }
}

/** A recorded failure as health() and check() show it: message, code, kind and what to check. */
function describeFailure(record: SlotRecord) {
  return {
    message: record.message,
    ...(record.code === undefined ? {} : { code: record.code }),
    kind: record.kind,
    hint: failureHint(record.kind),
  };
}

function summaries(failures: readonly ProviderFailure[]): FailureSummary[] {
  return failures.map(({ error: _raw, ...summary }) => summary);
}

function skippedFailure(
  provider: string,
  skipped: NonNullable<ProviderFailure['skipped']>,
  lastCode: string | undefined,
): ProviderFailure {
  const deadline = skipped === 'deadline_exceeded';
  const code = deadline ? 'DEADLINE_EXCEEDED' : 'CIRCUIT_OPEN';
  const why = {
    circuit_open: 'circuit breaker open',
    half_open_trial_in_flight: 'circuit breaker half-open, its trial call in flight',
    isolated: 'isolated by an operator',
    deadline_exceeded: 'deadline passed before it could be asked',
  }[skipped];
  const message = `provider "${provider}" skipped: ${why}${lastCode ? ` (last failure code ${lastCode})` : ''}`;
  return {
    provider,
    code,
    kind: deadline ? 'timeout' : 'circuit_open',
    message,
    error: new ResilientAuthError(code, message),
    attempts: 0,
    durationMs: 0,
    skipped,
  };
}

function unavailableMessage(
  mode: AuthMode,
  failures: readonly ProviderFailure[],
  notFoundBy: string | undefined,
): string {
  const list = failures
    .map((f) => `${f.provider}: ${f.code ?? 'error'} ${f.message} -> ${failureHint(f.kind)}`)
    .join('; ');
  const lead =
    mode === 'federated' && notFoundBy !== undefined
      ? 'account not found in the stores that answered, and a store that might hold it failed'
      : 'no provider could answer';
  return `${lead} (${list})`;
}
