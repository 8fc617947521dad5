#include <stdio.h>
#include <ctype.h>
int main(void)
{
    int c;
    while ((c = getchar()) != EOF) {
        if (isalpha(c)) {
            int base = isupper(c) ? 'A' : 'a';
            c = (c - base + 13) % 26 + base;
        }
        putchar(c);
    }
    return 0;
}
