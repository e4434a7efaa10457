
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_TRACE_H_INCLUDED_
#define _LG_TRACE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/*
 * W3C Trace Context (Level 2): reading a partner's traceparent and
 * writing the one the gateway sends on, with the gateway's own span as
 * the parent.
 *
 *     traceparent: 00-<trace-id: 32 hex>-<parent-id: 16 hex>-<flags: 2 hex>
 *
 * Lowercase hex only; version ff, an all-zero trace id or parent id are
 * invalid.  A version above 00 is read the way the specification asks
 * (at least 55 characters, the 00 fields in place, then the end or a
 * dash) and continued as version 00, the one the gateway writes.
 */

#define LG_TRACEPARENT_LEN   55
#define LG_TRACE_ID_LEN      32      /* hex digits */
#define LG_SPAN_ID_LEN       16

#define LG_TRACE_SAMPLED     0x01
#define LG_TRACE_RANDOM      0x02    /* the trace id is random (Level 2) */

/* the flags the gateway knows and passes on; the others become 0 */
#define LG_TRACE_KNOWN_FLAGS (LG_TRACE_SAMPLED | LG_TRACE_RANDOM)


typedef struct {
    char        trace_id[LG_TRACE_ID_LEN];
    char        parent_id[LG_SPAN_ID_LEN];
    unsigned    flags;                        /* as sent, all 8 bits */
} lg_traceparent_t;


/* 0: a valid traceparent, read into "tp"; -1: restart the trace */
int lg_traceparent_parse(const char *s, size_t len, lg_traceparent_t *tp);

/*
 * Writes "00-<trace id>-<span id>-<flags>" (LG_TRACEPARENT_LEN bytes, no
 * NUL) with only the known flags kept.
 */
void lg_traceparent_write(char *buf, const char *trace_id,
    const char *span_id, unsigned flags);

/* lowercase hex of "len" bytes; an all-zero id gets its last bit set */
void lg_trace_id_hex(char *hex, const unsigned char *random, size_t len);


#endif /* _LG_TRACE_H_INCLUDED_ */
