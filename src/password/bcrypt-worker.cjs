'use strict';
// Runs in a piscina worker thread: bcrypt is CPU-bound, so verification stays
// off the event loop. Plain CommonJS, so it runs unbuilt from src/ and copied
// into dist/, and so piscina's `require(filename)` loads it (and bcryptjs's
// CommonJS build) natively: an .mjs worker goes through Node's young
// require(esm) path, which once crashed a process exiting while a thread was
// still loading it.
const bcrypt = require('bcryptjs');

/** @param {{ password: string, hash: string }} task */
module.exports = function verify({ password, hash }) {
  return bcrypt.compareSync(password, hash);
};
