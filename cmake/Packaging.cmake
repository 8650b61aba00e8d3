# Debian packages, one per install component, made by `cmake --build BUILD --target package`:
#   streamput         the CLI and the shared libstreamput.so.0.2 it runs on
#   libstreamput-dev  streamput.h, the libstreamput.so link, streamput.pc and the CMake package
#                     (find_package(streamput), streamput_add_mock())
#   streamput-mock    the mock server
# The library is packaged shared, with the paths of a Debian system, so the packaging build is
# configured apart from the test builds:
#   cmake -S . -B build-pkg -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
#     -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF
# Any other build can still make packages, but `package` then stops and says how to configure.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME streamput)
set(CPACK_PACKAGE_VENDOR "streamput")
# The maintainer field; -DCPACK_PACKAGE_CONTACT="Name <mail>" names whoever builds the packages.
if(NOT CPACK_PACKAGE_CONTACT)
  set(CPACK_PACKAGE_CONTACT "streamput maintainers <maintainers@users.noreply.r-seed-60d29653.example>")
endif()
# No CPACK_PACKAGE_DESCRIPTION_SUMMARY: CPack would put it first in every package's description.
# Each description's first line is its package's summary instead; CPack indents the rest.
set(CPACK_PACKAGE_INSTALL_DIRECTORY streamput)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
# Only these: an install() rule without a component would otherwise become a package of its own.
set(CPACK_COMPONENTS_ALL streamput libstreamput-dev streamput-mock)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# dpkg-shlibdeps (dpkg-dev) works out the library dependencies of each package.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The streamput package's shlibs file, so that packages built against libstreamput.so.0.2 depend
# on streamput (>= this version).
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
# dpkg's ldconfig trigger refreshes the linker cache once per dpkg run, as Debian's library
# packages do (CPack's own postinst/postrm call ldconfig as well, for older dpkg).
file(WRITE "${PROJECT_BINARY_DIR}/deb/streamput/triggers" "activate-noawait ldconfig\n")
set(CPACK_DEBIAN_STREAMPUT_PACKAGE_CONTROL_EXTRA "${PROJECT_BINARY_DIR}/deb/streamput/triggers")

set(CPACK_DEBIAN_STREAMPUT_PACKAGE_NAME streamput)
set(CPACK_DEBIAN_STREAMPUT_DESCRIPTION
    "Stream files of any size to an HTTP PUT endpoint in constant memory
streamput uploads files, directories and standard input to AList/OpenList's
PUT /api/fs/put, or any endpoint that takes a raw body, in constant memory:
no multipart framing, resumable multipart uploads, retries, TLS.

This package holds the streamput command and the shared library libstreamput.")

set(CPACK_DEBIAN_LIBSTREAMPUT-DEV_PACKAGE_NAME libstreamput-dev)
set(CPACK_DEBIAN_LIBSTREAMPUT-DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_LIBSTREAMPUT-DEV_PACKAGE_DEPENDS "streamput (= ${PROJECT_VERSION})")
# streamput_add_mock() runs the mock when the tests run.
set(CPACK_DEBIAN_LIBSTREAMPUT-DEV_PACKAGE_RECOMMENDS "streamput-mock (= ${PROJECT_VERSION})")
set(CPACK_DEBIAN_LIBSTREAMPUT-DEV_DESCRIPTION
    "Development files for libstreamput, the streaming HTTP PUT client
The header streamput.h, the link libstreamput.so, streamput.pc for pkg-config
and the CMake package: find_package(streamput 0.2 REQUIRED) gives the target
streamput::streamput and streamput_add_mock(), which runs streamput-mock as
a CTest fixture.")

set(CPACK_DEBIAN_STREAMPUT-MOCK_PACKAGE_NAME streamput-mock)
set(CPACK_DEBIAN_STREAMPUT-MOCK_DESCRIPTION
    "Constant-memory stand-in for AList/OpenList's upload API, for tests
streamput-mock answers PUT /api/fs/put, OpenList's multipart upload, login,
fs/get, list, mkdir and remove over one directory, and serves its files. It
streams every body to disk, can inject faults, and binds port 0 for tests.")

# A static libstreamput would leave the streamput package without its library, and a prefix
# other than /usr would put it outside the multiarch directory: refuse, with the fix.
get_target_property(_sp_library_type streamput TYPE)
if(NOT _sp_library_type STREQUAL "SHARED_LIBRARY" OR NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(_sp_refuse "${PROJECT_BINARY_DIR}/refuse-package.cmake")
  file(WRITE "${_sp_refuse}"
    "message(FATAL_ERROR \"streamput's packages need a shared library build for /usr, \"\n"
    "  \"not this ${_sp_library_type} for ${CMAKE_INSTALL_PREFIX}: \"\n"
    "  \"cmake -S ${PROJECT_SOURCE_DIR} -B build-pkg -DCMAKE_BUILD_TYPE=Release \"\n"
    "  \"-DBUILD_SHARED_LIBS=ON -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF && \"\n"
    "  \"cmake --build build-pkg --target package\")\n")
  set(CPACK_PRE_BUILD_SCRIPTS "${_sp_refuse}")
endif()

include(CPack)
