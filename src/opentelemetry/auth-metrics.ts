import {
  type Attributes,
  type BatchObservableCallback,
  type Counter,
  type Histogram,
  type Meter,
  type ObservableGauge,
  ValueType,
} from '@opentelemetry/api';
import { attemptOutcome } from '../hooks/attempt-outcome.js';
import {
  type AttachedAuth,
  type AttemptEvent,
  CIRCUIT_STATES,
  type EmergencyAccessEvent,
  type FallbackEvent,
  type LookupEvent,
  type ShadowMismatchEvent,
  type UnavailableEvent,
  VERIFIER_FAILURE_PROVIDER,
} from '../hooks/events.js';
import { unavailableKind } from './auth-spans.js';
import { DURATION_BUCKETS_S, METRIC, METRIC_ATTR } from './semantic-names.js';

/**
 * The metrics, in OpenTelemetry's style: counters and histograms recorded
 * from the events, two gauges read from the authenticator at collection time.
 * Every attribute is low-cardinality: outcome, provider, kind, state.
 */
export class AuthMetrics {
  readonly #meter: Meter;
  readonly #attempts: Counter;
  readonly #duration: Histogram;
  readonly #lookupDuration: Histogram;
  readonly #failures: Counter;
  readonly #fallbacks: Counter;
  readonly #state: ObservableGauge;
  readonly #serving: ObservableGauge;
  readonly #hedged: Counter;
  readonly #mismatches: Counter;
  readonly #rolledBack: ObservableGauge;
  readonly #emergency: Counter;
  #view: AttachedAuth | undefined;
  #attached = false;
  /** The provider that answered the last answered call; none after an outage. */
  #servingProvider: string | undefined;

