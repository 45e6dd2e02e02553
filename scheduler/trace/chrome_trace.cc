#include "scheduler/trace/chrome_trace.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "scheduler/task.h"

namespace cadence {
namespace {

// The first line of a /proc file ("" when it cannot be read).
std::string ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string DefaultThreadName(pid_t tid) {
  const std::string comm = ReadLine(absl::StrCat("/proc/self/task/", tid, "/comm"));
  return comm.empty() ? absl::StrCat("thread ", tid) : comm;
}

// Nanoseconds as microseconds with three decimals, exactly.
void AppendUs(std::string* out, int64_t ns) {
  if (ns < 0) {
    out->push_back('-');
    ns = -ns;
  }
  absl::StrAppend(out, ns / 1000, ".", absl::Dec(ns % 1000, absl::kZeroPad3));
}

// Nanoseconds as microseconds with three decimals.
std::string Us(int64_t ns) {
  std::string out;
  AppendUs(&out, ns);
  return out;
}

// Length of the valid UTF-8 sequence at text[i] (0: invalid).
size_t Utf8Length(const std::string& text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  size_t n = 0;
  uint32_t min = 0;
  uint32_t code = 0;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    min = 0x80;
    code = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    min = 0x800;
    code = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    min = 0x10000;
    code = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
  if (code < min || (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) return 0;
  return n;
}

// Streams the JSON text into a buffer that a flush callback may drain.
class Output {
 public:
  explicit Output(std::function<void(std::string*)> flush) : flush_(std::move(flush)) {}

  // Starts the next element of the traceEvents array and returns the buffer to append it to.
  std::string& Next() {
    if (buffer_.size() >= (1 << 20) && flush_) flush_(&buffer_);
    buffer_.append(first_ ? "\n" : ",\n");
    first_ = false;
    return buffer_;
  }
  std::string& buffer() { return buffer_; }

 private:
  std::function<void(std::string*)> flush_;
  std::string buffer_;
  bool first_ = true;
};

// `{"ph":"<ph>","pid":P,"tid":T` — the rest of the event follows, then '}'.
void Head(std::string* out, const char* ph, pid_t pid, pid_t tid) {
  absl::StrAppend(out, "{\"ph\":\"", ph, "\",\"pid\":", pid, ",\"tid\":", tid);
}

void Metadata(Output* out, pid_t pid, pid_t tid, const char* what, const std::string& args) {
  std::string& o = out->Next();
  Head(&o, "M", pid, tid);
  absl::StrAppend(&o, ",\"name\":\"", what, "\",\"args\":{", args, "}}");
}

void Instant(Output* out, pid_t pid, pid_t tid, int64_t ts, const char* name,
             const std::string& args) {
  std::string& o = out->Next();
  Head(&o, "i", pid, tid);
  o.append(",\"s\":\"t\",\"ts\":");
  AppendUs(&o, ts);
  absl::StrAppend(&o, ",\"name\":\"", name, "\",\"cat\":\"scheduler\",\"args\":{", args, "}}");
}

// One end of a notify arrow: "s" on the notifier's track, "f" (bound to the enclosing
// slice: the run starting at ts) on the processor's.
void FlowEnd(Output* out, const char* ph, pid_t pid, pid_t tid, int64_t ts, uint64_t id) {
  std::string& o = out->Next();
  Head(&o, ph, pid, tid);
  if (ph[0] == 'f') o.append(",\"bp\":\"e\"");
  o.append(",\"ts\":");
  AppendUs(&o, ts);
  absl::StrAppend(&o, ",\"id\":", id, ",\"name\":\"notify\",\"cat\":\"notify\"}");
}

const std::string& TaskName(const TraceEvent& e) {
  static const std::string* const unknown = new std::string("(unknown task)");
  return e.task != nullptr ? e.task->name : *unknown;
}

uint64_t PeriodOf(const TraceEvent& e) { return e.task != nullptr ? e.task->period_ns() : 0; }

// The run of `events` (sorted by start) that encloses time t, or nullptr.
const TraceEvent* Enclosing(const std::vector<TraceEvent>& events, int64_t t) {
  auto after =
      std::upper_bound(events.begin(), events.end(), t,
                       [](int64_t time, const TraceEvent& e) { return time < e.start_ns; });
  if (after == events.begin()) return nullptr;
  const TraceEvent& run = *std::prev(after);
  return run.end_ns >= t ? &run : nullptr;
}

void Emit(const TraceInput& input, Output* out, TraceSummary* summary) {
  const pid_t pid = input.pid != 0 ? input.pid : getpid();
  std::string process_name = input.process_name;
  if (process_name.empty()) process_name = ReadLine("/proc/self/comm");
  if (process_name.empty()) process_name = "cadence";
  const auto thread_name = input.thread_name ? input.thread_name : DefaultThreadName;
  *summary = TraceSummary();

  out->buffer().append("{\"traceEvents\":[");
  Metadata(out, pid, pid, "process_name", "\"name\":" + JsonString(process_name));

  // Processor tracks, in plan order.
  std::map<pid_t, size_t> processor_of;  // tid -> index
  for (size_t p = 0; p < input.processors.size(); ++p) {
    const ProcessorTrace& track = input.processors[p];
    processor_of[track.tid] = p;
    Metadata(out, pid, track.tid, "thread_name", "\"name\":" + JsonString(track.name));
    Metadata(out, pid, track.tid, "thread_sort_index", absl::StrCat("\"sort_index\":", p));
  }

  // Releases of periodic tasks were all traced from this time on (the rings that wrapped
  // lost what came before their oldest event): gaps between two releases after it are
  // skipped releases.
  int64_t complete_from = INT64_MIN;
  for (const ProcessorTrace& track : input.processors) {
    summary->dropped += track.dropped;
    if (track.dropped > 0 && !track.events.empty()) {
      complete_from = std::max(complete_from, track.events.front().start_ns);
    }
  }

  struct Release {
    int64_t release_ns;
    int64_t start_ns;
    size_t processor;
  };
  std::map<const Task*, std::vector<Release>> releases;
  // Arrow starts, written after every run so that a run starting at the same time as an
  // arrow start is read first.
  struct ArrowStart {
    pid_t tid;
    int64_t ts;
    uint64_t id;
  };
  std::vector<ArrowStart> arrow_starts;
  // Notifying threads that are not processors: their tracks, and a 1 ns slice per notify.
  std::vector<pid_t> notifiers;
  std::map<std::pair<pid_t, int64_t>, std::string> notify_slices;
  uint64_t next_id = 1;

  for (size_t p = 0; p < input.processors.size(); ++p) {
    const ProcessorTrace& track = input.processors[p];
    if (track.dropped > 0 && !track.events.empty()) {
      Instant(out, pid, track.tid, track.events.front().start_ns, "trace buffer wrapped",
              absl::StrCat("\"dropped_events\":", track.dropped, ",\"capacity\":", track.capacity));
    }
    for (const TraceEvent& e : track.events) {
      const bool periodic = (e.flags & TraceEvent::kPeriodicRelease) != 0;
      std::string& o = out->Next();
      Head(&o, "X", pid, track.tid);
      o.append(",\"ts\":");
      AppendUs(&o, e.start_ns);
      o.append(",\"dur\":");
      AppendUs(&o, e.end_ns - e.start_ns);
      absl::StrAppend(&o, ",\"name\":", JsonString(TaskName(e)), ",\"cat\":\"task\",\"args\":{");
      if (e.notify_ns > 0 && e.notify_ns <= e.start_ns) {
        o.append("\"wake_latency_us\":");
        AppendUs(&o, e.start_ns - e.notify_ns);
        o.append(",");
      }
      absl::StrAppend(&o, "\"periodic_release\":", periodic ? "true" : "false",
                      ",\"overran\":", (e.flags & TraceEvent::kOverrun) ? "true" : "false",
                      ",\"cpu\":", e.cpu, "}}");
      ++summary->runs;

      // The arrow from the notify that started this run.
      if (!periodic && e.notifier > 0 && e.notify_ns > 0 && e.notify_ns <= e.start_ns) {
        auto processor = processor_of.find(e.notifier);
        bool bound = true;
        if (processor != processor_of.end()) {
          // A processor notifies from inside a run; without that run there is nothing to
          // attach the arrow to.
          bound = Enclosing(input.processors[processor->second].events, e.notify_ns) != nullptr;
        } else {
          auto [it, added] = notify_slices.emplace(std::make_pair(e.notifier, e.notify_ns),
                                                   "notify " + TaskName(e));
          if (added &&
              std::find(notifiers.begin(), notifiers.end(), e.notifier) == notifiers.end()) {
            notifiers.push_back(e.notifier);
          }
        }
        if (bound) {
          const uint64_t id = next_id++;
          FlowEnd(out, "f", pid, track.tid, e.start_ns, id);
          arrow_starts.push_back({e.notifier, e.notify_ns, id});
          ++summary->arrows;
        }
      }
      if (e.flags & TraceEvent::kDeadlineMiss) {
        Instant(out, pid, track.tid, e.start_ns, "deadline miss",
                absl::StrCat("\"task\":", JsonString(TaskName(e)),
                             ",\"late_us\":", Us(e.start_ns - e.notify_ns),
                             ",\"period_us\":", Us(static_cast<int64_t>(PeriodOf(e)))));
        ++summary->deadline_misses;
      }
      if (e.flags & TraceEvent::kException) {
        Instant(out, pid, track.tid, e.end_ns, "exception",
                absl::StrCat("\"task\":", JsonString(TaskName(e))));
        ++summary->exceptions;
      }
      if (periodic && e.task != nullptr && e.notify_ns > 0) {
        releases[e.task].push_back({e.notify_ns, e.start_ns, p});
      }
    }
  }

  // Skipped releases: a periodic task's releases come every period; a gap between two
  // traced ones holds releases that found the previous one not started yet (or that the
  // timer reached more than a period late), each counted as a deadline miss.
  for (auto& [task, list] : releases) {
    const int64_t period = static_cast<int64_t>(task->period_ns());
    if (period <= 0) continue;
    std::sort(list.begin(), list.end(),
              [](const Release& a, const Release& b) { return a.release_ns < b.release_ns; });
    for (size_t i = 1; i < list.size(); ++i) {
      const Release& before = list[i - 1];
      const Release& after = list[i];
      if (before.start_ns < complete_from) continue;
      const int64_t skipped = (after.release_ns - before.release_ns) / period - 1;
      if (skipped <= 0) continue;
      Instant(out, pid, input.processors[after.processor].tid, before.release_ns + period,
              "deadline miss",
              absl::StrCat("\"task\":", JsonString(task->name), ",\"skipped_releases\":", skipped,
                           ",\"period_us\":", Us(period)));
      ++summary->deadline_misses;
    }
  }

  // Notifying threads that are not processors, after the processors.
  for (size_t k = 0; k < notifiers.size(); ++k) {
    Metadata(out, pid, notifiers[k], "thread_name",
             "\"name\":" + JsonString(thread_name(notifiers[k])));
    Metadata(out, pid, notifiers[k], "thread_sort_index",
             absl::StrCat("\"sort_index\":", input.processors.size() + k));
  }
  summary->notifier_tracks = static_cast<int>(notifiers.size());
  for (const auto& [where, name] : notify_slices) {
    std::string& o = out->Next();
    Head(&o, "X", pid, where.first);
    o.append(",\"ts\":");
    AppendUs(&o, where.second);
    absl::StrAppend(&o, ",\"dur\":0.001,\"name\":", JsonString(name), ",\"cat\":\"notify\"}");
  }
  for (const ArrowStart& s : arrow_starts) FlowEnd(out, "s", pid, s.tid, s.ts, s.id);

  std::string& o = out->buffer();
  o.append("\n],\"displayTimeUnit\":\"ns\",\"metadata\":{\"clock\":\"CLOCK_MONOTONIC\",");
  o.append("\"ts_unit\":\"us\",\"processors\":[");
  for (size_t p = 0; p < input.processors.size(); ++p) {
    const ProcessorTrace& track = input.processors[p];
    absl::StrAppend(&o, p > 0 ? "," : "", "{\"name\":", JsonString(track.name),
                    ",\"tid\":", track.tid, ",\"capacity\":", track.capacity,
                    ",\"recorded\":", track.events.size() + track.dropped,
                    ",\"dropped\":", track.dropped, "}");
  }
  o.append("]}}\n");
}

}  // namespace

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (c == '\n') {
      out.append("\\n"), ++i;
    } else if (c == '\t') {
      out.append("\\t"), ++i;
    } else if (c == '\r') {
      out.append("\\r"), ++i;
    } else if (c < 0x20 || c == 0x7F) {
      absl::StrAppend(&out, "\\u00", absl::Hex(c, absl::kZeroPad2));
      ++i;
    } else {
      const size_t n = Utf8Length(text, i);
      if (n == 0) {
        out.append("\\ufffd");
        ++i;
      } else {
        out.append(text, i, n);
        i += n;
      }
    }
  }
  out.push_back('"');
  return out;
}

std::string ChromeTraceJson(const TraceInput& input, TraceSummary* summary) {
  TraceSummary ignored;
  Output out(nullptr);
  Emit(input, &out, summary != nullptr ? summary : &ignored);
  return std::move(out.buffer());
}

absl::StatusOr<TraceSummary> WriteChromeTrace(const TraceInput& input, const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot create the trace file ", path));
  }
  int error = 0;
  const auto write = [&](std::string* text) {
    errno = 0;
    if (error == 0 && !text->empty() &&
        std::fwrite(text->data(), 1, text->size(), file) != text->size()) {
      error = errno != 0 ? errno : EIO;
    }
    text->clear();
  };
  TraceSummary summary;
  Output out(write);
  Emit(input, &out, &summary);
  write(&out.buffer());
  if (std::fflush(file) != 0 && error == 0) error = errno;
  if (std::fclose(file) != 0 && error == 0) error = errno;
  if (error != 0) {
    return absl::ErrnoToStatus(error, absl::StrCat("cannot write the trace file ", path));
  }
  return summary;
}

}  // namespace cadence
