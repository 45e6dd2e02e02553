// Tests of the Loader: every parse error carries file:line:col (and a "did you mean" for
// unknown fields), binary input is refused, Cyber RT's syntax is accepted, ignored sections
// are notes, and symlinks (real ones and plain-text ones) are followed and reported.
#include "scheduler/config/loader.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/temp_files.h"

namespace cadence {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The error message of text that must not parse.
std::string ParseError(const std::string& text) {
  absl::StatusOr<LoadedConfig> loaded = ParseConfigText(text, "test.conf");
  EXPECT_FALSE(loaded.ok()) << text;
  if (loaded.ok()) return "";
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(loaded.status().message());
}

// The config of text that must parse.
LoadedConfig ParseOk(const std::string& text) {
  absl::StatusOr<LoadedConfig> loaded = ParseConfigText(text, "test.conf");
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  return loaded.ok() ? *std::move(loaded) : LoadedConfig{};
}

std::string MakeTempDir() { return test_support::MakeTempDir("loader_test"); }

using test_support::WriteFile;

std::string RealPath(const std::string& path) {
  char resolved[PATH_MAX];
  EXPECT_NE(realpath(path.c_str(), resolved), nullptr) << path;
  return resolved;
}

constexpr char kValidConf[] = R"(scheduler_conf {
  policy: "classic"
  classic_conf {
    groups {
      name: "g"
      processor_num: 1
    }
  }
}
)";

TEST(LoaderTest, SyntaxErrorHasLineAndColumn) {
  // A scalar field without its ':' — the parser stops at the value.
  EXPECT_EQ(ParseError("scheduler_conf {\n"
                       "  classic_conf {\n"
                       "    groups {\n"
                       "      name: \"g\"\n"
                       "      processor_num 2\n"
                       "    }\n"
                       "  }\n"
                       "}\n"),
            "test.conf:5:21: error: Expected \":\", found \"2\". "
            "[scheduler_conf.classic_conf.groups[0].processor_num]\n"
            "  hint: write a `:` between `processor_num` and its value (`processor_num: ...`); "
            "`processor_num` takes a whole number, 0 or more, without quotes");
}

// The hint (and field) a syntax error gets: the last line of the message, and its first.
std::string HintOf(const std::string& text) {
  const std::string error = ParseError(text);
  const size_t hint = error.find("\n  hint: ");
  return hint == std::string::npos ? "(no hint) " + error : error.substr(hint + 9);
}

TEST(LoaderTest, CommonSyntaxMistakesGetAHint) {
  EXPECT_EQ(ParseError("scheduler_conf {\n  policy = \"classic\"\n}\n"),
            "test.conf:2:10: error: Expected \":\", found \"=\". [scheduler_conf.policy]\n"
            "  hint: a field and its value are separated by `:`, not `=`: `policy: ...`");
  EXPECT_EQ(ParseError("scheduler_conf {\n  // the policy\n  policy: \"classic\"\n}\n"),
            "test.conf:2:3: error: Expected identifier, got: /\n"
            "  hint: comments start with `#` in protobuf text format (`//` and `/* */` are not "
            "comments)");
  EXPECT_EQ(HintOf("scheduler_conf {\n  \"policy\": \"classic\"\n}\n"),
            "field names are written without quotes: `policy: ...`, not `\"policy\": ...`");
  EXPECT_EQ(HintOf("# JSON\n{\n  \"scheduler_conf\": { \"policy\": \"classic\" }\n}\n"),
            "a file is a list of fields, e.g. `scheduler_conf { ... }`, without braces around "
            "the whole file (protobuf text format, not JSON)");
  EXPECT_EQ(HintOf("scheduler_conf {\n  policy: \"classic\" {\n}\n"),
            "a `{` opens a message right after its field's name, e.g. `threads {`; this one "
            "follows no field name");
  EXPECT_EQ(HintOf("scheduler_conf {\n  policy: \"classic\" 7\n}\n"),
            "a field name is expected here: letters, digits and `_`");
  // YAML-like, and a message opened with the wrong bracket.
  EXPECT_EQ(ParseError("scheduler_conf:\n  policy: \"classic\"\n"),
            "test.conf:2:3: error: Expected \"{\", found \"policy\". [scheduler_conf]\n"
            "  hint: `scheduler_conf` is a message: its fields go in braces, "
            "`scheduler_conf { ... }`");
  EXPECT_EQ(HintOf("scheduler_conf { classic_conf (\n  groups { name: \"a\" }\n) }\n"),
            "`classic_conf` is a message: its fields go in braces, `classic_conf { ... }`");
}

