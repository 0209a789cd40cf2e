// Core benchmarks: orchestrator overhead and password-verification throughput.
// Every figure is measured side by side in this one run; ratios are printed.
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import bcrypt from 'bcryptjs';
import {
  bcryptVerifier,
  createResilientAuth,
  hashPassword,
  memoryProvider,
} from '../dist/index.js';

const quick = process.env.BENCH_QUICK === '1';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n, digits = 2) => n.toFixed(digits);

/** (1) What authenticate() adds over calling the provider and the verifier directly. */
async function overhead() {
  const identifier = 'ada@example.com';
  const password = 'correct horse';
  const provider = memoryProvider({
    accounts: [{ identifier, passwordHash: `fake$${password}`, user: { id: 1 } }],
  });
  // A constant-cost verifier, so the orchestrator's own cost is what is measured.
  const verifier = {
    isWellFormed: (h) => h.startsWith('fake$'),
    dummyHash: () => 'fake$\0',
    verify: async (p, h) => h === `fake$${p}`,
  };
  const auth = createResilientAuth({ providers: [provider], verifier });
  const signal = new AbortController().signal;
  const direct = async () => {
    const account = await provider.findAccount(identifier, { signal });
    return verifier.verify(password, account.passwordHash);
  };
  const orchestrated = () => auth.authenticate({ identifier, password });
  // The same fallback behind a primary whose breaker is held open: what skipping costs.
  const skipping = createResilientAuth({
    providers: [memoryProvider({ name: 'open-primary', accounts: [] }), provider],
    verifier,
  });
  skipping.isolate('open-primary');
  const behindOpenPrimary = () => skipping.authenticate({ identifier, password });
  const n = quick ? 5_000 : 50_000;
  const time = async (fn) => {
    const start = performance.now();
    for (let i = 0; i < n; i++) await fn();
    return ((performance.now() - start) * 1000) / n;
  };
  await time(direct);
  await time(orchestrated);
  await time(behindOpenPrimary);
  const a = [];
  const b = [];
  const c = [];
  for (let round = 0; round < 7; round++) {
    a.push(await time(direct));
    b.push(await time(orchestrated));
    c.push(await time(behindOpenPrimary));
  }
  const directUs = median(a);
  const authUs = median(b);
  const skippingUs = median(c);
  await auth.close();
  await skipping.close();
  console.log(
    '\n(1) Orchestrator overhead per authenticate() (memory provider, constant-cost verifier)',
  );
  console.log(`    provider + verifier called directly : ${fmt(directUs)} µs/call`);
  console.log(`    auth.authenticate()                 : ${fmt(authUs)} µs/call`);
  console.log(
    `    overhead                            : ${fmt(authUs - directUs)} µs/call (${fmt(authUs / directUs)}x direct; target < 20 µs)`,
  );
  console.log(
    `    same, behind a primary whose breaker is open: ${fmt(skippingUs)} µs/call: skipping it costs ${fmt(skippingUs - authUs)} µs (${fmt((skippingUs - authUs) / 1000, 3)} ms; target for p99: within 1 ms)`,
  );
  return authUs - directUs;
}

/** An authenticator over one account with this verifier, warmed up (thread start-up, JIT). */
async function warmAuth(verifier, hash) {
  const provider = memoryProvider({
    accounts: [{ identifier: 'ada@example.com', passwordHash: hash, user: { id: 1 } }],
  });
  const auth = createResilientAuth({ providers: [provider], verifier, deadlineMs: 60_000 });
  const warmUp = { identifier: 'ada@example.com', password: 'warm-up' };
  await Promise.all(
    Array.from({ length: 2 * availableParallelism() }, () => auth.authenticate(warmUp)),
  );
  return auth;
}

