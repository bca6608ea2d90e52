/*
 * config: VM files and `lodge run` flags (see config.h).
 *
 * One table lists every setting once, with its file section/key and its flag.
 * Both the INI handler and the flag parser look settings up in it and call the
 * same setter, which is what keeps the two views identical.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ui/input.h"

/* Where a value came from: "file:line" or "--flag", plus the base folder. */
struct where {
	char text[96];
	const char *dir;                /* relative paths resolve here; NULL = cwd */
	int index;                      /* section index, e.g. 2 for [serial2] */
};

typedef int setter_fn(struct config *cfg, const char *value, const struct where *w,
		      char *err, size_t errlen);

struct setting {
	const char *section;            /* "serial" matches serial0..serial3 */
	const char *key;
	const char *flag;               /* long option name, NULL if file-only */
	int has_arg;
	setter_fn *set;
	const char *help_arg;
	const char *help;
};

static int fail(char *err, size_t errlen, const struct where *w, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, const struct where *w, const char *fmt, ...)
{
	char msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s: %s", w->text, msg);
	return -1;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d) {
		fprintf(stderr, "lodge: out of memory\n");
		exit(1);
	}
	return d;
}

static void replace_str(char **slot, const char *value)
{
	free(*slot);
	*slot = value ? xstrdup(value) : NULL;
}

/* Resolve value against w->dir unless absolute; record where it came from. */
static void set_path(struct config_path *p, const char *value, const struct where *w)
{
	free(p->path);
	p->path = NULL;
	if (!value || !*value)
		return;
	if (value[0] == '/' || !w->dir) {
		p->path = xstrdup(value);
	} else {
		size_t n = strlen(w->dir) + strlen(value) + 2;
		p->path = malloc(n);
		if (!p->path)
			exit(1);
		snprintf(p->path, n, "%s/%s", w->dir, value);
	}
	snprintf(p->origin, sizeof(p->origin), "%s", w->text);
}

int config_parse_size(const char *s, uint64_t default_unit, uint64_t *out)
{
	char *end;
	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	uint64_t unit = default_unit;
	if (*end) {
		switch (*end) {
		case 'k': case 'K': unit = 1ULL << 10; break;
		case 'm': case 'M': unit = 1ULL << 20; break;
		case 'g': case 'G': unit = 1ULL << 30; break;
		case 't': case 'T': unit = 1ULL << 40; break;
		case 'b': case 'B': unit = 1; break;
		default: return -1;
		}
		end++;
		/* Accept "512M", "512MB", "512MiB". */
		if (unit != 1 && (*end == 'i' || *end == 'I'))
			end++;
		if (unit != 1 && (*end == 'b' || *end == 'B'))
			end++;
		if (*end)
			return -1;
	}
	if (v > UINT64_MAX / unit)
		return -1;
	*out = v * unit;
	return 0;
}

int config_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };
	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

const char *config_accel_name(enum config_accel a)
{
	switch (a) {
	case ACCEL_KVM: return "kvm";
	case ACCEL_EMU: return "emu";
	default: return "auto";
	}
}

/* ---- setters ---------------------------------------------------------- */

static int set_memory(struct config *cfg, const char *v, const struct where *w,
		      char *err, size_t errlen)
{
	uint64_t bytes;
	if (config_parse_size(v, 1ULL << 20, &bytes))
		return fail(err, errlen, w, "memory size '%s' is not a size like 512M or 2G", v);
	if (bytes < CONFIG_MIN_MEM || bytes > CONFIG_MAX_MEM)
		return fail(err, errlen, w, "memory size '%s' is outside 16M..1T", v);
	if (bytes & ((1ULL << 20) - 1))
		return fail(err, errlen, w, "memory size '%s' is not a whole number of MiB", v);
	cfg->mem_bytes = bytes;
	return 0;
}

/* The index of v in names[0..n), or -1: keyword values map to enums. */
static int config_keyword(const char *v, const char *const names[], int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v, names[i]))
			return i;
	return -1;
}

static int set_cpus(struct config *cfg, const char *v, const struct where *w,
		    char *err, size_t errlen)
{
	char *end;
	long n = strtol(v, &end, 10);
	if (*v == 0 || *end || n < 1 || n > CONFIG_MAX_CPUS)
		return fail(err, errlen, w, "cpu count '%s' is not a number from 1 to %d", v,
			    CONFIG_MAX_CPUS);
	cfg->cpus = (unsigned)n;
	return 0;
}

