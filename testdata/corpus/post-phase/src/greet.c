#include <stdio.h>
#include <string.h>
int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--help") == 0) { puts("usage: greet [NAME]"); return 0; }
    printf("hello, %s\n", argc > 1 ? argv[1] : "world");
    return 0;
}
