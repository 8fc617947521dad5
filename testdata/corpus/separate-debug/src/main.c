#include <stdio.h>
#include <stdlib.h>
unsigned long fib(unsigned n);
int main(int argc, char **argv)
{
    printf("%lu\n", fib(argc > 1 ? atoi(argv[1]) : 10));
    return 0;
}
