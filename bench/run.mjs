// npm run bench: builds, then prints every benchmark side by side.
// BENCH_QUICK=1 runs short versions (a smoke test in CI); the README's figures come from the full run.
import { runCoreBenchmarks } from './core.mjs';
import { runExpressBenchmarks } from './express.mjs';
import { runHedgingBenchmarks } from './hedging.mjs';
import { runObservabilityBenchmarks } from './observability.mjs';
import { runOverloadBenchmarks } from './overload.mjs';
import { runPostgresBenchmarks } from './postgres.mjs';
import { runVerifierBenchmarks } from './verifiers.mjs';

const quick = process.env.BENCH_QUICK === '1';
console.log(`resilient-auth benchmarks, node ${process.version}${quick ? ' (quick mode)' : ''}`);
await runCoreBenchmarks();
await runPostgresBenchmarks();
await runOverloadBenchmarks({ quick });
await runVerifierBenchmarks({ quick });
await runExpressBenchmarks({ quick });
await runObservabilityBenchmarks({ quick });
await runHedgingBenchmarks({ quick });
