# Every third-party dependency, each from a Debian 12 package.
find_package(OpenSSL 3.0 REQUIRED COMPONENTS Crypto)   # libssl-dev
find_package(fmt 9 REQUIRED)                           # libfmt-dev
find_package(nlohmann_json 3.11 REQUIRED)              # nlohmann-json3-dev
find_package(CLI11 2.1 REQUIRED)                       # libcli11-dev
find_package(Threads REQUIRED)                         # produce writes on a second thread
find_package(PkgConfig REQUIRED)
pkg_check_modules(LZ4 REQUIRED IMPORTED_TARGET liblz4>=1.9) # liblz4-dev
find_package(simdjson 3 REQUIRED)                      # libsimdjson-dev: produce's line parser
# librdkafka-dev: merkql forward. Without it everything else builds, and
# merkql forward says it was built without Kafka support.
if(MERKQL_KAFKA)
  pkg_check_modules(RDKAFKA IMPORTED_TARGET rdkafka>=1.9)
endif()
if(RDKAFKA_FOUND)
  set(MERKQL_WITH_KAFKA ON)
else()
  set(MERKQL_WITH_KAFKA OFF)
  message(STATUS "merkql forward is built without Kafka support (librdkafka not found, or -DMERKQL_KAFKA=OFF)")
endif()
if(MERKQL_BUILD_BENCH)
  find_package(benchmark 1.7 REQUIRED)                 # libbenchmark-dev: bench/ micro benchmarks
endif()
if(MERKQL_BUILD_TESTS)
  find_package(doctest 2.4 REQUIRED)                   # doctest-dev
endif()
