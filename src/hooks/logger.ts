/** Where the library reports its own trouble (a hook that threw, a worker pool that failed). */
export interface Logger {
  warn(message: string, meta?: Readonly<Record<string, unknown>>): void;
  error(message: string, meta?: Readonly<Record<string, unknown>>): void;
}

/** The default logger: `console.warn` / `console.error`. */
export const consoleLogger: Logger = {
  warn: (message, meta) => console.warn(`[resilient-auth] ${message}`, meta ?? ''),
  error: (message, meta) => console.error(`[resilient-auth] ${message}`, meta ?? ''),
};
