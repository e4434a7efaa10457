
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lg_metrics.h"
#include "lg_metrics_int.h"


/*
 * The writers fill a caller's buffer and, like snprintf(), go on
 * counting when it is full, so one call both renders and measures.
 */

typedef struct {
    char                 *start;
    char                 *p;
    char                 *end;
    size_t                over;      /* bytes that did not fit */
} lg_mw_t;


/* the longest sample line is its labels plus this much */
#define LG_METRICS_LINE_EXTRA  (sizeof("_bucket{,} ") - 1 + 32 + 32)


static void lg_mw_init(lg_mw_t *w, char *buf, size_t size);
static size_t lg_mw_len(lg_mw_t *w);
static void lg_mw_slow(lg_mw_t *w, const char *s, size_t n);
static void lg_mw_u64(lg_mw_t *w, uint64_t v);
static void lg_mw_i64(lg_mw_t *w, int64_t v);
static void lg_mw_usec(lg_mw_t *w, uint64_t usec);
static void lg_mw_help(lg_mw_t *w, const char *s, lg_metrics_format_e format);
static void lg_mw_label_value(lg_mw_t *w, const char *s, size_t len);
static void lg_mw_json_string(lg_mw_t *w, const char *s, size_t len);
static void lg_metrics_family_out(lg_mw_t *w,
    const lg_metrics_layout_t *layout, const lg_metrics_scrape_t *scrape,
    lg_metric_e family, lg_metrics_format_e format);
static void lg_metrics_meta(lg_mw_t *w, const lg_metric_family_t *f,
    const char *sample, lg_metrics_format_e format);
static void lg_metrics_gauge_value(lg_mw_t *w, const lg_metric_family_t *f,
    uint64_t v);
static void lg_metrics_series_out(lg_mw_t *w, const char *name, size_t len,
    size_t ndims, const char **frag, const size_t *flen);
static size_t lg_metrics_max_frag(const lg_metrics_layout_t *layout,
    lg_metrics_dim_e dim);
static size_t lg_metrics_max_raw(const lg_metrics_layout_t *layout,
    lg_metrics_dim_e dim);
static unsigned lg_metrics_qvalue(const char *s, size_t len);
static void lg_json_enum(lg_mw_t *w, const lg_metrics_layout_t *layout,
    const uint64_t *values, lg_metric_e family, size_t i0, int nonzero);
static void lg_json_histogram(lg_mw_t *w, const lg_metric_family_t *f,
    const uint64_t *values, size_t slot);
static void lg_json_decisions(lg_mw_t *w, const uint64_t *sum);


#define lg_mw_lit(w, text)  lg_mw_put(w, text, sizeof(text) - 1)


static inline void
lg_mw_put(lg_mw_t *w, const char *s, size_t n)
{
    if ((size_t) (w->end - w->p) >= n) {
        memcpy(w->p, s, n);
        w->p += n;
        return;
    }

    lg_mw_slow(w, s, n);
}


static inline void
lg_mw_char(lg_mw_t *w, char c)
{
    if (w->p < w->end) {
        *w->p++ = c;
        return;
    }

    w->over++;
}


/* measuring only (buf NULL) writes into an empty buffer of its own */

static void
lg_mw_init(lg_mw_t *w, char *buf, size_t size)
{
    static char  none[1];

    if (buf == NULL) {
        buf = none;
        size = 0;
    }

    w->start = buf;
    w->p = buf;
    w->end = buf + size;
    w->over = 0;
}


static size_t
lg_mw_len(lg_mw_t *w)
{
    return (size_t) (w->p - w->start) + w->over;
}


static void
lg_mw_slow(lg_mw_t *w, const char *s, size_t n)
{
    size_t  room;

    room = w->end - w->p;

    if (room > n) {
        room = n;
    }

    if (room > 0) {
        memcpy(w->p, s, room);
    }

    w->p += room;
    w->over += n - room;
}


static void
lg_mw_u64(lg_mw_t *w, uint64_t v)
{
    char   buf[24], *p;

    p = buf + sizeof(buf);

    do {
        *--p = (char) ('0' + v % 10);
        v /= 10;
    } while (v != 0);

    lg_mw_put(w, p, buf + sizeof(buf) - p);
}


static void
lg_mw_i64(lg_mw_t *w, int64_t v)
{
    if (v < 0) {
        lg_mw_char(w, '-');
        lg_mw_u64(w, (uint64_t) 0 - (uint64_t) v);
        return;
    }

    lg_mw_u64(w, (uint64_t) v);
}


/* microseconds as seconds: "12", "0.0035", "1700000000.25" */

static void
lg_mw_usec(lg_mw_t *w, uint64_t usec)
{
    int       i, n;
    char      frac[7];
    uint64_t  f;

    lg_mw_u64(w, usec / 1000000);

    f = usec % 1000000;

    if (f == 0) {
        return;
    }

    for (i = 5; i >= 0; i--) {
        frac[i] = (char) ('0' + f % 10);
        f /= 10;
    }

    for (n = 6; frac[n - 1] == '0'; n--) { /* void */ }

    lg_mw_char(w, '.');
    lg_mw_put(w, frac, n);
}


