// Built against an installed merkql through find_package(merkql).
#include <merkql/merkql.h>

#include <cstdio>

int main()
{
  std::printf("%s\n", merkql::to_hex(merkql::sha256("merk")).c_str());
  return 0;
}
