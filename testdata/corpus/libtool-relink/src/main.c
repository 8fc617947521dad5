#include <stdio.h>
#include "fancy.h"
int main(void) { printf("fancy(20) = %d\n", fancy(20)); return 0; }
