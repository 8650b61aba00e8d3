/* Routing and the life of one request (handler.c): what main() hands to MHD. */
#ifndef MOCK_HANDLER_H
#define MOCK_HANDLER_H

#include <stddef.h>

#include <microhttpd.h>

/* The MHD access handler and completion callback; cls is the mock_server. */
enum MHD_Result mock_handle(void *cls, struct MHD_Connection *c, const char *url,
                            const char *method, const char *version, const char *upload_data,
                            size_t *upload_data_size, void **req_cls);
void mock_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                    enum MHD_RequestTerminationCode toe);

#endif
