# Debian ships Abseil both as ~60 shared objects and as static archives. Loading
# the shared ones costs ~2 ms per process start, which dominates `hook ingest`
# (design.md §9), so point every imported absl:: target at its archive instead.
if(TRACEFRAME_STATIC_ABSL)
  # find_package(absl) ran in this directory, so its targets are listed here.
  get_directory_property(_tf_targets IMPORTED_TARGETS)
  foreach(_tf_target IN LISTS _tf_targets)
    get_target_property(_tf_type ${_tf_target} TYPE)
    if(NOT _tf_type STREQUAL "SHARED_LIBRARY")
      continue()
    endif()
    foreach(_tf_cfg NONE RELEASE RELWITHDEBINFO DEBUG)
      get_target_property(_tf_loc ${_tf_target} IMPORTED_LOCATION_${_tf_cfg})
      if(_tf_loc)
        string(REGEX REPLACE "\\.so(\\.[0-9.]+)?$" ".a" _tf_static "${_tf_loc}")
        if(EXISTS "${_tf_static}")
          set_target_properties(${_tf_target} PROPERTIES IMPORTED_LOCATION_${_tf_cfg} "${_tf_static}")
        endif()
      endif()
    endforeach()
  endforeach()
endif()
