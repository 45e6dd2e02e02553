// CpuSet: a set of CPU numbers, parsed from and printed as a Linux CPU list
// ("0-7,16-23"), and converted to and from the kernel's cpu_set_t.
//
// Parsing is strict: empty items, reversed ranges, text and CPU numbers past the
// cpu_set_t limit are errors that say at which column (0-based, within the text) the
// problem starts, so the validator can point at the exact character in a `.conf` file.
#ifndef CADENCE_SCHEDULER_COMMON_CPUSET_H_
#define CADENCE_SCHEDULER_COMMON_CPUSET_H_

#include <sched.h>

#include <bitset>
#include <string>
#include <string_view>
#include <vector>

namespace cadence {

class CpuSet {
 public:
  // The highest CPU number + 1 that a CpuSet can hold (glibc's CPU_SETSIZE).
  static constexpr int kMaxCpus = CPU_SETSIZE;

  // Why a CPU list did not parse, and where (0-based offset into the text).
  struct ParseError {
    int offset = 0;
    std::string message;
  };

  CpuSet() = default;

  // Parses a Linux CPU list ("0-3,8", spaces allowed around items). Returns false and
  // fills *error when the text is not a valid list; an empty text is an empty set.
  static bool Parse(std::string_view text, CpuSet* out, ParseError* error);

  // The set {first, ..., last}.
  static CpuSet Range(int first, int last);

  // The set of the given CPUs.
  static CpuSet Of(std::initializer_list<int> cpus);

  // Converts from the kernel's cpu_set_t.
  static CpuSet FromNative(const cpu_set_t& native);

  // Converts to the kernel's cpu_set_t.
  cpu_set_t ToNative() const;

  // Adds one CPU (ignored when out of [0, kMaxCpus)).
  void Add(int cpu);

  // Whether the set holds the CPU.
  bool Contains(int cpu) const { return cpu >= 0 && cpu < kMaxCpus && bits_.test(cpu); }

  // Number of CPUs in the set.
  int Count() const { return static_cast<int>(bits_.count()); }

  // Whether the set is empty.
  bool Empty() const { return bits_.none(); }

  // The CPUs in increasing order.
  std::vector<int> ToVector() const;

  // The set as a compact Linux CPU list, e.g. "0-3,8"; "" when empty.
  std::string ToString() const;

  // Set intersection, union and difference.
  CpuSet Intersect(const CpuSet& other) const;
  CpuSet Union(const CpuSet& other) const;
  CpuSet Minus(const CpuSet& other) const;

  // Whether every CPU of this set is in `other`.
  bool IsSubsetOf(const CpuSet& other) const { return (bits_ & ~other.bits_).none(); }

  bool operator==(const CpuSet& other) const { return bits_ == other.bits_; }
  bool operator!=(const CpuSet& other) const { return bits_ != other.bits_; }

 private:
  std::bitset<kMaxCpus> bits_;
};

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_COMMON_CPUSET_H_
