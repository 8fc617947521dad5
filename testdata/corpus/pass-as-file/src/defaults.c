#include <stdio.h>
#include "defaults.h"
int main(void) { printf("%s %d\n", DEFAULT_COLOUR, DEFAULT_WIDTH); return 0; }
