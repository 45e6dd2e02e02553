#include "tools/schedctl/template.h"

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/common/machine.h"
#include "scheduler/config/loader.h"
#include "scheduler/config/validator.h"
#include "scheduler/launcher/dag.h"

namespace cadence {
namespace {

using ::testing::HasSubstr;

// Loads a DAG written to the test's temporary directory.
Dag LoadDag(const std::string& name, const std::string& text) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
  std::ofstream(path) << text;
  absl::StatusOr<Dag> dag = LoadDagFile(path);
  EXPECT_TRUE(dag.ok()) << dag.status();
  return dag.ok() ? *dag : Dag();
}

std::vector<Dag> TwoDags() {
  return {LoadDag("a.dag", R"(
module_config {
  module_library: "lib/does/not/exist.so"
  components {
    class_name: "Fusion"
    config {
      name: "fusion"
      readers { channel: "/a" }
      readers { channel: "/b" }
    }
  }
  timer_components {
    class_name: "Tick"
    config { name: "tick" interval: 5 }
  }
}
)"),
          LoadDag("b.dag", R"(
module_config {
  module_library: "another/missing.so"
  components {
    class_name: "Odd"
    config { name: "odd \"quoted\" name" readers { channel: "/c" } }
  }
}
)")};
}

// The template parsed and validated against a machine with `cpus` CPUs.
Validation Check(const std::string& text, int cpus) {
  absl::StatusOr<LoadedConfig> loaded = ParseConfigText(text, "template.conf");
  EXPECT_TRUE(loaded.ok()) << loaded.status() << "\n" << text;
  if (!loaded.ok()) return Validation();
  return Validate(*loaded, Machine::ForTest(cpus), {.strict = true});
}

TEST(TemplateTest, BothLayoutsValidateCleanlyOnAnyMachine) {
  const std::vector<Dag> dags = TwoDags();
  for (int cpus : {1, 2, 4}) {
    for (TemplateLayout layout : {TemplateLayout::kClassic, TemplateLayout::kChoreography}) {
      const std::string text = MakeTemplate(dags, layout, CpuSet::Range(0, cpus - 1));
      const Validation v = Check(text, cpus);
      EXPECT_TRUE(v.ok()) << v.diagnostics.ToString() << text;
      EXPECT_EQ(v.diagnostics.WarningCount(), 0) << v.diagnostics.ToString() << text;
      ASSERT_EQ(v.plan.tasks.size(), 3u) << text;
      EXPECT_EQ(v.plan.tasks.at("tick").period_us, 5000u);
      EXPECT_EQ(v.plan.tasks.at("tick").priority, 15);
      EXPECT_EQ(v.plan.tasks.at("fusion").priority, 10);
      EXPECT_EQ(v.plan.tasks.at("fusion").period_us, 0u);
      EXPECT_TRUE(v.plan.tasks.count("odd \"quoted\" name"));
      if (layout == TemplateLayout::kChoreography) {
        EXPECT_EQ(v.plan.tasks.at("tick").processor, 0);
        EXPECT_EQ(v.plan.tasks.at("fusion").processor, -1);
      } else {
        EXPECT_EQ(v.plan.processors.size(), static_cast<size_t>(cpus));
      }
    }
  }
}

TEST(TemplateTest, CommentsSayWhatEachTaskIs) {
  const std::string text = MakeTemplate(TwoDags(), TemplateLayout::kClassic, CpuSet::Range(0, 1));
  EXPECT_THAT(text, HasSubstr("# Tick: timer component, every 5 ms"));
  EXPECT_THAT(text, HasSubstr("# Fusion: component, runs on each message on /a (also reads /b)"));
  EXPECT_THAT(text, HasSubstr("a.dag:13:5"));
  EXPECT_THAT(text, HasSubstr("scheduler_conf {"));
  EXPECT_THAT(text, HasSubstr("processor_policy: \"SCHED_FIFO\""));  // the commented hint
}

TEST(TemplateTest, ChoreographyPutsTheTimersOnTheFirstCpu) {
  const std::string text =
      MakeTemplate(TwoDags(), TemplateLayout::kChoreography, CpuSet::Range(2, 5));
  EXPECT_THAT(text, HasSubstr("choreography_cpuset: \"2\""));
  EXPECT_THAT(text, HasSubstr("pool_cpuset: \"3-5\""));
  EXPECT_THAT(text, HasSubstr("pool_processor_num: 3"));
  EXPECT_THAT(text, HasSubstr("{ name: \"tick\" processor: 0 prio: 15 period_us: 5000 }"));
}

}  // namespace
}  // namespace cadence
