#include <stdio.h>
int main(void) { puts("component beta"); return 0; }
