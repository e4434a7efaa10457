#!/usr/bin/env node
// Independent JWS/JWT signer (npm jose) for the ngx_logistics_module tests.
// See t/oauth/README.md.
//
//   node mint.js --keys PRIVATE_JWKS --kid K --alg ALG --claims JSON
//                [--header JSON] [--raw] [--attack NAME] [--tamper JSON]
//   node mint.js batch --keys PRIVATE_JWKS        (JSON jobs on stdin, one per line)
//   node mint.js genkeys --out PRIVATE_JWKS --public PUBLIC_JWKS
//                [--secret FILE] [--with-alg]
//   node mint.js pem --keys PRIVATE_JWKS --kid K  (public key as SPKI PEM)

import * as fs from 'node:fs';
import * as crypto from 'node:crypto';
import * as readline from 'node:readline';
import {
  CompactSign, generateKeyPair, exportJWK, importJWK, base64url,
} from 'jose';

const ALGS = {
  RS256: 'RSA', RS384: 'RSA', RS512: 'RSA',
  PS256: 'RSA', PS384: 'RSA', PS512: 'RSA',
  ES256: 'EC', ES384: 'EC', ES512: 'EC',
  EdDSA: 'OKP', Ed25519: 'OKP',
  HS256: 'oct', HS384: 'oct', HS512: 'oct',
};
const EC_SIG_LEN = { ES256: 64, ES384: 96, ES512: 132 };

function die(msg, code = 2) {
  process.stderr.write(`mint.js: ${msg}\n`);
  process.exit(code);
}

function parseArgs(argv, spec) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) die(`unexpected argument ${a}`);
    const name = a.slice(2);
    if (!(name in spec)) die(`unknown option ${a}`);
    if (spec[name] === 'flag') {
      o[name] = true;
    } else {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      o[name] = argv[++i];
    }
  }
  return o;
}

function readJson(file, what) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    return die(`cannot read ${what} ${file}: ${e.message}`);
  }
}

function parseJson(s, what) {
  try {
    return JSON.parse(s);
  } catch (e) {
    throw new Error(`${what} is not JSON: ${e.message}`);
  }
}

// ------------------------------------------------------------------ keys
function randomSecret(n) {
  // printable so the raw secret file equals the text; 64 chars = 512 bits of
  // HMAC key material (entropy ~381 bits), enough for HS512.
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const b = crypto.randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += abc[b[i] % abc.length];
  return s;
}

async function genkeys(argv) {
  const o = parseArgs(argv, {
    out: 'v', public: 'v', secret: 'v', 'with-alg': 'flag',
  });
  if (!o.out || !o.public) die('genkeys needs --out PRIVATE_JWKS --public PUBLIC_JWKS');
  const specs = [
    ['rsa-1', 'RS256', {}],
    ['ec256-1', 'ES256', {}],
    ['ec384-1', 'ES384', {}],
    ['ec521-1', 'ES512', {}],
    ['ed-1', 'EdDSA', { crv: 'Ed25519' }],
  ];
  const priv = [];
  for (const [kid, alg, extra] of specs) {
    const { privateKey } = await generateKeyPair(alg, { extractable: true, ...extra });
    const jwk = await exportJWK(privateKey);
    // RSA keys serve RS* and PS*: no alg unless --with-alg (then RS256).
    priv.push({
      kid, use: 'sig', ...(o['with-alg'] ? { alg } : {}), ...jwk,
    });
  }
  const secret = randomSecret(64);
  priv.push({
    kid: 'hs-1', use: 'sig', kty: 'oct', k: base64url.encode(secret),
  });
  const pub = priv.filter((k) => k.kty !== 'oct').map(publicJwk);
  fs.writeFileSync(o.out, `${JSON.stringify({ keys: priv }, null, 2)}\n`, { mode: 0o600 });
  fs.writeFileSync(o.public, `${JSON.stringify({ keys: pub }, null, 2)}\n`);
  if (o.secret) fs.writeFileSync(o.secret, secret, { mode: 0o600 });
  process.stdout.write(`${priv.map((k) => k.kid).join(' ')}\n`);
}

function publicJwk(jwk) {
  const {
    d, p, q, dp, dq, qi, oth, k, ...pub
  } = jwk;
  return pub;
}

function loadKeys(file) {
  const set = readJson(file, '--keys');
  if (!set || !Array.isArray(set.keys)) die(`--keys ${file}: no "keys" array`);
  const m = new Map();
  for (const k of set.keys) if (k.kid) m.set(k.kid, k);
  return m;
}

const keyCache = new Map();
async function signingKey(jwk, alg) {
  const id = `${jwk.kid}\0${alg}`;
  if (!keyCache.has(id)) {
    const { alg: _a, use: _u, key_ops: _k, ...bare } = jwk;
    keyCache.set(id, await importJWK(bare, alg));
  }
  return keyCache.get(id);
}

