const char *ltoconf_dir(void);
