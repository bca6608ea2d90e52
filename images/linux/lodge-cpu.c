/*
 * lodge-cpu: a deterministic CPU workload for the test Linux guests.
 *
 * build-linux.sh compiles it once (gcc -static -O2) and puts the same
 * binary in the initramfs and on the test disk; the integration tests run
 * it in the guest and on the host, and the two outputs must be equal, so
 * the host's CPU is the reference for the guest's (integer ALU, 64-bit
 * multiply and divide, shifts and rotates, byte/word memory traffic,
 * unpredictable branches).
 *
 *   lodge-cpu spin SEED ROUNDS   prints "spin SEED ROUNDS: CHECKSUM" (hex)
 *   lodge-cpu bytes SEED SIZE    writes SIZE pseudo-random bytes to stdout
 *                                (the known file on the test media)
 *
 * Nothing depends on the environment: no time, no addresses, no floating
 * point (the awk check covers that), no undefined behaviour.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* xorshift64 (Marsaglia, 2003): full period over non-zero states. */
static uint64_t cpu_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static uint64_t cpu_seed(uint64_t seed)
{
	/* Any seed, including 0, becomes a non-zero state. */
	return seed * 0x9e3779b97f4a7c15ull | 1;
}

static uint64_t cpu_rotl(uint64_t v, unsigned n)
{
	n &= 63;
	return n ? (v << n) | (v >> (64 - n)) : v;
}

/* The loop: state in a 256-entry table, so loads and stores alias and the
 * branch on the low bit goes either way half the time. */
static uint64_t cpu_spin(uint64_t seed, uint64_t rounds)
{
	uint32_t table[256];
	uint16_t words[64];
	uint64_t x = cpu_seed(seed), sum = seed;

	for (unsigned i = 0; i < 256; i++)
		table[i] = (uint32_t)cpu_next(&x);
	memset(words, 0, sizeof(words));
	for (uint64_t i = 0; i < rounds; i++) {
		uint64_t r = cpu_next(&x);
		unsigned k = (unsigned)(r & 255);
		table[k] += (uint32_t)(r >> 32) ^ (uint32_t)i;
		sum += (uint64_t)table[(k * 7) & 255] * 0x9e3779b97f4a7c15ull;
		if (r & 1)
			sum = cpu_rotl(sum, (unsigned)(r >> 58));
		else
			sum ^= r / ((i & 0xffff) | 1) + (uint64_t)((int64_t)sum % 1000003);
		words[k & 63] = (uint16_t)(words[k & 63] * 31 + (uint16_t)sum);
	}
	for (unsigned i = 0; i < 256; i++)
		sum = cpu_rotl(sum, 5) ^ table[i];
	for (unsigned i = 0; i < 64; i++)
		sum = sum * 33 + words[i];
	return sum;
}

static int cpu_bytes(uint64_t seed, uint64_t size)
{
	uint64_t x = cpu_seed(seed);
	unsigned char buf[4096];

	while (size) {
		size_t n = size < sizeof(buf) ? (size_t)size : sizeof(buf);
		for (size_t i = 0; i < n; i += 8) {
			uint64_t r = cpu_next(&x);
			for (size_t j = 0; j < 8 && i + j < n; j++)
				buf[i + j] = (unsigned char)(r >> (8 * j));
		}
		if (fwrite(buf, 1, n, stdout) != n)
			return 1;
		size -= n;
	}
	return fflush(stdout) ? 1 : 0;
}

static int cpu_number(const char *s, uint64_t *v)
{
	char *end;
	*v = strtoull(s, &end, 0);
	return *s && !*end ? 0 : -1;
}

int main(int argc, char **argv)
{
	uint64_t seed, n;

	if (argc != 4 || cpu_number(argv[2], &seed) || cpu_number(argv[3], &n)) {
		fprintf(stderr, "usage: lodge-cpu spin SEED ROUNDS | lodge-cpu bytes SEED SIZE\n");
		return 2;
	}
	if (!strcmp(argv[1], "spin")) {
		printf("spin %" PRIu64 " %" PRIu64 ": %016" PRIx64 "\n", seed, n, cpu_spin(seed, n));
		return 0;
	}
	if (!strcmp(argv[1], "bytes"))
		return cpu_bytes(seed, n);
	fprintf(stderr, "lodge-cpu: '%s' is not spin or bytes\n", argv[1]);
	return 2;
}
