#include <stdio.h>
const char *palette_colours(void);
const char *palette_data(void);
int main(void) { printf("%s\n%s\n", palette_colours(), palette_data()); return 0; }