static int set_accel(struct config *cfg, const char *v, const struct where *w,
		     char *err, size_t errlen)
{
	static const char *const names[] = { "auto", "kvm", "emu" };   /* enum config_accel */
	int i = config_keyword(v, names, 3);
	if (i < 0)
		return fail(err, errlen, w, "accelerator '%s' is not one of auto, kvm, emu", v);
	cfg->accel = (enum config_accel)i;
	return 0;
}

static int set_name(struct config *cfg, const char *v, const struct where *w,
		    char *err, size_t errlen)
{
	if (!*v)
		return fail(err, errlen, w, "the VM name is empty");
	replace_str(&cfg->name, v);
	return 0;
}

#define PATH_SETTER(fn, field)                                                 \
	static int fn(struct config *cfg, const char *v, const struct where *w, \
		      char *err, size_t errlen)                                \
	{                                                                      \
		set_path(&cfg->field, v, w);                                   \
		return 0;                                                      \
	}
PATH_SETTER(set_kernel, kernel)
PATH_SETTER(set_initrd, initrd)
PATH_SETTER(set_multiboot, multiboot)
PATH_SETTER(set_bios, bios)

static int set_append(struct config *cfg, const char *v, const struct where *w,
		      char *err, size_t errlen)
{
	replace_str(&cfg->append, v);
	return 0;
}

/* "FILE" or "FILE ARGS": the module and the command line the kernel sees. */
static int set_module(struct config *cfg, const char *v, const struct where *w,
		      char *err, size_t errlen)
{
	if (cfg->nmodules == CONFIG_MAX_MODULES)
		return fail(err, errlen, w, "more than %d multiboot modules", CONFIG_MAX_MODULES);
	if (!*v)
		return fail(err, errlen, w, "module path is empty");
	struct config_module *m = &cfg->modules[cfg->nmodules++];
	char *copy = xstrdup(v);
	char *space = strchr(copy, ' ');
	if (space)
		*space = 0;
	set_path(&m->file, copy, w);
	m->args = xstrdup(v);   /* the whole string, as GRUB passes it */
	free(copy);
	return 0;
}

static int parse_serial_spec(struct config_serial *s, const char *v, const struct where *w,
			     char *err, size_t errlen)
{
	if (!strcmp(v, "stdio")) {
		s->mode = SERIAL_STDIO;
	} else if (!strcmp(v, "none")) {
		s->mode = SERIAL_NONE;
	} else if (!strncmp(v, "file:", 5) && v[5]) {
		s->mode = SERIAL_FILE;
		set_path(&s->file, v + 5, w);
	} else {
		return fail(err, errlen, w, "serial mode '%s' is not stdio, none or file:PATH", v);
	}
	return 0;
}

static int set_serial_mode(struct config *cfg, const char *v, const struct where *w,
			   char *err, size_t errlen)
{
	return parse_serial_spec(&cfg->serial[w->index], v, w, err, errlen);
}

/* --serial [N=]SPEC: N is the port index as in [serialN]; default 0 (COM1). */
static int set_serial_flag(struct config *cfg, const char *v, const struct where *w,
			   char *err, size_t errlen)
{
	int idx = 0;
	if (v[0] >= '0' && v[0] <= '9' && v[1] == '=') {
		idx = v[0] - '0';
		v += 2;
		if (idx >= CONFIG_MAX_SERIAL)
			return fail(err, errlen, w, "serial port %d does not exist (0-%d)", idx,
				    CONFIG_MAX_SERIAL - 1);
	}
	return parse_serial_spec(&cfg->serial[idx], v, w, err, errlen);
}

/* "dc", "cdn", ...: the BIOS tries these device kinds first, in order. */
static int set_boot_order(struct config *cfg, const char *v, const struct where *w,
			  char *err, size_t errlen)
{
	size_t n = strlen(v);
	if (n == 0 || n > CONFIG_BOOT_ORDER_MAX)
		return fail(err, errlen, w, "boot order '%s' is not 1 to %d of the letters c, d, n",
			    v, CONFIG_BOOT_ORDER_MAX);
	for (size_t i = 0; i < n; i++) {
		if (!strchr("cdn", v[i]))
			return fail(err, errlen, w, "boot order '%s': '%c' is not a boot device "
				    "(c = hard disk, d = CD/DVD, n = network)", v, v[i]);
		if (memchr(v, v[i], i))
			return fail(err, errlen, w, "boot order '%s' names '%c' twice", v, v[i]);
	}
	memcpy(cfg->boot_order, v, n + 1);
	return 0;
}

