/*
 * fw_cfg: QEMU's firmware configuration device, the way SeaBIOS learns
 * about the machine (RAM map, CPU count, boot order, option ROMs, SMBIOS).
 *
 * The board fills it with items before the vCPUs start (fixed keys and named
 * files); the guest reads them through ports 0x510/0x511 or the DMA
 * interface at 0x514/0x518. Items never change while the guest runs.
 */
#ifndef LODGE_FW_CFG_H
#define LODGE_FW_CFG_H

#include <stddef.h>
#include <stdint.h>

#include "device.h"

/* Fixed keys (QEMU docs/specs/fw_cfg.rst). */
#define FW_CFG_SIGNATURE 0x0000         /* owned by the device */
#define FW_CFG_ID 0x0001                /* owned by the device */
#define FW_CFG_NB_CPUS 0x0005
#define FW_CFG_BOOT_MENU 0x000e
#define FW_CFG_MAX_CPUS 0x000f
#define FW_CFG_FILE_DIR 0x0019          /* owned by the device */
#define FW_CFG_FILE_FIRST 0x0020
#define FW_CFG_ARCH_LOCAL 0x8000
#define FW_CFG_ACPI_TABLES 0x8000
#define FW_CFG_SMBIOS_ENTRIES 0x8001
#define FW_CFG_IRQ0_OVERRIDE 0x8002

#define FW_CFG_NAME_MAX 56              /* file name bytes, NUL included */
#define FW_CFG_MAX_FILES 128

#define FW_CFG_PORT_SELECTOR 0x510      /* 16-bit selector; data at 0x511 */
#define FW_CFG_PORT_DMA 0x514           /* 64-bit big-endian DMA address */

/* DMA descriptor control bits (all fields big-endian in guest memory). */
#define FW_CFG_DMA_ERROR 0x01
#define FW_CFG_DMA_READ 0x02
#define FW_CFG_DMA_SKIP 0x04
#define FW_CFG_DMA_SELECT 0x08
#define FW_CFG_DMA_WRITE 0x10

struct fw_cfg;

/* params unused (NULL). */
extern const struct device_desc fw_cfg_desc;

/*
 * Main thread, before vCPUs run. Data is copied. Return 0, -EINVAL (a key
 * the device owns or outside the fixed ranges, a bad file name), -EEXIST
 * (key or name already present), -ENOSPC or -ENOMEM.
 */
int fw_cfg_add_bytes(struct fw_cfg *fw, uint16_t key, const void *data, size_t len);
int fw_cfg_add_u16(struct fw_cfg *fw, uint16_t key, uint16_t value);   /* little-endian */
int fw_cfg_add_u32(struct fw_cfg *fw, uint16_t key, uint32_t value);
int fw_cfg_add_file(struct fw_cfg *fw, const char *name, const void *data, size_t len);

#endif
