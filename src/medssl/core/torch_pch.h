#pragma once
// The one precompiled header of medssl_torch: <torch/torch.h> costs ~25 s per translation unit without it.
#include <torch/torch.h>
