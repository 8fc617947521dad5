#include <stdio.h>
int main(void) { printf("test suite: %s\n", TESTS); return 0; }
