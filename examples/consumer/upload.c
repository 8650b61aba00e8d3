/*
 * upload FILE URL: puts FILE to URL (e.g. http://127.0.0.1:5244/api/fs/put) as /NAME, NAME being
 * FILE's last component, with $STREAMPUT_TOKEN as the token if set. A program that uses
 * libstreamput from its installed package, built with CMake (CMakeLists.txt) or pkg-config
 * (Makefile).
 */
#include <streamput.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: upload FILE URL\n");
        return 2;
    }
    const char *name = strrchr(argv[1], '/');
    name = name != NULL ? name + 1 : argv[1];
    char remote[4096];
    if ((size_t)snprintf(remote, sizeof remote, "/%s", name) >= sizeof remote) {
        fprintf(stderr, "upload: file name too long\n");
        return 2;
    }
    sp_client *c = sp_client_new();
    if (c == NULL) {
        fprintf(stderr, "upload: out of memory\n");
        return 1;
    }
    int status = 1;
    const char *token = getenv("STREAMPUT_TOKEN");
    /* The token comes from the environment: a command line is visible to every user (ps). */
    if (sp_set_remote_path(c, remote) != SP_OK ||
        (token != NULL && sp_set_token(c, token) != SP_OK)) {
        fprintf(stderr, "upload: %s\n", sp_errmsg(c));
        goto out;
    }
    int err = sp_put_file(c, argv[1], argv[2]);
    if (err != SP_OK) {
        fprintf(stderr, "upload: %s (%s)\n", sp_errmsg(c), sp_err_name(err));
        goto out;
    }
    printf("upload: %s stored as %s\n", argv[1], remote);
    status = 0;
out:
    sp_client_free(c);
    return status;
}
