import { afterEach, beforeEach, vi } from 'vitest';

// A test that prints to the console unexpectedly fails: the library reports
// through its injectable logger, and tests that expect a report inject one.
const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;

beforeEach(() => {
  for (const method of methods) vi.spyOn(console, method);
});

afterEach(() => {
  const printed = methods.flatMap((method) =>
    vi.mocked(console[method]).mock.calls.map((args) => `console.${method}: ${args.join(' ')}`),
  );
  vi.restoreAllMocks();
  if (printed.length > 0) throw new Error(`unexpected console output:\n${printed.join('\n')}`);
});