/*
 * HELP text: the text format escapes backslash and line feed,
 * OpenMetrics also the double quote.
 */

static void
lg_mw_help(lg_mw_t *w, const char *s, lg_metrics_format_e format)
{
    for ( /* void */ ; *s != '\0'; s++) {
        if (*s == '\\') {
            lg_mw_lit(w, "\\\\");

        } else if (*s == '\n') {
            lg_mw_lit(w, "\\n");

        } else if (*s == '"' && format == LG_METRICS_OPENMETRICS) {
            lg_mw_lit(w, "\\\"");

        } else {
            lg_mw_char(w, *s);
        }
    }
}


static void
lg_mw_label_value(lg_mw_t *w, const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (s[i] == '\\') {
            lg_mw_lit(w, "\\\\");

        } else if (s[i] == '"') {
            lg_mw_lit(w, "\\\"");

        } else if (s[i] == '\n') {
            lg_mw_lit(w, "\\n");

        } else {
            lg_mw_char(w, s[i]);
        }
    }
}


static void
lg_mw_json_string(lg_mw_t *w, const char *s, size_t len)
{
    size_t                      i;
    unsigned char               c;
    static const char  hex[] = "0123456789abcdef";

    lg_mw_char(w, '"');

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c == '"' || c == '\\') {
            lg_mw_char(w, '\\');
            lg_mw_char(w, (char) c);

        } else if (c < 0x20) {
            lg_mw_lit(w, "\\u00");
            lg_mw_char(w, hex[c >> 4]);
            lg_mw_char(w, hex[c & 15]);

        } else {
            lg_mw_char(w, (char) c);
        }
    }

    lg_mw_char(w, '"');
}


lg_metrics_format_e
lg_metrics_negotiate(const char *accept, size_t len)
{
    int          i, best;
    size_t       n, tlen;
    unsigned     q, qs[4];
    const char  *p, *end, *range, *param, *pend, *type;

    /* q in thousandths: OpenMetrics, text, JSON, HTML */

    memset(qs, 0, sizeof(qs));

    p = accept;
    end = accept + len;

    while (p < end) {
        range = p;

        while (p < end && *p != ',') {
            p++;
        }

        /* one media range: type [; param]... */

        pend = p;
        p++;

        while (range < pend && (*range == ' ' || *range == '\t')) {
            range++;
        }

        type = range;

        while (range < pend && *range != ';' && *range != ' '
               && *range != '\t')
        {
            range++;
        }

        tlen = range - type;
        q = 1000;
        i = -1;

        if (tlen == sizeof("application/openmetrics-text") - 1
            && strncasecmp(type, "application/openmetrics-text", tlen) == 0)
        {
            i = 0;

        } else if ((tlen == 10 && strncasecmp(type, "text/plain", 10) == 0)
                   || (tlen == 6 && strncasecmp(type, "text/*", 6) == 0)
                   || (tlen == 3 && strncmp(type, "*/*", 3) == 0))
        {
            i = 1;

        } else if (tlen == 16 && strncasecmp(type, "application/json", 16) == 0)
        {
            i = 2;

        } else if (tlen == 9 && strncasecmp(type, "text/html", 9) == 0) {
            i = 3;
        }

        while (range < pend) {
            while (range < pend && (*range == ';' || *range == ' '
                                    || *range == '\t'))
            {
                range++;
            }

            param = range;

            while (range < pend && *range != ';') {
                range++;
            }

            n = range - param;

            while (n > 0 && (param[n - 1] == ' ' || param[n - 1] == '\t')) {
                n--;
            }

            if (n >= 2 && (param[0] == 'q' || param[0] == 'Q')
                && param[1] == '=')
            {
                q = lg_metrics_qvalue(param + 2, n - 2);

            } else if (i == 0 && n >= 8
                       && strncasecmp(param, "version=", 8) == 0
                       && !(n == 13 && memcmp(param + 8, "1.0.0", 5) == 0))
            {
                /* another OpenMetrics version: not what we write */
                i = -1;
            }
        }

        if (i >= 0 && q > qs[i]) {
            qs[i] = q;
        }
    }

    /* the highest q wins; a tie goes to the earlier (metrics first) */

    best = 1;

    for (i = 0; i < 4; i++) {
        if (qs[i] > qs[best] || (qs[i] == qs[best] && qs[i] > 0 && i < best))
        {
            best = i;
        }
    }

    switch (best) {
    case 0:
        return LG_METRICS_OPENMETRICS;
    case 2:
        return LG_METRICS_JSON;
    case 3:
        return LG_METRICS_HTML;
    default:
        return LG_METRICS_PROMETHEUS;
    }
}


/* "0.5", "1", "1.000" as thousandths; anything else 0 */

