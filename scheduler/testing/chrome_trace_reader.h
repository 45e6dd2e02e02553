// Reading a Chrome trace-event JSON file back in tests: the text is parsed strictly
// (scheduler/testing/json.h) and its events sorted into tracks, slices, arrows and
// instants, after checking the shape the viewers rely on: a top-level object with a
// "traceEvents" array and "displayTimeUnit":"ns"; every event with "ph", "pid", "tid" and
// (but metadata) a timestamp in microseconds with at most three decimals; "X" with a
// "dur"; every arrow id used by exactly one "s" and one "f" (with "bp":"e"), the start
// not after the end; "i" with "s":"t".
#ifndef CADENCE_SCHEDULER_TESTING_CHROME_TRACE_READER_H_
#define CADENCE_SCHEDULER_TESTING_CHROME_TRACE_READER_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "scheduler/testing/json.h"

namespace cadence::test_support {

struct TraceView {
  struct Slice {
    int64_t tid = 0;
    int64_t ts_ns = 0;
    int64_t dur_ns = 0;
    std::string name;
    Json args;
  };
  struct Instant {
    int64_t tid = 0;
    int64_t ts_ns = 0;
    std::string name;
    Json args;
  };
  struct ArrowEnd {
    int64_t tid = 0;
    int64_t ts_ns = 0;
  };
  struct Arrow {
    uint64_t id = 0;
    ArrowEnd from;  // "s": the notifier's track, at the notify
    ArrowEnd to;    // "f": the processor's track, at the run's start
  };

  Json root;
  std::string process_name;
  std::map<int64_t, std::string> thread_names;  // tid -> thread_name
  std::map<int64_t, int64_t> sort_index;        // tid -> thread_sort_index
  std::vector<Slice> slices;                    // "X", in file order
  std::vector<Instant> instants;                // "i"
  std::vector<Arrow> arrows;                    // by id

  // The tid of the track named `name` (-1 when there is none).
  int64_t TidOf(const std::string& name) const {
    for (const auto& [tid, n] : thread_names) {
      if (n == name) return tid;
    }
    return -1;
  }

  // The name of track `tid` ("" when it has none).
  std::string TrackName(int64_t tid) const {
    auto it = thread_names.find(tid);
    return it == thread_names.end() ? std::string() : it->second;
  }

  // The slices on track `tid`.
  std::vector<const Slice*> SlicesOn(int64_t tid) const {
    std::vector<const Slice*> out;
    for (const Slice& s : slices) {
      if (s.tid == tid) out.push_back(&s);
    }
    return out;
  }

  // The slice of track `tid` that contains time `ns`, the innermost (shortest) when
  // slices nest; nullptr when none does.
  const Slice* Enclosing(int64_t tid, int64_t ns) const {
    const Slice* best = nullptr;
    for (const Slice& s : slices) {
      if (s.tid == tid && s.ts_ns <= ns && ns <= s.ts_ns + s.dur_ns &&
          (best == nullptr || s.dur_ns < best->dur_ns)) {
        best = &s;
      }
    }
    return best;
  }