static int set_option_rom(struct config *cfg, const char *v, const struct where *w,
			  char *err, size_t errlen)
{
	if (cfg->noption_roms == CONFIG_MAX_OPTION_ROMS)
		return fail(err, errlen, w, "more than %d option ROMs", CONFIG_MAX_OPTION_ROMS);
	if (!*v)
		return fail(err, errlen, w, "option ROM path is empty");
	set_path(&cfg->option_roms[cfg->noption_roms++], v, w);
	return 0;
}

static const char *const drive_position[CONFIG_MAX_DRIVES] = {
	"primary master", "primary slave", "secondary master", "secondary slave",
};

const char *config_drive_position(unsigned index)
{
	return index < CONFIG_MAX_DRIVES ? drive_position[index] : "?";
}

/* A drive's image at IDE position w->index; two settings may not claim one
 * position (a VM file's [cdrom] and [ide2], say). */
static int put_drive(struct config *cfg, const char *v, enum config_media media,
		     const struct where *w, char *err, size_t errlen)
{
	struct config_drive *d = &cfg->drive[w->index];
	if (!*v)
		return fail(err, errlen, w, "the %s file name is empty",
			    media == MEDIA_CDROM ? "CD/DVD image" : "disk");
	if (d->file.path)
		return fail(err, errlen, w, "the IDE %s already holds '%s' (from %s)",
			    drive_position[w->index], d->file.path, d->file.origin);
	set_path(&d->file, v, w);
	d->media = media;
	return 0;
}

static int set_drive_file(struct config *cfg, const char *v, const struct where *w,
			  char *err, size_t errlen)
{
	/* [ideN] media= may come before or after file=: keep what it said. */
	return put_drive(cfg, v, cfg->drive[w->index].media, w, err, errlen);
}

static int set_drive_media(struct config *cfg, const char *v, const struct where *w,
			   char *err, size_t errlen)
{
	static const char *const names[] = { "disk", "cdrom" };      /* enum config_media */
	int i = config_keyword(v, names, 2);
	if (i < 0)
		return fail(err, errlen, w, "media '%s' is not disk or cdrom", v);
	cfg->drive[w->index].media = (enum config_media)i;
	return 0;
}

/* --cdrom FILE, [cdrom] file=: the secondary master if free (where SeaBIOS,
 * Windows and Linux installers expect a PC's CD drive), else the first free
 * position. */
static int set_cdrom_file(struct config *cfg, const char *v, const struct where *w,
			  char *err, size_t errlen)
{
	struct where at = *w;
	at.index = CONFIG_CDROM_POSITION;
	for (unsigned i = 0; cfg->drive[at.index].file.path && i < CONFIG_MAX_DRIVES; i++)
		at.index = (int)i;
	if (cfg->drive[at.index].file.path)
		return fail(err, errlen, w, "all %d IDE positions already hold a drive",
			    CONFIG_MAX_DRIVES);
	return put_drive(cfg, v, MEDIA_CDROM, &at, err, errlen);
}

static int set_drive_bool(bool *field, const char *v, const struct where *w, char *err,
			  size_t errlen)
{
	if (config_parse_bool(v, field))
		return fail(err, errlen, w, "'%s' is not true or false", v);
	return 0;
}

static int set_drive_undo(struct config *cfg, const char *v, const struct where *w,
			  char *err, size_t errlen)
{
	return set_drive_bool(&cfg->drive[w->index].undo, v, w, err, errlen);
}

static int set_drive_readonly(struct config *cfg, const char *v, const struct where *w,
			      char *err, size_t errlen)
{
	return set_drive_bool(&cfg->drive[w->index].read_only, v, w, err, errlen);
}

/* --disk FILE: the first IDE position the file and earlier flags left empty. */
static int set_disk_flag(struct config *cfg, const char *v, const struct where *w,
			 char *err, size_t errlen)
{
	for (unsigned i = 0; i < CONFIG_MAX_DRIVES; i++) {
		if (cfg->drive[i].file.path)
			continue;
		struct where at = *w;
		at.index = (int)i;
		return put_drive(cfg, v, MEDIA_DISK, &at, err, errlen);
	}
	return fail(err, errlen, w, "all %d IDE positions already hold a drive", CONFIG_MAX_DRIVES);
}

static int set_undo_flag(struct config *cfg, const char *v, const struct where *w,
			 char *err, size_t errlen)
{
	cfg->undo_all = true;
	return 0;
}