static unsigned
lg_metrics_qvalue(const char *s, size_t len)
{
    size_t    i;
    unsigned  q, scale;

    if (len == 0 || (s[0] != '0' && s[0] != '1')) {
        return 0;
    }

    q = (unsigned) (s[0] - '0') * 1000;

    if (len == 1) {
        return q;
    }

    if (s[1] != '.' || len > 5) {
        return 0;
    }

    scale = 100;

    for (i = 2; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }

        q += (unsigned) (s[i] - '0') * scale;
        scale /= 10;
    }

    return q > 1000 ? 0 : q;
}


size_t
lg_metrics_render(const lg_metrics_layout_t *layout,
    const lg_metrics_scrape_t *scrape, lg_metrics_format_e format,
    char *buf, size_t size)
{
    size_t   i;
    lg_mw_t  w;

    lg_mw_init(&w, buf, size);

    for (i = 0; i < LG_MF_LAST; i++) {
        lg_metrics_family_out(&w, layout, scrape, (lg_metric_e) i, format);
    }

    if (format == LG_METRICS_OPENMETRICS) {
        lg_mw_lit(&w, "# EOF\n");
    }

    return lg_mw_len(&w);
}


static void
lg_metrics_meta(lg_mw_t *w, const lg_metric_family_t *f, const char *sample,
    lg_metrics_format_e format)
{
    const char  *name, *type;

    switch (f->type) {
    case LG_METRIC_COUNTER:
        type = "counter";
        break;
    case LG_METRIC_HISTOGRAM:
        type = "histogram";
        break;
    case LG_METRIC_INFO:
        type = format == LG_METRICS_OPENMETRICS ? "info" : "gauge";
        break;
    default:
        type = "gauge";
    }

    /*
     * The text format names a family by its samples (a counter by its
     * _total series), OpenMetrics by the family name, with its unit.
     */

    name = format == LG_METRICS_OPENMETRICS ? f->name : sample;

    if (format == LG_METRICS_OPENMETRICS) {
        lg_mw_lit(w, "# TYPE ");
        lg_mw_put(w, name, strlen(name));
        lg_mw_char(w, ' ');
        lg_mw_put(w, type, strlen(type));
        lg_mw_char(w, '\n');

        if (f->unit != NULL) {
            lg_mw_lit(w, "# UNIT ");
            lg_mw_put(w, name, strlen(name));
            lg_mw_char(w, ' ');
            lg_mw_put(w, f->unit, strlen(f->unit));
            lg_mw_char(w, '\n');
        }

        lg_mw_lit(w, "# HELP ");
        lg_mw_put(w, name, strlen(name));
        lg_mw_char(w, ' ');
        lg_mw_help(w, f->help, format);
        lg_mw_char(w, '\n');

        return;
    }

    lg_mw_lit(w, "# HELP ");
    lg_mw_put(w, name, strlen(name));
    lg_mw_char(w, ' ');
    lg_mw_help(w, f->help, format);
    lg_mw_lit(w, "\n# TYPE ");
    lg_mw_put(w, name, strlen(name));
    lg_mw_char(w, ' ');
    lg_mw_put(w, type, strlen(type));
    lg_mw_char(w, '\n');
}


static void
lg_metrics_gauge_value(lg_mw_t *w, const lg_metric_family_t *f, uint64_t v)
{
    int64_t  g;

    if (f->source != LG_SOURCE_SCRAPE) {
        /* the sum of the workers' states */
        lg_mw_u64(w, v);
        return;
    }

    g = (int64_t) v;

    if (g == LG_METRICS_NAN) {
        lg_mw_lit(w, "NaN");

    } else if (f->unit != NULL && strcmp(f->unit, "seconds") == 0) {
        if (g < 0) {
            lg_mw_char(w, '-');
            lg_mw_usec(w, (uint64_t) 0 - (uint64_t) g);

        } else {
            lg_mw_usec(w, (uint64_t) g);
        }

    } else {
        lg_mw_i64(w, g);
    }
}


/*
 * One family: its metadata, then its series in layout order.  The
 * labels of a series are the ready-made texts of its dimensions' values,
 * so a line costs a few memcpy() and one number.
 */

