int fancy(int x);
