// A real SAML 2.0 identity provider (the `samlify` package, with
// `@authenio/samlify-node-xmllint` validating every message against the
// SAML schemas) for orgql's SAML tests.
//
// The test passes the IdP's entity id, its signing key and certificate, a
// second ("other") key pair, and its accounts in the IDP_CONFIG environment
// variable (JSON), reads the IdP's base URL from the first line this
// prints, registers orgql's SP metadata (`POST /__test/sp`, the XML orgql
// shows in `SsoConnection.spMetadataXml`), and then walks the browser flow:
//   GET  /sso?SAMLRequest=…&RelayState=…  (HTTP-Redirect binding): samlify
//        parses and schema-validates orgql's AuthnRequest, and answers a
//        login form naming the pending request;
//   POST /login (pending, login): answers the auto-submitting HTML form
//        that posts a signed Response (HTTP-POST binding) and the
//        RelayState to orgql's ACS.
// `POST /__test/tamper {"mode": …}` spoils the NEXT response: `unsigned`,
// `other_key` (signed by a key orgql does not trust), `wrong_audience`,
// `wrong_recipient`, `wrong_destination`, `expired`,
// `wrong_in_response_to`, `wrong_issuer`, `tampered` (the email changed
// after signing), `failed` (a Responder status), `long_id` (a 301-character
// assertion id); `MODE+signed_response` (or `signed_response` alone) signs
// the whole response as well as the assertion; so the SP's refusals are tested against what a party in
// the middle could do. The process exits when its standard input closes.

import http from 'node:http';
import crypto from 'node:crypto';
import * as samlify from 'samlify';
import * as validator from '@authenio/samlify-node-xmllint';

// `SamlLib` is a getter on the CommonJS exports, which Node's ESM named
// exports do not see.
const SamlLib = samlify.SamlLib ?? samlify.default.SamlLib;

samlify.setSchemaValidator(validator);

const config = JSON.parse(process.env.IDP_CONFIG || '{}');
const accounts = config.accounts || {};
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const PERSISTENT_FORMAT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const TRANSIENT_FORMAT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;

function identityProvider(privateKey, signingCert) {
  return samlify.IdentityProvider({
    entityID: config.entityId,
    privateKey,
    signingCert,
    nameIDFormat: [EMAIL_FORMAT],
    singleSignOnService: [{ Binding: samlify.Constants.namespace.binding.redirect, Location: `${base}/sso` }],
    wantAuthnRequestsSigned: false,
  });
}
const idp = identityProvider(config.key, config.cert);
const otherIdp = identityProvider(config.otherKey, config.otherCert);

let sp = null;
let tamper = null;
const pending = new Map();

function escapeXml(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]);
}

function attributeStatement(account) {
  // `extraAttributes` ([name, value, friendlyName?]) come first.
  const attributes = [...(account.extraAttributes || [])];
  if (account.email && account.emailAttribute) {
    attributes.push(['email', account.email]);
  }
  if (account.name) attributes.push(['displayName', account.name]);
  if (!attributes.length) return '';
  return `<saml:AttributeStatement>${attributes.map(([name, value, friendly]) => `<saml:Attribute Name="${escapeXml(name)}"${friendly ? ` FriendlyName="${escapeXml(friendly)}"` : ''} NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic"><saml:AttributeValue xsi:type="xs:string">${escapeXml(value)}</saml:AttributeValue></saml:Attribute>`).join('')}</saml:AttributeStatement>`;
}