static void
lg_metrics_family_out(lg_mw_t *w, const lg_metrics_layout_t *layout,
    const lg_metrics_scrape_t *scrape, lg_metric_e family,
    lg_metrics_format_e format)
{
    size_t                      k, b, nb, series, slot, snlen, flen[4];
    size_t                      index[LG_METRICS_MAX_DIMS], nlen;
    uint64_t                    v, cum;
    const char                 *sample, *frag[4];
    const uint64_t             *values;
    const lg_mfam_t            *mf;
    const lg_mvalue_t          *mv;
    const lg_metric_family_t   *f;
    char                        name[96];

    f = lg_metric_family(family);
    mf = &layout->families[family];
    values = scrape->values;
    sample = lg_metric_sample_name(family);
    snlen = strlen(sample);

    lg_metrics_meta(w, f, sample, format);

    if (f->type == LG_METRIC_INFO) {
        lg_mw_put(w, sample, snlen);
        lg_mw_lit(w, "{digest=\"");
        lg_mw_label_value(w, scrape->digest.data, scrape->digest.len);
        lg_mw_lit(w, "\"} 1\n");
        return;
    }

    for (k = 0; k < mf->ndims; k++) {
        index[k] = 0;
        mv = lg_metrics_value(layout, mf->dims[k], 0);
        frag[k] = lg_metrics_frag(mv);
        flen[k] = mv->frag_len;
    }

    nb = f->type == LG_METRIC_HISTOGRAM ? f->buckets->n : 0;

    /* "name_bucket{", "name_count", "name_sum", built once */

    nlen = strlen(f->name);

    if (nlen + sizeof("_bucket{") > sizeof(name)) {
        return;
    }

    memcpy(name, f->name, nlen);

    for (series = 0; series < mf->nseries; series++) {
        slot = (size_t) mf->base + series * mf->width;

        if (f->type == LG_METRIC_HISTOGRAM) {
            cum = 0;

            for (b = 0; b <= nb; b++) {
                cum += values[slot + b];
            }

            if (cum == 0 && scrape->skip_zero) {
                goto next;
            }

            memcpy(name + nlen, "_bucket{", 8);
            cum = 0;

            for (b = 0; b <= nb; b++) {
                cum += values[slot + b];

                lg_mw_put(w, name, nlen + 8);

                for (k = 0; k < mf->ndims; k++) {
                    lg_mw_put(w, frag[k], flen[k]);
                    lg_mw_char(w, ',');
                }

                lg_mw_lit(w, "le=\"");

                if (b < nb) {
                    lg_mw_put(w, f->buckets->le[b],
                              strlen(f->buckets->le[b]));

                } else {
                    lg_mw_lit(w, "+Inf");
                }

                lg_mw_lit(w, "\"} ");
                lg_mw_u64(w, cum);
                lg_mw_char(w, '\n');
            }

            memcpy(name + nlen, "_count", 6);
            lg_metrics_series_out(w, name, nlen + 6, mf->ndims, frag, flen);
            lg_mw_u64(w, cum);
            lg_mw_char(w, '\n');

            memcpy(name + nlen, "_sum", 4);
            lg_metrics_series_out(w, name, nlen + 4, mf->ndims, frag, flen);
            lg_mw_usec(w, values[slot + nb + 1]);
            lg_mw_char(w, '\n');

            goto next;
        }

        v = values[slot];

        if (v == 0 && scrape->skip_zero && f->type == LG_METRIC_COUNTER) {
            goto next;
        }

        lg_metrics_series_out(w, sample, snlen, mf->ndims, frag, flen);

        if (f->type == LG_METRIC_COUNTER) {
            lg_mw_u64(w, v);

        } else {
            lg_metrics_gauge_value(w, f, v);
        }

        lg_mw_char(w, '\n');

    next:

        /* the next series: the last dimension turns fastest */

        for (k = mf->ndims; k-- > 0; /* void */) {
            if (++index[k] < layout->dims[mf->dims[k]].n) {
                mv = lg_metrics_value(layout, mf->dims[k], index[k]);
                frag[k] = lg_metrics_frag(mv);
                flen[k] = mv->frag_len;
                break;
            }

            index[k] = 0;
            mv = lg_metrics_value(layout, mf->dims[k], 0);
            frag[k] = lg_metrics_frag(mv);
            flen[k] = mv->frag_len;
        }
    }
}


/* "name{labels} " of one sample */

static void
lg_metrics_series_out(lg_mw_t *w, const char *name, size_t len, size_t ndims,
    const char **frag, const size_t *flen)
{
    size_t  k;

    lg_mw_put(w, name, len);

    if (ndims > 0) {
        lg_mw_char(w, '{');

        for (k = 0; k < ndims; k++) {
            if (k > 0) {
                lg_mw_char(w, ',');
            }

            lg_mw_put(w, frag[k], flen[k]);
        }

        lg_mw_char(w, '}');
    }

    lg_mw_char(w, ' ');
}


static size_t
lg_metrics_max_frag(const lg_metrics_layout_t *layout, lg_metrics_dim_e dim)
{
    size_t  i, max;

    max = 0;

    for (i = 0; i < layout->dims[dim].n; i++) {
        if (lg_metrics_value(layout, dim, i)->frag_len > max) {
            max = lg_metrics_value(layout, dim, i)->frag_len;
        }
    }

    return max;
}


static size_t
lg_metrics_max_raw(const lg_metrics_layout_t *layout, lg_metrics_dim_e dim)
{
    size_t              i, max;
    const lg_mvalue_t  *v;

    max = 0;

    for (i = 0; i < layout->dims[dim].n; i++) {
        v = lg_metrics_value(layout, dim, i);

        if (v->raw_len[0] + v->raw_len[1] + 1 > max) {
            max = v->raw_len[0] + v->raw_len[1] + 1;
        }
    }

    return max;
}


