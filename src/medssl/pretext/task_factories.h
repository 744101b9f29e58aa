#pragma once
// Factory functions of the registered pretext tasks (each defined in the task's own .cpp); listed in registry.cpp.
#include <memory>

#include "medssl/pretext/task.h"

namespace medssl::pretext {

std::unique_ptr<PretextTask> make_rotation_task(const TaskSpec& spec);
std::unique_ptr<PretextTask> make_rpl_task(const TaskSpec& spec);
std::unique_ptr<PretextTask> make_jigsaw_task(const TaskSpec& spec);
std::unique_ptr<PretextTask> make_exemplar_task(const TaskSpec& spec);
std::unique_ptr<PretextTask> make_cpc_task(const TaskSpec& spec);
std::unique_ptr<PretextTask> make_simsiam_task(const TaskSpec& spec);
std::unique_ptr<PretextTask> make_simclr_task(const TaskSpec& spec);
std::unique_ptr<PretextTask> make_dino_task(const TaskSpec& spec);
std::unique_ptr<PretextTask> make_vit_masked_task(const TaskSpec& spec);

}  // namespace medssl::pretext
