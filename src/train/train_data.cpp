#include "train/train_data.h"

#include <algorithm>
#include <atomic>
#include <filesystem>

#include "core/error.h"
#include "core/logger.h"
#include "core/threads.h"
#include "layerroute/rng.h"
#include "train/train_config.h"

namespace lr {

namespace {
constexpr size_t kMaxErrors = 5;
}

Json DataReport::to_json() const {
  Json j;
  j["spec"] = spec;
  j["path"] = load.path;
  j["rows"] = load.rows;
  j["loaded"] = load.loaded;
  j["malformed"] = load.malformed;
  j["repaired"] = load.repaired;
  j["errors"] = load.errors;
  j["notes"] = load.notes;
  j["render_errors"] = render_errors;
  j["render_error_examples"] = errors;
  j["no_targets"] = no_targets;
  j["tokenized"] = tokenized;
  j["truncated"] = truncated;
  j["tool_call"] = tool_call;
  j["planning"] = planning;
  j["tokens"] = tokens;
  return j;
}

Json TrainData::to_json() const {
  Json j;
  j["train_samples"] = train.size();
  j["val_samples"] = val.size();
  Json r = Json::array();
  for (const DataReport& d : reports) r.push_back(d.to_json());
  j["files"] = r;
  return j;
}

std::vector<DataSpec> check_data_specs(const std::vector<std::string>& specs) {
  std::vector<DataSpec> out;
  for (const std::string& s : specs) {
    DataSpec d = DataSpec::parse(s);
    LR_CHECK(std::filesystem::is_regular_file(d.path), "--data ", s, ": ", d.path,
             ": no such file");
    out.push_back(std::move(d));
  }
  return out;
}

TrainData prepare_data(const TrainConfig& cfg, const Tokenizer& tok, const ChatTemplate& tmpl) {
  TrainData out;
  std::vector<TokenizedSample> all;
  for (const DataSpec& spec : check_data_specs(cfg.data)) {
    DataReport rep;
    rep.spec = std::string(data_format_name(spec.format)) + ":" + spec.path;
    const std::vector<Sample> samples = load_dataset(spec, cfg.max_samples_per_dataset, &rep.load);
    std::vector<TokenizedSample> tok_s(samples.size());
    std::vector<std::string> errs(samples.size());
    // Samples are independent and the tokenizer is thread-safe; results land by index, so
    // the outcome does not depend on scheduling.
    // Samples in batches of 8 handed out in turn (their lengths vary a lot), on our pool.
    std::atomic<size_t> next{0};
    parallel(
        [&] {
          for (size_t b; (b = next.fetch_add(8)) < samples.size();)
            for (size_t i = b; i < std::min(b + 8, samples.size()); ++i) {
              try {
                tok_s[i] = tokenize_sample(samples[i], tok, tmpl, cfg.loss_on, 0);
              } catch (const std::exception& e) {
                errs[i] = samples[i].origin + ": " + e.what();
              }
            }
        },
        /*bulk=*/true);
    for (size_t i = 0; i < samples.size(); ++i) {
      if (!errs[i].empty()) {
        ++rep.render_errors;
        if (rep.errors.size() < kMaxErrors) rep.errors.push_back(errs[i]);
        continue;
      }
      TokenizedSample& t = tok_s[i];
      if (t.ids.size() > size_t(cfg.max_seq_len)) {
        ++rep.truncated;
        t.ids.resize(size_t(cfg.max_seq_len));
        t.loss_mask.resize(size_t(cfg.max_seq_len));
      }
      bool any = false;
      for (uint8_t m : t.loss_mask) any |= m != 0;
      if (!any) {
        ++rep.no_targets;
        continue;
      }
      ++rep.tokenized;
      rep.tokens += t.ids.size();
      ++(t.label == StepLabel::ToolCall ? rep.tool_call : rep.planning);
      all.push_back(std::move(t));
    }
    log_info("data ", rep.spec, ": ", rep.load.loaded, " samples (", rep.load.malformed,
             " malformed rows, ", rep.render_errors, " not renderable, ", rep.truncated,
             " truncated to ", cfg.max_seq_len, " tokens)");
    out.reports.push_back(std::move(rep));
  }
  LR_CHECK(!all.empty(), "no usable training sample in the --data files");
  split_train_val(std::move(all), cfg.val_fraction, cfg.seed, &out.train, &out.val);
  LR_CHECK(!out.train.empty(), "the training split is empty (lower --val-fraction)");
  return out;
}

std::vector<uint32_t> epoch_order(size_t n, uint64_t seed, int64_t epoch) {
  std::vector<uint32_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = uint32_t(i);
  const uint64_t key = mix_key(mix_key(seed, 0x0EB0C4ull), uint64_t(epoch));
  for (size_t i = n; i > 1; --i)
    std::swap(order[i - 1], order[splitmix64(key ^ (i * 0xD1B54A32D192ED03ull)) % i]);
  return order;
}

}  // namespace lr
