/*
 * uart: National Semiconductor PC16550D UART (datasheet, June 1995):
 * registers (table II), FIFO control (FCR), interrupt identification and
 * priority (table IV), line and modem status, loopback (MCR bit 4).
 *
 * Transmission is instantaneous: a byte written to THR goes to the back-end
 * at once and THRE/TEMT stay set, which every driver accepts and which keeps
 * a guest's console output from being throttled to 11 KB/s for nothing.
 * Reception honours the FIFO: the back-end offers bytes, we take what fits
 * and ask for more when the guest drains the FIFO. On a PC the IRQ output is
 * gated by MCR OUT2, so a guest that never sets OUT2 never sees an interrupt.
 */
#include "isa/uart.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "chardev.h"
#include "iobus.h"
#include "irq.h"
#include "log.h"
#include "machine.h"
#include "vclock.h"

#define UART_FIFO 16

/* Registers (offsets from base). */
enum { RBR_THR_DLL = 0, IER_DLM = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

#define IER_ERBFI 0x01                  /* received data available */
#define IER_ETBEI 0x02                  /* THR empty */
#define IER_ELSI 0x04                   /* receiver line status */
#define IER_EDSSI 0x08                  /* modem status */

#define IIR_NONE 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_CTI 0x0c
#define IIR_FIFO_ON 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04

#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_ERRORS 0x1e

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

/* The 16550's input clock: 1.8432 MHz / 16 = 115200 baud at divisor 1. */
#define UART_BAUD_BASE 115200

struct uart {
	struct machine *m;
	struct uart_params p;
	struct irq_line irq;
	struct vtimer *timeout;         /* character timeout indication */
	struct iobus_region *region;

