#include <config.h>
#include <stdio.h>
int main(void) { printf("%s\n%s\n", GREETING, PKGDATADIR); return 0; }
