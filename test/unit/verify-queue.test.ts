import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isConfigError, isResilientAuthError } from '../../src/index.js';
import { VerifyQueue } from '../../src/password/verify-queue.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A task that runs `ms` of (fake) time, recording when it starts and how many run at once. */
function tasks() {
  const started: string[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const task =
    (name: string, ms = 100) =>
    () => {
      started.push(name);
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      return new Promise<string>((resolve) => {
        setTimeout(() => {
          running--;
          resolve(name);
        }, ms);
      });
    };
  return { task, started, mostAtOnce: () => mostAtOnce };
}

/** A task held until released by hand. */
function held() {
  let release: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { task: () => promise, release };
}

/** How a promise has settled so far, without waiting for it. */
function watch<T>(promise: Promise<T>) {
  const state: { value?: T; error?: unknown; settled: boolean } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { value, settled: true }),
    (error: unknown) => Object.assign(state, { error, settled: true }),
  );
  return state;
}

const codeOf = (error: unknown) => (isResilientAuthError(error) ? error.code : undefined);

/** Runs `n` tasks of `ms` one after the other, so the queue has a run-time estimate. */
async function learn(queue: VerifyQueue, n: number, ms: number) {
  const { task } = tasks();
  for (let i = 0; i < n; i++) {
    const done = queue.run(task(`warm-${i}`, ms));
    await vi.advanceTimersByTimeAsync(ms);
    await done;
  }
}

