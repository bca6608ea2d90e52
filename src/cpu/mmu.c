/*
 * mmu: linear -> physical translation and physical memory access for the
 * software CPU.
 *
 * Paging follows Intel SDM Vol. 3A chapter 4: 32-bit paging with 4 KiB and
 * PSE 4 MiB pages (4.3), PAE (4.4) and 4-level paging (4.5); U/S, R/W, NX
 * (EFER.NXE), CR0.WP, accessed/dirty updates, global pages (CR4.PGE), and
 * #PF error codes (4.7). PCID is not offered. PAE PDPTEs are read at walk
 * time instead of being cached at CR3 load (a guest can only tell by writing
 * live PDPTEs without reloading CR3, which the SDM calls undefined).
 *
 * The software TLB maps a linear page straight to a host pointer; an entry
 * carries separate tags for read, write and execute so each kind of access
 * is one compare on the fast path (cpu.h). Entries are never filled for
 * MMIO, the local APIC page or ROM writes: those always take the slow path
 * here. Writes to pages that hold decoded code also take the slow path
 * (code_pages) so the decoded blocks are dropped (self-modifying code).
 *
 * Accessed/dirty bits are set with host atomics so concurrent walks on
 * other vCPUs never lose an update.
 */
#include <stdio.h>

#include "cpu/cpu.h"
#include "devices/apic/lapic.h"
#include "guestmem.h"
#include "iobus.h"
#include "log.h"
#include "machine.h"

#define PTE_P 0x1ULL
#define PTE_W 0x2ULL
#define PTE_U 0x4ULL
#define PTE_A 0x20ULL
#define PTE_D 0x40ULL
#define PTE_PS 0x80ULL
#define PTE_G 0x100ULL
#define PTE_NX (1ULL << 63)
/* MAXPHYADDR is 40 (CPUID 0x80000008): bits 40-51 of an entry are reserved. */
#define PTE_ADDR 0x000000fffffff000ULL
#define PTE_RSVD_HI 0x000fff0000000000ULL

#define PF_P 0x1u
#define PF_W 0x2u
#define PF_U 0x4u
#define PF_RSVD 0x8u
#define PF_I 0x10u

struct walk {
	uint64_t gpa;
	bool user, write, nx, global, dirty;
	bool large;                     /* a 2 MiB or 4 MiB page */
};

static inline uint64_t mmu_a20(const struct cpu *c, uint64_t gpa)
{
	return c->vm->a20 ? gpa : gpa & ~(1ULL << 20);
}

void mmu_flush(struct cpu *c, bool global)
{
	for (unsigned i = 0; i < 2; i++)
		for (unsigned j = 0; j < TLB_SIZE; j++) {
			struct tlb_entry *e = &c->tlb[i][j];
			struct tlb_info *x = &c->tlb_info[i][j];
			if (global || !x->global)
				e->tag_r = e->tag_w = x->tag_x = TLB_INVALID;
		}
	if (global)
		c->tlb_large = false;
	decode_flush_jmp_cache(c);
}

/* The linear page an entry holds, whichever of its tags is valid. */
static uint64_t mmu_tlb_page(const struct tlb_entry *e, const struct tlb_info *x)
{
	return e->tag_r != TLB_INVALID ? e->tag_r : x->tag_x;
}

/*
 * INVLPG: the SDM (Vol. 3A 4.10.4.1) invalidates the translation of the
 * whole page that contains lin, whatever its size. The TLB caches 2 MiB and
 * 4 MiB pages as 4 KiB slots, so when any such slot exists, every slot
 * within the 4 MiB-aligned region around lin that came from a large page
 * goes too (over-flushing a 2 MiB neighbour is harmless).
 */
