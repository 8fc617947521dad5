#include <stdio.h>
int main(void) { puts("stamped"); return 0; }
