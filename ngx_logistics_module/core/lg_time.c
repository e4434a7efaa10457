
/*
 * Copyright (C) ngx_logistics_module authors
 */


#include <stdio.h>
#include <string.h>

#include "lg_time.h"


static int lg_time_digits(const char *s, size_t n, int *value);
static int64_t lg_days_from_civil(int64_t y, unsigned m, unsigned d);
static void lg_civil_from_days(int64_t z, int64_t *y, unsigned *m,
    unsigned *d);


static int
lg_time_digits(const char *s, size_t n, int *value)
{
    size_t  i;
    int     v;

    v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        v = v * 10 + (s[i] - '0');
    }

    *value = v;

    return 0;
}


/* Howard Hinnant's civil calendar algorithms (proleptic Gregorian) */

static int64_t
lg_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t   era;
    unsigned  yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned) (y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + (int64_t) doe - 719468;
}


static void
lg_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t   era;
    unsigned  doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned) (z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;

    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t) yoe + era * 400 + (*m <= 2);
}


int
lg_time_parse_rfc3339(const char *s, size_t len, int64_t *epoch)
{
    int      year, month, day, hour, min, sec, oh, om, leap;
    size_t   i;
    int64_t  t, offset;

    static const int  mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
                                  30, 31 };

    /* YYYY-MM-DDTHH:MM:SS */

    if (len < 20
        || lg_time_digits(s, 4, &year) != 0 || s[4] != '-'
        || lg_time_digits(s + 5, 2, &month) != 0 || s[7] != '-'
        || lg_time_digits(s + 8, 2, &day) != 0
        || (s[10] != 'T' && s[10] != 't')
        || lg_time_digits(s + 11, 2, &hour) != 0 || s[13] != ':'
        || lg_time_digits(s + 14, 2, &min) != 0 || s[16] != ':'
        || lg_time_digits(s + 17, 2, &sec) != 0)
    {
        return -1;
    }

    leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    if (year < 1970 || month < 1 || month > 12 || day < 1
        || day > mdays[month - 1] + (month == 2 && leap)
        || hour > 23 || min > 59 || sec > 59)
    {
        return -1;
    }

    i = 19;

    if (s[i] == '.') {
        i++;

        if (i >= len || s[i] < '0' || s[i] > '9') {
            return -1;
        }

        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
    }

    if (i >= len) {
        return -1;
    }

    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
        offset = 0;

    } else if ((s[i] == '+' || s[i] == '-') && i + 6 == len
               && lg_time_digits(s + i + 1, 2, &oh) == 0 && s[i + 3] == ':'
               && lg_time_digits(s + i + 4, 2, &om) == 0
               && oh <= 23 && om <= 59)
    {
        offset = (int64_t) oh * 3600 + om * 60;

        if (s[i] == '-') {
            offset = -offset;
        }

    } else {
        return -1;
    }

    t = lg_days_from_civil(year, (unsigned) month, (unsigned) day) * 86400
        + hour * 3600 + min * 60 + sec;

    *epoch = t - offset;

    return 0;
}


int
lg_duration_parse(const char *s, size_t len, int64_t *msec)
{
    size_t   i;
    int64_t  v, unit;

    v = 0;

    for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        v = v * 10 + (s[i] - '0');

        if (v > 100000000) {
            return -1;
        }
    }

    if (i == 0 || i == len) {
        return -1;
    }

    if (len - i == 2 && s[i] == 'm' && s[i + 1] == 's') {
        unit = 1;

    } else if (len - i == 1) {
        switch (s[i]) {
        case 's': unit = 1000; break;
        case 'm': unit = 60 * 1000; break;
        case 'h': unit = 3600 * 1000; break;
        case 'd': unit = 86400 * 1000; break;
        default: return -1;
        }

    } else {
        return -1;
    }

    *msec = v * unit;

    return 0;
}


size_t
lg_time_format_imf(int64_t epoch, char *buf, size_t size)
{
    int64_t    days, secs, y;
    unsigned   m, d, wday;

    static const char  *week[] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue",
                                   "Wed" };
    static const char  *months[] = { "Jan", "Feb", "Mar", "Apr", "May",
                                     "Jun", "Jul", "Aug", "Sep", "Oct",
                                     "Nov", "Dec" };

    days = epoch / 86400;
    secs = epoch % 86400;

    if (secs < 0) {
        secs += 86400;
        days--;
    }

    lg_civil_from_days(days, &y, &m, &d);

    wday = (unsigned) (((days % 7) + 7) % 7);

    return (size_t) snprintf(buf, size, "%s, %02u %s %04lld %02d:%02d:%02d GMT",
                             week[wday], d, months[m - 1], (long long) y,
                             (int) (secs / 3600), (int) (secs / 60 % 60),
                             (int) (secs % 60));
}
