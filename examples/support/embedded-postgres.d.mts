export function freePort(): Promise<number>;
export interface EmbeddedServer {
  /** Superuser URL of the `postgres` database. */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}
/**
 * Initialises and starts a fresh server in a temporary directory.
 *
 * As root, the server runs as the `postgres` user; when that user cannot enter
 * the checkout, the binaries run from a copy made once under `os.tmpdir()`
 * (`EMBEDDED_PG_NO_BINARY_CACHE=1` turns the copy off).
 */
export function startEmbeddedPostgres(options?: {
  log?: (message: unknown) => void;
}): Promise<EmbeddedServer>;
