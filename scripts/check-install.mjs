// Installs the packed package into an empty project, as a user would, and
// checks what the root entry costs: the install size without the optional
// peer pg, that the memory provider works without pg (ESM and CommonJS), that
// pgProvider says clearly what is missing, and that it works once pg is added;
// that the adapters needing no runtime peer load without one, and that the
// Hono adapter's module graph holds nothing Node-only (the adapter itself must not tie Hono to Node);
// that the Prometheus and OpenTelemetry hook sets build with their peer, and that the
// `resilient-auth` bin runs `doctor`.
// Run after `npm run build`; part of `npm run check:package`.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const npm = (args, cwd) =>
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    encoding: 'utf8',
  });

async function du(dir) {
  let bytes = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) bytes += await du(path);
    else if (entry.isFile()) bytes += (await stat(path)).size;
  }
  return bytes;
}

const node = (cwd, file, source) => {
  execFileSync('node', ['-e', source, file], { cwd, stdio: 'inherit' });
};

const project = await mkdtemp(join(tmpdir(), 'resilient-auth-install-'));
try {
  const tarball = npm(['pack', '--pack-destination', project], root).trim().split('\n').at(-1);
  await writeFile(join(project, 'package.json'), '{ "name": "app", "private": true }\n');
  npm(['install', join(project, tarball)], project);
  const modules = join(project, 'node_modules');
  const packages = (await readdir(modules)).filter((name) => !name.startsWith('.'));
  if (packages.includes('pg')) throw new Error('pg was installed, but it is an optional peer');
  const size = await du(modules);
  console.log(
    `install size of resilient-auth without pg: ${(size / 1024 / 1024).toFixed(1)} MiB in node_modules (${packages.join(', ')})`,
  );

  const login = `
    const pw = 'correct horse';
    const { createResilientAuth, memoryProvider, hashPassword, pgProvider } = lib;
    (async () => {
      const auth = createResilientAuth({ providers: [memoryProvider({ accounts: [
        { identifier: 'ada@example.com', passwordHash: await hashPassword(pw, 4), user: { id: 1 } }] })] });
      const result = await auth.authenticate({ identifier: 'ada@example.com', password: pw });
      await auth.close();
      if (!result.ok) throw new Error('login failed without pg');
      let refused;
      try { pgProvider({ connectionString: 'postgres://app:pw@localhost/app', table: 'users' }); }
      catch (error) { refused = error; }
      if (process.argv[1] === 'with-pg') {
        if (refused) throw refused;
      } else if (refused?.code !== 'CONFIG_INVALID' || !/npm install pg/.test(refused.message)) {
        throw new Error('pgProvider without pg: expected a ConfigError naming pg, got ' + refused);
      }
      console.log('  ' + process.argv[1] + ': login ok; pgProvider ' + (refused ? 'says: ' + refused.message : 'built'));
    })().catch((error) => { console.error(error); process.exit(1); });`;
  node(project, 'esm without pg', `import('resilient-auth').then((lib) => {${login}})`);
  node(project, 'cjs without pg', `const lib = require('resilient-auth');${login}`);
  for (const subpath of ['express', 'passport']) {
    node(
      project,
      subpath,
      `import('resilient-auth/${subpath}').then(() => require('resilient-auth/${subpath}')).then(() => console.log('  resilient-auth/' + process.argv[1] + ' loads (ESM and CJS) without its framework installed'))`,
    );
  }
  const nodeOnly = await nodeOnlyImports(join(modules, 'resilient-auth', 'dist', 'hono.js'));
  if (nodeOnly.length > 0)
    throw new Error(`resilient-auth/hono imports Node-only modules: ${nodeOnly.join(', ')}`);
  console.log('  resilient-auth/hono: no Node-only module in its import graph');
  npm(['install', 'pg@^8.11.0', 'prom-client@^15.0.0', '@opentelemetry/api@^1.9.0'], project);
  node(project, 'with-pg', `import('resilient-auth').then((lib) => {${login}})`);
  for (const [subpath, factory] of [
    ['prometheus', `prometheusHooks({ registry: new (require('prom-client').Registry)() })`],
    ['opentelemetry', 'openTelemetryHooks()'],
  ]) {
    node(
      project,
      subpath,
      `const load = (lib) => { const { ${factory.split('(')[0]} } = lib; return ${factory}; };
       import('resilient-auth/${subpath}').then(load).then(() => load(require('resilient-auth/${subpath}')))
         .then(() => console.log('  resilient-auth/' + process.argv[1] + ': its hook set builds (ESM and CJS) with its peer installed'))
         .catch((error) => { console.error(error); process.exit(1); });`,
    );
  }
  // The bin, as `npx resilient-auth` finds it: usage on --help, exit 2 (could not run) without a config.
  const bin = (args) => {
    try {
      return {
        status: 0,
        out: execFileSync('npx', ['--no-install', 'resilient-auth', ...args], {
          cwd: project,
          encoding: 'utf8',
          stdio: 'pipe',
          env: { ...process.env, DATABASE_URL: '' },
        }),
      };
    } catch (error) {
      return { status: error.status, out: `${error.stdout}${error.stderr}` };
    }
  };
  const help = bin(['doctor', '--help']);
  if (help.status !== 0 || !/doctor/.test(help.out))
    throw new Error(`resilient-auth doctor --help: exit ${help.status}: ${help.out}`);
  const unconfigured = bin(['doctor']);
  if (unconfigured.status !== 2)
    throw new Error(
      `resilient-auth doctor without a config: expected exit 2, got ${unconfigured.status}: ${unconfigured.out}`,
    );
  console.log(
    '  bin resilient-auth: doctor --help exits 0; without a config it exits 2 and says why',
  );
} finally {
  await rm(project, { recursive: true, force: true });
}

/** The Node-only modules an ES module reaches through its relative imports. */
async function nodeOnlyImports(entry) {
  const NODE_ONLY =
    /^(node:|pg$|piscina$|bcryptjs$|rate-limiter-flexible$|@node-rs\/|worker_threads$|fs$|crypto$|os$|path$)/;
  const seen = new Set();
  const found = new Set();
  const visit = async (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = await readFile(file, 'utf8');
    const specifiers = source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g);
    for (const [, specifier] of specifiers) {
      if (specifier.startsWith('.')) await visit(join(dirname(file), specifier));
      else if (NODE_ONLY.test(specifier)) found.add(specifier);
    }
  };
  await visit(entry);
  return [...found];
}
