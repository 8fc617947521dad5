#include <stdio.h>
int main(void) { long n = 0; while (getchar() != EOF) n++; printf("%ld\n", n); return 0; }
