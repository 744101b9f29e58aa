// Built into every executable of a sanitized build (MEDSSL_SANITIZE / MEDSSL_FUZZ, CMakeLists.txt), never into a
// release binary: LeakSanitizer's built-in suppressions, so `ctest`, the fuzz targets and runs by hand all see the same.
//
// Only third-party leaks belong here, each with the evidence. LibTorch is not instrumented, so with ASan's fast
// unwinder a leak it makes shows a stack that ends inside libtorch_cpu.so and can be matched by that module only:
//
// - LibTorch 1.13's caffe2::serialize::PyTorchStreamReader::init() leaks miniz's 152-byte reader state when
//   mz_zip_reader_init fails (a truncated or corrupt zip: the constructor throws, so no destructor frees it). Reached
//   by every rejected checkpoint or weights file (train/checkpoint.cpp, weights/weights_file.cpp,
//   weights/torch_save_format.cpp); the full stack (ASAN_OPTIONS=fast_unwind_on_malloc=0):
//   malloc <- mz_zip_reader_init <- PyTorchStreamReader::init <- torch::jit::load <- InputArchive::load_from.
//
// The price: a leak of medssl's own is hidden too when its allocation stack passes through LibTorch (medssl code
// called back from at::parallel_for or an autograd function); a direct medssl allocation is still reported.
extern "C" const char* __lsan_default_suppressions() {  // NOLINT(bugprone-reserved-identifier): the runtime's hook
  return "leak:libtorch_cpu.so\n";
}
