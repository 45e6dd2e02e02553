// Tests of DAG loading: each check reports its message at the exact file:line:col, all
// errors of a file come together, a good DAG flattens as written, Apollo Cyber RT's own
// DAGs load unchanged, module libraries are resolved (or every tried path is listed), and
// component names must be unique across DAGs.
#include "scheduler/launcher/dag.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/temp_files.h"
#include "tests/shared_dirs.h"

namespace cadence {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::StartsWith;

std::string MakeTempDir() { return test_support::MakeTempDir("dag_test"); }

using test_support::WriteFile;

// Writes `text` to a new "<tmp>/x.dag" and loads it.
absl::StatusOr<Dag> LoadText(const std::string& text, std::string* path_out = nullptr) {
  const std::string path = MakeTempDir() + "/x.dag";
  WriteFile(path, text);
  if (path_out != nullptr) *path_out = path;
  return LoadDagFile(path);
}

// The error of a DAG text that must not load, with its temporary directory cut so it reads
// "x.dag:line:col: error: ...".
std::string LoadError(const std::string& text) {
  std::string path;
  absl::StatusOr<Dag> dag = LoadText(text, &path);
  EXPECT_FALSE(dag.ok()) << text;
  if (dag.ok()) return "";
  EXPECT_EQ(dag.status().code(), absl::StatusCode::kInvalidArgument);
  return absl::StrReplaceAll(dag.status().message(), {{path, "x.dag"}});
}

// The error lines (not the hints) of an error message.
std::vector<std::string> ErrorLines(const std::string& message) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(message, '\n')) {
    if (!line.empty() && line[0] != ' ') lines.push_back(std::string(line));
  }
  return lines;
}

// Apollo Cyber RT's directory of configs and DAGs (shared/compat/cyber).
std::string CompatDir() {
  std::string looked;
  const std::string dir = testing::FindCompatCyberDir(&looked);
  EXPECT_FALSE(dir.empty()) << "shared/compat/cyber not found; looked:" << looked;
  return dir;
}

TEST(DagTest, NoModuleConfigIsAnError) {
  EXPECT_THAT(LoadError("# nothing to start\n"),
              StartsWith("x.dag:1:1: error: the DAG has no module_config"));
}

TEST(DagTest, MissingModuleLibraryIsAnErrorAtItsModuleConfig) {
  EXPECT_THAT(LoadError("# comment\n"
                        "module_config {\n"
                        "  components {\n"
                        "    class_name: \"A\"\n"
                        "    config { name: \"a\" readers { channel: \"/a\" } }\n"
                        "  }\n"
                        "}\n"),
              StartsWith("x.dag:2:1: error: this module_config has no module_library "
                         "[module_config[0].module_library]"));
}

TEST(DagTest, EmptyModuleLibraryIsAnErrorAtTheField) {
  EXPECT_THAT(LoadError("module_config {\n"
                        "  module_library: \"\"\n"
                        "  timer_components {\n"
                        "    class_name: \"T\"\n"
                        "    config { name: \"t\" interval: 5 }\n"
                        "  }\n"
                        "}\n"),
              StartsWith("x.dag:2:3: error: module_library is empty"));
}

TEST(DagTest, ModuleWithoutLibraryOrComponentsIsOnlyAWarning) {
  absl::StatusOr<Dag> dag = LoadText(
      "module_config {\n"
      "  module_library: \"liba.so\"\n"
      "  components {\n"
      "    class_name: \"A\"\n"
      "    config { name: \"a\" readers { channel: \"/a\" } }\n"
      "  }\n"
      "}\n"
      "module_config {}\n");
  ASSERT_TRUE(dag.ok()) << dag.status();
  ASSERT_EQ(dag->diagnostics.WarningCount(), 1);
  EXPECT_EQ(dag->diagnostics.all()[0].where.line, 8);
  EXPECT_EQ(dag->diagnostics.all()[0].where.column, 1);
  EXPECT_THAT(dag->diagnostics.all()[0].message, HasSubstr("neither a module_library nor"));
  ASSERT_THAT(dag->modules, SizeIs(1));
  EXPECT_EQ(dag->modules[0].library, "liba.so");
}