function publicPem(jwk) {
  if (jwk.kty === 'oct') throw new Error(`key ${jwk.kid} is symmetric`);
  const { alg: _a, use: _u, key_ops: _k, ...bare } = publicJwk(jwk);
  return crypto.createPublicKey({ key: bare, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
}

// ------------------------------------------------------------------ tokens
// Relative times: "+300" / "-60" (seconds from now) for exp, nbf, iat.
function resolveTimes(claims, now) {
  for (const c of ['exp', 'nbf', 'iat']) {
    const v = claims[c];
    if (typeof v === 'string' && /^[+-]\d+$/.test(v)) claims[c] = now + Number(v);
  }
  return claims;
}

function dropNulls(obj) {
  for (const k of Object.keys(obj)) if (obj[k] === null) delete obj[k];
  return obj;
}

const enc = (obj) => base64url.encode(typeof obj === 'string' ? obj : JSON.stringify(obj));

// Make the last base64url character of a segment non-canonical (same decoded
// bytes for a lenient decoder, but unused low bits set).
function nonCanonical(seg) {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const rem = seg.length % 4;
  if (rem === 0) throw new Error('segment length is a multiple of 4: no spare bits');
  const spare = rem === 2 ? 0x0f : 0x03; // 4 or 2 unused bits
  const v = abc.indexOf(seg[seg.length - 1]);
  return seg.slice(0, -1) + abc[v | spare];
}

async function mint(job, keys) {
  const now = Math.floor(Date.now() / 1000);
  const { alg } = job;
  if (!alg) throw new Error('alg required');
  const raw = !!job.raw;
  const attack = job.attack || '';
  const jwk = job.kid !== undefined ? keys.get(job.kid) : undefined;
  if (job.kid !== undefined && !jwk) throw new Error(`no key with kid ${job.kid}`);

  let claims = job.claims ?? {};
  if (typeof claims === 'string') claims = parseJson(claims, 'claims');
  claims = { ...claims };
  if (!raw) {
    if (claims.iat === undefined) claims.iat = now;
    if (claims.jti === undefined) claims.jti = crypto.randomUUID();
  }
  resolveTimes(claims, now);
  dropNulls(claims);

  let extraHeader = job.header ?? {};
  if (typeof extraHeader === 'string') extraHeader = parseJson(extraHeader, 'header');
  const header = raw ? { alg } : { alg, typ: 'at+jwt', ...(job.kid !== undefined ? { kid: job.kid } : {}) };
  if (job.embed_jwk) {
    // put the signing key's public JWK in the header ("jwk" attack: the
    // gateway must not trust it); use with an attacker's key set
    if (!jwk || jwk.kty === 'oct') throw new Error('embed_jwk needs an asymmetric kid');
    const { kid: _k, use: _u, alg: _a, ...bare } = publicJwk(jwk);
    header.jwk = bare;
  }
  Object.assign(header, extraHeader);
  dropNulls(header);

  const payloadBytes = job.payload_raw !== undefined
    ? new TextEncoder().encode(job.payload_raw) // exact payload text (non-JSON tests)
    : new TextEncoder().encode(JSON.stringify(claims));

  // Unsigned / hand-made signatures: no key needed.
  if (attack === 'none') {
    // header.alg as given (none / None / NONE ...), empty signature
    return `${enc(header)}.${base64url.encode(payloadBytes)}.${job.signature ?? ''}`;
  }
  if (attack === 'ecdsa-zero') {
    // r = s = 0 in JWS (IEEE P1363) form
    const len = EC_SIG_LEN[header.alg] || EC_SIG_LEN[alg] || 64;
    return `${enc(header)}.${base64url.encode(payloadBytes)}.${base64url.encode(new Uint8Array(len))}`;
  }
  if (attack === 'hs-with-public') {
    // HMAC over the input with the PEM text of the key's public key as the
    // secret (the classic RS/HS confusion). job.pem_newline=false drops the
    // trailing newline of the PEM.
    if (!jwk) throw new Error('hs-with-public needs kid of an asymmetric key');
    let pem = publicPem(jwk);
    if (job.pem_newline === false) pem = pem.replace(/\n$/, '');
    const hs = header.alg.replace(/^HS/, 'sha');
    const input = `${enc(header)}.${base64url.encode(payloadBytes)}`;
    const mac = crypto.createHmac(hs, pem).update(input).digest();
    return `${input}.${base64url.encode(mac)}`;
  }

  if (!jwk) throw new Error('kid required');
  if (!ALGS[alg]) throw new Error(`unsupported alg ${alg}`);
  if (ALGS[alg] !== jwk.kty) throw new Error(`key ${job.kid} (${jwk.kty}) cannot sign ${alg}`);
  const key = await signingKey(jwk, alg);
  let token;
  if (header.alg !== alg || header.crit !== undefined || header.b64 !== undefined) {
    // header.alg differs from the alg actually used (alg/key mismatch tests),
    // or headers jose refuses to emit (unknown crit, b64): sign by hand with
    // node:crypto using the real alg.
    token = await signByHand(header, payloadBytes, jwk, alg);
  } else {
    token = await new CompactSign(payloadBytes).setProtectedHeader(header).sign(key);
  }
  const [h, p, s] = token.split('.');

  switch (attack) {
    case '':
      return token;
    case 'strip-signature':
      return `${h}.${p}.`;
    case 'drop-signature-segment':
      return `${h}.${p}`;
    case 'extra-segment':
      return `${token}.${job.extra ?? 'AAAA'}`;
    case 'tamper-payload': {
      // keep header and signature, replace the claims
      const t = resolveTimes({ ...claims, ...(job.tamper || { scope: 'admin' }) }, now);
      return `${h}.${enc(dropNulls(t))}.${s}`;
    }
    case 'flip-signature': {
      const b = base64url.decode(s);
      b[b.length >> 1] ^= 0x01;
      return `${h}.${p}.${base64url.encode(b)}`;
    }
    case 'noncanonical-signature':
      return `${h}.${p}.${nonCanonical(s)}`;
    case 'noncanonical-payload':
      return `${h}.${nonCanonical(p)}.${s}`;
    case 'noncanonical-header':
      return `${nonCanonical(h)}.${p}.${s}`;
    case 'padded':
      // base64 '=' padding on every segment
      return [h, p, s].map((x) => x + '='.repeat((4 - (x.length % 4)) % 4)).join('.');
    case 'std-alphabet':
      // '+' '/' instead of '-' '_'  (may be a no-op if none occur)
      return token.replace(/-/g, '+').replace(/_/g, '/');
    default:
      throw new Error(`unknown attack ${attack}`);
  }
}

async function signByHand(header, payloadBytes, jwk, alg) {
  const input = `${enc(header)}.${base64url.encode(payloadBytes)}`;
  const { alg: _a, use: _u, key_ops: _k, ...bare } = jwk;
  const data = Buffer.from(input);
  let sig;
  if (alg.startsWith('HS')) {
    sig = crypto.createHmac(`sha${alg.slice(2)}`, Buffer.from(base64url.decode(jwk.k))).update(data).digest();
  } else {
    const key = crypto.createPrivateKey({ key: bare, format: 'jwk' });
    const hash = alg === 'EdDSA' || alg === 'Ed25519' ? null : `sha${alg.slice(2)}`;
    const opts = { key };
    if (alg.startsWith('PS')) {
      opts.padding = crypto.constants.RSA_PKCS1_PSS_PADDING;
      opts.saltLength = Number(alg.slice(2)) / 8;
    }
    if (alg.startsWith('ES')) opts.dsaEncoding = 'ieee-p1363';
    sig = crypto.sign(hash, data, opts);
  }
  return `${input}.${base64url.encode(sig)}`;
}

// ------------------------------------------------------------------ main
async function single(argv) {
  const o = parseArgs(argv, {
    keys: 'v', kid: 'v', alg: 'v', claims: 'v', header: 'v', raw: 'flag', attack: 'v', tamper: 'v',
    'embed-jwk': 'flag',
  });
  if (!o.alg) die('--alg required');
  const keys = o.keys ? loadKeys(o.keys) : new Map();
  const job = {
    kid: o.kid,
    alg: o.alg,
    claims: o.claims ?? '{}',
    header: o.header,
    raw: o.raw,
    attack: o.attack,
    embed_jwk: o['embed-jwk'],
    tamper: o.tamper ? parseJson(o.tamper, '--tamper') : undefined,
  };
  try {
    process.stdout.write(`${await mint(job, keys)}\n`);
  } catch (e) {
    die(e.message, 1);
  }
}

async function batch(argv) {
  const o = parseArgs(argv, { keys: 'v' });
  const keys = o.keys ? loadKeys(o.keys) : new Map();
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  let failed = 0;
  const out = [];
  for await (const line of rl) {
    if (!line.trim()) continue;
    let res;
    try {
      res = await mint(parseJson(line, 'job'), keys);
    } catch (e) {
      failed++;
      res = `error: ${e.message.replace(/\n/g, ' ')}`;
    }
    out.push(res);
    if (out.length >= 64) { process.stdout.write(`${out.join('\n')}\n`); out.length = 0; }
  }
  if (out.length) process.stdout.write(`${out.join('\n')}\n`);
  process.exitCode = failed ? 1 : 0;
}

async function pem(argv) {
  const o = parseArgs(argv, { keys: 'v', kid: 'v' });
  const k = loadKeys(o.keys || die('--keys required')).get(o.kid);
  if (!k) die(`no key with kid ${o.kid}`);
  process.stdout.write(publicPem(k));
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'genkeys') await genkeys(rest);
else if (cmd === 'batch') await batch(rest);
else if (cmd === 'pem') await pem(rest);
else if (cmd === '-h' || cmd === '--help' || cmd === undefined) {
  process.stdout.write(fs.readFileSync(new URL(import.meta.url)).toString().split('\n').slice(1, 11).join('\n').replace(/^\/\/ ?/gm, '') + '\n');
} else await single(process.argv.slice(2));
