/*
 * ide_rig: a PIIX IDE controller on a fake machine, driven through its I/O
 * ports as a guest driver would, for test_ata, test_atapi and test_bmdma.
 */
#ifndef LODGE_IDE_RIG_H
#define LODGE_IDE_RIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ide/piix_ide.h"

#define PRI 0x1f0
#define SEC 0x170
#define RIG_RAM (16u << 20)           /* the fake machine's */

/* Task-file offsets. */
enum { R_DATA, R_ERR, R_NSECT, R_LBAL, R_LBAM, R_LBAH, R_DEV, R_STATUS };

#define RIG_BM_BASE 0xc000              /* where the rig puts BAR4 */

struct rig {
	struct machine *m;
	struct pci_bus *bus;
	struct piix_ide *ide;
	struct blk *blk[PIIX_IDE_DRIVES];
};

struct rig_prd {
	uint32_t addr, len;             /* len 0x10000 is encoded as 0 */
	bool eot;
};

/* blk[i] may be NULL; kind[i] IDE_NONE for an empty position. */
void rig_init(struct rig *r, const enum ide_kind kind[PIIX_IDE_DRIVES],
	      struct blk *blk[PIIX_IDE_DRIVES]);
void rig_fini(struct rig *r);
/* Reset the machine, then program BAR4 and COMMAND as firmware would. */
void rig_power_on(struct rig *r);

uint32_t rig_in(struct rig *r, uint16_t port, unsigned size);
void rig_out(struct rig *r, uint16_t port, unsigned size, uint32_t v);
uint8_t rig_inb(struct rig *r, uint16_t port);
void rig_outb(struct rig *r, uint16_t port, uint8_t v);
uint8_t rig_alt(struct rig *r, uint16_t base);
void rig_ctl(struct rig *r, uint16_t base, uint8_t v);
/* Complete block requests until the selected device is not busy; returns
 * the alternate status (which does not acknowledge the interrupt). */
uint8_t rig_wait(struct rig *r, uint16_t base);
void rig_read_words(struct rig *r, uint16_t base, void *buf, size_t words);
void rig_write_words(struct rig *r, uint16_t base, const void *buf, size_t words);

void rig_select(struct rig *r, uint16_t base, unsigned unit);
/* LBA28 (or CHS if lba_mode is false: lba is then cyl<<16|head<<8|sector). */
void rig_cmd28(struct rig *r, uint16_t base, unsigned unit, uint8_t cmd, uint8_t feature,
	       uint8_t count, uint32_t lba);
void rig_cmd_chs(struct rig *r, uint16_t base, unsigned unit, uint8_t cmd, uint8_t count,
		 unsigned cyl, unsigned head, unsigned sector);
void rig_cmd48(struct rig *r, uint16_t base, unsigned unit, uint8_t cmd, uint16_t count,
	       uint64_t lba);

/* The IDE function's configuration space (PCI 00:01.1). */
uint32_t rig_config_read(struct rig *r, unsigned off, unsigned size);
void rig_config_write(struct rig *r, unsigned off, unsigned size, uint32_t v);

/* Bus-master registers through BAR4: all 16 bytes, and per channel (0/1). */
uint32_t rig_bm_read(struct rig *r, unsigned off, unsigned size);
void rig_bm_write(struct rig *r, unsigned off, unsigned size, uint32_t v);
void rig_prd_table(struct rig *r, uint32_t table, const struct rig_prd *e, unsigned n);
void rig_bm_setup(struct rig *r, unsigned ch, uint32_t table, bool to_mem);
void rig_bm_cmd(struct rig *r, unsigned ch, uint8_t v);
uint8_t rig_bm_status(struct rig *r, unsigned ch);
void rig_bm_clear(struct rig *r, unsigned ch);
uint8_t *rig_ram(struct rig *r, uint64_t gpa, uint64_t len);

/* buf holds the fake image's bytes from offset off (fake_blk_pattern). */
void rig_expect_pattern(const uint8_t *buf, uint64_t off, size_t len);
/* A repeatable pseudo-random sequence (xorshift64) for traffic tests. */
uint32_t rig_rand(void);

#endif