TEST(DagTest, EmptyClassNameIsAnErrorAtTheField) {
  EXPECT_THAT(LoadError("module_config {\n"
                        "  module_library: \"liba.so\"\n"
                        "  components {\n"
                        "    class_name: \"\"\n"
                        "    config { name: \"a\" readers { channel: \"/a\" } }\n"
                        "  }\n"
                        "}\n"),
              StartsWith("x.dag:4:5: error: class_name is empty "
                         "[module_config[0].components[0].class_name]"));
}

TEST(DagTest, MissingConfigIsAnErrorAtTheComponent) {
  EXPECT_THAT(LoadError("module_config {\n"
                        "  module_library: \"liba.so\"\n"
                        "  components {\n"
                        "    class_name: \"A\"\n"
                        "  }\n"
                        "}\n"),
              StartsWith("x.dag:3:3: error: this component has no config"));
}

TEST(DagTest, EmptyAndMissingNameAreErrorsAtTheirFields) {
  EXPECT_THAT(LoadError("module_config {\n"
                        "  module_library: \"liba.so\"\n"
                        "  components {\n"
                        "    class_name: \"A\"\n"
                        "    config {\n"
                        "      name: \"\"\n"
                        "      readers { channel: \"/a\" }\n"
                        "    }\n"
                        "  }\n"
                        "}\n"),
              StartsWith("x.dag:6:7: error: the component's name is empty"));
  EXPECT_THAT(LoadError("module_config {\n"
                        "  module_library: \"liba.so\"\n"
                        "  timer_components {\n"
                        "    class_name: \"T\"\n"
                        "    config { interval: 5 }\n"
                        "  }\n"
                        "}\n"),
              StartsWith("x.dag:5:5: error: this timer component's config has no name"));
}

TEST(DagTest, ComponentWithoutReadersIsAnErrorAtItsConfig) {
  const std::string error = LoadError(
      "module_config {\n"
      "  module_library: \"liba.so\"\n"
      "  components {\n"
      "    class_name: \"A\"\n"
      "    config {\n"
      "      name: \"a\"\n"
      "    }\n"
      "  }\n"
      "}\n");
  EXPECT_THAT(error, StartsWith("x.dag:5:5: error: component 'a' has no readers: a component is "
                                "triggered by its first reader's channel"));
  EXPECT_THAT(error, HasSubstr("hint: add `readers {"));
}

TEST(DagTest, MoreThanFourReadersIsAnErrorAtTheFifth) {
  EXPECT_THAT(LoadError("module_config {\n"
                        "  module_library: \"liba.so\"\n"
                        "  components {\n"
                        "    class_name: \"A\"\n"
                        "    config {\n"
                        "      name: \"a\"\n"
                        "      readers { channel: \"/1\" }\n"
                        "      readers { channel: \"/2\" }\n"
                        "      readers { channel: \"/3\" }\n"
                        "      readers { channel: \"/4\" }\n"
                        "      readers { channel: \"/5\" }\n"
                        "    }\n"
                        "  }\n"
                        "}\n"),
              StartsWith("x.dag:11:7: error: component 'a' has 5 readers; Cyber's maximum is 4 "
                         "[module_config[0].components[0].config.readers[4]]"));
}

TEST(DagTest, EmptyOrMissingChannelIsAnError) {
  const std::string error = LoadError(
      "module_config {\n"
      "  module_library: \"liba.so\"\n"
      "  components {\n"
      "    class_name: \"A\"\n"
      "    config {\n"
      "      name: \"a\"\n"
      "      readers { channel: \"\" }\n"
      "      readers { pending_queue_size: 2 }\n"
      "    }\n"
      "  }\n"
      "}\n");
  EXPECT_THAT(ErrorLines(error),
              ElementsAre(StartsWith("x.dag:7:17: error: the reader's channel name is empty"),
                          StartsWith("x.dag:8:7: error: this reader has no channel")));
}

