/*
 * An LD_PRELOAD shim for test_hostile_disk: fsync() of a directory fails with EIO, fsync() of
 * anything else is the real one. No file system makes a directory's fsync fail on demand, and
 * this is the one step of --fsync that comes after the rename.
 */
#include <dlfcn.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

int fsync(int fd)
{
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        errno = EIO;
        return -1;
    }
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    if (real == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return real(fd);
}
