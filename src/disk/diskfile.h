/*
 * diskfile: the host file under a disk image — open with the image lock,
 * whole-length positioned reads and writes, and the flush that reaches the
 * disk.
 *
 * Locking uses open file description (OFD) locks (fcntl F_OFD_SETLK, Linux
 * 3.15+): a writable open takes a write lock on the whole file, a read-only
 * open a read lock. Two VMs therefore cannot write one image, and a base disk
 * in use read-only under a differencing disk cannot be opened for writing.
 * OFD locks belong to the open file, so two opens in one process conflict
 * too, and they vanish when the process dies (a crashed VM leaves no stale
 * lock behind).
 */
#ifndef LODGE_DISK_DISKFILE_H
#define LODGE_DISK_DISKFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum diskfile_lock { DISKFILE_LOCK, DISKFILE_NO_LOCK };

struct diskfile {
	int fd;
	bool read_only;
	char *path;                     /* as given, for messages */
};

/* Open an existing file. 0 or -errno with one sentence in err. */
int diskfile_open(struct diskfile *f, const char *path, bool read_only, enum diskfile_lock lock,
		  char *err, size_t errlen);
/* Create a new file (O_EXCL: never overwrites), locked for writing. */
int diskfile_create(struct diskfile *f, const char *path, char *err, size_t errlen);
void diskfile_close(struct diskfile *f);

/* Size in bytes (block devices included). */
int diskfile_size(const struct diskfile *f, uint64_t *size);
/*
 * Whole-length transfers, retried on EINTR and short counts. Reads past the
 * end of the file return zeros. 0 or -errno.
 */
int diskfile_preadv(const struct diskfile *f, const struct iovec *iov, int iovcnt, uint64_t off);
int diskfile_pwritev(const struct diskfile *f, const struct iovec *iov, int iovcnt, uint64_t off);
int diskfile_pread(const struct diskfile *f, void *buf, size_t len, uint64_t off);
int diskfile_pwrite(const struct diskfile *f, const void *buf, size_t len, uint64_t off);
/* fdatasync: data and the metadata needed to read it back (file size). */
int diskfile_sync(const struct diskfile *f);
int diskfile_truncate(const struct diskfile *f, uint64_t size);

#endif