static int set_on_exit(struct config *cfg, const char *v, const struct where *w,
		       char *err, size_t errlen)
{
	/* enum config_on_exit; "ask" is only the default, never written. */
	static const char *const names[] = { "", "commit", "discard", "keep" };
	int i = *v ? config_keyword(v, names, 4) : -1;
	if (i < 0)
		return fail(err, errlen, w, "'%s' is not commit, discard or keep", v);
	cfg->on_exit = (enum config_on_exit)i;
	return 0;
}

#define BOOL_SETTER(fn, field)                                                 \
	static int fn(struct config *cfg, const char *v, const struct where *w, \
		      char *err, size_t errlen)                                \
	{                                                                      \
		if (!v) {                                                      \
			cfg->field = true;                                     \
			return 0;                                              \
		}                                                              \
		if (config_parse_bool(v, &cfg->field))                         \
			return fail(err, errlen, w,                            \
				    "'%s' is not true or false", v);           \
		return 0;                                                      \
	}
BOOL_SETTER(set_headless, headless)
BOOL_SETTER(set_strict_io, strict_io)
BOOL_SETTER(set_debug_exit, debug_exit)
BOOL_SETTER(set_boot_menu, boot_menu)
BOOL_SETTER(set_icount, icount)

static int set_debug(struct config *cfg, const char *v, const struct where *w,
		     char *err, size_t errlen)
{
	replace_str(&cfg->debug_tags, v);
	return 0;
}

/*
 * Decode one half of MARKER:TEXT into out (at least strlen(*p) + 1 bytes):
 * \n \r \t \e \\ \: and \xHH escapes. Stops at an unescaped ':' when
 * at_colon is set. Returns 0, or -1 with err filled.
 */
static int type_at_unescape(const char **p, char *out, bool at_colon, const struct where *w,
			    char *err, size_t errlen)
{
	const char *s = *p;
	while (*s && !(at_colon && *s == ':')) {
		if (*s != '\\') {
			*out++ = *s++;
			continue;
		}
		char c = s[1];
		if (!c)
			return fail(err, errlen, w, "a lone '\\' ends the text (write \\\\)");
		s += 2;
		switch (c) {
		case 'n': *out++ = '\n'; break;
		case 'r': *out++ = '\r'; break;
		case 't': *out++ = '\t'; break;
		case 'e': *out++ = 0x1b; break;
		case '\\': case ':': *out++ = c; break;
		case 'x': {
			char hex[3] = { s[0], s[0] ? s[1] : 0, 0 };
			unsigned long v = strtoul(hex, NULL, 16);
			if (!isxdigit((unsigned char)hex[0]) || !isxdigit((unsigned char)hex[1]) || !v)
				return fail(err, errlen, w, "'\\x' needs two hex digits naming "
					    "a byte from 01 to ff");
			*out++ = (char)v;
			s += 2;
			break;
		}
		default:
			return fail(err, errlen, w, "'\\%c' is not an escape (use \\n \\r \\t "
				    "\\e \\\\ \\: or \\xHH)", c);
		}
	}
	*out = 0;
	*p = s;
	return 0;
}

/* --type-at MARKER:TEXT: when serial output shows MARKER, type TEXT. */
static int set_type_at(struct config *cfg, const char *v, const struct where *w,
		       char *err, size_t errlen)
{
	if (cfg->ntype_at == CONFIG_MAX_TYPE_AT)
		return fail(err, errlen, w, "more than %d --type-at scripts", CONFIG_MAX_TYPE_AT);
	size_t n = strlen(v) + 1;
	char *marker = malloc(n), *text = malloc(n);
	if (!marker || !text) {
		fprintf(stderr, "lodge: out of memory\n");
		exit(1);
	}
	const char *p = v;
	if (type_at_unescape(&p, marker, true, w, err, errlen))
		goto free_both;
	if (*p != ':') {
		fail(err, errlen, w, "'%s' is not MARKER:TEXT (write a colon in MARKER as \\:)", v);
		goto free_both;
	}
	p++;
	if (type_at_unescape(&p, text, false, w, err, errlen))
		goto free_both;
	if (!*marker || strlen(marker) > INPUT_MARKER_MAX) {
		fail(err, errlen, w, "the marker must have 1 to %d characters", INPUT_MARKER_MAX);
		goto free_both;
	}
	if (!*text) {
		fail(err, errlen, w, "there is no text to type after '%s'", marker);
		goto free_both;
	}
	for (const char *t = text; *t; t++) {
		if (!input_char_typeable(*t)) {
			fail(err, errlen, w, "byte %#04x in the text has no key on a US keyboard",
			     (unsigned char)*t);
			goto free_both;
		}
	}
	struct config_type_at *ta = &cfg->type_at[cfg->ntype_at++];
	ta->marker = marker;
	ta->text = text;
	snprintf(ta->origin, sizeof(ta->origin), "%s", w->text);
	return 0;
free_both:
	free(marker);
	free(text);
	return -1;
}

