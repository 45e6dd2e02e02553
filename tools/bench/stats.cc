#include "tools/bench/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cadence::bench {
namespace {

// The 1-based nearest rank, ceil(per_mille / 1000 * n), of the percentile per_mille / 10
// among n samples. In integers: in floating point, 99.9 / 100 * 1000 rounds up to
// 999.0000000000001 and its ceiling is one rank too high.
uint64_t Rank(uint64_t per_mille, uint64_t n) {
  return std::clamp<uint64_t>((per_mille * n + 999) / 1000, 1, n);
}

}  // namespace

Percentiles NearestRank(std::vector<int64_t> samples_ns) {
  Percentiles p;
  p.count = samples_ns.size();
  if (samples_ns.empty()) return p;
  std::sort(samples_ns.begin(), samples_ns.end());
  auto at = [&](uint64_t per_mille) { return samples_ns[Rank(per_mille, p.count) - 1] / 1000.0; };
  p.p50_us = at(500);
  p.p99_us = at(990);
  p.p999_us = at(999);
  p.max_us = samples_ns.back() / 1000.0;
  return p;
}

Percentiles FromHistogram(const std::vector<uint64_t>& counts, uint64_t overflows,
                          double max_us) {
  Percentiles p;
  for (uint64_t c : counts) p.count += c;
  p.count += overflows;
  if (p.count == 0) return p;
  auto at = [&](uint64_t per_mille) {
    const uint64_t rank = Rank(per_mille, p.count);
    uint64_t seen = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      seen += counts[i];
      if (seen >= rank) return static_cast<double>(i);
    }
    return max_us;  // In the overflow: the max is the best bound we have.
  };
  p.p50_us = at(500);
  p.p99_us = at(990);
  p.p999_us = at(999);
  p.max_us = max_us;
  return p;
}

std::string Num(double value) {
  const double a = std::fabs(value);
  if (a >= 100 || value == std::floor(value)) return absl::StrFormat("%.0f", value);
  if (a >= 10) return absl::StrFormat("%.1f", value);
  return absl::StrFormat("%.2f", value);
}

std::string Ratio(double numerator, double denominator) {
  if (!(denominator > 0)) return "n/a";
  return absl::StrFormat("%.2fx", numerator / denominator);
}

Table::Table(std::string title, std::vector<std::string> header)
    : title_(std::move(title)), header_(std::move(header)) {}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(header_.size(), "-");
  rows_.push_back(std::move(cells));
}

void Table::AddNote(std::string note) { notes_.push_back(std::move(note)); }

std::string Table::ToString() const {
  std::vector<size_t> width(header_.size());
  for (size_t c = 0; c < header_.size(); ++c) {
    width[c] = header_[c].size();
    for (const auto& row : rows_) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < cells.size(); ++c) {
      // The first column (row names) is left-aligned, numbers right-aligned.
      const std::string pad(width[c] - cells[c].size(), ' ');
      absl::StrAppend(&out, c == 0 ? "" : " | ", c == 0 ? cells[c] + pad : pad + cells[c]);
    }
    return out + "\n";
  };
  std::string out = absl::StrCat("## ", title_, "\n", line(header_));
  size_t total = 0;
  for (size_t w : width) total += w + 3;
  out += std::string(total > 3 ? total - 3 : 0, '-') + "\n";
  for (const auto& row : rows_) out += line(row);
  for (const auto& note : notes_) absl::StrAppend(&out, "#   ", note, "\n");
  return out + "\n";
}

}  // namespace cadence::bench
