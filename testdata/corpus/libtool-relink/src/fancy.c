#include "fancy.h"
int base_twice(int x);
int fancy(int x) { return base_twice(x) + 1; }
