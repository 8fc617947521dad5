#include "ltoconf.h"
const char *ltoconf_dir(void) { return CONFDIR; }
