#!/usr/bin/env node
// Self-check of idp.js and mint.js with jose as the verifier.
//   node t/oauth/selftest.js        (or: npm test --prefix t/oauth)
// Prints "ok N - ..." / "not ok N - ..." lines (TAP) and exits non-zero on failure.

import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  jwtVerify, createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, decodeJwt,
} from 'jose';

const here = path.dirname(new URL(import.meta.url).pathname);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oauth-selftest-'));
let n = 0;
let failed = 0;
function ok(cond, name, extra) {
  n++;
  if (!cond) failed++;
  process.stdout.write(`${cond ? 'ok' : 'not ok'} ${n} - ${name}${!cond && extra ? ` # ${extra}` : ''}\n`);
}

const mint = (args, input) => spawnSync(process.execPath, [path.join(here, 'mint.js'), ...args], { input, encoding: 'utf8' });

// ---------------------------------------------------------------- mint.js
const priv = path.join(dir, 'priv.json');
const pub = path.join(dir, 'pub.json');
const secretFile = path.join(dir, 'hs.secret');
let r = mint(['genkeys', '--out', priv, '--public', pub, '--secret', secretFile]);
ok(r.status === 0 && r.stdout.trim() === 'rsa-1 ec256-1 ec384-1 ec521-1 ed-1 hs-1', 'genkeys', r.stderr);
const pubSet = JSON.parse(fs.readFileSync(pub, 'utf8'));
ok(pubSet.keys.length === 5 && pubSet.keys.every((k) => !k.d && !k.k && !k.p), 'public JWKS has no private members and no oct key');
const jwks = createLocalJWKSet(pubSet);
const secret = new TextEncoder().encode(fs.readFileSync(secretFile, 'utf8'));

const jobs = [
  ['rsa-1', 'RS256'], ['rsa-1', 'RS384'], ['rsa-1', 'RS512'],
  ['rsa-1', 'PS256'], ['rsa-1', 'PS384'], ['rsa-1', 'PS512'],
  ['ec256-1', 'ES256'], ['ec384-1', 'ES384'], ['ec521-1', 'ES512'],
  ['ed-1', 'EdDSA'], ['hs-1', 'HS256'], ['hs-1', 'HS384'], ['hs-1', 'HS512'],
];
const claims = {
  iss: 'https://idp.test', aud: 'https://logistics-api', exp: '+300', client_id: 'acme', scope: 'orders:read',
};
const t0 = Date.now();
r = mint(['batch', '--keys', priv], jobs.map(([kid, alg]) => JSON.stringify({ kid, alg, claims })).join('\n'));
const batchMs = Date.now() - t0;
const toks = r.stdout.trim().split('\n');
ok(r.status === 0 && toks.length === jobs.length, `batch of ${jobs.length} (${batchMs} ms)`, r.stderr);
for (let i = 0; i < jobs.length; i++) {
  const [kid, alg] = jobs[i];
  try {
    const key = alg.startsWith('HS') ? secret : jwks;
    const { payload, protectedHeader } = await jwtVerify(toks[i], key, {
      issuer: claims.iss, audience: claims.aud, algorithms: [alg], typ: 'at+jwt',
    });
    ok(protectedHeader.kid === kid && payload.client_id === 'acme' && payload.exp - payload.iat === 300, `${alg} verifies`);
  } catch (e) {
    ok(false, `${alg} verifies`, e.message);
  }
}

// single-token mode
r = mint(['--keys', priv, '--kid', 'rsa-1', '--alg', 'RS256', '--claims', JSON.stringify(claims), '--header', '{"typ":"JWT"}']);
ok(r.status === 0 && decodeProtectedHeader(r.stdout.trim()).typ === 'JWT', 'single mode, --header overrides typ');
r = mint(['--keys', priv, '--kid', 'rsa-1', '--alg', 'RS256', '--claims', '{"a":1}', '--raw']);
ok(r.status === 0 && JSON.stringify(decodeProtectedHeader(r.stdout.trim())) === '{"alg":"RS256"}'
  && JSON.stringify(decodeJwt(r.stdout.trim())) === '{"a":1}', '--raw adds nothing');

// attacks must all fail jose verification
const attacks = [
  { attack: 'none', alg: 'none' }, { attack: 'none', alg: 'None' }, { attack: 'none', alg: 'NONE' },
  { attack: 'hs-with-public', kid: 'rsa-1', alg: 'HS256' },
  { attack: 'ecdsa-zero', kid: 'ec256-1', alg: 'ES256' },
  { attack: 'strip-signature', kid: 'rsa-1', alg: 'RS256' },
  { attack: 'tamper-payload', kid: 'rsa-1', alg: 'RS256', tamper: { scope: 'orders:write' } },
  { attack: 'flip-signature', kid: 'ec256-1', alg: 'ES256' },
  { kid: 'rsa-1', alg: 'RS256', header: { crit: ['x-unknown'], 'x-unknown': 1 } },
  { kid: 'rsa-1', alg: 'RS256', header: { alg: 'PS256' } },
  { kid: 'rsa-1', alg: 'RS256', claims: { ...claims, exp: '-120' } },
  { kid: 'rsa-1', alg: 'RS256', claims: { ...claims, nbf: '+600' } },
  { kid: 'rsa-1', alg: 'RS256', claims: { ...claims, iss: 'https://evil' } },
  { kid: 'rsa-1', alg: 'RS256', claims: { ...claims, aud: 'https://other' } },
  { kid: 'rsa-1', alg: 'RS256', header: { kid: 'unknown-kid' } },
  { attack: 'extra-segment', kid: 'rsa-1', alg: 'RS256' },
];
r = mint(['batch', '--keys', priv], attacks.map((j) => JSON.stringify({ claims, ...j })).join('\n'));
const atoks = r.stdout.trim().split('\n');
ok(r.status === 0 && atoks.length === attacks.length, 'attack batch', r.stderr);
for (let i = 0; i < attacks.length; i++) {
  const a = attacks[i];
  const name = a.attack || JSON.stringify(a.header || a.claims);
  try {
    await jwtVerify(atoks[i], jwks, {
      issuer: claims.iss, audience: claims.aud, algorithms: ['RS256', 'ES256'],
    });
    ok(false, `attack ${name} rejected by jose`, 'accepted!');
  } catch (e) {
    ok(true, `attack ${name} rejected by jose (${e.code})`);
  }
}
// the alg-lie token is a valid RS256 signature under a PS256 header
{
  const lie = atoks[attacks.findIndex((a) => a.header?.alg === 'PS256')];
  ok(decodeProtectedHeader(lie).alg === 'PS256', 'alg-mismatch token carries the lying alg');
}
// non-canonical signature decodes (jose/Node decode base64url leniently and
// ACCEPT this token: it is only an attack on the gateway, which must reject) to the same bytes as the original
{
  const t = mint(['--keys', priv, '--kid', 'rsa-1', '--alg', 'RS256', '--attack', 'noncanonical-signature']).stdout.trim();
  const s = t.split('.')[2];
  ok(Buffer.from(s, 'base64url').length === 256 && Buffer.from(s, 'base64url').toString('base64url') !== s,
    'non-canonical signature: same bytes, different text');
}
r = mint(['batch', '--keys', priv], '{"kid":"nope","alg":"RS256"}\n{"kid":"rsa-1","alg":"RS256"}\n');
ok(r.status === 1 && /^error: /.test(r.stdout.split('\n')[0]) && r.stdout.split('\n')[1].split('.').length === 3,
  'batch: error line for a bad job, others still minted');

// ---------------------------------------------------------------- idp.js
const clients = path.join(dir, 'clients.json');
fs.writeFileSync(clients, JSON.stringify([
  { client_id: 'acme', client_secret: 'acme-secret', scope: 'orders:read orders:write' },
  { client_id: 'globex', client_secret: 'globex-secret', scope: 'stock:read', claims: { partner: 'globex' } },
]));

function startIdp(args) {
  return new Promise((resolve, reject) => {
    const t = Date.now();
    const p = spawn(process.execPath, [path.join(here, 'idp.js'), '--port', '0', '--clients', clients, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stderr.on('data', (d) => { err += d; });
    p.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/^ready (\d+)\n/);
      if (m) resolve({ proc: p, port: Number(m[1]), ms: Date.now() - t, err: () => err });
    });
    p.on('exit', (c) => reject(new Error(`idp exited ${c}: ${err}`)));
  });
}