TEST(LoaderTest, ListSyntaxMistakesGetAHint) {
  const std::string head = "scheduler_conf {\n  classic_conf {\n    groups: [\n";
  EXPECT_EQ(ParseError(head + "      { name: \"a\" }\n      { name: \"b\" }\n    ]\n  }\n}\n"),
            "test.conf:5:7: error: Expected \",\", found \"{\".\n"
            "  hint: the items of a `[ ... ]` list are separated by commas: "
            "`[ { ... }, { ... } ]`");
  EXPECT_EQ(HintOf(head + "      { name: \"a\" },\n      { name: \"b\" },\n    ]\n  }\n}\n"),
            "a `[ ... ]` list takes no comma after its last item: remove the `,` before `]`");
  EXPECT_EQ(HintOf(head + "      { name: \"a\" },\n  }\n}\n"),
            "the `[` list opened at line 3 is not closed: end it with `]` after its last item "
            "(and no comma after that item)");
  EXPECT_EQ(HintOf(head + "      name: \"a\"\n    ]\n  }\n}\n"),
            "each item of a list of messages is a message in braces: `[ { ... }, { ... } ]`");
}

TEST(LoaderTest, StringAndValueMistakesNameTheirField) {
  EXPECT_EQ(ParseError("scheduler_conf {\n  policy: \"classic\n  process_level_cpuset: \"0\"\n}\n"),
            "test.conf:2:19: error: String literals cannot cross line boundaries. "
            "[scheduler_conf.policy]\n"
            "  hint: a string ends on the line it starts on: add its closing quote");
  EXPECT_EQ(ParseError("scheduler_conf {\n  classic_conf { groups { name: \"a\" name: \"b\" } }\n}\n"),
            "test.conf:2:41: error: Non-repeated field \"name\" is specified multiple times. "
            "[scheduler_conf.classic_conf.groups[0].name]\n"
            "  hint: `name` takes one value in each message: remove all but one of them");
  EXPECT_EQ(ParseError("scheduler_conf {\n  policy: \u201cclassic\u201d\n}\n"),
            "test.conf:2:11: error: Interpreting non ascii codepoint 226. "
            "[scheduler_conf.policy]\n"
            "  hint: typographic quotes (\u201c \u201d \u2018 \u2019) are not quotes in protobuf "
            "text format: use plain \" (an editor or word processor may have changed them)");
  EXPECT_EQ(HintOf("scheduler_conf {\n  policy: \"classic\" \xc3\xa9\n}\n"),
            "outside strings the format takes ASCII only: remove this character, or quote the "
            "text if it is a value");
  EXPECT_EQ(HintOf("\xef\xbb\xbfscheduler_conf {\n  policy: \"classic\"\n}\n"),
            "the file starts with a UTF-8 byte-order mark (bytes EF BB BF): save it without one");
  EXPECT_EQ(ParseError("scheduler_conf {\n  policy:\u00a0\"classic\"\n}\n"),
            "test.conf:2:10: error: Interpreting non ascii codepoint 194. [scheduler_conf.policy]\n"
            "  hint: a no-break space (U+00A0) stands where the format wants a plain space: "
            "replace it");
  // A string closed with a typographic quote, one with a ' in it, one cut short.
  EXPECT_EQ(HintOf("scheduler_conf {\n  policy: \"classic\u201d\n}\n"),
            "this string ends with a typographic quote: typographic quotes (\u201c \u201d \u2018 "
            "\u2019) are not quotes in protobuf text format: use plain \" (an editor or word "
            "processor may have changed them)");
  EXPECT_THAT(ParseError("scheduler_conf {\n  threads { name: \"it's\n }\n}\n"),
              StartsWith("test.conf:2:24: error: String literals cannot cross line boundaries. "
                         "[scheduler_conf.threads[0].name]"));
  EXPECT_EQ(ParseError("scheduler_conf { policy: \"abc"),
            "test.conf:1:30: error: Unexpected end of string. [scheduler_conf.policy]\n"
            "  hint: the file ends inside this string: add its closing quote (or the file was "
            "cut short)");
}

TEST(LoaderTest, ABoolsWrongValueIsExplainedAsAValueNotAsAFieldName) {
  // The parser reads a bool's value as an identifier, so its errors say "Expected
  // identifier"; they are the value's.
  EXPECT_EQ(ParseError("scheduler_conf {\n  classic_conf { groups { busy_spin: } }\n}\n"),
            "test.conf:2:38: error: Expected identifier, got: } "
            "[scheduler_conf.classic_conf.groups[0].busy_spin]\n"
            "  hint: `busy_spin` takes true or false");  // Missing, not a stray `}`.
  for (const char* value : {"\"true\"", "-1", "{ }"}) {
    EXPECT_EQ(ParseError(absl::StrCat("scheduler_conf {\n  classic_conf { groups { busy_spin: ",
                                      value, " } }\n}\n")),
              absl::StrCat("test.conf:2:38: error: Expected identifier, got: ",
                           std::string(value).substr(0, 1) == "{" ? "{" :
                           std::string(value).substr(0, 1) == "-" ? "-" : value,
                           " [scheduler_conf.classic_conf.groups[0].busy_spin]\n"
                           "  hint: `busy_spin` takes true or false"));
  }
}

