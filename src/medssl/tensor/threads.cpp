#include "medssl/tensor/threads.h"

#include <algorithm>
#include <thread>

#include "medssl/core/error.h"
#include "medssl/core/torch_pch.h"

namespace medssl {

void set_torch_threads(int n) {
  check(n >= 0, "threads: {} is not a valid thread count (0 = all cores)", n);
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  torch::set_num_threads(n);
}

int torch_threads() { return torch::get_num_threads(); }

}  // namespace medssl