async function token(base, body, basic) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basic) headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
  const res = await fetch(`${base}/token`, { method: 'POST', headers, body: new URLSearchParams(body) });
  return { status: res.status, json: await res.json() };
}

for (const alg of ['RS256', 'ES256']) {
  const idp = await startIdp(['--alg', alg, '--ttl', '120']);
  const base = `http://127.0.0.1:${idp.port}`;
  ok(true, `idp ${alg} ready in ${idp.ms} ms on port ${idp.port}`);
  try {
    const disc = await (await fetch(`${base}/.well-known/openid-configuration`)).json();
    ok(disc.issuer === base && disc.jwks_uri === `${base}/jwks` && disc.token_endpoint === `${base}/token`
      && disc.grant_types_supported.includes('client_credentials'), 'discovery');
    const as = await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json();
    ok(as.jwks_uri === disc.jwks_uri, 'RFC 8414 metadata alias');

    let t = await token(base, { grant_type: 'client_credentials', resource: 'https://logistics-api', scope: 'orders:read' }, 'acme:acme-secret');
    ok(t.status === 200 && t.json.token_type === 'Bearer' && t.json.expires_in === 120, 'token (client_secret_basic)', JSON.stringify(t.json));
    const remote = createRemoteJWKSet(new URL(disc.jwks_uri));
    const v = await jwtVerify(t.json.access_token, remote, { issuer: base, audience: 'https://logistics-api', typ: 'at+jwt', algorithms: [alg] });
    ok(v.protectedHeader.kid === 'idp-1' && v.payload.client_id === 'acme' && v.payload.scope === 'orders:read'
      && v.payload.jti && v.payload.exp - v.payload.iat === 120, `${alg} at+jwt verifies with the remote JWKS`);
    const first = t.json.access_token;

    t = await token(base, {
      grant_type: 'client_credentials', client_id: 'globex', client_secret: 'globex-secret', scope: 'stock:read',
    });
    ok(t.status === 200 && decodeJwt(t.json.access_token).partner === 'globex'
      && decodeJwt(t.json.access_token).aud === 'https://logistics-api', 'token (client_secret_post, default resource, extra claims)');
    t = await token(base, { grant_type: 'client_credentials', scope: 'orders:read' }, 'globex:globex-secret');
    ok(t.status === 400 && t.json.error === 'invalid_scope', 'scope of another client: invalid_scope');
    t = await token(base, { grant_type: 'client_credentials' }, 'acme:wrong');
    ok(t.status === 401 && t.json.error === 'invalid_client', 'bad secret: invalid_client');
    t = await token(base, { grant_type: 'client_credentials', resource: 'https://other' }, 'acme:acme-secret');
    ok(t.status === 400 && t.json.error === 'invalid_target', 'unknown resource: invalid_target');

    // rotation
    let st = await (await fetch(`${base}/__admin/rotate`, { method: 'POST' })).json();
    ok(st.current === 'idp-2' && st.published.join() === 'idp-2,idp-1', 'rotate: new current key, old still published');
    const ks = await (await fetch(`${base}/jwks`)).json();
    ok(ks.keys.map((k) => k.kid).join() === 'idp-2,idp-1' && ks.keys.every((k) => !k.d), 'JWKS after rotate');
    t = await token(base, { grant_type: 'client_credentials', scope: 'orders:read' }, 'acme:acme-secret');
    ok(decodeProtectedHeader(t.json.access_token).kid === 'idp-2', 'token after rotate signed with new kid');
    const fresh = createLocalJWKSet(ks);
    await jwtVerify(first, fresh);
    ok(true, 'old token still verifies against rotated JWKS');
    st = await (await fetch(`${base}/__admin/drop?kid=idp-1`, { method: 'POST' })).json();
    ok(st.published.join() === 'idp-2', 'drop old key');
    try {
      await jwtVerify(first, createLocalJWKSet(await (await fetch(`${base}/jwks`)).json()));
      ok(false, 'old token rejected after drop');
    } catch (e) {
      ok(e.code === 'ERR_JWKS_NO_MATCHING_KEY', 'old token rejected after drop');
    }

    // failure injection and stats
    await fetch(`${base}/__admin/jwks?status=503&max_age=60`, { method: 'POST' });
    let res = await fetch(`${base}/jwks`);
    ok(res.status === 503, 'injected 503 on /jwks');
    await fetch(`${base}/__admin/jwks?status=0`, { method: 'POST' });
    res = await fetch(`${base}/jwks`);
    ok(res.status === 200 && res.headers.get('cache-control') === 'public, max-age=60', 'Cache-Control max-age on /jwks');
    const stats = await (await fetch(`${base}/__admin/stats`)).json();
    ok(stats.jwks >= 5 && stats.token === 6, `stats ${JSON.stringify({ jwks: stats.jwks, token: stats.token })}`);
  } catch (e) {
    ok(false, `idp ${alg} flow`, `${e.stack}\n${idp.err()}`);
  } finally {
    idp.proc.removeAllListeners('exit');
    idp.proc.kill('SIGTERM');
  }
}

