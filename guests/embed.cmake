# cmake -DIN=file -DOUT=file.cc -DSYMBOL=name -P embed.cmake
# Writes a C++ source defining `const std::uint8_t aether::guests::SYMBOL_data[]` and its size.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR size "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n" bytes "${bytes}")
file(WRITE ${OUT} "// Generated from ${IN} by guests/embed.cmake; do not edit.\n#include <cstddef>\n#include <cstdint>\nnamespace aether::guests {\nextern const std::uint8_t ${SYMBOL}_data[] = {\n${bytes}\n};\nextern const std::size_t ${SYMBOL}_size = ${size};\n}  // namespace aether::guests\n")
