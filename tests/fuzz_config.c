/* libFuzzer target: the config parser and overrides must never crash, and a
 * rejected input must leave the caller's config untouched. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <tscvisor/config.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hv_config cfg, before;
	struct cfg_error err;
	char *text = malloc(size ? size : 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	config_defaults(&cfg);
	before = cfg;
	if (config_parse(text, size, &cfg, &err)) {
		if (memcmp(&cfg, &before, sizeof(cfg)) != 0)
			abort();
		if (!memchr(err.msg, 0, sizeof(err.msg)) || !memchr(err.key, 0, sizeof(err.key)))
			abort();
	} else {
		/* The same bytes as an override must not crash either. */
		char line[300];
		size_t n = size < sizeof(line) - 1 ? size : sizeof(line) - 1;

		memcpy(line, data, n);
		line[n] = 0;
		before = cfg;
		if (config_override(&cfg, line, &err) && memcmp(&cfg, &before, sizeof(cfg)) != 0)
			abort();
	}
	free(text);
	return 0;
}