static const struct setting settings[] = {
	{ "machine", "name", "name", required_argument, set_name, "NAME",
	  "name shown in the log and window title (default: the file name)" },
	{ "machine", "memory", "mem", required_argument, set_memory, "SIZE",
	  "guest RAM, e.g. 512M or 2G (default 512M)" },
	{ "machine", "cpus", "cpus", required_argument, set_cpus, "N",
	  "number of virtual CPUs (default 1)" },
	{ "machine", "accel", "accel", required_argument, set_accel, "auto|kvm|emu",
	  "execution engine (default auto: KVM if hardware-backed, else software)" },
	{ "machine", "headless", "headless", no_argument, set_headless, NULL,
	  "run without a window" },
	{ "machine", "strict-io", "strict-io", no_argument, set_strict_io, NULL,
	  "stop the VM on an access to an unclaimed port or address (for tests)" },
	{ "machine", "debug-exit", "debug-exit", no_argument, set_debug_exit, NULL,
	  "enable the test exit device: a write of V to port 0xf4 exits with (V<<1)|1" },
	{ "machine", "icount", "icount", no_argument, set_icount, NULL,
	  "software CPU: guest time follows retired instructions (reproducible runs)" },
	{ "boot", "kernel", "kernel", required_argument, set_kernel, "FILE",
	  "Linux bzImage to boot directly, without firmware" },
	{ "boot", "initrd", "initrd", required_argument, set_initrd, "FILE",
	  "initial ramdisk for --kernel" },
	{ "boot", "append", "append", required_argument, set_append, "STRING",
	  "kernel command line (--kernel, --multiboot)" },
	{ "boot", "multiboot", "multiboot", required_argument, set_multiboot, "FILE",
	  "multiboot v1 kernel (ELF32 or a.out kludge) to boot directly" },
	{ "boot", "module", "module", required_argument, set_module, "'FILE [ARGS]'",
	  "multiboot module (repeatable)" },
	{ "boot", "bios", "bios", required_argument, set_bios, "FILE",
	  "firmware image mapped below 4 GiB and 1 MiB, entered at the reset vector "
	  "(default: " CONFIG_DEFAULT_BIOS ")" },
	{ "boot", "order", "boot", required_argument, set_boot_order, "c|d|n...",
	  "BIOS boot order: c = hard disk, d = CD/DVD, n = network (default cd)" },
	{ "boot", "menu", "boot-menu", no_argument, set_boot_menu, NULL,
	  "let the BIOS offer its boot menu (press ESC during POST)" },
	{ "boot", "option-rom", "option-rom", required_argument, set_option_rom, "FILE",
	  "option ROM the BIOS runs after the PCI ROMs (repeatable)" },
	{ "machine", "on-exit", "on-exit", required_argument, set_on_exit, "commit|discard|keep",
	  "what to do with undo disks at power-off (default: ask on a terminal, else keep)" },
	{ "serial", "mode", NULL, required_argument, set_serial_mode, NULL, NULL },
	{ "ide", "file", NULL, required_argument, set_drive_file, NULL, NULL },
	{ "ide", "undo", NULL, required_argument, set_drive_undo, NULL, NULL },
	{ "ide", "readonly", NULL, required_argument, set_drive_readonly, NULL, NULL },
	{ "ide", "media", NULL, required_argument, set_drive_media, NULL, NULL },
	{ "cdrom", "file", "cdrom", required_argument, set_cdrom_file, "FILE",
	  "CD/DVD image (ISO) in the secondary master position" },
	{ NULL, NULL, "disk", required_argument, set_disk_flag, "FILE",
	  "disk image (VHD, raw) in the next free IDE position (repeatable)" },
	{ NULL, NULL, "undo", no_argument, set_undo_flag, NULL,
	  "keep every disk unchanged: writes go to undo disks (NAME.vud)" },
	{ NULL, NULL, "serial", required_argument, set_serial_flag, "[N=]stdio|file:PATH|none",
	  "serial port N (0-3, default 0 = COM1) back-end (COM1 default: stdio)" },
	{ "input", "type-at", "type-at", required_argument, set_type_at, "MARKER:TEXT",
	  "when serial output shows MARKER, type TEXT on the keyboard (repeatable, in order)" },
	{ NULL, NULL, "debug", required_argument, set_debug, "TAGS",
	  "debug log for comma-separated subsystems (e.g. uart,kvm)" },
};
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

