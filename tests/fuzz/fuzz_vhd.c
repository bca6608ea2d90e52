/*
 * fuzz_vhd: libFuzzer target over the VHD parser — open (footer search,
 * header, BAT validation, parent locators) and reads at the start, the end
 * and a few places between, plus the structural checker. Any input must end
 * in a clean refusal or correct reads: never a crash, a hang, a leak or an
 * out-of-bounds access (built with ASan and UBSan).
 *
 * The input lives in a memfd, reached by its /proc/self/fd path.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "disk/vhd.h"
#include "log.h"

#define FUZZ_READ (64u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_read(struct vhd *v, uint64_t off, uint8_t *buf)
{
	if (off >= v->size)
		return;
	uint64_t len = v->size - off < FUZZ_READ ? v->size - off : FUZZ_READ;
	struct iovec iov[2] = { { buf, (size_t)len / 2 / 512 * 512 }, { 0, 0 } };
	iov[1].iov_base = buf + iov[0].iov_len;
	iov[1].iov_len = (size_t)len - iov[0].iov_len;
	vhd_readv(v, off, iov, 2, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[FUZZ_READ];
	static int quiet;
	if (!quiet++)
		log_set_level(LOG_ERROR);
	int fd = memfd_create("fuzz.vhd", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	char path[64], err[1024];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct vhd_open_opts o = { .read_only = true, .no_lock = true };
	struct vhd *v;
	if (vhd_open(path, &o, &v, err, sizeof(err)) == 0) {
		uint64_t last = v->size > FUZZ_READ ? (v->size - FUZZ_READ) / 512 * 512 : 0;
		fuzz_read(v, 0, buf);
		fuzz_read(v, last, buf);
		for (uint64_t i = 1; i < 4; i++)
			fuzz_read(v, v->size / 4 * i / 512 * 512, buf);
		vhd_close(v);
	} else if (!strstr(err, path)) {
		/* Every refusal names the file. */
		fprintf(stderr, "message without the file name: %s\n", err);
		abort();
	}
	struct vhd_report r = { 0 };
	vhd_check(path, &r);
	close(fd);
	return 0;
}
