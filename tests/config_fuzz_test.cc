// A randomized test of the config path (ParseConfigText + Validate): random bytes, random
// token soup, and mutated versions of every Apollo Cyber RT config in shared/compat/cyber
// and of every shipped config in conf/, validated on 2-, 8- and 32-CPU machines (some
// without CAP_SYS_NICE or an RT budget, some in strict mode). Every input must keep the
// properties of tests/fuzz/config_checks.h: no crash, no exception, errors that say where
// and what, and a consistent Plan when it validates.
//
// Deterministic: iteration i uses seed kSeed + i, and a failure prints the iteration and
// the input, so it can be replayed (--gtest_filter, or feed the input to schedctl check).
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "proto/cyber_conf.pb.h"
#include "tests/fuzz/config_checks.h"
#include "tests/shared_dirs.h"

namespace cadence {
namespace {

constexpr uint64_t kSeed = 0x5eedc0de;
constexpr int kRandomIterations = 4000;
constexpr int kMutationIterations = 16000;

struct Seed {
  std::string name;
  std::string text;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The `.conf` files of `dir`, sorted by name so the corpus is the same on every run.
std::vector<Seed> ConfFiles(const std::string& dir) {
  std::vector<Seed> seeds;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".conf") continue;
    seeds.push_back({entry.path().filename().string(), ReadFile(entry.path().string())});
  }
  std::sort(seeds.begin(), seeds.end(),
            [](const Seed& a, const Seed& b) { return a.name < b.name; });
  return seeds;
}

// Every field name of the schema, for token soup and inserted fields.
std::vector<std::string> SchemaFieldNames() {
  std::vector<std::string> names;
  std::vector<const google::protobuf::Descriptor*> pending = {proto::CyberConfig::descriptor()};
  std::vector<const google::protobuf::Descriptor*> seen;
  while (!pending.empty()) {
    const google::protobuf::Descriptor* d = pending.back();
    pending.pop_back();
    if (std::find(seen.begin(), seen.end(), d) != seen.end()) continue;
    seen.push_back(d);
    for (int i = 0; i < d->field_count(); ++i) {
      names.push_back(d->field(i)->name());
      if (d->field(i)->message_type() != nullptr) pending.push_back(d->field(i)->message_type());
    }
  }
  return names;
}

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  // A number below n.
  size_t Below(size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
  }
  bool OneIn(size_t n) { return Below(n) == 0; }

  std::string RandomBytes() {
    std::string out(Below(512), '\0');
    for (char& c : out) c = static_cast<char>(Below(256));
    return out;
  }

  // Tokens of the text format in random order: mostly well-formed words, badly arranged.
  std::string TokenSoup(const std::vector<std::string>& fields) {
    static const char* const kPunctuation[] = {"{", "}",  "[", "]", ":", ",",  ";", "<",
                                               ">", "\n", " ", "#", "-", "\"", "'"};
    std::string out;
    const size_t tokens = Below(200);
    for (size_t i = 0; i < tokens; ++i) {
      switch (Below(4)) {
        case 0:
          out += fields[Below(fields.size())];
          break;
        case 1:
          out += kPunctuation[Below(std::size(kPunctuation))];
          break;
        case 2:
          out += Number();
          break;
        default:
          out += absl::StrCat("\"", Word(), "\"");
      }
      out += OneIn(3) ? "\n" : " ";
    }
    return out;
  }

  // A number of an interesting size, as text.
  std::string Number() {
    static const char* const kEdges[] = {"0",
                                         "1",
                                         "-1",
                                         "2",
                                         "15",
                                         "19",
                                         "20",
                                         "99",
                                         "100",
                                         "1023",
                                         "1024",
                                         "1025",
                                         "2147483647",
                                         "2147483648",
                                         "-2147483648",
                                         "-2147483649",
                                         "4294967295",
                                         "4294967296",
                                         "9223372036854775807",
                                         "9223372036854775808",
                                         "18446744073709551615",
                                         "18446744073709551616",
                                         "0x10",
                                         "1e3",
                                         "-0",
                                         "00",
                                         "1.5",
                                         "99999999999999999999999"};
    switch (Below(3)) {
      case 0:
        return kEdges[Below(std::size(kEdges))];
      case 1:
        return absl::StrCat(Below(64));
      default:
        return absl::StrCat(OneIn(4) ? "-" : "",
                            std::uniform_int_distribution<uint64_t>()(rng_) >> Below(64));
    }
  }

