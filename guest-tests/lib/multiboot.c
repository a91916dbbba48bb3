/* multiboot.c — what the multiboot v1 loader handed over: the memory
 * summary, the memory map and the command line, whose key=value words are
 * the tests' options. */
#include "guest.h"

const struct mb_info *mb_info;

static const char *mmap_type(u32 type)
{
	switch (type) {
	case 1: return "RAM";
	case 2: return "reserved";
	case 3: return "ACPI reclaimable";
	case 4: return "ACPI NVS";
	case 5: return "bad";
	default: return "other";
	}
}

const char *mb_cmdline(void)
{
	if (!mb_info || !(mb_info->flags & MB_INFO_CMDLINE) || !mb_info->cmdline)
		return "";
	return (const char *)(uintptr_t)mb_info->cmdline;
}

u64 mb_ram_end(const struct mb_info *mbi)
{
	u64 end = 0;

	if (!mbi || !(mbi->flags & MB_INFO_MMAP))
		return 0;
	for (u32 off = 0; off < mbi->mmap_length;) {
		const struct mb_mmap_entry *e = phys_ptr(mbi->mmap_addr + off);

		if (e->type == 1 && e->base + e->length > end)
			end = e->base + e->length;
		off += e->size + 4;
	}
	return end;
}

/* Called by lib_start before test_main: prints the hand-off as diagnostics. */
void mb_report(void)
{
	const struct mb_info *mbi = mb_info;

	if (!mbi) {
		diag("multiboot: no info (magic 0x%08x)", mb_magic);
		return;
	}
	diag("multiboot: info at %p, flags 0x%x", (const void *)mbi, mbi->flags);
	if (mbi->flags & MB_INFO_MEM)
		diag("multiboot: mem_lower %u KiB, mem_upper %u KiB", mbi->mem_lower,
		     mbi->mem_upper);
	if (mbi->flags & MB_INFO_MMAP) {
		u64 p = mbi->mmap_addr, end = p + mbi->mmap_length;
		unsigned n = 0;

		while (p + sizeof(struct mb_mmap_entry) <= end && n < 64) {
			const struct mb_mmap_entry *e = (const void *)(uintptr_t)p;

			diag("multiboot: mmap 0x%010lx-0x%010lx %s",
			     e->base,
			     (e->base + e->length - 1), mmap_type(e->type));
			p += e->size + sizeof(e->size);
			n++;
		}
	}
	if (mbi->flags & MB_INFO_MODS)
		diag("multiboot: %u module(s)", mbi->mods_count);
	diag("multiboot: cmdline \"%s\"", mb_cmdline());
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool cmdline_get(const char *key, char *val, size_t size)
{
	const char *p = mb_cmdline();
	size_t klen = strlen(key);

	while (*p) {
		const char *w;
		size_t n = 0;

		while (is_space(*p))
			p++;
		w = p;
		while (*p && !is_space(*p))
			p++;
		if ((size_t)(p - w) > klen && !strncmp(w, key, klen) && w[klen] == '=') {
			w += klen + 1;
			while (w + n < p && n + 1 < size) {
				val[n] = w[n];
				n++;
			}
			if (size)
				val[n] = '\0';
			return true;
		}
	}
	return false;
}

static bool parse_u64(const char *s, u64 *out)
{
	unsigned base = 10;
	u64 v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

u64 cmdline_u64(const char *key, u64 dflt, bool *found)
{
	char buf[32];
	u64 v;

	if (found)
		*found = false;
	if (!cmdline_get(key, buf, sizeof(buf)))
		return dflt;
	if (!parse_u64(buf, &v)) {
		/* A typo must not silently fall back to the default. */
		ok(false, "option %s=%s is a number", key, buf);
		return dflt;
	}
	if (found)
		*found = true;
	return v;
}
