
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include "unit.h"

#include <hiredis/hiredis.h>

#include "lg_idem.h"
#include "lg_ratelimit.h"
#include "lg_redis_script.h"


/* a reply as hiredis builds it from the bytes Redis sends */

static redisReply *
resp(const char *text)
{
    void          *reply;
    redisReader   *reader;

    reader = redisReaderCreate();
    redisReaderFeed(reader, text, strlen(text));

    reply = NULL;

    if (redisReaderGetReply(reader, &reply) != REDIS_OK) {
        reply = NULL;
    }

    redisReaderFree(reader);

    return reply;
}


static void
test_key_parse(void)
{
    size_t       len;
    const char  *key;
    char         big[300];

    ok(lg_idem_key_parse("abc-123", 7, &key, &len) == 0
       && len == 7 && memcmp(key, "abc-123", 7) == 0, "a token key");

    ok(lg_idem_key_parse("\"8e03978e-40d5\"", 15, &key, &len) == 0
       && len == 13 && memcmp(key, "8e03978e-40d5", 13) == 0,
       "a structured-field string: the quotes are not part of the key");

    ok(lg_idem_key_parse("\"a b\"", 5, &key, &len) == 0 && len == 3,
       "a string may hold a space");
    ok(lg_idem_key_parse("a b", 3, &key, &len) != 0,
       "a token may not");
    ok(lg_idem_key_parse("\"\"", 2, &key, &len) != 0, "an empty string");
    ok(lg_idem_key_parse("", 0, &key, &len) != 0, "an empty value");
    ok(lg_idem_key_parse("\"a\"b\"", 5, &key, &len) != 0,
       "a quote inside a string");
    ok(lg_idem_key_parse("\"a\\b\"", 5, &key, &len) != 0,
       "a backslash inside a string");
    ok(lg_idem_key_parse("a\x01", 2, &key, &len) != 0, "a control byte");
    ok(lg_idem_key_parse("a\0b", 3, &key, &len) != 0, "a NUL byte");
    ok(lg_idem_key_parse("\"caf\xc3\xa9\"", 7, &key, &len) != 0,
       "non-ASCII bytes");

    memset(big, 'k', sizeof(big));
    ok(lg_idem_key_parse(big, LG_IDEM_KEY_MAX, &key, &len) == 0,
       "%d bytes is the longest key", LG_IDEM_KEY_MAX);
    ok(lg_idem_key_parse(big, LG_IDEM_KEY_MAX + 1, &key, &len) != 0,
       "one more is refused");
}


