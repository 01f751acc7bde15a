# CMake toolchain file: cross build for the box (arm64, Debian bookworm).
#
#   firmware/sysroot.sh build-arm64/sysroot
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=firmware/cmake/aarch64-linux-gnu.cmake \
#         -DRETAIL_ARM64_SYSROOT=$PWD/build-arm64/sysroot -DRETAIL_BUILD_HQ=OFF
#
# Compiler: Debian's gcc-aarch64-linux-gnu.  Headers, libraries and
# pkg-config files: only from the sysroot that firmware/sysroot.sh unpacks
# from Debian's arm64 packages (never the host's /usr).  Tests: ctest runs
# every test whose command is a target of this build through
# CMAKE_CROSSCOMPILING_EMULATOR, i.e. `qemu-aarch64 -L <sysroot>`, which
# loads the dynamic linker and shared libraries from the sysroot; the
# programs of the build that a test starts itself go through the same
# command (RETAIL_EXEC_WRAPPER, set by tests/CMakeLists.txt).
#
# The sysroot: -DRETAIL_ARM64_SYSROOT=DIR, else the environment variable of
# that name, else build-arm64/sysroot in the source tree.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

if(NOT RETAIL_ARM64_SYSROOT)
  if(DEFINED ENV{RETAIL_ARM64_SYSROOT} AND NOT "$ENV{RETAIL_ARM64_SYSROOT}" STREQUAL "")
    set(RETAIL_ARM64_SYSROOT "$ENV{RETAIL_ARM64_SYSROOT}")
  else()
    get_filename_component(RETAIL_ARM64_SYSROOT "${CMAKE_CURRENT_LIST_DIR}/../../build-arm64/sysroot"
                           ABSOLUTE)
  endif()
endif()
set(RETAIL_ARM64_SYSROOT "${RETAIL_ARM64_SYSROOT}" CACHE PATH "arm64 sysroot (firmware/sysroot.sh)")
if(NOT EXISTS "${RETAIL_ARM64_SYSROOT}/usr/include/lws_config.h")
  message(FATAL_ERROR "no arm64 sysroot at ${RETAIL_ARM64_SYSROOT}: run firmware/sysroot.sh first")
endif()
# try_compile() projects read this file again: hand them the same sysroot.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES RETAIL_ARM64_SYSROOT)

set(CMAKE_SYSROOT "${RETAIL_ARM64_SYSROOT}")
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# Programs (pkg-config, node, mosquitto) from the host; everything linked or
# included from the sysroot only.
set(CMAKE_FIND_ROOT_PATH "${CMAKE_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The host's pkg-config reads only the sysroot's .pc files and prefixes the
# paths they give with the sysroot.
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${CMAKE_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR}
    "${CMAKE_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${CMAKE_SYSROOT}/usr/lib/pkgconfig:${CMAKE_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

find_program(RETAIL_QEMU_AARCH64 qemu-aarch64)
if(RETAIL_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${RETAIL_QEMU_AARCH64};-L;${CMAKE_SYSROOT}")
else()
  message(WARNING "qemu-aarch64 not found (Debian package qemu-user): the tests build but cannot run")
endif()
