/*
 * i8042: the PC keyboard controller's system functions (Intel 8042/8742 as
 * used on IBM PC/AT: status register, command byte, output port).
 *
 * This model covers what the machine itself needs from the controller: the
 * CPU reset line (command 0xfe, or output port bit 0 written as 0), the A20
 * gate (output port bit 1, commands 0xdd/0xdf), the command byte (0x20/0x60)
 * and the controller self-test (0xaa -> 0x55). Keyboard and mouse emulation
 * arrive with the PS/2 devices.
 */
#include "isa/i8042.h"

#include <stdlib.h>

#include "iobus.h"
#include "log.h"
#include "machine.h"

#define STATUS_OBF 0x01                 /* output buffer full */
#define STATUS_SYS 0x04                 /* system flag: POST passed */
#define STATUS_CMD 0x08                 /* last write was to 0x64 */

#define OUTPORT_RESET 0x01              /* active low CPU reset */
#define OUTPORT_A20 0x02

struct i8042 {
	struct machine *m;
	uint8_t status, cmdbyte, outport, out;
	uint8_t pending_cmd;            /* command awaiting its data byte */
	struct iobus_region *r_data, *r_cmd;
};

static void i8042_output(struct i8042 *k, uint8_t v)
{
	k->out = v;
	k->status |= STATUS_OBF;
}

static void i8042_write_outport(struct i8042 *k, uint8_t v)
{
	k->outport = v | OUTPORT_RESET;
	machine_set_a20(k->m, v & OUTPORT_A20);
	if (!(v & OUTPORT_RESET))
		machine_request_reset(k->m);
}

static uint64_t i8042_data_read(void *opaque, uint64_t off, unsigned size)
{
	struct i8042 *k = opaque;
	k->status &= ~STATUS_OBF;
	return k->out;
}

static void i8042_data_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct i8042 *k = opaque;
	k->status &= ~STATUS_CMD;
	switch (k->pending_cmd) {
	case 0x60:
		k->cmdbyte = (uint8_t)v;
		break;
	case 0xd1:
		i8042_write_outport(k, (uint8_t)v);
		break;
	default:
		/* Bytes for the keyboard itself: no keyboard in this model. */
		break;
	}
	k->pending_cmd = 0;
}

static uint64_t i8042_status_read(void *opaque, uint64_t off, unsigned size)
{
	struct i8042 *k = opaque;
	return k->status;
}

static void i8042_cmd_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct i8042 *k = opaque;
	k->status |= STATUS_CMD;
	k->pending_cmd = 0;
	switch (v) {
	case 0x20:
		i8042_output(k, k->cmdbyte);
		break;
	case 0x60:
	case 0xd1:
		k->pending_cmd = (uint8_t)v;
		break;
	case 0xaa:
		i8042_output(k, 0x55);
		break;
	case 0xd0:
		i8042_output(k, k->outport);
		break;
	case 0xdd:
		i8042_write_outport(k, k->outport & ~OUTPORT_A20);
		break;
	case 0xdf:
		i8042_write_outport(k, k->outport | OUTPORT_A20);
		break;
	case 0xfe:
		log_debug("i8042", "reset through the keyboard controller");
		machine_request_reset(k->m);
		break;
	default:
		/* 0xf0-0xff pulse output lines; only bit 0 (reset) matters. */
		if ((v & 0xf0) == 0xf0 && !(v & 1))
			machine_request_reset(k->m);
		break;
	}
}

static const struct iobus_ops data_ops = { i8042_data_read, i8042_data_write, 1 };
static const struct iobus_ops cmd_ops = { i8042_status_read, i8042_cmd_write, 1 };

static void i8042_reset(void *dev)
{
	struct i8042 *k = dev;
	k->status = STATUS_SYS;
	k->cmdbyte = 0x45;              /* translation, system flag, kbd interrupt */
	k->outport = OUTPORT_RESET | OUTPORT_A20;
	k->out = 0;
	k->pending_cmd = 0;
}

static void *i8042_create(struct machine *m, const void *params)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->m = m;
	if (iobus_add(m->pio, "i8042-data", 0x60, 1, &data_ops, k, 0, &k->r_data) ||
	    iobus_add(m->pio, "i8042-cmd", 0x64, 1, &cmd_ops, k, 0, &k->r_cmd)) {
		iobus_remove(k->r_data);
		free(k);
		return NULL;
	}
	i8042_reset(k);
	return k;
}

static void i8042_destroy(void *dev)
{
	struct i8042 *k = dev;
	iobus_remove(k->r_data);
	iobus_remove(k->r_cmd);
	free(k);
}

const struct device_desc i8042_desc = {
	.name = "i8042",
	.create = i8042_create,
	.reset = i8042_reset,
	.destroy = i8042_destroy,
};
