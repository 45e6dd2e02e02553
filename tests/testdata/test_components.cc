// Components for tests/launcher_e2e_test.cc, built into testdata/libtest_components.so and
// named by class in testdata/good.dag (and the other test DAGs):
//
//   TestTicker (timer)      writes an increasing int counter to /test/ticks
//   TestEcho   (component)  reads /test/ticks; fails a Proc if a counter goes backwards
#include <memory>

#include "scheduler/component/component.h"

namespace cadence::e2e {

class TestTicker : public TimerComponent {
 public:
  bool Init() override {
    absl::StatusOr<std::shared_ptr<Writer<int>>> writer = CreateWriter<int>("/test/ticks");
    if (!writer.ok()) return false;
    writer_ = *writer;
    return true;
  }

  bool Proc() override {
    writer_->Write(std::make_shared<int>(++count_));
    return true;
  }

 private:
  std::shared_ptr<Writer<int>> writer_;
  int count_ = 0;
};

class TestEcho : public Component<int> {
 public:
  bool Init() override { return true; }

  bool Proc(const std::shared_ptr<int>& tick) override {
    const bool in_order = *tick > last_;
    last_ = *tick;
    return in_order;
  }

 private:
  int last_ = 0;
};

}  // namespace cadence::e2e

using cadence::e2e::TestEcho;
using cadence::e2e::TestTicker;
CADENCE_REGISTER_COMPONENT(TestTicker)
CADENCE_REGISTER_COMPONENT(TestEcho)
