# Run at every build (the medssl_git_commit target in CMakeLists.txt): writes OUT, a one-function source file with
# the commit the sources were built from, "-dirty" appended when tracked files differ from it, "unknown" outside a
# git checkout. configure_file rewrites OUT only when that text changes, so an unchanged commit recompiles nothing.
execute_process(COMMAND git rev-parse --short HEAD WORKING_DIRECTORY ${SOURCE_DIR}
                OUTPUT_VARIABLE MEDSSL_GIT_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT MEDSSL_GIT_COMMIT)
  set(MEDSSL_GIT_COMMIT "unknown")
else()
  execute_process(COMMAND git diff --quiet HEAD -- WORKING_DIRECTORY ${SOURCE_DIR} RESULT_VARIABLE dirty ERROR_QUIET)
  if(NOT dirty EQUAL 0)
    string(APPEND MEDSSL_GIT_COMMIT "-dirty")
  endif()
endif()
configure_file(${SOURCE_DIR}/src/medssl/core/git_commit.cpp.in ${OUT} @ONLY)
