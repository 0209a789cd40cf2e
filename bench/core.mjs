// Core benchmarks: orchestrator overhead and password-verification throughput.
// Every figure is measured side by side in this one run; ratios are printed.
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import bcrypt from 'bcryptjs';
import { TimeoutStrategy, timeout } from 'cockatiel';
import * as current from '../dist/index.js';

const quick = process.env.BENCH_QUICK === '1';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n, digits = 2) => n.toFixed(digits);

/**
 * The builds measured side by side: this one, and with BENCH_BASELINE=<path to
 * another build's dist/index.js> (an earlier commit, say) that one too, in
 * the same run, interleaved round by round.
 */
async function builds() {
  const list = [{ label: 'this build', lib: current }];
  if (process.env.BENCH_BASELINE) {
    list.push({ label: 'baseline', lib: await import(process.env.BENCH_BASELINE) });
  }
  return list;
}

/** Calls per round, and the mean µs per call of `fn` over the round. */
async function timePerCall(fn, n) {
  const start = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return ((performance.now() - start) * 1000) / n;
}

/** What authenticate() adds over the provider and the verifier called directly, and what skipping costs. */
function overheadContenders({ createResilientAuth, memoryProvider }) {
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
  // The same fallback behind a primary whose breaker is held open: what skipping costs.
  const skipping = createResilientAuth({
    providers: [memoryProvider({ name: 'open-primary', accounts: [] }), provider],
    verifier,
  });
  skipping.isolate('open-primary');
  const signal = new AbortController().signal;
  return {
    direct: async () => {
      const account = await provider.findAccount(identifier, { signal });
      return verifier.verify(password, account.passwordHash);
    },
    orchestrated: () => auth.authenticate({ identifier, password }),
    behindOpenPrimary: () => skipping.authenticate({ identifier, password }),
    close: () => Promise.all([auth.close(), skipping.close()]),
  };
}

/** (1) Orchestrator overhead, per build, interleaved. */
async function overhead(list) {
  const n = quick ? 5_000 : 50_000;
  const contenders = list.map(({ label, lib }) => ({ label, ...overheadContenders(lib) }));
  // cockatiel's aggressive TimeoutPolicy against a plain timer race: why the attempt timeout is ours.
  const cockatielTimeout = timeout(1000, {
    strategy: TimeoutStrategy.Aggressive,
    abortOnReturn: false,
  });
  const bare = async () => 1;
  const timerRace = () =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timeout')), 1000);
      bare().then((v) => {
        clearTimeout(timer);
        resolve(v);
      }, reject);
    });
  const samples = new Map();
  const record = (key, us) => samples.set(key, [...(samples.get(key) ?? []), us]);
  const rounds = 7;
  for (let round = -1; round < rounds; round++) {
    for (const c of contenders) {
      for (const kind of ['direct', 'orchestrated', 'behindOpenPrimary']) {
        const us = await timePerCall(c[kind], n);
        if (round >= 0) record(`${c.label}.${kind}`, us);
      }
    }
    const a = await timePerCall(() => cockatielTimeout.execute(bare), n);
    const b = await timePerCall(timerRace, n);
    if (round >= 0) {
      record('cockatiel', a);
      record('race', b);
    }
  }
  await Promise.all(contenders.map((c) => c.close()));
  const m = (key) => median(samples.get(key));
  console.log(
    `\n(1) Orchestrator overhead per authenticate() (memory provider, constant-cost verifier; median of ${rounds} interleaved rounds of ${n} calls)`,
  );
  for (const { label } of contenders) {
    const direct = m(`${label}.direct`);
    const auth = m(`${label}.orchestrated`);
    const skip = m(`${label}.behindOpenPrimary`);
    console.log(
      `    ${label.padEnd(10)}: provider + verifier directly ${fmt(direct)} µs, authenticate() ${fmt(auth)} µs: overhead ${fmt(auth - direct)} µs (target < 10 µs); skipping an open primary ${fmt(skip - auth)} µs (target < 3 µs)`,
    );
  }
  if (contenders.length > 1) {
    const over = (label) => m(`${label}.orchestrated`) - m(`${label}.direct`);
    console.log(
      `    overhead, this build vs baseline: ${fmt(over('baseline') / over('this build'))}x less`,
    );
  }
  console.log(
    `    per call: cockatiel's aggressive TimeoutPolicy ${fmt(m('cockatiel'))} µs vs a timer race ${fmt(m('race'))} µs (${fmt(m('cockatiel') / m('race'), 1)}x): why the attempt timeout builds its AbortSignal only when read`,
  );
}

/** An authenticator over one account with this verifier, warmed up (thread start-up, JIT). */
async function warmAuth({ createResilientAuth, memoryProvider }, verifier, hash) {
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
 * (2) Login throughput: worker pool vs in-thread bcryptjs vs the machine's
 * limit, per build. Shared machines are noisy, so rounds interleave the
 * measurements and the medians are reported.
 */
async function throughput(list) {
  const cores = availableParallelism();
  const hash = await current.hashPassword('correct horse', 10);
  bcrypt.compareSync('correct horse', hash);
  const pooled = [];
  for (const { label, lib } of list) {
    pooled.push({ label, auth: await warmAuth(lib, lib.bcryptVerifier(), hash) });
  }
  const inThread = await warmAuth(current, current.bcryptVerifier({ threads: 0 }), hash);
  const rounds = quick ? 1 : 5;
  const logins = quick ? 20 : 48;
  const r = new Map();
  const push = (key, value) => r.set(key, [...(r.get(key) ?? []), value]);
  for (let round = 0; round < rounds; round++) {
    const one = oneVerificationMs(hash);
    const limit = (cores * 1000) / one;
    push('one', one);
    push('limit', limit);
    for (const { label, auth } of pooled) {
      const p = await saturate(auth, logins, 32);
      push(`${label}.pool`, p.perSecond);
      push(`${label}.lag`, p.lagP99Ms);
      push(`${label}.share`, p.perSecond / limit);
    }
    const t = await saturate(inThread, logins / 2, 32);
    push('thread', t.perSecond);
    push('threadLag', t.lagP99Ms);
  }
  await Promise.all([...pooled.map((p) => p.auth.close()), inThread.close()]);
  const m = (key) => median(r.get(key));
  console.log(
    `\n(2) Login throughput, bcrypt cost 10, ${cores} cores, 32 concurrent logins (median of ${rounds} interleaved rounds)`,
  );
  console.log(`    one verification                    : ${fmt(m('one'), 1)} ms`);
  console.log(`    machine limit (cores / one)         : ${fmt(m('limit'), 1)} logins/s`);
  for (const { label } of pooled) {
    console.log(
      `    worker pool, ${label.padEnd(22)}: ${fmt(m(`${label}.pool`), 1)} logins/s = ${fmt(100 * m(`${label}.share`), 0)}% of limit (target >= 90%), event-loop lag p99 ${fmt(m(`${label}.lag`), 1)} ms (target < 10 ms)`,
    );
  }
  console.log(
    `    in-thread bcryptjs                  : ${fmt(m('thread'), 1)} logins/s = ${fmt((100 * m('thread')) / m('limit'), 0)}% of limit, event-loop lag p99 ${fmt(m('threadLag'), 1)} ms`,
  );
  console.log(
    `    worker pool vs in-thread            : ${fmt(m('this build.pool') / m('thread'))}x throughput, ${fmt(m('threadLag') / m('this build.lag'), 0)}x less event-loop lag`,
  );
}

export async function runCoreBenchmarks() {
  const list = await builds();
  await overhead(list);
  await throughput(list);
}
