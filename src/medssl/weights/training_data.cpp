#include "medssl/weights/training_data.h"

#include <algorithm>
#include <vector>

namespace medssl::weights {

using json = nlohmann::json;

json training_data_provenance(const cache::Cache& cache, int64_t cases_used) {
  const json& ds = cache.index.contains("dataset") ? cache.index.at("dataset") : json::object();
  // Per-axis median of the original spacings (volumes only; pictures have no physical spacing).
  std::vector<std::vector<double>> per_axis;
  if (cache.spatial_dims() == 3 && cache.index.contains("cases"))
    for (const auto& c : cache.index.at("cases")) {
      if (!c.contains("original_spacing") || !c.at("original_spacing").is_array()) continue;
      const auto s = c.at("original_spacing").get<std::vector<double>>();
      if (per_axis.empty()) per_axis.resize(s.size());
      if (s.size() != per_axis.size()) continue;
      for (size_t a = 0; a < s.size(); ++a) per_axis[a].push_back(s[a]);
    }
  json spacing;
  for (auto& values : per_axis) {
    std::sort(values.begin(), values.end());
    spacing.push_back(values[values.size() / 2]);
  }
  return {{"name", ds.value("name", "")},
          {"layout", ds.value("layout", "")},
          {"root", ds.value("root", "")},
          {"spatial_dims", cache.spatial_dims()},
          {"cases", cache.cases.size()},
          {"cases_used", cases_used},
          {"spacing", spacing}};
}

}  // namespace medssl::weights
