// Temporary files for tests: a fresh directory (under Bazel's TEST_TMPDIR when there is one)
// and writing a file's text, failing the calling test when either cannot be done.
#ifndef CADENCE_TESTS_TEMP_FILES_H_
#define CADENCE_TESTS_TEMP_FILES_H_

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace cadence::test_support {

// A fresh temporary directory named after `prefix`.
inline std::string MakeTempDir(const std::string& prefix = "cadence_test") {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string templ = std::string(base != nullptr ? base : "/tmp") + "/" + prefix + ".XXXXXX";
  std::vector<char> buffer(templ.begin(), templ.end());
  buffer.push_back('\0');
  const char* dir = mkdtemp(buffer.data());
  EXPECT_NE(dir, nullptr);
  return dir != nullptr ? std::string(dir) : std::string("/tmp");
}

// Writes `text` to `path` (replacing it).
inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

}  // namespace cadence::test_support

#endif  // CADENCE_TESTS_TEMP_FILES_H_