size_t
lg_metrics_render_bound(const lg_metrics_layout_t *layout,
    lg_metrics_format_e format, size_t digest_len)
{
    size_t                      i, k, total, line, lines, nb;
    size_t                      maxfrag[LG_DIM_LAST];
    const lg_mfam_t            *mf;
    const lg_metric_family_t   *f;

    for (i = 0; i < LG_DIM_LAST; i++) {
        maxfrag[i] = lg_metrics_max_frag(layout, (lg_metrics_dim_e) i);
    }

    total = sizeof("# EOF\n");

    for (i = 0; i < LG_MF_LAST; i++) {
        f = lg_metric_family((lg_metric_e) i);
        mf = &layout->families[i];

        /* TYPE, UNIT, HELP: names twice at most, help escaped */
        total += 3 * (sizeof("# HELP ") + strlen(f->name) + 8 + 12)
                 + 2 * strlen(f->help) + 2;

        if (f->type == LG_METRIC_INFO) {
            total += strlen(f->name) + sizeof("_info{digest=\"\"} 1\n")
                     + 2 * digest_len;
            continue;
        }

        line = strlen(f->name) + LG_METRICS_LINE_EXTRA;

        for (k = 0; k < mf->ndims; k++) {
            line += maxfrag[mf->dims[k]] + 1;
        }

        nb = f->type == LG_METRIC_HISTOGRAM ? f->buckets->n : 0;
        lines = f->type == LG_METRIC_HISTOGRAM ? nb + 3 : 1;

        total += (size_t) mf->nseries * lines * line;
    }

    (void) format;

    return total;
}


/* the JSON view */

/*
 * {"word": n, ...} over the values of a family's last dimension, the
 * others fixed by the series of index i0 (family of one or two
 * dimensions); nonzero: leave out the zeros.
 */

static void
lg_json_enum(lg_mw_t *w, const lg_metrics_layout_t *layout,
    const uint64_t *values, lg_metric_e family, size_t i0, int nonzero)
{
    size_t              i, n, slot, sep;
    lg_metrics_dim_e    dim;
    const lg_mfam_t    *mf;
    const lg_mvalue_t  *v;

    mf = &layout->families[family];
    dim = (lg_metrics_dim_e) mf->dims[mf->ndims - 1];
    n = layout->dims[dim].n;

    lg_mw_char(w, '{');
    sep = 0;

    for (i = 0; i < n; i++) {
        slot = (size_t) mf->base + (i0 * n + i) * mf->width;

        if (nonzero && values[slot] == 0) {
            continue;
        }

        if (sep++) {
            lg_mw_char(w, ',');
        }

        v = lg_metrics_value(layout, dim, i);
        lg_mw_json_string(w, lg_metrics_raw(v, 0), v->raw_len[0]);
        lg_mw_char(w, ':');
        lg_mw_u64(w, values[slot]);
    }

    lg_mw_char(w, '}');
}


/* "counts": per bucket, not cumulative, +Inf last; "sum": seconds */

static void
lg_json_histogram(lg_mw_t *w, const lg_metric_family_t *f,
    const uint64_t *values, size_t slot)
{
    size_t  b;

    lg_mw_lit(w, "{\"counts\":[");

    for (b = 0; b <= f->buckets->n; b++) {
        if (b > 0) {
            lg_mw_char(w, ',');
        }

        lg_mw_u64(w, values[slot + b]);
    }

    lg_mw_lit(w, "],\"sum\":");
    lg_mw_usec(w, values[slot + f->buckets->n + 1]);
    lg_mw_char(w, '}');
}


static void
lg_json_decisions(lg_mw_t *w, const uint64_t *sum)
{
    size_t                     i, sep;
    const lg_decision_word_t  *d;

    lg_mw_char(w, '{');
    sep = 0;

    for (i = 0; i < LG_DECISION_LAST; i++) {
        if (sum[i] == 0) {
            continue;
        }

        if (sep++) {
            lg_mw_char(w, ',');
        }

        d = lg_decision((lg_decision_e) i);
        lg_mw_json_string(w, d->word.data, d->word.len);
        lg_mw_char(w, ':');
        lg_mw_u64(w, sum[i]);
    }

    lg_mw_char(w, '}');
}


static void
lg_json_buckets(lg_mw_t *w, const lg_metric_buckets_t *buckets)
{
    size_t  b;

    lg_mw_char(w, '[');

    for (b = 0; b < buckets->n; b++) {
        if (b > 0) {
            lg_mw_char(w, ',');
        }

        lg_mw_usec(w, buckets->bound[b]);
    }

    lg_mw_char(w, ']');
}


