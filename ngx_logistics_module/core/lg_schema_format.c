
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * "format" checks, used when the policy makes formats assertions.  They
 * follow the RFCs the 2020-12 specification names (RFC 3339 date-time,
 * date, time and duration, RFC 5321 mailbox, RFC 1123 host names, RFC 3986
 * URIs, RFC 4122 UUIDs) without locale, allocation or recursion.
 */


#include <arpa/inet.h>
#include <string.h>

#include "lg_schema_int.h"


typedef struct {
    const char           *name;
    lg_schema_format_pt   check;
} lg_schema_format_t;


static int lg_fmt_digits(const char *s, size_t n, int *value);
static int lg_fmt_date(const char *s, size_t len);
static int lg_fmt_time(const char *s, size_t len);
static int lg_fmt_date_time(const char *s, size_t len);
static int lg_fmt_duration(const char *s, size_t len);
static int lg_fmt_hostname(const char *s, size_t len);
static int lg_fmt_email(const char *s, size_t len);
static int lg_fmt_ipv4(const char *s, size_t len);
static int lg_fmt_ipv6(const char *s, size_t len);
static int lg_fmt_uri_chars(const char *s, size_t len);
static int lg_fmt_uri(const char *s, size_t len);
static int lg_fmt_uri_reference(const char *s, size_t len);
static int lg_fmt_uuid(const char *s, size_t len);
static int lg_fmt_json_pointer(const char *s, size_t len);
static int lg_fmt_relative_json_pointer(const char *s, size_t len);
static int lg_fmt_regex(const char *s, size_t len);


static const lg_schema_format_t  lg_schema_formats[] = {
    { "date-time", lg_fmt_date_time },
    { "date", lg_fmt_date },
    { "time", lg_fmt_time },
    { "duration", lg_fmt_duration },
    { "email", lg_fmt_email },
    { "hostname", lg_fmt_hostname },
    { "ipv4", lg_fmt_ipv4 },
    { "ipv6", lg_fmt_ipv6 },
    { "uri", lg_fmt_uri },
    { "uri-reference", lg_fmt_uri_reference },
    { "uuid", lg_fmt_uuid },
    { "json-pointer", lg_fmt_json_pointer },
    { "relative-json-pointer", lg_fmt_relative_json_pointer },
    { "regex", lg_fmt_regex },
    { NULL, NULL }
};


lg_schema_format_pt
lg_schema_format_find(const char *format)
{
    const lg_schema_format_t  *f;

    for (f = lg_schema_formats; f->name != NULL; f++) {
        if (strcmp(f->name, format) == 0) {
            return f->check;
        }
    }

    return NULL;
}


static int
lg_fmt_digits(const char *s, size_t n, int *value)
{
    size_t  i;

    *value = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }

        *value = *value * 10 + (s[i] - '0');
    }

    return 1;
}


static int
lg_fmt_date(const char *s, size_t len)
{
    int                year, month, day, max;
    static const int   days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
                                  30, 31 };

    if (len != 10 || s[4] != '-' || s[7] != '-'
        || !lg_fmt_digits(s, 4, &year)
        || !lg_fmt_digits(s + 5, 2, &month)
        || !lg_fmt_digits(s + 8, 2, &day))
    {
        return 0;
    }

    if (month < 1 || month > 12 || day < 1) {
        return 0;
    }

    max = days[month - 1];

    if (month == 2
        && (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
    {
        max = 29;
    }

    return day <= max;
}


/* RFC 3339 full-time: HH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */

static int
lg_fmt_time(const char *s, size_t len)
{
    int     hour, min, sec, oh, om, utc;
    size_t  i;

    if (len < 9 || s[2] != ':' || s[5] != ':'
        || !lg_fmt_digits(s, 2, &hour)
        || !lg_fmt_digits(s + 3, 2, &min)
        || !lg_fmt_digits(s + 6, 2, &sec))
    {
        return 0;
    }

    if (hour > 23 || min > 59 || sec > 60) {
        return 0;
    }

    i = 8;

    if (s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            /* void */
        }

        if (i == 9) {
            return 0;
        }
    }

    if (i >= len) {
        return 0;
    }

    oh = 0;
    om = 0;

    if (s[i] == 'Z' || s[i] == 'z') {
        if (i + 1 != len) {
            return 0;
        }

    } else if (s[i] == '+' || s[i] == '-') {
        if (len - i != 6 || s[i + 3] != ':'
            || !lg_fmt_digits(s + i + 1, 2, &oh)
            || !lg_fmt_digits(s + i + 4, 2, &om)
            || oh > 23 || om > 59)
        {
            return 0;
        }

        if (s[i] == '-') {
            oh = -oh;
            om = -om;
        }

    } else {
        return 0;
    }

    if (sec == 60) {
        /* a leap second exists only at 23:59:60 UTC */
        utc = ((hour * 60 + min - (oh * 60 + om)) % 1440 + 1440) % 1440;

        if (utc != 23 * 60 + 59) {
            return 0;
        }
    }

    return 1;
}


