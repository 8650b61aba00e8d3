/*
 * Replays fuzz inputs without libFuzzer: each argument is a file or a directory of files, and
 * each file is passed once to LLVMFuzzerTestOneInput. Builds that are not clang's (gcc, the
 * sanitizer build) use it so the committed corpus and crash regressions run in every CI build.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    /* Fuzz inputs are small (libFuzzer's default -max_len is 4096); cap at 1 MiB. */
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    /* A private copy of exactly n bytes, so ASan catches reads past the input. */
    uint8_t *copy = malloc(n > 0 ? n : 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, buf, n);
    LLVMFuzzerTestOneInput(copy, n);
    free(copy);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0) {
            perror(argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            failed |= run_file(argv[i]) < 0;
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        while (d != NULL && (e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            failed |= run_file(path) < 0;
            files++;
        }
        if (d != NULL)
            closedir(d);
    }
    printf("%d passed, %d failed\n", failed ? files - 1 : files, failed ? 1 : 0);
    return failed;
}
