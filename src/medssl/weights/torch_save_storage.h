#pragma once
// The storage classes torch.save names in its persistent ids ("torch.FloatStorage", ...), shared by the reader
// (torch_save_format.cpp) and the writer (torch_save_writer.cpp).
#include <map>
#include <string>

#include "medssl/core/torch_pch.h"

namespace medssl::weights::torch_save {

/// Storage class name -> element type.
const std::map<std::string, c10::ScalarType>& storage_types();
/// The storage class torch.save uses for `dtype`; medssl::Error for a type it cannot write.
std::string storage_class(c10::ScalarType dtype);

}  // namespace medssl::weights::torch_save
