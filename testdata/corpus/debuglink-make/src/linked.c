#include <stdio.h>
static const char share[] = SHARE;
int main(void) { printf("share: %s\n", share); return 0; }
