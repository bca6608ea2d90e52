/*
 * config: one struct config describing a VM, filled from a VM file
 * (NAME.lodge, INI, parsed with libinih) and then from command-line flags,
 * which override the file. The two are views of the same settings: every flag
 * has a key and every key a flag (see README "VM files").
 *
 * Errors are one sentence naming where the bad input is ("demo.lodge:7:" or
 * "--mem:"), written into the caller's buffer; the CLI prints it and exits 2.
 * Paths in a VM file are resolved against the file's folder.
 */
#ifndef LODGE_CONFIG_H
#define LODGE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_CPUS 64
#define CONFIG_MAX_SERIAL 4
#define CONFIG_MAX_MODULES 16
#define CONFIG_MAX_OPTION_ROMS 8
#define CONFIG_BOOT_ORDER_MAX 3         /* c, d, n: each at most once */
#define CONFIG_MAX_TYPE_AT 16
#define CONFIG_MAX_DRIVES 4             /* IDE: primary master/slave, secondary master/slave */
#define CONFIG_CDROM_POSITION 2         /* --cdrom, [cdrom]: secondary master, as on most PCs */
#define CONFIG_MIN_MEM (16ULL << 20)
/* The BIOS used when no --kernel, --multiboot or --bios is given (Debian's
 * seabios package). */
#define CONFIG_DEFAULT_BIOS "/usr/share/seabios/bios-256k.bin"
#define CONFIG_MAX_MEM (1ULL << 40)

enum config_accel { ACCEL_AUTO, ACCEL_KVM, ACCEL_EMU };
enum serial_mode { SERIAL_NONE, SERIAL_STDIO, SERIAL_FILE };
/* What sits in a drive position (the IDE CD-ROM adds MEDIA_CDROM). */
/* What sits at an IDE position: a hard disk or a CD/DVD-ROM drive. */
enum config_media { MEDIA_DISK, MEDIA_CDROM };
/* Undo disks at power-off: ask on a terminal (else keep), or decided. */
enum config_on_exit { ON_EXIT_ASK, ON_EXIT_COMMIT, ON_EXIT_DISCARD, ON_EXIT_KEEP };

/* A path plus where it was given, for error messages. */
struct config_path {
	char *path;                     /* resolved; NULL if unset */
	char origin[96];                /* "demo.lodge:5" or "--kernel" */
};

struct config_serial {
	enum serial_mode mode;
	struct config_path file;
};

/* --type-at MARKER:TEXT, escapes decoded (see README "Scripted input"). */
struct config_type_at {
	char *marker, *text;
	char origin[96];
};

/* [ideN] / --disk: drive position N (0 primary master ... 3 secondary slave). */
struct config_drive {
	struct config_path file;        /* path NULL: the position is empty */
	enum config_media media;
	bool undo;                      /* writes go to an undo disk beside the file */
	bool read_only;
};

struct config_module {
	struct config_path file;
	char *args;                     /* multiboot module command line */
};

struct config {
	char *file;                     /* the VM file, NULL if none */
	char *name;                     /* VM name shown to the user */
	uint64_t mem_bytes;
	unsigned cpus;
	enum config_accel accel;

	struct config_path kernel, initrd, multiboot, bios;
	char *append;
	struct config_module modules[CONFIG_MAX_MODULES];
	unsigned nmodules;
	/* BIOS boot: device order ('c' disk, 'd' CD/DVD, 'n' network), the
	 * boot menu, extra option ROMs run by the BIOS (genroms/). */
	char boot_order[CONFIG_BOOT_ORDER_MAX + 1];
	bool boot_menu;
	struct config_path option_roms[CONFIG_MAX_OPTION_ROMS];
	unsigned noption_roms;

	struct config_serial serial[CONFIG_MAX_SERIAL];
	struct config_drive drive[CONFIG_MAX_DRIVES];
	bool undo_all;                  /* --undo: every drive gets an undo disk */
	enum config_on_exit on_exit;
	bool headless;
	bool strict_io;
	bool debug_exit;
	bool icount;                    /* guest time from retired instructions (emu) */
	char *debug_tags;               /* --debug TAGS */
	struct config_type_at type_at[CONFIG_MAX_TYPE_AT];
	unsigned ntype_at;
};

void config_init(struct config *cfg);
void config_free(struct config *cfg);

/* Load a VM file into cfg. Returns 0 or -1 with err filled. */
int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen);
/*
 * Parse `lodge run` arguments (argv[0] is "run"): an optional VM file and
 * flags. Loads the file first, then applies the flags. 0, 1 (help printed) or
 * -1 with err filled.
 */
int config_parse_run(struct config *cfg, int argc, char **argv, char *err, size_t errlen);
/* Cross-field checks and file existence; 0 or -1 with err filled. */
int config_validate(const struct config *cfg, char *err, size_t errlen);

/* Helpers shared with other front-ends (disk tool). */
int config_parse_size(const char *s, uint64_t default_unit, uint64_t *out);
int config_parse_bool(const char *s, bool *out);
/* "primary master" ... "secondary slave" for IDE position 0..3. */
const char *config_drive_position(unsigned index);
const char *config_accel_name(enum config_accel a);

void config_print_run_usage(void);

#endif
