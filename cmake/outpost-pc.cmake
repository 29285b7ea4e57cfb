# Run by `cmake --install` (install(SCRIPT) in CMakeLists.txt): writes
# outpost.pc from cmake/outpost.pc.in for the prefix being installed into,
# which `cmake --install --prefix DIR` may change after configuring. Set
# before it: OUTPOST_PC_TEMPLATE, OUTPOST_PC_FILE, OUTPOST_VERSION,
# OUTPOST_LIBDIR and OUTPOST_INCLUDEDIR (GNUInstallDirs, relative or absolute).
set(OUTPOST_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
foreach(kind LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${OUTPOST_${kind}}")
    set(OUTPOST_PC_${kind} "${OUTPOST_${kind}}")
  else()
    set(OUTPOST_PC_${kind} "\${prefix}/${OUTPOST_${kind}}")
  endif()
endforeach()
configure_file("${OUTPOST_PC_TEMPLATE}" "${OUTPOST_PC_FILE}" @ONLY)
