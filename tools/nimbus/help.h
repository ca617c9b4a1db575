// print_help(): the text of `nimbus --help`.
#pragma once

#include <ostream>

void print_help(std::ostream& out);
