// Overload benchmark: 10x the machine's login limit, offered open-loop, to
// login with shedding (this build's defaults) and with the old behaviour
// (every verification waits its turn, however long), side by side in one run.
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  bcryptVerifier,
  createResilientAuth,
  hashPassword,
  isAuthUnavailableError,
  memoryProvider,
} from '../dist/index.js';

const IDENTIFIER = 'ada@example.com';
const PASSWORD = 'correct horse';
const DEADLINE_MS = 3000;
const OVERLOAD = 10;
// Arrivals are released in batches this often, each batch what is due by then.
const TICK_MS = 2;

const fmt = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const percentile = (sorted, p) =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const attempt = (i) => ({
  identifier: IDENTIFIER,
  password: i % 2 === 0 ? PASSWORD : 'wrong horse',
});

/** An authenticator over one account (memory provider: only verification costs anything), warmed up. */
async function warmAuth(hash, verifier) {
  const auth = createResilientAuth({
    providers: [
      memoryProvider({
        accounts: [{ identifier: IDENTIFIER, passwordHash: hash, user: { id: 1 } }],
      }),
    ],
    deadlineMs: DEADLINE_MS,
    verifier,
  });
  for (let round = 0; round < 3; round++) {
    await Promise.all(
      Array.from({ length: 2 * availableParallelism() }, (_, i) => auth.authenticate(attempt(i))),
    );
  }
  return auth;
}

/** Logins per second with just enough concurrency to keep every thread busy. */
async function loginLimit(hash, seconds) {
  const auth = await warmAuth(hash, bcryptVerifier());
  const concurrency = 2 * availableParallelism();
  let done = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await auth.authenticate(attempt(done));
        done++;
      }
    }),
  );
  const perSecond = done / ((performance.now() - start) / 1000);
  await auth.close();
  return perSecond;
}

/** The old behaviour: a verifier that drops the wait bound, so every check queues until its turn. */
function unboundedWait(inner) {
  return {
    maxPasswordBytes: inner.maxPasswordBytes,
    isWellFormed: (hash) => inner.isWellFormed(hash),
    dummyHash: (like) => inner.dummyHash(like),
    verify: (password, hash) => inner.verify(password, hash),
    close: () => inner.close(),
  };
}

/**
 * Offers `ratePerSecond` logins for `seconds` (open loop: arrivals do not wait
 * for answers), waits out the deadline of the last one, then closes the
 * verifier, which ends whatever still waits, and the authenticator.
 */
async function offer(hash, verifier, ratePerSecond, seconds) {
  const auth = await warmAuth(hash, verifier);
  const answered = [];
  const refused = [];
  let other = 0;
  let offered = 0;
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const pending = new Set();
  let lastAnswerAt = 0;
  const arrive = (i) => {
    const t0 = performance.now();
    const call = auth.authenticate(attempt(i)).then(
      () => {
        lastAnswerAt = performance.now();
        answered.push(lastAnswerAt - t0);
      },
      (error) => {
        if (isAuthUnavailableError(error) && error.failures.some((f) => f.code === 'OVERLOADED')) {
          refused.push(performance.now() - t0);
        } else other++;
      },
    );
    pending.add(call);
    call.finally(() => pending.delete(call));
  };
  const start = performance.now();
  const end = start + seconds * 1000;
  for (let now = start; now < end; now = performance.now()) {
    const due = Math.floor(((now - start) / 1000) * ratePerSecond);
    while (offered < due) arrive(offered++);
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    await sleep(TICK_MS);
  }
  // Whatever is still waiting a deadline after the last arrival has missed it.
  const drainEnd = performance.now() + DEADLINE_MS + 500;
  while (pending.size > 0 && performance.now() < drainEnd) {
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    await sleep(50);
  }
  const unanswered = pending.size;
  await verifier.close();
  await auth.close();
  await Promise.allSettled([...pending]);
  answered.sort((a, b) => a - b);
  refused.sort((a, b) => a - b);
  const inTime = answered.filter((ms) => ms <= DEADLINE_MS).length;
  // From the first arrival to the last answer: the time the threads worked for these logins.
  const workedSeconds = (lastAnswerAt - start) / 1000;
  return {
    offered,
    goodput: inTime / workedSeconds,
    // Every answer is one bcrypt check: the threads' throughput, in time or not.
    checked: answered.length / workedSeconds,
    answered: answered.length,
    late: answered.length - inTime,
    answeredP50: percentile(answered, 0.5),
    answeredP99: percentile(answered, 0.99),
    refused: refused.length,
    refusedP99: percentile(refused, 0.99),
    unanswered,
    other: other - unanswered,
    rssGrowthMb: (rssPeak - rssBefore) / 2 ** 20,
  };
}

/** Overload: shed vs queue at 10x the machine's login limit. */
export async function runOverloadBenchmarks({ quick = false } = {}) {
  const seconds = quick ? 3 : 30;
  const hash = await hashPassword(PASSWORD, 10);
  const limitSeconds = quick ? 2 : 5;
  // The machine is shared: each configuration is held against the mean of the
  // limits measured just before and just after it.
  const before = await loginLimit(hash, limitSeconds);
  const rate = OVERLOAD * before;
  const shedding = await offer(hash, bcryptVerifier(), rate, seconds);
  const between = await loginLimit(hash, limitSeconds);
  const queueing = await offer(
    hash,
    unboundedWait(bcryptVerifier({ maxQueue: Number.POSITIVE_INFINITY })),
    rate,
    seconds,
  );
  const after = await loginLimit(hash, limitSeconds);
  shedding.limit = (before + between) / 2;
  queueing.limit = (between + after) / 2;
  console.log(
    `\nOverload: ${OVERLOAD}x the login limit for ${seconds} s, open loop, bcrypt cost 10, ${availableParallelism()} threads, deadlineMs ${DEADLINE_MS}, half the passwords wrong`,
  );
  console.log(
    `    login limit (${2 * availableParallelism()} concurrent logins) before, between and after: ${fmt(before)}, ${fmt(between)}, ${fmt(after)} logins/s; offered ${fmt(rate)} logins/s to both`,
  );
  for (const [label, r] of [
    ['shedding (defaults)', shedding],
    ['queueing (no wait bound)', queueing],
  ]) {
    console.log(
      `    ${label.padEnd(24)}: goodput ${fmt(r.goodput)} logins/s = ${fmt((100 * r.goodput) / r.limit, 0)}% of limit (target >= 90%), ${fmt(r.checked)} checks/s done, ${fmt((100 * r.goodput) / r.checked, 0)}% of them in time; answered ${r.answered} of ${r.offered}, p50 ${fmt(r.answeredP50, 0)} ms, p99 ${fmt(r.answeredP99, 0)} ms (target < ${DEADLINE_MS} ms), ${r.late} after the deadline; refused ${r.refused}, p99 ${fmt(r.refusedP99, 2)} ms (target < 5 ms); still waiting at the end ${r.unanswered}${r.other > 0 ? `; other errors ${r.other}` : ''}; RSS +${fmt(r.rssGrowthMb)} MB`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runOverloadBenchmarks({ quick: process.env.BENCH_QUICK === '1' });
}
