'use strict';

// Stub Odoo upstream for the gateway tests (node core only).
//
//   node t/stub/odoo-stub.js PORT
//
// Every request is answered with an Odoo-shaped JSON-RPC envelope echoing
// what arrived:
//   {"jsonrpc":"2.0","id":null,
//    "result":{"echo":{"method":..,"uri":..,"headers":{..},"body":".."}}}
// Status 200, or 201 for POST.  Request headers steer it:
//   X-Stub-Status: NNN     answer with that status instead
//   X-Stub-Delay-Ms: N     wait N ms before answering
//   X-Stub-Chunked: 1      answer in three chunks, without Content-Length
// Control endpoints (not counted):
//   GET  /__stub/stats     -> {"count":N}
//   POST /__stub/reset     -> {"count":0}
//
// Slow and failing on demand, per path prefix (for "protect Odoo" tests):
//   POST /__stub/config    {"rules":[RULE, ...]} replaces the rules
//   GET  /__stub/config    -> {"rules":[...]}
//   POST /__stub/config/reset
//                          no rules, held requests released, counters
//                          reset -> {"rules":[]}
// A RULE (unknown fields are refused with 400):
//   "path_prefix": "/api/v2/"   required; matched against the path
//   "delay_ms": N               wait N ms (0..60000) before answering
//   "hold": true                keep matching requests open until
//                               POST /__stub/release (then delay_ms)
//   "status": NNN               answer errors with this status (503)
//   "error_rate": R             share of matching requests that are
//                               errors, 0..1 (1 when status or reset is
//                               set, else 0); spread evenly, not at
//                               random: 0.5 fails every 2nd request
//   "reset": true               an error closes the connection instead
//                               of answering
// The longest matching prefix among the rules that set anything decides;
// a rule with only path_prefix just counts.  X-Stub-Status and
// X-Stub-Delay-Ms still win over a rule.  Errors answer
//   {"jsonrpc":"2.0","id":null,"error":{"code":S,"message":"stub error",
//    "data":{"echo":{..}}}}
//
// What is inside the stub right now (for "Odoo never saw more than N at
// once"): a request is in flight from its headers until its response is
// finished or its connection closed.
//   GET  /__stub/inflight  -> {"in_flight":N,"max_in_flight":M,"held":H,
//                              "total":T,"prefixes":{"/api/v2/":{
//                              "in_flight":..,"max_in_flight":..,"held":..,
//                              "total":..,"errors":..}}}
//                             (one entry per rule prefix, every matching
//                             prefix counts a request)
//   POST /__stub/inflight/reset
//                          maxima back to what is in flight now, totals
//                          and errors to 0 -> the same object
//   POST /__stub/release   {"path_prefix":"/api/","count":N} (both
//                          optional): releases held requests, oldest
//                          first -> {"released":n,"held":left}
//   GET  /__stub/wait?held=N&in_flight=N&timeout_ms=T
//                          answers once at least N are held / in flight
//                          (200 {"ok":true,..inflight}) or after T ms
//                          (default 5000; 504 {"ok":false,..})
// Prints "ready PORT" on stdout once listening.

const http = require('http');

const port = parseInt(process.argv[2] || '0', 10);
let count = 0;

const RULE_FIELDS = {
    path_prefix: 'string',
    delay_ms: 'number',
    hold: 'boolean',
    status: 'number',
    error_rate: 'number',
    reset: 'boolean',
};

let rules = [];             // normalised rules, in the order given
let prefixStats = new Map();
let held = [];              // { prefix, path, release }
let waiters = [];           // { test, answer }

const totals = { in_flight: 0, max_in_flight: 0, total: 0 };


function send(res, status, obj, head, chunked) {
    const body = JSON.stringify(obj);

    if (chunked && !head) {
        /* no Content-Length: node sends Transfer-Encoding: chunked */
        res.writeHead(status, { 'Content-Type': 'application/json' });
        const third = Math.ceil(body.length / 3);
        res.write(body.slice(0, third));
        setTimeout(() => {
            res.write(body.slice(third, 2 * third));
            res.end(body.slice(2 * third));
        }, 20);
        return;
    }

    res.writeHead(status, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
    });
    res.end(head ? undefined : body);
}