  // A string value: names the validator knows, near misses and junk.
  std::string Word() {
    static const char* const kWords[] = {"classic",
                                         "choreography",
                                         "Classic",
                                         "classical",
                                         "SCHED_OTHER",
                                         "SCHED_BATCH",
                                         "SCHED_IDLE",
                                         "SCHED_FIFO",
                                         "SCHED_RR",
                                         "SCHED_DEADLINE",
                                         "sched_fifo",
                                         "fifo",
                                         "rr",
                                         "range",
                                         "1to1",
                                         "1TO1",
                                         "",
                                         " ",
                                         "0",
                                         "1",
                                         "0-1",
                                         "0-7",
                                         "0-31",
                                         "0-1023",
                                         "1023",
                                         "1024",
                                         "0,,1",
                                         "3-1",
                                         ",",
                                         "0-",
                                         "-1",
                                         "0 - 3 , 5",
                                         "8-15,24-31",
                                         "99999999999",
                                         "a",
                                         "g",
                                         "compute",
                                         "pool",
                                         "choreo",
                                         "default_grp",
                                         "motion",
                                         "planning",
                                         "\\x00",
                                         "\\\"",
                                         "\\n",
                                         "a_group_name_longer_than_fifteen_characters",
                                         "\xc3\xa9\xc3\xa9",
                                         "\xff\xfe",
                                         "%s%n",
                                         "{}",
                                         "[]"};
    if (OneIn(20)) return std::string(Below(300), 'x');
    return kWords[Below(std::size(kWords))];
  }

  // Applies 1-4 random edits to `text`.
  std::string Mutate(std::string text, const std::vector<std::string>& fields) {
    const size_t edits = 1 + Below(4);
    for (size_t e = 0; e < edits; ++e) {
      switch (Below(7)) {
        case 0:
          FlipByte(&text);
          break;
        case 1:
          Delete(&text);
          break;
        case 2:
          DuplicateLines(&text);
          break;
        case 3:
        case 4:
          ReplaceNumber(&text);
          break;
        case 5:
          ReplaceString(&text);
          break;
        default:
          InsertField(&text, fields);
      }
    }
    return text;
  }

 private:
  void FlipByte(std::string* text) {
    if (text->empty()) return;
    char& c = (*text)[Below(text->size())];
    c = OneIn(2) ? static_cast<char>(c ^ (1 << Below(8))) : static_cast<char>(Below(256));
  }

  void Delete(std::string* text) {
    if (text->empty()) return;
    const size_t at = Below(text->size());
    if (OneIn(2)) {  // a whole line
      const size_t start = text->rfind('\n', at);
      const size_t begin = start == std::string::npos ? 0 : start + 1;
      const size_t end = text->find('\n', at);
      text->erase(begin, end == std::string::npos ? std::string::npos : end - begin + 1);
    } else {
      text->erase(at, 1 + Below(16));
    }
  }

  std::vector<std::string> Lines(const std::string& text) {
    std::vector<std::string> lines;
    std::string line;
    std::istringstream in(text);
    while (std::getline(in, line)) lines.push_back(line);
    return lines;
  }

  void DuplicateLines(std::string* text) {
    std::vector<std::string> lines = Lines(*text);
    if (lines.empty()) return;
    const size_t first = Below(lines.size());
    const size_t count = 1 + Below(std::min<size_t>(12, lines.size() - first));
    std::vector<std::string> copy(lines.begin() + first, lines.begin() + first + count);
    const size_t to = OneIn(2) ? first + count : Below(lines.size() + 1);
    lines.insert(lines.begin() + to, copy.begin(), copy.end());
    std::string out;
    for (const std::string& l : lines) absl::StrAppend(&out, l, "\n");
    *text = out;
  }

