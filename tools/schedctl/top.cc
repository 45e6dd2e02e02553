#include "tools/schedctl/top.h"

#include <algorithm>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "scheduler/introspection/runtime_state.h"
#include "scheduler/statistics/latency_histogram.h"

namespace cadence {
namespace {

uint64_t Delta(uint64_t after, uint64_t before) { return after >= before ? after - before : 0; }

std::string Micros(uint64_t ns) { return absl::StrFormat("%.1f", ns / 1e3); }

// Events per second, "-" without an interval.
std::string PerSecond(uint64_t events, int64_t interval_ns) {
  if (interval_ns <= 0) return "-";
  return absl::StrFormat("%.0f", events * 1e9 / static_cast<double>(interval_ns));
}

// The wake latency of the runs between two snapshots of a task.
LatencySummary IntervalWake(const proto::TaskState* before, const proto::TaskState& after) {
  const LatencyHistogram::Counts end = WakeCountsOf(after);
  LatencyHistogram::Counts counts{};
  if (before != nullptr) counts = WakeCountsOf(*before);
  int highest = -1;
  for (int b = 0; b < LatencyHistogram::kBuckets; ++b) {
    counts[b] = Delta(end[b], counts[b]);
    if (counts[b] > 0) highest = b;
  }
  if (highest < 0) return {};
  // A new all-time max happened in the interval: exact. Otherwise the interval's max is
  // only known to its bucket.
  const uint64_t before_max = before != nullptr ? before->wake_max_ns() : 0;
  const uint64_t max_ns =
      after.wake_max_ns() > before_max
          ? after.wake_max_ns()
          : std::min(LatencyHistogram::BucketUpperBound(highest), after.wake_max_ns());
  return LatencyHistogram::SummaryOf(counts, max_ns);
}

// A name as one word of a table row: a blank, a control character or DEL is written `\xHH`
// and a backslash `\\` (and, in a comma-separated list, a comma `\x2c`), an empty name `""`,
// so that scripts can split rows on blanks.
std::string Word(const std::string& name, bool in_list = false) {
  if (name.empty()) return "\"\"";
  std::string out;
  for (const char c : name) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || (c == ',' && in_list)) {
      absl::StrAppendFormat(&out, "\\x%02x", u);
    } else if (c == '\\') {
      out += "\\\\";
    } else {
      out += c;
    }
  }
  return out;
}

// How many columns `text` takes on a terminal: its UTF-8 characters (wide ones counted as
// one), not its bytes.
size_t Width(const std::string& text) {
  size_t width = 0;
  for (const char c : text) width += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return width;
}

}  // namespace