// a rule from a test, checked field by field; throws a message
function normaliseRule(r, i) {
    const where = 'rules[' + i + ']';

    if (r === null || typeof r !== 'object' || Array.isArray(r)) {
        throw where + ': not an object';
    }

    for (const k of Object.keys(r)) {
        if (!(k in RULE_FIELDS)) {
            throw where + ': unknown field "' + k + '"';
        }
        if (typeof r[k] !== RULE_FIELDS[k]) {
            throw where + '.' + k + ': not a ' + RULE_FIELDS[k];
        }
    }

    if (typeof r.path_prefix !== 'string' || r.path_prefix[0] !== '/') {
        throw where + '.path_prefix: required, starting with "/"';
    }

    const n = { path_prefix: r.path_prefix };
    const acts = 'delay_ms' in r || 'hold' in r || 'status' in r
                 || 'error_rate' in r || 'reset' in r;

    if ('delay_ms' in r) {
        if (!Number.isInteger(r.delay_ms) || r.delay_ms < 0
            || r.delay_ms > 60000)
        {
            throw where + '.delay_ms: an integer 0..60000';
        }
        n.delay_ms = r.delay_ms;
    }

    if ('status' in r) {
        if (!Number.isInteger(r.status) || r.status < 100 || r.status > 599) {
            throw where + '.status: an integer 100..599';
        }
    }

    if ('error_rate' in r && !(r.error_rate >= 0 && r.error_rate <= 1)) {
        throw where + '.error_rate: a number 0..1';
    }

    n.hold = r.hold === true;
    n.reset = r.reset === true;
    n.status = r.status || 503;
    n.error_rate = 'error_rate' in r ? r.error_rate
                   : ('status' in r || n.reset) ? 1 : 0;
    n.acts = acts;
    n.seen = 0;

    return n;
}


function publicRule(n) {
    const r = { path_prefix: n.path_prefix };

    if ('delay_ms' in n) {
        r.delay_ms = n.delay_ms;
    }
    r.hold = n.hold;
    r.status = n.status;
    r.error_rate = n.error_rate;
    r.reset = n.reset;

    return r;
}


function statsFor(prefix) {
    let s = prefixStats.get(prefix);

    if (s === undefined) {
        s = { in_flight: 0, max_in_flight: 0, held: 0, total: 0, errors: 0 };
        prefixStats.set(prefix, s);
    }

    return s;
}


function inflightObject() {
    const prefixes = {};

    for (const [p, s] of prefixStats) {
        prefixes[p] = Object.assign({}, s);
    }

    return {
        in_flight: totals.in_flight,
        max_in_flight: totals.max_in_flight,
        held: held.length,
        total: totals.total,
        prefixes: prefixes,
    };
}


function resetCounters() {
    totals.max_in_flight = totals.in_flight;
    totals.total = 0;

    for (const s of prefixStats.values()) {
        s.max_in_flight = s.in_flight;
        s.total = 0;
        s.errors = 0;
    }
}


function wake() {
    waiters = waiters.filter((w) => !w.test() || (w.answer(), false));
}


// counts a request in; returns the function that counts it out (once)
function enter(path) {
    const stats = [];

    for (const r of rules) {
        if (path.startsWith(r.path_prefix)) {
            stats.push(statsFor(r.path_prefix));
        }
    }

    totals.in_flight++;
    totals.total++;
    totals.max_in_flight = Math.max(totals.max_in_flight, totals.in_flight);

    for (const s of stats) {
        s.in_flight++;
        s.total++;
        s.max_in_flight = Math.max(s.max_in_flight, s.in_flight);
    }

    wake();

    let out = false;

    return {
        stats: stats,
        leave: () => {
            if (out) {
                return;
            }
            out = true;
            totals.in_flight--;
            for (const s of stats) {
                s.in_flight--;
            }
            wake();
        },
    };
}