TEST(LoaderTest, CommentsBetweenTokensDoNotMisleadTheHint) {
  // The field before a comment, not a word in the comment; its path in its own message.
  EXPECT_EQ(ParseError("scheduler_conf {\n  policy  # which one\n    \"classic\"\n}\n"),
            "test.conf:3:5: error: Expected \":\", found \"\"classic\"\". [scheduler_conf.policy]\n"
            "  hint: write a `:` between `policy` and its value (`policy: ...`); `policy` takes a "
            "string in double quotes, e.g. \"SCHED_FIFO\"");
  EXPECT_EQ(ParseError("scheduler_conf {\n  classic_conf # the groups\n   \"x\"\n}\n"),
            "test.conf:3:4: error: Expected \"{\", found \"\"x\"\". [scheduler_conf.classic_conf]\n"
            "  hint: `classic_conf` is a message: its fields go in braces, `classic_conf { ... }`");
  EXPECT_EQ(HintOf("scheduler_conf {\n  threads: [ { name: \"a\" }, # see classic_conf\n  ]\n}\n"),
            "a `[ ... ]` list takes no comma after its last item: remove the `,` before `]`");
  // C-style comments, wherever the parser meets them.
  const std::string comments =
      "comments start with `#` in protobuf text format (`//` and `/* */` are not comments)";
  EXPECT_EQ(HintOf("scheduler_conf {\n  threads: [ // the logger\n    { name: \"a\" }\n  ]\n}\n"),
            comments);
  EXPECT_EQ(HintOf("scheduler_conf {\n  threads: [ { name: \"a\" } // first\n  , { name: \"b\" } ]\n}\n"),
            comments);
  EXPECT_EQ(HintOf("scheduler_conf {\n  classic_conf // groups below\n  {\n  }\n}\n"), comments);
  EXPECT_EQ(HintOf("scheduler_conf {\n  policy /* which */ : \"classic\"\n}\n"), comments);
  EXPECT_EQ(ParseError("scheduler_conf {\n  threads { prio: // rt\n 3 }\n}\n"),
            "test.conf:2:19: error: Expected integer, got: / [scheduler_conf.threads[0].prio]\n"
            "  hint: " + comments);
}

TEST(LoaderTest, MessageFieldWithEqualsAndListsLeftOpenGetTheirOwnHints) {
  EXPECT_EQ(ParseError("scheduler_conf {\n  classic_conf = {\n  }\n}\n"),
            "test.conf:2:16: error: Expected \"{\", found \"=\". [scheduler_conf.classic_conf]\n"
            "  hint: a message follows its field's name without `=`: `classic_conf { ... }` (or "
            "`classic_conf: { ... }`)");
  // A list without its `]` and no trailing comma; files that end inside a list.
  EXPECT_EQ(HintOf("scheduler_conf {\n  threads: [ { name: \"a\" }, { name: \"b\" }\n}\n"),
            "the `[` list opened at line 2 is not closed: end it with `]` after its last item");
  for (const char* cut : {"scheduler_conf {\n threads: [ {} ", "scheduler_conf {\n threads: [ {},",
                          "scheduler_conf {\n threads: ["}) {
    EXPECT_EQ(HintOf(cut), "the file ends inside the `[` list opened at line 2: its `]` is "
                           "missing (or the file was cut short)")
        << cut;
  }
}

TEST(LoaderTest, UnterminatedBlockPointsAtTheEnd) {
  const std::string error = ParseError("scheduler_conf {\n  policy: \"classic\"\n");
  EXPECT_THAT(error, StartsWith("test.conf:3:1: error: "));
}

TEST(LoaderTest, UnknownFieldSuggestsTheClosestName) {
  EXPECT_EQ(ParseError("scheduler_conf {\n"
                       "  classic_conf {\n"
                       "    groups {\n"
                       "      name: \"g\"\n"
                       "      processr_num: 2\n"
                       "    }\n"
                       "  }\n"
                       "}\n"),
            "test.conf:5:7: error: unknown field 'processr_num' in SchedGroup "
            "[scheduler_conf.classic_conf.groups[0].processr_num]\n"
            "  hint: did you mean 'processor_num'?");
}

TEST(LoaderTest, UnknownFieldInChoreographyConfSuggestsBothProcessorCounts) {
  EXPECT_EQ(ParseError("scheduler_conf {\n"
                       "  policy: \"choreography\"\n"
                       "  choreography_conf {\n"
                       "    processor_num: 2\n"
                       "  }\n"
                       "}\n"),
            "test.conf:4:5: error: unknown field 'processor_num' in ChoreographyConf "
            "[scheduler_conf.choreography_conf.processor_num]\n"
            "  hint: did you mean 'choreography_processor_num' or 'pool_processor_num'?");
}

