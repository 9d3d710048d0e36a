# CMake toolchain file: cross-compile for linux-arm64 (aarch64) on an x86-64 Debian/Ubuntu host
# with the distribution's cross compiler (apt-get install g++-aarch64-linux-gnu).
# Used by scripts/prebuild-arm64.sh (npm run build:prebuilds:arm64) and scripts/test-arm64.sh.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(LMKIT_CROSS_PREFIX aarch64-linux-gnu- CACHE STRING "cross toolchain prefix")
set(CMAKE_C_COMPILER ${LMKIT_CROSS_PREFIX}gcc)
set(CMAKE_CXX_COMPILER ${LMKIT_CROSS_PREFIX}g++)
set(CMAKE_STRIP ${LMKIT_CROSS_PREFIX}strip CACHE FILEPATH "")
# Libraries and headers of the target come from the cross sysroot only; programs from the host.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
