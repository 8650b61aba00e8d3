# Runs scdoc on one page at build time: cmake -DSCDOC=... -DIN=page.scd -DOUT=page.1 -P scdoc.cmake
# scdoc reads standard input and writes standard output, which add_custom_command cannot
# redirect portably; the page goes to a temporary file first, so that a failed run leaves no
# half-written page for the install to pick up.
execute_process(COMMAND ${SCDOC} INPUT_FILE ${IN} OUTPUT_FILE ${OUT}.tmp
  RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  file(REMOVE ${OUT}.tmp)
  message(FATAL_ERROR "scdoc ${IN}: ${err}")
endif()
file(RENAME ${OUT}.tmp ${OUT})
