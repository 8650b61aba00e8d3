# Runs scdoc on one page at build time, then gzips it as Debian's policy wants installed pages:
#   cmake -DSCDOC=... -DGZIP=... -DIN=page.scd -DOUT=page.1 -P scdoc.cmake   (page.1 and page.1.gz)
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
# -n: no name or time stamp inside, so the same page gives the same bytes on every build.
execute_process(COMMAND ${GZIP} -9 -n -c ${OUT} OUTPUT_FILE ${OUT}.gz.tmp RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE ${OUT}.gz.tmp)
  message(FATAL_ERROR "gzip ${OUT} failed")
endif()
file(RENAME ${OUT}.gz.tmp ${OUT}.gz)
