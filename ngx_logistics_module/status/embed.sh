#!/bin/sh

# Writes the status page (status.html) as a C file defining
# lg_metrics_page[] and lg_metrics_page_len (declared in lg_metrics.h).
# Plain sed, so it runs wherever nginx's configure runs: the addon
# "config" calls it at configure time and the Makefile when the page
# changes.  Each line becomes one string literal ending in \n;
# backslashes, double quotes and question marks (trigraphs) are escaped.
#
#   sh embed.sh status.html > lg_metrics_page.c

set -e

if [ $# -ne 1 ] || [ ! -r "$1" ]; then
    echo "usage: sh embed.sh status.html > lg_metrics_page.c" >&2
    exit 2
fi

cat << 'END'

/*
 * Generated from ngx_logistics_module/status/status.html by
 * ngx_logistics_module/status/embed.sh: edit those, not this file.
 */


#include "lg_metrics.h"


const char  lg_metrics_page[] =
END

sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' \
    -e 's/^/    "/' -e 's/$/\\n"/' "$1"

cat << 'END'
    ;

const size_t  lg_metrics_page_len = sizeof(lg_metrics_page) - 1;
END
