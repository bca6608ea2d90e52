/*
 * blk_geometry: the cylinder/head/sector geometry a disk of a given size
 * reports, by the VHD specification's algorithm (Virtual Hard Disk Image
 * Format Specification, appendix "CHS Calculation"). IDE IDENTIFY data and
 * VHD footers both use it, so a disk shows the same geometry everywhere.
 * Kept apart from blk.c so that tests with a fake block layer share it.
 */
#include "blk.h"

void blk_geometry_from_size(uint64_t size, struct blk_geometry *g)
{
	uint64_t total = size / BLK_SECTOR;
	uint64_t spt, heads, cth;
	if (total > 65535ULL * 16 * 255)
		total = 65535ULL * 16 * 255;
	if (total >= 65535ULL * 16 * 63) {
		spt = 255;
		heads = 16;
		cth = total / spt;
	} else {
		spt = 17;
		cth = total / spt;
		heads = (cth + 1023) / 1024;
		if (heads < 4)
			heads = 4;
		if (cth >= heads * 1024 || heads > 16) {
			spt = 31;
			heads = 16;
			cth = total / spt;
		}
		if (cth >= heads * 1024) {
			spt = 63;
			heads = 16;
			cth = total / spt;
		}
	}
	g->cylinders = (uint32_t)(cth / heads);
	g->heads = (uint8_t)heads;
	g->sectors = (uint8_t)spt;
}
