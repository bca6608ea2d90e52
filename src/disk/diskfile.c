/*
 * diskfile: host file access for disk images (see diskfile.h).
 *
 * preadv/pwritev move whole requests; a short transfer (a signal, a
 * filesystem that splits large writes) is continued from where it stopped,
 * so callers only ever see "all done" or an errno.
 */
#include "diskfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>


static int diskfile_lock_fd(int fd, bool write, const char *path, char *err, size_t errlen)
{
	struct flock fl = {
		.l_type = write ? F_WRLCK : F_RDLCK,
		.l_whence = SEEK_SET,
	};
	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	int e = errno;
	if (e == EAGAIN || e == EACCES) {
		snprintf(err, errlen,
			 write ? "%s: the image is in use by another program (it holds a lock on it); "
				 "close the other VM or tool first"
			       : "%s: the image is open for writing in another program; "
				 "close the other VM or tool first",
			 path);
		return -EBUSY;
	}
	if (e == EINVAL || e == ENOLCK || e == EOPNOTSUPP)
		return 0;       /* the filesystem has no locks (some network mounts) */
	snprintf(err, errlen, "%s: cannot lock the image: %s", path, strerror(e));
	return -e;
}

int diskfile_open(struct diskfile *f, const char *path, bool read_only, enum diskfile_lock lock,
		  char *err, size_t errlen)
{
	f->fd = -1;
	f->read_only = read_only;
	f->path = strdup(path);
	if (!f->path) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	/* O_NONBLOCK: a FIFO named by a hostile parent locator must not hang
	 * the open; it is refused below and regular files ignore the flag. */
	int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: cannot open the image%s: %s", path,
			 read_only ? "" : " for writing", strerror(e));
		free(f->path);
		f->path = NULL;
		return -e;
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file or block device", path);
		close(fd);
		free(f->path);
		f->path = NULL;
		return -EINVAL;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if (lock == DISKFILE_LOCK) {
		int rc = diskfile_lock_fd(fd, !read_only, path, err, errlen);
		if (rc) {
			close(fd);
			free(f->path);
			f->path = NULL;
			return rc;
		}
	}
	f->fd = fd;
	return 0;
}

int diskfile_create(struct diskfile *f, const char *path, char *err, size_t errlen)
{
	f->fd = -1;
	f->read_only = false;
	f->path = strdup(path);
	if (!f->path) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		if (e == EEXIST)
			snprintf(err, errlen, "%s: the file already exists (it is never overwritten)",
				 path);
		else
			snprintf(err, errlen, "%s: cannot create the file: %s", path, strerror(e));
		free(f->path);
		f->path = NULL;
		return -e;
	}
	int rc = diskfile_lock_fd(fd, true, path, err, errlen);
	if (rc) {
		close(fd);
		unlink(path);
		free(f->path);
		f->path = NULL;
		return rc;
	}
	f->fd = fd;
	return 0;
}

void diskfile_close(struct diskfile *f)
{
	if (f->fd >= 0)
		close(f->fd);       /* also drops the OFD lock */
	f->fd = -1;
	free(f->path);
	f->path = NULL;
}

int diskfile_size(const struct diskfile *f, uint64_t *size)
{
	struct stat st;
	if (fstat(f->fd, &st))
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		uint64_t bytes;
		if (ioctl(f->fd, BLKGETSIZE64, &bytes))
			return -errno;
		*size = bytes;
		return 0;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

/* Shared loop of preadv/pwritev: continue after short transfers. */
static int diskfile_xfer(const struct diskfile *f, const struct iovec *iov, int iovcnt,
			 uint64_t off, bool write)
{
	struct iovec local[64];
	struct iovec *v = local;
	if (iovcnt > 64) {
		v = malloc(sizeof(*v) * (size_t)iovcnt);
		if (!v)
			return -ENOMEM;
	}
	memcpy(v, iov, sizeof(*v) * (size_t)iovcnt);
	struct iovec *cur = v;
	int cnt = iovcnt;
	int rc = 0;
	while (cnt > 0) {
		if (cur->iov_len == 0) {
			cur++;
			cnt--;
			continue;
		}
		int n_iov = cnt > IOV_MAX ? IOV_MAX : cnt;
		ssize_t n = write ? pwritev(f->fd, cur, n_iov, (off_t)off)
				  : preadv(f->fd, cur, n_iov, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (n == 0) {
			if (write) {
				rc = -EIO;
				break;
			}
			/* End of file: the rest reads as zeros. */
			for (int i = 0; i < cnt; i++)
				memset(cur[i].iov_base, 0, cur[i].iov_len);
			break;
		}
		off += (uint64_t)n;
		size_t left = (size_t)n;
		while (left && cnt) {
			if (left >= cur->iov_len) {
				left -= cur->iov_len;
				cur++;
				cnt--;
			} else {
				cur->iov_base = (char *)cur->iov_base + left;
				cur->iov_len -= left;
				left = 0;
			}
		}
	}
	if (v != local)
		free(v);
	return rc;
}

int diskfile_preadv(const struct diskfile *f, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return diskfile_xfer(f, iov, iovcnt, off, false);
}

int diskfile_pwritev(const struct diskfile *f, const struct iovec *iov, int iovcnt, uint64_t off)
{
	if (f->read_only)
		return -EROFS;
	return diskfile_xfer(f, iov, iovcnt, off, true);
}

int diskfile_pread(const struct diskfile *f, void *buf, size_t len, uint64_t off)
{
	struct iovec v = { buf, len };
	return diskfile_xfer(f, &v, 1, off, false);
}

int diskfile_pwrite(const struct diskfile *f, const void *buf, size_t len, uint64_t off)
{
	struct iovec v = { (void *)buf, len };
	return diskfile_pwritev(f, &v, 1, off);
}

int diskfile_sync(const struct diskfile *f)
{
	if (f->read_only)
		return 0;
	while (fdatasync(f->fd)) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int diskfile_truncate(const struct diskfile *f, uint64_t size)
{
	if (ftruncate(f->fd, (off_t)size))
		return -errno;
	return 0;
}
