# Included by tests/CMakeLists.txt: `make test` builds the fuzz targets, writes their seed corpora and runs each for
# a fixed number of iterations (CTest label "fuzz"; docs/reliability.md). In an ordinary (gcc) build the targets come
# from a separate, small clang build in <build>/fuzz (fuzz.build); in a -DMEDSSL_FUZZ=ON build they are this build's.
set(MEDSSL_FUZZ_RUNS 3000 CACHE STRING "Iterations of each fuzz target in make test (libFuzzer -runs)")
set(MEDSSL_FUZZ_TARGETS nifti image2d dataset_json aptos_csv config torch_save_pickle)
set(fuzz_dir ${CMAKE_BINARY_DIR}/fuzz)

if(MEDSSL_FUZZ)
  set(fuzz_bin $<TARGET_FILE_DIR:fuzz_nifti>)
  list(APPEND MEDSSL_FUZZ_TARGETS weights_file)
  add_test(NAME fuzz.build COMMAND ${CMAKE_COMMAND} -E echo "fuzz targets are part of this build (MEDSSL_FUZZ=ON)")
else()
  set(fuzz_bin ${fuzz_dir}/standalone)
  find_program(MEDSSL_FUZZ_CXX NAMES clang++-14 clang++)
  find_program(MEDSSL_FUZZ_CC NAMES clang-14 clang)
  if(MEDSSL_FUZZ_CXX AND MEDSSL_FUZZ_CC)
    add_test(NAME fuzz.build
             COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${CMAKE_SOURCE_DIR} -DBINARY_DIR=${fuzz_bin} -DCC=${MEDSSL_FUZZ_CC}
                     -DCXX=${MEDSSL_FUZZ_CXX} -DJOBS=2 -P ${CMAKE_SOURCE_DIR}/fuzz/build_standalone.cmake)
    # The build uses both cores: CTest runs nothing else meanwhile.
    set_tests_properties(fuzz.build PROPERTIES PROCESSORS 2 TIMEOUT 1200)
  else()
    add_test(NAME fuzz.build COMMAND ${CMAKE_COMMAND} -E false)
    message(WARNING "clang/clang++ not found: the fuzz.* tests will fail (install clang and libclang-rt-14-dev: make deps)")
  endif()
endif()
set_tests_properties(fuzz.build PROPERTIES FIXTURES_SETUP fuzz_built LABELS fuzz)

add_test(NAME fuzz.seeds COMMAND ${fuzz_bin}/fuzz_make_seeds ${fuzz_dir}/seeds ${CMAKE_SOURCE_DIR})
set_tests_properties(fuzz.seeds PROPERTIES FIXTURES_REQUIRED fuzz_built FIXTURES_SETUP fuzz_seeds LABELS fuzz)
add_test(NAME fuzz.seeds_torch_save
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/fuzz/make_torch_save_seeds.py ${fuzz_dir}/seeds)
set_tests_properties(fuzz.seeds_torch_save PROPERTIES FIXTURES_SETUP fuzz_seeds SKIP_RETURN_CODE 77 LABELS fuzz)

foreach(target ${MEDSSL_FUZZ_TARGETS})
  add_test(NAME fuzz.${target}
           COMMAND bash ${CMAKE_SOURCE_DIR}/fuzz/run_fuzzer.sh ${fuzz_bin}/fuzz_${target} ${fuzz_dir}/seeds/${target}
                   ${fuzz_dir}/work/${target} ${MEDSSL_FUZZ_RUNS})
  set_tests_properties(fuzz.${target} PROPERTIES FIXTURES_REQUIRED "fuzz_built;fuzz_seeds" LABELS fuzz TIMEOUT 600)
endforeach()
