import type { ThrottleStoreName } from '../hooks/events.js';
import type {
  CheckReport,
  EmergencyHealth,
  HealthSnapshot,
  ProviderHealth,
} from '../orchestrator/health.js';
import type { RolloutHealth } from '../rollout/rollout-state.js';

/** A status in the IETF health-check format (draft-inadarei-api-health-check). */
export type HealthCheckStatus = 'pass' | 'warn' | 'fail';

/** Which Kubernetes probe a health endpoint serves. */
export type HealthProbe = 'readiness' | 'liveness';

/** Options of {@link healthResponse} and of every adapter's `healthHandler`. */
export interface HealthResponseOptions {
  /**
   * `readiness`: can this instance serve logins (reads `health()`, and runs
   * `check()` when `activeCheck` is set or no provider can serve).
   * `liveness`: is the process answering at all; never touches a database.
   * Default: `readiness`.
   */
  readonly probe?: HealthProbe;
  /**
   * Run every provider's active probe (`auth.check()`) on each readiness
   * call, instead of only when `health()` says none can serve. Calls that
   * arrive while a probe runs share it. Default: false.
   */
  readonly activeCheck?: boolean;
}

/** One entry of {@link HealthBody.checks}. */
export interface HealthCheckEntry {
  readonly componentId: string;
  /** `datastore` for providers and throttle stores, `component` for hook sets. */
  readonly componentType: 'datastore' | 'component';
  readonly status: HealthCheckStatus;
  /** Latency of the last lookup that answered (or of the probe, when probed). */
  readonly observedValue?: number;
  readonly observedUnit?: 'ms';
  /** When this was last observed, ISO 8601. */
  readonly time?: string;
  /** What is wrong, as a failure kind and code (`schema 42P01`); never a message or a connection string. */
  readonly output?: string;
}

/** An `application/health+json` body. */
export interface HealthBody {
  readonly status: HealthCheckStatus;
  readonly description: string;
  /** Keyed `component:measurement`, e.g. `primary:responseTime`. Absent for liveness. */
  readonly checks?: Readonly<Record<string, readonly HealthCheckEntry[]>>;
}

/** A framework-free health response. */
export interface HealthHttpResponse {
  /** 200 for `pass` and `warn`, 503 for `fail`. */
  readonly status: 200 | 503;
  readonly headers: {
    readonly 'content-type': 'application/health+json';
    readonly 'cache-control': 'no-store';
  };
  readonly body: HealthBody;
}

/** The part of `ResilientAuth` a health endpoint reads. */
export interface HealthSource {
  health(): HealthSnapshot;
  check(): Promise<CheckReport>;
}

const HEADERS = Object.freeze({
  'content-type': 'application/health+json',
  'cache-control': 'no-store',
} as const);

const DESCRIPTION = 'resilient-auth login';

/**
 * The health endpoint's answer, in the IETF health-check format, for any
 * framework. Readiness: `pass` (200) while the primary serves, `warn` (200)
 * while a fallback serves, the throttle store or a hook set is failing, a
 * rollout rolled back or break-glass access expired but is still configured,
 * `fail` (503) only when no provider can decide. Liveness: always `pass`,
 * with no I/O.
 *
 * @example
 * ```ts
 * const { status, headers, body } = await healthResponse(auth, { probe: 'readiness' });
 * return new Response(JSON.stringify(body), { status, headers });
 * ```
 */
export async function healthResponse(
  auth: HealthSource,
  options: HealthResponseOptions = {},
): Promise<HealthHttpResponse> {
  if (options.probe === 'liveness') return respond({ status: 'pass', description: DESCRIPTION });
  const snapshot = auth.health();
  // Probe when the snapshot cannot say that some provider serves: none can
  // (a recovered store must bring the instance back without waiting for a
  // login), or none has answered since it last failed, or none was ever
  // asked (a new instance with a wrong connection string must not be ready).
  const report =
    options.activeCheck === true || snapshot.status === 'unhealthy' || !someAnswered(snapshot)
      ? await probe(auth)
      : undefined;
  const health = report?.health ?? snapshot;
  const providers = health.providers.map((provider) =>
    providerEntry(
      provider,
      report?.providers.find((p) => p.name === provider.name),
    ),
  );
  const checks: Record<string, HealthCheckEntry[]> = {};
  for (const entry of providers) checks[`${entry.componentId}:responseTime`] = [entry];
  const extras = [
    ...(health.throttle ? [throttleEntry(health.throttle)] : []),
    ...(health.rollout ? [rolloutEntry(health.rollout)] : []),
    ...(health.emergency ? [emergencyEntry(health.emergency)] : []),
    ...(health.hookSets ?? []).map(
      (set): HealthCheckEntry => ({
        componentId: set.name,
        componentType: 'component',
        status: set.ok ? 'pass' : 'warn',
        ...(!set.ok && { output: 'failing' }),
      }),
    ),
  ];
  for (const entry of extras) checks[`${entry.componentId}:status`] = [entry];
  const status = worst(
    overall(health, providers, report !== undefined),
    ...extras.map((entry) => entry.status),
  );
  return respond({ status, description: DESCRIPTION, checks });
}