  // The slice of track `tid` that starts at `ns`, or nullptr.
  const Slice* StartingAt(int64_t tid, int64_t ns) const {
    for (const Slice& s : slices) {
      if (s.tid == tid && s.ts_ns == ns) return &s;
    }
    return nullptr;
  }
};

// Parses and checks a trace (see the file comment); the first problem found otherwise.
inline absl::StatusOr<TraceView> ReadChromeTrace(const std::string& text) {
  absl::StatusOr<Json> parsed = ParseJson(text);
  if (!parsed.ok()) return parsed.status();
  TraceView view;
  view.root = *std::move(parsed);
  const auto bad = [](const std::string& what) { return absl::InvalidArgumentError(what); };
  if (!view.root.is_object()) return bad("the trace is not a JSON object");
  const Json* events = view.root.Find("traceEvents");
  if (events == nullptr || !events->is_array()) return bad("no \"traceEvents\" array");
  if (view.root.StringOf("displayTimeUnit") != "ns") return bad("displayTimeUnit is not \"ns\"");

  std::map<uint64_t, TraceView::ArrowEnd> starts, ends;
  for (size_t i = 0; i < events->array.size(); ++i) {
    const Json& e = events->array[i];
    const std::string where = absl::StrCat("traceEvents[", i, "]: ");
    if (!e.is_object()) return bad(where + "not an object");
    const std::string ph = e.StringOf("ph");
    const Json* pid = e.Find("pid");
    const Json* tid_value = e.Find("tid");
    int64_t tid = 0;
    if (ph.empty() || pid == nullptr || !pid->is_number() || tid_value == nullptr ||
        !absl::SimpleAtoi(tid_value->text, &tid)) {
      return bad(where + "needs \"ph\", a numeric \"pid\" and an integer \"tid\"");
    }
    const Json* args = e.Find("args");
    if (ph == "M") {
      if (args == nullptr || !args->is_object()) return bad(where + "metadata without args");
      const std::string name = e.StringOf("name");
      if (name == "process_name") {
        view.process_name = args->StringOf("name");
      } else if (name == "thread_name") {
        view.thread_names[tid] = args->StringOf("name");
      } else if (name == "thread_sort_index") {
        const Json* index = args->Find("sort_index");
        if (index == nullptr || !index->is_number()) return bad(where + "no sort_index");
        view.sort_index[tid] = static_cast<int64_t>(index->Number());
      }
      continue;
    }
    const Json* ts_value = e.Find("ts");
    const int64_t ts = ts_value != nullptr ? NanosOf(*ts_value) : -1;
    if (ts < 0) return bad(where + "no \"ts\" in microseconds with at most 3 decimals");
    if (ph == "X") {
      const Json* dur = e.Find("dur");
      const int64_t dur_ns = dur != nullptr ? NanosOf(*dur) : -1;
      if (dur_ns < 0) return bad(where + "\"X\" without a valid \"dur\"");
      view.slices.push_back({tid, ts, dur_ns, e.StringOf("name"), args ? *args : Json()});
    } else if (ph == "i") {
      if (e.StringOf("s") != "t") return bad(where + "instant without \"s\":\"t\"");
      view.instants.push_back({tid, ts, e.StringOf("name"), args ? *args : Json()});
    } else if (ph == "s" || ph == "f") {
      const Json* id_value = e.Find("id");
      uint64_t id = 0;
      if (id_value == nullptr || !absl::SimpleAtoi(id_value->text, &id)) {
        return bad(where + "arrow without an integer \"id\"");
      }
      if (ph == "f" && e.StringOf("bp") != "e") return bad(where + "\"f\" without \"bp\":\"e\"");
      auto& side = ph == "s" ? starts : ends;
      if (!side.emplace(id, TraceView::ArrowEnd{tid, ts}).second) {
        return bad(absl::StrCat(where, "arrow id ", id, " used twice for \"", ph, "\""));
      }
    } else {
      return bad(where + "unexpected phase \"" + ph + "\"");
    }
  }
  for (const auto& [id, from] : starts) {
    auto to = ends.find(id);
    if (to == ends.end()) return bad(absl::StrCat("arrow ", id, " has an \"s\" but no \"f\""));
    if (from.ts_ns > to->second.ts_ns) {
      return bad(absl::StrCat("arrow ", id, " ends before it starts"));
    }
    view.arrows.push_back({id, from, to->second});
  }
  for (const auto& [id, to] : ends) {
    if (starts.count(id) == 0) return bad(absl::StrCat("arrow ", id, " has an \"f\" but no \"s\""));
  }
  return view;
}

}  // namespace cadence::test_support

#endif  // CADENCE_SCHEDULER_TESTING_CHROME_TRACE_READER_H_
