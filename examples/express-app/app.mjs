// The web app: a login form, a page behind it, and the health endpoints.
import express from 'express';
import session from 'express-session';
import { isAuthHttpError } from 'resilient-auth';
import { healthHandler, login } from 'resilient-auth/express';

const html = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const page = (title, body) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${html(title)}</title>
<style>body{font:16px system-ui;max-width:28rem;margin:4rem auto}label{display:block;margin:.5rem 0}
input{width:100%;padding:.4rem}.error{color:#b00020}.notice{color:#8a5a00}</style></head>
<body>${body}</body></html>`;

const loginForm = ({ email = '', error } = {}) =>
  page(
    'Sign in',
    `<h1>Sign in</h1>
${error ? `<p class="error" role="alert">${html(error)}</p>` : ''}
<form method="post" action="/login">
  <label>Email <input name="email" type="email" autocomplete="username" value="${html(email)}" required></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
  <button>Sign in</button>
</form>`,
  );

/**
 * @param {{ auth: import('resilient-auth').ResilientAuth<{ id: number, email: string }>, sessionSecret: string, secureCookies?: boolean }} options
 */
export function createApp({ auth, sessionSecret, secureCookies = false }) {
  const app = express();
  // Behind a load balancer, set 'trust proxy' so req.ip (which the throttle counts by) is the client's.
  app.set('trust proxy', false);
  app.use(
    session({
      secret: sessionSecret,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure: secureCookies },
      // The default MemoryStore is for one process; use a shared store (connect-pg-simple, ...) in production.
    }),
  );

  // In production, add a CSRF token to this form (csrf-csrf, say): login CSRF signs a
  // victim into the attacker's account.
  app.get('/login', (_req, res) => res.type('html').send(loginForm()));

  app.post(
    '/login',
    express.urlencoded({ extended: false, limit: '4kb' }),
    login(auth, { identifierField: 'email', passwordField: 'password' }),
    (req, res, next) => {
      const { user, mustChangePassword } = res.locals.auth;
      // A new session id at login: a session fixed before login is not carried over.
      req.session.regenerate((error) => {
        if (error) return next(error);
        req.session.user = user;
        req.session.mustChangePassword = mustChangePassword;
        res.redirect(303, '/');
      });
    },
  );

  // A refused or undecided login: the form again, with the status and Retry-After the library chose.
  app.use('/login', (error, req, res, next) => {
    if (!isAuthHttpError(error)) return next(error);
    res.status(error.status).set(error.headers).type('html');
    res.send(
      loginForm({
        email: typeof req.body?.email === 'string' ? req.body.email : '',
        error: error.body.message,
      }),
    );
  });

  app.get('/', (req, res) => {
    const user = req.session.user;
    if (!user) return res.redirect(303, '/login');
    res.type('html').send(
      page(
        'Home',
        `<h1>Signed in as ${html(user.email)}</h1>
${req.session.mustChangePassword ? '<p class="notice">Please change your password.</p>' : ''}
<form method="post" action="/logout"><button>Sign out</button></form>`,
      ),
    );
  });

  app.post('/logout', (req, res, next) => {
    req.session.destroy((error) => (error ? next(error) : res.redirect(303, '/login')));
  });

  // Serve these on an internal port or path in production: they name the providers
  // and their failure codes, for operators, not clients.
  // Readiness: 200 pass / 200 warn (a fallback serves) / 503 fail (nothing can decide).
  app.get('/health/ready', healthHandler(auth));
  // Liveness: the process answers; never touches a database.
  app.get('/health/live', healthHandler(auth, { probe: 'liveness' }));
  return app;
}