// One probe in flight per instance: however many requests reach the health
// endpoint at once, a failing database gets one round of probes at a time.
const inFlight = new WeakMap<HealthSource, Promise<CheckReport>>();

function probe(auth: HealthSource): Promise<CheckReport> {
  let report = inFlight.get(auth);
  if (!report) {
    report = auth.check().finally(() => inFlight.delete(auth));
    inFlight.set(auth, report);
  }
  return report;
}

function respond(body: HealthBody): HealthHttpResponse {
  return { status: body.status === 'fail' ? 503 : 200, headers: HEADERS, body };
}

/**
 * `fail` when probed and no provider can serve. `pass` while the primary
 * (the first provider) passes and, unprobed, the snapshot says `healthy`
 * (in federated mode that needs every provider). `warn` otherwise: a
 * fallback serves, or the primary's last call failed.
 */
function overall(
  health: HealthSnapshot,
  providers: readonly HealthCheckEntry[],
  probed: boolean,
): HealthCheckStatus {
  if (probed && providers.every((entry) => entry.status === 'fail')) return 'fail';
  const primaryPasses = providers[0]?.status === 'pass';
  return primaryPasses && (probed || health.status === 'healthy') ? 'pass' : 'warn';
}

/**
 * True when some provider's latest observation (lookup or probe) is a success.
 * A success and a failure in the same millisecond count as a failure: when in
 * doubt, probe.
 */
function someAnswered(health: HealthSnapshot): boolean {
  return health.providers.some(
    ({ lastSuccessAt, lastFailure }) =>
      lastSuccessAt !== undefined && (lastFailure === undefined || lastSuccessAt > lastFailure.at),
  );
}

/**
 * One provider's entry. A failed probe fails; an isolated provider fails; an
 * open breaker fails while its half-open wait runs and warns once the next
 * call would be its trial (or its probe passed): without that, an instance
 * whose providers have no probe would stay out of service for good, since no
 * login reaches it to run the trial. A closed provider whose last call failed
 * warns.
 */
function providerEntry(
  provider: ProviderHealth,
  probe: CheckReport['providers'][number] | undefined,
): HealthCheckEntry {
  const probed = probe?.probed === true;
  const failedLast =
    provider.lastFailure !== undefined &&
    (provider.lastSuccessAt === undefined || provider.lastFailure.at >= provider.lastSuccessAt);
  let status: HealthCheckStatus = 'pass';
  let output: string | undefined;
  if (probed && probe?.ok === false) {
    status = 'fail';
    output = kindAndCode(probe.error);
  } else if (provider.state === 'isolated') {
    status = 'fail';
    output = 'circuit isolated';
  } else if (provider.state === 'open') {
    status = probed || provider.retryInMs === undefined ? 'warn' : 'fail';
    const after = kindAndCode(provider.lastFailure);
    output = `circuit open${after ? ` after ${after}` : ''}`;
  } else if (!probed && failedLast) {
    status = 'warn';
    output = kindAndCode(provider.lastFailure);
  }
  const observed = probed ? probe?.durationMs : provider.lastLatencyMs;
  const last = failedLast ? provider.lastFailure?.at : provider.lastSuccessAt;
  return {
    componentId: provider.name,
    componentType: 'datastore',
    status,
    ...(observed !== undefined && { observedValue: round(observed), observedUnit: 'ms' as const }),
    ...(last && { time: last.toISOString() }),
    ...(output && { output }),
  };
}

// A failure as health shows it: kind and code only, never a message (which may name hosts).
function kindAndCode(failure: { kind: string; code?: string } | undefined): string | undefined {
  return failure && [failure.kind, failure.code].filter(Boolean).join(' ');
}

function throttleEntry(throttle: { store: ThrottleStoreName; storeOk: boolean }): HealthCheckEntry {
  return {
    componentId: 'throttle',
    componentType: throttle.store === 'memory' ? 'component' : 'datastore',
    status: throttle.storeOk ? 'pass' : 'warn',
    ...(!throttle.storeOk && { output: `${throttle.store} store down: counting in memory` }),
  };
}

/** A rolled-back rollout warns (the control serves; an operator must resume it). */
function rolloutEntry(rollout: RolloutHealth): HealthCheckEntry {
  const back = rollout.rolledBack;
  return {
    componentId: `rollout:${rollout.name}`,
    componentType: 'component',
    status: back ? 'warn' : 'pass',
    ...(back && { output: `rolled back (${back.reason})`, time: back.at.toISOString() }),
  };
}

/** Break-glass access: when it expires; expired and still configured warns. */
function emergencyEntry(emergency: EmergencyHealth): HealthCheckEntry {
  return {
    componentId: 'emergency',
    componentType: 'component',
    status: emergency.expired ? 'warn' : 'pass',
    output: `${emergency.expired ? 'expired' : 'expires'} ${emergency.expiresAt.toISOString()}`,
  };
}

const RANK: Record<HealthCheckStatus, number> = { pass: 0, warn: 1, fail: 2 };

function worst(...statuses: HealthCheckStatus[]): HealthCheckStatus {
  return statuses.reduce((a, b) => (RANK[b] > RANK[a] ? b : a), 'pass');
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
