import { EmergencyGate } from '../emergency/emergency-gate.js';
import { safeMessage } from '../errors/classify.js';
import { AuthUnavailableError, ConfigError, ResilientAuthError } from '../errors/errors.js';
import { HookDispatcher } from '../hooks/dispatch.js';
import type {
  AttachedAuth,
  AuthCall,
  AuthHooks,
  HookSetHealth,
  RequestContext,
} from '../hooks/events.js';
import type { Logger } from '../hooks/logger.js';
import { bcryptVerifier } from '../password/bcrypt-verifier.js';
import type { PasswordVerifier } from '../password/verifier.js';
import type { AuthUser } from '../providers/provider.js';
import type { Rollout } from '../rollout/rollout.js';
import { RolloutState } from '../rollout/rollout-state.js';
import { ShadowComparison } from '../rollout/shadow-run.js';
import {
  createThrottle,
  type Throttle,
  type ThrottleAdmission,
  type ThrottleOutcome,
} from '../throttle/throttle.js';
import { type Attempt, CredentialDecision, guessWasRefused } from './credential-decision.js';
import { type Credentials, type CredentialsParser, credentialsParser } from './credentials.js';
import {
  type CheckReport,
  describeFailure,
  type HealthSnapshot,
  type ProviderCheck,
  providerHealth,
} from './health.js';
import { LoginRoutes, type RoutedRollout } from './login-routes.js';
import { type ParsedOptions, parseOptions, type ResilientAuthOptions } from './options.js';
import { ProviderChain } from './provider-chain.js';
import { ProviderSlot } from './provider-slot.js';
import type { AuthResult } from './result.js';
import { ServingState } from './serving-state.js';

/** A configured authenticator. Create it once, share it, `close()` it on shutdown. */
export interface ResilientAuth<U = AuthUser> {
  /**
   * Checks credentials. Resolves an {@link AuthResult} whenever it could decide
   * (wrong password, invalid input and `rate_limited` included). Rejects only
   * when it could not: with `AuthUnavailableError` when no provider could
   * answer within the deadline or the password could not be checked (a
   * `password-verifier` failure: `OVERLOADED` when shed for overload,
   * `VERIFIER_FAILED` otherwise), and with a `ResilientAuthError` of code
   * `CLOSED` after {@link close}.
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
  /**
   * Lets a rolled-back rollout's candidate back in (`onRolloutResumed`), with
   * its window emptied. A rollout that is not rolled back is left as it is.
   * @throws {@link ConfigError} when no rollout has this name.
   */
  resumeRollout(name: string): void;
  /**
   * Stops taking calls (`authenticate()` then rejects with code `CLOSED`),
   * lets the calls in flight finish (their lookups end within `deadlineMs`;
   * it waits at most `deadlineMs` plus 5 s for their password checks), then
   * closes every provider, every hook set with a `close()` (an audit sink
   * flushes), the throttle and the verifier's threads. One whose `close()`
   * fails is reported through the logger; the others are still closed.
   * Idempotent.
   */
  close(): Promise<void>;
}

const NO_CONTEXT: RequestContext = Object.freeze({});

// Without a throttle every attempt is admitted and nothing is counted.
const UNTHROTTLED: ThrottleAdmission = Object.freeze({
  admitted: true,
  settle: async () => undefined,
});

// How long close() lets calls in flight verify their password after their
// lookups, which the deadline bounds: a generous bound on a queued bcrypt check.
const DRAIN_VERIFY_MS = 5000;

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
  return new Authenticator<U>(parseOptions(options));
}

/** Wires the parts together and owns their lifecycle. */
class Authenticator<U> implements ResilientAuth<U> {
  readonly #routes: LoginRoutes<U>;
  readonly #serving: ServingState;
  readonly #decision: CredentialDecision<U>;
  readonly #verifier: PasswordVerifier;
  readonly #parse: CredentialsParser;
  readonly #logger: Logger;
  readonly #hookSets: readonly AuthHooks[];
  readonly #throttle: Throttle | undefined;
  readonly #events: HookDispatcher;
  /** Break-glass access, when configured: consulted only when no provider could answer. */
  readonly #emergency: EmergencyGate<U> | undefined;
  #calls = 0;
  /** False while the throttle's shared store fails (counting in memory meanwhile). */
  #throttleStoreOk = true;
  #inFlight = 0;
  #drained: (() => void) | undefined;
  #closed: Promise<void> | undefined;

