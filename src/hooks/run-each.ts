/**
 * Runs every update even when one throws (a broken metric or tracer does not
 * cost the others their data), then throws the first error, for the
 * authenticator's dispatcher to log.
 */
export function runEach(...updates: readonly (() => void)[]): void {
  let failure: { readonly error: unknown } | undefined;
  for (const update of updates) {
    try {
      update();
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure !== undefined) throw failure.error;
}
