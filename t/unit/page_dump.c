
/*
 * Copyright (C) ngx_logistics_module authors
 */


/*
 * Writes the status page as the module holds it (the C string generated
 * by status/embed.sh) to stdout, so a test can compare it byte for byte
 * with status/status.html.
 */

#include <stdio.h>

#include "lg_metrics.h"


int
main(void)
{
    if (fwrite(lg_metrics_page, 1, lg_metrics_page_len, stdout)
        != lg_metrics_page_len)
    {
        return 1;
    }

    return fflush(stdout) == 0 ? 0 : 1;
}
