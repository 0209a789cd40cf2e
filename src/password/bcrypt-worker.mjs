// Runs in a piscina worker thread: bcrypt is CPU-bound, so verification stays
// off the event loop. Plain ESM so it runs unbuilt from src/ and copied into dist/.
import bcrypt from 'bcryptjs';

/** @param {{ password: string, hash: string }} task */
export default function verify({ password, hash }) {
  return bcrypt.compareSync(password, hash);
}