static void
lg_json_gauge(lg_mw_t *w, const lg_metric_family_t *f, uint64_t v)
{
    if ((int64_t) v == LG_METRICS_NAN) {
        lg_mw_lit(w, "null");
        return;
    }

    lg_metrics_gauge_value(w, f, v);
}


/*
 * What a partner's and a route's entries share: requests by decision and
 * Odoo's answers by status class, summed over the other dimension
 */

static void
lg_json_row(lg_mw_t *w, const lg_metrics_layout_t *layout,
    const uint64_t *values, size_t row, int by_partner)
{
    size_t              j, c, n;
    uint64_t            sum[LG_DECISION_LAST], total;
    uint64_t            classes[LG_STATUS_LAST];
    const lg_mvalue_t  *v;

    total = 0;

    for (j = 0; j < LG_DECISION_LAST; j++) {
        sum[j] = values[lg_metrics_slot2(layout,
                                         by_partner ? LG_MF_PARTNER_REQUESTS
                                                    : LG_MF_REQUESTS,
                                         row, j)];
        total += sum[j];
    }

    memset(classes, 0, sizeof(classes));

    n = layout->dims[by_partner ? LG_DIM_ROUTE : LG_DIM_PARTNER].n;

    for (j = 0; j < n; j++) {
        for (c = 0; c < LG_STATUS_LAST; c++) {
            classes[c] += values[by_partner
                                 ? lg_metrics_slot3(layout,
                                                    LG_MF_UPSTREAM_RESPONSES,
                                                    row, j, c)
                                 : lg_metrics_slot3(layout,
                                                    LG_MF_UPSTREAM_RESPONSES,
                                                    j, row, c)];
        }
    }

    lg_mw_lit(w, ",\"requests\":");
    lg_mw_u64(w, total);
    lg_mw_lit(w, ",\"decisions\":");
    lg_json_decisions(w, sum);

    lg_mw_lit(w, ",\"upstream\":{");

    for (c = 0; c < LG_STATUS_LAST; c++) {
        if (c > 0) {
            lg_mw_char(w, ',');
        }

        v = lg_metrics_value(layout, LG_DIM_STATUS_CLASS, c);
        lg_mw_json_string(w, lg_metrics_raw(v, 0), v->raw_len[0]);
        lg_mw_char(w, ':');
        lg_mw_u64(w, classes[c]);
    }
}


/* the status page's partners */

static void
lg_json_partners(lg_mw_t *w, const lg_metrics_layout_t *layout,
    const uint64_t *values)
{
    size_t              i, j, c;
    uint64_t            total;
    const lg_mvalue_t  *v;

    for (i = 0; i < layout->dims[LG_DIM_PARTNER].n; i++) {
        if (i > 0) {
            lg_mw_char(w, ',');
        }

        v = lg_metrics_value(layout, LG_DIM_PARTNER, i);

        lg_mw_lit(w, "{\"id\":");
        lg_mw_json_string(w, lg_metrics_raw(v, 0), v->raw_len[0]);
        lg_json_row(w, layout, values, i, 1);

        lg_mw_lit(w, "},\"duration\":");
        lg_json_histogram(w, lg_metric_family(LG_MF_PARTNER_REQUEST_DURATION),
                          values,
                          lg_metrics_slot1(layout,
                                           LG_MF_PARTNER_REQUEST_DURATION,
                                           i));

        lg_mw_lit(w, ",\"rate_limited\":");
        total = 0;

        for (j = 0; j < LG_LIMIT_LAST; j++) {
            for (c = 0; c < LG_BACKEND_LAST; c++) {
                total += values[lg_metrics_slot4(layout,
                                                 LG_MF_RATE_LIMIT_DECISIONS,
                                                 i, j, c, LG_RATE_LIMITED)];
            }
        }

        lg_mw_u64(w, total);

        lg_mw_lit(w, ",\"idempotency\":");
        lg_json_enum(w, layout, values, LG_MF_IDEMPOTENCY_REQUESTS, i, 1);
        lg_mw_char(w, '}');
    }
}


/* the status page's routes */

static void
lg_json_routes(lg_mw_t *w, const lg_metrics_layout_t *layout,
    const uint64_t *values)
{
    size_t              i;
    const lg_mvalue_t  *v;

    for (i = 0; i < layout->dims[LG_DIM_ROUTE].n; i++) {
        if (i > 0) {
            lg_mw_char(w, ',');
        }

        v = lg_metrics_value(layout, LG_DIM_ROUTE, i);

        lg_mw_lit(w, "{\"route\":");
        lg_mw_json_string(w, lg_metrics_raw(v, 0), v->raw_len[0]);
        lg_mw_lit(w, ",\"version\":");
        lg_mw_json_string(w, lg_metrics_raw(v, 1), v->raw_len[1]);
        lg_json_row(w, layout, values, i, 0);

        lg_mw_lit(w, "},\"duration\":");
        lg_json_histogram(w, lg_metric_family(LG_MF_REQUEST_DURATION),
                          values,
                          lg_metrics_slot1(layout, LG_MF_REQUEST_DURATION, i));
        lg_mw_lit(w, ",\"upstream_duration\":");
        lg_json_histogram(w, lg_metric_family(LG_MF_UPSTREAM_DURATION),
                          values,
                          lg_metrics_slot1(layout, LG_MF_UPSTREAM_DURATION,
                                           i));
        lg_mw_lit(w, ",\"schema_failures\":");
        lg_mw_u64(w, values[lg_metrics_slot1(layout, LG_MF_SCHEMA_FAILURES,
                                              i)]);
        lg_mw_char(w, '}');
    }
}


