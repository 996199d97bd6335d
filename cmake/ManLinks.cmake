# Man page links: `man mallinfo_heap` (and every other function that libmalloc/aixmalloc.h declares)
# opens aixmalloc(3); `man MALLOCOPTIONS` (and every other variable of the option table) opens
# aixmalloc(7). The lists are read from the header and the table, so a new entry gets its link.
file(STRINGS ${CMAKE_SOURCE_DIR}/libmalloc/aixmalloc.h aixmalloc_declarations
  REGEX "^[A-Za-z_][A-Za-z_0-9 ]*[ *]+[a-z_][a-z_0-9]*\\(")
file(STRINGS ${CMAKE_SOURCE_DIR}/libmalloc/base/options.def aixmalloc_variables
  REGEX "AIXMALLOC_VARIABLE\\(k[A-Za-z0-9]+, \"[A-Z_0-9]+\"")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  ${CMAKE_SOURCE_DIR}/libmalloc/aixmalloc.h ${CMAKE_SOURCE_DIR}/libmalloc/base/options.def)
set(AIXMALLOC_MAN_LINKS "")
foreach(line ${aixmalloc_declarations})
  string(REGEX REPLACE "^[A-Za-z_][A-Za-z_0-9 ]*[ *]+([a-z_][a-z_0-9]*)\\(.*" "\\1" name "${line}")
  list(APPEND AIXMALLOC_MAN_LINKS "3|${name}")
endforeach()
foreach(line ${aixmalloc_variables})
  string(REGEX REPLACE ".*AIXMALLOC_VARIABLE\\(k[A-Za-z0-9]+, \"([A-Z_0-9]+)\".*" "\\1" name "${line}")
  list(APPEND AIXMALLOC_MAN_LINKS "7|${name}")
endforeach()
list(REMOVE_DUPLICATES AIXMALLOC_MAN_LINKS)
file(REMOVE_RECURSE ${CMAKE_BINARY_DIR}/generated/man)
foreach(link ${AIXMALLOC_MAN_LINKS})
  string(REPLACE "|" ";" parts "${link}")
  list(GET parts 0 section)
  list(GET parts 1 name)
  file(WRITE ${CMAKE_BINARY_DIR}/generated/man/man${section}/${name}.${section} ".so man${section}/aixmalloc.${section}\n")
endforeach()
install(DIRECTORY ${CMAKE_BINARY_DIR}/generated/man/ DESTINATION ${CMAKE_INSTALL_MANDIR})
