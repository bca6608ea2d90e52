/*
 * uart: National Semiconductor PC16550D UART (COM1-COM4).
 */
#ifndef LODGE_UART_H
#define LODGE_UART_H

#include <stddef.h>
#include <stdint.h>

#include "device.h"

struct chardev;

struct uart_params {
	uint16_t base;                  /* 0x3f8, 0x2f8, 0x3e8, 0x2e8 */
	unsigned gsi;                   /* 4 or 3 */
	struct chardev *chr;            /* may be NULL: output discarded */
};

extern const struct device_desc uart_desc;

/* For unit tests and the board: register access by offset. */
uint8_t uart_reg_read(void *dev, unsigned reg);
void uart_reg_write(void *dev, unsigned reg, uint8_t value);
/* Feed received bytes as the chardev would; returns bytes accepted. */
size_t uart_receive(void *dev, const uint8_t *buf, size_t len);

#endif