// the rule that decides for a path: longest acting prefix, first wins
function ruleFor(path) {
    let best = null;

    for (const r of rules) {
        if (r.acts && path.startsWith(r.path_prefix)
            && (best === null
                || r.path_prefix.length > best.path_prefix.length))
        {
            best = r;
        }
    }

    return best;
}


// request n (from 0) of a rule is an error when floor(n * rate) steps up
function isError(rule) {
    const n = rule.seen++;
    const eps = 1e-9;

    return Math.floor((n + 1) * rule.error_rate + eps)
           > Math.floor(n * rule.error_rate + eps);
}


function readJson(body) {
    if (body.length === 0) {
        return {};
    }
    return JSON.parse(body);
}


function controlConfig(req, res, body) {
    let j;

    try {
        j = readJson(body);

        if (j === null || typeof j !== 'object' || Array.isArray(j)) {
            throw 'the body is not an object';
        }
        for (const k of Object.keys(j)) {
            if (k !== 'rules') {
                throw 'unknown field "' + k + '"';
            }
        }
        if (!Array.isArray(j.rules)) {
            throw 'rules: an array is required';
        }

        rules = j.rules.map(normaliseRule);

    } catch (e) {
        send(res, 400, { error: String(e) });
        return;
    }

    for (const r of rules) {
        statsFor(r.path_prefix);
    }

    send(res, 200, { rules: rules.map(publicRule) });
}


function releaseHeld(prefix, n) {
    let released = 0;
    const keep = [];

    for (const h of held) {
        if (released < n && (prefix === undefined
                             || h.path.startsWith(prefix)))
        {
            released++;
            h.release();
        } else {
            keep.push(h);
        }
    }

    held = keep;
    wake();

    return released;
}


function controlRelease(req, res, body) {
    let j;

    try {
        j = readJson(body);

        for (const k of Object.keys(j)) {
            if (k !== 'path_prefix' && k !== 'count') {
                throw 'unknown field "' + k + '"';
            }
        }
        if ('count' in j && !(Number.isInteger(j.count) && j.count >= 0)) {
            throw 'count: a non-negative integer';
        }
        if ('path_prefix' in j && typeof j.path_prefix !== 'string') {
            throw 'path_prefix: a string';
        }

    } catch (e) {
        send(res, 400, { error: String(e) });
        return;
    }

    const n = releaseHeld(j.path_prefix,
                          'count' in j ? j.count : Infinity);

    send(res, 200, { released: n, held: held.length });
}


function controlWait(req, res, query) {
    const q = new URLSearchParams(query);
    const wantHeld = parseInt(q.get('held') || '0', 10);
    const wantIn = parseInt(q.get('in_flight') || '0', 10);
    const timeout = Math.min(parseInt(q.get('timeout_ms') || '5000', 10),
                             60000);

    const test = () => held.length >= wantHeld
                       && totals.in_flight >= wantIn;

    if (test()) {
        send(res, 200, Object.assign({ ok: true }, inflightObject()));
        return;
    }

    const w = { test: test };
    const timer = setTimeout(() => {
        waiters = waiters.filter((x) => x !== w);
        send(res, 504, Object.assign({ ok: false }, inflightObject()));
    }, timeout);

    w.answer = () => {
        clearTimeout(timer);
        send(res, 200, Object.assign({ ok: true }, inflightObject()));
    };

    waiters.push(w);
}


// the control endpoints: "METHOD path" -> handler(req, res, body, query)
const CONTROL = {
    'GET /__stub/stats': (req, res) => send(res, 200, { count: count }),

    'POST /__stub/reset': (req, res) => {
        count = 0;
        send(res, 200, { count: 0 });
    },

    'GET /__stub/config': (req, res) =>
        send(res, 200, { rules: rules.map(publicRule) }),

    'POST /__stub/config': controlConfig,

    'POST /__stub/config/reset': (req, res) => {
        rules = [];
        releaseHeld(undefined, Infinity);
        prefixStats = new Map();
        resetCounters();
        send(res, 200, { rules: [] });
    },

    'GET /__stub/inflight': (req, res) => send(res, 200, inflightObject()),

    'POST /__stub/inflight/reset': (req, res) => {
        resetCounters();
        send(res, 200, inflightObject());
    },

    'POST /__stub/release': controlRelease,

    'GET /__stub/wait': (req, res, body, query) =>
        controlWait(req, res, query),
};


