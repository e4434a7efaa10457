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
// Prints "ready PORT" on stdout once listening.

const http = require('http');

const port = parseInt(process.argv[2] || '0', 10);
let count = 0;

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

const server = http.createServer({ maxHeaderSize: 65536 }, (req, res) => {
    const chunks = [];

    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
        if (req.url === '/__stub/stats' && req.method === 'GET') {
            send(res, 200, { count: count });
            return;
        }

        if (req.url === '/__stub/reset' && req.method === 'POST') {
            count = 0;
            send(res, 200, { count: 0 });
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

        let status = req.method === 'POST' ? 201 : 200;
        const want = parseInt(req.headers['x-stub-status'] || '', 10);
        if (want >= 100 && want <= 599) {
            status = want;
        }

        const delay = parseInt(req.headers['x-stub-delay-ms'] || '0', 10);
        const answer = () => send(res, status,
                                  { jsonrpc: '2.0', id: null,
                                    result: { echo: echo } },
                                  req.method === 'HEAD',
                                  req.headers['x-stub-chunked'] === '1');

        if (delay > 0) {
            setTimeout(answer, Math.min(delay, 60000));
        } else {
            answer();
        }
    });
});

server.keepAliveTimeout = 5000;
server.headersTimeout = 10000;

server.listen(port, '127.0.0.1', () => {
    process.stdout.write('ready ' + server.address().port + '\n');
});

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