describe('VerifyQueue', () => {
  it('never runs more than `concurrency` tasks at once, and runs them all', async () => {
    const queue = new VerifyQueue({ concurrency: 2, maxQueue: 100, name: 'test' });
    const { task, started, mostAtOnce } = tasks();
    const all = Promise.all(Array.from({ length: 9 }, (_, i) => queue.run(task(`t${i}`))));
    expect(queue.running).toBe(2);
    expect(queue.waiting).toBe(7);
    await vi.advanceTimersByTimeAsync(500);
    await expect(all).resolves.toHaveLength(9);
    expect(started).toHaveLength(9);
    expect(mostAtOnce()).toBe(2);
    expect([queue.running, queue.waiting]).toEqual([0, 0]);
  });

  it('refuses a task at once with OVERLOADED when the queue is full', async () => {
    const queue = new VerifyQueue({ concurrency: 1, maxQueue: 2, name: 'bcrypt' });
    const { task, started } = tasks();
    const admitted = [queue.run(task('a')), queue.run(task('b')), queue.run(task('c'))];
    const refused = watch(queue.run(task('d')));
    await Promise.resolve();
    expect(refused.settled).toBe(true);
    expect(codeOf(refused.error)).toBe('OVERLOADED');
    expect((refused.error as Error).message).toBe(
      'bcrypt verification overloaded: the queue is full (2 waiting); raise threads, scale out, or throttle logins',
    );
    await vi.advanceTimersByTimeAsync(300);
    await expect(Promise.all(admitted)).resolves.toEqual(['a', 'b', 'c']);
    expect(started).toEqual(['a', 'b', 'c']);
  });

  it('refuses at once a task that is estimated to wait longer than it may, and admits one that may wait', async () => {
    const queue = new VerifyQueue({ concurrency: 1, maxQueue: 100, name: 'bcrypt' });
    await learn(queue, 12, 100);
    const { task, started } = tasks();
    const admitted = Array.from({ length: 6 }, (_, i) => queue.run(task(`t${i}`), 10_000));
    // One running and five waiting at 100 ms each: about 700 ms before it is done.
    const impatient = watch(queue.run(task('impatient'), 500));
    await Promise.resolve();
    expect(codeOf(impatient.error)).toBe('OVERLOADED');
    expect((impatient.error as Error).message).toMatch(
      /^bcrypt verification overloaded: about \d+ ms to check it \(5 waiting\) exceeds the 500 ms it may wait; raise threads, scale out, or throttle logins$/,
    );
    const patient = queue.run(task('patient'), 1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(Promise.all([...admitted, patient])).resolves.toHaveLength(7);
    expect(started).not.toContain('impatient');
  });

  it('rejects a task still waiting when its bound passes, and never runs it', async () => {
    const queue = new VerifyQueue({ concurrency: 1, maxQueue: 10, name: 'bcrypt' });
    const { task, started } = tasks();
    const first = queue.run(task('first', 1_000));
    const late = watch(queue.run(task('late'), 250));
    await vi.advanceTimersByTimeAsync(249);
    expect(late.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(codeOf(late.error)).toBe('OVERLOADED');
    expect((late.error as Error).message).toContain('no thread was free within 250 ms');
    expect(queue.waiting).toBe(0);
    await vi.advanceTimersByTimeAsync(2_000);
    await expect(first).resolves.toBe('first');
    expect(started).toEqual(['first']);
  });

  it('with maxWaitMs 0 runs a task only when a slot is free now', async () => {
    const queue = new VerifyQueue({ concurrency: 1, maxQueue: 10, name: 'bcrypt' });
    const { task, started } = tasks();
    const now = queue.run(task('free slot'), 0);
    const busy = watch(queue.run(task('busy'), 0));
    const negative = watch(queue.run(task('negative'), -5));
    await Promise.resolve();
    expect(codeOf(busy.error)).toBe('OVERLOADED');
    expect(codeOf(negative.error)).toBe('OVERLOADED');
    await vi.advanceTimersByTimeAsync(100);
    await expect(now).resolves.toBe('free slot');
    expect(started).toEqual(['free slot']);
  });

  /** The order in which tasks start that queued, in this order, behind one held on the only slot. */
  async function startOrder(names: readonly string[], maxWaitMs?: number) {
    const queue = new VerifyQueue({ concurrency: 1, maxQueue: 100, name: 'test' });
    // A warm queue: a cold one lets no more than a long queue's worth wait.
    await learn(queue, 3, 10);
    const gate = held();
    const { task, started } = tasks();
    const all = [
      queue.run(gate.task, maxWaitMs),
      ...names.map((name) => queue.run(task(name, 10), maxWaitMs)),
    ];
    gate.release();
    await vi.advanceTimersByTimeAsync(100);
    await Promise.all(all);
    return started;
  }

  it('serves first come, first served while the queue is short', async () => {
    // 4 per slot is still short.
    expect(await startOrder(['a', 'b', 'c', 'd'], 60_000)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('serves the newest first while the queue is long, then first come, first served again', async () => {
    // 7 waiting is long: g, f and e go first, until 4 wait; then the oldest.
    expect(await startOrder(['a', 'b', 'c', 'd', 'e', 'f', 'g'], 60_000)).toEqual([
      'g',
      'f',
      'e',
      'a',
      'b',
      'c',
      'd',
    ]);
  });

  it('never serves a task without a bound out of order (it could wait forever)', async () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    expect(await startOrder(names)).toEqual(names);
  });

  it('refuses a newcomer that would start first when the oldest waiting task could then no longer make it', async () => {
    const queue = new VerifyQueue({ concurrency: 1, maxQueue: 100, name: 'test' });
    await learn(queue, 12, 100);
    const { task, started } = tasks();
    const running = queue.run(task('running'));
    const oldest = queue.run(task('oldest'), 700);
    const rest = Array.from({ length: 4 }, (_, i) => queue.run(task(`t${i}`), 10_000));
    // 5 waiting is long: a newcomer would start first, and the oldest would
    // then start after about 600 ms of others and end after its 700 ms.
    const pushy = watch(queue.run(task('pushy'), 10_000));
    await Promise.resolve();
    expect(codeOf(pushy.error)).toBe('OVERLOADED');
    expect((pushy.error as Error).message).toContain('could no longer start in time behind it');
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(Promise.all([running, oldest, ...rest])).resolves.toHaveLength(6);
    expect(started).toEqual(['running', 't3', 'oldest', 't0', 't1', 't2']);
  });

  it('under a standing queue refuses newcomers at once while it is long, instead of letting them wait', async () => {
    const queue = new VerifyQueue({ concurrency: 1, maxQueue: 1000, name: 'bcrypt' });
    await learn(queue, 12, 100);
    const { task } = tasks();
    const outcomes: ReturnType<typeof watch<string>>[] = [];
    const waitingAfter: number[] = [];
    // Ten arrivals per run, for 40 runs, each allowed to wait 2 s.
    for (let i = 0; i < 400; i++) {
      outcomes.push(watch(queue.run(task(`t${i}`), 2_000)));
      waitingAfter.push(queue.waiting);
      await vi.advanceTimersByTimeAsync(10);
    }
    await vi.advanceTimersByTimeAsync(10_000);
    const messages = outcomes.map((o) => (o.error as Error | undefined)?.message ?? 'ran');
    // At first the queue absorbs what it can check in time (a burst)...
    expect(Math.max(...waitingAfter.slice(0, 100))).toBeGreaterThan(10);
    const estimated = (m: string) =>
      m.includes('exceeds the 2000 ms it may wait') || m.includes('could no longer start in time');
    expect(
      messages
        .slice(0, 100)
        .filter((m) => m !== 'ran')
        .every(estimated),
    ).toBe(true);
    expect(messages.slice(0, 100).some(estimated)).toBe(true);
    // ...once it stood for 10 runs, it takes newcomers only while it is short.
    expect(Math.max(...waitingAfter.slice(-200))).toBeLessThanOrEqual(4);
    expect(messages.slice(-200).some((m) => m.includes('arrived faster than they finish'))).toBe(
      true,
    );
    // The thread never idled, and every refusal came at once: none waited out its bound.
    expect(messages.filter((m) => m === 'ran').length).toBeGreaterThanOrEqual(40);
    expect(messages.filter((m) => m.includes('no thread was free'))).toEqual([]);
  });

  it('frees the slot of a task that throws or rejects', async () => {
    const queue = new VerifyQueue({ concurrency: 1, maxQueue: 10, name: 'test' });
    const rejects = queue.run(() => Promise.reject(new Error('boom')));
    const throws = queue.run(() => {
      throw new Error('sync boom');
    });
    const after = queue.run(async () => 'after');
    await expect(rejects).rejects.toThrow('boom');
    await expect(throws).rejects.toThrow('sync boom');
    await expect(after).resolves.toBe('after');
    expect([queue.running, queue.waiting]).toEqual([0, 0]);
  });

  it('close() rejects every waiting task with CLOSED, refuses later ones, and lets running ones finish', async () => {
    const queue = new VerifyQueue({ concurrency: 1, maxQueue: 10, name: 'bcrypt' });
    const { task, started } = tasks();
    const running = queue.run(task('running'));
    const waiting = [watch(queue.run(task('w1'), 5_000)), watch(queue.run(task('w2')))];
    queue.close();
    await Promise.resolve();
    expect(waiting.map((w) => codeOf(w.error))).toEqual(['CLOSED', 'CLOSED']);
    await expect(queue.run(task('later'))).rejects.toMatchObject({
      code: 'CLOSED',
      message: 'the bcrypt verifier is closed',
    });
    await vi.advanceTimersByTimeAsync(100);
    await expect(running).resolves.toBe('running');
    expect(started).toEqual(['running']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refuses bad options with a ConfigError naming the option', () => {
    const cases = [
      [{ concurrency: 0, maxQueue: 1, name: 'x' }, 'verifyQueue.concurrency'],
      [{ concurrency: 1.5, maxQueue: 1, name: 'x' }, 'verifyQueue.concurrency'],
      [{ concurrency: 1, maxQueue: -1, name: 'x' }, 'verifyQueue.maxQueue'],
      [{ concurrency: 1, maxQueue: 1, name: '' }, 'verifyQueue.name'],
    ] as const;
    for (const [options, option] of cases) {
      const error = (() => {
        try {
          return new VerifyQueue(options);
        } catch (e) {
          return e;
        }
      })();
      expect(isConfigError(error) && error.option).toBe(option);
    }
    expect(
      () => new VerifyQueue({ concurrency: 1, maxQueue: Number.POSITIVE_INFINITY, name: 'x' }),
    ).not.toThrow();
  });
});

describe('a cold start', () => {
  it('lets a long queue wait before any run finished, and refuses the rest of a burst at once', async () => {
    const queue = new VerifyQueue({ concurrency: 2, maxQueue: 4096, name: 'bcrypt' });
    const { task } = tasks();
    const burst = Array.from({ length: 20 }, (_, i) => watch(queue.run(task(`t${i}`), 3000)));
    await vi.advanceTimersByTimeAsync(0);
    // 2 running and 8 waiting (4 per slot); the other 10 refused before any time passed.
    const refusedNow = burst.filter((s) => s.settled && codeOf(s.error) === 'OVERLOADED');
    expect(refusedNow).toHaveLength(10);
    expect(queue.waiting).toBe(8);
    await vi.advanceTimersByTimeAsync(500);
    expect(burst.filter((s) => s.settled && s.value !== undefined)).toHaveLength(10);
  });
});