static void
test_records(void)
{
    size_t            n, len;
    uint8_t           fp[LG_IDEM_FP_LEN], other[LG_IDEM_FP_LEN];
    uint8_t           id[LG_IDEM_LOCK_ID_LEN], lock[LG_IDEM_LOCK_LEN];
    uint8_t           buf[512];
    const char       *pos, *end, *name, *value;
    size_t            nlen, vlen;
    lg_idem_record_t  rec;

    static const char  headers[] =
        "Content-Type: application/json\r\nLocation: /v2/shipments/7\r\n";

    memset(fp, 0xab, sizeof(fp));
    memset(other, 0xab, sizeof(other));
    other[31] ^= 1;
    memset(id, 0x11, sizeof(id));

    lg_idem_lock_encode(lock, fp, id);

    ok(lg_idem_record_decode(lock, sizeof(lock), &rec) == 0
       && rec.type == LG_IDEM_LOCK, "a lock record decodes");
    ok(lg_idem_record_matches(&rec, fp), "it matches its fingerprint");
    ok(!lg_idem_record_matches(&rec, other), "and no other");
    ok(lg_idem_record_decode(lock, sizeof(lock) - 1, &rec) != 0,
       "a truncated lock is not a record");

    len = lg_idem_done_size(0, sizeof(headers) - 1, 5);
    n = lg_idem_done_encode(buf, 0, fp, 201, headers, sizeof(headers) - 1,
                            "hello", 5);
    is_int(n, len, "done_size() is what done_encode() writes");

    ok(lg_idem_record_decode(buf, n, &rec) == 0 && rec.type == LG_IDEM_DONE,
       "a done record decodes");
    is_int(rec.status, 201, "with its status");
    ok(rec.body_len == 5 && memcmp(rec.body, "hello", 5) == 0,
       "and its body");

    /* the bytes are the same on every architecture: little-endian */
    is_int(buf[33], 201, "status low byte first");
    is_int(buf[35], sizeof(headers) - 1, "headers length low byte first");

    pos = rec.headers;
    end = rec.headers + rec.headers_len;

    ok(lg_idem_header_next(&pos, end, &name, &nlen, &value, &vlen)
       && nlen == 12 && memcmp(name, "Content-Type", 12) == 0
       && vlen == 16 && memcmp(value, "application/json", 16) == 0,
       "the first header line");
    ok(lg_idem_header_next(&pos, end, &name, &nlen, &value, &vlen)
       && nlen == 8 && vlen == 15, "the second");
    ok(!lg_idem_header_next(&pos, end, &name, &nlen, &value, &vlen),
       "and no third");

    pos = "X-Empty: \r\n";
    ok(lg_idem_header_next(&pos, pos + 11, &name, &nlen, &value, &vlen)
       && vlen == 0, "an empty value");

    pos = "Broken\r\n";
    ok(!lg_idem_header_next(&pos, pos + 8, &name, &nlen, &value, &vlen),
       "a line without a colon ends the headers");

    pos = ": v\r\n";
    ok(!lg_idem_header_next(&pos, pos + 5, &name, &nlen, &value, &vlen),
       "so does one without a name");

    n = lg_idem_done_encode(buf, 1, fp, 200, headers, sizeof(headers) - 1,
                            "ignored", 7);
    ok(lg_idem_record_decode(buf, n, &rec) == 0 && rec.type == LG_IDEM_GONE
       && rec.body_len == 0, "a gone record keeps no body");

    buf[n] = 'x';
    ok(lg_idem_record_decode(buf, n + 1, &rec) != 0,
       "a gone record with a body is not a record");

    n = lg_idem_done_encode(buf, 0, fp, 200, headers, sizeof(headers) - 1,
                            NULL, 0);
    buf[35] = 0xff;
    ok(lg_idem_record_decode(buf, n, &rec) != 0,
       "a headers length past the end is not a record");

    n = lg_idem_done_encode(buf, 0, fp, 42, NULL, 0, NULL, 0);
    ok(lg_idem_record_decode(buf, n, &rec) != 0,
       "nor is a status that is no HTTP status");

    buf[0] = 'Z';
    ok(lg_idem_record_decode(buf, n, &rec) != 0, "nor an unknown type");
    ok(lg_idem_record_decode(buf, 0, &rec) != 0, "nor nothing");
}


/*
 * One request's elements from the flat reply.  The rates: 10/s burst 5
 * (T = 100,000 us, tau = 500,000 us) and 1/s burst 0 (T = 1 s, tau 0).
 */

