# nimbus_add_tiny_pvh_elf(): builds a one-file assembly PVH kernel (the accelerator probe, the
# boot-time floor) into an ELF with its own linker script.
#
# Plain custom commands rather than add_executable: these images must not pick up the host
# compile and link flags (sanitizers, PIE, the C runtime) that other targets may add.

function(nimbus_add_tiny_pvh_elf target)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "SOURCE;LINKER_SCRIPT;OUTPUT" "DEFINES")
  set(object ${CMAKE_CURRENT_BINARY_DIR}/${target}.o)
  list(TRANSFORM ARG_DEFINES PREPEND -D)
  add_custom_command(
    OUTPUT ${object}
    COMMAND ${CMAKE_C_COMPILER} -c ${ARG_DEFINES} ${ARG_SOURCE} -o ${object}
    DEPENDS ${ARG_SOURCE}
    COMMENT "Assembling ${target}"
    VERBATIM)
  add_custom_command(
    OUTPUT ${ARG_OUTPUT}
    COMMAND ${CMAKE_LINKER} -nostdlib -static --build-id=none -z noexecstack
            -T ${ARG_LINKER_SCRIPT} -o ${ARG_OUTPUT} ${object}
    DEPENDS ${object} ${ARG_LINKER_SCRIPT}
    COMMENT "Linking ${ARG_OUTPUT}"
    VERBATIM)
  add_custom_target(${target} ALL DEPENDS ${ARG_OUTPUT})
endfunction()
