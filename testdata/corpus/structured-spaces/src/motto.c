#include <stdio.h>
int main(void) { puts(MOTTO); return 0; }
