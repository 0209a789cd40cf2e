// A process that uses bcryptVerifier once and then exits, for
// test/unit/verifier-exit.test.ts. It prints nothing when all is well: the test
// asserts exit code 0 and an empty stderr (the verifier's default logger, an
// unhandled rejection or a V8 fatal error would all write there).
//
// usage: node verifier-exit-child.mjs <built bcrypt-verifier .js|.cjs> <scenario> <hash> [delayMs]
// The hash is of 'pw'.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [modulePath, scenario, hash, delay = '0'] = process.argv.slice(2);
const { bcryptVerifier } = modulePath.endsWith('.cjs')
  ? createRequire(import.meta.url)(modulePath)
  : await import(pathToFileURL(modulePath).href);

function fail(message) {
  process.stderr.write(`${scenario}: ${message}\n`);
  process.exitCode = 1;
}

async function verifiedOnce(verifier) {
  const matches = await verifier.verify('pw', hash);
  if (matches !== true) fail(`verify resolved ${matches}`);
}

const verifier = bcryptVerifier({ threads: 2 });
switch (scenario) {
  // Verify once and let the event loop drain: idle threads must not hold the
  // process, and the second thread may still be starting when it exits.
  case 'drain':
    await verifiedOnce(verifier);
    break;
  case 'close':
    await verifiedOnce(verifier);
    await verifier.close();
    break;
  case 'exit-after-verify':
    await verifiedOnce(verifier);
    process.exit(0);
    break;
  // Exit while the threads are starting and loading the worker file.
  case 'exit-while-starting':
    verifier.verify('pw', hash);
    if (Number(delay) === 0) process.exit(0);
    setTimeout(() => process.exit(0), Number(delay));
    break;
  // Close while the first tasks are queued and the threads are starting:
  // every task settles (true, or CLOSED), none is left unhandled.
  case 'close-while-starting': {
    const tasks = Array.from({ length: 4 }, () => verifier.verify('pw', hash));
    const settled = Promise.allSettled(tasks);
    await verifier.close();
    for (const outcome of await settled) {
      if (
        outcome.status === 'fulfilled' ? outcome.value !== true : outcome.reason?.code !== 'CLOSED'
      ) {
        fail(`unexpected outcome ${outcome.status}: ${outcome.value ?? outcome.reason}`);
      }
    }
    break;
  }
  default:
    fail('unknown scenario');
}