	uint8_t ier, lcr, mcr, lsr, msr, scr, fcr;
	uint16_t divisor;
	bool thri_pending;              /* THR-empty interrupt latched */
	bool timeout_pending;
	uint8_t rx[UART_FIFO];
	unsigned rx_head, rx_count;
};

static unsigned uart_rx_capacity(const struct uart *u)
{
	return (u->fcr & FCR_ENABLE) ? UART_FIFO : 1;
}

static unsigned uart_rx_trigger(const struct uart *u)
{
	static const unsigned levels[4] = { 1, 4, 8, 14 };
	return (u->fcr & FCR_ENABLE) ? levels[u->fcr >> 6] : 1;
}

/* The highest-priority pending interrupt, as IIR bits 3:0 (table IV). */
static uint8_t uart_pending(const struct uart *u)
{
	if ((u->ier & IER_ELSI) && (u->lsr & LSR_ERRORS))
		return IIR_RLSI;
	if ((u->ier & IER_ERBFI) && u->rx_count >= uart_rx_trigger(u))
		return IIR_RDI;
	if ((u->ier & IER_ERBFI) && u->timeout_pending && u->rx_count)
		return IIR_CTI;
	if ((u->ier & IER_ETBEI) && u->thri_pending)
		return IIR_THRI;
	if ((u->ier & IER_EDSSI) && (u->msr & 0x0f))
		return IIR_MSI;
	return IIR_NONE;
}

static void uart_update_irq(struct uart *u)
{
	bool out2 = u->mcr & MCR_OUT2;
	irq_line_set(&u->irq, out2 && uart_pending(u) != IIR_NONE);
}

/* Four character times at the programmed rate: 10 bits per character. */
static int64_t uart_char_timeout_ns(const struct uart *u)
{
	uint64_t div = u->divisor ? u->divisor : 1;
	return (int64_t)(4 * 10 * div * NS_PER_SEC / UART_BAUD_BASE);
}

static void uart_arm_timeout(struct uart *u)
{
	u->timeout_pending = false;
	if ((u->fcr & FCR_ENABLE) && u->rx_count && u->rx_count < uart_rx_trigger(u))
		vtimer_arm(u->timeout, vclock_now(u->m->clock) + uart_char_timeout_ns(u));
	else
		vtimer_disarm(u->timeout);
}

static void uart_timeout_fired(void *opaque, int64_t now)
{
	struct uart *u = opaque;
	if (u->rx_count) {
		u->timeout_pending = true;
		uart_update_irq(u);
	}
}

/* Modem status as seen by the guest: a connected back-end asserts CTS, DSR
 * and DCD; in loopback the outputs come back on the inputs. */
static uint8_t uart_modem_lines(const struct uart *u)
{
	if (u->mcr & MCR_LOOP) {
		uint8_t v = 0;
		if (u->mcr & MCR_RTS) v |= MSR_CTS;
		if (u->mcr & MCR_DTR) v |= MSR_DSR;
		if (u->mcr & MCR_OUT1) v |= MSR_RI;
		if (u->mcr & MCR_OUT2) v |= MSR_DCD;
		return v;
	}
	return MSR_CTS | MSR_DSR | MSR_DCD;
}

static void uart_update_msr(struct uart *u)
{
	uint8_t old = u->msr & 0xf0, now = uart_modem_lines(u);
	uint8_t delta = 0;
	if ((old ^ now) & MSR_CTS) delta |= MSR_DCTS;
	if ((old ^ now) & MSR_DSR) delta |= MSR_DDSR;
	if ((old & MSR_RI) && !(now & MSR_RI)) delta |= MSR_TERI;
	if ((old ^ now) & MSR_DCD) delta |= MSR_DDCD;
	u->msr = now | (u->msr & 0x0f) | delta;
}

/* Push one received byte; false if the FIFO (or holding register) is full. */
static bool uart_rx_push(struct uart *u, uint8_t byte)
{
	if (u->rx_count >= uart_rx_capacity(u))
		return false;
	u->rx[(u->rx_head + u->rx_count) % UART_FIFO] = byte;
	u->rx_count++;
	u->lsr |= LSR_DR;
	return true;
}

static uint8_t uart_rx_pop(struct uart *u)
{
	if (!u->rx_count)
		return 0;
	uint8_t b = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART_FIFO;
	u->rx_count--;
	if (!u->rx_count)
		u->lsr &= ~LSR_DR;
	return b;
}

static void uart_rx_clear(struct uart *u)
{
	u->rx_head = u->rx_count = 0;
	u->lsr &= ~LSR_DR;
	u->timeout_pending = false;
	vtimer_disarm(u->timeout);
}

static void uart_transmit(struct uart *u, uint8_t byte)
{
	if (u->mcr & MCR_LOOP) {
		if (!uart_rx_push(u, byte))
			u->lsr |= LSR_OE;
		uart_arm_timeout(u);
	} else if (u->p.chr) {
		chardev_write(u->p.chr, &byte, 1);
	}
	/* The byte left at once: the holding register is empty again. */
	u->lsr |= LSR_THRE | LSR_TEMT;
	u->thri_pending = true;
}

/* Device lock held. */
uint8_t uart_reg_read(void *dev, unsigned reg)
{
	struct uart *u = dev;
	uint8_t v = 0xff;
	bool dlab = u->lcr & LCR_DLAB;

	switch (reg & 7) {
	case RBR_THR_DLL:
		if (dlab) {
			v = (uint8_t)u->divisor;
			break;
		}
		v = uart_rx_pop(u);
		uart_arm_timeout(u);
		if (!u->rx_count && u->p.chr && !(u->mcr & MCR_LOOP))
			chardev_rx_ready(u->p.chr);
		break;
	case IER_DLM:
		v = dlab ? (uint8_t)(u->divisor >> 8) : u->ier;
		break;
	case IIR_FCR:
		v = uart_pending(u);
		/* Reading IIR acknowledges a THR-empty interrupt it reports. */
		if (v == IIR_THRI)
			u->thri_pending = false;
		if (u->fcr & FCR_ENABLE)
			v |= IIR_FIFO_ON;
		break;
	case LCR:
		v = u->lcr;
		break;
	case MCR:
		v = u->mcr;
		break;
	case LSR:
		v = u->lsr;
		u->lsr &= ~(LSR_ERRORS | 0x80);
		break;
	case MSR:
		uart_update_msr(u);
		v = u->msr;
		u->msr &= 0xf0;
		break;
	case SCR:
		v = u->scr;
		break;
	}
	uart_update_irq(u);
	return v;
}

/* Device lock held. */
void uart_reg_write(void *dev, unsigned reg, uint8_t v)
{
	struct uart *u = dev;
	bool dlab = u->lcr & LCR_DLAB;

	switch (reg & 7) {
	case RBR_THR_DLL:
		if (dlab)
			u->divisor = (u->divisor & 0xff00) | v;
		else
			uart_transmit(u, v);
		break;
	case IER_DLM:
		if (dlab) {
			u->divisor = (uint16_t)((u->divisor & 0x00ff) | v << 8);
			break;
		}
		/* Enabling ETBEI with THR empty raises the interrupt at once (the
		 * 8250 driver's THRE probe depends on it). */
		if (!(u->ier & IER_ETBEI) && (v & IER_ETBEI) && (u->lsr & LSR_THRE))
			u->thri_pending = true;
		u->ier = v & 0x0f;
		break;
	case IIR_FCR: {
		bool was_on = u->fcr & FCR_ENABLE;
		if ((v & FCR_ENABLE) != was_on || (v & FCR_CLEAR_RX))
			uart_rx_clear(u);
		if (v & FCR_CLEAR_TX)
			u->lsr |= LSR_THRE | LSR_TEMT;
		u->fcr = v & (FCR_ENABLE | 0xc0);
		uart_arm_timeout(u);
		break;
	}
	case LCR:
		u->lcr = v;
		break;
	case MCR: {
		bool was_loop = u->mcr & MCR_LOOP;
		u->mcr = v & 0x1f;
		uart_update_msr(u);
		if (was_loop && !(u->mcr & MCR_LOOP) && u->p.chr)
			chardev_rx_ready(u->p.chr);
		break;
	}
	case LSR:
	case MSR:
		/* Read-only on the 16550 (factory test writes are ignored). */
		break;
	case SCR:
		u->scr = v;
		break;
	}
	uart_update_irq(u);
}

static uint64_t uart_io_read(void *opaque, uint64_t off, unsigned size)
{
	return uart_reg_read(opaque, (unsigned)off);
}

static void uart_io_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	uart_reg_write(opaque, (unsigned)off, (uint8_t)v);
}

