#include <stdio.h>
#include "config.h"
#include "tagged.h"
int main(void)
{
    printf("%s\n%s\n", tagged_greeting(), DATADIR);
    return 0;
}