function controlOf(req) {
    const q = req.url.indexOf('?');
    const path = q < 0 ? req.url : req.url.slice(0, q);
    const h = CONTROL[req.method + ' ' + path];

    if (h === undefined) {
        return null;
    }

    /* the original endpoints answer their exact URL only, as before */
    if (q >= 0 && (path === '/__stub/stats' || path === '/__stub/reset')) {
        return null;
    }

    return { handler: h, query: q < 0 ? '' : req.url.slice(q + 1) };
}


const server = http.createServer({ maxHeaderSize: 65536 }, (req, res) => {
    const chunks = [];
    const control = controlOf(req);
    const qpos = req.url.indexOf('?');
    const path = qpos < 0 ? req.url : req.url.slice(0, qpos);
    let inside = null;

    if (control === null) {
        inside = enter(path);
        res.once('finish', inside.leave);
        res.once('close', inside.leave);
    }

    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
        if (control !== null) {
            control.handler(req, res, Buffer.concat(chunks).toString('utf8'),
                            control.query);
            return;
        }

        count++;

        // node joins repeated headers; rawHeaders keeps every copy
        const headers = {};
        const raw = req.rawHeaders;
        for (let i = 0; i < raw.length; i += 2) {
            const name = raw[i].toLowerCase();
            headers[name] = (name in headers)
                            ? headers[name] + ', ' + raw[i + 1]
                            : raw[i + 1];
        }

        const echo = {
            method: req.method,
            uri: req.url,
            http_version: req.httpVersion,
            headers: headers,
            body: Buffer.concat(chunks).toString('latin1'),
        };

        const rule = ruleFor(path);
        const error = rule !== null && isError(rule);

        if (error) {
            for (const s of inside.stats) {
                s.errors++;
            }
        }

        let status = req.method === 'POST' ? 201 : 200;
        if (error) {
            status = rule.status;
        }
        const want = parseInt(req.headers['x-stub-status'] || '', 10);
        if (want >= 100 && want <= 599) {
            status = want;
        }

        let delay = rule !== null && 'delay_ms' in rule ? rule.delay_ms : 0;
        if ('x-stub-delay-ms' in req.headers) {
            delay = parseInt(req.headers['x-stub-delay-ms'] || '0', 10);
        }

        const answer = () => {
            if (error && rule.reset) {
                req.socket.destroy();
                return;
            }

            const obj = error
                ? { jsonrpc: '2.0', id: null,
                    error: { code: status, message: 'stub error',
                             data: { echo: echo } } }
                : { jsonrpc: '2.0', id: null, result: { echo: echo } };

            send(res, status, obj, req.method === 'HEAD',
                 req.headers['x-stub-chunked'] === '1');
        };

        const later = () => {
            if (delay > 0) {
                setTimeout(answer, Math.min(delay, 60000));
            } else {
                answer();
            }
        };

        if (rule === null || !rule.hold) {
            later();
            return;
        }

        // held until released, or until the client goes away
        const heldStats = inside.stats;
        const h = { path: path, release: null };
        let holding = true;

        const unhold = () => {
            if (!holding) {
                return;
            }
            holding = false;
            for (const s of heldStats) {
                s.held--;
            }
        };

        h.release = () => {
            unhold();
            later();
        };

        res.once('close', () => {
            if (holding) {
                unhold();
                held = held.filter((x) => x !== h);
                wake();
            }
        });

        for (const s of heldStats) {
            s.held++;
        }
        held.push(h);
        wake();
    });
});

server.keepAliveTimeout = 5000;
server.headersTimeout = 10000;

server.listen(port, '127.0.0.1', () => {
    process.stdout.write('ready ' + server.address().port + '\n');
});

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