static const struct iobus_ops uart_io_ops = {
	.read = uart_io_read,
	.write = uart_io_write,
	.max_access = 1,
};

/* Device lock held. */
size_t uart_receive(void *dev, const uint8_t *buf, size_t len)
{
	struct uart *u = dev;
	size_t took = 0;
	if (u->mcr & MCR_LOOP)
		return 0;       /* in loopback the line is disconnected */
	while (took < len && uart_rx_push(u, buf[took]))
		took++;
	if (took)
		uart_arm_timeout(u);
	uart_update_irq(u);
	return took;
}

/* Loop thread, no lock held: the back-end offers input. */
static size_t uart_chardev_rx(void *opaque, const uint8_t *buf, size_t len)
{
	struct uart *u = opaque;
	machine_lock(u->m);
	size_t took = uart_receive(u, buf, len);
	machine_unlock(u->m);
	return took;
}

static void uart_reset(void *dev)
{
	struct uart *u = dev;
	u->ier = 0;
	u->lcr = 0;
	u->mcr = 0;
	u->lsr = LSR_THRE | LSR_TEMT;
	u->msr = uart_modem_lines(u);
	u->scr = 0;
	u->fcr = 0;
	u->divisor = 12;                /* 9600 baud, a common power-on value */
	u->thri_pending = false;
	uart_rx_clear(u);
	irq_line_set(&u->irq, false);
}

static void *uart_create(struct machine *m, const void *params)
{
	const struct uart_params *p = params;
	struct uart *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->m = m;
	u->p = *p;
	irq_line_init(&u->irq, m, p->gsi);
	u->timeout = vtimer_create(m->clock, uart_timeout_fired, u);
	if (!u->timeout)
		goto free_uart;
	if (iobus_add(m->pio, "uart", p->base, 8, &uart_io_ops, u, 0, &u->region))
		goto free_timer;
	uart_reset(u);
	if (p->chr)
		chardev_set_rx(p->chr, uart_chardev_rx, u);
	return u;
free_timer:
	vtimer_destroy(u->timeout);
free_uart:
	free(u);
	return NULL;
}

static void uart_destroy(void *dev)
{
	struct uart *u = dev;
	if (u->p.chr)
		chardev_set_rx(u->p.chr, NULL, NULL);
	iobus_remove(u->region);
	vtimer_destroy(u->timeout);
	free(u);
}

const struct device_desc uart_desc = {
	.name = "uart16550a",
	.create = uart_create,
	.reset = uart_reset,
	.destroy = uart_destroy,
};
