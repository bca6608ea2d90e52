/*
 * i8042: the PC keyboard controller (Intel 8042/8742 with the IBM PC/AT and
 * PS/2 firmware), ports 0x60 (data) and 0x64 (status/command), IRQ 1 for the
 * keyboard and IRQ 12 for the mouse.
 *
 * Follows the IBM PS/2 Hardware Interface Technical Reference, "Keyboard and
 * Auxiliary Device Controller": the status register (OBF, SYS, A2, INH and
 * AUXB; IBF is never seen set because every write is taken at once), the
 * 32-byte controller RAM whose byte 0 is the command byte (KBDINT, AUXINT,
 * SYS, KBDDIS, AUXDIS, XLATE), commands 20-3F/60-7F (read/write RAM), A4
 * (password installed? no), A7/A8/A9 (aux disable/enable/test), AA (self
 * test: 55), AB/AD/AE (keyboard test/disable/enable), C0 (input port), D0/D1
 * (output port), D2/D3 (write the output buffer as the keyboard or mouse),
 * D4 (next byte to the mouse), E0 (test inputs), F0-FF (pulse output lines;
 * bit 0 is the CPU reset), and the set-2 to set-1 translation of keyboard
 * bytes. The A20 gate is output-port bit 1; DD/DF are the common shortcut
 * commands for it.
 *
 * One output buffer serves both devices. When it empties the controller
 * refills it: first its own replies, then the keyboard, then the mouse, each
 * only while its interface is enabled. The keyboard and mouse are separate
 * models (ps2kbd.c, ps2mouse.c) that take host input from the input hub.
 */
#include "isa/i8042.h"

#include <stdlib.h>

#include "iobus.h"
#include "irq.h"
#include "isa/ps2.h"
#include "log.h"
#include "machine.h"

#define I8042_GSI_KBD 1
#define I8042_GSI_AUX 12

#define STATUS_OBF 0x01                 /* output buffer full */
#define STATUS_SYS 0x04                 /* system flag (command byte bit 2) */
#define STATUS_CMD 0x08                 /* last write was to port 0x64 */
#define STATUS_INH 0x10                 /* 1: keyboard not inhibited (key lock) */
#define STATUS_AUXB 0x20                /* the output buffer holds mouse data */

#define CMD_KBDINT 0x01
#define CMD_AUXINT 0x02
#define CMD_SYS 0x04
#define CMD_KBDDIS 0x10
#define CMD_AUXDIS 0x20
#define CMD_XLATE 0x40

#define OUTPORT_RESET 0x01              /* active-low CPU reset */
#define OUTPORT_A20 0x02
#define OUTPORT_IRQ1 0x10               /* output buffer full from the keyboard */
#define OUTPORT_IRQ12 0x20              /* output buffer full from the mouse */

/* Input port: keyboard not inhibited, no manufacturing jumper, colour display. */
#define INPORT_VALUE 0xa0

/* The command byte a PC BIOS leaves: translation, system flag, keyboard
 * interrupt on. A guest booted without firmware finds the same. */
#define CMD_POWER_ON (CMD_XLATE | CMD_SYS | CMD_KBDINT)

#define CTRL_QUEUE 8

/*
 * Set 2 to set 1, as the 8042 firmware translates every byte from the
 * keyboard while XLATE is set (a preceding F0 sets bit 7 of the result).
 * Codes 0x80 and up pass unchanged except F7 (83 → 41) and Alt+SysRq
 * (84 → 54). Each key's set-2 code maps to its set-1 code; the unit tests
 * check that against ps2kbd.c's tables.
 */
static const uint8_t i8042_xlate[128] = {
	0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59,
	0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a, 0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b,
	0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c, 0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d,
	0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, 0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f,
	0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60, 0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61,
	0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e, 0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76,
	0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, 0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f,
	0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45, 0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
};

uint8_t i8042_translate(uint8_t set2)
{
	if (set2 < 0x80)
		return i8042_xlate[set2];
	if (set2 == 0x83)
		return 0x41;
	if (set2 == 0x84)
		return 0x54;
	return set2;
}

struct i8042 {
	struct machine *m;
	struct iobus_region *r_data, *r_cmd;
	struct irq_line irq_kbd, irq_aux;
	struct ps2kbd *kbd;
	struct ps2mouse *mouse;

	uint8_t ram[32];                /* ram[0] is the command byte */
	uint8_t status;                 /* OBF, CMD and AUXB; the rest is derived */
	uint8_t out;                    /* output buffer */
	uint8_t outport;
	uint8_t pending;                /* command awaiting its data byte, or 0 */
	bool xlate_break;               /* a translated F0 awaits its code */
	/* Replies of the controller itself; bit 8 marks bytes posing as the mouse's. */
	uint16_t ctrlq[CTRL_QUEUE];
	unsigned ctrl_head, ctrl_count;
};

