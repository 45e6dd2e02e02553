#include "scheduler/common/cpuset.h"

#include <cctype>

#include "absl/strings/str_cat.h"

namespace cadence {
namespace {

bool Fail(CpuSet::ParseError* error, size_t offset, std::string message);

// Reads a decimal CPU number at text[*pos]; fills *error when there is none or it is
// past the limit.
bool ReadNumber(std::string_view text, size_t* pos, int* value, CpuSet::ParseError* error) {
  const size_t start = *pos;
  if (start >= text.size() || !std::isdigit(static_cast<unsigned char>(text[start]))) {
    return Fail(error, start,
                start >= text.size() ? std::string("expected a CPU number at the end of the list")
                                     : absl::StrCat("expected a CPU number, found '",
                                                    std::string(text.substr(start, 1)), "'"));
  }
  long long n = 0;
  size_t i = start;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    n = n * 10 + (text[i] - '0');
    if (n >= CpuSet::kMaxCpus) {
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
      return Fail(
          error, start,
          absl::StrCat("CPU ", std::string(text.substr(start, i - start)), " is past the limit of ",
                       CpuSet::kMaxCpus, " CPUs (highest CPU number ", CpuSet::kMaxCpus - 1, ")"));
    }
    ++i;
  }
  *value = static_cast<int>(n);
  *pos = i;
  return true;
}

bool Fail(CpuSet::ParseError* error, size_t offset, std::string message) {
  error->offset = static_cast<int>(offset);
  error->message = std::move(message);
  return false;
}

void SkipSpaces(std::string_view text, size_t* pos) {
  while (*pos < text.size() && (text[*pos] == ' ' || text[*pos] == '\t')) ++*pos;
}

}  // namespace

bool CpuSet::Parse(std::string_view text, CpuSet* out, ParseError* error) {
  CpuSet result;
  size_t pos = 0;
  SkipSpaces(text, &pos);
  if (pos == text.size()) {
    *out = result;
    return true;
  }
  while (true) {
    SkipSpaces(text, &pos);
    if (pos < text.size() && text[pos] == ',') {
      return Fail(error, pos,
                  "empty item in the CPU list (two commas in a row, or a "
                  "leading comma)");
    }
    if (pos == text.size()) {
      return Fail(error, pos, "empty item at the end of the CPU list (trailing comma)");
    }
    const size_t item_start = pos;
    int first = 0;
    if (!ReadNumber(text, &pos, &first, error)) return false;
    int last = first;
    SkipSpaces(text, &pos);
    if (pos < text.size() && text[pos] == '-') {
      ++pos;
      SkipSpaces(text, &pos);
      if (!ReadNumber(text, &pos, &last, error)) return false;
      if (last < first) {
        return Fail(
            error, item_start,
            absl::StrCat("reversed range ", first, "-", last, " (write ", last, "-", first, ")"));
      }
    }
    for (int cpu = first; cpu <= last; ++cpu) result.Add(cpu);
    SkipSpaces(text, &pos);
    if (pos == text.size()) break;
    if (text[pos] != ',') {
      return Fail(error, pos,
                  absl::StrCat("expected ',' or '-' after a CPU number, found '",
                               std::string(text.substr(pos, 1)), "'"));
    }
    ++pos;
  }
  *out = result;
  return true;
}

CpuSet CpuSet::Range(int first, int last) {
  CpuSet s;
  for (int cpu = first; cpu <= last; ++cpu) s.Add(cpu);
  return s;
}

CpuSet CpuSet::Of(std::initializer_list<int> cpus) {
  CpuSet s;
  for (int cpu : cpus) s.Add(cpu);
  return s;
}

CpuSet CpuSet::FromNative(const cpu_set_t& native) {
  CpuSet s;
  for (int cpu = 0; cpu < kMaxCpus; ++cpu) {
    if (CPU_ISSET(cpu, &native)) s.Add(cpu);
  }
  return s;
}

cpu_set_t CpuSet::ToNative() const {
  cpu_set_t native;
  CPU_ZERO(&native);
  for (int cpu = 0; cpu < kMaxCpus; ++cpu) {
    if (bits_.test(cpu)) CPU_SET(cpu, &native);
  }
  return native;
}

void CpuSet::Add(int cpu) {
  if (cpu >= 0 && cpu < kMaxCpus) bits_.set(cpu);
}

std::vector<int> CpuSet::ToVector() const {
  std::vector<int> cpus;
  for (int cpu = 0; cpu < kMaxCpus; ++cpu) {
    if (bits_.test(cpu)) cpus.push_back(cpu);
  }
  return cpus;
}

std::string CpuSet::ToString() const {
  std::string out;
  int cpu = 0;
  while (cpu < kMaxCpus) {
    if (!bits_.test(cpu)) {
      ++cpu;
      continue;
    }
    int last = cpu;
    while (last + 1 < kMaxCpus && bits_.test(last + 1)) ++last;
    if (!out.empty()) out += ',';
    absl::StrAppend(&out, cpu);
    if (last > cpu) absl::StrAppend(&out, "-", last);
    cpu = last + 1;
  }
  return out;
}

CpuSet CpuSet::Intersect(const CpuSet& other) const {
  CpuSet s;
  s.bits_ = bits_ & other.bits_;
  return s;
}

CpuSet CpuSet::Union(const CpuSet& other) const {
  CpuSet s;
  s.bits_ = bits_ | other.bits_;
  return s;
}

CpuSet CpuSet::Minus(const CpuSet& other) const {
  CpuSet s;
  s.bits_ = bits_ & ~other.bits_;
  return s;
}

}  // namespace cadence
