export function freePort(): Promise<number>;
export interface EmbeddedServer {
  /** Superuser URL of the `postgres` database. */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}
export function startEmbeddedPostgres(options?: {
  log?: (message: unknown) => void;
}): Promise<EmbeddedServer>;
