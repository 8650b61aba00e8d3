# streamput_add_mock(NAME ROOT DIR [TOKEN TOKEN] [EXECUTABLE PATH] [ARGS OPTION...])
#
# Runs streamput-mock as the CTest fixture NAME, for tests of programs that upload:
#   NAME_start  (FIXTURES_SETUP NAME) starts streamput-mock --listen 127.0.0.1:0 --root DIR
#               [--token TOKEN] OPTION... in the background, waits until it listens and writes
#               its URL (http://127.0.0.1:PORT/, the PUT route is api/fs/put below it) to
#               ${CMAKE_CURRENT_BINARY_DIR}/NAME.url; it fails, saying why, when the mock is
#               missing or does not start.
#   NAME_stop   (FIXTURES_CLEANUP NAME) stops it, and fails if the mock died during the tests.
# A test with FIXTURES_REQUIRED NAME reads the URL from that file, whose path the variable
# NAME_URL_FILE holds after the call; DIR is created if missing and receives the uploads. The
# mock's stderr (its access log) goes to ${CMAKE_CURRENT_BINARY_DIR}/NAME.log. Should ctest be
# killed before NAME_stop, the mock ends within a second by itself.
#
# The mock is EXECUTABLE if given, else ${STREAMPUT_MOCK_EXECUTABLE} (a path, or a generator
# expression such as $<TARGET_FILE:streamput_mock> in streamput's own tree), else streamput-mock
# found beside this package's prefix or on PATH when the tests run. Comes with
# find_package(streamput); the mock itself is in the streamput-mock package.
include_guard(GLOBAL)
set(_streamput_mock_fixture "${CMAKE_CURRENT_LIST_DIR}/streamput-mock-fixture.sh")

function(streamput_add_mock name)
  cmake_parse_arguments(PARSE_ARGV 1 M "" "ROOT;TOKEN;EXECUTABLE" "ARGS")
  if(M_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "streamput_add_mock(${name}): unknown arguments ${M_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT M_ROOT)
    message(FATAL_ERROR "streamput_add_mock(${name}): ROOT DIR is required")
  endif()
  if(M_EXECUTABLE)
    set(mock "${M_EXECUTABLE}")
  elseif(STREAMPUT_MOCK_EXECUTABLE)
    set(mock "${STREAMPUT_MOCK_EXECUTABLE}")
  else()
    # <prefix>/lib/cmake/streamput or <prefix>/lib/<multiarch>/cmake/streamput.
    find_program(STREAMPUT_MOCK_EXECUTABLE streamput-mock
      HINTS "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../../../bin"
            "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../../../../bin")
    if(STREAMPUT_MOCK_EXECUTABLE)
      set(mock "${STREAMPUT_MOCK_EXECUTABLE}")
    else()
      # Looked up again when the tests run, where the setup test says what is missing.
      set(mock streamput-mock)
    endif()
  endif()
  get_filename_component(root "${M_ROOT}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
  set(prefix "${CMAKE_CURRENT_BINARY_DIR}/${name}")
  set(options ${M_ARGS})
  if(DEFINED M_TOKEN)
    list(PREPEND options --token "${M_TOKEN}")
  endif()
  add_test(NAME ${name}_start
           COMMAND sh "${_streamput_mock_fixture}" start "${prefix}" "${root}" "${mock}" ${options})
  add_test(NAME ${name}_stop COMMAND sh "${_streamput_mock_fixture}" stop "${prefix}")
  set_tests_properties(${name}_start PROPERTIES FIXTURES_SETUP ${name} TIMEOUT 30)
  set_tests_properties(${name}_stop PROPERTIES FIXTURES_CLEANUP ${name} TIMEOUT 30)
  set(${name}_URL_FILE "${prefix}.url" PARENT_SCOPE)
endfunction()