static int
lg_fmt_date_time(const char *s, size_t len)
{
    if (len < 20 || (s[10] != 'T' && s[10] != 't')) {
        return 0;
    }

    return lg_fmt_date(s, 10) && lg_fmt_time(s + 11, len - 11);
}


/* RFC 3339 appendix A: P[nY][nM][nD][T[nH][nM][nS]] or PnW */

static int
lg_fmt_duration(const char *s, size_t len)
{
    int          in_time, any, time_any, last;
    size_t       i, start;
    const char  *order, *p;

    if (len < 2 || s[0] != 'P') {
        return 0;
    }

    if (s[len - 1] == 'W') {
        for (i = 1; i < len - 1; i++) {
            if (s[i] < '0' || s[i] > '9') {
                return 0;
            }
        }

        return len > 2;
    }

    order = "YMD";
    in_time = 0;
    any = 0;
    time_any = 0;
    last = -1;

    for (i = 1; i < len; /* void */) {

        if (s[i] == 'T') {
            if (in_time) {
                return 0;
            }

            in_time = 1;
            order = "HMS";
            last = -1;
            i++;
            continue;
        }

        start = i;

        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
        }

        if (i == start || i == len) {
            return 0;
        }

        p = strchr(order, s[i]);

        if (p == NULL || (int) (p - order) <= last) {
            return 0;
        }

        last = (int) (p - order);
        any = 1;

        if (in_time) {
            time_any = 1;
        }

        i++;
    }

    return any && (!in_time || time_any);
}


static int
lg_fmt_hostname(const char *s, size_t len)
{
    size_t  i, label;
    char    c;

    if (len == 0 || len > 253) {
        return 0;
    }

    label = 0;

    for (i = 0; i < len; i++) {
        c = s[i];

        if (c == '.') {
            if (label == 0 || s[i - 1] == '-') {
                return 0;
            }

            label = 0;
            continue;
        }

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '-'))
        {
            return 0;
        }

        if (c == '-' && label == 0) {
            return 0;
        }

        if (++label > 63) {
            return 0;
        }
    }

    return label > 0 && s[len - 1] != '-';
}


static int
lg_fmt_email(const char *s, size_t len)
{
    size_t       i, at;
    char         c;
    const char  *domain;
    size_t       dlen;

    at = len;

    for (i = len; i > 0; i--) {
        if (s[i - 1] == '@') {
            at = i - 1;
            break;
        }
    }

    if (at == len || at == 0 || at > 64) {
        return 0;
    }

    /* dot-atom local part */
    if (s[0] == '.' || s[at - 1] == '.') {
        return 0;
    }

    for (i = 0; i < at; i++) {
        c = s[i];

        if (c == '.' && s[i + 1] == '.') {
            return 0;
        }

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || strchr(".!#$%&'*+/=?^_`{|}~-", c) != NULL)
            || c == '\0')
        {
            return 0;
        }
    }

    domain = s + at + 1;
    dlen = len - at - 1;

    if (dlen > 2 && domain[0] == '[' && domain[dlen - 1] == ']') {
        if (dlen > 6 && strncmp(domain + 1, "IPv6:", 5) == 0) {
            return lg_fmt_ipv6(domain + 6, dlen - 7);
        }

        return lg_fmt_ipv4(domain + 1, dlen - 2);
    }

    return lg_fmt_hostname(domain, dlen);
}