// restart with a keys file: rotation by restart
{
  const keysOut = path.join(dir, 'idp-keys.json');
  let idp = await startIdp(['--keys-out', keysOut]);
  idp.proc.removeAllListeners('exit');
  idp.proc.kill('SIGTERM');
  const old = JSON.parse(fs.readFileSync(keysOut, 'utf8')).keys;
  const mine = JSON.parse(fs.readFileSync(priv, 'utf8')).keys.find((k) => k.kid === 'ec256-1');
  const both = path.join(dir, 'both.json');
  fs.writeFileSync(both, JSON.stringify({ keys: [mine, ...old] }));
  idp = await startIdp(['--keys', both]);
  const base = `http://127.0.0.1:${idp.port}`;
  try {
    const t = await token(base, { grant_type: 'client_credentials' }, 'acme:acme-secret');
    const h = decodeProtectedHeader(t.json.access_token);
    const ks = await (await fetch(`${base}/jwks`)).json();
    ok(h.kid === 'ec256-1' && h.alg === 'ES256' && ks.keys.map((k) => k.kid).join() === 'ec256-1,idp-1',
      'restart with --keys [new, old]: first key signs, both published');
  } finally {
    idp.proc.removeAllListeners('exit');
    idp.proc.kill('SIGTERM');
  }
}

fs.rmSync(dir, { recursive: true, force: true });
process.stdout.write(`1..${n}\n`);
process.exit(failed ? 1 : 0);
