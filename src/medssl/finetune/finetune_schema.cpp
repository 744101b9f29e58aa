#include "medssl/finetune/finetune_schema.h"

#include "medssl/train/train_config.h"

namespace medssl::finetune {

using config::Type;
using json = nlohmann::json;

const config::Schema& finetune_schema() {
  static const config::Schema schema = [] {
    config::Schema s("finetune");
    s.required("data_dir", Type::string, "labelled data set (MSD, nnU-Net raw, APTOS, folder) or a prepare cache");
    s.optional("dataset_name", Type::string, "a name for the data set (informational, as in the reference)");
    s.key("task", Type::string, "auto", "segmentation | classification | auto (classification when the data has grades)");
    s.choices("task", {"auto", "segmentation", "classification"});
    s.key("data_dim", Type::integer, 128, "side of the cubic (3D) / square (2D) images (the prepare size)");
    s.range("data_dim", 8, 4096);
    s.optional("data_is_3D", Type::boolean, "3D volumes (true) or 2D (pictures, or slices of volumes); default: the data's own");
    s.optional("number_channels", Type::integer, "image channels (checked against the data)");
    s.key("slice_axis", Type::integer, 1, "2D on volumes: axis of (C, D, H, W) cut into slices (1 = D, the reference)");
    s.range("slice_axis", 1, 3);
    // Protocol (reference keys).
    s.key("epochs_initialized", Type::integer, 5, "epochs of the 'initialized' mode (pretrained encoder, frozen warm-up, then all trainable)");
    s.range("epochs_initialized", 0, std::nullopt);
    s.key("epochs_frozen", Type::integer, 5, "epochs of the 'frozen' mode (pretrained encoder frozen throughout)");
    s.range("epochs_frozen", 0, std::nullopt);
    s.key("epochs_random", Type::integer, 5, "epochs of the 'random' mode (random initialisation, the baseline)");
    s.range("epochs_random", 0, std::nullopt);
    s.key("encoder_lr_scale", Type::number, 1.0,
          "initialized mode: the pretrained encoder's learning rate as a multiple of lr (the decoder/head uses lr)");
    s.range("encoder_lr_scale", 0.0, 100.0);
    s.key("epochs_warmup", Type::integer, 2, "initialized mode: epochs with the encoder frozen before it is unfrozen");
    s.range("epochs_warmup", 0, std::nullopt);
    s.key("exp_splits", Type::number_list, json::array({100, 10, 1}), "label fractions in percent: `medssl study` runs each when its own `fractions` is unset (one `medssl finetune` runs --fraction)");
    s.key("repetitions", Type::integer, 2, "repetitions per fraction (different training subsets and seeds): `medssl study` uses it when its own `repetitions` is unset");
    s.range("exp_splits", 1e-9, 100);
    s.range("repetitions", 1, std::nullopt);
    s.key("loss", Type::string, "weighted_dice_loss",
          "dice | dice_ce | weighted_dice_loss (the reference's) | ce | binary_crossentropy (multilabel grades)");
    s.choices("loss", {"dice", "dice_ce", "weighted_dice_loss", "weighted_dice_coefficient_loss", "ce",
                       "categorical_crossentropy", "binary_crossentropy"});
    s.key("scores", Type::string_list, json::array(), "informational (medssl always reports all its scores)");
    s.optional("num_classes", Type::integer, "segmentation classes incl. background / grades; default: the data set's");
    s.range("num_classes", 2, 1024);
    s.optional("prediction_architecture", Type::string, "unet_3d_upconv | unet_2d_upconv | simple_multiclass | swinunetr | unetr; default by task and dims");
    s.choices("prediction_architecture", {"unet_3d_upconv", "unet_2d_upconv", "simple_multiclass", "swinunetr", "unetr"});
    s.optional("feature_size", Type::integer, "swinunetr / unetr decoder feature size F (default 48 / 16, or the pretrained Swin's)");
    s.range("feature_size", 1, 1024);
    s.optional("drop_path_rate", Type::number, "swinunetr: stochastic depth of the Swin blocks (default 0, the reference's finetuning)");
    s.range("drop_path_rate", 0.0, 1.0);
    s.key("multilabel", Type::boolean, false, "classification: K sigmoid outputs with the reference's ordinal encoding");
    s.key("pretrained_checkpoint", Type::string, "best", "which encoder of the pretrain run: best (encoder_best.pt, the reference's choice) | last (encoder.pt)");
    s.choices("pretrained_checkpoint", {"best", "last"});
    // Data protocol.
    s.key("test_split", Type::number, 0.2, "fraction of the labelled cases held out for testing (unless the data has a labelled test split)");
    s.range("test_split", 0.0, 0.9);
    s.key("val_split", Type::number, 0.1, "fraction of the labelled cases used for validation (at least 1 case)");
    s.range("val_split", 0.0, 0.9);
    s.key("split_seed", Type::integer, 0, "0: choose test/val cases in data-set order; else shuffle the cases with this seed first");
    s.range("split_seed", 0, std::nullopt);
    s.key("do_cross_val", Type::boolean, false, "k-fold alternative: repetition r tests on fold r mod `folds` (strided folds)");
    s.key("folds", Type::integer, 5, "folds of do_cross_val").range("folds", 2, 100);
    // Model (used with --pretrained none; a pretrain run's manifest provides them otherwise).
    s.optional("encoder_architecture", Type::string, "2D classification: DenseNet121 / densenet121; default: the UNet encoder");
    // "auto", not null, is the default: null is a value here (the reference's configs write null for "none").
    s.key("pooling", Type::any, "auto",
          "final encoder pooling: max | avg | none/null (the reference's null) | global_max | global_avg (UNet encoder, "
          "over the whole map); auto: the pretrained encoder's, else "
          "max for the UNet encoder and avg for DenseNet-121");
    s.optional("enc_filters", Type::integer, "UNet encoder base filters (default 16, or the pretrained encoder's)");
    s.range("enc_filters", 1, 1024);
    s.optional("num_layers", Type::integer, "UNet depth (default 4, or the pretrained encoder's)");
    s.range("num_layers", 1, 8);
    s.optional("encoder_variant", Type::string, "taleb | modern | modern_gn (default taleb, or the pretrained encoder's)");
    s.choices("encoder_variant", {"taleb", "modern", "modern_gn"});
    s.optional("dropout", Type::number, "UNet dropout (default 0.5, or the pretrained encoder's)");
    s.range("dropout", 0.0, 1.0);
    // Batches, evaluation.
    s.key("patch_size", Type::integer, 0, "segmentation training crop side (0 = whole image); inference slides a window of this size");
    s.range("patch_size", 0, 4096);
    s.key("foreground_oversample", Type::number, 0.0,
          "segmentation with patch_size: share of every batch cropped around a foreground voxel (nnU-Net's 0.33)");
    s.range("foreground_oversample", 0.0, 1.0);
    s.key("augment", Type::boolean, false, "random flips of training images (and their labels) along every spatial axis");
    s.key("sw_overlap", Type::number, 0.25, "sliding-window overlap at inference").range("sw_overlap", 0.0, 0.95);
    s.key("hd95", Type::boolean, true, "also report the 95 % Hausdorff distance per case (segmentation test metrics)");
    s.key("prepare", Type::object, json::object(), "preprocessing keys for a raw data set (medssl prepare); size defaults to data_dim");
    s.optional("cache_dir", Type::string, "where a raw data set is prepared (default OUT/cache)");
    s.ignored("model_checkpoint", "use --pretrained RUN_DIR");
    s.ignored("data_dir_train", "medssl splits data_dir itself (test_split / val_split)");
    s.ignored("data_dir_test", "medssl uses the data set's labelled test split, or test_split of data_dir");
    s.ignored("metrics", "medssl reports all its metrics");
    s.ignored("csv_file", "APTOS grades are read from the data set's train.csv");
    s.ignored("train_data_generator_args", "use augment");
    s.ignored("val_data_generator_args", "validation is never augmented");
    s.ignored("test_data_generator_args", "testing is never augmented");
    s.ignored("algorithm", "the pretext task is read from the pretrain run");
    s.ignored("label_stem", "labels are found by the data set reader");
    s.ignored("sample_classes_uniform", "unused by the reference");
    s.ignored("embed_dim", "unused by the reference");
    s.ignored("code_size", "pretext keys do not matter for finetuning");
    s.ignored("top_architecture", "pretext heads are discarded for finetuning");
    s.ignored("patches_per_side", "pretext keys do not matter for finetuning");
    s.ignored("train_val_split", "finetuning uses val_split");
    s.include(train::training_schema());
    return s;
  }();
  return schema;
}

}  // namespace medssl::finetune
