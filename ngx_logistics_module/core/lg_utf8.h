
/*
 * Copyright (C) ngx_logistics_module authors
 */


#ifndef _LG_UTF8_H_INCLUDED_
#define _LG_UTF8_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/*
 * Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past
 * U+10FFFF.  Returns the number of code points, or (size_t) -1 when "s" is
 * not valid UTF-8.
 */
size_t lg_utf8_length(const char *s, size_t len);


#endif /* _LG_UTF8_H_INCLUDED_ */
