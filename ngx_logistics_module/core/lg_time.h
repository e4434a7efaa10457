
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_TIME_H_INCLUDED_
#define _LG_TIME_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/* "no such instant": a key without expiry, a version never deprecated */
#define LG_TIME_UNSET  INT64_MIN


/* RFC 3339 date-time ("2027-01-01T00:00:00Z", offsets, fractions) */
int lg_time_parse_rfc3339(const char *s, size_t len, int64_t *epoch);

/* durations like "500ms", "30s", "15m", "24h", "7d", in milliseconds */
int lg_duration_parse(const char *s, size_t len, int64_t *msec);

/* IMF-fixdate (RFC 9110): "Sun, 06 Nov 1994 08:49:37 GMT", 29 bytes + NUL */
#define LG_IMF_FIXDATE_LEN  29
size_t lg_time_format_imf(int64_t epoch, char *buf, size_t size);


#endif /* _LG_TIME_H_INCLUDED_ */
