
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_UNIT_FIXTURE_H_INCLUDED_
#define _LG_UNIT_FIXTURE_H_INCLUDED_


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* writes "text" to dir/name and returns the path (static buffer) */

static const char *
lg_fixture_write(const char *dir, const char *name, const char *text)
{
    FILE        *f;
    static char  path[4096];

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(2);
    }

    fputs(text, f);
    fclose(f);

    return path;
}


static const char *
lg_fixture_dir(void)
{
    static char  dir[] = "/tmp/lg-unit-XXXXXX";

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        exit(2);
    }

    return dir;
}


static void
lg_fixture_cleanup(const char *dir)
{
    char  cmd[4200];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);

    if (system(cmd) != 0) {
        fprintf(stderr, "cannot remove %s\n", dir);
    }
}


#endif /* _LG_UNIT_FIXTURE_H_INCLUDED_ */
