/*
 * iov: helpers for scatter/gather lists (POSIX struct iovec) as the block
 * layer passes them: take a byte range out of a list, fill a range with a
 * byte, copy between a range and a flat buffer.
 */
#ifndef LODGE_DISK_IOV_H
#define LODGE_DISK_IOV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

uint64_t iov_length(const struct iovec *iov, int iovcnt);
/*
 * Describe bytes [skip, skip+len) of src in dst (at most max entries, never
 * more than iovcnt are needed). Returns the entry count.
 */
int iov_slice(const struct iovec *src, int iovcnt, uint64_t skip, uint64_t len,
	      struct iovec *dst, int max);
void iov_memset(const struct iovec *iov, int iovcnt, uint64_t skip, int c, uint64_t len);
void iov_to_buf(const struct iovec *iov, int iovcnt, uint64_t skip, void *buf, uint64_t len);
void iov_from_buf(const struct iovec *iov, int iovcnt, uint64_t skip, const void *buf,
		  uint64_t len);
bool iov_buf_is_zero(const void *buf, size_t len);

#endif
