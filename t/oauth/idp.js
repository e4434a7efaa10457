#!/usr/bin/env node
// Test OAuth 2 authorization server for the ngx_logistics_module test suite.
//
// A real oidc-provider (npm, v9) configured for the client-credentials grant
// with resource indicators (RFC 8707), so that a token request with
// resource=<audience> yields an RFC 9068 JWT access token (typ at+jwt).
// See t/oauth/README.md for the command line, the admin endpoints and the
// output format.  Test-only: the /__admin/* endpoints expose private keys.

import * as http from 'node:http';
import * as fs from 'node:fs';
import * as crypto from 'node:crypto';
import { generateKeyPair, exportJWK } from 'jose';
import Provider, { errors as oidcErrors } from 'oidc-provider';

// oidc-provider prints NOTICEs with console.info (stdout); keep stdout for
// the "ready PORT" line only.
console.info = console.error;
console.log = console.error;

const usage = `usage: node idp.js --port N [--host 127.0.0.1] [--issuer URL]
       --clients FILE [--keys PRIVATE_JWKS] [--alg RS256|ES256|...]
       [--resource URL]... [--audience AUD] [--ttl SECONDS]
       [--jwks-max-age SECONDS] [--keys-out FILE]`;

function die(msg) {
  process.stderr.write(`idp.js: ${msg}\n${usage}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = {
    port: undefined, host: '127.0.0.1', issuer: undefined, clients: undefined,
    keys: undefined, alg: 'RS256', resources: [], audience: undefined, ttl: 300,
    jwksMaxAge: undefined, keysOut: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--port': o.port = Number(v()); break;
      case '--host': o.host = v(); break;
      case '--issuer': o.issuer = v(); break;
      case '--clients': o.clients = v(); break;
      case '--keys': o.keys = v(); break;
      case '--alg': o.alg = v(); break;
      case '--resource': o.resources.push(v()); break;
      case '--audience': o.audience = v(); break;
      case '--ttl': o.ttl = Number(v()); break;
      case '--jwks-max-age': o.jwksMaxAge = Number(v()); break;
      case '--keys-out': o.keysOut = v(); break;
      case '-h': case '--help': process.stdout.write(`${usage}\n`); process.exit(0); break;
      default: die(`unknown argument ${a}`);
    }
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) die('--port N required (0 = any free port)');
  if (!o.clients) die('--clients FILE required');
  if (o.resources.length === 0) o.resources.push('https://logistics-api');
  if (!(o.ttl > 0)) die('--ttl must be > 0');
  return o;
}

const opt = parseArgs(process.argv.slice(2));

// ---------------------------------------------------------------- clients
let clientsIn;
try {
  clientsIn = JSON.parse(fs.readFileSync(opt.clients, 'utf8'));
} catch (e) {
  die(`cannot read --clients ${opt.clients}: ${e.message}`);
}
if (!Array.isArray(clientsIn)) die('--clients file must hold a JSON array');
const extraClaims = new Map(); // client_id -> extra JWT claims
const allScopes = new Set();
const clients = clientsIn.map((c) => {
  if (!c.client_id || !c.client_secret) die('each client needs client_id and client_secret');
  const scope = (c.scope || '').split(' ').filter(Boolean);
  scope.forEach((s) => allScopes.add(s));
  if (c.claims) extraClaims.set(c.client_id, c.claims);
  return {
    client_id: c.client_id,
    client_secret: c.client_secret,
    scope: scope.join(' ') || undefined,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    // client_secret_basic as registered method; oidc-provider also accepts
    // client_secret_post for a client registered with _basic (and vice versa).
    token_endpoint_auth_method: 'client_secret_basic',
  };
});

// ---------------------------------------------------------------- keys
const SIGN_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512', 'EdDSA'];
if (!SIGN_ALGS.includes(opt.alg)) die(`--alg must be one of ${SIGN_ALGS.join(' ')}`);

let kidCounter = 0;
function newKid() {
  let kid;
  do { kid = `idp-${++kidCounter}`; } while (keys.some((k) => k.kid === kid));
  return kid;
}

async function generateKey(alg) {
  const gen = alg === 'EdDSA' ? { crv: 'Ed25519' } : {};
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...gen });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: newKid(), use: 'sig', alg };
}

function publicJwk(jwk) {
  const { d, p, q, dp, dq, qi, oth, k, ...pub } = jwk;
  return pub;
}

let keys = []; // private JWKs; keys[0] is the current signing key
if (opt.keys) {
  try {
    const set = JSON.parse(fs.readFileSync(opt.keys, 'utf8'));
    keys = set.keys;
    if (!Array.isArray(keys) || keys.length === 0) throw new Error('no "keys" array');
  } catch (e) {
    die(`cannot read --keys ${opt.keys}: ${e.message}`);
  }
  keys = keys.filter((k) => k.kty !== 'oct');
  keys.forEach((k, i) => { if (!k.kid) die(`--keys: key ${i} has no kid`); });
} else {
  keys = [await generateKey(opt.alg)];
}

// The signing alg follows the current key: its "alg" member, else inferred
// from the key type (RSA keys use --alg when it is an RSA alg, else RS256).
function currentAlg() {
  const k = keys[0];
  if (k.alg) return k.alg;
  switch (k.kty) {
    case 'RSA': return /^(RS|PS)/.test(opt.alg) ? opt.alg : 'RS256';
    case 'EC': return { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' }[k.crv];
    case 'OKP': return 'EdDSA';
    default: return opt.alg;
  }
}

// ---------------------------------------------------------------- provider
function buildProvider() {
  const signKid = keys[0].kid;
  const signAlg = currentAlg();
  const provider = new Provider(issuer, {
    clients,
    jwks: { keys },
    // the client metadata default must be an alg the keystore can sign
    clientDefaults: {
      grant_types: ['client_credentials'],
      response_types: [],
      id_token_signed_response_alg: signAlg,
    },
    scopes: ['openid', 'offline_access', ...allScopes],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: false },
      revocation: { enabled: false },
      resourceIndicators: {
        enabled: true,
        // No resource parameter: use the first configured resource, so a
        // plain client-credentials request also yields a JWT access token.
        defaultResource: async (_ctx, _client, oneOf) => oneOf || opt.resources[0],
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resourceIndicator, client) => {
          if (!opt.resources.includes(resourceIndicator)) {
            throw new oidcErrors.InvalidTarget(`unknown resource ${resourceIndicator}`);
          }
          return {
            // scopes this resource server accepts = scopes the client may have
            scope: client.scope || '',
            audience: opt.audience || resourceIndicator,
            accessTokenTTL: opt.ttl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: signAlg, kid: signKid } },
          };
        },
      },
    },
    formats: {
      customizers: {
        jwt: async (_ctx, token, jwt) => {
          const extra = extraClaims.get(token.clientId);
          if (extra) Object.assign(jwt.payload, extra);
        },
      },
    },
    enabledJWA: {
      idTokenSigningAlgValues: SIGN_ALGS,
    },
    ttl: {
      ClientCredentials: opt.ttl,
      AccessToken: opt.ttl,
    },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    renderError: async (ctx, out) => {
      ctx.type = 'application/json';
      ctx.body = out;
    },
  });
  provider.on('server_error', (_ctx, err) => {
    process.stderr.write(`idp.js: server_error: ${err.stack || err}\n`);
  });
  return provider;
}

// ---------------------------------------------------------------- admin
const stats = { jwks: 0, token: 0, discovery: 0, other: 0 };
const jwksMode = { status: 0, delayMs: 0, maxAge: opt.jwksMaxAge };
let issuer;
let handler;

function rebuild() {
  handler = buildProvider().callback();
  if (opt.keysOut) fs.writeFileSync(opt.keysOut, JSON.stringify({ keys }, null, 2));
}

function keyState() {
  return {
    current: keys[0].kid,
    alg: currentAlg(),
    published: keys.map((k) => k.kid),
  };
}

function sendJson(res, code, obj) {
  const body = `${JSON.stringify(obj)}\n`;
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function admin(req, res, url) {
  const q = url.searchParams;
  const route = `${req.method} ${url.pathname}`;
  switch (route) {
    case 'GET /__admin/keys':
      return sendJson(res, 200, { ...keyState(), keys });
    case 'GET /__admin/stats':
      return sendJson(res, 200, { ...stats, jwks_mode: jwksMode });
    case 'POST /__admin/stats/reset':
      Object.keys(stats).forEach((k) => { stats[k] = 0; });
      return sendJson(res, 200, stats);
    case 'POST /__admin/rotate': {
      // New key becomes current (first); old keys stay published unless
      // ?keep=N limits how many previous keys remain.
      const alg = q.get('alg') || currentAlg();
      if (!SIGN_ALGS.includes(alg)) return sendJson(res, 400, { error: `bad alg ${alg}` });
      const k = await generateKey(alg);
      if (q.get('kid')) {
        if (keys.some((x) => x.kid === q.get('kid'))) return sendJson(res, 409, { error: 'kid exists' });
        k.kid = q.get('kid');
      }
      keys = [k, ...keys];
      if (q.has('keep')) keys = keys.slice(0, 1 + Math.max(0, Number(q.get('keep')) || 0));
      rebuild();
      return sendJson(res, 200, keyState());
    }
    case 'POST /__admin/drop': {
      // Unpublish a key (revocation). The current key cannot be dropped
      // unless another key remains, which then becomes current.
      const kid = q.get('kid');
      const rest = keys.filter((k) => k.kid !== kid);
      if (rest.length === keys.length) return sendJson(res, 404, { error: `no kid ${kid}` });
      if (rest.length === 0) return sendJson(res, 409, { error: 'cannot drop the last key' });
      keys = rest;
      rebuild();
      return sendJson(res, 200, keyState());
    }
    case 'PUT /__admin/keys':
    case 'POST /__admin/keys': {
      // Replace the whole private JWKS; keys[0] becomes current.
      let set;
      try {
        set = JSON.parse(await readBody(req));
        if (!Array.isArray(set.keys) || !set.keys.length) throw new Error('no keys');
        set.keys.forEach((k) => { if (!k.kid || !k.d) throw new Error('each key needs kid and private part'); });
      } catch (e) {
        return sendJson(res, 400, { error: e.message });
      }
      const old = keys;
      keys = set.keys.filter((k) => k.kty !== 'oct');
      try {
        rebuild();
      } catch (e) {
        keys = old;
        return sendJson(res, 400, { error: e.message });
      }
      return sendJson(res, 200, keyState());
    }
    case 'POST /__admin/jwks': {
      // Failure injection for /jwks: ?status=503 (0 = normal),
      // ?delay_ms=N (delay before answering), ?max_age=N (-1 = no header).
      if (q.has('status')) jwksMode.status = Number(q.get('status')) || 0;
      if (q.has('delay_ms')) jwksMode.delayMs = Number(q.get('delay_ms')) || 0;
      if (q.has('max_age')) {
        const m = Number(q.get('max_age'));
        jwksMode.maxAge = m >= 0 ? m : undefined;
      }
      return sendJson(res, 200, jwksMode);
    }
    case 'POST /__admin/shutdown':
      sendJson(res, 200, { bye: true });
      setTimeout(() => process.exit(0), 10);
      return undefined;
    default:
      return sendJson(res, 404, { error: `no admin route ${route}` });
  }
}

const server = http.createServer(async (req, res) => {
  let url;
  try {
    url = new URL(req.url, 'http://x');
  } catch {
    res.writeHead(400); res.end(); return;
  }
  try {
    if (url.pathname.startsWith('/__admin/')) {
      await admin(req, res, url);
      return;
    }
    if (url.pathname === '/jwks') {
      stats.jwks++;
      if (jwksMode.delayMs > 0) await new Promise((r) => setTimeout(r, jwksMode.delayMs));
      if (jwksMode.status && jwksMode.status !== 200) {
        sendJson(res, jwksMode.status, { error: 'injected failure' });
        return;
      }
      if (jwksMode.maxAge !== undefined) {
        // oidc-provider sets no Cache-Control on /jwks; koa keeps ours.
        res.setHeader('cache-control', `public, max-age=${jwksMode.maxAge}`);
      }
    } else if (url.pathname === '/token') {
      stats.token++;
    } else if (url.pathname.startsWith('/.well-known/')) {
      stats.discovery++;
      // RFC 8414 name for the same metadata document
      if (url.pathname === '/.well-known/oauth-authorization-server') {
        req.url = '/.well-known/openid-configuration';
      }
    } else {
      stats.other++;
    }
    handler(req, res);
  } catch (e) {
    process.stderr.write(`idp.js: ${e.stack || e}\n`);
    if (!res.headersSent) sendJson(res, 500, { error: 'internal' });
  }
});

server.on('error', (e) => {
  process.stderr.write(`idp.js: listen: ${e.message}\n`);
  process.exit(1);
});

server.listen(opt.port, opt.host, () => {
  const { port } = server.address();
  issuer = opt.issuer || `http://${opt.host}:${port}`;
  try {
    rebuild();
  } catch (e) {
    process.stderr.write(`idp.js: provider configuration: ${e.stack || e}\n`);
    process.exit(1);
  }
  process.stdout.write(`ready ${port}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(sig, () => process.exit(0));
}
