# cmake -DSOURCE_DIR=<repo> -DBINARY_DIR=<dir> -DCC=clang -DCXX=clang++ -DJOBS=2 -P fuzz/build_standalone.cmake
# Configures (the first time) and builds the standalone fuzz project; CTest's fuzz.build runs it (fuzz_tests.cmake).
if(NOT EXISTS "${BINARY_DIR}/CMakeCache.txt")
  execute_process(COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/fuzz" -B "${BINARY_DIR}" "-DCMAKE_C_COMPILER=${CC}"
                          "-DCMAKE_CXX_COMPILER=${CXX}" RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "configuring the fuzz targets in ${BINARY_DIR} failed")
  endif()
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${BINARY_DIR}" -j "${JOBS}" RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the fuzz targets in ${BINARY_DIR} failed")
endif()
