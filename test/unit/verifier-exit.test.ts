import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bcryptVerifier } from '../../src/password/bcrypt-verifier.js';
import { hashPassword } from '../../src/password/hash-password.js';
import { recordingLogger } from '../support/fakes.js';

const PASSWORD = 'pw';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('../support/verifier-exit-child.mjs', import.meta.url));
const RUNS = 8;

const osThreads = () => readdirSync('/proc/self/task').length;

let hash: string;
beforeAll(async () => {
  hash = await hashPassword(PASSWORD, 4);
});

function isClosedError(reason: unknown): boolean {
  return reason instanceof Error && (reason as { code?: unknown }).code === 'CLOSED';
}

/** Fails instead of hanging when `promise` does not settle in time. */
function settlesWithin<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('a process that verifies once and exits', () => {
  // A child `node` cannot import src/*.ts, and dist/ may be stale or absent. So
  // the real verifier source is built here, with the project's own bundler and
  // the shims the package build uses, into a scratch directory inside the repo
  // (so piscina and bcryptjs resolve from node_modules), and the real worker
  // file is copied next to it, as tsup.config.ts does for dist/. The children
  // then run the real verifier code, pool options and worker file, ESM and CJS.
  let scratch: string;
  const built = { esm: '', cjs: '' };

  beforeAll(async () => {
    await mkdir(join(ROOT, '.tmp'), { recursive: true });
    scratch = await mkdtemp(join(ROOT, '.tmp', 'verifier-exit-'));
    await build({
      config: false,
      silent: true,
      entry: { 'bcrypt-verifier': join(ROOT, 'src/password/bcrypt-verifier.ts') },
      format: ['esm', 'cjs'],
      outDir: scratch,
      target: 'node20',
      shims: true,
      dts: false,
      sourcemap: false,
      clean: false,
    });
    await copyFile(
      join(ROOT, 'src/password/bcrypt-worker.cjs'),
      join(scratch, 'bcrypt-worker.cjs'),
    );
    built.esm = join(scratch, 'bcrypt-verifier.js');
    built.cjs = join(scratch, 'bcrypt-verifier.cjs');
  });

  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  function runChild(args: readonly string[]) {
    return new Promise<{ code: number | null; signal: string | null; stderr: string }>(
      (resolve, reject) => {
        // The timeout turns a hang into a failure (signal SIGKILL) instead of a stuck run.
        const child = spawn(process.execPath, [CHILD, ...args], {
          stdio: ['ignore', 'ignore', 'pipe'],
          timeout: 8_000,
          killSignal: 'SIGKILL',
        });
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
          stderr += chunk;
        });
        child.on('error', reject);
        child.on('close', (code, signal) => resolve({ code, signal, stderr }));
      },
    );
  }

  /** Runs `RUNS` children, two at a time, and expects every one to exit 0 in silence. */
  async function expectCleanExits(argsOf: (run: number) => readonly string[]) {
    let next = 0;
    const exits: Awaited<ReturnType<typeof runChild>>[] = [];
    const lane = async () => {
      while (next < RUNS) {
        const run = next++;
        exits[run] = await runChild(argsOf(run));
      }
    };
    await Promise.all([lane(), lane()]);
    expect(exits).toEqual(Array(RUNS).fill({ code: 0, signal: null, stderr: '' }));
  }

  // Even runs load the ESM build, odd runs the CJS one (its worker URL comes from tsup's shim).
  const moduleFor = (run: number) => (run % 2 === 0 ? built.esm : built.cjs);

  it.each([
    // Verify once, then let the event loop drain: idle threads must not hold the
    // process, and the second thread may still be starting when it ends.
    'drain',
    'close',
    'exit-after-verify',
    // close() while the first tasks are queued and threads start: all settle, nothing unhandled.
    'close-while-starting',
  ])('%s: exits 0 with nothing on stderr, every time', async (scenario) => {
    await expectCleanExits((run) => [moduleFor(run), scenario, hash]);
  });

  it('exit-while-starting: process.exit(0) while threads load the worker exits 0 in silence', async () => {
    // 0 exits synchronously after the first verify() call; the others land at
    // different points of thread start-up.
    const delaysMs = [0, 0, 1, 2, 5, 10, 20, 40];
    await expectCleanExits((run) => [
      moduleFor(run),
      'exit-while-starting',
      hash,
      String(delaysMs[run % delaysMs.length]),
    ]);
  });
});

describe('close() while threads are starting', () => {
  it('settles every queued task at once, refuses later ones and leaves no worker thread', async () => {
    const baseline = osThreads();
    // 0 closes in the same tick as the first verify; the others mid start-up.
    for (const delayMs of [0, 1, 5, 15]) {
      const logger = recordingLogger();
      const verifier = bcryptVerifier({ threads: 2, logger });
      const tasks = Array.from({ length: 6 }, () => verifier.verify(PASSWORD, hash));
      const settled = Promise.allSettled(tasks);
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      await settlesWithin(Promise.resolve(verifier.close?.()), 2_000, 'close()');
      const outcomes = await settlesWithin(settled, 2_000, 'tasks queued before close()');
      for (const outcome of outcomes) {
        if (outcome.status === 'fulfilled') expect(outcome.value).toBe(true);
        else expect(isClosedError(outcome.reason)).toBe(true);
      }
      if (delayMs === 0) expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
      // Not mistaken for a broken pool: nothing reported, nothing verified in-thread later.
      expect(logger.lines).toEqual([]);
      await expect(verifier.verify(PASSWORD, hash)).rejects.toSatisfy(isClosedError);
      await expect(verifier.close?.()).resolves.toBeUndefined();
      await vi.waitFor(() => expect(osThreads()).toBe(baseline));
    }
  });
});