TEST(LoaderTest, UnknownFieldWithNothingCloseListsTheFields) {
  const std::string error = ParseError("scheduler_conf {\n  zzzzzzzzzzzz: 1\n}\n");
  EXPECT_THAT(error, StartsWith("test.conf:2:3: error: unknown field 'zzzzzzzzzzzz' in "
                                "SchedulerConf [scheduler_conf.zzzzzzzzzzzz]\n"
                                "  hint: SchedulerConf has: policy, routine_num"));
}

TEST(LoaderTest, UnknownMessageFieldPointsAtItsName) {
  // A block field (no ':') that does not exist.
  EXPECT_THAT(ParseError("scheduler_conf {\n  classic_conf {\n    group {\n    }\n  }\n}\n"),
              StartsWith("test.conf:3:5: error: unknown field 'group' in ClassicConf "
                         "[scheduler_conf.classic_conf.group]\n"
                         "  hint: did you mean 'groups'?"));
}

TEST(LoaderTest, VeryLongUnknownFieldNameIsReportedNotCrashed) {
  const std::string name(200000, 'x');
  const std::string error = ParseError(absl::StrCat("scheduler_conf {\n  ", name, ": 1\n}\n"));
  EXPECT_THAT(error, StartsWith("test.conf:2:3: error: unknown field 'xxxx"));
}

TEST(LoaderTest, WrongTypeIsReportedAtTheValue) {
  EXPECT_EQ(ParseError("scheduler_conf {\n"
                       "  classic_conf {\n"
                       "    groups {\n"
                       "      name: \"g\"\n"
                       "      processor_num: \"two\"\n"
                       "    }\n"
                       "  }\n"
                       "}\n"),
            "test.conf:5:22: error: Expected integer, got: \"two\" "
            "[scheduler_conf.classic_conf.groups[0].processor_num]\n"
            "  hint: `processor_num` takes a whole number, 0 or more, without quotes");
}

TEST(LoaderTest, NegativeNumberForUnsignedFieldIsAnError) {
  EXPECT_THAT(ParseError("scheduler_conf {\n  routine_num: -1\n}\n"),
              StartsWith("test.conf:2:16: error: "));
}

TEST(LoaderTest, MissingRequiredGroupNameIsReportedAtTheGroup) {
  EXPECT_EQ(ParseError("scheduler_conf {\n"
                       "  classic_conf {\n"
                       "    groups {\n"
                       "      name: \"first\"\n"
                       "    }\n"
                       "    groups {\n"
                       "      processor_num: 1\n"
                       "    }\n"
                       "  }\n"
                       "}\n"),
            "test.conf:6:5: error: missing required field 'name' in SchedGroup "
            "[scheduler_conf.classic_conf.groups[1].name]");
}

TEST(LoaderTest, MissingRequiredGroupNameInListSyntaxIsReportedAtTheGroup) {
  // In list syntax the parser records one location for the whole list; each element is
  // located at its first field.
  EXPECT_EQ(ParseError("scheduler_conf {\n"
                       "  classic_conf {\n"
                       "    groups: [\n"
                       "      { name: \"first\" },\n"
                       "      { processor_num: 1 }\n"
                       "    ]\n"
                       "  }\n"
                       "}\n"),
            "test.conf:5:9: error: missing required field 'name' in SchedGroup "
            "[scheduler_conf.classic_conf.groups[1].name]");
}

TEST(LoaderTest, BinaryInputIsRefused) {
  // A binary CyberConfig: scheduler_conf { policy: "classic" }.
  const std::string binary("\x0a\x09\x0a\x07\x63\x6c\x61\x73\x73\x69\x63", 11);
  const std::string error = ParseError(binary);
  EXPECT_THAT(error, StartsWith("test.conf: error: "));
  EXPECT_THAT(error, HasSubstr("binary"));
  EXPECT_THAT(ParseError(std::string("scheduler_conf {}\0", 18)), HasSubstr("binary"));
}

TEST(LoaderTest, CyberListSyntaxIsAccepted) {
  LoadedConfig loaded = ParseOk(R"(scheduler_conf {
  policy: "classic"
  threads: [ { name: "a" }, { name: "b" } ]
  classic_conf {
    groups: [
      {
        name: "g1"
        tasks: [ { name: "t1" prio: 3 }, { name: "t2" } ]
      },{
        name: "g2"
      }
    ]
  }
}
)");
  const proto::SchedulerConf& sched = loaded.config.scheduler_conf();
  EXPECT_EQ(sched.policy(), "classic");
  ASSERT_EQ(sched.threads_size(), 2);
  EXPECT_EQ(sched.threads(1).name(), "b");
  ASSERT_EQ(sched.classic_conf().groups_size(), 2);
  EXPECT_EQ(sched.classic_conf().groups(1).name(), "g2");
  ASSERT_EQ(sched.classic_conf().groups(0).tasks_size(), 2);
  EXPECT_EQ(sched.classic_conf().groups(0).tasks(0).prio(), 3u);
  EXPECT_TRUE(loaded.diagnostics.empty()) << loaded.diagnostics.ToString();
}