void config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_bytes = 512ULL << 20;
	cfg->cpus = 1;
	cfg->accel = ACCEL_AUTO;
	cfg->serial[0].mode = SERIAL_STDIO;
	snprintf(cfg->boot_order, sizeof(cfg->boot_order), "cd");
}

static void path_free(struct config_path *p)
{
	free(p->path);
	p->path = NULL;
}

void config_free(struct config *cfg)
{
	free(cfg->file);
	free(cfg->name);
	free(cfg->append);
	free(cfg->debug_tags);
	path_free(&cfg->kernel);
	path_free(&cfg->initrd);
	path_free(&cfg->multiboot);
	path_free(&cfg->bios);
	for (unsigned i = 0; i < cfg->nmodules; i++) {
		path_free(&cfg->modules[i].file);
		free(cfg->modules[i].args);
	}
	for (unsigned i = 0; i < CONFIG_MAX_SERIAL; i++)
		path_free(&cfg->serial[i].file);
	for (unsigned i = 0; i < cfg->noption_roms; i++)
		path_free(&cfg->option_roms[i]);
	for (unsigned i = 0; i < cfg->ntype_at; i++) {
		free(cfg->type_at[i].marker);
		free(cfg->type_at[i].text);
	}
	for (unsigned i = 0; i < CONFIG_MAX_DRIVES; i++)
		path_free(&cfg->drive[i].file);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- VM files --------------------------------------------------------- */

struct ini_state {
	struct config *cfg;
	const char *display;            /* file name as the user gave it */
	char dir[PATH_MAX];
	int line;
	char *err;
	size_t errlen;
	int failed;
};

struct ini_stream {
	FILE *fp;
	struct ini_state *st;
};

/* Line-counting reader: inih calls it once per line, before the handler. */
static char *ini_read_line(char *str, int num, void *stream)
{
	struct ini_stream *s = stream;
	char *r = fgets(str, num, s->fp);
	if (r)
		s->st->line++;
	return r;
}

/* How many numbered sections [NAME0].. a section name has; 0: not numbered. */
static int section_count(const char *want)
{
	if (!strcmp(want, "serial"))
		return CONFIG_MAX_SERIAL;
	if (!strcmp(want, "ide"))
		return CONFIG_MAX_DRIVES;
	return 0;
}

/* Split "serial2" into ("serial", 2); other sections keep index 0. */
static bool section_match(const char *want, const char *section, int *index)
{
	size_t n = strlen(want);
	int count = section_count(want);
	if (strncmp(section, want, n))
		return false;
	if (section[n] == 0) {
		*index = 0;
		return count == 0;
	}
	if (count && section[n] >= '0' && section[n] < '0' + count && section[n + 1] == 0) {
		*index = section[n] - '0';
		return true;
	}
	return false;
}

static int config_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct ini_state *st = user;
	if (st->failed)
		return 0;
	struct where w = { .dir = st->dir };
	snprintf(w.text, sizeof(w.text), "%s:%d", st->display, st->line);
	if (!name) /* a new section: inih calls us with name NULL */
		return 1;
	for (size_t i = 0; i < NSETTINGS; i++) {
		const struct setting *s = &settings[i];
		int index;
		if (!s->section || !section_match(s->section, section, &index) ||
		    strcmp(s->key, name))
			continue;
		w.index = index;
		if (s->set(st->cfg, value, &w, st->err, st->errlen)) {
			st->failed = 1;
			return 0;
		}
		return 1;
	}
	bool known_section = false;
	for (size_t i = 0; i < NSETTINGS; i++) {
		int index;
		if (settings[i].section && section_match(settings[i].section, section, &index))
			known_section = true;
	}
	if (known_section)
		fail(st->err, st->errlen, &w, "unknown key '%s' in section [%s]", name, section);
	else
		fail(st->err, st->errlen, &w, "unknown section [%s]", section);
	st->failed = 1;
	return 0;
}

