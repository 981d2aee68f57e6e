// A real OpenID Connect provider (the certified `oidc-provider` package)
// for orgql's SSO tests. The test passes clients and accounts in the
// IDP_CONFIG environment variable (JSON), reads the issuer from the first
// line this prints, and drives the provider's own login and consent forms
// over HTTP. `POST /__test/tamper {"mode": …}` makes the NEXT token
// response carry a spoiled ID token (forged signature, unsigned, wrong
// audience, expired, wrong nonce, wrong issuer), so that the relying party's
// refusals are tested against what a hostile party in the middle could do.
// The process exits when its standard input closes (the test ended).

import http from 'node:http';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';
import * as jose from 'jose';

const config = JSON.parse(process.env.IDP_CONFIG || '{}');
const accounts = config.accounts || {};

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await jose.exportJWK(privateKey)), kid: 'idp-key', alg: 'RS256', use: 'sig' };
const { privateKey: otherKey } = await jose.generateKeyPair('RS256', { extractable: true });

let tamper = null;

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: config.clients || [],
  jwks: { keys: [signingJwk] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // Scope claims in the ID token itself, as most enterprise IdPs send them.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...account };
      },
    };
  },
});
provider.proxy = false;

async function spoil(idToken, mode) {
  const payload = jose.decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  switch (mode) {
    case 'unsigned':
      return new jose.UnsecuredJWT(payload).encode();
    case 'forged':
      return new jose.SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: 'idp-key' }).sign(otherKey);
    case 'wrong_audience':
      payload.aud = 'someone-else';
      break;
    case 'expired':
      payload.iat = now - 7200;
      payload.exp = now - 3600;
      break;
    case 'wrong_nonce':
      payload.nonce = crypto.randomBytes(16).toString('hex');
      break;
    case 'wrong_issuer':
      payload.iss = 'http://127.0.0.1:1';
      break;
    default:
      throw new Error(`unknown tamper mode ${mode}`);
  }
  return new jose.SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: 'idp-key' }).sign(privateKey);
}

provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/token' && tamper && ctx.body && ctx.body.id_token) {
    const mode = tamper;
    tamper = null;
    ctx.body = { ...ctx.body, id_token: await spoil(ctx.body.id_token, mode) };
  }
});

const callback = provider.callback();
server.on('request', (req, res) => {
  if (req.url === '/__test/tamper' && req.method === 'POST') {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      tamper = JSON.parse(body).mode;
      res.writeHead(204).end();
    });
    return;
  }
  callback(req, res);
});

process.stdout.on('error', () => {});
process.stdout.write(`${JSON.stringify({ issuer })}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