static void i8042_update_irq(struct i8042 *c)
{
	bool full = c->status & STATUS_OBF, aux = c->status & STATUS_AUXB;
	irq_line_set(&c->irq_kbd, full && !aux && (c->ram[0] & CMD_KBDINT));
	irq_line_set(&c->irq_aux, full && aux && (c->ram[0] & CMD_AUXINT));
}

static void i8042_load(struct i8042 *c, uint8_t v, bool aux)
{
	c->out = v;
	c->status |= STATUS_OBF;
	if (aux)
		c->status |= STATUS_AUXB;
	else
		c->status &= ~STATUS_AUXB;
}

/* Next keyboard byte as the guest sees it; false if there is none yet
 * (nothing queued, or only a translated F0 prefix). */
static bool i8042_kbd_byte(struct i8042 *c, uint8_t *v)
{
	while (ps2kbd_has_data(c->kbd)) {
		uint8_t b = (uint8_t)ps2kbd_read(c->kbd);
		if (!(c->ram[0] & CMD_XLATE)) {
			*v = b;
			return true;
		}
		if (b == 0xf0) {
			c->xlate_break = true;
			continue;
		}
		*v = (uint8_t)(i8042_translate(b) | (c->xlate_break ? 0x80 : 0));
		c->xlate_break = false;
		return true;
	}
	return false;
}

/* Device lock held: fill an empty output buffer and update the IRQ lines. */
static void i8042_refill(struct i8042 *c)
{
	uint8_t v;
	if (!(c->status & STATUS_OBF)) {
		if (c->ctrl_count) {
			uint16_t e = c->ctrlq[c->ctrl_head];
			c->ctrl_head = (c->ctrl_head + 1) % CTRL_QUEUE;
			c->ctrl_count--;
			i8042_load(c, (uint8_t)e, e >> 8);
		} else if (!(c->ram[0] & CMD_KBDDIS) && i8042_kbd_byte(c, &v)) {
			i8042_load(c, v, false);
		} else if (!(c->ram[0] & CMD_AUXDIS) && ps2mouse_has_data(c->mouse)) {
			i8042_load(c, (uint8_t)ps2mouse_read(c->mouse), true);
		}
	}
	i8042_update_irq(c);
}

static void i8042_reply(struct i8042 *c, uint8_t v, bool aux)
{
	if (c->ctrl_count == CTRL_QUEUE) {
		log_guest(LOG_WARN, "i8042", "the guest issues commands without reading "
			  "the replies; dropping a reply");
		return;
	}
	c->ctrlq[(c->ctrl_head + c->ctrl_count++) % CTRL_QUEUE] = (uint16_t)(v | (aux ? 0x100 : 0));
	i8042_refill(c);
}

/* A device queued bytes for us. Device lock held. */
static void i8042_device_notify(void *opaque)
{
	i8042_refill(opaque);
}

static void i8042_write_outport(struct i8042 *c, uint8_t v)
{
	c->outport = v | OUTPORT_RESET;
	machine_set_a20(c->m, v & OUTPORT_A20);
	if (!(v & OUTPORT_RESET)) {
		log_debug("i8042", "reset through the output port");
		machine_request_reset(c->m);
	}
}

static uint8_t i8042_read_outport(const struct i8042 *c)
{
	uint8_t v = c->outport & (uint8_t)~(OUTPORT_IRQ1 | OUTPORT_IRQ12);
	if (c->irq_kbd.level)
		v |= OUTPORT_IRQ1;
	if (c->irq_aux.level)
		v |= OUTPORT_IRQ12;
	return v;
}

static uint64_t i8042_data_read(void *opaque, uint64_t off, unsigned size)
{
	struct i8042 *c = opaque;
	uint8_t v = c->out;             /* an empty buffer reads its last byte */
	if (c->status & STATUS_OBF) {
		c->status &= ~(STATUS_OBF | STATUS_AUXB);
		/* Lower the line before refilling so the next byte is a new edge. */
		i8042_update_irq(c);
		i8042_refill(c);
	}
	return v;
}

/* The command byte changed: the interfaces or translation may have. */
static void i8042_set_command_byte(struct i8042 *c, uint8_t v)
{
	c->ram[0] = v;
	if (!(v & CMD_XLATE))
		c->xlate_break = false;
	i8042_refill(c);
}

static void i8042_data_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct i8042 *c = opaque;
	uint8_t v = (uint8_t)value, cmd = c->pending;
	c->status &= ~STATUS_CMD;
	c->pending = 0;
	if (cmd >= 0x60 && cmd <= 0x7f) {
		if (cmd == 0x60)
			i8042_set_command_byte(c, v);
		else
			c->ram[cmd & 0x1f] = v;
		return;
	}
	switch (cmd) {
	case 0xd1:
		i8042_write_outport(c, v);
		break;
	case 0xd2:
	case 0xd3:
		i8042_reply(c, v, cmd == 0xd3);
		break;
	case 0xd4:
		/* Talking to a device enables its interface, as on AMI and
		 * Phoenix controllers. */
		c->ram[0] &= ~CMD_AUXDIS;
		ps2mouse_write(c->mouse, v);
		i8042_refill(c);
		break;
	default:
		c->ram[0] &= ~CMD_KBDDIS;
		ps2kbd_write(c->kbd, v);
		i8042_refill(c);
		break;
	}
}

