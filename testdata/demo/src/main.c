#include <stdio.h>
#include "parts.h"

int main(void) {
	unsigned long x = 1;
	char line[256];
	FILE *f;

	for (unsigned i = 0; i < sizeof parts / sizeof parts[0]; i++)
		x = parts[i](x);
	printf("demo: %zu compiled parts, checksum %lu\n", sizeof parts / sizeof parts[0], x);
	f = fopen(DATADIR "/note", "r");
	if (f && fgets(line, sizeof line, f))
		printf("note from postFixup: %s", line);
	return 0;
}