void mmu_flush_page(struct cpu *c, uint64_t lin)
{
	for (unsigned i = 0; i < 2; i++) {
		struct tlb_entry *e = &c->tlb[i][(lin >> 12) & (TLB_SIZE - 1)];
		e->tag_r = e->tag_w = c->tlb_info[i][(lin >> 12) & (TLB_SIZE - 1)].tag_x = TLB_INVALID;
	}
	if (c->tlb_large) {
		for (unsigned i = 0; i < 2; i++)
			for (unsigned j = 0; j < TLB_SIZE; j++) {
				struct tlb_entry *e = &c->tlb[i][j];
				struct tlb_info *x = &c->tlb_info[i][j];
				if (x->large && !((mmu_tlb_page(e, x) ^ lin) & ~0x3fffffULL))
					e->tag_r = e->tag_w = x->tag_x = TLB_INVALID;
			}
	}
	/* Blocks found by linear address may sit on the dropped pages. */
	decode_flush_jmp_cache(c);
}

void mmu_set_a20(struct cpu *c, bool on)
{
	(void)on;
	mmu_flush(c, true);
}

/* Host pointer to guest-physical RAM/ROM, or NULL. */
static uint8_t *mmu_host(struct cpu *c, uint64_t gpa, unsigned len)
{
	return guestmem_ptr(c->m->mem, gpa, len);
}

/* The xAPIC page of this vCPU's LAPIC, while it decodes MMIO. */
static bool mmu_is_apic(struct cpu *c, uint64_t gpa)
{
	return c->lapic && (gpa & ~0xfffULL) == lapic_base(c->lapic) &&
	       lapic_mmio_active(c->lapic);
}

uint64_t mmu_phys_read(struct cpu *c, uint64_t gpa, unsigned size)
{
	if (mmu_is_apic(c, gpa))
		return lapic_mmio_read(c->lapic, gpa & 0xfff) & cpu_mask(size);
	uint8_t *p = mmu_host(c, gpa, size);
	if (p)
		return cpu_load_host(p, size);
	return iobus_read(c->m->mmio, gpa, size);
}

void mmu_phys_write(struct cpu *c, uint64_t gpa, unsigned size, uint64_t v)
{
	if (mmu_is_apic(c, gpa)) {
		lapic_mmio_write(c->lapic, gpa & 0xfff, (uint32_t)v);
		return;
	}
	const struct guestmem_region *r = guestmem_region_at(c->m->mem, gpa);
	if (r && gpa + size <= r->gpa + r->size) {
		if (r->kind == GUESTMEM_ROM)
			return;         /* ROM ignores writes, as the flash does when locked */
		cpu_store_host(r->host + (gpa - r->gpa), size, v);
		uint64_t pfn = gpa >> 12;
		if (pfn < c->vm->code_pages_n &&
		    atomic_load_explicit(&c->vm->code_pages[pfn], memory_order_relaxed))
			decode_code_written(c->vm, c, gpa, size);
		return;
	}
	iobus_write(c->m->mmio, gpa, size, v);
}

/* Read a paging-structure entry; entries outside RAM read as not present. */
static uint64_t mmu_pte_read(struct cpu *c, uint64_t gpa, unsigned size)
{
	uint8_t *p = mmu_host(c, mmu_a20(c, gpa), size);
	return p ? cpu_load_host(p, size) : 0;
}

/* Set A (and D) in an entry without losing concurrent updates. */
static void mmu_pte_set(struct cpu *c, uint64_t gpa, unsigned size, uint64_t bits)
{
	uint8_t *p = mmu_host(c, mmu_a20(c, gpa), size);
	if (!p)
		return;
	if (size == 4) {
		if (((uintptr_t)p & 3) == 0)
			__atomic_fetch_or((uint32_t *)p, (uint32_t)bits, __ATOMIC_SEQ_CST);
	} else if (((uintptr_t)p & 7) == 0) {
		__atomic_fetch_or((uint64_t *)p, bits, __ATOMIC_SEQ_CST);
	}
}

_Noreturn static void mmu_fault(struct cpu *c, uint64_t lin, unsigned acc, bool user,
				uint32_t code)
{
	if (acc & ACC_W)
		code |= PF_W;
	if (user)
		code |= PF_U;
	if ((acc & ACC_X) && (c->efer & EFER_NXE) && (c->cr4 & CR4_PAE))
		code |= PF_I;
	cpu_raise_pf(c, lin, code);
}