std::string FormatTop(const proto::RuntimeState& before, const proto::RuntimeState& after) {
  // From when `before` began to read the statistics (older writers: when it was taken) to
  // when `after` had read them: every run counted in `after` and not in `before` is inside.
  const int64_t from_ns =
      before.statistics_from_ns() != 0 ? before.statistics_from_ns() : before.monotonic_ns();
  const int64_t interval_ns = after.monotonic_ns() - from_ns;
  const bool histograms = HistogramCompatible(before) && HistogramCompatible(after);
  std::string out = absl::StrFormat("pid %d (%s), conf %s: over the last %.1f ms\n", after.pid(),
                                    after.program(), DescribeConf(after), interval_ns / 1e6);

  std::map<std::string, const proto::TaskState*> tasks_before;
  for (const proto::TaskState& t : before.tasks()) tasks_before[t.name()] = &t;
  size_t name_width = 4, queue_width = 5;
  for (const proto::TaskState& t : after.tasks()) {
    name_width = std::max(name_width, Width(Word(t.name())));
    queue_width = std::max(queue_width, Width(Word(t.queue())));
  }
  absl::StrAppend(&out,
                  "tasks (times in us; WAKE = release jitter for periodic tasks; MISSES, "
                  "OVERRUNS, COALESCED, DROPPED over the interval; RUN_max and RUNS since "
                  "created):\n");
  // TASK and QUEUE padded to their longest entry.
  const auto pad = [](const std::string& text, size_t width) {
    return text + std::string(width > Width(text) ? width - Width(text) : 0, ' ');
  };
  constexpr char kRow[] = "  %s  %s  %7s  %9s  %9s  %9s  %8s  %8s  %6s  %8s  %9s  %7s  %9s\n";
  absl::StrAppendFormat(&out, kRow, pad("TASK", name_width), pad("QUEUE", queue_width), "RUNS/s",
                        "WAKE_p50", "WAKE_p99", "WAKE_max", "RUN_avg", "RUN_max", "MISSES",
                        "OVERRUNS", "COALESCED", "DROPPED", "RUNS");
  int untimed_tasks = 0;
  for (const proto::TaskState& t : after.tasks()) {
    auto it = tasks_before.find(t.name());
    const proto::TaskState* b = it != tasks_before.end() ? it->second : nullptr;
    const proto::TaskState zero;
    const proto::TaskState& base = b != nullptr ? *b : zero;
    const uint64_t runs = Delta(t.activations(), base.activations());
    std::string p50 = "-", p99 = "-", max = "-", avg = "-";
    untimed_tasks += t.untimed() ? 1 : 0;
    if (runs > 0 && !t.untimed()) {
      avg = Micros(Delta(t.run_ns_total(), base.run_ns_total()) / runs);
      if (histograms) {
        const LatencySummary wake = IntervalWake(b, t);
        if (wake.count > 0) {
          p50 = Micros(wake.p50_ns);
          p99 = Micros(wake.p99_ns);
          max = Micros(wake.max_ns);
        }
      }
    }
    absl::StrAppendFormat(
        &out, kRow, pad(Word(t.name()), name_width), pad(Word(t.queue()), queue_width),
        PerSecond(runs, interval_ns), p50, p99, max, avg,
        t.activations() > 0 && !t.untimed() ? Micros(t.run_ns_max()) : std::string("-"),
        absl::StrCat(Delta(t.deadline_misses(), base.deadline_misses())),
        absl::StrCat(Delta(t.overruns(), base.overruns())),
        absl::StrCat(Delta(t.coalesced(), base.coalesced())),
        absl::StrCat(Delta(t.dropped(), base.dropped())), absl::StrCat(t.activations()));
  }
  if (untimed_tasks > 0) {
    absl::StrAppend(&out, "  (", untimed_tasks, untimed_tasks == 1 ? " task's" : " tasks'",
                    " activations are not timed, their queue's time_activations being false: "
                    "WAKE and RUN show -)\n");
  }
  if (!histograms) {
    absl::StrAppend(&out,
                    "  (wake figures not shown: the process keeps its histograms in another "
                    "layout than this schedctl)\n");
  }

  std::map<std::string, const proto::ProcessorState*> processors_before;
  for (const proto::ProcessorState& p : before.processors()) processors_before[p.name()] = &p;
  absl::StrAppend(&out, "processors (BUSY%: share of the interval spent running tasks):\n");
  const char kProcessorRow[] = "  %-15s  %7s  %6s  %7s  %8s  %8s  %s\n";
  absl::StrAppendFormat(&out, kProcessorRow, "PROCESSOR", "TID", "BUSY%", "RUNS/s", "SLEEPS/s",
                        "YIELDS/s", "TASKS");
  for (const proto::ProcessorState& p : after.processors()) {
    auto it = processors_before.find(p.name());
    const proto::ProcessorState zero;
    const proto::ProcessorState& base = it != processors_before.end() ? *it->second : zero;
    const uint64_t alive = Delta(p.alive_ns(), base.alive_ns());
    // Busy time is counted when a run ends, so a run that began before the interval counts
    // whole in it: capped at 100%.
    const std::string busy =
        alive > 0 ? absl::StrFormat(
                        "%.1f", std::min(100.0, 100.0 * Delta(p.busy_ns(), base.busy_ns()) / alive))
                  : std::string("-");
    std::vector<std::string> tasks;
    for (const std::string& task : p.live_tasks()) tasks.push_back(Word(task, true));
    absl::StrAppendFormat(&out, kProcessorRow, Word(p.name()), absl::StrCat(p.tid()), busy,
                          PerSecond(Delta(p.activations(), base.activations()), interval_ns),
                          PerSecond(Delta(p.sleeps(), base.sleeps()), interval_ns),
                          PerSecond(Delta(p.yields(), base.yields()), interval_ns),
                          tasks.empty() ? std::string("-") : absl::StrJoin(tasks, ","));
  }
  return out;
}

}  // namespace cadence