/** Runs logins at a fixed concurrency; measures throughput and event-loop lag. */
async function saturate(auth, logins, concurrency) {
  const lag = lagProbe();
  let next = 0;
  let granted = 0;
  const worker = async () => {
    while (next++ < logins) {
      const r = await auth.authenticate({
        identifier: 'ada@example.com',
        password: 'correct horse',
      });
      if (r.ok) granted++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  const lagP99Ms = lag.stop();
  if (granted !== logins) throw new Error(`expected ${logins} grants, got ${granted}`);
  return { perSecond: logins / seconds, lagP99Ms };
}

/**
 * Event-loop lag: a 5 ms timer that records how late it fires. Unlike a
 * histogram that only samples when its timer gets to run, `stop()` also counts
 * the tick still waiting, so a loop blocked throughout reads as blocked.
 */
function lagProbe(intervalMs = 5) {
  const lags = [];
  let expected = performance.now() + intervalMs;
  let timer;
  const tick = () => {
    const now = performance.now();
    lags.push(Math.max(0, now - expected));
    expected = now + intervalMs;
    timer = setTimeout(tick, intervalMs);
  };
  timer = setTimeout(tick, intervalMs);
  return {
    stop() {
      clearTimeout(timer);
      lags.push(Math.max(0, performance.now() - expected));
      const sorted = lags.sort((a, b) => a - b);
      return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))];
    },
  };
}

/** One bcrypt verification on this thread, median of a few. */
function oneVerificationMs(hash) {
  const samples = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    bcrypt.compareSync('correct horse', hash);
    samples.push(performance.now() - start);
  }
  return median(samples);
}

/**
 * (2) Login throughput: worker pool vs in-thread bcryptjs vs the machine's limit.
 * Shared machines are noisy, so rounds interleave the three measurements and
 * the medians are reported.
 */
async function throughput() {
  const cores = availableParallelism();
  const hash = await hashPassword('correct horse', 10);
  bcrypt.compareSync('correct horse', hash);
  const pooled = await warmAuth(bcryptVerifier(), hash);
  const inThread = await warmAuth(bcryptVerifier({ threads: 0 }), hash);
  const rounds = quick ? 1 : 5;
  const logins = quick ? 20 : 48;
  const r = { one: [], limit: [], pool: [], poolLag: [], poolShare: [], thread: [], threadLag: [] };
  for (let round = 0; round < rounds; round++) {
    const one = oneVerificationMs(hash);
    const limit = (cores * 1000) / one;
    const p = await saturate(pooled, logins, 32);
    const t = await saturate(inThread, logins / 2, 32);
    r.one.push(one);
    r.limit.push(limit);
    r.pool.push(p.perSecond);
    r.poolLag.push(p.lagP99Ms);
    r.poolShare.push(p.perSecond / limit);
    r.thread.push(t.perSecond);
    r.threadLag.push(t.lagP99Ms);
  }
  await pooled.close();
  await inThread.close();
  const m = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, median(v)]));
  console.log(
    `\n(2) Login throughput, bcrypt cost 10, ${cores} cores, 32 concurrent logins (median of ${rounds} interleaved rounds)`,
  );
  console.log(`    one verification                    : ${fmt(m.one, 1)} ms`);
  console.log(`    machine limit (cores / one)         : ${fmt(m.limit, 1)} logins/s`);
  console.log(
    `    worker pool                         : ${fmt(m.pool, 1)} logins/s = ${fmt(100 * m.poolShare, 0)}% of limit (target >= 90%), event-loop lag p99 ${fmt(m.poolLag, 1)} ms (target < 10 ms)`,
  );
  console.log(
    `    in-thread bcryptjs                  : ${fmt(m.thread, 1)} logins/s = ${fmt((100 * m.thread) / m.limit, 0)}% of limit, event-loop lag p99 ${fmt(m.threadLag, 1)} ms`,
  );
  console.log(
    `    worker pool vs in-thread            : ${fmt(m.pool / m.thread)}x throughput, ${fmt(m.threadLag / m.poolLag, 0)}x less event-loop lag`,
  );
}

export async function runCoreBenchmarks() {
  await overhead();
  await throughput();
}
