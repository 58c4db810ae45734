// `layerroute logits`: float32 logits of the last position (or all) as a .npy file.
#include <iostream>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "core/error.h"
#include "core/threads.h"
#include "io/npy.h"
#include "model/forward.h"

namespace lr::cli {

void register_logits(CLI::App& app) {
  auto* sub = app.add_subcommand("logits", "Write the model's logits for token ids as .npy");
  static ModelOptions m;
  static RouteOptionsCli route_opts;
  static std::string ids_arg, out;
  static bool all_positions = false;
  add_model_options(sub, &m);
  add_route_options(sub, &route_opts);
  sub->add_option("--ids", ids_arg, "Token ids, e.g. 1,2,3")->required();
  sub->add_option("--out", out, "Output .npy file (float32 [vocab] or [T, vocab])")->required();
  sub->add_flag("--all-positions", all_positions, "Every position's logits: [T, vocab]");
  registry().push_back(
      {sub, [] {
         set_num_threads(m.threads);
         const std::vector<int> ids = parse_ids(ids_arg);
         check_route_options(route_opts);
         const Model model = Model::load(m.model, parse_weights_dtype(m.weights_dtype, m.model));
         const int V = model.config.vocab;
         for (int id : ids)
           LR_CHECK(id < V, "--ids: token id ", id, " is outside the vocabulary [0, ", V, ")");
         const std::unique_ptr<RouteSetup> route = make_route_setup(route_opts, model, m.model);
         if (route) std::cerr << route->describe() << "\n";
         ModelSession session(model, route.get(), int(ids.size()));
         auto logits = session.prefill(ids, all_positions);
         if (all_positions)
           write_npy_f32(out, logits.data(), {int64_t(ids.size()), int64_t(V)});
         else
           write_npy_f32(out, logits.data(), {int64_t(V)});
         return 0;
       }});
}

}  // namespace lr::cli
