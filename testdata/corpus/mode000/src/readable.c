#include <stdio.h>
int main(int argc, char **argv)
{
    FILE *f = fopen(argv[1], "r");
    if (!f) { perror(argv[1]); return 1; }
    fclose(f);
    printf("%s: readable\n", argv[1]);
    return 0;
}
