// A loopback webhook receiver for orgql's tests. It checks each delivery's
// Standard Webhooks signature with the reference library
// (`standardwebhooks`, the specification's own JavaScript implementation),
// not with crypto of our own, so a test passes only if a real consumer
// would accept what orgql sends.
//
// It listens on 127.0.0.1 (port PORT, or an ephemeral one) and prints
// exactly one line, `listening <port>`, to stdout when it is ready. Then:
//
//   POST /_control            JSON, any of:
//                               {"secret": "whsec_..."}  the verifying secret
//                               {"failNext": N}          the next N verified
//                                                        deliveries answer
//                                                        500 "boom"
//                               {"hangNext": N, "hangMs": M}
//                                                        the next N verified
//                                                        deliveries wait M ms,
//                                                        then answer 200
//                               {"status": S}            the answer to other
//                                                        verified deliveries
//                                                        (200 until set)
//                             answers 204 (400 if the body is not valid).
//   GET /_control/received    every delivery so far, in arrival order:
//                             [{path, webhookId, timestamp, verified, error,
//                               status, payload}]
//   anything else             a delivery: verified against the raw body; if
//                             there is no secret or the signature does not
//                             verify it is recorded with verified=false and
//                             answered 400, and failNext / hangNext are left
//                             alone. A verified delivery consumes failNext
//                             first, then hangNext, else gets the status.
//
// A delivery is recorded as it arrives, with the status it will be given,
// so a test sees a hanging delivery before its answer. The process exits
// when its standard input closes (the test ended).

import http from 'node:http';
import { Webhook } from 'standardwebhooks';

let secret = null;
let failNext = 0;
let hangNext = 0;
let hangMs = 60_000;
let defaultStatus = 200;
const received = [];

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function answer(res, status, body = '') {
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
}

function parseJson(bytes) {
  if (bytes.length === 0) return null;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return null;
  }
}

const isCount = (n) => Number.isInteger(n) && n >= 0;

// Applies a control body; answers an error message, or null when applied.
function control(body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return 'expected a JSON object';
  }
  const known = ['secret', 'failNext', 'hangNext', 'hangMs', 'status'];
  const unknown = Object.keys(body).filter((key) => !known.includes(key));
  if (unknown.length > 0) return `unknown keys: ${unknown.join(', ')}`;
  // Check everything before changing anything.
  if ('secret' in body) {
    if (typeof body.secret !== 'string') return 'secret must be a string';
    try {
      new Webhook(body.secret);
    } catch (error) {
      return `the library refuses this secret: ${error.message}`;
    }
  }
  if ('failNext' in body && !isCount(body.failNext)) return 'failNext must be a count';
  if ('hangNext' in body && !isCount(body.hangNext)) return 'hangNext must be a count';
  if ('hangMs' in body && !isCount(body.hangMs)) return 'hangMs must be a count of milliseconds';
  if ('status' in body && !(Number.isInteger(body.status) && body.status >= 200 && body.status <= 599)) {
    return 'status must be an HTTP status from 200 to 599';
  }
  if ('secret' in body) secret = body.secret;
  if ('failNext' in body) failNext = body.failNext;
  if ('hangNext' in body) hangNext = body.hangNext;
  if ('hangMs' in body) hangMs = body.hangMs;
  if ('status' in body) defaultStatus = body.status;
  return null;
}

async function deliver(req, res, raw) {
  const header = (name) => {
    const value = req.headers[name];
    return typeof value === 'string' ? value : null;
  };
  const record = {
    path: req.url,
    webhookId: header('webhook-id'),
    timestamp: header('webhook-timestamp'),
    verified: false,
    error: null,
    status: 400,
    payload: parseJson(raw),
  };
  received.push(record);

  if (secret === null) {
    record.error = 'no secret set';
    answer(res, 400, record.error);
    return;
  }
  try {
    // The raw bytes as received; Node's headers are a plain object with
    // lower-case names, which is what the library reads. jsonParse: false
    // so that a body that is not JSON is still judged on its signature
    // alone.
    new Webhook(secret).verify(raw, req.headers, { jsonParse: false });
  } catch (error) {
    record.error = error?.message ?? String(error);
    answer(res, 400, record.error);
    return;
  }
  record.verified = true;

  if (failNext > 0) {
    failNext -= 1;
    record.status = 500;
    answer(res, 500, 'boom');
  } else if (hangNext > 0) {
    hangNext -= 1;
    record.status = 200;
    await new Promise((resolve) => setTimeout(resolve, hangMs));
    answer(res, 200);
  } else {
    record.status = defaultStatus;
    answer(res, defaultStatus);
  }
}

const server = http.createServer(async (req, res) => {
  let raw;
  try {
    raw = await readBody(req);
  } catch {
    return;
  }
  const path = req.url.split('?')[0];
  if (req.method === 'POST' && path === '/_control') {
    let body;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      answer(res, 400, 'the control body is not JSON');
      return;
    }
    const problem = control(body);
    if (problem !== null) {
      answer(res, 400, problem);
      return;
    }
    res.writeHead(204);
    res.end();
    return;
  }
  if (req.method === 'GET' && path === '/_control/received') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(received));
    return;
  }
  await deliver(req, res, raw);
});

await new Promise((resolve) => server.listen(Number(process.env.PORT) || 0, '127.0.0.1', resolve));
process.stdout.write(`listening ${server.address().port}\n`);

process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