size_t
lg_metrics_json(const lg_metrics_layout_t *layout,
    const lg_metrics_scrape_t *scrape, char *buf, size_t size)
{
    size_t                      i, j, nd, np, slot, sep;
    uint64_t                    total;
    lg_mw_t                     w;
    const uint64_t             *values;
    const lg_mvalue_t          *v;
    const lg_metric_family_t   *f;
    const lg_decision_word_t   *d;

    lg_mw_init(&w, buf, size);

    values = scrape->values;
    nd = LG_DECISION_LAST;
    np = layout->dims[LG_DIM_PARTNER].n;

    lg_mw_lit(&w, "{\"time\":");
    lg_mw_usec(&w, scrape->now > 0 ? (uint64_t) scrape->now * 1000 : 0);

    lg_mw_lit(&w, ",\"policy\":{\"digest\":");
    lg_mw_json_string(&w, scrape->digest.data, scrape->digest.len);
    lg_mw_lit(&w, ",\"loaded\":");
    lg_json_gauge(&w, lg_metric_family(LG_MF_POLICY_LOADED),
                  values[lg_metrics_slot0(layout, LG_MF_POLICY_LOADED)]);
    lg_mw_lit(&w, ",\"reloads\":");
    lg_mw_u64(&w, values[lg_metrics_slot0(layout, LG_MF_POLICY_RELOADS)]);

    lg_mw_lit(&w, "},\"per_partner\":");

    if (layout->flags & LG_METRICS_PER_PARTNER) {
        lg_mw_lit(&w, "true");

    } else {
        lg_mw_lit(&w, "false");
    }

    /* what each word answers, so the page can tell refusals */

    lg_mw_lit(&w, ",\"decisions\":{");

    for (i = 0; i < nd; i++) {
        d = lg_decision((lg_decision_e) i);

        if (i > 0) {
            lg_mw_char(&w, ',');
        }

        lg_mw_json_string(&w, d->word.data, d->word.len);
        lg_mw_char(&w, ':');
        lg_mw_u64(&w, (uint64_t) d->status);
    }

    lg_mw_lit(&w, "},\"buckets\":");
    lg_json_buckets(&w, lg_metric_family(LG_MF_REQUEST_DURATION)->buckets);

    lg_mw_lit(&w, ",\"partners\":[");
    lg_json_partners(&w, layout, values);

    lg_mw_lit(&w, "],\"routes\":[");
    lg_json_routes(&w, layout, values);

    /* authentication */

    lg_mw_lit(&w, "],\"authentications\":{");

    for (i = 0; i < LG_AUTH_METHOD_LAST; i++) {
        if (i > 0) {
            lg_mw_char(&w, ',');
        }

        v = lg_metrics_value(layout, LG_DIM_AUTH_METHOD, i);
        lg_mw_json_string(&w, lg_metrics_raw(v, 0), v->raw_len[0]);
        lg_mw_char(&w, ':');
        lg_json_enum(&w, layout, values, LG_MF_AUTHENTICATIONS, i, 0);
    }

    /* Redis */

    lg_mw_lit(&w, "},\"redis\":{\"configured\":");

    if (scrape->redis) {
        lg_mw_lit(&w, "true");

    } else {
        lg_mw_lit(&w, "false");
    }

    lg_mw_lit(&w, ",\"connections\":");
    lg_json_enum(&w, layout, values, LG_MF_REDIS_CONNECTIONS, 0, 0);
    lg_mw_lit(&w, ",\"commands\":");
    lg_json_enum(&w, layout, values, LG_MF_REDIS_COMMANDS, 0, 0);
    lg_mw_lit(&w, ",\"errors\":");
    lg_json_enum(&w, layout, values, LG_MF_REDIS_ERRORS, 0, 0);
    lg_mw_lit(&w, ",\"timeouts\":");
    lg_mw_u64(&w, values[lg_metrics_slot0(layout, LG_MF_REDIS_TIMEOUTS)]);
    lg_mw_lit(&w, ",\"reconnects\":");
    lg_mw_u64(&w, values[lg_metrics_slot0(layout, LG_MF_REDIS_RECONNECTS)]);
    lg_mw_lit(&w, ",\"fallbacks\":");
    lg_json_enum(&w, layout, values, LG_MF_REDIS_FALLBACKS, 0, 0);
    lg_mw_lit(&w, ",\"round_trip\":");
    f = lg_metric_family(LG_MF_REDIS_ROUND_TRIP);
    lg_json_histogram(&w, f, values,
                      lg_metrics_slot0(layout, LG_MF_REDIS_ROUND_TRIP));
    lg_mw_lit(&w, ",\"round_trip_buckets\":");
    lg_json_buckets(&w, f->buckets);

    /* key sets: the issuers of the policy ("-" is not one) */

    lg_mw_lit(&w, "},\"jwks\":[");
    sep = 0;

    for (i = 1; i < layout->dims[LG_DIM_ISSUER].n; i++) {
        if (sep++) {
            lg_mw_char(&w, ',');
        }

        v = lg_metrics_value(layout, LG_DIM_ISSUER, i);

        lg_mw_lit(&w, "{\"issuer\":");
        lg_mw_json_string(&w, lg_metrics_raw(v, 0), v->raw_len[0]);
        lg_mw_lit(&w, ",\"key_set_age\":");
        slot = lg_metrics_slot1(layout, LG_MF_JWKS_KEY_SET_AGE, i);
        lg_json_gauge(&w, lg_metric_family(LG_MF_JWKS_KEY_SET_AGE),
                      values[slot]);
        lg_mw_lit(&w, ",\"fetches\":");
        lg_json_enum(&w, layout, values, LG_MF_JWKS_FETCHES, i, 0);
        lg_mw_lit(&w, ",\"kid_misses\":");
        lg_mw_u64(&w, values[lg_metrics_slot1(layout, LG_MF_JWKS_KID_MISSES,
                                              i)]);
        lg_mw_lit(&w, ",\"token_cache\":");
        lg_json_enum(&w, layout, values, LG_MF_TOKEN_CACHE_LOOKUPS, i, 0);
        lg_mw_char(&w, '}');
    }

    /* idempotency, the zone */

    lg_mw_lit(&w, "],\"idempotency\":{\"stored_bytes\":");
    lg_mw_u64(&w, values[lg_metrics_slot0(layout,
                                          LG_MF_IDEMPOTENCY_STORED_BYTES)]);

    for (j = 0; j < LG_IDEM_OUTCOME_LAST; j++) {
        total = 0;

        for (i = 0; i < np; i++) {
            total += values[lg_metrics_slot2(layout,
                                             LG_MF_IDEMPOTENCY_REQUESTS,
                                             i, j)];
        }

        lg_mw_char(&w, ',');
        v = lg_metrics_value(layout, LG_DIM_IDEM_OUTCOME, j);
        lg_mw_json_string(&w, lg_metrics_raw(v, 0), v->raw_len[0]);
        lg_mw_char(&w, ':');
        lg_mw_u64(&w, total);
    }

    f = lg_metric_family(LG_MF_ZONE_BYTES);

    lg_mw_lit(&w, "},\"zone\":{\"used\":");
    lg_json_gauge(&w, f, values[lg_metrics_slot1(layout, LG_MF_ZONE_BYTES,
                                                 LG_ZONE_USED)]);
    lg_mw_lit(&w, ",\"free\":");
    lg_json_gauge(&w, f, values[lg_metrics_slot1(layout, LG_MF_ZONE_BYTES,
                                                 LG_ZONE_FREE)]);
    lg_mw_lit(&w, ",\"evictions\":");
    lg_json_enum(&w, layout, values, LG_MF_ZONE_EVICTIONS, 0, 0);
    lg_mw_lit(&w, "}}\n");

    return lg_mw_len(&w);
}