// One component with one reader whose pending_queue_size line (line 9, column 9) is
// `pending_queue_size: <size>`.
std::string DagWithPendingQueueSize(const std::string& size) {
  return absl::StrCat(
      "module_config {\n"
      "  module_library: \"liba.so\"\n"
      "  components {\n"
      "    class_name: \"A\"\n"
      "    config {\n"
      "      name: \"a\"\n"
      "      readers {\n"
      "        channel: \"/a\"\n"
      "        pending_queue_size: ", size, "\n"
      "      }\n"
      "    }\n"
      "  }\n"
      "}\n");
}

TEST(DagTest, PendingQueueSizeZeroIsAnErrorAtTheField) {
  EXPECT_THAT(LoadError(DagWithPendingQueueSize("0")),
              StartsWith("x.dag:9:9: error: pending_queue_size must be at least 1"));
}

TEST(DagTest, DagWithoutComponentsIsAnError) {
  EXPECT_THAT(LoadError("module_config {\n  module_library: \"liba.so\"\n}\n"),
              StartsWith("x.dag:1:1: error: the DAG has no components: it would start nothing"));
}

TEST(DagTest, PendingQueueSizeAboveTheLimitIsAnErrorAtTheField) {
  EXPECT_THAT(LoadError(DagWithPendingQueueSize(absl::StrCat(kMaxPendingQueueSize + 1))),
              StartsWith(absl::StrCat("x.dag:9:9: error: pending_queue_size ",
                                      kMaxPendingQueueSize + 1, " is too large: at most ",
                                      kMaxPendingQueueSize)));
  // The limit itself is accepted.
  std::string path;
  absl::StatusOr<Dag> accepted =
      LoadText(DagWithPendingQueueSize(absl::StrCat(kMaxPendingQueueSize)), &path);
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->components[0].readers[0].pending_queue_size, kMaxPendingQueueSize);
}

TEST(DagTest, NamesWithControlCharactersOrBytesThatAreNotUtf8AreErrors) {
  const std::string message = LoadError(
      "module_config {\n"
      "  module_library: \"liba.so\"\n"
      "  components {\n"
      "    class_name: \"Camera\\nX\"\n"
      "    config {\n"
      "      name: \"a\\377\"\n"
      "      readers { channel: \"/a\" }\n"
      "    }\n"
      "  }\n"
      "}\n");
  EXPECT_THAT(ErrorLines(message),
              ElementsAre("x.dag:4:5: error: class_name \"Camera\\nX\" cannot be used: it holds a "
                          "control character (byte 0x0a at offset 6) "
                          "[module_config[0].components[0].class_name]",
                          "x.dag:6:7: error: the component's name \"a\\377\" cannot be used: it "
                          "is not UTF-8 (byte 0xff at offset 1) "
                          "[module_config[0].components[0].config.name]"));
}

TEST(DagTest, TimerIntervalMissingOrZeroIsAnError) {
  EXPECT_THAT(LoadError("module_config {\n"
                        "  module_library: \"liba.so\"\n"
                        "  timer_components {\n"
                        "    class_name: \"T\"\n"
                        "    config {\n"
                        "      name: \"t\"\n"
                        "      interval: 0\n"
                        "    }\n"
                        "  }\n"
                        "}\n"),
              StartsWith("x.dag:7:7: error: interval must be > 0 ms "
                         "[module_config[0].timer_components[0].config.interval]"));
  EXPECT_THAT(LoadError("module_config {\n"
                        "  module_library: \"liba.so\"\n"
                        "  timer_components {\n"
                        "    class_name: \"T\"\n"
                        "    config {\n"
                        "      name: \"t\"\n"
                        "    }\n"
                        "  }\n"
                        "}\n"),
              StartsWith("x.dag:5:5: error: timer component 't' has no interval: interval must "
                         "be > 0 ms"));
}

