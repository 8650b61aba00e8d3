/*
 * OpenList's fs routes on one Local storage mounted at "/" (fsapi.c): /api/fs/get, /api/fs/list,
 * /api/fs/mkdir and /api/fs/remove, each a route function of handler.c's table.
 */
#ifndef MOCK_FSAPI_H
#define MOCK_FSAPI_H

#include <stddef.h>

#include "api.h"

enum MHD_Result mock_fs_get(mock_call *call);
enum MHD_Result mock_fs_list(mock_call *call);
enum MHD_Result mock_fs_mkdir(mock_call *call);
enum MHD_Result mock_fs_remove_route(mock_call *call);

/*
 * The host path OpenList's Local driver names in its errors, filepath.Join(root, path), into out
 * (cut to outsz). Returns out.
 */
const char *mock_fs_host_path(const mock_server *srv, const char *path, char *out, size_t outsz);

#endif