  constructor(options: ParsedOptions<U>) {
    const events = new HookDispatcher(options.hooks, options.logger);
    this.#events = events;
    this.#logger = options.logger;
    this.#hookSets = options.hooks;
    this.#verifier = options.verifier ?? bcryptVerifier({ logger: options.logger });
    this.#parse = credentialsParser(this.#verifier.maxPasswordBytes, options.normalize);
    const slots = options.providers.map(
      ({ provider, policy }) => new ProviderSlot<U>(provider, policy, options.clock, events),
    );
    const controlCount = options.rollout?.control.length ?? slots.length;
    const control = new ProviderChain(
      slots.slice(0, controlCount),
      options.mode,
      options.deadlineMs,
    );
    this.#routes = new LoginRoutes(
      control,
      options.rollout &&
        this.#routedRollout(options, options.rollout, slots.slice(controlCount), events),
    );
    this.#serving = new ServingState(slots[0]!.name, events);
    this.#throttle =
      options.throttle &&
      createThrottle(options.throttle, {
        storeFailed: (store, message) => {
          this.#throttleStoreOk = false;
          events.emit('onThrottleStoreFailure', () => ({ store, message }));
        },
        storeRecovered: (store) => {
          this.#throttleStoreOk = true;
          events.emit('onThrottleStoreRecovered', () => ({ store }));
        },
      });
    this.#decision = new CredentialDecision<U>(
      this.#verifier,
      options,
      options.clock,
      events,
      options.logger,
    );
    this.#emergency =
      options.emergency &&
      new EmergencyGate(options.emergency, {
        verifier: this.#verifier,
        policy: options,
        clock: options.clock,
        events,
        logger: options.logger,
      });
    this.#attachHookSets();
  }

  /** The rollout's state, its candidate chain and its shadow comparison. */
  #routedRollout(
    options: ParsedOptions<U>,
    rollout: Rollout<U>,
    candidateSlots: ProviderSlot<U>[],
    events: HookDispatcher,
  ): RoutedRollout<U> {
    const state = new RolloutState(rollout, options.clock, events, options.logger);
    const candidate = new ProviderChain(candidateSlots, options.mode, options.deadlineMs);
    const shadow = new ShadowComparison(
      candidate,
      state,
      this.#verifier,
      options.normalize,
      options.clock,
      events,
      options.logger,
    );
    return { state, candidate, shadow };
  }

  /**
   * Hands every hook set with an `attach()` what it may read later. A throw
   * fails the creation, after closing the sets already attached (a metrics
   * set would report the authenticator that never was).
   */
  #attachHookSets(): void {
    const view: AttachedAuth = Object.freeze({
      providers: Object.freeze(this.#routes.slots.map((slot) => slot.name)),
      health: () => this.health(),
    });
    const attached: AuthHooks[] = [];
    this.#hookSets.forEach((set, index) => {
      if (typeof set.attach !== 'function') return;
      try {
        set.attach(view);
        attached.push(set);
      } catch (error) {
        for (const done of attached) {
          Promise.resolve()
            .then(() => done.close?.())
            .catch(() => undefined);
        }
        throw new ConfigError(
          'hooks',
          `hook set #${index}: attach() failed: ${safeMessage(error)}`,
          { cause: error },
        );
      }
    });
  }

  async authenticate(credentials: Credentials): Promise<AuthResult<U>> {
    if (this.#closed) throw new ResilientAuthError('CLOSED', 'authenticate() called after close()');
    this.#inFlight++;
    try {
      const started = performance.now();
      const input = this.#parse(credentials);
      const call: AuthCall = Object.freeze({ id: ++this.#calls });
      const context = (input.ok ? input.value.context : input.context) ?? NO_CONTEXT;
      this.#events.emit('onAttemptStart', () => ({ call, context }));
      if (!input.ok) {
        this.#decision.rejected('invalid_input', { call, context, started });
        return { ok: false, reason: 'invalid_input', field: input.field };
      }
      const { identifier, password } = input.value;
      const attempt: Attempt = { identifier, password, call, context, started };
      const admission = this.#throttle
        ? await this.#throttle.admit(attempt.identifier, context.ip)
        : UNTHROTTLED;
      if (!admission.admitted) {
        this.#decision.throttled(attempt, admission.limit);
        return { ok: false, reason: 'rate_limited', retryAfterMs: admission.retryAfterMs };
      }
      // Anything but an answer (an outage, an overload, a close) counts against no one.
      let outcome: ThrottleOutcome = 'uncounted';
      try {
        const route = this.#routes.route(identifier, attempt);
        const shadow = route === 'shadow' ? this.#routes.shadow(identifier, attempt) : undefined;
        const answer = await this.#routes.ask(route, identifier, attempt);
        if (!answer.answered) {
          const emergency = await this.#emergency?.consult(
            answer.failures,
            attempt,
            this.#routes.control.slots,
          );
          if (emergency?.granted) {
            this.#serving.noneAnswered();
            outcome = 'success';
            return emergency.granted;
          }
          const durationMs = performance.now() - started;
          this.#serving.unavailable(identifier, answer.failures, durationMs, attempt);
          throw new AuthUnavailableError(answer.message, answer.failures, {
            retryAfterMs: answer.retryAfterMs,
          });
        }
        if (!this.#routes.answeredByCandidate(answer)) {
          this.#serving.served(answer.provider, answer.failures, attempt);
        }
        const result = await this.#decision.decide(answer, attempt);
        shadow?.compare({ account: answer.account, provider: answer.provider, result });
        // Disabled and locked accounts gave the right password: not a guess to count.
        outcome = !result.ok && result.reason === 'invalid_credentials' ? 'failure' : 'success';
        return result;
      } catch (error) {
        if (guessWasRefused(error)) outcome = 'failure';
        throw error;
      } finally {
        if (admission !== UNTHROTTLED) await admission.settle(outcome);
      }
    } finally {
      if (--this.#inFlight === 0) this.#drained?.();
    }
  }

  health(): HealthSnapshot {
    const { slots, mode } = this.#routes.control;
    const canServe = slots.map((s) => s.state === 'closed' || s.state === 'half-open');
    const hookSets = this.#hookSetHealth();
    const rollout = this.#routes.health();
    return {
      status: this.#serving.status(canServe, mode),
      providers: this.#routes.slots.map(providerHealth),
      ...(rollout && { rollout }),
      ...(this.#throttle && {
        throttle: { store: this.#throttle.store, storeOk: this.#throttleStoreOk },
      }),
      ...(hookSets.length > 0 && { hookSets }),
      ...(this.#emergency && { emergency: this.#emergency.health() }),
    };
  }

  /** What hook sets holding resources report; one that throws is reported as not ok, never thrown. */
  #hookSetHealth(): HookSetHealth[] {
    return this.#hookSets.flatMap((set, index) => {
      if (typeof set.health !== 'function') return [];
      try {
        return [set.health()];
      } catch (error) {
        return [{ name: `hook set #${index}`, ok: false, message: safeMessage(error), counts: {} }];
      }
    });
  }

  async check(): Promise<CheckReport> {
    const providers = await Promise.all(
      this.#routes.slots.map(async (slot): Promise<ProviderCheck> => {
        if (!slot.provider.check) {
          return { name: slot.name, probed: false, ok: true, durationMs: 0 };
        }
        const started = performance.now();
        const failed = await slot.probe();
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
    this.#routes.slot(name).isolate();
  }

  reset(name: string): void {
    this.#routes.slot(name).reset();
  }

  resumeRollout(name: string): void {
    this.#routes.resumeRollout(name);
  }

  close(): Promise<void> {
    this.#closed ??= this.#closeAll();
    return this.#closed;
  }

  async #closeAll(): Promise<void> {
    await this.#drain();
    const closing = [
      ...this.#routes.slots.map((slot) => ({
        what: `provider "${slot.name}"`,
        run: () => slot.provider.close?.(),
      })),
      ...this.#hookSets.map((set, index) => ({
        what: `hook set #${index}`,
        run: () => set.close?.(),
      })),
      { what: 'throttle', run: () => this.#throttle?.close() },
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

  /**
   * Waits for the calls in flight to finish (at most the deadline plus a
   * verification's allowance), then for their shadow comparisons (at most
   * the shadow's own deadline plus that allowance).
   */
  async #drain(): Promise<void> {
    const { control, shadowTimeoutMs } = this.#routes;
    if (this.#inFlight > 0) {
      await bounded(
        new Promise<void>((resolve) => {
          this.#drained = resolve;
        }),
        control.deadlineMs + DRAIN_VERIFY_MS,
      );
    }
    await bounded(this.#routes.drain(), shadowTimeoutMs + DRAIN_VERIFY_MS);
  }
}

/** Waits for `work`, at most `ms`. */
async function bounded(work: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    work,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