TEST(LoaderTest, ListElementsHaveTheirOwnLocations) {
  LoadedConfig loaded = ParseOk(R"(scheduler_conf {
  classic_conf {
    groups: [
      {
        name: "g1"
      },{
        name: "g2"
      }
    ]
  }
}
)");
  const proto::SchedulerConf& sched = loaded.config.scheduler_conf();
  const auto* classic_tree = loaded.Nested(loaded.SchedulerTree(), sched, "classic_conf");
  ASSERT_NE(classic_tree, nullptr);
  const SourceLocation first =
      loaded.FieldLocation(classic_tree, sched.classic_conf(), "groups", 0);
  const SourceLocation second =
      loaded.FieldLocation(classic_tree, sched.classic_conf(), "groups", 1);
  EXPECT_EQ(first.ToString(), "test.conf:5:9");
  EXPECT_EQ(second.ToString(), "test.conf:7:9");
  // The value of a string field: the first character inside the quotes.
  const auto* group_tree = loaded.Nested(classic_tree, sched.classic_conf(), "groups", 1);
  EXPECT_EQ(loaded.ValueLocation(group_tree, sched.classic_conf().groups(1), "name").ToString(),
            "test.conf:7:16");
}

TEST(LoaderTest, TabsCountAsTheParserCountsThem) {
  // The parser counts a tab as advancing to the next multiple of 8 columns; the value
  // location must agree with the field location.
  LoadedConfig loaded = ParseOk("scheduler_conf {\n\tprocess_level_cpuset: \"0-1\"\n}\n");
  const proto::SchedulerConf& sched = loaded.config.scheduler_conf();
  EXPECT_EQ(loaded.FieldLocation(loaded.SchedulerTree(), sched, "process_level_cpuset").ToString(),
            "test.conf:2:9");
  EXPECT_EQ(loaded.ValueLocation(loaded.SchedulerTree(), sched, "process_level_cpuset").ToString(),
            "test.conf:2:32");
}

TEST(LoaderTest, ValueLocationsOnOneLongLineAndAfterATabInIt) {
  // Many values on one line (located through the loader's line index), and a tab in the
  // middle of that line: the columns after it are the parser's, not byte offsets.
  std::string groups;
  for (int i = 0; i < 100; ++i) absl::StrAppend(&groups, i ? ", " : "", "{ name: \"g", i, "\" }");
  const std::string text =
      absl::StrCat("scheduler_conf { classic_conf { groups: [ ", groups, ",\t{ name: \"t\" } ] } }\n");
  LoadedConfig loaded = ParseOk(text);
  const proto::SchedulerConf& sched = loaded.config.scheduler_conf();
  const auto* classic_tree = loaded.Nested(loaded.SchedulerTree(), sched, "classic_conf");
  ASSERT_NE(classic_tree, nullptr);
  for (int i : {0, 57, 99}) {
    const auto* tree = loaded.Nested(classic_tree, sched.classic_conf(), "groups", i);
    const std::string needle = absl::StrCat("name: \"g", i, "\"");
    const size_t byte = text.find(needle) + needle.find('"') + 1;  // No tab before it.
    EXPECT_EQ(loaded.ValueLocation(tree, sched.classic_conf().groups(i), "name").ToString(),
              absl::StrCat("test.conf:1:", byte + 1));
  }
  const size_t tab = text.find('\t');
  const size_t tab_column = (tab / 8 + 1) * 8;  // Where the parser's next column starts.
  const auto* last = loaded.Nested(classic_tree, sched.classic_conf(), "groups", 100);
  const size_t quote_after_tab = text.find("\"t\"") - (tab + 1);  // Bytes after the tab.
  EXPECT_EQ(loaded.ValueLocation(last, sched.classic_conf().groups(100), "name").ToString(),
            absl::StrCat("test.conf:1:", tab_column + quote_after_tab + 2));
  // Its field location agrees with the parser's count.
  EXPECT_EQ(loaded.FieldLocation(last, sched.classic_conf().groups(100), "name").ToString(),
            absl::StrCat("test.conf:1:", tab_column + text.find("name: \"t") - tab - 1 + 1));
}

