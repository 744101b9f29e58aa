#pragma once
// LibTorch's intra-op thread pool size (the CLI's --threads). Inter-op threads are left alone: LibTorch allows setting
// them only once, before any parallel work, which a library cannot guarantee.
namespace medssl {

/// Sets the number of threads LibTorch kernels use; 0 means all hardware threads. Throws medssl::Error if n < 0.
void set_torch_threads(int n);
/// The current intra-op thread count.
int torch_threads();

}  // namespace medssl
