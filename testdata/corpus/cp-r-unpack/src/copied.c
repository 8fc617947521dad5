#include <stdio.h>
#include "banner.h"
int main(void) { puts(BANNER); return 0; }