  // Replaces one run of digits (or, sometimes, every run) with a random number.
  void ReplaceNumber(std::string* text) {
    std::vector<std::pair<size_t, size_t>> runs;  // start, length
    for (size_t i = 0; i < text->size();) {
      if (!std::isdigit(static_cast<unsigned char>((*text)[i]))) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < text->size() && std::isdigit(static_cast<unsigned char>((*text)[j]))) ++j;
      runs.push_back({i, j - i});
      i = j;
    }
    if (runs.empty()) return;
    if (OneIn(8)) {  // every number, from the last so earlier offsets stay valid
      for (size_t r = runs.size(); r-- > 0;) text->replace(runs[r].first, runs[r].second, Number());
    } else {
      const auto [start, length] = runs[Below(runs.size())];
      text->replace(start, length, Number());
    }
  }

  // Replaces the contents of one quoted string with a random word.
  void ReplaceString(std::string* text) {
    std::vector<std::pair<size_t, size_t>> strings;  // start inside the quotes, length
    for (size_t i = 0; i < text->size(); ++i) {
      if ((*text)[i] != '"') continue;
      const size_t end = text->find('"', i + 1);
      if (end == std::string::npos) break;
      strings.push_back({i + 1, end - i - 1});
      i = end;
    }
    if (strings.empty()) return;
    const auto [start, length] = strings[Below(strings.size())];
    text->replace(start, length, Word());
  }

  // Inserts `field: value` (or `field { }`) of the schema at the start of a random line.
  void InsertField(std::string* text, const std::vector<std::string>& fields) {
    const std::string& field = fields[Below(fields.size())];
    std::string line;
    switch (Below(3)) {
      case 0:
        line = absl::StrCat(field, ": ", Number());
        break;
      case 1:
        line = absl::StrCat(field, ": \"", Word(), "\"");
        break;
      default:
        line = absl::StrCat(field, " { }");
    }
    size_t at = 0;
    if (!text->empty()) {
      const size_t newline = text->find('\n', Below(text->size()));
      at = newline == std::string::npos ? text->size() : newline + 1;
    }
    text->insert(at, line + "\n");
  }

  std::mt19937_64 rng_;
};

// The machines inputs are validated on: 2, 8 and 32 CPUs, sometimes without privileges or
// an RT budget.
Machine RandomMachine(Mutator& m) {
  static const int kCpus[] = {2, 8, 32};
  Machine machine = Machine::ForTest(kCpus[m.Below(3)]);
  switch (m.Below(6)) {
    case 0:
      machine.cap_sys_nice = false;
      machine.rlimit_rtprio = m.Below(100);
      machine.rlimit_nice = m.Below(41);
      break;
    case 1:
      machine.cgroup_path = "/fuzz";
      machine.cgroup_rt_runtime_us = m.OneIn(2) ? 0 : 100000;
      machine.cgroup_rt_period_us = 1000000;
      break;
    case 2:
      machine.rt_runtime_us = -1;
      break;
    default:
      break;
  }
  return machine;
}

// Describes a failing input for the test log.
std::string Describe(const std::string& kind, int iteration, const std::string& input) {
  return absl::StrCat(kind, " iteration ", iteration, " (seed ", kSeed, " + ", iteration,
                      "), input (C-escaped, first 4000 bytes):\n\"",
                      absl::CEscape(input.substr(0, 4000)), "\"");
}

// A config that uses every cadence extension, so mutations reach the code the Cyber RT
// files never use (SCHED_DEADLINE, nice, busy-spin, periodic tasks, 1to1 choreography,
// untimed activations).
constexpr char kExtensionsConf[] = R"(scheduler_conf {
  policy: "classic"
  process_level_cpuset: "0-7"
  threads: [
    { name: "logger" cpuset: "1" policy: "SCHED_BATCH" nice: 5 },
    { name: "dl" policy: "SCHED_DEADLINE" runtime_us: 100 deadline_us: 500 period_us: 1000 },
    { name: "rt" cpuset: "0" policy: "SCHED_FIFO" prio: 20 inherit_rt_on_fork: true }
  ]
  classic_conf {
    groups {
      name: "realtime"
      processor_num: 2
      affinity: "1to1"
      cpuset: "0-1"
      processor_policy: "SCHED_RR"
      processor_prio: 60
      busy_spin: true
      tasks { name: "motion" prio: 19 period_us: 1000 budget_us: 300 }
      tasks { name: "led" prio: 10 period_us: 10000 budget_us: 2000 group_name: "realtime" }
    }
    groups {
      name: "deadline"
      processor_num: 1
      cpuset: "2"
      processor_policy: "SCHED_DEADLINE"
      processor_runtime_us: 1000
      processor_deadline_us: 5000
      processor_period_us: 10000
      tasks { name: "control" period_us: 10000 budget_us: 900 }
    }
    groups {
      name: "background"
      processor_num: 3
      cpuset: "3-5"
      processor_policy: "SCHED_OTHER"
      processor_nice: 10
      time_activations: false
      tasks { name: "preview" prio: 5 }
    }
    groups { name: "idle" processor_num: 1 cpuset: "6" processor_policy: "SCHED_IDLE" }
  }
  choreography_conf {
    choreography_processor_num: 2
    choreography_affinity: "1to1"
    choreography_cpuset: "0-1"
    choreography_processor_policy: "SCHED_DEADLINE"
    choreography_processor_runtime_us: 100
    choreography_processor_period_us: 1000
    choreography_busy_spin: true
    pool_processor_num: 2
    pool_cpuset: "2-3"
    pool_processor_policy: "SCHED_BATCH"
    pool_processor_nice: -5
    choreography_time_activations: true
    pool_time_activations: false
    tasks { name: "a" processor: 1 prio: 3 period_us: 100 budget_us: 50 }
    tasks { name: "b" prio: 2 }
  }
}
)";