size_t
lg_metrics_json_bound(const lg_metrics_layout_t *layout, size_t digest_len)
{
    size_t  i, word, per_decision, partner, route, issuer, total;

    /* a number is at most 20 digits, 27 characters as seconds */

    word = 0;

    for (i = 0; i < LG_DECISION_LAST; i++) {
        if (lg_decision((lg_decision_e) i)->word.len > word) {
            word = lg_decision((lg_decision_e) i)->word.len;
        }
    }

    per_decision = 6 * word + 3 + 20;

    partner = 6 * lg_metrics_max_raw(layout, LG_DIM_PARTNER) + 256
              + LG_DECISION_LAST * per_decision
              + LG_STATUS_LAST * 32 + 16 * 28
              + LG_IDEM_OUTCOME_LAST * 40;

    route = 6 * lg_metrics_max_raw(layout, LG_DIM_ROUTE) + 256
            + LG_DECISION_LAST * per_decision
            + LG_STATUS_LAST * 32 + 2 * 16 * 28;

    issuer = 6 * lg_metrics_max_raw(layout, LG_DIM_ISSUER) + 512;

    total = 4096 + 6 * digest_len + LG_DECISION_LAST * per_decision
            + layout->dims[LG_DIM_PARTNER].n * partner
            + layout->dims[LG_DIM_ROUTE].n * route
            + layout->dims[LG_DIM_ISSUER].n * issuer;

    return total;
}
