import {
  type Attributes,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { attemptOutcome } from '../hooks/attempt-outcome.js';
import type {
  AttemptEvent,
  AttemptStartEvent,
  AuthCall,
  FailureSummary,
  FallbackEvent,
  LookupEvent,
  UnavailableEvent,
} from '../hooks/events.js';
import { ATTR, SPAN, SPAN_EVENT } from './semantic-names.js';

/**
 * One span per `authenticate()` call, a child per lookup attempt. The call's
 * span is kept in a `WeakMap` keyed by its `call` object, so a call whose
 * last event never comes leaks nothing; a span that does not record (no SDK,
 * or sampled out) is not kept at all.
 */
export class AuthSpans {
  readonly #tracer: Tracer;
  readonly #calls = new WeakMap<AuthCall, Span>();

  constructor(tracer: Tracer) {
    this.#tracer = tracer;
  }

  /** Fired inside `authenticate()`: the caller's active span (an HTTP server span, say) is the parent. */
  start({ call, context: request }: AttemptStartEvent): void {
    const span = this.#tracer.startSpan(
      SPAN.authenticate,
      {
        kind: SpanKind.INTERNAL,
        ...(request.requestId !== undefined && {
          attributes: { [ATTR.requestId]: request.requestId },
        }),
      },
      context.active(),
    );
    if (span.isRecording()) this.#calls.set(call, span);
  }

  /** A child span per lookup attempt, started `durationMs` ago and ended now. */
  lookup(event: LookupEvent): void {
    const parent = this.#calls.get(event.call);
    if (parent === undefined) return;
    const end = performance.now();
    const attributes: Attributes = {
      [ATTR.provider]: event.provider,
      [ATTR.lookupResult]: event.result,
      [ATTR.lookupAttempt]: event.attempt,
    };
    if (event.result === 'failed') {
      attributes[ATTR.errorType] = event.kind ?? 'other';
      if (event.code !== undefined) attributes[ATTR.failureCode] = event.code;
    }
    const span = this.#tracer.startSpan(
      SPAN.lookup,
      { kind: SpanKind.INTERNAL, startTime: end - event.durationMs, attributes },
      trace.setSpan(context.active(), parent),
    );
    if (event.result === 'failed') {
      span.setStatus({ code: SpanStatusCode.ERROR, message: failureLabel(event) });
    }
    span.end(end);
  }

  /** The answer came from a fallback: which one, and which could not answer before it. */
  fallback(event: FallbackEvent): void {
    const span = this.#calls.get(event.call);
    if (span === undefined) return;
    skipped(span, event.failures);
    span.addEvent(SPAN_EVENT.fallback, {
      [ATTR.provider]: event.provider,
      [ATTR.fallbackFrom]: event.failures.map((failure) => failure.provider),
    });
  }

  /** The call answered: its outcome, the precise cause of a rejection, and who answered. */
  attempt(event: AttemptEvent): void {
    const span = this.#take(event.call);
    if (span === undefined) return;
    const attributes: Attributes = {
      [ATTR.outcome]: attemptOutcome(event),
      [ATTR.degraded]: event.degraded,
    };
    if (event.provider !== undefined) attributes[ATTR.provider] = event.provider;
    if (event.outcome === 'rejected') {
      attributes[ATTR.rejectionCause] = event.cause;
      if (event.limit !== undefined) attributes[ATTR.throttleLimit] = event.limit;
    }
    span.setAttributes(attributes);
    span.end();
  }

  /** No provider could answer (or the password could not be checked): the call threw. */
  unavailable(event: UnavailableEvent): void {
    const span = this.#take(event.call);
    if (span === undefined) return;
    skipped(span, event.failures);
    const message = unavailableMessage(event.failures);
    span.setAttributes({
      [ATTR.outcome]: 'unavailable',
      [ATTR.errorType]: unavailableKind(event.failures),
    });
    // No `code` on the exception: the SDK would take it for the exception's type.
    span.recordException({ name: 'AuthUnavailableError', message });
    span.setStatus({ code: SpanStatusCode.ERROR, message });
    span.end();
  }

  #take(call: AuthCall): Span | undefined {
    const span = this.#calls.get(call);
    this.#calls.delete(call);
    return span;
  }
}

/** `error.type` of an unavailable call: the kind of its last failure. */
export function unavailableKind(failures: readonly FailureSummary[]): string {
  return failures.at(-1)?.kind ?? 'unavailable';
}

/** Skipped providers were not looked up: an event on the call's span each, no child span. */
function skipped(span: Span, failures: readonly FailureSummary[]): void {
  for (const failure of failures) {
    if (failure.skipped === undefined) continue;
    span.addEvent(SPAN_EVENT.skipped, {
      [ATTR.provider]: failure.provider,
      [ATTR.skipReason]: failure.skipped,
      [ATTR.errorType]: failure.kind,
    });
  }
}

/** `connection 08006`: kind and code, never the error's message (it may quote the identifier). */
function failureLabel({
  kind,
  code,
}: {
  readonly kind?: string | undefined;
  readonly code?: string | undefined;
}): string {
  return `${kind ?? 'other'}${code === undefined ? '' : ` ${code}`}`;
}

/** One line, provider by provider: `primary: connection 08006, fallback: skipped (circuit_open)`. */
function unavailableMessage(failures: readonly FailureSummary[]): string {
  const each = failures.map((failure) =>
    failure.skipped === undefined
      ? `${failure.provider}: ${failureLabel(failure)}`
      : `${failure.provider}: skipped (${failure.skipped})`,
  );
  return `authentication unavailable: ${each.length > 0 ? each.join(', ') : 'no provider could answer'}`;
}
