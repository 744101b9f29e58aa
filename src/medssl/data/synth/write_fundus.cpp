// write_fundus: the APTOS-2019-layout synthetic fundus data set.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <set>
#include <string>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/core/log.h"
#include "medssl/data/synth/fundus_phantom.h"
#include "medssl/data/synth/synth.h"
#include "medssl/io/image2d.h"

namespace medssl::synth {
namespace {

// APTOS 2019 training-set grade frequencies (0 no DR ... 4 proliferative DR).
constexpr std::array<double, 5> kGradeShare{0.49, 0.10, 0.27, 0.05, 0.09};

int draw_grade(Rng& rng) {
  double u = rng.uniform(), acc = 0;
  for (int g = 0; g < 4; ++g) {
    acc += kGradeShare[static_cast<size_t>(g)];
    if (u < acc) return g;
  }
  return 4;
}

}  // namespace

void write_fundus(const FundusOptions& o) {
  check(o.size >= 16 && o.size <= 4096, "synth fundus: size {} is out of range (16..4096)", o.size);
  check(o.images >= 1 && o.images <= 100000, "synth fundus: images {} is out of range (1..100000)", o.images);
  prepare_output_folder(o.out, "synth fundus");
  make_dirs(o.out + "/train_images");

  // The first five images take the five grades in a seeded order, so every grade is present in any set of five or
  // more images; later images follow the APTOS frequencies. Image k never depends on how many images are written.
  std::array<int, 5> first_grades{0, 1, 2, 3, 4};
  {
    Rng order = Rng::derive(o.seed, "fundus-grade-order");
    std::vector<int> v(first_grades.begin(), first_grades.end());
    order.shuffle(v);
    std::copy(v.begin(), v.end(), first_grades.begin());
  }
  std::string csv = "id_code,diagnosis\n";
  std::set<std::string> ids;
  std::array<int, 5> counts{};
  for (int k = 0; k < o.images; ++k) {
    Rng rng = Rng::derive(o.seed, "fundus", static_cast<uint64_t>(k));
    int grade = draw_grade(rng);
    if (k < 5) grade = first_grades[static_cast<size_t>(k)];
    std::string id;
    do id = fmt::format("{:012x}", rng.next_u64() & 0xffffffffffffULL);  // 12 hex digits like APTOS ids
    while (!ids.insert(id).second);
    Grid rgb = make_fundus_picture(rng, grade, o.size);
    io::ImageData image;
    image.shape = {rgb.height, rgb.width};
    image.channels = 3;
    image.disk_dtype = io::DType::uint8;
    image.data = std::move(rgb.values);  // Grid planes are channels: the channel-major layout ImageData wants
    io::write_image2d(o.out + "/train_images/" + id + ".png", image);
    csv += fmt::format("{},{}\n", id, grade);
    ++counts[static_cast<size_t>(grade)];
  }
  write_file_atomic(o.out + "/train.csv", csv);
  log::info("synth fundus: wrote {} images at size {} to {} (grades 0-4: {} {} {} {} {})", o.images, o.size, o.out,
            counts[0], counts[1], counts[2], counts[3], counts[4]);
}

}  // namespace medssl::synth
