// Statistics and report tables of the bench tool: nearest-rank percentiles of latency
// samples, and plain-text tables whose cells line up (one table per W-protocol workload).
#ifndef CADENCE_TOOLS_BENCH_STATS_H_
#define CADENCE_TOOLS_BENCH_STATS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace cadence::bench {

// Percentiles of a sample set, in microseconds; valid only when count > 0.
struct Percentiles {
  uint64_t count = 0;
  double p50_us = 0;
  double p99_us = 0;
  double p999_us = 0;
  double max_us = 0;
};

// Nearest-rank percentiles (rank = ceil(p * n)) of durations in nanoseconds. Sorts a copy.
Percentiles NearestRank(std::vector<int64_t> samples_ns);

// The nearest-rank percentiles of a histogram with one-microsecond buckets (counts[i] is
// the number of samples of i us), with `overflows` samples above the last bucket and the
// exact max given separately.
Percentiles FromHistogram(const std::vector<uint64_t>& counts, uint64_t overflows,
                          double max_us);

// "12.3", "1234", "0.45": a number with about 3 significant digits.
std::string Num(double value);

// "1.23x": a ratio; "n/a" when the denominator is not positive.
std::string Ratio(double numerator, double denominator);

// A plain-text table: a title line "## <title>", a header row and data rows, columns
// padded to line up, then an optional note per line "#   <note>".
class Table {
 public:
  Table(std::string title, std::vector<std::string> header);

  // Adds a row (as many cells as the header; missing cells print as "-").
  void AddRow(std::vector<std::string> cells);

  // Adds a line of explanation printed under the table.
  void AddNote(std::string note);

  // The table as text, ending with an empty line.
  std::string ToString() const;

 private:
  std::string title_;
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<std::string> notes_;
};

}  // namespace cadence::bench

#endif  // CADENCE_TOOLS_BENCH_STATS_H_