static uint64_t i8042_status_read(void *opaque, uint64_t off, unsigned size)
{
	struct i8042 *c = opaque;
	return c->status | STATUS_INH | (c->ram[0] & CMD_SYS ? STATUS_SYS : 0);
}

static void i8042_cmd_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct i8042 *c = opaque;
	uint8_t v = (uint8_t)value;
	c->status |= STATUS_CMD;
	c->pending = 0;
	if (v >= 0x20 && v <= 0x3f) {
		i8042_reply(c, c->ram[v & 0x1f], false);
		return;
	}
	if ((v >= 0x60 && v <= 0x7f) || (v >= 0xd1 && v <= 0xd4)) {
		c->pending = v;
		return;
	}
	if (v >= 0xf0) {
		/* Pulse the output lines whose bits are 0; line 0 resets the CPU. */
		if (!(v & OUTPORT_RESET)) {
			log_debug("i8042", "reset through the keyboard controller");
			machine_request_reset(c->m);
		}
		return;
	}
	switch (v) {
	case 0xa4:
		i8042_reply(c, 0xf1, false);    /* no password installed */
		break;
	case 0xa7:
		i8042_set_command_byte(c, c->ram[0] | CMD_AUXDIS);
		break;
	case 0xa8:
		i8042_set_command_byte(c, c->ram[0] & ~CMD_AUXDIS);
		break;
	case 0xa9:
	case 0xab:
		i8042_reply(c, 0x00, false);    /* interface test: no fault */
		break;
	case 0xaa:
		c->ram[0] |= CMD_SYS;
		i8042_reply(c, 0x55, false);
		break;
	case 0xad:
		i8042_set_command_byte(c, c->ram[0] | CMD_KBDDIS);
		break;
	case 0xae:
		i8042_set_command_byte(c, c->ram[0] & ~CMD_KBDDIS);
		break;
	case 0xc0:
		i8042_reply(c, INPORT_VALUE, false);
		break;
	case 0xd0:
		i8042_reply(c, i8042_read_outport(c), false);
		break;
	case 0xdd:
		i8042_write_outport(c, c->outport & ~OUTPORT_A20);
		break;
	case 0xdf:
		i8042_write_outport(c, c->outport | OUTPORT_A20);
		break;
	case 0xe0:
		i8042_reply(c, 0x00, false);
		break;
	default:
		log_guest(LOG_DEBUG, "i8042", "unknown controller command %#04x", v);
		break;
	}
}

static const struct iobus_ops data_ops = { i8042_data_read, i8042_data_write, 1 };
static const struct iobus_ops cmd_ops = { i8042_status_read, i8042_cmd_write, 1 };

/* Power-on state. Main thread, device lock held. */
static void i8042_reset(void *dev)
{
	struct i8042 *c = dev;
	for (unsigned i = 0; i < sizeof(c->ram); i++)
		c->ram[i] = 0;
	c->ram[0] = CMD_POWER_ON;
	c->status = 0;
	c->out = 0;
	c->outport = OUTPORT_RESET | OUTPORT_A20;
	c->pending = 0;
	c->xlate_break = false;
	c->ctrl_head = c->ctrl_count = 0;
	ps2kbd_reset(c->kbd);
	ps2mouse_reset(c->mouse);
	i8042_update_irq(c);
}

static void *i8042_create(struct machine *m, const void *params)
{
	struct i8042 *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->m = m;
	irq_line_init(&c->irq_kbd, m, I8042_GSI_KBD);
	irq_line_init(&c->irq_aux, m, I8042_GSI_AUX);
	c->kbd = ps2kbd_create(m, i8042_device_notify, c);
	c->mouse = ps2mouse_create(m, i8042_device_notify, c);
	if (!c->kbd || !c->mouse)
		goto free_devices;
	if (iobus_add(m->pio, "i8042-data", 0x60, 1, &data_ops, c, 0, &c->r_data))
		goto free_devices;
	if (iobus_add(m->pio, "i8042-cmd", 0x64, 1, &cmd_ops, c, 0, &c->r_cmd))
		goto remove_data;
	i8042_reset(c);
	return c;
remove_data:
	iobus_remove(c->r_data);
free_devices:
	ps2mouse_destroy(c->mouse);
	ps2kbd_destroy(c->kbd);
	free(c);
	return NULL;
}

static void i8042_destroy(void *dev)
{
	struct i8042 *c = dev;
	iobus_remove(c->r_data);
	iobus_remove(c->r_cmd);
	ps2mouse_destroy(c->mouse);
	ps2kbd_destroy(c->kbd);
	free(c);
}

const struct device_desc i8042_desc = {
	.name = "i8042",
	.create = i8042_create,
	.reset = i8042_reset,
	.destroy = i8042_destroy,
};
