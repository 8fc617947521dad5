#include <stdio.h>
const char *sconsy_share(void);
const char *sconsy_name(void);
int main(void) { printf("%s shares %s\n", sconsy_name(), sconsy_share()); return 0; }
