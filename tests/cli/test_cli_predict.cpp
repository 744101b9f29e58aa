// End-to-end: `medssl finetune` with a resampling + foreground-crop + resize pipeline, then `medssl predict` on raw
// NIfTI files: the label maps have the inputs' shape, affine and voxel order (checked with nibabel), folders and
// nnU-Net channel naming work, a second run resumes, and bad inputs are named.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "testkit/testkit.h"

using namespace medssl;
using testkit::run_cli;
using testkit::shell_quote;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// A tiny model trained for one epoch on data preprocessed with every geometric step predict has to undo.
std::string finetuned_model(const testkit::TempDir& dir, std::string& dataset) {
  dataset = dir.file("ct");
  auto r = run_cli("synth ct3d --out " + shell_quote(dataset) + " --cases 5 --size 40 --seed 11");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const std::string model = dir.file("model");
  r = run_cli("finetune --pretrained none --fraction 100 --out " + shell_quote(model) + " --set data_dir=" +
              shell_quote(dataset) + " --set data_dim=24 --set enc_filters=4 --set num_layers=2 --set workers=1" +
              " --set epochs_random=1 --set batch_size=2 --set loss=dice --set hd95=false --threads 2" +
              " --set 'prepare={\"spacing\":[2.5,1.1,1.1],\"window\":[-300,300],\"crop_foreground\":0.05,\"size\":24}'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return model;
}

}  // namespace

TEST(CliPredict, LabelMapsKeepTheInputGeometryInFilesAndFolders) {
  if (!testkit::python_has("nibabel numpy")) GTEST_SKIP() << "needs /usr/bin/python3 with nibabel";
  testkit::TempDir dir;
  std::string ds;
  const std::string model = finetuned_model(dir, ds);
  const std::string input = ds + "/imagesTr/pancreas_002.nii.gz";
  // The same case stored LPS (x and y flipped, affine adjusted) and as an nnU-Net imagesTs folder.
  const std::string flipped = dir.file("flipped.nii.gz"), folder = dir.file("imagesTs");
  fs::create_directories(folder);
  auto py = testkit::run_python(
      "import nibabel as nib, numpy as np\n"
      "img = nib.load('" + input + "'); a = img.affine.copy(); data = np.asarray(img.dataobj)\n"
      "flip = np.diag([-1.0, -1.0, 1.0, 1.0]); flip[0, 3] = data.shape[0] - 1; flip[1, 3] = data.shape[1] - 1\n"
      "nib.save(nib.Nifti1Image(data[::-1, ::-1, :].copy(), a @ flip), '" + flipped + "')\n"
      "nib.save(img, '" + folder + "/case7_0000.nii.gz')\n");
  ASSERT_EQ(py.exit_code, 0) << py.output;

  const std::string seg = dir.file("out/seg.nii.gz"), seg_flipped = dir.file("seg_flipped.nii.gz");
  auto r = run_cli("predict --model " + shell_quote(model) + " --in " + shell_quote(input) + " --out " + shell_quote(seg));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("predict --model " + shell_quote(model) + " --in " + shell_quote(flipped) + " --out " +
              shell_quote(seg_flipped));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("predict --model " + shell_quote(model) + " --in " + shell_quote(folder) + " --out " +
              shell_quote(dir.file("segs")) + " --summary " + shell_quote(dir.file("summary.json")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(fs::exists(dir.file("segs/case7.nii.gz"))) << r.output;

  // nibabel: same shape and affine as each input, uint8 labels of the model's classes, and the LPS copy's map is the
  // RAS map flipped back (the loader reorients to RAS+ and predict restores the file's own voxel order).
  py = testkit::run_python(
      "import nibabel as nib, numpy as np\n"
      "pairs = [('" + input + "', '" + seg + "'), ('" + flipped + "', '" + seg_flipped + "'), ('" + input + "', '" +
      dir.file("segs/case7.nii.gz") + "')]\n"
      "for src, out in pairs:\n"
      "    a, b = nib.load(src), nib.load(out)\n"
      "    assert a.shape == b.shape, (src, a.shape, b.shape)\n"
      "    assert np.allclose(a.affine, b.affine, atol=1e-4), (src, a.affine, b.affine)\n"
      "    assert b.get_data_dtype() == np.uint8, b.get_data_dtype()\n"
      "    assert int(np.asarray(b.dataobj).max()) <= 2\n"
      "s = np.asarray(nib.load('" + seg + "').dataobj); f = np.asarray(nib.load('" + seg_flipped + "').dataobj)\n"
      "assert np.array_equal(s, f[::-1, ::-1, :]), 'orientation not restored'\n"
      "assert np.array_equal(s, np.asarray(nib.load('" + dir.file("segs/case7.nii.gz") + "').dataobj))\n"
      "print('ok')\n");
  EXPECT_EQ(py.exit_code, 0) << py.output;
  auto summary = json::parse(testkit::read_text(dir.file("summary.json")));
  ASSERT_EQ(summary["cases"].size(), 1u);
  EXPECT_EQ(summary["cases"][0]["voxels_per_class"].size(), 3u);

  // A second run over the folder skips the finished case (a killed batch resumes); --overwrite redoes it.
  r = run_cli("predict --model " + shell_quote(model) + " --in " + shell_quote(folder) + " --out " +
              shell_quote(dir.file("segs")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("skipped"), std::string::npos) << r.output;
}

TEST(CliPredict, BadInputsAreNamed) {
  testkit::TempDir dir;
  std::string ds;
  const std::string model = finetuned_model(dir, ds);
  auto r = run_cli("predict --model " + shell_quote(model) + " --in " + shell_quote(dir.file("nope.nii.gz")) +
                   " --out " + shell_quote(dir.file("o.nii.gz")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("nope.nii.gz"), std::string::npos) << r.output;
  r = run_cli("predict --model " + shell_quote(dir.file("no-model")) + " --in " + shell_quote(ds + "/imagesTr") +
              " --out " + shell_quote(dir.file("o")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("model.json"), std::string::npos) << r.output;
  // A corrupt NIfTI is named, and nothing is written for it.
  testkit::write_text(dir.file("corrupt.nii.gz"), "not a nifti file");
  r = run_cli("predict --model " + shell_quote(model) + " --in " + shell_quote(dir.file("corrupt.nii.gz")) + " --out " +
              shell_quote(dir.file("c.nii.gz")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("corrupt.nii.gz"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("c.nii.gz")));
}
