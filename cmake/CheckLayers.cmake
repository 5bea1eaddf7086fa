# Fails when engine code includes against the data flow (ctest `layering`).
#   cmake -DTRACEFRAME_ROOT=<source dir> -P cmake/CheckLayers.cmake
#
# engine/src/ holds one folder per layer; a file may include headers of its own
# layer and of the layers below it, never above (CONTRIBUTING.md, "Where things
# live"):
#   util < format < read < index < write < {hooks, exec, report, stream, import}
#   stats and ship may also use report (the ledger).
# Public headers (engine/include/traceframe/) include no internal header, and
# nothing in engine/ includes the CLI. Every source sits in a known layer.
cmake_minimum_required(VERSION 3.16)
if(NOT TRACEFRAME_ROOT)
  message(FATAL_ERROR "pass -DTRACEFRAME_ROOT=<source dir>")
endif()
set(src "${TRACEFRAME_ROOT}/engine/src")

set(layers util format read index write hooks exec report stream import stats ship)
set(base util format read index write)
set(allowed_util util)
set(allowed_format util format)
set(allowed_read util format read)
set(allowed_index util format read index)
set(allowed_write ${base})
foreach(top hooks exec report stream import)
  set(allowed_${top} ${base} ${top})
endforeach()
set(allowed_stats ${base} report stats)
set(allowed_ship ${base} report ship)

set(errors "")
file(GLOB_RECURSE files RELATIVE "${src}" "${src}/*.h" "${src}/*.cc" "${src}/*.inc")
foreach(rel IN LISTS files)
  string(REGEX MATCH "^([^/]+)/" _ "${rel}")
  set(layer "${CMAKE_MATCH_1}")
  list(FIND layers "${layer}" known)
  if(layer STREQUAL "" OR known EQUAL -1)
    string(APPEND errors "engine/src/${rel}: not in a layer folder (${layers})\n")
    continue()
  endif()
  file(STRINGS "${src}/${rel}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
  foreach(line IN LISTS lines)
    string(REGEX MATCH "\"([^\"]+)\"" _ "${line}")
    set(inc "${CMAKE_MATCH_1}")
    if(inc MATCHES "^cli/" OR inc STREQUAL "cli.h")
      string(APPEND errors "engine/src/${rel}: includes the CLI (${inc})\n")
      continue()
    endif()
    string(REGEX MATCH "^([^/]+)/" _ "${inc}")
    set(to "${CMAKE_MATCH_1}")
    list(FIND layers "${to}" is_layer)
    if(is_layer EQUAL -1)
      continue()  # traceframe/ public headers, absl/, simdjson.h, ...
    endif()
    list(FIND allowed_${layer} "${to}" ok)
    if(ok EQUAL -1)
      string(APPEND errors
        "engine/src/${rel}: layer '${layer}' includes \"${inc}\" of layer '${to}' above it\n")
    endif()
  endforeach()
endforeach()

file(GLOB public RELATIVE "${TRACEFRAME_ROOT}" "${TRACEFRAME_ROOT}/engine/include/traceframe/*.h")
foreach(rel IN LISTS public)
  file(STRINGS "${TRACEFRAME_ROOT}/${rel}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
  foreach(line IN LISTS lines)
    string(REGEX MATCH "\"([^\"]+)\"" _ "${line}")
    set(inc "${CMAKE_MATCH_1}")
    string(REGEX MATCH "^([^/]+)/" _ "${inc}")
    list(FIND layers "${CMAKE_MATCH_1}" is_layer)
    if(NOT is_layer EQUAL -1 OR inc MATCHES "^cli/" OR inc STREQUAL "cli.h")
      string(APPEND errors "${rel}: a public header includes internal \"${inc}\"\n")
    endif()
  endforeach()
endforeach()

if(errors)
  message(FATAL_ERROR "include against the layers:\n${errors}")
endif()
list(LENGTH files n)
message(STATUS "layering: ${n} engine sources follow the layers")
