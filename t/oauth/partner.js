#!/usr/bin/env node
// Stub partner endpoint for t/85-webhook-outbound.t: an HTTPS server that
// takes the events the gateway signs and checks every signature with code
// that shares nothing with the gateway's C: the npm package
// standardwebhooks (the reference library) for Standard Webhooks v1, and
// Node's crypto for v1a (ed25519), Stripe and GitHub.
//
//   node t/oauth/partner.js --port P --admin-port A --cert C --key K
//       --scheme standard|v1a|stripe|github --secret-file F
//
// The secret file is what the partner holds: the whsec_ secret (standard),
// the gateway's whpk_ public key (v1a) or the shared string.  Any request
// on the HTTPS port is a delivery: recorded with its verdict and answered
// with the configured status (200 by default, body {"received":true}).
// A plain HTTP admin port (not counted):
//   GET  /deliveries  -> [{"method","path","headers","body","verified",
//                          "reason"}, ...] in arrival order
//   POST /config      {"status": N, "delay_ms": N} for the next deliveries
//   POST /reset       forget deliveries and config
// Prints "ready P A" on stdout once both ports listen.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Webhook } = require('standardwebhooks');

const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

const o = {};
for (let i = 2; i < process.argv.length; i += 2) {
  o[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}

let secret = fs.readFileSync(o['secret-file'], 'utf8');
if (secret.endsWith('\r\n')) secret = secret.slice(0, -2);
else if (secret.endsWith('\n')) secret = secret.slice(0, -1);

let deliveries = [];
let config = { status: 200, delay_ms: 0 };

const hmacHex = (key, data) => crypto.createHmac('sha256', key).update(data).digest('hex');

function equalText(a, b) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

function verify(h, body) {
  if (o.scheme === 'standard') {
    try {
      new Webhook(secret).verify(body.toString('utf8'), h);
      return 'ok';
    } catch (e) {
      return `fail: ${e.message}`;
    }
  }
  if (o.scheme === 'v1a') {
    const raw = Buffer.from(secret.replace(/^whpk_/, ''), 'base64');
    const key = crypto.createPublicKey({
      key: Buffer.concat([SPKI_ED25519, raw]), format: 'der', type: 'spki',
    });
    const ts = Number(h['webhook-timestamp']);
    if (!(Math.abs(Date.now() / 1000 - ts) <= 300)) return 'fail: timestamp';
    const content = Buffer.concat([
      Buffer.from(`${h['webhook-id']}.${h['webhook-timestamp']}.`), body]);
    for (const entry of (h['webhook-signature'] ?? '').split(' ')) {
      const [v, sig] = entry.split(',');
      if (v === 'v1a' && crypto.verify(null, content, key, Buffer.from(sig, 'base64'))) {
        return 'ok';
      }
    }
    return 'fail: no v1a signature verified';
  }
  if (o.scheme === 'stripe') {
    const items = (h['stripe-signature'] ?? '').split(',').map((kv) => kv.split('='));
    const t = items.find(([k]) => k === 't')?.[1];
    if (!(Math.abs(Date.now() / 1000 - Number(t)) <= 300)) return 'fail: timestamp';
    const want = hmacHex(secret, Buffer.concat([Buffer.from(`${t}.`), body]));
    return items.some(([k, v]) => k === 'v1' && equalText(v, want)) ? 'ok' : 'fail: no v1 matched';
  }
  if (o.scheme === 'github') {
    const want = `sha256=${hmacHex(secret, body)}`;
    return equalText(h['x-hub-signature-256'] ?? '', want) ? 'ok' : 'fail: signature mismatch';
  }
  return `fail: unknown scheme ${o.scheme}`;
}

function readBody(req, done) {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => done(Buffer.concat(chunks)));
}

const partner = https.createServer({
  cert: fs.readFileSync(o.cert), key: fs.readFileSync(o.key),
}, (req, res) => {
  readBody(req, (body) => {
    const reason = verify(req.headers, body);
    deliveries.push({
      method: req.method, path: req.url, headers: req.headers,
      body: body.toString('utf8'), verified: reason === 'ok', reason,
    });
    const { status, delay_ms: delay } = config;
    setTimeout(() => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ received: reason === 'ok', status }));
    }, delay);
  });
});

const admin = http.createServer((req, res) => {
  readBody(req, (body) => {
    const answer = (v) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(v));
    };
    if (req.method === 'GET' && req.url === '/deliveries') return answer(deliveries);
    if (req.method === 'POST' && req.url === '/config') {
      config = { ...config, ...JSON.parse(body.toString('utf8') || '{}') };
      return answer(config);
    }
    if (req.method === 'POST' && req.url === '/reset') {
      deliveries = [];
      config = { status: 200, delay_ms: 0 };
      return answer({ reset: true });
    }
    res.writeHead(404);
    return res.end();
  });
});

partner.listen(Number(o.port), '127.0.0.1', () => {
  admin.listen(Number(o['admin-port']), '127.0.0.1', () => {
    process.stdout.write(`ready ${o.port} ${o['admin-port']}\n`);
  });
});

process.on('SIGTERM', () => process.exit(0));
