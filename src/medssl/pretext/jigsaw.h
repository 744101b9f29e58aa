#pragma once
// Jigsaw puzzles (Noroozi & Favaro; Taleb et al. `jigsaw`): the grid's patches are shuffled by one permutation of a
// fixed table and the network predicts which one.
//
// Geometry as rpl (patch_grid.h): patches_per_side p (default 3), patch_jitter j (default 0), patch side
// data_dim // p - j; p^2 (2D) or p^3 (3D) patches in raster order (first spatial axis slowest).
// Label r uniform over the table's rows; input slot k holds original patch perm[r][k] (permutations.h), so the input
// is (n, C, *patch) per sample. Training cuts a random crop inside each cell, validation the centred crop.
//
// Table (TaskSpec.params): permutations_file = a custom table in the text format (validated: rows are permutations
// of 0..n-1 with n = p^dims, no duplicates); otherwise the shipped table (2D: Noroozi's 100 x 9 max-Hamming set,
// 3D: the reference's 100 x 27 random set; both need p = 3). num_permutations = N keeps the first N rows (default all).
#include "medssl/pretext/permutations.h"
#include "medssl/pretext/task.h"

namespace medssl::pretext {

/// The permutation table the jigsaw task of `spec` uses; throws medssl::Error on a bad file or parameter.
PermutationTable jigsaw_permutations(const TaskSpec& spec);

}  // namespace medssl::pretext