int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct ini_state st = { .cfg = cfg, .display = path, .err = err, .errlen = errlen };
	struct where w;
	snprintf(w.text, sizeof(w.text), "%s", path);

	FILE *fp = fopen(path, "r");
	if (!fp)
		return fail(err, errlen, &w, "cannot open the VM file: %s", strerror(errno));
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", path);
	snprintf(st.dir, sizeof(st.dir), "%s", dirname(tmp));

	struct ini_stream stream = { fp, &st };
	int rc = ini_parse_stream(ini_read_line, &stream, config_ini_handler, &st);
	fclose(fp);
	if (st.failed)
		return -1;
	if (rc > 0) {
		snprintf(w.text, sizeof(w.text), "%s:%d", path, rc);
		return fail(err, errlen, &w, "this line is not 'key = value' or '[section]'");
	}
	if (rc < 0)
		return fail(err, errlen, &w, "cannot read the VM file");

	replace_str(&cfg->file, path);
	if (!cfg->name) {
		snprintf(tmp, sizeof(tmp), "%s", path);
		char *base = basename(tmp);
		char *dot = strrchr(base, '.');
		if (dot && !strcmp(dot, ".lodge"))
			*dot = 0;
		replace_str(&cfg->name, base);
	}
	return 0;
}

/* ---- command line ----------------------------------------------------- */

void config_print_run_usage(void)
{
	printf("usage: lodge run [FILE.lodge] [options]\n\n"
	       "Runs a virtual machine. Options override the VM file's settings.\n\n");
	for (size_t i = 0; i < NSETTINGS; i++) {
		const struct setting *s = &settings[i];
		if (!s->flag)
			continue;
		char left[64];
		snprintf(left, sizeof(left), "--%s%s%s", s->flag, s->help_arg ? " " : "",
			 s->help_arg ? s->help_arg : "");
		printf("  %-34s %s\n", left, s->help);
	}
	printf("  %-34s %s\n", "-h, --help", "show this help");
}

int config_parse_run(struct config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	struct option opts[NSETTINGS + 2];
	size_t n = 0;
	for (size_t i = 0; i < NSETTINGS; i++) {
		if (!settings[i].flag)
			continue;
		opts[n].name = settings[i].flag;
		opts[n].has_arg = settings[i].has_arg;
		opts[n].flag = NULL;
		opts[n].val = 1000 + (int)i;
		n++;
	}
	opts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	opts[n] = (struct option){ NULL, 0, NULL, 0 };

	/* Pass 1: find the VM file and reject unknown flags before doing anything. */
	struct { int idx; char *arg; } seen[128];
	size_t nseen = 0;
	const char *file = NULL;
	struct where w = { .dir = NULL };

	optind = 1;
	opterr = 0;
	for (;;) {
		int c = getopt_long(argc, argv, "-h", opts, NULL);
		if (c == -1)
			break;
		if (c == 'h') {
			config_print_run_usage();
			return 1;
		}
		if (c == 1) {
			if (file) {
				snprintf(w.text, sizeof(w.text), "%s", optarg);
				return fail(err, errlen, &w,
					    "only one VM file can be given (already have %s)", file);
			}
			file = optarg;
			continue;
		}
		if (c == '?' || c == ':') {
			const char *bad = argv[optind - 1];
			snprintf(w.text, sizeof(w.text), "%s", bad);
			if (optopt && strncmp(bad, "--", 2))
				return fail(err, errlen, &w, "unknown option");
			for (size_t i = 0; i < n - 1; i++) {
				size_t len = strcspn(bad + 2, "=");
				if (!strncmp(bad + 2, opts[i].name, len) &&
				    opts[i].name[len] == 0 && opts[i].has_arg)
					return fail(err, errlen, &w, "this option needs a value");
			}
			return fail(err, errlen, &w, "unknown option (see lodge run --help)");
		}
		if (nseen == sizeof(seen) / sizeof(seen[0])) {
			snprintf(w.text, sizeof(w.text), "lodge run");
			return fail(err, errlen, &w, "too many options");
		}
		seen[nseen].idx = c - 1000;
		seen[nseen].arg = optarg;
		nseen++;
	}

	if (file && config_load_file(cfg, file, err, errlen))
		return -1;

	/* Pass 2: flags override the file, in the order given. */
	for (size_t i = 0; i < nseen; i++) {
		const struct setting *s = &settings[seen[i].idx];
		snprintf(w.text, sizeof(w.text), "--%s", s->flag);
		w.index = 0;
		if (s->set(cfg, seen[i].arg, &w, err, errlen))
			return -1;
	}
	if (!cfg->name)
		replace_str(&cfg->name, "lodge");
	for (unsigned i = 0; cfg->undo_all && i < CONFIG_MAX_DRIVES; i++)
		if (cfg->drive[i].file.path && cfg->drive[i].media == MEDIA_DISK)
			cfg->drive[i].undo = true;
	return 0;
}