static int
lg_fmt_ipv4(const char *s, size_t len)
{
    int     parts, value;
    size_t  i, start;

    parts = 0;
    i = 0;

    for ( ;; ) {
        start = i;
        value = 0;

        while (i < len && s[i] >= '0' && s[i] <= '9') {
            value = value * 10 + (s[i] - '0');
            i++;

            if (i - start > 3) {
                return 0;
            }
        }

        if (i == start || value > 255 || (s[start] == '0' && i - start > 1))
        {
            return 0;
        }

        parts++;

        if (i == len) {
            break;
        }

        if (s[i] != '.' || parts == 4) {
            return 0;
        }

        i++;
    }

    return parts == 4;
}


static int
lg_fmt_ipv6(const char *s, size_t len)
{
    char           buf[64];
    unsigned char  addr[16];

    if (len == 0 || len >= sizeof(buf) || memchr(s, '\0', len) != NULL) {
        return 0;
    }

    memcpy(buf, s, len);
    buf[len] = '\0';

    return inet_pton(AF_INET6, buf, addr) == 1;
}


/* RFC 3986 characters, with well-formed percent-encoding */

static int
lg_fmt_uri_chars(const char *s, size_t len)
{
    size_t         i;
    unsigned char  c;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c == '%') {
            if (i + 2 >= len
                || strchr("0123456789abcdefABCDEF", s[i + 1]) == NULL
                || strchr("0123456789abcdefABCDEF", s[i + 2]) == NULL
                || s[i + 1] == '\0' || s[i + 2] == '\0')
            {
                return 0;
            }

            i += 2;
            continue;
        }

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9'))
        {
            continue;
        }

        if (c == '\0' || strchr("-._~:/?#[]@!$&'()*+,;=", c) == NULL) {
            return 0;
        }
    }

    return 1;
}


static int
lg_fmt_uri(const char *s, size_t len)
{
    size_t  i;

    if (len == 0
        || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
    {
        return 0;
    }

    for (i = 1; i < len && s[i] != ':'; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-'
              || s[i] == '.'))
        {
            return 0;
        }
    }

    if (i == len) {
        return 0;
    }

    return lg_fmt_uri_chars(s + i + 1, len - i - 1);
}


static int
lg_fmt_uri_reference(const char *s, size_t len)
{
    return lg_fmt_uri_chars(s, len);
}


static int
lg_fmt_uuid(const char *s, size_t len)
{
    size_t  i;

    if (len != 36) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return 0;
            }

        } else if (strchr("0123456789abcdefABCDEF", s[i]) == NULL
                   || s[i] == '\0')
        {
            return 0;
        }
    }

    return 1;
}


static int
lg_fmt_json_pointer(const char *s, size_t len)
{
    size_t  i;

    if (len > 0 && s[0] != '/') {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (s[i] == '~' && (i + 1 == len || (s[i + 1] != '0'
                                             && s[i + 1] != '1')))
        {
            return 0;
        }
    }

    return 1;
}


static int
lg_fmt_relative_json_pointer(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        /* void */
    }

    if (i == 0 || (s[0] == '0' && i > 1)) {
        return 0;
    }

    if (i < len && s[i] == '#') {
        return i + 1 == len;
    }

    return lg_fmt_json_pointer(s + i, len - i);
}


static int
lg_fmt_regex(const char *s, size_t len)
{
    int          rc;
    size_t       off;
    pcre2_code  *re;

    re = pcre2_compile((PCRE2_SPTR) s, len, PCRE2_UTF, &rc, &off, NULL);

    if (re == NULL) {
        return 0;
    }

    pcre2_code_free(re);

    return 1;
}
