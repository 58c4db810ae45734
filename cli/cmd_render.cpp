// `layerroute render`: JSONL conversations -> JSONL {"text"} with the model's chat template.
#include <iostream>

#include "cli/commands.h"
#include "cli/jsonl.h"
#include "text/chat_template.h"

namespace lr::cli {

void register_render(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "render",
      "Read JSONL {\"messages\": [...], \"tools\": [...]?, \"add_generation_prompt\": bool?} on "
      "stdin, write JSONL {\"text\": ...} rendered with the model's chat template");
  static std::string model;
  sub->add_option("--model", model, "Model directory (its tokenizer_config.json chat_template)")
      ->required();
  registry().push_back(
      {sub, [] {
         const ChatTemplate tmpl = ChatTemplate::from_model_dir(model);
         for_each_jsonl_line(std::cin, [&](const Json& j, size_t row) {
           const std::string where = "stdin:" + std::to_string(row);
           LR_CHECK(j.is_object() && j.contains("messages") && j["messages"].is_array(), where,
                    ": expected {\"messages\": [...]}");
           const Json tools = j.contains("tools") ? j["tools"] : Json();
           const bool agp = j.value("add_generation_prompt", false);
           Json out;
           try {
             out["text"] = tmpl.render(j["messages"], tools, agp);
           } catch (const Error& e) {
             fail(where, ": ", e.what());
           }
           std::cout << out.dump(-1, ' ', false, Json::error_handler_t::replace) << "\n";
         });
         return 0;
       }});
}

}  // namespace lr::cli
