#include <stdio.h>

int main(int argc, char **argv)
{
	printf("core in %s greets %s\n", LIBEXEC, argc > 1 ? argv[1] : "nobody");
	return 0;
}
