#include "config.h"
#include "tagged.h"
const char *tagged_greeting(void) { return GREETING; }