/*
 * Walk the paging structures for lin. Raises #PF on a not-present entry, a
 * reserved bit or a permission violation; on success sets A/D as the access
 * requires and fills *w.
 */
static void mmu_walk(struct cpu *c, uint64_t lin, unsigned acc, bool user, struct walk *w)
{
	uint64_t ent_addr[4], ent[4];
	unsigned levels, nent = 0, esize;
	uint64_t rsvd_nx = (c->efer & EFER_NXE) ? 0 : PTE_NX;
	bool wr = true, us = true, nx = false;
	uint64_t pagebase, pagemask;

	if (!(c->cr4 & CR4_PAE)) {
		esize = 4;
		uint64_t pde_a = (c->cr3 & 0xfffff000ULL) + ((lin >> 22) & 0x3ff) * 4;
		uint64_t pde = mmu_pte_read(c, pde_a, 4);
		if (!(pde & PTE_P))
			mmu_fault(c, lin, acc, user, 0);
		ent_addr[nent] = pde_a;
		ent[nent++] = pde;
		if ((pde & PTE_PS) && (c->cr4 & CR4_PSE)) {
			/* PSE-36: bits 13-20 hold physical address bits 32-39. */
			if (pde & (1ULL << 21))
				mmu_fault(c, lin, acc, user, PF_P | PF_RSVD);
			pagebase = (pde & 0xffc00000ULL) | ((pde >> 13) & 0xffULL) << 32;
			pagemask = 0x3fffff;
		} else {
			uint64_t pte_a = (pde & 0xfffff000ULL) + ((lin >> 12) & 0x3ff) * 4;
			uint64_t pte = mmu_pte_read(c, pte_a, 4);
			if (!(pte & PTE_P))
				mmu_fault(c, lin, acc, user, 0);
			ent_addr[nent] = pte_a;
			ent[nent++] = pte;
			pagebase = pte & 0xfffff000ULL;
			pagemask = 0xfff;
		}
	} else {
		esize = 8;
		uint64_t table;
		if (c->efer & EFER_LMA) {
			levels = 4;
			table = c->cr3 & PTE_ADDR;
		} else {
			uint64_t pdpte_a = (c->cr3 & 0xffffffe0ULL) + ((lin >> 30) & 3) * 8;
			uint64_t pdpte = mmu_pte_read(c, pdpte_a, 8);
			if (!(pdpte & PTE_P))
				mmu_fault(c, lin, acc, user, 0);
			/* PAE PDPTEs have no R/W, U/S, A or NX (SDM Table 4-8). */
			if (pdpte & (PTE_RSVD_HI | 0x1e6ULL | PTE_NX))
				mmu_fault(c, lin, acc, user, PF_P | PF_RSVD);
			table = pdpte & PTE_ADDR;
			levels = 2;
		}
		for (unsigned l = levels; l-- > 0;) {
			unsigned shift = 12 + 9 * l;
			uint64_t a = table + ((lin >> shift) & 0x1ff) * 8;
			uint64_t e = mmu_pte_read(c, a, 8);
			if (!(e & PTE_P))
				mmu_fault(c, lin, acc, user, 0);
			if (e & (PTE_RSVD_HI | rsvd_nx))
				mmu_fault(c, lin, acc, user, PF_P | PF_RSVD);
			ent_addr[nent] = a;
			ent[nent++] = e;
			if (l == 0) {
				pagebase = e & PTE_ADDR;
				pagemask = 0xfff;
				break;
			}
			if (e & PTE_PS) {
				/* 2 MiB pages at the PD level; 1 GiB pages are not offered
				 * (no CPUID Page1GB) and PS in a PML4E is reserved. */
				if (l != 1 || (e & 0x1fe000ULL))
					mmu_fault(c, lin, acc, user, PF_P | PF_RSVD);
				pagebase = e & PTE_ADDR & ~0x1fffffULL;
				pagemask = 0x1fffff;
				break;
			}
			table = e & PTE_ADDR;
		}
	}

	for (unsigned i = 0; i < nent; i++) {
		wr = wr && (ent[i] & PTE_W);
		us = us && (ent[i] & PTE_U);
		nx = nx || (esize == 8 && (c->efer & EFER_NXE) && (ent[i] & PTE_NX));
	}
	bool prot = false;
	if (user && !us)
		prot = true;
	if ((acc & ACC_W) && !wr && (user || (c->cr0 & CR0_WP)))
		prot = true;
	if ((acc & ACC_X) && nx)
		prot = true;
	if (prot)
		mmu_fault(c, lin, acc, user, PF_P);

	uint64_t leaf = ent[nent - 1];
	for (unsigned i = 0; i < nent; i++)
		if (!(ent[i] & PTE_A))
			mmu_pte_set(c, ent_addr[i], esize, PTE_A);
	bool dirty = leaf & PTE_D;
	if ((acc & ACC_W) && !dirty) {
		mmu_pte_set(c, ent_addr[nent - 1], esize, PTE_D);
		dirty = true;
	}
	w->gpa = (pagebase & ~pagemask) | (lin & pagemask);
	w->user = us;
	w->write = wr || (!user && !(c->cr0 & CR0_WP));
	w->nx = nx;
	w->dirty = dirty;
	w->global = (c->cr4 & CR4_PGE) && (leaf & PTE_G);
	w->large = pagemask != 0xfff;
}