// The configs to mutate: shared/compat/cyber, conf/, and the extensions config above (also
// as a choreography config).
std::vector<Seed> Corpus(std::string* missing) {
  std::vector<Seed> corpus;
  corpus.push_back({"builtin/extensions_classic.conf", kExtensionsConf});
  std::string choreography = kExtensionsConf;
  choreography.replace(choreography.find("\"classic\""), 9, "\"choreography\"");
  corpus.push_back({"builtin/extensions_choreography.conf", choreography});
  std::string looked;
  const std::string compat = testing::FindCompatCyberDir(&looked);
  if (compat.empty()) {
    absl::StrAppend(missing,
                    "cannot find shared/compat/cyber (set CADENCE_SHARED_DIR to the "
                    "`shared` directory); looked:",
                    looked, "\n");
  } else {
    for (Seed& s : ConfFiles(compat)) corpus.push_back({"compat/" + s.name, std::move(s.text)});
  }
  const std::string conf = testing::FindConfDir(&looked);
  if (conf.empty()) {
    absl::StrAppend(missing, "cannot find conf/; looked:", looked, "\n");
  } else {
    for (Seed& s : ConfFiles(conf)) corpus.push_back({"conf/" + s.name, std::move(s.text)});
  }
  return corpus;
}

TEST(ConfigFuzzTest, TheCorpusIsThere) {
  std::string missing;
  const std::vector<Seed> corpus = Corpus(&missing);
  EXPECT_TRUE(missing.empty()) << missing;
  // 2 built in, 10 Cyber RT configs and at least robot_{classic,choreography}.conf.
  EXPECT_GE(corpus.size(), 14u);
  // Unmutated, every seed keeps the properties too (on every machine size).
  for (const Seed& seed : corpus) {
    for (int cpus : {2, 8, 32}) {
      const std::string problem =
          fuzzing::CheckConfig(seed.text, "fuzz.conf", Machine::ForTest(cpus));
      EXPECT_EQ(problem, "") << seed.name << " on " << cpus << " CPUs";
    }
  }
}

TEST(ConfigFuzzTest, RandomBytesAndTokens) {
  const std::vector<std::string> fields = SchemaFieldNames();
  int failures = 0;
  for (int i = 0; i < kRandomIterations && failures < 5; ++i) {
    Mutator m(kSeed + i);
    const std::string input = m.OneIn(2) ? m.RandomBytes() : m.TokenSoup(fields);
    const Machine machine = RandomMachine(m);
    const std::string problem = fuzzing::CheckConfig(input, "fuzz.conf", machine, m.OneIn(8));
    if (!problem.empty()) {
      ++failures;
      ADD_FAILURE() << problem << "\n" << Describe("random", i, input);
    }
  }
}

TEST(ConfigFuzzTest, MutatedConfigs) {
  std::string missing;
  const std::vector<Seed> corpus = Corpus(&missing);
  ASSERT_TRUE(missing.empty()) << missing;
  ASSERT_FALSE(corpus.empty());
  const std::vector<std::string> fields = SchemaFieldNames();
  int failures = 0;
  int plans = 0;
  for (int i = 0; i < kMutationIterations && failures < 5; ++i) {
    Mutator m(kSeed + kRandomIterations + i);
    const Seed& seed = corpus[i % corpus.size()];
    const std::string input = m.Mutate(seed.text, fields);
    const Machine machine = RandomMachine(m);
    bool plan_checked = false;
    const std::string problem =
        fuzzing::CheckConfig(input, "fuzz.conf", machine, m.OneIn(8), &plan_checked);
    if (!problem.empty()) {
      ++failures;
      ADD_FAILURE() << problem << "\n" << Describe(seed.name, i, input);
    }
    plans += plan_checked;
  }
  // The mutations must leave enough inputs valid to exercise the plan checks (most seeds
  // name CPUs a 2- or 8-CPU machine does not have, so many fail there as they should).
  EXPECT_GT(plans, kMutationIterations / 20);
}

}  // namespace
}  // namespace cadence
