// Tiny local OpenID Connect provider for end-to-end sign-in tests (oidc-provider by panva).
//
//   node provider.mjs --port 0 --app-port 8501 --users '{"therapist@example.test": {"name": "Thea"}}'
//
// Options (argv wins over env):
//   --port           OIDC_PORT           port on 127.0.0.1; 0 (default) = any free port
//   --app-port       OIDC_APP_PORT       Streamlit port; redirect_uri = http://localhost:PORT/oauth2callback
//   --client-id      OIDC_CLIENT_ID      default "streamlit-test"
//   --client-secret  OIDC_CLIENT_SECRET  default "streamlit-test-secret"
//   --users          OIDC_USERS          JSON {"email": {extra claims}}; sub defaults to the email,
//                                        email_verified to true
// Prints "READY http://127.0.0.1:PORT" (the issuer) once listening.
//
// Sign-in page (/interaction/:uid): one form, input name="login" (the email) + "Continue" button.
// Consent is granted automatically; sign-out (end_session) confirms itself.
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import Provider, { interactionPolicy } from 'oidc-provider';

const { values: opt } = parseArgs({
  options: {
    port: { type: 'string' },
    'app-port': { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    users: { type: 'string' },
  },
});
const env = process.env;
const port = Number(opt.port ?? env.OIDC_PORT ?? 0);
const appPort = Number(opt['app-port'] ?? env.OIDC_APP_PORT ?? 8501);
const clientId = opt['client-id'] ?? env.OIDC_CLIENT_ID ?? 'streamlit-test';
const clientSecret = opt['client-secret'] ?? env.OIDC_CLIENT_SECRET ?? 'streamlit-test-secret';
const users = JSON.parse(opt.users ?? env.OIDC_USERS
  ?? '{"therapist@example.test": {"name": "Thea Therapist"}, "stranger@example.test": {"name": "Sam Stranger"}}');
const redirectUri = `http://localhost:${appPort}/oauth2callback`;

const claimsOf = (email) => ({ sub: email, email, email_verified: true, ...users[email] });
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head><body>${body}</body></html>`;

// Streamlit always sends prompt=select_account (like Google); make it a known, requestable prompt
// so oidc-provider does not reject it, and so every sign-in shows the account form.
const policy = interactionPolicy.base();
policy.add(new interactionPolicy.Prompt({ name: 'select_account', requestable: true }), 0);

const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

const server = createServer();
server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      post_logout_redirect_uris: [redirectUri], // st.logout() sends /oauth2callback here
      grant_types: ['authorization_code'],
      response_types: ['code'],
    }],
    jwks: { keys: [{ ...signingKey, kid: 'test-key', use: 'sig', alg: 'RS256' }] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    ttl: { Session: 3600, Interaction: 600, Grant: 3600, AccessToken: 600, IdToken: 3600 }, // seconds
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'picture'],
    },
    // Authlib (st.login) reads the user only from the ID token, never from /userinfo:
    // put the scope claims (email, ...) into the ID token of the code flow.
    conformIdTokenClaims: false,
    findAccount: (ctx, id) => (users[id] ? { accountId: id, claims: () => claimsOf(id) } : undefined),
    // First-party test client: grant the requested scopes without a consent screen.
    loadExistingGrant: async (ctx) => {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope(ctx.oidc.params.scope);
      await grant.save();
      return grant;
    },
    interactions: { policy, url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          const yes = form.replace('</form>', '<input type="hidden" name="logout" value="yes"></form>');
          ctx.body = page('Signing out', `${yes}<button type="submit" form="op.logoutForm">Sign out</button>`
            + '<script>document.getElementById("op.logoutForm").submit()</script>');
        },
        postLogoutSuccessSource: async (ctx) => { ctx.body = page('Signed out', '<p>Signed out</p>'); },
      },
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Error', `<h1>OIDC error</h1><pre>${esc(JSON.stringify(out, null, 2))}</pre>`);
    },
  });

  const loginForm = (uid, error = '') => page('Sign in', `<h1>Test sign-in</h1>
<form method="post" action="/interaction/${uid}/login">
  ${error ? `<p role="alert">${esc(error)}</p>` : ''}
  <label>Email <input type="email" name="login" required autofocus></label>
  <button type="submit">Continue</button>
  <button type="submit" name="cancel" value="1" formnovalidate>Cancel</button>
</form>
<p>Test users: ${Object.keys(users).map(esc).join(', ')}</p>`);

  const readForm = async (req) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    return new URLSearchParams(body);
  };

  const oidc = provider.callback();
  server.on('request', async (req, res) => {
    const m = req.url.match(/^\/interaction\/([\w-]+)(\/login)?$/);
    if (!m) return oidc(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.uid !== m[1]) throw new Error('interaction mismatch');
      const html = (s, status = 200) => {
        res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(s);
      };
      if (!m[2] && req.method === 'GET') return html(loginForm(m[1]));
      if (!m[2] || req.method !== 'POST') return html(page('Error', 'method not allowed'), 405);
      const form = await readForm(req);
      if (form.get('cancel')) {
        return await provider.interactionFinished(req, res,
          { error: 'access_denied', error_description: 'End-User cancelled' }, { mergeWithLastSubmission: false });
      }
      const email = (form.get('login') || '').trim();
      if (!users[email]) return html(loginForm(m[1], `Unknown test user: ${email}`), 401);
      // resolves login and select_account; consent comes from loadExistingGrant
      return await provider.interactionFinished(req, res,
        { login: { accountId: email }, select_account: {} }, { mergeWithLastSubmission: false });
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`interaction error: ${err.message}`);
    }
  });

  console.log(`READY ${issuer}`);
});

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
