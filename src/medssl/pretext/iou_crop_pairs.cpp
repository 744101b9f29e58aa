#include "medssl/pretext/iou_crop_pairs.h"

#include <algorithm>

#include <fmt/ranges.h>

#include "medssl/core/error.h"

namespace medssl::pretext {

namespace {

int64_t product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (auto x : v) p *= x;
  return p;
}

// Everything the direct sampler needs for one placement of crop 1.
struct Admissible {
  IouInterval interval;
  double area_sum = 0;  // A1 + A2
  // Per axis: the crop-2 starts grouped by the overlap they give with crop 1 (index = overlap 0..max).
  std::vector<std::vector<std::vector<int64_t>>> starts_by_overlap;

  bool admits(int64_t intersection) const {
    const double i = static_cast<double>(intersection);
    const double iou = i / (area_sum - i);
    return iou >= interval.min_iou && iou <= interval.max_iou;
  }

  // Number of crop-2 start positions on axes axis.. whose overlaps, multiplied into `partial`, give an admissible
  // intersection.
  int64_t completions(size_t axis, int64_t partial) const {
    const auto& groups = starts_by_overlap[axis];
    if (axis + 1 == starts_by_overlap.size()) {
      // I = partial * o is non-decreasing in o, IoU increases with I: admissible overlaps are one interval.
      int64_t count = 0;
      if (partial == 0) {
        if (!admits(0)) return 0;
        for (const auto& g : groups) count += static_cast<int64_t>(g.size());
        return count;
      }
      const int64_t top = static_cast<int64_t>(groups.size()) - 1;
      // Smallest o with IoU >= min and largest o with IoU <= max, by binary search on the monotone IoU.
      int64_t lo = 0, hi = top + 1;
      while (lo < hi) {
        const int64_t mid = (lo + hi) / 2;
        const double i = static_cast<double>(partial * mid);
        if (i / (area_sum - i) >= interval.min_iou) hi = mid; else lo = mid + 1;
      }
      const int64_t first = lo;
      lo = -1, hi = top;
      while (lo < hi) {
        const int64_t mid = (lo + hi + 1) / 2;
        const double i = static_cast<double>(partial * mid);
        if (i / (area_sum - i) <= interval.max_iou) lo = mid; else hi = mid - 1;
      }
      const int64_t last = lo;
      for (int64_t o = first; o <= last; ++o) count += static_cast<int64_t>(groups[static_cast<size_t>(o)].size());
      return count;
    }
    int64_t count = 0;
    for (size_t o = 0; o < groups.size(); ++o)
      if (!groups[o].empty())
        count += static_cast<int64_t>(groups[o].size()) * completions(axis + 1, partial * static_cast<int64_t>(o));
    return count;
  }
};

int64_t overlap_1d(int64_t a_start, int64_t a_size, int64_t b_start, int64_t b_size) {
  return std::max<int64_t>(0, std::min(a_start + a_size, b_start + b_size) - std::max(a_start, b_start));
}

void check_shapes(const std::vector<int64_t>& image, const std::vector<int64_t>& size1,
                  const std::vector<int64_t>& size2, IouInterval interval) {
  check(image.size() == 2 || image.size() == 3, "IoU crop pairs: images need 2 or 3 spatial axes, got {}", image.size());
  check(size1.size() == image.size() && size2.size() == image.size(),
        "IoU crop pairs: crop sizes need one value per spatial axis ({})", image.size());
  for (size_t d = 0; d < image.size(); ++d)
    check(size1[d] >= 1 && size2[d] >= 1 && size1[d] <= image[d] && size2[d] <= image[d],
          "IoU crop pairs: crops of {} and {} voxels do not fit an image axis of {} (axis {}); lower crop_size or raise "
          "data_dim", size1[d], size2[d], image[d], d);
  check(interval.min_iou >= 0 && interval.max_iou <= 1 && interval.min_iou <= interval.max_iou,
        "IoU crop pairs: need 0 <= min_iou <= max_iou <= 1, got [{}, {}]", interval.min_iou, interval.max_iou);
}

}  // namespace

double box_iou(const CropBox& a, const CropBox& b) {
  int64_t intersection = 1;
  for (size_t d = 0; d < a.start.size(); ++d) {
    const int64_t o = overlap_1d(a.start[d], a.size[d], b.start[d], b.size[d]);
    if (o <= 0) return 0.0;
    intersection *= o;
  }
  const double i = static_cast<double>(intersection);
  return i / (static_cast<double>(product(a.size)) + static_cast<double>(product(b.size)) - i);
}

