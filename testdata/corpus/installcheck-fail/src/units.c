#include <stdio.h>
int main(void)
{
    FILE *f = fopen(TABLE, "r");
    if (!f) { perror(TABLE); return 1; }
    fclose(f);
    return 0;
}
