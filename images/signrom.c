/*
 * signrom: finish an option ROM image for the BIOS — pad it to whole 512-byte
 * blocks, store the block count in byte 2, fix the PnP header checksum (if
 * the ROM has one at the offset in bytes 0x1a-0x1b) and make the bytes of
 * the whole image sum to zero (PCI Firmware Specification 3.0, 5.1.1; BIOS
 * Boot Specification 1.01, appendix A).
 *
 * usage: signrom IN OUT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 512
#define MAX_ROM (128 * 1024)

static unsigned char sum(const unsigned char *p, size_t n)
{
	unsigned char s = 0;
	while (n--)
		s = (unsigned char)(s + *p++);
	return s;
}

int main(int argc, char **argv)
{
	static unsigned char rom[MAX_ROM];
	if (argc != 3) {
		fprintf(stderr, "usage: signrom IN OUT\n");
		return 2;
	}
	FILE *in = fopen(argv[1], "rb");
	if (!in) {
		perror(argv[1]);
		return 1;
	}
	size_t n = fread(rom, 1, sizeof(rom), in);
	int more = fgetc(in) != EOF;
	fclose(in);
	if (more || n < 0x1c || rom[0] != 0x55 || rom[1] != 0xaa) {
		fprintf(stderr, "signrom: %s is not an option ROM image of at most %d bytes\n",
			argv[1], MAX_ROM);
		return 1;
	}
	/* One spare byte for the checksum, then whole blocks. */
	size_t size = (n + 1 + BLOCK - 1) / BLOCK * BLOCK;
	if (size > MAX_ROM) {
		fprintf(stderr, "signrom: %s leaves no room for the checksum\n", argv[1]);
		return 1;
	}
	rom[2] = (unsigned char)(size / BLOCK);
	size_t pnp = (size_t)(rom[0x1a] | rom[0x1b] << 8);
	if (pnp && pnp + 0x20 <= n && !memcmp(rom + pnp, "$PnP", 4)) {
		size_t len = rom[pnp + 5] * 16u;
		if (pnp + len > n) {
			fprintf(stderr, "signrom: the PnP header runs past the end\n");
			return 1;
		}
		rom[pnp + 9] = 0;
		rom[pnp + 9] = (unsigned char)-sum(rom + pnp, len);
	}
	rom[size - 1] = 0;
	rom[size - 1] = (unsigned char)-sum(rom, size);
	FILE *out = fopen(argv[2], "wb");
	if (!out || fwrite(rom, 1, size, out) != size || fclose(out)) {
		perror(argv[2]);
		return 1;
	}
	return 0;
}