  constructor(meter: Meter) {
    this.#meter = meter;
    this.#attempts = meter.createCounter(METRIC.attempts, {
      unit: '{attempt}',
      description: 'authenticate() calls, by outcome.',
      valueType: ValueType.INT,
    });
    this.#duration = meter.createHistogram(METRIC.authenticateDuration, {
      unit: 's',
      description: 'Duration of authenticate() calls, lookups and password check included.',
      advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_S] },
    });
    this.#lookupDuration = meter.createHistogram(METRIC.lookupDuration, {
      unit: 's',
      description: 'Duration of one lookup attempt on one provider (each retry is one).',
      advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_S] },
    });
    this.#failures = meter.createCounter(METRIC.providerFailures, {
      unit: '{failure}',
      description: 'Lookup attempts that could not answer, by provider and failure kind.',
      valueType: ValueType.INT,
    });
    this.#fallbacks = meter.createCounter(METRIC.fallbacks, {
      unit: '{answer}',
      description: 'Answers served by a provider after earlier ones could not answer.',
      valueType: ValueType.INT,
    });
    // `{provider}` rather than `1`, which Prometheus exporters may render as a `_ratio` suffix.
    this.#state = meter.createObservableGauge(METRIC.providerState, {
      unit: '{provider}',
      description: "1 for each provider's current circuit state, 0 for the others.",
      valueType: ValueType.INT,
    });
    this.#serving = meter.createObservableGauge(METRIC.serving, {
      unit: '{provider}',
      description: '1 for the provider that served the last answer, 0 for the others.',
      valueType: ValueType.INT,
    });
    this.#hedged = meter.createCounter(METRIC.hedgedLookups, {
      unit: '{lookup}',
      description:
        'Lookups started as hedges (hedgeAfterMs), by the provider asked: the extra load.',
      valueType: ValueType.INT,
    });
    this.#mismatches = meter.createCounter(METRIC.shadowMismatches, {
      unit: '{login}',
      description:
        "Logins a rollout's candidate, in shadow, would have answered otherwise, by rollout.",
      valueType: ValueType.INT,
    });
    this.#rolledBack = meter.createObservableGauge(METRIC.rolledBack, {
      unit: '{rollout}',
      description: '1 while a rollout is rolled back to its control, 0 while active.',
      valueType: ValueType.INT,
    });
    this.#emergency = meter.createCounter(METRIC.emergencyLogins, {
      unit: '{login}',
      description: 'Break-glass logins during a total outage, by result: granted or refused.',
      valueType: ValueType.INT,
    });
  }

  /** Reads the authenticator's health at collection time from now on. Once per hook set. */
  attach(view: AttachedAuth): void {
    if (this.#attached) {
      throw new Error(
        'this openTelemetryHooks() hook set is already attached to an authenticator; create one per authenticator',
      );
    }
    this.#attached = true;
    this.#view = view;
    this.#meter.addBatchObservableCallback(this.#observe, this.#observed());
    try {
      this.#zero(view);
    } catch {
      // A meter that throws here throws on every event too, where it is logged.
    }
  }

  /** The series the example alerts read exist from the first collection, at 0. */
  #zero(view: AttachedAuth): void {
    for (const provider of view.providers)
      this.#hedged.add(0, { [METRIC_ATTR.provider]: provider });
    const rollout = view.health().rollout;
    if (rollout) this.#mismatches.add(0, { [METRIC_ATTR.rollout]: rollout.name });
    for (const result of ['granted', 'refused'])
      this.#emergency.add(0, { [METRIC_ATTR.result]: result });
  }

  #observed(): ObservableGauge[] {
    return [this.#state, this.#serving, this.#rolledBack];
  }

  /** Stops observing and forgets the authenticator. */
  close(): void {
    if (this.#view === undefined) return;
    this.#meter.removeBatchObservableCallback(this.#observe, this.#observed());
    this.#view = undefined;
  }

  lookup(event: LookupEvent): void {
    this.#lookupDuration.record(event.durationMs / 1000, {
      [METRIC_ATTR.provider]: event.provider,
      [METRIC_ATTR.result]: event.result,
    });
    if (event.hedged) this.#hedged.add(1, { [METRIC_ATTR.provider]: event.provider });
    if (event.result === 'failed') {
      this.#failures.add(1, {
        [METRIC_ATTR.provider]: event.provider,
        [METRIC_ATTR.errorType]: event.kind ?? 'other',
      });
    }
  }

  shadowMismatch(event: ShadowMismatchEvent): void {
    this.#mismatches.add(1, { [METRIC_ATTR.rollout]: event.rollout });
  }

  emergencyAccess(event: EmergencyAccessEvent): void {
    this.#emergency.add(1, { [METRIC_ATTR.result]: event.granted ? 'granted' : 'refused' });
  }

  fallback(event: FallbackEvent): void {
    this.#fallbacks.add(1, { [METRIC_ATTR.provider]: event.provider });
  }

  attempt(event: AttemptEvent): void {
    const attributes = { [METRIC_ATTR.outcome]: attemptOutcome(event) };
    this.#attempts.add(1, attributes);
    this.#duration.record(event.durationMs / 1000, attributes);
    // Invalid input and throttled calls reach no provider: who serves is unchanged.
    if (event.provider !== undefined) this.#servingProvider = event.provider;
  }

  unavailable(event: UnavailableEvent): void {
    this.#attempts.add(1, { [METRIC_ATTR.outcome]: 'unavailable' });
    this.#duration.record(event.durationMs / 1000, {
      [METRIC_ATTR.outcome]: 'unavailable',
      [METRIC_ATTR.errorType]: unavailableKind(event.failures),
    });
    // A password check that failed after a lookup answered says nothing about the providers.
    if (event.failures.some((failure) => failure.provider !== VERIFIER_FAILURE_PROVIDER)) {
      this.#servingProvider = undefined;
    }
  }

  readonly #observe: BatchObservableCallback = (result) => {
    const view = this.#view;
    if (view === undefined) return;
    const health = view.health();
    for (const provider of health.providers) {
      for (const state of CIRCUIT_STATES) {
        const attributes: Attributes = {
          [METRIC_ATTR.provider]: provider.name,
          [METRIC_ATTR.state]: state,
        };
        result.observe(this.#state, provider.state === state ? 1 : 0, attributes);
      }
    }
    for (const name of view.providers) {
      result.observe(this.#serving, name === this.#servingProvider ? 1 : 0, {
        [METRIC_ATTR.provider]: name,
      });
    }
    const rollout = health.rollout;
    if (rollout) {
      result.observe(this.#rolledBack, rollout.state === 'rolled_back' ? 1 : 0, {
        [METRIC_ATTR.rollout]: rollout.name,
      });
    }
  };
}
