// Verifier benchmarks: logins per second through each password verifier,
// side by side in one run, each against the machine's limit for it.
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { verifySync as argon2VerifySync } from '@node-rs/argon2';
import { verifySync as nativeVerifySync } from '@node-rs/bcrypt';
import bcryptjs from 'bcryptjs';
import * as built from '../dist/index.js';

const PASSWORD = 'correct horse';
const CONCURRENCY = 32;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n, digits = 1) => n.toFixed(digits);

/** The verifiers measured: what each runs on, and one verification on this thread for its limit. */
async function contenders(lib) {
  const bcryptjsHash = await lib.hashPassword(PASSWORD, 10);
  const native = lib.nativeBcryptVerifier({ cost: 10 });
  const argon2 = lib.argon2Verifier();
  return [
    {
      label: 'bcryptjs in worker threads (bcryptVerifier), cost 10',
      key: 'bcryptjs',
      verifier: lib.bcryptVerifier(),
      hash: bcryptjsHash,
      syncVerify: (hash) => bcryptjs.compareSync(PASSWORD, hash),
    },
    {
      label: '@node-rs/bcrypt on libuv (nativeBcryptVerifier), cost 10',
      key: 'native',
      verifier: native,
      hash: await native.hash(PASSWORD),
      syncVerify: (hash) => nativeVerifySync(PASSWORD, hash),
    },
    {
      label: '@node-rs/argon2 on libuv (argon2Verifier), m=19456 KiB t=2 p=1',
      key: 'argon2',
      verifier: argon2,
      hash: await argon2.hash(PASSWORD),
      syncVerify: (hash) => argon2VerifySync(hash, PASSWORD),
    },
  ];
}

/** CPU time this process used (every thread) since `since`, in seconds. */
const cpuSeconds = (since) => {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1e6;
};

/**
 * One verification on this thread, synchronously (median of a few): wall ms,
 * and CPU ms, which other processes on a shared machine do not inflate.
 */
function oneVerification({ syncVerify, hash }) {
  const wall = [];
  const cpu = [];
  for (let i = 0; i < 5; i++) {
    const since = process.cpuUsage();
    const start = performance.now();
    if (!syncVerify(hash)) throw new Error('the synchronous check refused the right password');
    wall.push(performance.now() - start);
    cpu.push(cpuSeconds(since) * 1000);
  }
  return { wallMs: median(wall), cpuMs: median(cpu) };
}

/**
 * `logins` verifications of the right password, `CONCURRENCY` at a time: per
 * second of wall time, per CPU-second (a core's second) the process used, and
 * event-loop delay p99.
 */
async function saturate({ verifier, hash }, logins) {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  let next = 0;
  let granted = 0;
  const worker = async () => {
    while (next++ < logins) {
      if (await verifier.verify(PASSWORD, hash)) granted++;
    }
  };
  const since = process.cpuUsage();
  const start = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - start) / 1000;
  const cpu = cpuSeconds(since);
  delay.disable();
  if (granted !== logins) throw new Error(`expected ${logins} grants, got ${granted}`);
  return {
    perSecond: logins / seconds,
    perCoreSecond: logins / cpu,
    delayP99Ms: delay.percentile(99) / 1e6,
  };
}

/**
 * Logins per second through bcryptVerifier (bcryptjs in piscina workers),
 * nativeBcryptVerifier and argon2Verifier, each with its defaults, against the
 * machine's limit for it: cores × one core's synchronous rate. Rounds
 * interleave the verifiers, since a shared machine is noisy; medians are
 * printed. `lib` is the build measured (default: ../dist/index.js).
 */
export async function runVerifierBenchmarks({ quick = false, lib = built } = {}) {
  const cores = availableParallelism();
  const list = await contenders(lib);
  for (const c of list) {
    await Promise.all(Array.from({ length: 2 * cores }, () => c.verifier.verify(PASSWORD, c.hash)));
  }
  const rounds = quick ? 1 : 5;
  const secondsPerRun = quick ? 0.5 : 2;
  const samples = new Map();
  const push = (key, value) => samples.set(key, [...(samples.get(key) ?? []), value]);
  for (let round = 0; round < rounds; round++) {
    for (const c of list) {
      const one = oneVerification(c);
      const limit = (cores * 1000) / one.wallMs;
      const logins = Math.max(CONCURRENCY, Math.round(limit * secondsPerRun));
      const run = await saturate(c, logins);
      push(`${c.key}.one`, one.wallMs);
      push(`${c.key}.limit`, limit);
      push(`${c.key}.served`, run.perSecond);
      push(`${c.key}.share`, run.perSecond / limit);
      push(`${c.key}.coreRate`, 1000 / one.cpuMs);
      push(`${c.key}.perCore`, run.perCoreSecond);
      push(`${c.key}.coreShare`, (run.perCoreSecond * one.cpuMs) / 1000);
      push(`${c.key}.delay`, run.delayP99Ms);
    }
  }
  await Promise.all(list.map((c) => c.verifier.close?.()));
  const m = (key) => median(samples.get(key));
  console.log(
    `\nVerifiers: logins per second through each verifier (its defaults, ${CONCURRENCY} concurrent), side by side with the machine's limit for it; median of ${rounds} interleaved rounds`,
  );
  console.log(
    `    per core: logins per CPU-second the process used, vs one core's synchronous rate (CPU time: other load on a shared machine does not skew it)`,
  );
  console.log(
    `    wall: logins per second, vs ${cores} cores × one synchronous verification's wall time`,
  );
  for (const { key, label } of list) {
    console.log(`    ${label}`);
    console.log(
      `        per core: ${fmt(m(`${key}.perCore`))}/s of ${fmt(m(`${key}.coreRate`))}/s = ${fmt(100 * m(`${key}.coreShare`), 0)}%; wall: ${fmt(m(`${key}.served`))}/s of ${fmt(m(`${key}.limit`))}/s = ${fmt(100 * m(`${key}.share`), 0)}% (one verification ${fmt(m(`${key}.one`))} ms); event-loop delay p99 ${fmt(m(`${key}.delay`))} ms`,
    );
  }
  const perCore = m('native.perCore') / m('bcryptjs.perCore');
  const wall = m('native.served') / m('bcryptjs.served');
  console.log(
    `    native bcrypt vs bcryptjs, both cost 10: ${fmt(perCore, 2)}x the logins per core (target >= 1.25x)${perCore >= 1.25 ? '' : '  << below target'}, ${fmt(wall, 2)}x per second of wall time (moves with other load)`,
  );
}
