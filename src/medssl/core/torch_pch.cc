#include "medssl/core/torch_pch.h"  // compiles the shared precompiled header once