TEST(LoaderTest, LineIndexAgreesWithTheParsersCountAtEveryByte) {
  // Tabs at every position mod 8, runs of tabs, tabs at line starts and ends, and lines
  // without any (in comments): every byte's location, and back, as the parser counts columns (a tab
  // advances to the next multiple of 8), counted here byte by byte.
  std::string text = "# a\tb\t\tc\n\n";
  for (int i = 0; i < 40; ++i) {
    absl::StrAppend(&text, i % 4 == 0 ? "\t" : "", "#", std::string(i % 9, 'x'), "\t",
                    std::string(i % 5, 'y'),
                    i % 3 == 0 ? "\t\t" : "", "z\t\n");
  }
  absl::StrAppend(&text, "\tscheduler_conf {\t}");  // No newline at the end.
  LoadedConfig loaded = ParseOk(text);
  int line = 1, column = 0;
  for (size_t byte = 0; byte <= text.size(); ++byte) {
    const SourceLocation where = loaded.LocationOfByte(byte);
    ASSERT_EQ(where.line, line) << "byte " << byte;
    ASSERT_EQ(where.column, column + 1) << "byte " << byte;
    ASSERT_EQ(loaded.ByteOfLocation(where), byte) << where.ToString();
    if (byte == text.size()) break;
    if (text[byte] == '\n') {
      ++line;
      column = 0;
    } else if (text[byte] == '\t') {
      // The columns inside the tab's span are the byte after it.
      for (int c = column + 1; c < column + 8 - column % 8; ++c) {
        ASSERT_EQ(loaded.ByteOfLocation({"test.conf", line, c + 1}), byte + 1)
            << "line " << line << " column " << c + 1;
      }
      column += 8 - column % 8;
    } else {
      ++column;
    }
  }
  // A column past a line's end is that line's end.
  EXPECT_EQ(loaded.ByteOfLocation({"test.conf", 1, 200}), text.find('\n'));
}

TEST(LoaderTest, ValueOfTheWrongTypeNamesTheFieldAndWhatItTakes) {
  EXPECT_EQ(ParseError("scheduler_conf {\n  classic_conf { groups { processor_num: \"1\" } }\n}\n"),
            "test.conf:2:42: error: Expected integer, got: \"1\" "
            "[scheduler_conf.classic_conf.groups[0].processor_num]\n"
            "  hint: `processor_num` takes a whole number, 0 or more, without quotes");
  EXPECT_EQ(ParseError("scheduler_conf {\n  classic_conf { groups { busy_spin: 3 } }\n}\n"),
            "test.conf:2:38: error: Integer out of range (3) "
            "[scheduler_conf.classic_conf.groups[0].busy_spin]\n"
            "  hint: `busy_spin` takes true or false");
  EXPECT_EQ(ParseError("scheduler_conf {\n  policy: classic\n}\n"),
            "test.conf:2:11: error: Expected string, got: classic [scheduler_conf.policy]\n"
            "  hint: `policy` takes a string in double quotes, e.g. \"SCHED_FIFO\"");
}

TEST(LoaderTest, ValueOfTheWrongTypeGivesTheFieldsPathWithIndexes) {
  // The second group, given as a block of its own; the second thread, in a list.
  EXPECT_THAT(ParseError("scheduler_conf {\n  classic_conf {\n    groups { name: \"a\" }\n"
                         "    groups { name: \"b\" processor_num: x }\n  }\n}\n"),
              StartsWith("test.conf:4:39: error: Expected integer, got: x "
                         "[scheduler_conf.classic_conf.groups[1].processor_num]"));
  EXPECT_THAT(ParseError("scheduler_conf {\n  threads: [ { name: \"t\" }, { name: \"u\" prio: "
                         "\"x\" } ]\n}\n"),
              StartsWith("test.conf:2:47: error: Expected integer, got: \"x\" "
                         "[scheduler_conf.threads[1].prio]"));
}

TEST(LoaderTest, FileCutShortOrAStrayBraceGetsAHint) {
  EXPECT_EQ(ParseError("scheduler_conf {\n  classic_conf {\n    groups { name: \"a\""),
            "test.conf:3:23: error: Expected identifier, got: \n"
            "  hint: the file ends inside a message: 3 closing `}` are missing (or the file was "
            "cut short)");
  EXPECT_EQ(ParseError("scheduler_conf {\n  policy: \"classic\" # {\n"),
            "test.conf:3:1: error: Expected identifier, got: \n"
            "  hint: the file ends inside a message: a closing `}` is missing (or the file was "
            "cut short)");
  EXPECT_EQ(ParseError("scheduler_conf {\n}\n}\n"),
            "test.conf:3:1: error: Expected identifier, got: }\n"
            "  hint: this `}` closes no message: remove it, or add the `{` it belongs to");
}

TEST(LoaderTest, SchedulerFieldAtTopLevelGetsTheWrapperHint) {
  EXPECT_EQ(ParseError("policy: \"classic\"\n"),
            "test.conf:1:1: error: unknown field 'policy' in CyberConfig [policy]\n"
            "  hint: 'policy' belongs inside `scheduler_conf { ... }`, as in Cyber RT's files");
}

