#include "medssl/weights/torch_save_storage.h"

#include "medssl/core/error.h"

namespace medssl::weights::torch_save {

const std::map<std::string, c10::ScalarType>& storage_types() {
  static const std::map<std::string, c10::ScalarType> types = {
      {"torch.DoubleStorage", c10::ScalarType::Double},   {"torch.FloatStorage", c10::ScalarType::Float},
      {"torch.HalfStorage", c10::ScalarType::Half},       {"torch.BFloat16Storage", c10::ScalarType::BFloat16},
      {"torch.LongStorage", c10::ScalarType::Long},       {"torch.IntStorage", c10::ScalarType::Int},
      {"torch.ShortStorage", c10::ScalarType::Short},     {"torch.CharStorage", c10::ScalarType::Char},
      {"torch.ByteStorage", c10::ScalarType::Byte},       {"torch.BoolStorage", c10::ScalarType::Bool},
      {"torch.ComplexFloatStorage", c10::ScalarType::ComplexFloat},
      {"torch.ComplexDoubleStorage", c10::ScalarType::ComplexDouble},
      {"torch.UntypedStorage", c10::ScalarType::Byte}};
  return types;
}

std::string storage_class(c10::ScalarType dtype) {
  for (const auto& [name, type] : storage_types())
    if (type == dtype && name != "torch.UntypedStorage") return name;
  fail("torch.save format: tensors of type {} cannot be written", c10::toString(dtype));
}

}  // namespace medssl::weights::torch_save
