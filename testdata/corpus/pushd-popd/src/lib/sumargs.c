#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv)
{
    long s = 0;
    for (int i = 1; i < argc; i++) s += atol(argv[i]);
    printf("%ld\n", s);
    return 0;
}
