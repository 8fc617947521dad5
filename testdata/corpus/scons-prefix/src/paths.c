const char *sconsy_share(void) { return SHAREDIR; }
