import { startEmbeddedPostgres } from '../../examples/support/embedded-postgres.mjs';

/** The one PostgreSQL server the integration suite shares. */
export interface TestServer {
  readonly url: string;
  readonly kind: 'DATABASE_URL' | 'testcontainers' | 'embedded-postgres';
  stop(): Promise<void>;
}

/**
 * Picks the server: `DATABASE_URL` when set; Testcontainers when a container
 * runtime answers; otherwise embedded-postgres (no Docker on this project's
 * machines).
 */
export async function startTestServer(): Promise<TestServer> {
  const url = process.env.DATABASE_URL;
  if (url) return { url, kind: 'DATABASE_URL', stop: async () => undefined };
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:17-alpine').start();
    return {
      url: container.getConnectionUri(),
      kind: 'testcontainers',
      stop: async () => {
        await container.stop();
      },
    };
  } catch {
    // No container runtime: fall through to the embedded server.
  }
  const server = await startEmbeddedPostgres();
  return { url: server.url, kind: 'embedded-postgres', stop: () => server.destroy() };
}
