// testdata/libbroken_components.so: a module library that cannot be loaded with RTLD_NOW.
// It calls a function no library defines; a shared library may leave symbols undefined, so
// it links, and dlopen reports "undefined symbol: cadence_test_symbol_that_does_not_exist".
extern "C" void cadence_test_symbol_that_does_not_exist();

namespace {

int CallTheMissingSymbol() {
  cadence_test_symbol_that_does_not_exist();
  return 1;
}

// A static initializer that would call it (dlopen fails before it can run).
[[maybe_unused]] const int called = CallTheMissingSymbol();

}  // namespace