CropPair sample_iou_pair(const std::vector<int64_t>& image, const std::vector<int64_t>& size1,
                         const std::vector<int64_t>& size2, IouInterval interval, Rng& rng) {
  check_shapes(image, size1, size2, interval);
  const size_t dims = image.size();
  Admissible a;
  a.interval = interval;
  a.area_sum = static_cast<double>(product(size1)) + static_cast<double>(product(size2));
  // Crop 1 positions that admit no crop 2 are redrawn; after many failures, every position is checked once to tell
  // a rare-but-possible interval from an impossible one.
  auto prepare = [&](const std::vector<int64_t>& start1) {
    a.starts_by_overlap.assign(dims, {});
    for (size_t d = 0; d < dims; ++d) {
      auto& groups = a.starts_by_overlap[d];
      groups.assign(static_cast<size_t>(std::min(size1[d], size2[d]) + 1), {});
      for (int64_t t = 0; t + size2[d] <= image[d]; ++t)
        groups[static_cast<size_t>(overlap_1d(start1[d], size1[d], t, size2[d]))].push_back(t);
    }
    return a.completions(0, 1);
  };
  CropPair pair;
  pair.first.size = size1;
  pair.second.size = size2;
  pair.first.start.assign(dims, 0);
  int64_t total = 0;
  for (int attempt = 0; attempt < 64 && total == 0; ++attempt) {
    for (size_t d = 0; d < dims; ++d) pair.first.start[d] = rng.uniform_int(0, image[d] - size1[d]);
    total = prepare(pair.first.start);
  }
  if (total == 0) {  // exhaustive: is there any admissible crop-1 position at all?
    std::vector<int64_t> start(dims, 0);
    std::vector<std::vector<int64_t>> admissible_starts;
    while (true) {
      if (prepare(start) > 0) admissible_starts.push_back(start);
      size_t d = 0;
      while (d < dims && ++start[d] > image[d] - size1[d]) start[d++] = 0;
      if (d == dims) break;
    }
    check(!admissible_starts.empty(), "IoU crop pairs: no two crops of {} and {} voxels in an image of {} have an IoU "
          "in [{}, {}]; widen the interval or change crop_size / data_dim", fmt::join(size1, "x"), fmt::join(size2, "x"),
          fmt::join(image, "x"), interval.min_iou, interval.max_iou);
    pair.first.start = admissible_starts[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(admissible_starts.size()) - 1))];
    total = prepare(pair.first.start);
  }
  // Draw crop 2 axis by axis, each overlap value weighted by its number of admissible completions.
  pair.second.start.assign(dims, 0);
  int64_t partial = 1;
  for (size_t d = 0; d < dims; ++d) {
    const auto& groups = a.starts_by_overlap[d];
    std::vector<int64_t> weights(groups.size(), 0);
    int64_t sum = 0;
    for (size_t o = 0; o < groups.size(); ++o) {
      if (groups[o].empty()) continue;
      const int64_t rest = d + 1 == dims ? (a.admits(partial * static_cast<int64_t>(o)) ? 1 : 0)
                                         : a.completions(d + 1, partial * static_cast<int64_t>(o));
      weights[o] = static_cast<int64_t>(groups[o].size()) * rest;
      sum += weights[o];
    }
    check(sum > 0, "IoU crop pairs: internal error, no admissible overlap on axis {}", d);
    int64_t pick = rng.uniform_int(0, sum - 1);
    size_t o = 0;
    while (pick >= weights[o]) pick -= weights[o++];
    const auto& starts = groups[o];
    pair.second.start[d] = starts[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(starts.size()) - 1))];
    partial *= static_cast<int64_t>(o);
  }
  pair.iou = box_iou(pair.first, pair.second);
  return pair;
}

CropPair sample_iou_pair_rejection(const std::vector<int64_t>& image, const std::vector<int64_t>& size,
                                   IouInterval interval, Rng& rng, int draws_per_first, int total_draws) {
  check_shapes(image, size, size, interval);
  check(draws_per_first >= 1 && total_draws >= draws_per_first, "IoU crop pairs: bad retry counts {} / {}",
        draws_per_first, total_draws);
  const size_t dims = image.size();
  CropPair pair;
  pair.first.size = pair.second.size = size;
  pair.first.start.assign(dims, 0);
  pair.second.start.assign(dims, 0);
  int retries = 0;
  while (true) {
    for (size_t d = 0; d < dims; ++d) pair.first.start[d] = rng.uniform_int(0, image[d] - size[d]);
    for (int q = 0; q < draws_per_first; ++q) {
      for (size_t d = 0; d < dims; ++d) {
        int64_t lo = 0, hi = image[d] - size[d];
        if (interval.min_iou > 0) {  // only crops that can overlap crop 1
          lo = std::max<int64_t>(pair.first.start[d] - size[d], 0);
          hi = std::min<int64_t>(pair.first.start[d] + size[d], image[d] - size[d]);
        }
        pair.second.start[d] = rng.uniform_int(lo, hi);
      }
      pair.iou = box_iou(pair.first, pair.second);
      if (pair.iou >= interval.min_iou && pair.iou <= interval.max_iou) return pair;
    }
    retries += draws_per_first;
    if (retries >= total_draws) {
      pair.fell_back = true;
      return pair;
    }
  }
}

}  // namespace medssl::pretext