TEST(DagTest, AllErrorsOfAFileAreReportedOnePerLine) {
  const std::string error = LoadError(
      "module_config {\n"
      "  module_library: \"liba.so\"\n"
      "  components {\n"
      "    class_name: \"\"\n"
      "    config { name: \"a\" }\n"
      "  }\n"
      "  timer_components {\n"
      "    class_name: \"T\"\n"
      "    config { name: \"t\" interval: 0 }\n"
      "  }\n"
      "}\n");
  EXPECT_THAT(ErrorLines(error),
              ElementsAre(StartsWith("x.dag:4:5: error: class_name is empty"),
                          StartsWith("x.dag:5:5: error: component 'a' has no readers"),
                          StartsWith("x.dag:9:24: error: interval must be > 0 ms")));
}

TEST(DagTest, SyntaxErrorHasLineAndColumn) {
  EXPECT_THAT(LoadError("module_config {\n"
                        "  module_library \"liba.so\"\n"
                        "}\n"),
              StartsWith("x.dag:2:18: error: "));
}

TEST(DagTest, UnknownFieldSuggestsTheClosest) {
  const std::string error = LoadError(
      "module_config {\n"
      "  module_library: \"liba.so\"\n"
      "  timer_components {\n"
      "    class_name: \"T\"\n"
      "    config {\n"
      "      name: \"t\"\n"
      "      intervall: 10\n"
      "    }\n"
      "  }\n"
      "}\n");
  EXPECT_THAT(error,
              StartsWith("x.dag:7:7: error: unknown field 'intervall' in TimerComponentConfig"));
  EXPECT_THAT(error, HasSubstr("hint: did you mean 'interval'?"));
}

TEST(DagTest, MissingFileIsNotFound) {
  const std::string path = MakeTempDir() + "/absent.dag";
  absl::StatusOr<Dag> dag = LoadDagFile(path);
  ASSERT_FALSE(dag.ok());
  EXPECT_EQ(dag.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(dag.status().message()),
              StartsWith(absl::StrCat(path, ": error: cannot read the DAG file")));
}

TEST(DagTest, DirectoryIsRefusedNamingIt) {
  const std::string dir = MakeTempDir();
  absl::StatusOr<Dag> dag = LoadDagFile(dir);
  ASSERT_FALSE(dag.ok());
  EXPECT_EQ(dag.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(dag.status().message()),
              StartsWith(absl::StrCat(dir, ": error: cannot read the DAG file: ")));
  EXPECT_THAT(std::string(dag.status().message()), HasSubstr(" is a directory"));
}

TEST(DagTest, ReadErrorIsAnErrorWithTheReason) {
  // /proc/self/mem is a regular file whose first read fails with EIO.
  const std::string path = "/proc/self/mem";
  if (access(path.c_str(), R_OK) != 0) GTEST_SKIP() << "cannot open " << path;
  absl::StatusOr<Dag> dag = LoadDagFile(path);
  ASSERT_FALSE(dag.ok());
  EXPECT_EQ(dag.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(dag.status().message()),
              AllOf(StartsWith(path + ": error: cannot read the DAG file: reading /proc/"),
                    HasSubstr("Input/output error")));
}

TEST(DagTest, DuplicateNameInOneDagIsAnError) {
  EXPECT_THAT(LoadError("module_config {\n"
                        "  module_library: \"liba.so\"\n"
                        "  components {\n"
                        "    class_name: \"A\"\n"
                        "    config { name: \"same\" readers { channel: \"/a\" } }\n"
                        "  }\n"
                        "  timer_components {\n"
                        "    class_name: \"T\"\n"
                        "    config { name: \"same\" interval: 10 }\n"
                        "  }\n"
                        "}\n"),
              StartsWith("x.dag:8:5: error: component name 'same' (class T) is already used at "
                         "x.dag:4:5 (class A)"));
}

