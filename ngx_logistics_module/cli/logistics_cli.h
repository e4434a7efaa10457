
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LOGISTICS_CLI_H_INCLUDED_
#define _LOGISTICS_CLI_H_INCLUDED_


#include <stdio.h>


/* suspend (1) or reinstate (0) a partner in Redis; 2 means usage */
int lg_cli_suspend(int argc, char **argv, int suspend);

/* revoke one token id of a partner in Redis; 2 means usage */
int lg_cli_revoke_token(int argc, char **argv);

/* the Redis options of those commands: one node, Sentinel, Cluster, TLS */
void lg_cli_redis_usage(FILE *out);


#endif /* _LOGISTICS_CLI_H_INCLUDED_ */
