
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * W3C Trace Context (lg_trace): which traceparent values are continued
 * and which restart the trace, what is read from them, and what the
 * gateway writes.
 */

#include "unit.h"

#include "lg_trace.h"


#define TRACE   "4bf92f3577b34da6a3ce929d0e0e4736"
#define PARENT  "00f067aa0ba902b7"


static int
parse(const char *s, lg_traceparent_t *tp)
{
    return lg_traceparent_parse(s, strlen(s), tp);
}


static void
test_valid(void)
{
    lg_traceparent_t  tp;

    ok(parse("00-" TRACE "-" PARENT "-01", &tp) == 0, "the spec's example");
    ok(memcmp(tp.trace_id, TRACE, 32) == 0, "its trace id");
    ok(memcmp(tp.parent_id, PARENT, 16) == 0, "its parent id");
    is_int(tp.flags, 1, "sampled");

    ok(parse("00-" TRACE "-" PARENT "-03", &tp) == 0 && tp.flags == 3,
       "sampled and random");
    ok(parse("00-" TRACE "-" PARENT "-00", &tp) == 0 && tp.flags == 0,
       "not sampled");
    ok(parse("00-" TRACE "-" PARENT "-ff", &tp) == 0 && tp.flags == 0xff,
       "unknown flags are read (and dropped when written)");

    /* a later version: the 00 fields, then the end or a dash */

    ok(parse("01-" TRACE "-" PARENT "-01", &tp) == 0,
         "version 01 of 55 characters");
    ok(parse("cc-" TRACE "-" PARENT "-01-what-comes-later", &tp) == 0
       && memcmp(tp.trace_id, TRACE, 32) == 0 && tp.flags == 1,
       "version cc with more fields: read as 00");
}


static void
test_invalid(void)
{
    size_t             i;
    lg_traceparent_t   tp;

    static const char  *bad[] = {
        "",
        "00",
        "ff-" TRACE "-" PARENT "-01",                  /* version ff */
        "00-00000000000000000000000000000000-" PARENT "-01",
        "00-" TRACE "-0000000000000000-01",
        "00-" TRACE "-" PARENT "-01-",                 /* 00 is 55 long */
        "00-" TRACE "-" PARENT "-1",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-" PARENT "-01",  /* upper */
        "00-" TRACE "-00F067AA0BA902B7-01",
        "00-" TRACE "-" PARENT "-0A",
        "0g-" TRACE "-" PARENT "-01",
        "00_" TRACE "-" PARENT "-01",
        "00-" TRACE "_" PARENT "-01",
        "00-" TRACE "-" PARENT "_01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-" PARENT "0-01",
        "01-" TRACE "-" PARENT "-01x",                 /* not a dash */
        "00-" TRACE "-" PARENT "-0\x00",
        " 00-" TRACE "-" PARENT "-01",
        "00-" TRACE "-" PARENT "-01 ",
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ok(lg_traceparent_parse(bad[i], strlen(bad[i]), &tp) != 0,
           "restart on \"%s\"", bad[i]);
    }

    ok(lg_traceparent_parse("00-" TRACE "-" PARENT "-0\x00", 55, &tp) != 0,
       "a NUL in the flags");
}


static void
test_write(void)
{
    char              buf[LG_TRACEPARENT_LEN + 1];
    lg_traceparent_t  tp;

    unsigned char  zero[8] = { 0 };
    unsigned char  bytes[8] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd,
                                0xef };

    buf[LG_TRACEPARENT_LEN] = '\0';

    lg_traceparent_write(buf, TRACE, "b7ad6b7169203331", 0x03);
    is_str(buf, "00-" TRACE "-b7ad6b7169203331-03", "written");

    lg_traceparent_write(buf, TRACE, "b7ad6b7169203331", 0xff);
    is_str(buf, "00-" TRACE "-b7ad6b7169203331-03",
           "only the sampled and random flags go on");

    lg_traceparent_write(buf, TRACE, "b7ad6b7169203331", 0x00);
    is_str(buf, "00-" TRACE "-b7ad6b7169203331-00", "no flags");

    ok(parse(buf, &tp) == 0, "what is written parses");

    buf[16] = '\0';
    lg_trace_id_hex(buf, bytes, 8);
    is_str(buf, "0123456789abcdef", "ids in lowercase hex");

    lg_trace_id_hex(buf, zero, 8);
    is_str(buf, "0000000000000001", "an all-zero id is never written");
}


int
main(void)
{
    test_valid();
    test_invalid();
    test_write();

    return lg_unit_done();
}
