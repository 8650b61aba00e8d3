/* Command-line options (options.c). */
#ifndef MOCK_OPTIONS_H
#define MOCK_OPTIONS_H

#include "config.h"

/* Fills cfg from argv; prints --help and exits 0, or a message and exits 2 on a bad option. */
void mock_parse_options(int argc, char **argv, mock_config *cfg);

/* Frees what option parsing allocated in cfg (the users table, the token's copy), wiped. */
void mock_options_free(mock_config *cfg);

#endif
