#include <stdio.h>
int main(void) { printf("installed by manifest under %s\n", PREFIX); return 0; }
