#include <merkql/merkql.h>
#include <cstdio>
int main() { std::puts("merkql 0.1.0"); return 0; }