TEST(DagTest, GoodDagFlattensAsWritten) {
  const std::string path = "scheduler/launcher/testdata/robot.dag";
  absl::StatusOr<Dag> dag = LoadDagFile(path);
  ASSERT_TRUE(dag.ok()) << dag.status();
  EXPECT_EQ(dag->path, path);
  EXPECT_EQ(dag->real_path[0], '/');
  EXPECT_TRUE(dag->diagnostics.empty()) << dag->diagnostics.ToString();

  ASSERT_THAT(dag->modules, SizeIs(2));
  EXPECT_EQ(dag->modules[0].library, "bazel-bin/examples/robot/libmotion.so");
  EXPECT_EQ(dag->modules[0].where.ToString(), path + ":4:3");
  EXPECT_EQ(dag->modules[1].library, "bazel-bin/examples/robot/libpreview.so");
  EXPECT_EQ(dag->modules[1].where.ToString(), path + ":30:3");

  // File order: motion, led (same module), preview.
  ASSERT_THAT(dag->components, SizeIs(3));
  const DagComponent& motion = dag->components[0];
  EXPECT_EQ(motion.kind, DagComponent::Kind::kComponent);
  EXPECT_EQ(motion.class_name, "MotionComponent");
  EXPECT_EQ(motion.name, "motion");
  EXPECT_EQ(motion.config_file_path, "examples/robot/motion.pb.txt");
  EXPECT_EQ(motion.flag_file_path, "examples/robot/motion.flag");
  EXPECT_EQ(motion.library, "bazel-bin/examples/robot/libmotion.so");
  EXPECT_EQ(motion.where.ToString(), path + ":6:5");
  EXPECT_EQ(motion.interval_ms, 0u);
  ASSERT_THAT(motion.readers, SizeIs(2));
  EXPECT_EQ(motion.readers[0].channel, "/robot/imu");
  EXPECT_EQ(motion.readers[0].pending_queue_size, 8u);
  EXPECT_EQ(motion.readers[0].where.ToString(), path + ":12:9");
  EXPECT_EQ(motion.readers[1].channel, "/robot/odometry");
  EXPECT_EQ(motion.readers[1].pending_queue_size, 1u);  // Cyber's default.
  EXPECT_EQ(motion.readers[1].where.ToString(), path + ":17:9");

  const DagComponent& led = dag->components[1];
  EXPECT_EQ(led.kind, DagComponent::Kind::kTimerComponent);
  EXPECT_EQ(led.class_name, "LedComponent");
  EXPECT_EQ(led.name, "led");
  EXPECT_EQ(led.interval_ms, 20u);
  EXPECT_TRUE(led.readers.empty());
  EXPECT_EQ(led.library, "bazel-bin/examples/robot/libmotion.so");
  EXPECT_EQ(led.where.ToString(), path + ":22:5");

  const DagComponent& preview = dag->components[2];
  EXPECT_EQ(preview.kind, DagComponent::Kind::kComponent);
  EXPECT_EQ(preview.name, "preview");
  EXPECT_EQ(preview.library, "bazel-bin/examples/robot/libpreview.so");
  ASSERT_THAT(preview.readers, SizeIs(1));
  EXPECT_EQ(preview.readers[0].channel, "/robot/camera");
  EXPECT_EQ(preview.readers[0].pending_queue_size, 1u);
}

TEST(DagTest, ComponentsAndTimersKeepFileOrder) {
  absl::StatusOr<Dag> dag = LoadText(
      "module_config {\n"
      "  module_library: \"liba.so\"\n"
      "  timer_components { class_name: \"T1\" config { name: \"t1\" interval: 1 } }\n"
      "  components {\n"
      "    config { name: \"c1\" readers { channel: \"/c\" } }\n"
      "    class_name: \"C1\"\n"
      "  }\n"
      "  timer_components { class_name: \"T2\" config { name: \"t2\" interval: 2 } }\n"
      "}\n"
      "module_config {\n"
      "  module_library: \"libb.so\"\n"
      "  components { class_name: \"C2\" config { name: \"c2\" readers { channel: \"/c\" } } }\n"
      "}\n");
  ASSERT_TRUE(dag.ok()) << dag.status();
  std::vector<std::string> names;
  for (const DagComponent& component : dag->components) names.push_back(component.name);
  EXPECT_THAT(names, ElementsAre("t1", "c1", "t2", "c2"));
}

