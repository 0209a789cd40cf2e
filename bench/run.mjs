// npm run bench: builds, then prints every benchmark side by side.
import { runCoreBenchmarks } from './core.mjs';

console.log(
  `resilient-auth benchmarks — node ${process.version}${process.env.BENCH_QUICK === '1' ? ' (quick mode)' : ''}`,
);
await runCoreBenchmarks();