/* Fill the TLB slot for lin after a successful walk at privilege class idx. */
static void mmu_tlb_fill(struct cpu *c, unsigned idx, uint64_t lin, const struct walk *w)
{
	uint64_t gpa = mmu_a20(c, w->gpa) & ~0xfffULL;
	struct tlb_entry *e = &c->tlb[idx][(lin >> 12) & (TLB_SIZE - 1)];
	struct tlb_info *x = &c->tlb_info[idx][(lin >> 12) & (TLB_SIZE - 1)];
	e->tag_r = e->tag_w = x->tag_x = TLB_INVALID;
	if (mmu_is_apic(c, gpa) || !cpu_canonical(lin))
		return;
	const struct guestmem_region *r = guestmem_region_at(c->m->mem, gpa);
	if (!r)
		return;
	uint64_t page = lin & ~0xfffULL;
	bool user = idx == 1;
	e->addend = (uintptr_t)(r->host + (gpa - r->gpa)) - page;
	x->gpfn = gpa >> 12;
	x->global = w->global;
	x->large = w->large;
	c->tlb_large |= w->large;
	if (x->gpfn >= c->vm->code_pages_n)
		return;         /* no code tracking there: slow path only */
	e->code = &c->vm->code_pages[x->gpfn];
	if (!user || w->user) {
		e->tag_r = page;
		if (!w->nx)
			x->tag_x = page;
		if (w->write && w->dirty && r->kind == GUESTMEM_RAM)
			e->tag_w = page;
	}
}

/*
 * Translate lin for acc (ACC_R/W/X, maybe ACC_SUPER) and fill the TLB.
 * Without paging the linear address is the physical one (A20 applied).
 */
uint64_t mmu_translate(struct cpu *c, uint64_t lin, unsigned acc)
{
	bool user = c->cpl == 3 && !(acc & ACC_SUPER);
	struct walk w;
	if (!(c->cr0 & CR0_PG)) {
		w.gpa = lin & 0xffffffffULL;
		w.user = w.write = w.dirty = true;
		w.nx = w.global = w.large = false;
	} else {
		mmu_walk(c, lin, acc, user, &w);
	}
	mmu_tlb_fill(c, user ? 1 : 0, lin, &w);
	return mmu_a20(c, w.gpa);
}

uint64_t mmu_read_slow(struct cpu *c, uint64_t lin, unsigned size, unsigned acc)
{
	if (!c->mode64)
		lin = (uint32_t)lin;
	if ((lin & 0xfff) + size > 0x1000) {
		uint64_t v = 0;
		for (unsigned i = 0; i < size; i++) {
			uint64_t l = c->mode64 ? lin + i : (uint32_t)(lin + i);
			v |= mmu_read_slow(c, l, 1, acc) << (8 * i);
		}
		return v;
	}
	uint64_t gpa = mmu_translate(c, lin, acc);
	return mmu_phys_read(c, gpa, size);
}