TEST(DagTest, CyberCommonDagLoads) {
  const std::string dir = CompatDir();
  ASSERT_FALSE(dir.empty());
  absl::StatusOr<Dag> dag = LoadDagFile(dir + "/common.dag");
  ASSERT_TRUE(dag.ok()) << dag.status();
  ASSERT_THAT(dag->modules, SizeIs(1));
  EXPECT_EQ(dag->modules[0].library,
            "bazel-bin/examples/cyber/common_component_example/libcommon_component_example.so");
  ASSERT_THAT(dag->components, SizeIs(1));
  const DagComponent& common = dag->components[0];
  EXPECT_EQ(common.kind, DagComponent::Kind::kComponent);
  EXPECT_EQ(common.class_name, "CommonComponentSample");
  EXPECT_EQ(common.name, "common");
  ASSERT_THAT(common.readers, SizeIs(2));
  EXPECT_EQ(common.readers[0].channel, "/apollo/prediction");
  EXPECT_EQ(common.readers[1].channel, "/apollo/test");
  EXPECT_EQ(common.readers[0].pending_queue_size, 1u);
}

TEST(DagTest, CyberTimerDagLoads) {
  const std::string dir = CompatDir();
  ASSERT_FALSE(dir.empty());
  absl::StatusOr<Dag> dag = LoadDagFile(dir + "/timer.dag");
  ASSERT_TRUE(dag.ok()) << dag.status();
  ASSERT_THAT(dag->components, SizeIs(1));
  const DagComponent& timer = dag->components[0];
  EXPECT_EQ(timer.kind, DagComponent::Kind::kTimerComponent);
  EXPECT_EQ(timer.class_name, "TimerComponentSample");
  EXPECT_EQ(timer.name, "timer");
  EXPECT_EQ(timer.interval_ms, 10u);
  EXPECT_EQ(timer.library,
            "bazel-bin/examples/cyber/timer_component_example/libtimer_component_example.so");
}

TEST(DagTest, ResolveLibraryOfCyberCommonDagIsNotFoundListingTriedPaths) {
  const std::string dir = CompatDir();
  ASSERT_FALSE(dir.empty());
  const std::string path = dir + "/common.dag";
  absl::StatusOr<Dag> dag = LoadDagFile(path);
  ASSERT_TRUE(dag.ok()) << dag.status();
  ASSERT_THAT(dag->modules, SizeIs(1));
  const std::string search = MakeTempDir();
  absl::StatusOr<std::string> library = ResolveLibrary(dag->modules[0], path, {search});
  ASSERT_FALSE(library.ok());
  EXPECT_EQ(library.status().code(), absl::StatusCode::kNotFound);
  const std::string message(library.status().message());
  const std::string written =
      "bazel-bin/examples/cyber/common_component_example/libcommon_component_example.so";
  const std::string rest = "examples/cyber/common_component_example/libcommon_component_example.so";
  char cwd[PATH_MAX];
  ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
  EXPECT_THAT(message, StartsWith(absl::StrCat(path, ":3:5: error: module_library '", written,
                                               "' not found; tried: ", cwd, "/", written, ", ",
                                               search, "/", written, ", ", dir, "/", written)));
  EXPECT_THAT(message, HasSubstr(absl::StrCat(".runfiles/cadence/", rest)));
  EXPECT_THAT(message, HasSubstr(absl::StrCat(cwd, "/", rest)));
  EXPECT_THAT(message, HasSubstr("\n  hint: "));
}

TEST(DagTest, ResolveLibraryFindsAFileRelativeToASearchDir) {
  const std::string search = MakeTempDir();
  ASSERT_EQ(mkdir((search + "/lib").c_str(), 0755), 0);
  WriteFile(search + "/lib/libfound_in_search_dir.so", "");
  const std::string dag_dir = MakeTempDir();
  const DagModule module{"lib/libfound_in_search_dir.so", {dag_dir + "/x.dag", 2, 3}};
  absl::StatusOr<std::string> library =
      ResolveLibrary(module, dag_dir + "/x.dag", {"/nonexistent-dir", search});
  ASSERT_TRUE(library.ok()) << library.status();
  EXPECT_EQ(*library, search + "/lib/libfound_in_search_dir.so");
}