TEST(LoaderTest, OtherCyberSectionsAreNotes) {
  LoadedConfig loaded = ParseOk(R"(transport_conf {
  shm_conf { notifier_type: "condition" }
}
run_mode_conf {
  run_mode: MODE_REALITY
}
perf_conf { enable: false }
scheduler_conf { policy: "classic" }
)");
  const std::vector<Diagnostic>& all = loaded.diagnostics.all();
  ASSERT_EQ(all.size(), 3u) << loaded.diagnostics.ToString();
  EXPECT_EQ(loaded.diagnostics.ErrorCount(), 0);
  EXPECT_EQ(loaded.diagnostics.WarningCount(), 0);
  const char* sections[] = {"transport_conf", "run_mode_conf", "perf_conf"};
  const int lines[] = {1, 4, 7};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(all[i].severity, Severity::kNote);
    EXPECT_EQ(all[i].field, sections[i]);
    EXPECT_EQ(all[i].where.line, lines[i]);
    EXPECT_EQ(all[i].where.column, 1);
    EXPECT_THAT(all[i].message, HasSubstr("ignored"));
  }
}

TEST(LoaderTest, NoSchedulerConfIsAWarning) {
  LoadedConfig loaded = ParseOk("# nothing but a comment\n");
  ASSERT_EQ(loaded.diagnostics.all().size(), 1u);
  EXPECT_EQ(loaded.diagnostics.all()[0].severity, Severity::kWarning);
  EXPECT_EQ(loaded.diagnostics.all()[0].field, "scheduler_conf");
}

TEST(LoaderTest, ClosestFieldNames) {
  EXPECT_THAT(ClosestFieldNames(*proto::SchedGroup::descriptor(), "processr_num"),
              ElementsAre("processor_num"));
  EXPECT_THAT(ClosestFieldNames(*proto::SchedGroup::descriptor(), "cpu_set"),
              ElementsAre("cpuset"));
  EXPECT_THAT(ClosestFieldNames(*proto::ChoreographyConf::descriptor(), "processor_num"),
              ElementsAre("choreography_processor_num", "pool_processor_num"));
  EXPECT_TRUE(ClosestFieldNames(*proto::SchedGroup::descriptor(), "qqqqqqqqqqqq").empty());
}

TEST(LoaderTest, RealSymlinkIsFollowedAndReported) {
  const std::string dir = MakeTempDir();
  WriteFile(dir + "/robot_classic.conf", kValidConf);
  ASSERT_EQ(symlink("robot_classic.conf", (dir + "/robot.conf").c_str()), 0);
  ASSERT_EQ(symlink("robot.conf", (dir + "/current.conf").c_str()), 0);

  absl::StatusOr<LoadedConfig> loaded = LoadConfigFile(dir + "/current.conf");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->path, dir + "/current.conf");
  EXPECT_EQ(loaded->real_path, RealPath(dir + "/robot_classic.conf"));
  EXPECT_THAT(loaded->link_chain, ElementsAre(dir + "/current.conf -> robot.conf",
                                              dir + "/robot.conf -> robot_classic.conf"));
  EXPECT_EQ(loaded->config.scheduler_conf().classic_conf().groups(0).name(), "g");
  EXPECT_TRUE(loaded->diagnostics.empty()) << loaded->diagnostics.ToString();
}

TEST(LoaderTest, PlainFileIsNotALink) {
  const std::string dir = MakeTempDir();
  WriteFile(dir + "/plain.conf", kValidConf);
  absl::StatusOr<LoadedConfig> loaded = LoadConfigFile(dir + "/plain.conf");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->real_path, RealPath(dir + "/plain.conf"));
  EXPECT_TRUE(loaded->link_chain.empty());
}

TEST(LoaderTest, PlainTextSymlinkIsFollowedWithAWarning) {
  const std::string dir = MakeTempDir();
  WriteFile(dir + "/other.conf", kValidConf);
  WriteFile(dir + "/link.conf", "other.conf");  // as git writes a symlink with core.symlinks=false

  absl::StatusOr<LoadedConfig> loaded = LoadConfigFile(dir + "/link.conf");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->real_path, RealPath(dir + "/other.conf"));
  EXPECT_THAT(loaded->link_chain, ElementsAre(dir + "/link.conf => other.conf (plain-text link)"));
  ASSERT_EQ(loaded->diagnostics.all().size(), 1u) << loaded->diagnostics.ToString();
  const Diagnostic& warning = loaded->diagnostics.all()[0];
  EXPECT_EQ(warning.severity, Severity::kWarning);
  EXPECT_EQ(warning.where.ToString(), dir + "/link.conf:1:1");
  EXPECT_THAT(warning.message, HasSubstr("'other.conf'"));
  EXPECT_THAT(warning.hint, HasSubstr("ln -sf other.conf"));
  EXPECT_EQ(loaded->config.scheduler_conf().policy(), "classic");
}

