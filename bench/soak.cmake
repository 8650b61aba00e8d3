# The soak (bench/soak.py), included from tests/CMakeLists.txt. soak_slow (label slow) is the
# real one: 600 s of mixed traffic after a 30 s warm-up, then the checks (stored files, temp
# files, the mocks' RSS and fds, exit status, sanitizer reports). soak_smoke (label
# integration, about 40 s) runs the same driver for 15 s so the machinery keeps working; its
# RSS check covers little time, but the file, temp-file and fd checks hold as in the long form.
# RUN_SERIAL: four workers load both cores, and the mocks' figures are judged.
if(SP_PYTHON3)
  add_test(NAME soak_smoke
           COMMAND ${SP_PYTHON3} ${PROJECT_SOURCE_DIR}/bench/soak.py --duration 15 --warm-up 10
                   --bin ${CMAKE_RUNTIME_OUTPUT_DIRECTORY})
  add_test(NAME soak_slow
           COMMAND ${SP_PYTHON3} ${PROJECT_SOURCE_DIR}/bench/soak.py --duration 600
                   --bin ${CMAKE_RUNTIME_OUTPUT_DIRECTORY})
else()
  add_test(NAME soak_smoke COMMAND sh -c "echo 'soak: no python3'; exit 77")
  add_test(NAME soak_slow COMMAND sh -c "echo 'soak: no python3'; exit 77")
endif()
set_tests_properties(soak_smoke PROPERTIES LABELS integration TIMEOUT 180 SKIP_RETURN_CODE 77
                                           RUN_SERIAL TRUE)
# 600 s of traffic, 30 s of warm-up, two settles and the last operations: 20 minutes is ample
# even under ASan.
set_tests_properties(soak_slow PROPERTIES LABELS slow TIMEOUT 1200 SKIP_RETURN_CODE 77
                                          RUN_SERIAL TRUE)
