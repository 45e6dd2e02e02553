#include "tools/bench/workloads.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>
#include <tuple>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "scheduler/common/thread_creation.h"
#include "scheduler/processor.h"
#include "scheduler/scheduler.h"
#include "scheduler/task.h"
#include "tools/bench/system.h"

namespace cadence::bench {
namespace {

constexpr int64_t kMs = 1000000;
constexpr int kFifoPriority = 50;

const RunnerKind kAllKinds[] = {RunnerKind::kFutex, RunnerKind::kNaive, RunnerKind::kClassic,
                                RunnerKind::kChoreography};

// One variant of a latency workload.
struct Variant {
  std::string name;
  int policy;
  bool load;
  bool dma;
  std::string Describe() const {
    return absl::StrCat(policy == SCHED_FIFO ? "worker SCHED_FIFO 50" : "worker SCHED_OTHER",
                        load ? ", stress load" : ", idle", dma ? ", cpu_dma_latency=0" : "");
  }
};

const std::vector<Variant>& W1Variants() {
  static const auto* v = new std::vector<Variant>{
      {"a", SCHED_OTHER, false, false}, {"b", SCHED_FIFO, false, false},
      {"c", SCHED_OTHER, true, false},  {"d", SCHED_FIFO, true, false},
      {"a'", SCHED_OTHER, false, true}, {"b'", SCHED_FIFO, false, true}};
  return *v;
}

WorkerSetup OneWorker(int policy) {
  WorkerSetup s;
  s.policy = policy;
  s.rt_priority = policy == SCHED_FIFO ? kFifoPriority : 0;
  s.cpus = {1};
  return s;
}

// The W1 sampling state: the notifier writes t0[i] then publishes seq = i; the measuring
// body (one activation at a time) records t1 - t0[j] for every new j.
struct Sampler {
  explicit Sampler(int total) : t0(total + 1, 0), sample(total + 1, -1), total(total) {}

  // The measuring body's part: takes t1 first.
  void Measure() { Record(NowNs(), seq.load(std::memory_order_acquire)); }

  void Record(int64_t t1, uint64_t s) {
    // Only the notifies this activation started after: one published between its t1 and
    // its read of seq (the body was already running) is the next activation's, which that
    // notify asked for (t0 grows with j, and seq's acquire makes t0[j <= s] visible).
    uint64_t upto = last_seen;
    while (upto < s && t0[upto + 1] <= t1) ++upto;
    if (upto == last_seen) {
      ++extra;
      return;
    }
    if (upto - last_seen > 1) coalesced += upto - last_seen - 1;
    for (uint64_t j = last_seen + 1; j <= upto; ++j) sample[j] = t1 - t0[j];
    last_seen = upto;
    done.store(upto, std::memory_order_release);
  }