static int check_file(const struct config_path *p, const char *what, char *err, size_t errlen)
{
	struct stat st;
	struct where w;
	if (!p->path)
		return 0;
	snprintf(w.text, sizeof(w.text), "%s", p->origin);
	if (stat(p->path, &st))
		return fail(err, errlen, &w, "%s '%s': %s", what, p->path, strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return fail(err, errlen, &w, "%s '%s' is not a regular file", what, p->path);
	if (access(p->path, R_OK))
		return fail(err, errlen, &w, "%s '%s' is not readable: %s", what, p->path,
			    strerror(errno));
	return 0;
}

int config_validate(const struct config *cfg, char *err, size_t errlen)
{
	struct where w;
	if (check_file(&cfg->kernel, "kernel", err, errlen) ||
	    check_file(&cfg->initrd, "initrd", err, errlen) ||
	    check_file(&cfg->multiboot, "multiboot kernel", err, errlen) ||
	    check_file(&cfg->bios, "firmware", err, errlen))
		return -1;
	for (unsigned i = 0; i < cfg->nmodules; i++)
		if (check_file(&cfg->modules[i].file, "module", err, errlen))
			return -1;
	for (unsigned i = 0; i < cfg->noption_roms; i++)
		if (check_file(&cfg->option_roms[i], "option ROM", err, errlen))
			return -1;
	for (unsigned i = 0; i < CONFIG_MAX_DRIVES; i++) {
		const struct config_drive *d = &cfg->drive[i];
		if (!d->file.path)
			continue;
		if (check_file(&d->file, d->media == MEDIA_CDROM ? "CD/DVD image" : "disk", err,
			       errlen))
			return -1;
		snprintf(w.text, sizeof(w.text), "%s", d->file.origin);
		if (d->media == MEDIA_CDROM) {
			if (d->undo)
				return fail(err, errlen, &w, "'%s' is a CD/DVD image, which is "
					    "read-only: undo applies to disks", d->file.path);
			continue;
		}
		if (d->undo && d->read_only)
			return fail(err, errlen, &w, "disk '%s' cannot be both read-only and have an "
				    "undo disk", d->file.path);
		if (!d->undo && !d->read_only && access(d->file.path, W_OK))
			return fail(err, errlen, &w, "disk '%s' is not writable: %s (use readonly or "
				    "undo)", d->file.path, strerror(errno));
	}
	if (cfg->kernel.path && cfg->multiboot.path) {
		snprintf(w.text, sizeof(w.text), "%s", cfg->multiboot.origin);
		return fail(err, errlen, &w, "give either a Linux kernel or a multiboot kernel, not both");
	}
	if (cfg->initrd.path && !cfg->kernel.path) {
		snprintf(w.text, sizeof(w.text), "%s", cfg->initrd.origin);
		return fail(err, errlen, &w, "an initrd needs a kernel to go with it");
	}
	if (cfg->nmodules && !cfg->multiboot.path) {
		snprintf(w.text, sizeof(w.text), "%s", cfg->modules[0].file.origin);
		return fail(err, errlen, &w, "modules need a multiboot kernel to go with them");
	}
	unsigned stdio = 0;
	for (unsigned i = 0; i < CONFIG_MAX_SERIAL; i++)
		stdio += cfg->serial[i].mode == SERIAL_STDIO;
	if (stdio > 1) {
		snprintf(w.text, sizeof(w.text), "serial");
		return fail(err, errlen, &w, "only one serial port can use stdio");
	}
	if (!cfg->kernel.path && !cfg->multiboot.path && !cfg->bios.path &&
	    access(CONFIG_DEFAULT_BIOS, R_OK)) {
		snprintf(w.text, sizeof(w.text), "%s", cfg->file ? cfg->file : "lodge run");
		return fail(err, errlen, &w,
			    "nothing to boot: the default BIOS %s is missing (install Debian's "
			    "seabios package) and no --bios, --kernel or --multiboot was given",
			    CONFIG_DEFAULT_BIOS);
	}
	return 0;
}
