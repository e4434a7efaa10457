
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * libFuzzer target: what comes back from Redis is input too.  The first
 * byte picks the number of requests in the batch (1 to 8), their number
 * of limits and whether each sent a claim; the rest is RESP, read by
 * hiredis's reader and decoded as the limit script's reply.  The same bytes are also decoded as an idempotency record (what
 * a GET of the key returns), and its header lines walked.  Every pointer
 * handed back must point inside the input.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "lg_idem.h"
#include "lg_redis_script.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static int lg_fuzz_huge_array(const uint8_t *data, size_t size);


static void
lg_fuzz_record(const uint8_t *data, size_t size)
{
    size_t            nlen, vlen;
    const char       *pos, *end, *name, *value;
    lg_idem_record_t  rec;

    if (lg_idem_record_decode(data, size, &rec) != 0) {
        return;
    }

    if (rec.type == LG_IDEM_LOCK) {
        return;
    }

    if (rec.headers < (const char *) data
        || rec.body + rec.body_len > (const char *) data + size)
    {
        abort();
    }

    pos = rec.headers;
    end = rec.headers + rec.headers_len;

    while (lg_idem_header_next(&pos, end, &name, &nlen, &value, &vlen)) {
        if (value + vlen > end || name + nlen > value || pos > end) {
            abort();
        }
    }
}


/*
 * "*4000000000" makes hiredis 0.14 allocate the element array before any
 * element arrives: libFuzzer's out-of-memory, not a finding (the limit
 * script's replies have a few elements).  Such inputs are skipped.  Any
 * '*' counts, not only one at a line's start: hiredis skips the two
 * bytes after a bulk string without looking at them, so "$1\r\nx\r?*9..."
 * starts an array after a '?'.
 */

static int
lg_fuzz_huge_array(const uint8_t *data, size_t size)
{
    size_t    i, n;

    for (i = 0; i < size; i++) {
        if (data[i] != '*') {
            continue;
        }

        for (n = 0, i++; i < size && data[i] >= '0' && data[i] <= '9'; i++) {
            n = n * 10 + (data[i] - '0');

            if (n > 1024) {
                return 1;
            }
        }
    }

    return 0;
}


/* a decoded request's record must lie inside the reply it came from */

static void
lg_fuzz_limit(const redisReply *r, size_t first, size_t nlimits, int claim)
{
    lg_rate_result_t         results[2];
    lg_redis_limit_reply_t   out;

    static int               parsed;
    static lg_rate_t         fast, slow;
    static const lg_rate_t  *rates[2] = { &fast, &slow };

    if (!parsed) {
        if (lg_rate_parse("10/s", 4, 5, &fast) != 0
            || lg_rate_parse("1/h", 3, 0, &slow) != 0)
        {
            abort();
        }

        parsed = 1;
    }

    if (lg_redis_limit_reply(r, first, nlimits, rates, claim, results, &out)
        == LG_REDIS_REPLY_OK
        && out.record != NULL && out.record_len > (size_t) 1 << 30)
    {
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                      claim;
    void                    *reply;
    size_t                   i, n, nlimits;
    size_t                   first[8];
    redisReply              *r;
    redisReader             *reader;
    unsigned char            shapes[8];
    lg_redis_limit_reply_t   out;

    if (size < 1) {
        return 0;
    }

    lg_fuzz_record(data + 1, size - 1);

    if (lg_fuzz_huge_array(data + 1, size - 1)) {
        return 0;
    }

    nlimits = data[0] % 3;
    claim = (data[0] >> 2) & 1;
    n = 1 + (data[0] >> 5);

    for (i = 0; i < n; i++) {
        /* the odd requests of a batch without limits or claim */
        shapes[i] = (i & 1) ? LG_REDIS_SHAPE(0, 0)
                            : LG_REDIS_SHAPE(nlimits, claim);
    }

    reader = redisReaderCreate();
    if (reader == NULL) {
        return 0;
    }

    redisReaderFeed(reader, (const char *) data + 1, size - 1);

    reply = NULL;

    while (redisReaderGetReply(reader, &reply) == REDIS_OK && reply != NULL) {
        r = reply;

        lg_fuzz_limit(r, 0, nlimits, claim);

        if (lg_redis_batch_reply(r, n, shapes, first, &out)
            == LG_REDIS_REPLY_OK)
        {
            for (i = 0; i < n; i++) {
                if (first[i] >= r->elements) {
                    abort();
                }

                lg_fuzz_limit(r, first[i], LG_REDIS_SHAPE_LIMITS(shapes[i]),
                              (int) LG_REDIS_SHAPE_CLAIM(shapes[i]));
            }
        }

        freeReplyObject(reply);
        reply = NULL;
    }

    redisReaderFree(reader);

    return 0;
}
