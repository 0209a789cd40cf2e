#!/usr/bin/env node
// The `resilient-auth` command. Everything it does is in runDoctor, which tests call in-process.
import { safeMessage } from '../errors/classify.js';
import { runDoctor } from './run-doctor.js';

/** Exits once stdout and stderr are flushed: pipes are asynchronous on some platforms, and a CI job reads the JSON from one. */
function exitAfterFlush(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

runDoctor(process.argv.slice(2), process.env, {
  stdout: process.stdout,
  stderr: process.stderr,
}).then(exitAfterFlush, (error: unknown) => {
  // A bug, not a finding: exit 2 (could not run), with the message redacted.
  process.stderr.write(`resilient-auth doctor: internal error: ${safeMessage(error)}\n`);
  exitAfterFlush(2);
});