  std::vector<int64_t> t0;
  std::vector<int64_t> sample;
  const int total;
  std::atomic<uint64_t> seq{0};
  std::atomic<uint64_t> done{0};
  uint64_t last_seen = 0;
  uint64_t coalesced = 0;
  uint64_t extra = 0;
};

// A latency row ready to be driven: its runner started, its task(s) waiting for the
// notifier, which calls `notify` each period it gives this row.
struct LiveRow {
  std::unique_ptr<Sampler> sampler;
  std::unique_ptr<Runner> runner;
  // W3: the seq A saw, handed down the chain to D.
  std::unique_ptr<std::atomic<uint64_t>> chain_seq;
  std::function<void()> notify;
  // Set when the runner failed to start: the row is not driven.
  std::string error;
};

LiveRow StartRow(RunnerKind kind, int policy, int total) {
  LiveRow row;
  row.sampler = std::make_unique<Sampler>(total);
  row.runner = MakeRunner(kind, OneWorker(policy));
  return row;
}

void FinishStart(LiveRow* row, std::function<void()> notify) {
  if (absl::Status st = row->runner->Start(); !st.ok()) {
    row->runner->Stop();
    row->error = std::string(st.message());
    return;
  }
  row->notify = std::move(notify);
}

// W1: one task whose body takes t1 first.
LiveRow StartW1Row(RunnerKind kind, int policy, int total) {
  LiveRow row = StartRow(kind, policy, total);
  Runner* r = row.runner.get();
  const int task = r->AddTask([s = row.sampler.get()] { s->Measure(); });
  FinishStart(&row, [r, task] { r->Notify(task); });
  return row;
}

// W3: A reads seq and notifies B, B notifies C, C notifies D; D takes t1 and records.
LiveRow StartW3Row(RunnerKind kind, int policy, int total) {
  LiveRow row = StartRow(kind, policy, total);
  row.chain_seq = std::make_unique<std::atomic<uint64_t>>(0);
  Runner* r = row.runner.get();
  Sampler* s = row.sampler.get();
  std::atomic<uint64_t>* cs = row.chain_seq.get();
  // Task indexes are 0..3 in AddTask order.
  r->AddTask([r, s, cs] {
    // As Sampler::Record does for a W1 body: the chain covers only the notifies published
    // before A started; one published since is the next chain's (A's run again).
    const int64_t ta = NowNs();
    uint64_t seen = s->seq.load(std::memory_order_acquire);
    while (seen > 0 && s->t0[seen] > ta) --seen;
    cs->store(seen, std::memory_order_release);
    r->Notify(1);
  });
  r->AddTask([r] { r->Notify(2); });
  r->AddTask([r] { r->Notify(3); });
  r->AddTask([s, cs] {
    const int64_t t1 = NowNs();
    s->Record(t1, cs->load(std::memory_order_acquire));
  });
  FinishStart(&row, [r] { r->Notify(0); });
  return row;
}

// Periods the notifier gives one row before it moves on to the next (DriveInterleaved).
// Short, so that a stall of the worker's vCPU spreads over every row: while it lasts, the
// notifier keeps notifying, and the one activation after it records a sample for each of
// those notifies (stall - 1 ms, stall - 2 ms, ...). With blocks of 100 periods, one 150 ms
// stall put about 100 such samples into a single row and decided its p99 (W1 (d): 69x the
// floor's in one run, 1.1x in the run before).
constexpr int kBlockPeriods = 10;

// Runs the 1 ms notifier (CPU 0, SCHED_OTHER) over the rows, interleaved: kBlockPeriods
// periods notifying one row's task, then as many for the next row, and so on round the
// rows until each has its sampler->total samples. The rows of a variant thus share the
// same minutes: on these VMs the wake cost drifts (halt polling, the host's load) by a
// microsecond or more between rows measured one after the other, which would otherwise
// decide a comparison with the floor. Then waits (at most 2 s) for the last samples,
// stops the runners and summarizes each row (its first `warmup` samples dropped).
std::vector<LatencyRow> DriveInterleaved(std::vector<LiveRow>* rows, int warmup) {
  absl::StatusOr<std::thread> notifier = CreateThread("W1 notifier", [rows] {
    SetUpCurrentThread({.cpus = {0}}).IgnoreError();
    std::vector<int> next(rows->size(), 1);
    int64_t period = NowNs() + 10 * kMs;
    bool any = true;
    while (any) {
      any = false;
      for (size_t r = 0; r < rows->size(); ++r) {
        LiveRow& row = (*rows)[r];
        if (!row.error.empty()) continue;
        Sampler* sampler = row.sampler.get();
        for (int k = 0; k < kBlockPeriods && next[r] <= sampler->total; ++k) {
          SleepUntil(period);
          const int i = next[r]++;
          sampler->t0[i] = NowNs();
          sampler->seq.store(i, std::memory_order_release);
          row.notify();
          period += kMs;
        }
        any |= next[r] <= sampler->total;
      }
    }
  });
  if (notifier.ok()) {
    notifier->join();
  } else {
    for (LiveRow& row : *rows) {  // No row can be measured.
      if (!row.error.empty()) continue;
      row.runner->Stop();
      row.error = std::string(notifier.status().message());
    }
  }
  const int64_t deadline = NowNs() + 2000 * kMs;
  for (LiveRow& row : *rows) {
    if (!row.error.empty()) continue;
    const Sampler* sampler = row.sampler.get();
    while (sampler->done.load(std::memory_order_acquire) < static_cast<uint64_t>(sampler->total) &&
           NowNs() < deadline) {
      SleepUntil(NowNs() + kMs);
    }
  }
  std::vector<LatencyRow> out;
  for (LiveRow& row : *rows) {
    LatencyRow summary;
    if (!row.error.empty()) {
      summary.error = row.error;
      out.push_back(std::move(summary));
      continue;
    }
    row.runner->Stop();
    const Sampler* sampler = row.sampler.get();
    std::vector<int64_t> kept;
    for (int j = warmup + 1; j <= sampler->total; ++j) {
      if (sampler->sample[j] >= 0) {
        kept.push_back(sampler->sample[j]);
      } else {
        ++summary.missing;
      }
    }
    summary.ok = true;
    summary.latency = NearestRank(std::move(kept));
    summary.coalesced = sampler->coalesced;
    summary.extra = sampler->extra;
    out.push_back(std::move(summary));
  }
  return out;
}

// One W1 row on its own (the floors table, when W1 did not run).
LatencyRow W1Row(RunnerKind kind, int policy, int samples, int warmup) {
  std::vector<LiveRow> rows;
  rows.push_back(StartW1Row(kind, policy, samples + warmup));
  return DriveInterleaved(&rows, warmup)[0];
}

std::vector<std::string> LatencyCells(const LatencyRow& row) {
  if (!row.ok) return {"error", "-", "-", "-", "-"};
  const Percentiles& p = row.latency;
  return {absl::StrCat(p.count), Num(p.p50_us), Num(p.p99_us), Num(p.p999_us), Num(p.max_us)};
}

// Appends ratio cells of `row` against `floor` and `naive` (p50 and p99 each), and the
// overhead over the floor's p50 in us.
void AddComparisons(const LatencyRow& row, const LatencyRow* floor, const LatencyRow* naive,
                    std::vector<std::string>* cells) {
  auto ratio = [&](const LatencyRow* base, bool p99) -> std::string {
    if (!row.ok || base == nullptr || !base->ok) return "-";
    return p99 ? Ratio(row.latency.p99_us, base->latency.p99_us)
               : Ratio(row.latency.p50_us, base->latency.p50_us);
  };
  cells->push_back(ratio(floor, false));
  cells->push_back(ratio(floor, true));
  cells->push_back(ratio(naive, false));
  cells->push_back(ratio(naive, true));
  cells->push_back(row.ok && floor != nullptr && floor->ok
                       ? Num(row.latency.p50_us - floor->latency.p50_us)
                       : "-");
}

// Runs `body` inside a variant's environment (background load, cpu_dma_latency).
void InVariant(const Variant& v, const BenchOptions& options, std::vector<std::string>* notes,
               const std::function<void(bool dma_ok)>& body) {
  std::optional<BackgroundLoad> load;
  if (v.load) {
    load.emplace(2, options.load_settle_seconds);
    notes->push_back(absl::StrCat("(", v.name, ") load: ", load->description(), ", started ",
                                  options.load_settle_seconds, " s before the first row"));
  }
  std::optional<DmaLatencyHold> dma;
  if (v.dma) {
    dma.emplace();
    if (!dma->held()) {
      notes->push_back(absl::StrCat("(", v.name, ") skipped: ", dma->error()));
      return;
    }
  }
  body(!v.dma || dma->held());
}

std::vector<std::string> LatencyHeader(const std::string& first) {
  return {first,          "runner",       "n",           "p50 us",     "p99 us",
          "p99.9 us",     "max us",       "coalesced",   "extra",      "p50/floor",
          "p99/floor",    "p50/naive",    "p99/naive",   "p50-floor us"};
}

void AddLatencyRow(Table* table, const std::string& variant, const std::string& runner,
                   const LatencyRow& row, const LatencyRow* floor, const LatencyRow* naive) {
  std::vector<std::string> cells = {variant, runner};
  for (auto& c : LatencyCells(row)) cells.push_back(c);
  cells.push_back(row.ok ? absl::StrCat(row.coalesced) : "-");
  cells.push_back(row.ok ? absl::StrCat(row.extra) : "-");
  AddComparisons(row, floor, naive, &cells);
  table->AddRow(cells);
  if (!row.ok) table->AddNote(absl::StrCat("(", variant, ") ", runner, ": ", row.error));
  if (row.missing > 0) {
    table->AddNote(absl::StrCat("(", variant, ") ", runner, ": ", row.missing,
                                " notifies never observed"));
  }
}

const LatencyRow* Find(const std::map<RunnerKind, LatencyRow>& rows, RunnerKind kind) {
  auto it = rows.find(kind);
  return it == rows.end() ? nullptr : &it->second;
}

}  // namespace

std::string RunW1(const BenchOptions& options, SharedResults* shared) {
  Table table(absl::StrCat("W1 wake latency (notify -> body starts), us; ", options.samples,
                           " samples kept per row after ", options.warmup, " warm-up dropped"),
              LatencyHeader("variant"));
  std::vector<std::string> notes;
  for (const Variant& v : W1Variants()) {
    std::cerr << "[bench] W1 (" << v.name << ") " << v.Describe() << "\n";
    InVariant(v, options, &notes, [&](bool) {
      std::vector<LiveRow> live;
      for (RunnerKind kind : kAllKinds) {
        live.push_back(StartW1Row(kind, v.policy, options.samples + options.warmup));
      }
      std::vector<LatencyRow> rows = DriveInterleaved(&live, options.warmup);
      for (size_t i = 0; i < rows.size(); ++i) shared->w1[v.name][kAllKinds[i]] = rows[i];
    });
    const auto& rows = shared->w1[v.name];
    for (RunnerKind kind : kAllKinds) {
      const LatencyRow* row = Find(rows, kind);
      if (row == nullptr) continue;
      const bool compare = kind != RunnerKind::kFutex;
      AddLatencyRow(&table, v.name, RunnerName(kind), *row,
                    compare ? Find(rows, RunnerKind::kFutex) : nullptr,
                    kind == RunnerKind::kClassic || kind == RunnerKind::kChoreography
                        ? Find(rows, RunnerKind::kNaive)
                        : nullptr);
    }
  }
  for (const Variant& v : W1Variants()) table.AddNote(absl::StrCat(v.name, ": ", v.Describe()));
  for (auto& n : notes) table.AddNote(n);
  table.AddNote("notifier: CPU 0, SCHED_OTHER, clock_nanosleep(TIMER_ABSTIME) 1 ms period; "
                "worker: CPU 1; coalesced = notifies covered by a later activation, extra = "
                "activations that saw no new notify; percentiles nearest-rank");
  table.AddNote(absl::StrCat(
      "rows of a variant interleaved: every row's workers are started first, then the "
      "notifier gives each row's task ", kBlockPeriods,
      " periods in turn, round the rows, so that all rows share the same minutes"));
  return table.ToString();
}

std::string RunFloors(const BenchOptions& options, SharedResults* shared) {
  Table table("Floors (physical limits measured in this run), us",
              {"floor", "n", "p50 us", "p99 us", "p99.9 us", "max us"});
  for (const Variant& v : W1Variants()) {
    auto it = shared->w1.find(v.name);
    LatencyRow row;
    if (it != shared->w1.end() && it->second.count(RunnerKind::kFutex)) {
      row = it->second.at(RunnerKind::kFutex);
    } else if (!v.load && !v.dma) {
      row = W1Row(RunnerKind::kFutex, v.policy, options.samples, options.warmup);
      shared->w1[v.name][RunnerKind::kFutex] = row;
    } else {
      table.AddNote(absl::StrCat("futex wake, ", v.Describe(),
                                 ": not measured (only with W1: run without --only, or with "
                                 "--only=w1,floors)"));
      continue;
    }
    std::vector<std::string> cells = {absl::StrCat("futex wake CPU0->CPU1, ", v.Describe())};
    for (auto& c : LatencyCells(row)) cells.push_back(c);
    table.AddRow(cells);
  }
  auto add_cyclictest = [&](const std::string& what, const CyclictestResult& c) {
    if (!c.ran) {
      table.AddNote(absl::StrCat("cyclictest ", what, ": skipped: ", c.why_not));
      return;
    }
    table.AddRow({absl::StrCat("cyclictest ", what), absl::StrCat(c.latency.count),
                  Num(c.latency.p50_us), Num(c.latency.p99_us), Num(c.latency.p999_us),
                  Num(c.latency.max_us)});
    table.AddNote(absl::StrCat("cyclictest ", what, ": `", c.command, "`",
                               c.overflows ? absl::StrCat(", ", c.overflows, " overflows") : ""));
  };
  std::cerr << "[bench] floors: cyclictest idle\n";
  add_cyclictest("idle", RunCyclictest(kFifoPriority, 1, options.samples));
  {
    std::cerr << "[bench] floors: cyclictest under load\n";
    BackgroundLoad load(2, options.load_settle_seconds);
    add_cyclictest(absl::StrCat("under ", load.description()),
                   RunCyclictest(kFifoPriority, 1, options.samples));
  }
  table.AddNote(
      "futex rows are the W1 floor rows (same run) when W1 ran; cyclictest holds "
      "/dev/cpu_dma_latency at 0 by default; its rows are read from its histogram "
      "(-h: whole-microsecond buckets, so its percentiles are rounded down by up to "
      "1 us) and keep every sample (cyclictest has no warm-up to drop)");
  return table.ToString();
}

std::string RunW3(const BenchOptions& options) {
  const int samples = std::max(1, options.samples / 2);
  Table table(absl::StrCat("W3 chain A->B->C->D on one worker (CPU 1), D.t1 - A.t0, us; ",
                           samples, " samples kept per row after ", options.warmup,
                           " warm-up dropped"),
              LatencyHeader("variant"));
  std::vector<std::string> notes;
  const std::vector<Variant> variants = {{"a", SCHED_OTHER, false, false},
                                         {"b", SCHED_FIFO, false, false},
                                         {"a'", SCHED_OTHER, false, true},
                                         {"b'", SCHED_FIFO, false, true}};
  for (const Variant& v : variants) {
    std::cerr << "[bench] W3 (" << v.name << ") " << v.Describe() << "\n";
    std::map<RunnerKind, LatencyRow> rows;
    InVariant(v, options, &notes, [&](bool) {
      // The floor is measured here, interleaved with the chain rows, not taken from W1's
      // run of the variant: on these VMs the wake cost drifts over minutes (e.g. with the
      // halt-polling state), and a ratio is only meaningful against a baseline of the same
      // moment.
      std::vector<LiveRow> live;
      for (RunnerKind kind : kAllKinds) {
        const int total = samples + options.warmup;
        live.push_back(kind == RunnerKind::kFutex ? StartW1Row(kind, v.policy, total)
                                                  : StartW3Row(kind, v.policy, total));
      }
      std::vector<LatencyRow> driven = DriveInterleaved(&live, options.warmup);
      for (size_t i = 0; i < driven.size(); ++i) rows[kAllKinds[i]] = driven[i];
    });
    for (RunnerKind kind : kAllKinds) {
      const LatencyRow* row = Find(rows, kind);
      if (row == nullptr) continue;
      const bool cadence = kind == RunnerKind::kClassic || kind == RunnerKind::kChoreography;
      AddLatencyRow(&table, v.name,
                    kind == RunnerKind::kFutex ? "floor (one W1 futex wake)" : RunnerName(kind),
                    *row, kind == RunnerKind::kFutex ? nullptr : Find(rows, RunnerKind::kFutex),
                    cadence ? Find(rows, RunnerKind::kNaive) : nullptr);
    }
  }
  for (const Variant& v : variants) table.AddNote(absl::StrCat(v.name, ": ", v.Describe()));
  for (auto& n : notes) table.AddNote(n);
  table.AddNote("the floor row is one W1 futex wake of the same variant, measured in the "
                "same window as the chain rows (with as many samples); rows interleaved as in "
                "W1; target: cadence p50 <= floor p50 + 3 us");
  return table.ToString();
}

// One-way cache line transfer between CPU 0 and CPU 1: two pinned threads hand a counter
// back and forth in one line; the time per hand-over. A runtime whose notify and run each
// write a task's state moves that line at least once per activation; a worker that takes
// those misses one after the other completes at most 1 / this activations per second.
// A failed thread creation gives the status instead.
absl::StatusOr<double> LineTransferNs() {
  constexpr uint64_t kRounds = 200000;
  struct alignas(64) Line {
    std::atomic<uint64_t> value{0};
  };
  auto line = std::make_unique<Line>();
  int64_t start = 0, end = 0;
  absl::StatusOr<std::thread> pong = CreateThread("line transfer pong", [&] {
    SetUpCurrentThread({.cpus = {1}}).IgnoreError();
    for (uint64_t i = 1; i < 2 * kRounds; i += 2) {
      while (line->value.load(std::memory_order_acquire) != i) __builtin_ia32_pause();
      line->value.store(i + 1, std::memory_order_release);
    }
  });
  if (!pong.ok()) return pong.status();
  auto ping_body = [&] {
    start = NowNs();
    for (uint64_t i = 0; i < 2 * kRounds; i += 2) {
      while (line->value.load(std::memory_order_acquire) != i) __builtin_ia32_pause();
      line->value.store(i + 1, std::memory_order_release);
    }
    while (line->value.load(std::memory_order_acquire) != 2 * kRounds) __builtin_ia32_pause();
    end = NowNs();
  };
  absl::StatusOr<std::thread> ping = CreateThread("line transfer ping", [&] {
    SetUpCurrentThread({.cpus = {0}}).IgnoreError();
    ping_body();
  });
  if (!ping.ok()) {
    ping_body();  // Here, unpinned, only so that pong finishes; not a measurement.
    pong->join();
    return ping.status();
  }
  ping->join();
  pong->join();
  return static_cast<double>(end - start) / (2.0 * kRounds);
}

// W2's measured floor: the bare notify -> run hand-over this machine allows, with nothing of
// a runtime around it. 1,000 tasks, each a cache line holding its activation state (idle,
// queued, running, running-notified: the same coalescing semantics as cadence and the naive
// pool's pending flag); one producer on CPU 0 notifies them round-robin exactly as W2's
// producer does (a compare-and-swap; a queuing notify writes the index into a
// single-producer ring, which can never overflow as each task is in it at most once); one
// worker on CPU 1 spins on the ring (no sleep, no lock, no priorities), prefetches the task
// 8 slots ahead for writing, and per activation does the two compare-and-swaps of its state
// and the W2 body. The timings add what a runtime needs to report run time (the worker reads
// the clock once per run, a run starting where the previous one ended, and adds the run time
// in the task's line) and wake latency (the producer also stamps each queuing notify with the
// clock, and the worker keeps the largest notify -> end in the task's line).
enum class BareTiming { kNone, kRuns, kNotifiesAndRuns };

// A W2 task's counter, on a cache line of its own: the body increments it, and with two
// workers neighbouring tasks run on different CPUs (packed counters would make every body
// write a line the other worker writes too). `owed` is set by the producer just before a
// task's last notify and cleared by the next run: one still set after the recovery is a
// notify that no run followed.
struct alignas(64) W2Counter {
  std::atomic<uint64_t> count{0};
  std::atomic<bool> owed{false};

