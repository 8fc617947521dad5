#include <stdio.h>
int main(void) { puts("component alpha"); return 0; }
