/*
 * ps2: the transmit side shared by the PS/2 keyboard and mouse (see ps2.h).
 *
 * On the wire (IBM PS/2 Hardware Interface Technical Reference, "Keyboard
 * and Auxiliary Device Controller") a device sends one byte at a time when
 * the controller lets it. A device that receives a command stops what it was
 * sending at the next byte boundary and answers; we answer at the next unit
 * boundary instead, because splitting a scan-code sequence or a mouse packet
 * would confuse the controller's translator and the guest's driver, and no
 * driver can tell the difference.
 */
#include "isa/ps2.h"

#include <string.h>

static bool ps2_queue_push(struct ps2_queue *q, uint8_t b)
{
	if (q->count == PS2_QUEUE_SIZE)
		return false;
	q->data[(q->head + q->count++) % PS2_QUEUE_SIZE] = b;
	return true;
}

static int ps2_queue_pop(struct ps2_queue *q)
{
	if (!q->count)
		return -1;
	uint8_t b = q->data[q->head];
	q->head = (q->head + 1) % PS2_QUEUE_SIZE;
	q->count--;
	return b;
}

void ps2_out_clear(struct ps2_out *o)
{
	uint8_t last = o->last;
	memset(o, 0, sizeof(*o));
	o->last = last;
}

bool ps2_out_reply(struct ps2_out *o, uint8_t byte)
{
	return ps2_queue_push(&o->reply, byte);
}

bool ps2_out_data(struct ps2_out *o, const uint8_t *bytes, unsigned len)
{
	if (!len || len > PS2_QUEUE_SIZE - o->data.count || o->unit_count == PS2_QUEUE_SIZE)
		return false;
	for (unsigned i = 0; i < len; i++)
		ps2_queue_push(&o->data, bytes[i]);
	o->units[(o->unit_head + o->unit_count++) % PS2_QUEUE_SIZE] = (uint8_t)len;
	return true;
}

void ps2_out_drop_data(struct ps2_out *o)
{
	o->data.count = o->in_unit;
	o->unit_count = 0;
}

int ps2_out_pop(struct ps2_out *o)
{
	int b;
	if (o->in_unit) {
		o->in_unit--;
		b = ps2_queue_pop(&o->data);
	} else if (o->reply.count) {
		b = ps2_queue_pop(&o->reply);
	} else if (o->unit_count) {
		o->in_unit = o->units[o->unit_head] - 1u;
		o->unit_head = (o->unit_head + 1) % PS2_QUEUE_SIZE;
		o->unit_count--;
		b = ps2_queue_pop(&o->data);
	} else {
		return -1;
	}
	o->last = (uint8_t)b;
	return b;
}

bool ps2_out_pending(const struct ps2_out *o)
{
	return o->reply.count || o->data.count;
}

unsigned ps2_out_data_bytes(const struct ps2_out *o)
{
	return o->data.count;
}
