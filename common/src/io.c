#include "sp_common.h"

#include <errno.h>
#include <time.h>
#include <unistd.h>

int sp__write_all(int fd, const void *buf, size_t count)
{
    const char *p = buf;
    while (count > 0) {
        ssize_t n = write(fd, p, count);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        /* write(2) returns 0 only for count 0; guard anyway so we can never spin. */
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        p += n;
        count -= (size_t)n;
    }
    return 0;
}

int64_t sp__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
