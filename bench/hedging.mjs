// Hedged lookups in a brownout: the primary path answers, but ~2% of its
// queries are held 1 s by the fault proxy (its p99 about 1 s). Login latency
// without hedging, with hedgeAfterMs: 'p95' and with a fixed hedgeAfterMs,
// side by side in one run, and the extra lookups each costs.
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import {
  applyReferenceSchema,
  bcryptVerifier,
  createResilientAuth,
  hashPassword,
  pgProvider,
} from '../dist/index.js';
import { startEmbeddedPostgres } from '../examples/support/embedded-postgres.mjs';
import { FaultProxy } from '../examples/support/fault-proxy.mjs';

const PASSWORD = 'correct horse';
const login = { identifier: 'ada@example.com', password: PASSWORD };
const SLOW_SHARE = 0.02;
const SLOW_MS = 1000;
const FIXED_HEDGE_MS = 10;

const at = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
const fmtMs = (ms) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)).padStart(6);

/**
 * Each contender's login latencies under the same open-loop load: logins
 * arrive every `intervalMs` whether or not earlier ones finished (a closed
 * loop would give the faster contender more load, and hide the waits of the
 * slower one), timed from their planned arrival. `rounds` interleaved rounds
 * of `perRound` logins, so machine noise and the proxy's random holds fall on
 * all of them alike.
 */
async function latencies(contenders, rounds, perRound, intervalMs) {
  const samples = contenders.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const i = (k + round) % contenders.length;
      const start = performance.now();
      const logins = [];
      for (let n = 0; n < perRound; n++) {
        const planned = start + n * intervalMs;
        const wait = planned - performance.now();
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
        logins.push(
          contenders[i].auth.authenticate(login).then(() => {
            samples[i].push(performance.now() - planned);
          }),
        );
      }
      await Promise.all(logins);
    }
  }
  return samples.map((xs) => xs.sort((a, b) => a - b));
}

/** Runs the hedging benchmark; `quick` for the CI smoke run. */
export async function runHedgingBenchmarks({ quick = false } = {}) {
  const server = await startEmbeddedPostgres();
  const admin = new pg.Pool({ connectionString: server.url, max: 2 });
  admin.on('error', () => undefined);
  const proxy = await FaultProxy.start({ host: '127.0.0.1', port: server.port });
  const contenders = [];
  try {
    await applyReferenceSchema(admin);
    // Cost 4: lookups, not bcrypt, are what this compares.
    await admin.query('INSERT INTO users (email, password_hash) VALUES ($1, $2)', [
      login.identifier,
      await hashPassword(PASSWORD, 4),
    ]);
    const make = (label, hedgeAfterMs) => {
      const counts = { lookups: 0, hedged: 0, cancelled: 0 };
      const auth = createResilientAuth({
        providers: [
          {
            provider: pgProvider({
              name: 'primary',
              connectionString: proxy.url(server.url),
              table: 'users',
              // Room for the queries the proxy holds (about 4 at a time at 200 logins/s).
              poolSize: 16,
            }),
            // A held query is slow, not failed: it must not time out.
            policy: { ...(hedgeAfterMs !== undefined && { hedgeAfterMs }) },
          },
          pgProvider({
            name: 'fallback',
            connectionString: server.url,
            table: 'users',
            poolSize: 8,
          }),
        ],
        policy: { timeoutMs: 2000 },
        deadlineMs: 3000,
        verifier: bcryptVerifier(),
        hooks: {
          onLookup(event) {
            counts.lookups++;
            if (event.hedged) counts.hedged++;
            if (event.result === 'cancelled') counts.cancelled++;
          },
        },
      });
      return { label, auth, counts };
    };
    contenders.push(
      make('no hedging', undefined),
      make("hedgeAfterMs: 'p95'", 'p95'),
      make(`hedgeAfterMs: ${FIXED_HEDGE_MS}`, FIXED_HEDGE_MS),
    );
    // Warm the pools and the p95 windows (20 lookups before 'p95' hedges) on a healthy path.
    for (const { auth } of contenders) {
      for (let i = 0; i < 60; i++) await auth.authenticate(login);
    }
    await proxy.set({ type: 'slow-share', share: SLOW_SHARE, ms: SLOW_MS });
    for (const { counts } of contenders)
      Object.assign(counts, { lookups: 0, hedged: 0, cancelled: 0 });

    const rounds = quick ? 3 : 10;
    const perRound = quick ? 200 : 500;
    const perSecond = 200;
    console.log(
      `\nHedged lookups in a brownout: pgProvider through the fault proxy, ${SLOW_SHARE * 100}% of its queries held ${SLOW_MS} ms; fallback: pgProvider direct. ${rounds} interleaved rounds of ${perRound} logins arriving at ${perSecond}/s; bcrypt cost 4.`,
    );
    const results = await latencies(contenders, rounds, perRound, 1000 / perSecond);
    contenders.forEach(({ label, counts }, i) => {
      const xs = results[i];
      console.log(
        `    ${label.padEnd(20)} p50 ${fmtMs(at(xs, 0.5))} ms  p99 ${fmtMs(at(xs, 0.99))} ms  p99.9 ${fmtMs(at(xs, 0.999))} ms  extra lookups per login ${(counts.hedged / xs.length).toFixed(3)} (${counts.hedged} hedges, ${counts.cancelled} cancelled, ${xs.length} logins)`,
      );
    });
    const [none, p95] = results;
    console.log(
      `    p99 with 'p95' hedging / without: ${((at(p95, 0.99) / at(none, 0.99)) * 100).toFixed(1)}%; p99.9: ${((at(p95, 0.999) / at(none, 0.999)) * 100).toFixed(1)}%`,
    );
  } finally {
    await Promise.all(contenders.map(({ auth }) => auth.close().catch(() => undefined)));
    await admin.end().catch(() => undefined);
    await proxy.close();
    await server.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runHedgingBenchmarks({ quick: process.env.BENCH_QUICK === '1' });
}
