int base_twice(int x) { return 2 * x; }
