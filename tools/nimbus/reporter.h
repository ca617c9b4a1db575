// Reporter: the CLI's notes on what it is doing: details with --verbose, warnings always.
#pragma once

#include <iostream>
#include <string>

class Reporter {
 public:
  explicit Reporter(bool verbose) : m_verbose(verbose) {}

  bool verbose() const { return m_verbose; }
  void note(const std::string& message) const {
    if (m_verbose) std::cerr << "nimbus: " << message << std::endl;
  }
  void warn(const std::string& message) const {
    std::cerr << "nimbus: warning: " << message << std::endl;
  }

 private:
  bool m_verbose;
};
