#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv)
{
    int want = argc > 1 ? atoi(argv[1]) : 1, k, v;
    FILE *f = fopen(TABLE, "r");
    if (!f) { perror(TABLE); return 1; }
    while (fscanf(f, "%d %d", &k, &v) == 2)
        if (k == want) { printf("%d\n", v); return 0; }
    return 1;
}