void mmu_write_slow(struct cpu *c, uint64_t lin, unsigned size, uint64_t v, unsigned acc)
{
	if (!c->mode64)
		lin = (uint32_t)lin;
	if ((lin & 0xfff) + size > 0x1000) {
		/* Check both pages before writing either (no partial stores). */
		uint64_t last = c->mode64 ? lin + size - 1 : (uint32_t)(lin + size - 1);
		mmu_translate(c, lin, acc);
		mmu_translate(c, last, acc);
		for (unsigned i = 0; i < size; i++) {
			uint64_t l = c->mode64 ? lin + i : (uint32_t)(lin + i);
			mmu_phys_write(c, mmu_translate(c, l, acc), 1, v >> (8 * i));
		}
		return;
	}
	uint64_t gpa = mmu_translate(c, lin, acc);
	mmu_phys_write(c, gpa, size, v);
}

uint64_t mmu_read_sys(struct cpu *c, uint64_t lin, unsigned size)
{
	return mmu_read_slow(c, lin, size, ACC_R | ACC_SUPER);
}

void mmu_write_sys(struct cpu *c, uint64_t lin, unsigned size, uint64_t v)
{
	mmu_write_slow(c, lin, size, v, ACC_W | ACC_SUPER);
}

uint8_t *mmu_rmw_ptr(struct cpu *c, uint64_t lin, unsigned size)
{
	if (!c->mode64)
		lin = (uint32_t)lin;
	if ((lin & 0xfff) + size > 0x1000) {
		uint64_t last = c->mode64 ? lin + size - 1 : (uint32_t)(lin + size - 1);
		mmu_translate(c, lin, ACC_W);
		mmu_translate(c, last, ACC_W);
		return NULL;
	}
	struct tlb_entry *e = &c->tlb[c->mmu_idx][(lin >> 12) & (TLB_SIZE - 1)];
	if (e->tag_w != (lin & ~0xfffULL))
		mmu_translate(c, lin, ACC_W);
	if (e->tag_w != (lin & ~0xfffULL))
		return NULL;
	return (uint8_t *)(uintptr_t)(lin + e->addend);
}

/* The write through mmu_rmw_ptr's pointer is done: if the page holds decoded
 * code, drop it (after the store, so a vCPU that decodes the page again
 * sees the new bytes). */
void mmu_rmw_done(struct cpu *c, uint64_t lin, unsigned size)
{
	if (!c->mode64)
		lin = (uint32_t)lin;
	unsigned i = (lin >> 12) & (TLB_SIZE - 1);
	const struct tlb_entry *e = &c->tlb[c->mmu_idx][i];
	if (atomic_load_explicit(e->code, memory_order_acquire))
		decode_code_written(c->vm, c, c->tlb_info[c->mmu_idx][i].gpfn << 12 | (lin & 0xfff),
				    size);
}

unsigned mmu_fetch(struct cpu *c, uint64_t lin, uint8_t *buf, unsigned len, uint64_t *gpa)
{
	if (!c->mode64)
		lin = (uint32_t)lin;
	unsigned avail = 0x1000 - (lin & 0xfff);
	if (len > avail)
		len = avail;
	struct tlb_entry *e = &c->tlb[c->mmu_idx][(lin >> 12) & (TLB_SIZE - 1)];
	struct tlb_info *x = &c->tlb_info[c->mmu_idx][(lin >> 12) & (TLB_SIZE - 1)];
	if (x->tag_x == (lin & ~0xfffULL)) {
		memcpy(buf, (const uint8_t *)(uintptr_t)(lin + e->addend), len);
		*gpa = (x->gpfn << 12) | (lin & 0xfff);
		return len;
	}
	uint64_t pa = mmu_translate(c, lin, ACC_X);
	*gpa = pa;
	const uint8_t *p = mmu_host(c, pa, len);
	if (p) {
		memcpy(buf, p, len);
	} else {
		for (unsigned i = 0; i < len; i++)
			buf[i] = (uint8_t)mmu_phys_read(c, pa + i, 1);
	}
	return len;
}