static void
test_limit_reply(void)
{
    redisReply              *r;
    lg_rate_t                fast, slow;
    lg_rate_result_t         res[2];
    const lg_rate_t         *rates[2];
    lg_redis_limit_reply_t   out;

    ok(lg_rate_parse("10/s", 4, 5, &fast) == 0
       && lg_rate_parse("1/s", 3, 0, &slow) == 0, "two rates");
    rates[0] = &fast;
    rates[1] = &slow;

    r = resp("*2\r\n:1\r\n:100000\r\n");
    is_int(lg_redis_limit_reply(r, 0, 1, rates, 0, res, &out),
           LG_REDIS_REPLY_OK, "allowed, one limit, the first request");
    ok(out.status == LG_REDIS_ALLOWED && res[0].allowed
       && res[0].remaining == 5 && res[0].reset == 100000
       && res[0].retry_after == 0, "5 left: the burst");
    ok(out.record == NULL, "no record without a claim");
    freeReplyObject(r);

    r = resp("*2\r\n:1\r\n:600000\r\n");
    ok(lg_redis_limit_reply(r, 0, 1, rates, 0, res, &out)
       == LG_REDIS_REPLY_OK && res[0].allowed && res[0].remaining == 0
       && res[0].reset == 600000, "the last of the burst: none left");
    freeReplyObject(r);

    r = resp("*3\r\n:0\r\n:600000\r\n:-250000\r\n");
    is_int(lg_redis_limit_reply(r, 0, 2, rates, 0, res, &out),
           LG_REDIS_REPLY_OK, "refused, two limits");
    ok(out.status == LG_REDIS_REFUSED && res[0].allowed && !res[1].allowed,
       "the second limit refused");
    ok(res[1].remaining == 0 && res[1].retry_after == 250000
       && res[1].reset == 250000, "retry when it has room: tau is 0");
    freeReplyObject(r);

    r = resp("*3\r\n:0\r\n:-700000\r\n:1000000\r\n");
    ok(lg_redis_limit_reply(r, 0, 2, rates, 0, res, &out)
       == LG_REDIS_REPLY_OK && !res[0].allowed
       && res[0].retry_after == 200000 && res[0].reset == 700000,
       "the first refused: retry after its reset less tau");
    freeReplyObject(r);

    r = resp("*3\r\n:-1\r\n:2\r\n:86399000\r\n");
    ok(lg_redis_limit_reply(r, 0, 2, rates, 1, res, &out)
       == LG_REDIS_REPLY_OK
       && out.status == LG_REDIS_REVOKED && out.revoked == 2,
       "revoked by the second revocation key");
    is_int(out.revoked_ttl, 86399000, "for that many ms more");
    freeReplyObject(r);

    r = resp("*3\r\n:-1\r\n:1\r\n:-1\r\n");
    ok(lg_redis_limit_reply(r, 0, 1, rates, 0, res, &out)
       == LG_REDIS_REPLY_OK
       && out.revoked == 1 && out.revoked_ttl == -1,
       "a suspension without expiry");
    freeReplyObject(r);

    r = resp("*3\r\n:-1\r\n:1\r\n:-2\r\n");
    ok(lg_redis_limit_reply(r, 0, 1, rates, 0, res, &out)
       == LG_REDIS_REPLY_OK && out.revoked_ttl == 1,
       "one that expired meanwhile: a moment");
    freeReplyObject(r);

    r = resp("*2\r\n:-1\r\n:2\r\n");
    is_int(lg_redis_limit_reply(r, 0, 2, rates, 1, res, &out),
           LG_REDIS_REPLY_UNEXPECTED, "a revocation without its lifetime");
    freeReplyObject(r);

    r = resp("*3\r\n:-1\r\n:1\r\n$2\r\n10\r\n");
    is_int(lg_redis_limit_reply(r, 0, 1, rates, 0, res, &out),
           LG_REDIS_REPLY_UNEXPECTED, "a lifetime that is no number");
    freeReplyObject(r);

    r = resp("*3\r\n:-1\r\n:0\r\n:-1\r\n");
    is_int(lg_redis_limit_reply(r, 0, 1, rates, 0, res, &out),
           LG_REDIS_REPLY_UNEXPECTED, "revocation key 0 does not exist");
    freeReplyObject(r);

    r = resp("*3\r\n:1\r\n:300000\r\n$4\r\nLrec\r\n");
    ok(lg_redis_limit_reply(r, 0, 1, rates, 1, res, &out)
       == LG_REDIS_REPLY_OK
       && out.record_len == 4 && memcmp(out.record, "Lrec", 4) == 0,
       "a claim that found someone's record");
    freeReplyObject(r);

    r = resp("*3\r\n:1\r\n:300000\r\n:0\r\n");
    ok(lg_redis_limit_reply(r, 0, 1, rates, 1, res, &out)
       == LG_REDIS_REPLY_OK && out.record == NULL,
       "a claim taken: 0");
    freeReplyObject(r);

    r = resp("*3\r\n:1\r\n:300000\r\n:1\r\n");
    is_int(lg_redis_limit_reply(r, 0, 1, rates, 1, res, &out),
           LG_REDIS_REPLY_UNEXPECTED, "a claim's number that is not 0");
    freeReplyObject(r);

    r = resp("*2\r\n:1\r\n:300000\r\n");
    is_int(lg_redis_limit_reply(r, 0, 1, rates, 1, res, &out),
           LG_REDIS_REPLY_UNEXPECTED, "a claim without its answer");
    freeReplyObject(r);

    r = resp("*1\r\n:1\r\n");
    is_int(lg_redis_limit_reply(r, 0, 1, rates, 0, res, &out),
           LG_REDIS_REPLY_UNEXPECTED, "too few elements");
    freeReplyObject(r);

    r = resp("*2\r\n:1\r\n$6\r\n100000\r\n");
    is_int(lg_redis_limit_reply(r, 0, 1, rates, 0, res, &out),
           LG_REDIS_REPLY_UNEXPECTED, "a string where a number goes");
    freeReplyObject(r);

    /* numbers GCRA cannot return: the reply is not ours */

    r = resp("*2\r\n:1\r\n:0\r\n");
    is_int(lg_redis_limit_reply(r, 0, 1, rates, 0, res, &out),
           LG_REDIS_REPLY_UNEXPECTED, "a limit full again now");
    freeReplyObject(r);

    r = resp("*2\r\n:1\r\n:99999\r\n");
    is_int(lg_redis_limit_reply(r, 0, 1, rates, 0, res, &out),
           LG_REDIS_REPLY_UNEXPECTED, "allowed, yet sooner than T");
    freeReplyObject(r);

    r = resp("*2\r\n:1\r\n:600001\r\n");
    is_int(lg_redis_limit_reply(r, 0, 1, rates, 0, res, &out),
           LG_REDIS_REPLY_UNEXPECTED, "allowed beyond T + tau");
    freeReplyObject(r);

    r = resp("*2\r\n:0\r\n:-500000\r\n");
    is_int(lg_redis_limit_reply(r, 0, 1, rates, 0, res, &out),
           LG_REDIS_REPLY_UNEXPECTED, "refused within tau");
    freeReplyObject(r);

    r = resp("*2\r\n:0\r\n:-9223372036854775808\r\n");
    is_int(lg_redis_limit_reply(r, 0, 1, rates, 0, res, &out),
           LG_REDIS_REPLY_UNEXPECTED, "a number that cannot be negated");
    freeReplyObject(r);

    r = resp("*2\r\n:0\r\n:100000\r\n");
    is_int(lg_redis_limit_reply(r, 0, 1, rates, 0, res, &out),
           LG_REDIS_REPLY_UNEXPECTED, "refused, yet every limit allowed");
    freeReplyObject(r);

    r = resp("*2\r\n:1\r\n:-600000\r\n");
    is_int(lg_redis_limit_reply(r, 0, 1, rates, 0, res, &out),
           LG_REDIS_REPLY_UNEXPECTED, "allowed, yet a limit refused");
    freeReplyObject(r);

    r = resp("*1\r\n:7\r\n");
    is_int(lg_redis_limit_reply(r, 0, 0, rates, 0, res, &out),
           LG_REDIS_REPLY_UNEXPECTED, "an unknown status");
    freeReplyObject(r);

    r = resp("*2\r\n:1\r\n:100000\r\n");
    is_int(lg_redis_limit_reply(r, 2, 1, rates, 0, res, &out),
           LG_REDIS_REPLY_UNEXPECTED, "a request past the reply's end");
    freeReplyObject(r);

    r = resp("$2\r\nok\r\n");
    is_int(lg_redis_limit_reply(r, 0, 0, rates, 0, res, &out),
           LG_REDIS_REPLY_UNEXPECTED, "a string reply");
    freeReplyObject(r);
}