TEST(DagTest, ResolveLibraryFindsAFileRelativeToTheDagDir) {
  const std::string dag_dir = MakeTempDir();
  WriteFile(dag_dir + "/libfound_next_to_dag.so", "");
  const DagModule module{"libfound_next_to_dag.so", {dag_dir + "/x.dag", 2, 3}};
  absl::StatusOr<std::string> library = ResolveLibrary(module, dag_dir + "/x.dag", {MakeTempDir()});
  ASSERT_TRUE(library.ok()) << library.status();
  EXPECT_EQ(*library, dag_dir + "/libfound_next_to_dag.so");
}

TEST(DagTest, ResolveLibraryFindsABazelBinPathInTheRunfilesTree) {
  const std::string runfiles = MakeTempDir();
  ASSERT_EQ(mkdir((runfiles + "/cadence").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((runfiles + "/cadence/pkg").c_str(), 0755), 0);
  WriteFile(runfiles + "/cadence/pkg/libin_runfiles.so", "");
  const char* old = getenv("RUNFILES_DIR");
  const std::string saved = old != nullptr ? old : "";
  ASSERT_EQ(setenv("RUNFILES_DIR", runfiles.c_str(), 1), 0);
  const DagModule module{"bazel-bin/pkg/libin_runfiles.so", {"x.dag", 2, 3}};
  absl::StatusOr<std::string> library = ResolveLibrary(module, MakeTempDir() + "/x.dag", {});
  if (old != nullptr) {
    setenv("RUNFILES_DIR", saved.c_str(), 1);
  } else {
    unsetenv("RUNFILES_DIR");
  }
  ASSERT_TRUE(library.ok()) << library.status();
  EXPECT_EQ(*library, runfiles + "/cadence/pkg/libin_runfiles.so");
}

TEST(DagTest, CheckDagsTogetherReportsADuplicateAcrossDagsWithBothLocations) {
  std::string first_path, second_path;
  absl::StatusOr<Dag> first = LoadText(
      "module_config {\n"
      "  module_library: \"liba.so\"\n"
      "  components {\n"
      "    class_name: \"A\"\n"
      "    config { name: \"shared_name\" readers { channel: \"/a\" } }\n"
      "  }\n"
      "}\n",
      &first_path);
  absl::StatusOr<Dag> second = LoadText(
      "module_config {\n"
      "  module_library: \"libb.so\"\n"
      "  timer_components {\n"
      "    class_name: \"B\"\n"
      "    config { name: \"other\" interval: 1 }\n"
      "  }\n"
      "  timer_components {\n"
      "    class_name: \"C\"\n"
      "    config { name: \"shared_name\" interval: 1 }\n"
      "  }\n"
      "}\n",
      &second_path);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(CheckDagsTogether({*first}).ok());
  EXPECT_TRUE(CheckDagsTogether({*second}).ok());

  const absl::Status status = CheckDagsTogether({*first, *second});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ErrorLines(std::string(status.message())),
              ElementsAre(absl::StrCat(second_path,
                                       ":8:5: error: component name 'shared_name' (class C) is "
                                       "already used at ",
                                       first_path, ":4:5 (class A)")));
}

TEST(DagTest, CheckDagsTogetherSaysWhenADagIsGivenTwice) {
  std::string path;
  absl::StatusOr<Dag> dag = LoadText(
      "module_config {\n"
      "  module_library: \"liba.so\"\n"
      "  components {\n"
      "    class_name: \"A\"\n"
      "    config { name: \"a\" readers { channel: \"/a\" } }\n"
      "  }\n"
      "}\n",
      &path);
  ASSERT_TRUE(dag.ok()) << dag.status();
  const absl::Status status = CheckDagsTogether({*dag, *dag});
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()),
              StartsWith(absl::StrCat(path,
                                      ":4:5: error: component name 'a' (class A) is already "
                                      "used at ",
                                      path, ":4:5 (class A)\n  hint: both are the DAG file ",
                                      dag->real_path, ", given twice")));
}

}  // namespace
}  // namespace cadence
