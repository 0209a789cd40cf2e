import { copyFile } from 'node:fs/promises';
import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    testing: 'src/testing/index.ts',
    express: 'src/express/index.ts',
    fastify: 'src/fastify/index.ts',
    hono: 'src/hono/index.ts',
    passport: 'src/passport/index.ts',
    'next-auth': 'src/next-auth/index.ts',
    prometheus: 'src/prometheus/index.ts',
    opentelemetry: 'src/opentelemetry/index.ts',
    cli: 'src/doctor/cli.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // `import.meta.url` locates the bcrypt worker file in both module formats.
  shims: true,
  // Shared chunks: the root and every subpath must share one copy of each error class.
  splitting: true,
  // The worker is plain CommonJS loaded by file path (piscina `require()`s it), never bundled.
  async onSuccess() {
    await copyFile('src/password/bcrypt-worker.cjs', 'dist/bcrypt-worker.cjs');
  },
});