/* a batch: the requests' elements one after another, found by shape */

static void
test_batch_reply(void)
{
    size_t                   first[4];
    redisReply              *r;
    lg_rate_t                rate;
    lg_rate_result_t         res[2];
    const lg_rate_t         *rates[1];
    unsigned char            shapes[4];
    lg_redis_limit_reply_t   out;

    ok(lg_rate_parse("1/s", 3, 1, &rate) == 0, "1/s burst 1");
    rates[0] = &rate;

    shapes[0] = LG_REDIS_SHAPE(1, 0);
    shapes[1] = LG_REDIS_SHAPE(1, 1);
    shapes[2] = LG_REDIS_SHAPE(1, 1);
    shapes[3] = LG_REDIS_SHAPE(1, 1);

    r = resp("*10\r\n:1\r\n:1000000\r\n"
             ":1\r\n:2000000\r\n:0\r\n"
             ":0\r\n:-2000000\r\n"
             ":-1\r\n:1\r\n:-1\r\n");
    is_int(lg_redis_batch_reply(r, 4, shapes, first, &out),
           LG_REDIS_REPLY_OK, "a batch of four");
    ok(first[0] == 0 && first[1] == 2 && first[2] == 5 && first[3] == 7,
       "each request where its elements begin");
    ok(lg_redis_limit_reply(r, first[0], 1, rates, 0, res, &out)
       == LG_REDIS_REPLY_OK && out.status == LG_REDIS_ALLOWED
       && res[0].remaining == 1, "the first request allowed");
    ok(lg_redis_limit_reply(r, first[1], 1, rates, 1, res, &out)
       == LG_REDIS_REPLY_OK && out.status == LG_REDIS_ALLOWED
       && res[0].remaining == 0 && out.record == NULL,
       "the second allowed, its claim taken");
    ok(lg_redis_limit_reply(r, first[2], 1, rates, 1, res, &out)
       == LG_REDIS_REPLY_OK && out.status == LG_REDIS_REFUSED
       && res[0].retry_after == 1000000, "the third refused, no claim");
    ok(lg_redis_limit_reply(r, first[3], 1, rates, 1, res, &out)
       == LG_REDIS_REPLY_OK && out.status == LG_REDIS_REVOKED,
       "the fourth suspended");
    is_int(lg_redis_batch_reply(r, 3, shapes, first, &out),
           LG_REDIS_REPLY_UNEXPECTED, "ten elements for three requests");
    shapes[3] = LG_REDIS_SHAPE(2, 1);
    is_int(lg_redis_batch_reply(r, 4, shapes, first, &out),
           LG_REDIS_REPLY_OK, "a revoked request's length is its own");
    shapes[1] = LG_REDIS_SHAPE(1, 0);
    is_int(lg_redis_batch_reply(r, 4, shapes, first, &out),
           LG_REDIS_REPLY_UNEXPECTED, "a claim's answer nobody asked for");
    freeReplyObject(r);

    shapes[0] = LG_REDIS_SHAPE(1, 0);
    r = resp("*1\r\n:1\r\n");
    is_int(lg_redis_batch_reply(r, 1, shapes, first, &out),
           LG_REDIS_REPLY_UNEXPECTED, "a request cut short");
    freeReplyObject(r);

    r = resp("*2\r\n*1\r\n:1\r\n:1000000\r\n");
    is_int(lg_redis_batch_reply(r, 1, shapes, first, &out),
           LG_REDIS_REPLY_UNEXPECTED, "a nested status");
    freeReplyObject(r);

    r = resp("*2\r\n:5\r\n:1000000\r\n");
    is_int(lg_redis_batch_reply(r, 1, shapes, first, &out),
           LG_REDIS_REPLY_UNEXPECTED, "an unknown status");
    freeReplyObject(r);

    r = resp("-ERR Error running script\r\n");
    is_int(lg_redis_batch_reply(r, 4, shapes, first, &out),
           LG_REDIS_REPLY_ERROR, "a script error fails the whole batch");
    ok(out.error_len == 24, "with its text");
    freeReplyObject(r);

    r = resp("-NOSCRIPT No matching script.\r\n");
    ok(lg_redis_batch_reply(r, 1, shapes, first, &out) == LG_REDIS_REPLY_ERROR
       && lg_redis_noscript(out.error, out.error_len), "NOSCRIPT");
    freeReplyObject(r);

    r = resp(":1\r\n");
    is_int(lg_redis_batch_reply(r, 1, shapes, first, &out),
           LG_REDIS_REPLY_UNEXPECTED, "a number is no batch");
    freeReplyObject(r);
}


int
main(void)
{
    test_key_parse();
    test_records();
    test_limit_reply();
    test_batch_reply();

    return lg_unit_done();
}
