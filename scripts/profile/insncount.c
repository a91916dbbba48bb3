/* insncount: a QEMU TCG plugin (plugin API version 1, QEMU 7.2) counting
 * executed instructions per guest virtual address inside one range, for
 * per-function costs of the hypervisor's exit path (docs/performance.md,
 * "Profiling recipe"). Debian ships no qemu-plugin.h, so the few functions
 * used are declared here.
 *
 *   gcc -shared -fPIC -O2 -o insncount.so scripts/profile/insncount.c
 *   qemu ... -plugin ./insncount.so,base=0x1e0c0000,size=0x9c000,out=counts.txt
 *
 * out gets "offset count" lines (offset from base, hex) for every address
 * that ran; scripts/profile/by-function turns them into per-function sums. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct {
	int dummy;
} qemu_info_t;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn,
						 enum qemu_plugin_op op, void *ptr, uint64_t imm);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb,
				    void *userdata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

static uint64_t base, size;
static uint64_t *counts;
static char out_path[512] = "insncount.txt";

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);

	(void)id;
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint64_t va = qemu_plugin_insn_vaddr(insn);

		if (va >= base && va - base < size)
			qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64,
								   &counts[va - base], 1);
	}
}

static void at_exit(qemu_plugin_id_t id, void *u)
{
	FILE *f = fopen(out_path, "w");

	(void)id;
	(void)u;
	if (!f)
		return;
	for (uint64_t i = 0; i < size; i++)
		if (counts[i])
			fprintf(f, "%" PRIx64 " %" PRIu64 "\n", i, counts[i]);
	fclose(f);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
							       const qemu_info_t *info, int argc,
							       char **argv)
{
	(void)info;
	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "base=", 5))
			base = strtoull(argv[i] + 5, NULL, 0);
		else if (!strncmp(argv[i], "size=", 5))
			size = strtoull(argv[i] + 5, NULL, 0);
		else if (!strncmp(argv[i], "out=", 4))
			snprintf(out_path, sizeof(out_path), "%s", argv[i] + 4);
	}
	if (!size || size > (1u << 28))
		return -1;
	counts = calloc(size, sizeof(*counts));
	if (!counts)
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
