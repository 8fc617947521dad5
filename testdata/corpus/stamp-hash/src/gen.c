#include <stdio.h>
int main(void) { for (int i = 1; i <= 5; i++) printf("%d %d\n", i, i * i); return 0; }