  // The W2 body.
  void Run() {
    count.fetch_add(1, std::memory_order_relaxed);
    if (owed.load(std::memory_order_relaxed)) owed.store(false, std::memory_order_relaxed);
  }
};

struct BareHandOverResult {
  double rate = 0;       // Activations completed per second while the producer ran.
  double notifies = 0;   // Notifies per second.
  uint64_t notify_count = 0;
  uint64_t coalesced = 0;
  uint64_t min = 0, median = 0;  // Per-task activations.
};

absl::StatusOr<BareHandOverResult> BareHandOver(double seconds, BareTiming timing) {
  const bool timed = timing != BareTiming::kNone;
  const bool stamped = timing == BareTiming::kNotifiesAndRuns;
  constexpr int kTasks = 1000;
  constexpr uint32_t kRing = 1024;  // > kTasks: a task is in the ring at most once.
  constexpr int kPrefetch = 8;
  enum : uint32_t { kIdle, kQueued, kRunning, kRunningNotified };
  struct alignas(64) BareTask {
    std::atomic<uint32_t> state{kIdle};
    std::atomic<int64_t> notify_ns{0};
    uint64_t wake_max_ns = 0;
    uint64_t run_ns = 0;
  };
  struct alignas(64) Shared {
    BareTask tasks[kTasks];
    uint32_t ring[kRing] = {};
    alignas(64) std::atomic<uint32_t> tail{0};  // Written by the producer only.
    alignas(64) std::atomic<bool> stop{false};
    W2Counter counters[kTasks];
  };
  auto shared = std::make_unique<Shared>();
  Shared& s = *shared;
  auto total = [&s] {
    uint64_t sum = 0;
    for (const auto& c : s.counters) sum += c.count.load(std::memory_order_relaxed);
    return sum;
  };
  absl::StatusOr<std::thread> worker = CreateThread("bare hand-over worker", [&s, timed] {
    SetUpCurrentThread({.cpus = {1}}).IgnoreError();
    uint32_t head = 0;
    int64_t last = timed ? NowNs() : 0;
    while (true) {
      const uint32_t tail = s.tail.load(std::memory_order_acquire);
      if (head == tail) {
        if (s.stop.load(std::memory_order_relaxed)) return;
        __builtin_ia32_pause();
        continue;
      }
      for (; head != tail; ++head) {
        if (tail - head > kPrefetch) {
          __builtin_prefetch(&s.tasks[s.ring[(head + kPrefetch) % kRing]], 1, 3);
        }
        const uint32_t i = s.ring[head % kRing];
        BareTask& task = s.tasks[i];
        uint32_t expected = kQueued;
        task.state.compare_exchange_strong(expected, kRunning, std::memory_order_acq_rel);
        while (true) {
          const int64_t notified = timed ? task.notify_ns.load(std::memory_order_relaxed) : 0;
          s.counters[i].Run();  // The W2 body.
          if (timed) {
            const int64_t end = NowNs();
            if (end - notified > static_cast<int64_t>(task.wake_max_ns)) {
              task.wake_max_ns = static_cast<uint64_t>(end - notified);
            }
            task.run_ns += static_cast<uint64_t>(end - last);
            last = end;
          }
          expected = kRunning;
          if (task.state.compare_exchange_strong(expected, kIdle, std::memory_order_acq_rel)) {
            break;
          }
          // Notified during the run: run once more (the producer owns the ring).
          task.state.store(kRunning, std::memory_order_relaxed);
        }
      }
    }
  });
  if (!worker.ok()) return worker.status();
  BareHandOverResult result;
  absl::StatusOr<std::thread> producer = CreateThread("bare hand-over producer", [&, stamped] {
    SetUpCurrentThread({.cpus = {0}}).IgnoreError();
    const uint64_t done_at_start = total();
    const int64_t start = NowNs();
    const int64_t end = start + static_cast<int64_t>(seconds * 1e9);
    int64_t now = start;
    uint64_t notifies = 0, coalesced = 0;
    uint32_t tail = 0;
    while (now < end) {
      for (uint32_t i = 0; i < kTasks; ++i) {
        BareTask& task = s.tasks[i];
        uint32_t state = task.state.load(std::memory_order_acquire);
        while (true) {
          if (state == kIdle) {
            if (!task.state.compare_exchange_weak(state, kQueued, std::memory_order_acq_rel)) {
              continue;
            }
            if (stamped) task.notify_ns.store(NowNs(), std::memory_order_relaxed);
            s.ring[tail % kRing] = i;
            s.tail.store(++tail, std::memory_order_release);
          } else if (state == kRunning) {
            if (!task.state.compare_exchange_weak(state, kRunningNotified,
                                                  std::memory_order_acq_rel)) {
              continue;
            }
            if (stamped) task.notify_ns.store(NowNs(), std::memory_order_relaxed);
          } else {
            // Pending: coalesced (an RMW, as in cadence, to publish to the pending run).
            if (!task.state.compare_exchange_weak(state, state, std::memory_order_acq_rel)) {
              continue;
            }
            ++coalesced;
          }
          break;
        }
      }
      notifies += kTasks;
      now = NowNs();
    }
    const uint64_t done_at_stop = total();
    result.rate = (done_at_stop - done_at_start) / ((now - start) / 1e9);
    result.notifies = notifies / ((now - start) / 1e9);
    result.notify_count = notifies;
    result.coalesced = coalesced;
    s.stop.store(true, std::memory_order_relaxed);
  });
  if (!producer.ok()) {
    s.stop.store(true, std::memory_order_relaxed);  // The worker returns when idle.
    worker->join();
    return producer.status();
  }
  producer->join();
  worker->join();
  std::vector<uint64_t> per_task;
  for (const auto& c : s.counters) per_task.push_back(c.count.load(std::memory_order_relaxed));
  std::sort(per_task.begin(), per_task.end());
  result.min = per_task.front();
  result.median = per_task[per_task.size() / 2];
  return result;
}

std::string RunW2(const BenchOptions& options) {
  constexpr int kTasks = 1000;
  Table table(
      absl::StrCat("W2 throughput: ", kTasks, " tasks, producer CPU 0 round-robin for ",
                   options.w2_seconds, " s; recovery watched for ", options.w2_after_seconds, " s"),
      {"runner", "workers", "activations/s", "notifies/s", "coalesced", "coalesced %", "min/task",
       "median/task", "notifies not run after", "worker ctxsw/s", "idle after ms", "cpu ms after",
       "wakeups idle", "act/s vs naive", "act/s vs 1 worker", "act/s vs bare floor"});
  // The measured floors first: the bare hand-over, without and with the clock reads.
  double bare_rate = 0, bare_timed_rate = 0;
  const std::pair<BareTiming, const char*> bare_rows[] = {
      {BareTiming::kNone, "floor: bare"},
      {BareTiming::kRuns, "floor: bare, runs timed"},
      {BareTiming::kNotifiesAndRuns, "floor: bare, timed"}};
  for (const auto& [timing, name] : bare_rows) {
    std::cerr << "[bench] W2 " << name << "\n";
    const absl::StatusOr<BareHandOverResult> measured = BareHandOver(options.w2_seconds, timing);
    if (!measured.ok()) {
      table.AddRow({name, "1", "error"});
      table.AddNote(absl::StrCat(name, ": ", measured.status().message()));
      continue;
    }
    const BareHandOverResult& bare = *measured;
    if (timing == BareTiming::kNone) bare_rate = bare.rate;
    if (timing == BareTiming::kNotifiesAndRuns) bare_timed_rate = bare.rate;
    table.AddRow({name, "1", Num(bare.rate), Num(bare.notifies), absl::StrCat(bare.coalesced),
                  Num(bare.notify_count > 0 ? 100.0 * bare.coalesced / bare.notify_count : 0),
                  absl::StrCat(bare.min), absl::StrCat(bare.median), "-", "-", "-", "-", "-", "-",
                  "-", "-"});
  }
  struct Config {
    RunnerKind kind;
    int workers;
    int policy = SCHED_OTHER;
    int nice = 0;
    // cadence choreography: the workers are the pool's (see WorkerSetup::pool).
    bool pool = false;
    // cadence: activations not timed (see WorkerSetup::untimed).
    bool untimed = false;
  };
  const Config configs[] = {{RunnerKind::kNaive, 1},
                            {RunnerKind::kClassic, 1},
                            {RunnerKind::kChoreography, 1},
                            {RunnerKind::kClassic, 1, SCHED_OTHER, 0, false, true},
                            {RunnerKind::kChoreography, 1, SCHED_OTHER, 0, false, true},
                            {RunnerKind::kNaive, 2},
                            {RunnerKind::kClassic, 2},
                            {RunnerKind::kChoreography, 2},
                            {RunnerKind::kChoreography, 2, SCHED_OTHER, 0, true},
                            {RunnerKind::kClassic, 2, SCHED_OTHER, 0, false, true},
                            {RunnerKind::kNaive, 2, SCHED_BATCH},
                            {RunnerKind::kClassic, 2, SCHED_BATCH},
                            {RunnerKind::kChoreography, 2, SCHED_BATCH},
                            {RunnerKind::kNaive, 2, SCHED_BATCH, 10},
                            {RunnerKind::kClassic, 2, SCHED_BATCH, 10},
                            {RunnerKind::kChoreography, 2, SCHED_BATCH, 10}};
  double naive_rate[3] = {0, 0, 0};
  // The 1-worker rate of each runner kind, timed ([0]) and untimed ([1]).
  std::map<RunnerKind, double> one_worker_rate[2];
  for (const Config& config : configs) {
    const std::string name = absl::StrCat(
        RunnerName(config.kind), config.pool ? " pool" : "", config.untimed ? ", untimed" : "",
        config.policy == SCHED_BATCH ? ", SCHED_BATCH" : "",
        config.nice != 0 ? absl::StrCat(" nice ", config.nice) : "");
    std::cerr << "[bench] W2 " << name << " " << config.workers << " worker(s)\n";
    WorkerSetup setup = OneWorker(config.policy);
    setup.nice = config.nice;
    if (config.workers == 2) setup.cpus = {0, 1};
    setup.workers = config.workers;
    setup.pool = config.pool;
    setup.untimed = config.untimed;
    std::unique_ptr<Runner> runner = MakeRunner(config.kind, setup);
    auto counters = std::make_unique<W2Counter[]>(kTasks);
    for (int i = 0; i < kTasks; ++i) runner->AddTask([c = &counters[i]] { c->Run(); });
    if (absl::Status s = runner->Start(); !s.ok()) {
      table.AddRow({name, absl::StrCat(config.workers), "error"});
      table.AddNote(absl::StrCat(name, ": ", s.message()));
      continue;
    }
    auto total = [&] {
      uint64_t sum = 0;
      for (int i = 0; i < kTasks; ++i) sum += counters[i].count.load(std::memory_order_relaxed);
      return sum;
    };
    const std::vector<pid_t> tids = runner->WorkerTids();
    auto switches = [&] {
      uint64_t sum = 0;
      for (pid_t t : tids) sum += ThreadContextSwitches(t).value_or(0);
      return sum;
    };
    auto cpu_ns = [&] {
      int64_t sum = 0;
      for (pid_t t : tids) sum += ThreadCpuNs(t).value_or(0);
      return sum;
    };
    uint64_t notifies = 0;
    int64_t start = 0, stop = 0, cpu_at_stop = 0;
    uint64_t done_at_start = 0, done_at_stop = 0;
    const uint64_t switches_before = switches();
    absl::StatusOr<std::thread> producer = CreateThread("W2 producer", [&] {
      SetUpCurrentThread({.cpus = {0}}).IgnoreError();
      done_at_start = total();
      start = NowNs();
      const int64_t end = start + static_cast<int64_t>(options.w2_seconds * 1e9);
      int64_t now = start;
      while (now < end) {
        for (int i = 0; i < kTasks; ++i) runner->Notify(i);
        notifies += kTasks;
        now = NowNs();
      }
      // The last round, in full flow: each task's last notify, `owed` set just before it.
      for (int i = 0; i < kTasks; ++i) {
        counters[i].owed.store(true, std::memory_order_relaxed);
        runner->Notify(i);
      }
      notifies += kTasks;
      stop = NowNs();
      cpu_at_stop = cpu_ns();  // Before total(), which reads 1000 lines the workers write.
      done_at_stop = total();
    });
    if (!producer.ok()) {
      table.AddRow({name, absl::StrCat(config.workers), "error"});
      table.AddNote(absl::StrCat(name, ": ", producer.status().message()));
      continue;  // The runner stops as it goes out of scope.
    }
    producer->join();
    const uint64_t switches_during = switches() - switches_before;
    // Recovery: idle when no worker is runnable and no activation completed since the
    // previous look (polled every 100 us, for at most 5 s). The CPU time is the workers'
    // in the window of w2_after_seconds that starts at the producer's stop; the wake-ups
    // are their context switches from idle to the window's end.
    const int64_t window_end = stop + static_cast<int64_t>(options.w2_after_seconds * 1e9);
    int64_t idle_at = -1, cpu_at_end = -1;
    uint64_t sw_at_idle = 0, sw_at_end = 0;
    auto end_window = [&] {
      cpu_at_end = cpu_ns();
      sw_at_end = switches();
    };
    uint64_t previous = total();
    while (NowNs() - stop < 5000 * kMs) {
      SleepUntil(NowNs() + 100000);
      if (cpu_at_end < 0 && NowNs() >= window_end) end_window();
      const uint64_t now_total = total();
      bool running = false;
      for (pid_t t : tids) running |= ThreadState(t) == 'R';
      if (!running && now_total == previous) {
        idle_at = NowNs();
        sw_at_idle = switches();
        break;
      }
      previous = now_total;
    }
    const bool idle_in_window = idle_at >= 0 && cpu_at_end < 0;
    if (cpu_at_end < 0) {
      SleepUntil(window_end);
      end_window();
    }
    const int64_t cpu_after = cpu_at_end - cpu_at_stop;
    int unrun = 0;
    for (int i = 0; i < kTasks; ++i) unrun += counters[i].owed.load(std::memory_order_relaxed);
    const uint64_t coalesced = runner->Coalesced();
    std::vector<uint64_t> per_task = runner->Activations();
    runner->Stop();
    std::sort(per_task.begin(), per_task.end());
    const double seconds = (stop - start) / 1e9;
    const double rate = (done_at_stop - done_at_start) / seconds;
    if (config.kind == RunnerKind::kNaive) naive_rate[config.workers] = rate;
    // Timed rows against the timed floor; the naive pool and untimed rows, which read no
    // clock per activation, against the bare one.
    const bool timed = config.kind != RunnerKind::kNaive && !config.untimed;
    std::string vs_one = "-";
    if (config.workers == 1 && config.policy == SCHED_OTHER && !config.pool) {
      one_worker_rate[config.untimed][config.kind] = rate;
    } else if (config.workers == 2) {
      const auto it = one_worker_rate[config.untimed].find(config.kind);
      if (it != one_worker_rate[config.untimed].end()) vs_one = Ratio(rate, it->second);
    }
    table.AddRow({name, absl::StrCat(config.workers), Num(rate), Num(notifies / seconds),
                  absl::StrCat(coalesced), Num(notifies ? 100.0 * coalesced / notifies : 0),
                  absl::StrCat(per_task.empty() ? 0 : per_task.front()),
                  absl::StrCat(per_task.empty() ? 0 : per_task[per_task.size() / 2]),
                  absl::StrCat(unrun), Num(switches_during / seconds),
                  idle_at < 0 ? "never" : Num((idle_at - stop) / 1e6), Num(cpu_after / 1e6),
                  idle_in_window ? absl::StrCat(sw_at_end - sw_at_idle) : "-",
                  config.kind == RunnerKind::kNaive ? "-" : Ratio(rate, naive_rate[config.workers]),
                  vs_one, Ratio(rate, timed ? bare_timed_rate : bare_rate)});
  }
  table.AddNote("workers SCHED_OTHER unless the row says otherwise (SCHED_BATCH nice 10 is "
                "what the shipped robot confs give background groups); 1 worker: CPU 1; 2 "
                "workers: CPUs 0-1, range (cadence classic: one group; cadence choreography: "
                "two processors, task i placed on processor i % 2, and a pool processor on CPU "
                "0 that gets no work; cadence choreography pool: no task placed, a pool of two "
                "processors, which share one queue; naive: task i on worker i % 2); the "
                "producer is SCHED_OTHER nice 0 on CPU 0, so the worker that runs "
                "on CPU 0 takes CPU time from it");
  table.AddNote(
      "activations/s counts bodies completed while the producer ran; a notify of a "
      "pending task is coalesced (naive pool: a per-task pending flag, same "
      "semantics); worker ctxsw/s = voluntary+involuntary context switches of the "
      "workers during the run; each body increments its task's counter, one cache "
      "line per task");
  table.AddNote(
      "notifies not run after: the producer's last round (in full flow, right after "
      "the timed loop) sets a flag in each task's counter line just before notifying "
      "it, and the body clears it; tasks whose flag is still set once the workers are "
      "idle had a notify that no run followed (it must be 0: a coalesced notify is "
      "covered by the pending run, which starts after it); a notify that finds its task "
      "running is only partly covered (the run in progress may clear the flag; the "
      "scheduler's stress tests check that path)");
  table.AddNote(
      "untimed: the queues' time_activations is false, so no activation reads the "
      "clock (no wake latency, no run times; the counts stay); every other cadence "
      "row times every activation (notify -> start, run time), which is what the "
      "'bare, timed' floor does too");
  const absl::StatusOr<double> transfer_ns = LineTransferNs();
  if (transfer_ns.ok()) {
    table.AddNote(absl::StrCat(
        "floor: one cache line transfer CPU 0 -> CPU 1 takes ", Num(*transfer_ns),
        " ns here (ping-pong, same run). The notify -> run hand-over moves each task's state "
        "line at least once per activation; a worker taking those misses one after the other "
        "tops out near ", Num(1e3 / *transfer_ns), " M activations/s (the bare rows overlap "
        "them by prefetching)"));
  } else {
    table.AddNote(absl::StrCat("floor: cache line transfer not measured: ",
                               transfer_ns.status().message()));
  }
  table.AddNote(
      "floor: bare = the notify -> run hand-over alone, measured here: 1000 tasks "
      "of one cache line (the same state machine, coalescing included), a "
      "single-producer ring of indices, one worker on CPU 1 spinning on it (no lock, "
      "no sleep, no priorities, no statistics), 8-slot write prefetch; runs timed = "
      "the same plus one clock read per run (what run time statistics need); timed = "
      "also one per queuing notify (what wake latency statistics need, as cadence "
      "keeps for every activation). act/s vs bare floor: the row's rate over 'bare, "
      "timed' for the rows that time every activation, over 'bare' for the naive pool "
      "and the untimed rows (which read no clock per activation); act/s vs 1 worker: a "
      "2-worker row's rate over the 1-worker row of the same runner and timing "
      "(SCHED_OTHER: the SCHED_BATCH rows are compared with it too; choreography pool "
      "with the 1-worker choreography row)");
  table.AddNote(
      "idle after: producer stop -> no worker runnable and no activation completed "
      "(polled every 100 us, at most 5 s); cpu ms after: the workers' CPU time in the "
      "window that starts at the producer's stop and lasts the recovery time; wakeups "
      "idle: their context switches from idle to the window's end ('-': not idle "
      "within the window)");
  return table.ToString();
}

namespace {

// How busy each CPU was between two PerCpuTicks readings, in percent, CPU 0 first: "99/100".
std::string BusyPercent(const std::vector<CpuTicks>& from, const std::vector<CpuTicks>& to) {
  std::vector<std::string> cells;
  for (const CpuTicks& t : to) {
    for (const CpuTicks& f : from) {
      if (f.cpu != t.cpu || t.total <= f.total) continue;
      // Signed: iowait may go backwards (proc(5)).
      const double idle = static_cast<double>(static_cast<int64_t>(t.idle - f.idle)) /
                          static_cast<double>(t.total - f.total);
      cells.push_back(Num(std::clamp(100.0 * (1.0 - idle), 0.0, 100.0)));
    }
  }
  return cells.empty() ? "-" : absl::StrJoin(cells, "/");
}

}  // namespace

std::string RunW4(const BenchOptions& options) {
  Table table(absl::StrCat("W4 isolation: motion 1 kHz + led 100 Hz on CPU 0 SCHED_FIFO 50, "
                           "background busy on CPUs 0-1; jitter = start - ideal release, us; ",
                           options.samples, " samples after ", options.warmup, " warm-up"),
              {"row", "n", "p50 us", "p99 us", "p99.9 us", "max us", "late > 1 period",
               "missed releases", "p99 vs cyclictest", "p99 vs cyclictest --laptop",
               "p99 vs same-time floor CPU 1", "p99 vs same-time floor CPU 0", "CPU 0/1 busy %"});
  // The same process in both layouts: motion and led on a SCHED_FIFO 50 processor on CPU 0
  // (classic: a group of its own; choreography: placed on choreography processor 0),
  // preview and parse on two SCHED_BATCH nice 10 processors on CPUs 0-1 (classic: a group;
  // choreography: the pool).
  const std::string classic_conf =
      "scheduler_conf {\n policy: \"classic\"\n classic_conf {\n  groups: [\n"
      "   { name: \"rt\" processor_num: 1 affinity: \"1to1\" cpuset: \"0\"\n"
      "     processor_policy: \"SCHED_FIFO\" processor_prio: 50\n"
      "     tasks: [ { name: \"motion\" prio: 19 }, { name: \"led\" prio: 10 },\n"
      "              { name: \"motion_dma\" prio: 19 }, { name: \"led_dma\" prio: 10 } ] },\n"
      "   { name: \"bg\" processor_num: 2 affinity: \"range\" cpuset: \"0-1\"\n"
      "     processor_policy: \"SCHED_BATCH\" processor_nice: 10\n"
      "     tasks: [ { name: \"preview\" prio: 5 }, { name: \"parse\" prio: 3 } ] }\n"
      "  ]\n }\n}\n";
  const std::string choreography_conf =
      "scheduler_conf {\n policy: \"choreography\"\n choreography_conf {\n"
      "  choreography_processor_num: 1 choreography_affinity: \"1to1\"\n"
      "  choreography_cpuset: \"0\" choreography_processor_policy: \"SCHED_FIFO\"\n"
      "  choreography_processor_prio: 50\n"
      "  pool_processor_num: 2 pool_affinity: \"range\" pool_cpuset: \"0-1\"\n"
      "  pool_processor_policy: \"SCHED_BATCH\" pool_processor_nice: 10\n"
      "  tasks: [ { name: \"motion\" processor: 0 prio: 19 }, { name: \"led\" processor: 0 "
      "prio: 10 },\n"
      "           { name: \"motion_dma\" processor: 0 prio: 19 },\n"
      "           { name: \"led_dma\" processor: 0 prio: 10 },\n"
      "           { name: \"preview\" prio: 5 }, { name: \"parse\" prio: 3 } ]\n"
      " }\n}\n";
  // Background: preview and parse each spin ~5 ms and notify themselves again.
  std::atomic<bool> stop_background{false};
  auto start = [&](const std::string& conf) -> absl::StatusOr<std::unique_ptr<Scheduler>> {
    absl::StatusOr<Plan> plan = PlanFromText(conf);
    if (!plan.ok()) return plan.status();
    absl::StatusOr<std::unique_ptr<Scheduler>> started = Scheduler::Start(*plan);
    if (!started.ok()) return started.status();
    Scheduler* scheduler = started->get();
    for (const char* name : {"preview", "parse"}) {
      auto self = std::make_shared<TaskId>();
      absl::StatusOr<TaskId> id =
          scheduler->CreateTask(name, [scheduler, &stop_background, self] {
            Spin(5 * kMs);
            if (!stop_background.load(std::memory_order_relaxed)) {
              scheduler->NotifyTask(*self).IgnoreError();
            }
          });
      if (!id.ok()) return id.status();
      *self = *id;
      scheduler->NotifyTask(*id).IgnoreError();
    }
    SleepUntil(NowNs() + static_cast<int64_t>(options.load_settle_seconds * 1e9));
    return started;
  };

  const int total = options.samples + options.warmup;
  struct Motion {
    LatencyRow row;
    uint64_t late = 0;    // Kept samples that started more than one period late.
    uint64_t misses = 0;  // TaskStatistics::deadline_misses: late starts + skipped releases.
    LatencyRow twin;      // The same-time floor on CPU 1 (see run_twin).
    uint64_t twin_late = 0;
    uint64_t twin_misses = 0;
    LatencyRow twin0;  // The floor on CPU 0, half a period after the motion's releases.
    uint64_t twin0_late = 0;
    uint64_t twin0_misses = 0;
    std::string busy = "-";  // CPU 0/1 busy % over the row (BusyPercent).
  };
  auto keep = [&](const std::vector<int64_t>& jitter, int n, LatencyRow* row, uint64_t* late) {
    std::vector<int64_t> kept;
    for (int i = options.warmup; i < n; ++i) {
      kept.push_back(jitter[i]);
      if (jitter[i] > kMs) ++*late;
    }
    row->ok = true;
    row->latency = NearestRank(std::move(kept));
  };
  auto run_motion = [&](Scheduler& scheduler, const std::string& suffix) -> Motion {
    std::vector<int64_t> jitter(total, -1);
    std::atomic<int> count{0};
    // The motion's first release, from which the twin timer takes its release times.
    std::atomic<int64_t> first_release{0};
    absl::StatusOr<TaskId> motion = scheduler.CreatePeriodicTask(
        "motion" + suffix, std::chrono::milliseconds(1), [&jitter, &count, &first_release, total] {
          const int64_t start = NowNs();
          const int64_t release = CurrentRelease();
          const int i = count.load(std::memory_order_relaxed);
          if (release > 0 && i < total) {
            jitter[i] = start - release;
            if (i == 0) first_release.store(release, std::memory_order_release);
            count.store(i + 1, std::memory_order_release);
          }
        });
    absl::StatusOr<TaskId> led = scheduler.CreatePeriodicTask(
        "led" + suffix, std::chrono::milliseconds(10), [] { Spin(20000); });
    Motion m;
    if (!motion.ok() || !led.ok()) {
      m.row.error = std::string((motion.ok() ? led.status() : motion.status()).message());
      return m;
    }
    const int64_t deadline = NowNs() + static_cast<int64_t>(total) * 2 * kMs + 2000 * kMs;
    // The same-time floors: bare timer threads released at the motion's release times over
    // the same minutes, one on CPU 1 at the same instants, one on CPU 0 half a period later
    // (it sees what slows CPU 0 itself, without delaying the motion).
    struct Twin {
      std::vector<int64_t> jitter;
      int n = 0;
      uint64_t misses = 0;  // Counted as TaskStatistics::deadline_misses counts them.
      absl::Status status;
      absl::StatusOr<std::thread> thread;
    };
    auto run_twin = [&](Twin& twin, const char* name, int cpu, int64_t offset) {
      twin.jitter.assign(total, -1);
      twin.thread = CreateThread(name, [&twin, &first_release, deadline, cpu, offset, total] {
        twin.status = SetUpCurrentThread({SCHED_FIFO, kFifoPriority, 0, {cpu}});
        if (!twin.status.ok()) return;
        int64_t first = 0;
        while ((first = first_release.load(std::memory_order_acquire)) == 0 && NowNs() < deadline) {
          SleepUntil(NowNs() + kMs);
        }
        if (first == 0) return;
        int64_t next = first + offset + ((NowNs() - first) / kMs + 1) * kMs;
        for (; twin.n < total && NowNs() < deadline; ++twin.n) {
          SleepUntil(next);
          const int64_t woke = NowNs();
          twin.jitter[twin.n] = woke - next;
          // As cadence releases a periodic task: a late start is a miss, and releases a
          // whole period late are skipped and counted, not caught up (so a stall is one late
          // sample in both rows).
          twin.misses += twin.jitter[twin.n] > kMs;
          next += kMs;
          if (next <= woke) {
            const int64_t skipped = (woke - next) / kMs + 1;
            twin.misses += static_cast<uint64_t>(skipped);
            next += skipped * kMs;
          }
        }
      });
    };
    Twin twin1, twin0;
    run_twin(twin1, "W4 floor CPU 1", 1, 0);
    run_twin(twin0, "W4 floor CPU 0", 0, kMs / 2);
    const std::vector<CpuTicks> ticks_before = PerCpuTicks();
    while (count.load(std::memory_order_acquire) < total && NowNs() < deadline) {
      SleepUntil(NowNs() + 10 * kMs);
    }
    m.busy = BusyPercent(ticks_before, PerCpuTicks());
    for (Twin* twin : {&twin1, &twin0}) {
      if (twin->thread.ok()) {
        twin->thread->join();
      } else {
        twin->status = twin->thread.status();
      }
    }
    absl::StatusOr<TaskStats> stats = scheduler.TaskStatistics(*motion);
    scheduler.RemoveTask(*motion).IgnoreError();
    scheduler.RemoveTask(*led).IgnoreError();
    keep(jitter, count.load(std::memory_order_acquire), &m.row, &m.late);
    m.misses = stats.ok() ? stats->deadline_misses : 0;
    for (auto [twin, row, late, misses] :
         {std::tuple{&twin1, &m.twin, &m.twin_late, &m.twin_misses},
          std::tuple{&twin0, &m.twin0, &m.twin0_late, &m.twin0_misses}}) {
      *misses = twin->misses;
      if (twin->status.ok()) {
        keep(twin->jitter, twin->n, row, late);
      } else {
        row->error = std::string(twin->status.message());
      }
    }
    return m;
  };
  // Each layout's two motion rows; the classic one's scheduler keeps running for cyclictest.
  struct Layout {
    std::string name;
    std::string error;  // Did not start.
    Motion plain, with_dma;
    std::string dma_error;
  };
  auto run_layout = [&](const std::string& name, Scheduler& scheduler) {
    Layout layout;
    layout.name = name;
    std::cerr << "[bench] W4 " << name << " motion\n";
    layout.plain = run_motion(scheduler, "");
    DmaLatencyHold dma;
    if (dma.held()) {
      std::cerr << "[bench] W4 " << name << " motion, cpu_dma_latency=0\n";
      layout.with_dma = run_motion(scheduler, "_dma");
    } else {
      layout.dma_error = dma.error();
    }
    return layout;
  };
  std::vector<Layout> layouts;
  {
    absl::StatusOr<std::unique_ptr<Scheduler>> choreography = start(choreography_conf);
    if (choreography.ok()) {
      layouts.push_back(run_layout("cadence choreography", **choreography));
      stop_background.store(true);
      (*choreography)->Shutdown();
      stop_background.store(false);
    } else {
      Layout failed;
      failed.name = "cadence choreography";
      failed.error = std::string(choreography.status().message());
      layouts.push_back(failed);
    }
  }
  CyclictestResult cyc, laptop;
  std::string cyc_busy = "-", laptop_busy = "-";
  absl::StatusOr<std::unique_ptr<Scheduler>> classic = start(classic_conf);
  if (classic.ok()) {
    layouts.insert(layouts.begin(), run_layout("cadence classic", **classic));
    std::cerr << "[bench] W4 cyclictest -a 0 under the same background\n";
    std::vector<CpuTicks> ticks = PerCpuTicks();
    cyc = RunCyclictest(kFifoPriority, 0, options.samples);
    std::vector<CpuTicks> after = PerCpuTicks();
    cyc_busy = BusyPercent(ticks, after);
    ticks = std::move(after);
    laptop = RunCyclictest(kFifoPriority, 0, options.samples, {"--laptop"});
    laptop_busy = BusyPercent(ticks, PerCpuTicks());
    stop_background.store(true);
    (*classic)->Shutdown();
  } else {
    Layout failed;
    failed.name = "cadence classic";
    failed.error = std::string(classic.status().message());
    layouts.insert(layouts.begin(), failed);
    for (CyclictestResult* c : {&cyc, &laptop}) {
      c->command = c == &cyc ? "cyclictest" : "cyclictest --laptop";
      c->why_not = "it runs under the classic layout's background, which did not start";
    }
  }

  // `misses` < 0: not counted for this row. `m`: the motion whose same-time floors the row is
  // compared with, if any.
  auto add = [&](const std::string& name, const LatencyRow& row, uint64_t late, int64_t misses,
                 bool cadence, const Motion* m = nullptr, const std::string& busy = "-") {
    std::vector<std::string> cells = {name};
    for (auto& c : LatencyCells(row)) cells.push_back(c);
    cells.push_back(row.ok ? absl::StrCat(late) : "-");
    cells.push_back(row.ok && misses >= 0 ? absl::StrCat(misses) : "-");
    cells.push_back(cadence && row.ok && cyc.ran ? Ratio(row.latency.p99_us, cyc.latency.p99_us)
                                                 : "-");
    cells.push_back(cadence && row.ok && laptop.ran
                        ? Ratio(row.latency.p99_us, laptop.latency.p99_us)
                        : "-");
    for (const LatencyRow* twin : {m ? &m->twin : nullptr, m ? &m->twin0 : nullptr}) {
      cells.push_back(twin != nullptr && row.ok && twin->ok
                          ? Ratio(row.latency.p99_us, twin->latency.p99_us)
                          : "-");
    }
    cells.push_back(busy);
    table.AddRow(cells);
    if (!row.ok && !row.error.empty()) table.AddNote(absl::StrCat(name, ": ", row.error));
  };
  const std::string twin_name = "same-time floor: timer on CPU 1 at the motion's releases";
  const std::string twin0_name = "same-time floor: timer on CPU 0, 0.5 ms after them";
  for (const Layout& l : layouts) {
    if (!l.error.empty()) {
      table.AddNote(absl::StrCat(l.name, " skipped: ", l.error));
      continue;
    }
    add(l.name + " motion", l.plain.row, l.plain.late, static_cast<int64_t>(l.plain.misses), true,
        &l.plain, l.plain.busy);
    add(twin_name, l.plain.twin, l.plain.twin_late, static_cast<int64_t>(l.plain.twin_misses),
        false);
    add(twin0_name, l.plain.twin0, l.plain.twin0_late, static_cast<int64_t>(l.plain.twin0_misses),
        false);
    if (l.dma_error.empty()) {
      add(l.name + " motion, cpu_dma_latency=0", l.with_dma.row, l.with_dma.late,
          static_cast<int64_t>(l.with_dma.misses), true, &l.with_dma, l.with_dma.busy);
      add(twin_name + ", cpu_dma_latency=0", l.with_dma.twin, l.with_dma.twin_late,
          static_cast<int64_t>(l.with_dma.twin_misses), false);
      add(twin0_name + ", cpu_dma_latency=0", l.with_dma.twin0, l.with_dma.twin0_late,
          static_cast<int64_t>(l.with_dma.twin0_misses), false);
    } else {
      table.AddNote(absl::StrCat(l.name, ": cpu_dma_latency row skipped: ", l.dma_error));
    }
  }
  for (const CyclictestResult* c : {&cyc, &laptop}) {
    if (!c->ran) {
      table.AddNote(absl::StrCat("`", c->command, "` skipped: ", c->why_not));
      continue;
    }
    LatencyRow row;
    row.ok = true;
    row.latency = c->latency;
    add(c == &cyc ? "cyclictest (cpu_dma_latency=0, its default)" : "cyclictest --laptop", row,
        c->late, -1, false, nullptr, c == &cyc ? cyc_busy : laptop_busy);
    table.AddNote(absl::StrCat("`", c->command, "`"));
  }
  table.AddNote("cadence classic: motion and led in a group of one SCHED_FIFO 50 processor "
                "on CPU 0, the background in a group of 2 SCHED_BATCH nice 10 processors on "
                "CPUs 0-1; cadence choreography: motion and led placed on one SCHED_FIFO 50 "
                "choreography processor on CPU 0, the background in a pool of 2 SCHED_BATCH "
                "nice 10 processors on CPUs 0-1 (its rows run first, with their own scheduler; "
                "cyclictest runs under the classic one's background)");
  table.AddNote(
      "background: preview/parse bodies that spin 5 ms and re-notify themselves; led "
      "spins 20 us; late > 1 period: samples that started more than 1000 us after "
      "their release (cadence: the kept samples; cyclictest: its histogram, "
      "overflows included), the same count for both; missed releases: cadence's "
      "TaskStatistics deadline_misses over the whole run, which also counts each "
      "release skipped while a start was late (one 15 ms stall of the VM: 1 late "
      "sample, about 15 missed releases; the same-time floors count theirs the "
      "same way since the session of 2026-11-24, and skip such releases as cadence "
      "does: before, a floor caught up and a 15 ms stall was 15 late samples)");
  table.AddNote(
      "same-time floor: while each motion row runs, a bare thread on CPU 1 "
      "(SCHED_FIFO 50, clock_nanosleep TIMER_ABSTIME) is released at the motion's own "
      "release times and records start - release like it; on these VMs something "
      "delays timer wake-ups on both CPUs at one phase of every 2 ms, a phase that "
      "drifts by about 8 us/s, so a periodic thread whose releases fall there is "
      "late for seconds at a time whatever it runs; cyclictest runs at another phase "
      "in other minutes, this floor at the same phase in the same minutes. A second "
      "bare thread, on CPU 0 (SCHED_FIFO 50), is released half a period after each "
      "motion release: it sees what slows CPU 0 itself in those minutes (on these "
      "VMs, bursts of timer interrupts that reach CPU 0 30-50 us later than usual, "
      "which CPU 1 does not see; docs/performance.md) without delaying the motion, "
      "but at another phase of the 2 ms pattern. Both floors count missed releases "
      "as cadence does: a late start, and each release skipped after it");
  table.AddNote(
      "CPU 0/1 busy %: how busy each CPU was while the row ran (/proc/stat: 100 - "
      "idle - iowait - steal), to show that the background did fill both CPUs (the "
      "same-time floor rows run in their motion row's minutes)");
  table.AddNote(
      "no naive pool row: a mutex + condition variable pool has no periodic "
      "release to give motion its period; cyclictest and the same-time floor are the "
      "hand-written baselines here");
  return table.ToString();
}

std::string RunIdle(const BenchOptions& options) {
  constexpr int kTasks = 1000;
  Table table(absl::StrCat("Idle: ", kTasks, " tasks created, nothing notified for ",
                           options.idle_seconds, " s"),
              {"runner", "worker", "tid", "cpu us", "wakeups/s"});
  std::cerr << "[bench] idle\n";
  for (RunnerKind kind : {RunnerKind::kNaive, RunnerKind::kClassic, RunnerKind::kChoreography}) {
    WorkerSetup setup = OneWorker(SCHED_OTHER);
    setup.workers = 2;
    setup.cpus = {0, 1};
    std::unique_ptr<Runner> runner = MakeRunner(kind, setup);
    for (int i = 0; i < kTasks; ++i) runner->AddTask([] {});
    if (absl::Status s = runner->Start(); !s.ok()) {
      table.AddNote(absl::StrCat(RunnerName(kind), ": ", s.message()));
      continue;
    }
    SleepUntil(NowNs() + 100 * kMs);  // let start-up settle
    const std::vector<pid_t> tids = runner->AllTids();
    std::vector<int64_t> cpu0;
    std::vector<uint64_t> sw0;
    for (pid_t t : tids) {
      cpu0.push_back(ThreadCpuNs(t).value_or(0));
      sw0.push_back(ThreadContextSwitches(t).value_or(0));
    }
    SleepUntil(NowNs() + static_cast<int64_t>(options.idle_seconds * 1e9));
    for (size_t i = 0; i < tids.size(); ++i) {
      const int64_t cpu = ThreadCpuNs(tids[i]).value_or(0) - cpu0[i];
      const uint64_t sw = ThreadContextSwitches(tids[i]).value_or(0) - sw0[i];
      table.AddRow({RunnerName(kind), absl::StrCat(i), absl::StrCat(tids[i]), Num(cpu / 1e3),
                    Num(sw / options.idle_seconds)});
    }
    runner->Stop();
  }
  table.AddNote("2 workers, SCHED_OTHER, CPUs 0-1 (cadence choreography: two processors "
                "with the tasks placed on them, and its pool processor, worker 2); "
                "wake-ups = voluntary + involuntary context switches "
                "(/proc/self/task/<tid>/status); CPU time from the thread CPU clock");
  return table.ToString();
}

namespace {

const char* LayoutName(RunnerKind kind) {
  return kind == RunnerKind::kClassic ? "classic" : "choreography";
}

struct MemoryChildResult {
  Memory before, after, again;
  int failed = 0;
};

// Runs this binary again as a memory child for `kind` and reads its line.
absl::StatusOr<MemoryChildResult> SpawnMemoryChild(RunnerKind kind, int tasks) {
  absl::StatusOr<std::string> run =
      RunCapturingStdout({"/proc/self/exe", absl::StrCat("--memory_child=", LayoutName(kind)),
                          absl::StrCat("--memory_tasks=", tasks)},
                         /*quiet_stderr=*/false);
  if (!run.ok()) {
    return absl::Status(run.status().code(), absl::StrCat("the memory child for ", LayoutName(kind),
                                                          ": ", run.status().message()));
  }
  const std::string& text = *run;
  MemoryChildResult r;
  std::vector<std::string> fields = absl::StrSplit(text, ' ', absl::SkipWhitespace());
  int64_t v[7];
  bool ok = fields.size() == 7;
  for (size_t i = 0; ok && i < 7; ++i) ok = absl::SimpleAtoi(fields[i], &v[i]);
  if (!ok) {
    return absl::InternalError(
        absl::StrCat("the memory child for ", LayoutName(kind), " printed \"", text, "\""));
  }
  r.before = {v[0], v[1]};
  r.after = {v[2], v[3]};
  r.again = {v[4], v[5]};
  r.failed = static_cast<int>(v[6]);
  return r;
}

}  // namespace

int MemoryChildMain(const std::string& layout, int tasks) {
  RunnerKind kind;
  if (layout == "classic") {
    kind = RunnerKind::kClassic;
  } else if (layout == "choreography") {
    kind = RunnerKind::kChoreography;
  } else {
    std::cerr << "bench: --memory_child must be classic or choreography, not \"" << layout
              << "\"\n";
    return 2;
  }
  const WorkerSetup setup = OneWorker(SCHED_OTHER);
  absl::StatusOr<Plan> plan = PlanFromText(
      kind == RunnerKind::kClassic ? ClassicConf(setup, {}) : ChoreographyConf(setup, 0));
  absl::StatusOr<std::unique_ptr<Scheduler>> s =
      plan.ok() ? Scheduler::Start(*plan)
                : absl::StatusOr<std::unique_ptr<Scheduler>>(plan.status());
  if (!s.ok()) {
    std::cerr << "bench: memory child: " << s.status().message() << "\n";
    return 2;
  }
  tasks = std::max(0, tasks);
  int failed = 0;
  std::atomic<uint64_t> sink{0};
  // Written before `before`, so that its pages are not counted.
  std::vector<TaskId> ids(static_cast<size_t>(tasks));
  const Memory before = ProcessMemory();
  for (int i = 0; i < tasks; ++i) {
    absl::StatusOr<TaskId> id =
        (*s)->CreateTask(absl::StrCat("m", i), [&sink] { sink.fetch_add(1); });
    if (id.ok()) ids[i] = *id;
    failed += !id.ok();
  }
  const Memory after = ProcessMemory();
  // Churn: all of them removed, as many created again (in the removed tasks' slots).
  for (const TaskId& id : ids) failed += id.valid() && !(*s)->RemoveTask(id).ok();
  for (int i = 0; i < tasks; ++i) {
    failed += !(*s)->CreateTask(absl::StrCat("r", i), [&sink] { sink.fetch_add(1); }).ok();
  }
  const Memory again = ProcessMemory();
  (*s)->Shutdown();
  std::cout << before.rss_bytes << " " << before.vm_bytes << " " << after.rss_bytes << " "
            << after.vm_bytes << " " << again.rss_bytes << " " << again.vm_bytes << " " << failed
            << "\n"
            << std::flush;
  return 0;
}

std::string RunMemory(const BenchOptions& options) {
  Table table(absl::StrCat("Memory: ", options.memory_tasks, " tasks created"),
              {"runner", "tasks", "RSS delta KiB", "VmSize delta KiB", "RSS B/task",
               "VmSize B/task"});
  std::cerr << "[bench] memory\n";
  int failed = 0;
  const int n = std::max(1, options.memory_tasks);
  auto row = [&](const std::string& runner, const Memory& from, const Memory& to) {
    const int64_t rss = to.rss_bytes - from.rss_bytes;
    const int64_t vm = to.vm_bytes - from.vm_bytes;
    table.AddRow({runner, absl::StrCat(options.memory_tasks), Num(rss / 1024.0), Num(vm / 1024.0),
                  Num(static_cast<double>(rss) / n), Num(static_cast<double>(vm) / n)});
  };
  for (RunnerKind kind : {RunnerKind::kClassic, RunnerKind::kChoreography}) {
    const absl::StatusOr<MemoryChildResult> r = SpawnMemoryChild(kind, options.memory_tasks);
    if (!r.ok()) {
      table.AddNote(absl::StrCat(RunnerName(kind), ": skipped: ", r.status().message()));
      continue;
    }
    failed += r->failed;
    row(RunnerName(kind), r->before, r->after);
    row(absl::StrCat(RunnerName(kind), ", removed and created again"), r->after, r->again);
  }
  table.AddNote(
      "each layout in a process of its own (this binary run again, with "
      "--memory_child), started just for this: no memory freed earlier is reused "
      "and hides what the tasks take; VmRSS/VmSize from /proc/self/status before "
      "and after creating the tasks (names \"m<i>\", not in the conf, so in classic "
      "the group's queue and in choreography the pool's; a body capturing one "
      "pointer); \"removed and created again\": after removing them all and "
      "creating as many again (\"r<i>\"), from the row before's end: a removed "
      "task's slot is reused by the next task of its queue");
  table.AddNote(
      "no naive pool row: its tasks are added before its workers start, so their "
      "memory cannot be told apart from the workers' stacks");
  if (failed > 0) table.AddNote(absl::StrCat(failed, " creations or removals failed"));
  table.AddNote(absl::StrCat(
      "sizeof(cadence::Task) = ", sizeof(Task), " B (3 cache lines; name <= 15 chars and body "
      "inline) + 4 B of name index; a task the conf names, or a periodic one, also gets a "
      "TaskDetail of ", sizeof(TaskDetail), " B (its wake-latency histogram is ",
      sizeof(LatencyHistogram), " B)"));
  return table.ToString();
}

}  // namespace cadence::bench