TEST(LoaderTest, PlainTextSymlinkCycleIsAnErrorNotARecursion) {
  const std::string dir = MakeTempDir();
  WriteFile(dir + "/a.conf", "b.conf\n");
  WriteFile(dir + "/b.conf", "a.conf\n");
  absl::StatusOr<LoadedConfig> loaded = LoadConfigFile(dir + "/a.conf");
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(std::string(loaded.status().message()), StartsWith(dir + "/"));
  EXPECT_THAT(std::string(loaded.status().message()), HasSubstr("cycle"));
}

TEST(LoaderTest, SymlinkLoopIsAnError) {
  const std::string dir = MakeTempDir();
  ASSERT_EQ(symlink("y.conf", (dir + "/x.conf").c_str()), 0);
  ASSERT_EQ(symlink("x.conf", (dir + "/y.conf").c_str()), 0);
  absl::StatusOr<LoadedConfig> loaded = LoadConfigFile(dir + "/x.conf");
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(std::string(loaded.status().message()), StartsWith(dir + "/x.conf: error: "));
}

TEST(LoaderTest, MissingFileIsNotFound) {
  const std::string dir = MakeTempDir();
  absl::StatusOr<LoadedConfig> loaded = LoadConfigFile(dir + "/nothing.conf");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(loaded.status().message()),
              StartsWith(dir + "/nothing.conf: error: cannot read the config"));
}

TEST(LoaderTest, DanglingSymlinkIsNotFound) {
  const std::string dir = MakeTempDir();
  ASSERT_EQ(symlink("gone.conf", (dir + "/robot.conf").c_str()), 0);
  absl::StatusOr<LoadedConfig> loaded = LoadConfigFile(dir + "/robot.conf");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(loaded.status().message()), HasSubstr("dangling"));
}

TEST(LoaderTest, DirectoryIsRefusedNotReadAsAnEmptyConfig) {
  const std::string dir = MakeTempDir();
  absl::StatusOr<LoadedConfig> loaded = LoadConfigFile(dir);
  ASSERT_FALSE(loaded.ok()) << "a directory loaded as a config";
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(loaded.status().message()),
              StartsWith(absl::StrCat(dir, ": error: cannot read the config: ", RealPath(dir),
                                      " is a directory, not a regular file\n  hint: ")));
}

TEST(LoaderTest, SymlinkToADirectoryIsRefused) {
  const std::string dir = MakeTempDir();
  ASSERT_EQ(mkdir((dir + "/confs").c_str(), 0755), 0);
  ASSERT_EQ(symlink("confs", (dir + "/robot.conf").c_str()), 0);
  absl::StatusOr<LoadedConfig> loaded = LoadConfigFile(dir + "/robot.conf");
  ASSERT_FALSE(loaded.ok()) << "a symlink to a directory loaded as a config";
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(loaded.status().message()),
              HasSubstr(RealPath(dir + "/confs") + " is a directory"));
}

TEST(LoaderTest, FifoIsRefusedWithoutWaitingForAWriter) {
  const std::string dir = MakeTempDir();
  ASSERT_EQ(mkfifo((dir + "/pipe.conf").c_str(), 0600), 0);
  absl::StatusOr<LoadedConfig> loaded = LoadConfigFile(dir + "/pipe.conf");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(loaded.status().message()), HasSubstr("is a FIFO, not a regular file"));
}

TEST(LoaderTest, ReadErrorIsAnErrorNotATruncatedConfig) {
  // /proc/self/mem is a regular file whose first read fails with EIO (address 0 is not
  // mapped): what a failing disk does part way through a file.
  const std::string path = "/proc/self/mem";
  if (access(path.c_str(), R_OK) != 0) GTEST_SKIP() << "cannot open " << path;
  absl::StatusOr<LoadedConfig> loaded = LoadConfigFile(path);
  ASSERT_FALSE(loaded.ok()) << "a failed read loaded as a config";
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(loaded.status().message()),
              StartsWith(path + ": error: cannot read the config: reading /proc/"));
  EXPECT_THAT(std::string(loaded.status().message()),
              HasSubstr("failed after 0 bytes: Input/output error"));
}

TEST(LoaderTest, ParseErrorInAFileNamesThePathAsGiven) {
  const std::string dir = MakeTempDir();
  WriteFile(dir + "/bad.conf", "scheduler_conf {\n  polcy: \"classic\"\n}\n");
  absl::StatusOr<LoadedConfig> loaded = LoadConfigFile(dir + "/bad.conf");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(loaded.status().message()),
              StartsWith(dir + "/bad.conf:2:3: error: unknown field 'polcy' in SchedulerConf "
                         "[scheduler_conf.polcy]\n"
                               "  hint: did you mean 'policy'?"));
}

TEST(LoaderTest, ConfigPathFor) {
  EXPECT_EQ(ConfigPathFor("conf", "robot"), "conf/robot.conf");
  EXPECT_EQ(ConfigPathFor("", "robot"), "./robot.conf");
}

}  // namespace
}  // namespace cadence
