#include <stdio.h>
int main(int argc, char **argv) { printf("%ss\n", argc > 1 ? argv[1] : "thing"); return 0; }
