/*
 * GET and HEAD /d/PATH and /p/PATH (download.c): a file of the root streamed from disk, as
 * OpenList serves a Local storage's files, with its sign check, ranges and preconditions.
 */
#ifndef MOCK_DOWNLOAD_H
#define MOCK_DOWNLOAD_H

#include "api.h"

/* A route function of handler.c's table; call->url is "/d/..." or "/p/...", decoded. */
enum MHD_Result mock_download(mock_call *call);

#endif
