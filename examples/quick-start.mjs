// The README's quick start, runnable: `npm run example`.
import { createResilientAuth, hashPassword, memoryProvider } from 'resilient-auth';

const account = {
  identifier: 'ada@example.com',
  passwordHash: await hashPassword('correct horse battery staple'),
  user: { id: 1, name: 'Ada' },
};
const primary = memoryProvider({ name: 'primary', accounts: [account] });
const fallback = memoryProvider({ name: 'fallback', accounts: [account] });

const auth = createResilientAuth({
  providers: [primary, fallback],
  hooks: { onDegraded: (e) => console.log(`ALERT: login served by ${e.provider}`) },
});

const login = { identifier: 'ada@example.com', password: 'correct horse battery staple' };
console.log(await auth.authenticate(login)); // ok, from primary
primary.fail(); // the primary stops answering
console.log(await auth.authenticate(login)); // ok, from fallback, degraded: true
console.log(await auth.authenticate({ ...login, password: 'wrong' })); // invalid_credentials
await auth.close();
