/*
 * iov: scatter/gather list helpers (see iov.h). Pure functions, any thread.
 */
#include "iov.h"

#include <string.h>

uint64_t iov_length(const struct iovec *iov, int iovcnt)
{
	uint64_t n = 0;
	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

int iov_slice(const struct iovec *src, int iovcnt, uint64_t skip, uint64_t len,
	      struct iovec *dst, int max)
{
	int n = 0;
	for (int i = 0; i < iovcnt && len && n < max; i++) {
		if (skip >= src[i].iov_len) {
			skip -= src[i].iov_len;
			continue;
		}
		uint64_t take = src[i].iov_len - skip;
		if (take > len)
			take = len;
		dst[n].iov_base = (char *)src[i].iov_base + skip;
		dst[n].iov_len = (size_t)take;
		n++;
		len -= take;
		skip = 0;
	}
	return n;
}

/* Walk [skip, skip+len) of the list, calling fn on each piece. */
#define IOV_WALK(iov, iovcnt, skip, len, body)                                 \
	do {                                                                   \
		uint64_t done_ = 0;                                            \
		for (int i_ = 0; i_ < (iovcnt) && len; i_++) {                 \
			if (skip >= (iov)[i_].iov_len) {                       \
				skip -= (iov)[i_].iov_len;                     \
				continue;                                      \
			}                                                      \
			uint64_t n_ = (iov)[i_].iov_len - skip;                \
			if (n_ > len)                                          \
				n_ = len;                                      \
			char *p_ = (char *)(iov)[i_].iov_base + skip;          \
			body;                                                  \
			done_ += n_;                                           \
			len -= n_;                                             \
			skip = 0;                                              \
		}                                                              \
	} while (0)

void iov_memset(const struct iovec *iov, int iovcnt, uint64_t skip, int c, uint64_t len)
{
	IOV_WALK(iov, iovcnt, skip, len, memset(p_, c, n_));
}

void iov_to_buf(const struct iovec *iov, int iovcnt, uint64_t skip, void *buf, uint64_t len)
{
	char *out = buf;
	IOV_WALK(iov, iovcnt, skip, len, memcpy(out + done_, p_, n_));
}

void iov_from_buf(const struct iovec *iov, int iovcnt, uint64_t skip, const void *buf,
		  uint64_t len)
{
	const char *in = buf;
	IOV_WALK(iov, iovcnt, skip, len, memcpy(p_, in + done_, n_));
}

bool iov_buf_is_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	/* Compare against the first byte, then the buffer against itself shifted:
	 * memcmp is vectorised, a byte loop is not. */
	if (len == 0)
		return true;
	if (p[0] != 0)
		return false;
	size_t head = len < 16 ? len : 16;
	for (size_t i = 1; i < head; i++)
		if (p[i])
			return false;
	return len <= 16 || memcmp(p, p + 16, len - 16) == 0;
}