// Fills samlify's login response template (values XML-escaped by samlify),
// with the spoils of `mode` that a signature does not reveal.
function filler(request, account, mode) {
  return (template) => {
    const now = new Date();
    const later = new Date(now.getTime() + 5 * 60 * 1000);
    const acs = sp.entityMeta.getAssertionConsumerService('post');
    const values = {
      ID: `_${crypto.randomBytes(16).toString('hex')}`,
      AssertionID: `_${crypto.randomBytes(16).toString('hex')}`,
      Destination: acs,
      Audience: sp.entityMeta.getEntityID(),
      SubjectRecipient: acs,
      Issuer: config.entityId,
      IssueInstant: now.toISOString(),
      StatusCode: samlify.Constants.StatusCode.Success,
      ConditionsNotBefore: now.toISOString(),
      ConditionsNotOnOrAfter: later.toISOString(),
      SubjectConfirmationDataNotOnOrAfter: later.toISOString(),
      NameIDFormat: account.transient ? TRANSIENT_FORMAT : account.persistent ? PERSISTENT_FORMAT : EMAIL_FORMAT,
      NameID: account.transient ? `_${crypto.randomBytes(16).toString('hex')}` : account.persistent ? account.persistent : account.email,
      InResponseTo: request.id,
      AuthnStatement: '',
      AttributeStatement: '',
    };
    switch (mode) {
      case 'wrong_audience': values.Audience = 'https://someone-else.test/saml'; break;
      case 'wrong_recipient': values.SubjectRecipient = 'https://someone-else.test/acs'; break;
      case 'wrong_destination': values.Destination = 'https://someone-else.test/acs'; break;
      case 'wrong_issuer': values.Issuer = 'https://another-idp.test'; break;
      case 'failed': values.StatusCode = 'urn:oasis:names:tc:SAML:2.0:status:Responder'; break;
      case 'long_id': values.AssertionID = `_${'a'.repeat(300)}`; break;
      case 'wrong_in_response_to': values.InResponseTo = `_${crypto.randomBytes(16).toString('hex')}`; break;
      case 'expired': {
        const then = new Date(now.getTime() - 2 * 60 * 60 * 1000);
        const ended = new Date(now.getTime() - 60 * 60 * 1000);
        values.IssueInstant = then.toISOString();
        values.ConditionsNotBefore = then.toISOString();
        values.ConditionsNotOnOrAfter = ended.toISOString();
        values.SubjectConfirmationDataNotOnOrAfter = ended.toISOString();
        break;
      }
      default: break;
    }
    const filled = SamlLib.replaceTagsByValue(template, values)
      .replace('</saml:Assertion>', `${attributeStatement(account)}</saml:Assertion>`);
    return { id: values.ID, context: filled };
  };
}

async function loginResponse(request, account) {
  // `MODE+signed_response`: the whole response is signed as well as the
  // assertion.
  const [mode, signedResponse] = (tamper || '').split('+');
  tamper = null;
  sp.entitySetting.wantMessageSigned = signedResponse === 'signed_response' || mode === 'signed_response';
  if (mode === 'unsigned') {
    const fill = filler(request, account, mode);
    return Buffer.from(fill(SamlLib.defaultLoginResponseTemplate.context).context).toString('base64');
  }
  const signer = mode === 'other_key' ? otherIdp : idp;
  const { context } = await signer.createLoginResponse(sp, { extract: { request } }, 'post', { email: account.email }, {
    customTagReplacement: filler(request, account, mode),
  });
  if (mode === 'tampered') {
    const xml = Buffer.from(context, 'base64').toString('utf8');
    const forged = xml.split(account.email).join(config.tamperedEmail || 'mallory@acme.test');
    return Buffer.from(forged).toString('base64');
  }
  return context;
}

function readBody(req) {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => resolve(body));
  });
}

function page(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(html);
}

server.on('request', async (req, res) => {
  try {
    const url = new URL(req.url, base);
    if (url.pathname === '/__test/sp' && req.method === 'POST') {
      sp = samlify.ServiceProvider({ metadata: await readBody(req) });
      res.writeHead(204).end();
      return;
    }
    if (url.pathname === '/__test/tamper' && req.method === 'POST') {
      tamper = JSON.parse(await readBody(req)).mode;
      res.writeHead(204).end();
      return;
    }
    if (url.pathname === '/sso' && req.method === 'GET') {
      const query = Object.fromEntries(url.searchParams);
      const parsed = await idp.parseLoginRequest(sp, 'redirect', { query, octetString: '' });
      const key = crypto.randomBytes(16).toString('hex');
      pending.set(key, { request: parsed.extract.request, relayState: query.RelayState, issuer: parsed.extract.issuer });
      page(res, 200, `<form method="post" action="/login"><input type="hidden" name="pending" value="${key}"><input name="login"><button>Sign in</button></form>`);
      return;
    }
    if (url.pathname === '/login' && req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      const flight = pending.get(form.get('pending'));
      pending.delete(form.get('pending'));
      const account = accounts[form.get('login')];
      if (!flight || !account) {
        page(res, 400, 'unknown request or account');
        return;
      }
      const samlResponse = await loginResponse(flight.request, account);
      const acs = sp.entityMeta.getAssertionConsumerService('post');
      page(res, 200, `<form method="post" action="${escapeXml(acs)}"><input type="hidden" name="SAMLResponse" value="${samlResponse}"><input type="hidden" name="RelayState" value="${escapeXml(flight.relayState || '')}"></form><script>document.forms[0].submit()</script>`);
      return;
    }
    res.writeHead(404).end();
  } catch (error) {
    process.stderr.write(`saml idp: ${error && error.stack ? error.stack : error}\n`);
    page(res, 500, `IdP error: ${escapeXml(error && error.message ? error.message : error)}`);
  }
});

process.stdout.on('error', () => {});
process.stdout.write(`${JSON.stringify({ base, ssoUrl: `${base}/sso` })}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
