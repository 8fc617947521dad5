#include <stdio.h>
int main(void) { puts(LIBDIR); return 0; }