describe('a full queue', () => {
  it('refuses verifications over maxQueue at once; the pool stays in use', async () => {
    const compare = vi.spyOn(bcrypt, 'compare');
    const logger = recordingLogger();
    const verifier = bcryptVerifier({ threads: 1, maxQueue: 2, logger });
    const order: string[] = [];
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, () =>
        verifier.verify(PASSWORD, hash).then(
          (matches) => {
            order.push('verified');
            return matches;
          },
          (error: unknown) => {
            order.push('refused');
            throw error;
          },
        ),
      ),
    );
    // One on the thread and two waiting; the other seven are refused before any verifies.
    expect(order).toEqual([...Array(7).fill('refused'), ...Array(3).fill('verified')]);
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') expect(outcome.value).toBe(true);
      else
        expect(outcome.reason).toMatchObject({
          code: 'OVERLOADED',
          message:
            'bcrypt verification overloaded: the queue is full (2 waiting); raise threads, scale out, or throttle logins',
        });
    }
    // Not in-thread, not marked broken: later verifications still run on the pool.
    await expect(verifier.verify(PASSWORD, hash)).resolves.toBe(true);
    await expect(verifier.verify('wrong', hash)).resolves.toBe(false);
    expect(compare).not.toHaveBeenCalled();
    expect(logger.lines).toEqual([]);
    await verifier.close?.();
  });

  it('a hash bcryptjs cannot check fails that one verification, not the pool', async () => {
    const logger = recordingLogger();
    const verifier = bcryptVerifier({ threads: 1, logger });
    // $2x$ (old PHP crypt_blowfish) is refused as malformed before it reaches bcrypt...
    const legacy = hash.replace('$2b$', '$2x$');
    expect(verifier.isWellFormed(legacy)).toBe(false);
    // ...and if one reaches the worker anyway, that task fails with a typed error.
    await expect(verifier.verify(PASSWORD, legacy)).rejects.toMatchObject({
      code: 'VERIFIER_FAILED',
      message: expect.stringMatching(/^bcrypt could not check the hash: Invalid salt/),
    });
    await expect(verifier.verify(PASSWORD, hash)).resolves.toBe(true);
    expect(logger.lines).toEqual([]);
    await verifier.close?.();
  });

  it('reaches the caller of authenticate() as AuthUnavailableError from the password verifier', async () => {
    // Imported here only, so the verifier tests above do not depend on the orchestrator.
    const { createResilientAuth, isAuthUnavailableError, memoryProvider } = await import(
      '../../src/index.js'
    );
    const logger = recordingLogger();
    const auth = createResilientAuth({
      providers: [
        memoryProvider({
          name: 'primary',
          accounts: [{ identifier: 'ada@example.com', passwordHash: hash, user: { id: 1 } }],
        }),
      ],
      verifier: bcryptVerifier({ threads: 1, maxQueue: 2, logger }),
      logger,
    });
    const login = () => auth.authenticate({ identifier: 'ada@example.com', password: PASSWORD });
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, login));
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
    expect(refused.length).toBeGreaterThan(0);
    for (const error of refused) {
      expect(isAuthUnavailableError(error)).toBe(true);
      if (!isAuthUnavailableError(error)) continue;
      expect(error.failures).toEqual([
        expect.objectContaining({
          provider: 'password-verifier',
          code: 'OVERLOADED',
          kind: 'overloaded',
        }),
      ]);
    }
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') expect(outcome.value).toMatchObject({ ok: true });
    }
    await expect(login()).resolves.toMatchObject({ ok: true, provider: 'primary' });
    expect(logger.lines).toEqual([]);
    await auth.close();
  });
});

describe('a worker file that cannot load', () => {
  it('falls back in-thread and says so once, without crashing on the idle threads failing too', async () => {
    // Every thread fails to start; those holding no task report it as a pool
    // 'error' event, which would throw (and end the process) if nobody listened.
    vi.resetModules();
    vi.doMock('piscina', async (importOriginal) => {
      const real = await importOriginal<typeof import('piscina')>();
      class MissingWorkerFile extends real.Piscina {
        constructor(options: ConstructorParameters<typeof real.Piscina>[0]) {
          super({ ...options, filename: join(ROOT, '.tmp', 'no-such-worker.cjs') });
        }
      }
      return { ...real, Piscina: MissingWorkerFile };
    });
    try {
      const { bcryptVerifier: isolatedVerifier } = await import(
        '../../src/password/bcrypt-verifier.js'
      );
      const logger = recordingLogger();
      const verifier = isolatedVerifier({ threads: 2, logger });
      await expect(verifier.verify(PASSWORD, hash)).resolves.toBe(true);
      // Let the other thread fail too, with no task on it.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await expect(verifier.verify('wrong', hash)).resolves.toBe(false);
      expect(logger.lines).toEqual([
        expect.objectContaining({ level: 'error', message: expect.stringMatching(/in-thread/) }),
      ]);
      await verifier.close?.();
    } finally {
      vi.doUnmock('piscina');
      vi.resetModules();
    }
  });
});
