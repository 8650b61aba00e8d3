# The benchmark's ctest smoke test, included from tests/CMakeLists.txt: bench/run.py --quick on
# a 16 MiB file, so the driver, the bench programs and the plots keep working (about 15 s; the
# figures are not judged). It needs python3, curl, nginx, gnuplot and strace
# (bash ci/install-deps.sh --bench) and reports "skipped" (exit 77) without them. RUN_SERIAL:
# it loads both cores, which would distort the timing of suites running beside it.
find_program(SP_PYTHON3 python3)
if(SP_PYTHON3)
  add_test(NAME bench_smoke
           COMMAND ${SP_PYTHON3} ${PROJECT_SOURCE_DIR}/bench/run.py --quick --size 16M --runs 2
                   --bin ${CMAKE_RUNTIME_OUTPUT_DIRECTORY} --out ${PROJECT_BINARY_DIR}/bench-smoke)
  # The multipart part on its own: 16 MiB is two chunks, every lane count once.
  add_test(NAME bench_smoke_multipart
           COMMAND ${SP_PYTHON3} ${PROJECT_SOURCE_DIR}/bench/run.py --quick --size 16M --runs 1
                   --only multipart --mp-sizes 16M --bin ${CMAKE_RUNTIME_OUTPUT_DIRECTORY}
                   --out ${PROJECT_BINARY_DIR}/bench-smoke)
  # The many-files part on its own: 50 small files and 3 of 1 MiB, N = 4, one round.
  add_test(NAME bench_smoke_many
           COMMAND ${SP_PYTHON3} ${PROJECT_SOURCE_DIR}/bench/run.py --only many --size 4M --runs 1
                   --many-small 50 --many-large 3 --many-large-size 1M --many-parallel 4
                   --bin ${CMAKE_RUNTIME_OUTPUT_DIRECTORY} --out ${PROJECT_BINARY_DIR}/bench-smoke)
else()
  add_test(NAME bench_smoke COMMAND sh -c "echo 'bench_smoke: no python3'; exit 77")
  add_test(NAME bench_smoke_multipart COMMAND sh -c "echo 'bench_smoke: no python3'; exit 77")
  add_test(NAME bench_smoke_many COMMAND sh -c "echo 'bench_smoke: no python3'; exit 77")
endif()
set_tests_properties(bench_smoke bench_smoke_multipart bench_smoke_many
                     PROPERTIES LABELS integration TIMEOUT 120 SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)
