#!/usr/bin/env node
// Independent webhook signer and verifier for t/23-cli-webhook.t: Node's
// crypto for Stripe, GitHub and Standard Webhooks v1a (ed25519), and the
// npm package standardwebhooks (the reference library) for Standard
// Webhooks v1.  Nothing here shares code with the gateway's C.
//
//   node t/oauth/webhook.js sign SCHEME --secret-file F [--secret-file F2]
//       [--id ID] [--timestamp T] BODY_FILE
//     prints the header lines a sender sends ("Name: value"); SCHEME is
//     standard (v1 by the standardwebhooks library), v1a (a whsk_ file),
//     stripe or github
//   node t/oauth/webhook.js verify SCHEME --secret-file F --headers FILE
//       BODY_FILE
//     exits 0 when the headers verify (standard: with the library, so the
//     timestamp must be within its 5 minutes of now), 1 otherwise, with
//     the reason on stdout
//   node t/oauth/webhook.js keypair --secret-path F --public-file P
//     writes a fresh ed25519 pair as whsk_ (seed) and whpk_ files

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Webhook } = require('standardwebhooks');

// PKCS#8 and SPKI prefixes of a raw 32-byte ed25519 key (RFC 8410)
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

function args(argv) {
  const o = { secrets: [], rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--secret-file') o.secrets.push(secretOf(argv[++i]));
    else if (a === '--public-file') o.publicFile = argv[++i];
    else if (a === '--secret-path') o.secretPath = argv[++i];
    else if (a === '--id') o.id = argv[++i];
    else if (a === '--timestamp') o.timestamp = argv[++i];
    else if (a === '--headers') o.headers = argv[++i];
    else o.rest.push(a);
  }
  return o;
}

// the file holds the secret exactly; one trailing newline is ignored
function secretOf(file) {
  let s = fs.readFileSync(file, 'utf8');
  if (s.endsWith('\r\n')) s = s.slice(0, -2);
  else if (s.endsWith('\n')) s = s.slice(0, -1);
  return s;
}

function headersOf(file) {
  const h = {};
  for (const line of fs.readFileSync(file, 'utf8').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) h[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return h;
}

const hmacHex = (key, data) => crypto.createHmac('sha256', key).update(data).digest('hex');

function edPrivate(whsk) {
  const seed = Buffer.from(whsk.replace(/^whsk_/, ''), 'base64');
  const key = Buffer.concat([PKCS8_ED25519, seed]);
  return crypto.createPrivateKey({ key, format: 'der', type: 'pkcs8' });
}

function edPublic(whpk) {
  const raw = Buffer.from(whpk.replace(/^whpk_/, ''), 'base64');
  const key = Buffer.concat([SPKI_ED25519, raw]);
  return crypto.createPublicKey({ key, format: 'der', type: 'spki' });
}

function sign(scheme, o, body) {
  const ts = o.timestamp ?? String(Math.floor(Date.now() / 1000));
  const id = o.id ?? `msg_${crypto.randomBytes(12).toString('hex')}`;
  const out = [];
  const standard = (sigs) => out.push(`webhook-id: ${id}`, `webhook-timestamp: ${ts}`,
    `webhook-signature: ${sigs.join(' ')}`);
  if (scheme === 'standard') {
    const when = new Date(Number(ts) * 1000);
    standard(o.secrets.map((s) => new Webhook(s).sign(id, when, body.toString('utf8'))));
  } else if (scheme === 'v1a') {
    const content = Buffer.concat([Buffer.from(`${id}.${ts}.`), body]);
    standard(o.secrets.map((s) => `v1a,${crypto.sign(null, content, edPrivate(s)).toString('base64')}`));
  } else if (scheme === 'stripe') {
    const content = Buffer.concat([Buffer.from(`${ts}.`), body]);
    const v1 = o.secrets.map((s) => `,v1=${hmacHex(s, content)}`);
    out.push(`Stripe-Signature: t=${ts}${v1.join('')}`);
  } else if (scheme === 'github') {
    out.push(`X-GitHub-Delivery: ${o.id ?? crypto.randomUUID()}`);
    out.push(`X-Hub-Signature-256: sha256=${hmacHex(o.secrets[0], body)}`);
  } else {
    throw new Error(`unknown scheme ${scheme}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

function equalText(a, b) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

function verify(scheme, o, body) {
  const h = headersOf(o.headers);
  if (scheme === 'standard') {
    try {
      new Webhook(o.secrets[0]).verify(body.toString('utf8'), h);
      return 'ok';
    } catch (e) {
      return `fail: ${e.message}`;
    }
  }
  if (scheme === 'v1a') {
    const signed = `${h['webhook-id']}.${h['webhook-timestamp']}.`;
    const content = Buffer.concat([Buffer.from(signed), body]);
    const key = edPublic(o.secrets[0]);
    for (const entry of (h['webhook-signature'] ?? '').split(' ')) {
      const [v, sig] = entry.split(',');
      if (v === 'v1a' && crypto.verify(null, content, key, Buffer.from(sig, 'base64'))) return 'ok';
    }
    return 'fail: no v1a signature verified';
  }
  if (scheme === 'stripe') {
    const items = (h['stripe-signature'] ?? '').split(',').map((kv) => kv.split('='));
    const t = items.find(([k]) => k === 't')?.[1];
    const want = hmacHex(o.secrets[0], Buffer.concat([Buffer.from(`${t}.`), body]));
    if (Math.abs(Date.now() / 1000 - Number(t)) > 300) return 'fail: timestamp outside 5 minutes';
    return items.some(([k, v]) => k === 'v1' && equalText(v, want)) ? 'ok' : 'fail: no v1 matched';
  }
  if (scheme === 'github') {
    const want = `sha256=${hmacHex(o.secrets[0], body)}`;
    if (!h['x-github-delivery']) return 'fail: no X-GitHub-Delivery';
    return equalText(h['x-hub-signature-256'] ?? '', want) ? 'ok' : 'fail: signature mismatch';
  }
  return `fail: unknown scheme ${scheme}`;
}

const [cmd, scheme, ...rest] = process.argv.slice(2);

if (cmd === 'keypair') {
  const o = args([scheme, ...rest]);
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_ED25519.length);
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519.length);
  fs.writeFileSync(o.secretPath, `whsk_${seed.toString('base64')}\n`, { mode: 0o600 });
  fs.writeFileSync(o.publicFile, `whpk_${raw.toString('base64')}\n`);
  process.exit(0);
}

const o = args(rest);
const body = fs.readFileSync(o.rest[0]);

if (cmd === 'sign') {
  process.exit(sign(scheme, o, body));
} else if (cmd === 'verify') {
  const r = verify(scheme, o, body);
  process.stdout.write(`${r}\n`);
  process.exit(r === 'ok' ? 0 : 1);
} else {
  process.stderr.write('usage: webhook.js sign|verify|keypair ...\n');
  process.exit(2);
}
