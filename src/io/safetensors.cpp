#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json.h"

namespace lr {

namespace {

// Anything larger is not a real header and would only make us parse garbage for long.
constexpr uint64_t kMaxHeader = 100ull << 20;

// Names come from untrusted files; keep error messages on one line.
std::string printable(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

bool file_exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Non-negative JSON integer as uint64, or false (floats, negatives, strings...).
bool as_u64(const Json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    *out = uint64_t(v.get<int64_t>());
    return true;
  }
  return false;
}

// numel * elem_size, or false on overflow; shape dims are already known non-negative.
bool byte_size(const std::vector<int64_t>& shape, size_t elem, size_t* out) {
  size_t n = elem;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(n, size_t(d), &n)) return false;
  *out = n;
  return true;
}

TensorInfo parse_entry(const std::string& path, const std::string& name, const Json& e) {
  const std::string at = path + ": tensor " + printable(name);
  LR_CHECK(e.is_object(), at, ": header entry is not an object");
  TensorInfo t;
  t.name = name;
  auto dt = e.find("dtype");
  LR_CHECK(dt != e.end() && dt->is_string(), at, ": missing or non-string dtype");
  const auto& ds = dt->get_ref<const std::string&>();
  LR_CHECK(parse_dtype(ds, &t.dtype), at, ": dtype ", printable(ds),
           " is unsupported (supported: F32, BF16, F16)");
  auto sh = e.find("shape");
  LR_CHECK(sh != e.end() && sh->is_array(), at, ": missing or non-array shape");
  for (const Json& d : *sh) {
    uint64_t v;
    LR_CHECK(as_u64(d, &v) && v <= uint64_t(std::numeric_limits<int64_t>::max()), at,
             ": shape has a negative or non-integer dimension ", printable(d.dump()));
    t.shape.push_back(int64_t(v));
  }
  auto off = e.find("data_offsets");
  LR_CHECK(off != e.end() && off->is_array() && off->size() == 2, at,
           ": missing data_offsets [begin, end]");
  uint64_t b, en;
  LR_CHECK(as_u64((*off)[0], &b) && as_u64((*off)[1], &en), at,
           ": data_offsets must be non-negative integers");
  LR_CHECK(b <= en, at, ": data_offsets begin ", b, " > end ", en);
  t.begin = b;
  t.end = en;
  size_t nbytes;
  LR_CHECK(byte_size(t.shape, dtype_size(t.dtype), &nbytes), at, ": shape ", shape_str(t.shape),
           " overflows");
  LR_CHECK(nbytes == en - b, at, ": shape ", shape_str(t.shape), " x ", dtype_name(t.dtype),
           " needs ", nbytes, " bytes but data_offsets span ", en - b);
  return t;
}

}  // namespace

size_t TensorInfo::numel() const {
  size_t n = 1;
  for (int64_t d : shape) n *= size_t(d);
  return n;
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, ": cannot open: ", std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, ": not a readable regular file");
  }
  const size_t size = size_t(st.st_size);
  if (size < 8) {
    ::close(fd);
    fail(path, ": file is ", size, " bytes, shorter than the 8-byte header length");
  }
  void* m = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int err = errno;
  ::close(fd);
  if (m == MAP_FAILED) fail(path, ": cannot mmap: ", std::strerror(err));
  map_ = m;
  map_size_ = size;
  // From here on the destructor will not run if we throw, so unmap by hand on error.
  try {
    const auto* bytes = static_cast<const unsigned char*>(map_);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
    LR_CHECK(n <= size - 8 && n <= kMaxHeader, path, ": header length ", n,
             " is out of bounds (file is ", size, " bytes)");
    data_start_ = 8 + size_t(n);
    const size_t data_size = size - data_start_;
    check_json_depth(std::string_view(reinterpret_cast<const char*>(bytes + 8), size_t(n)),
                     path + ": header");
    Json h;
    try {
      h = Json::parse(bytes + 8, bytes + 8 + n);
    } catch (const Json::exception& e) {  // parse_error, or out_of_range for 1e400
      std::string what = printable(e.what());
      const size_t k = what.find("] ");
      if (what.rfind("[json.exception", 0) == 0 && k != std::string::npos) what.erase(0, k + 2);
      fail(path, ": header is not valid JSON: ", what);
    }
    LR_CHECK(h.is_object(), path, ": header is not a JSON object");
    for (auto it = h.begin(); it != h.end(); ++it) {
      if (it.key() == "__metadata__") {
        LR_CHECK(it->is_object() || it->is_null(), path, ": __metadata__ is not an object");
        if (it->is_null()) continue;
        for (auto m2 = it->begin(); m2 != it->end(); ++m2) {
          LR_CHECK(m2->is_string(), path, ": __metadata__ value ", printable(m2.key()),
                   " is not a string");
          metadata_[m2.key()] = m2->get<std::string>();
        }
        continue;
      }
      TensorInfo t = parse_entry(path, it.key(), *it);
      LR_CHECK(t.end <= data_size, path, ": tensor ", printable(t.name), ": data_offsets [",
               t.begin, ", ", t.end, "] lie outside the ", data_size, "-byte data section");
      tensors_.push_back(std::move(t));
    }
    // Overlaps: sort by start and compare neighbours (empty tensors occupy nothing).
    std::vector<const TensorInfo*> by_begin;
    for (const auto& t : tensors_)
      if (t.end > t.begin) by_begin.push_back(&t);
    std::sort(by_begin.begin(), by_begin.end(),
              [](auto* a, auto* b) { return a->begin < b->begin; });
    for (size_t i = 1; i < by_begin.size(); ++i)
      LR_CHECK(by_begin[i]->begin >= by_begin[i - 1]->end, path, ": tensor ",
               printable(by_begin[i]->name), " overlaps tensor ", printable(by_begin[i - 1]->name),
               " in the data section");
  } catch (...) {
    ::munmap(map_, map_size_);
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(map_, map_size_);
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

const void* SafetensorsFile::data(const TensorInfo& t) const {
  return static_cast<const char*>(map_) + data_start_ + t.begin;
}

Checkpoint Checkpoint::open_file(const std::string& path) {
  Checkpoint c;
  c.where_ = path;
  c.files_.push_back(std::make_shared<SafetensorsFile>(path));
  for (const auto& t : c.files_[0]->tensors()) c.index_[t.name] = {0, &t};
  return c;
}

Checkpoint Checkpoint::open_dir(const std::string& dir) {
  const std::string index_path = dir + "/model.safetensors.index.json";
  const std::string single = dir + "/model.safetensors";
  if (!file_exists(index_path)) {
    LR_CHECK(file_exists(single), dir,
             ": no model.safetensors or model.safetensors.index.json in this directory");
    Checkpoint c = open_file(single);
    c.where_ = dir;
    return c;
  }
  const Json idx = read_json_file(index_path);
  auto wm = idx.is_object() ? idx.find("weight_map") : idx.end();
  LR_CHECK(wm != idx.end() && wm->is_object(), index_path, ": missing weight_map object");
  Checkpoint c;
  c.where_ = dir;
  std::map<std::string, size_t> shard_of;  // shard file name -> index in files_
  for (auto it = wm->begin(); it != wm->end(); ++it) {
    LR_CHECK(it->is_string(), index_path, ": weight_map entry for ", printable(it.key()),
             " is not a string");
    const auto& shard = it->get_ref<const std::string&>();
    // Shards live next to the index; refuse paths that would escape the directory.
    LR_CHECK(!shard.empty() && shard.find('/') == std::string::npos && shard != "..", index_path,
             ": weight_map names an invalid shard file ", printable(shard));
    auto s = shard_of.find(shard);
    if (s == shard_of.end()) {
      const std::string shard_path = dir + "/" + shard;
      LR_CHECK(file_exists(shard_path), index_path, ": weight_map names shard ", printable(shard),
               " (for tensor ", printable(it.key()), ") which is missing");
      c.files_.push_back(std::make_shared<SafetensorsFile>(shard_path));
      s = shard_of.emplace(shard, c.files_.size() - 1).first;
    }
    const TensorInfo* t = c.files_[s->second]->find(it.key());
    LR_CHECK(t, index_path, ": tensor ", printable(it.key()), " is mapped to shard ",
             printable(shard), " but that shard does not contain it");
    c.index_[it.key()] = {s->second, t};
  }
  return c;
}

bool Checkpoint::has(std::string_view name) const {
  return index_.find(name) != index_.end();
}

TensorRef Checkpoint::get(std::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end()) fail(where_, ": tensor ", printable(name), " missing");
  const auto& f = *files_[it->second.first];
  return {it->second.second, f.data(*it->second.second), &f.path()};
}

std::vector<float> Checkpoint::load_f32(std::string_view name,
                                        const std::vector<int64_t>& shape) const {
  const TensorRef r = get(name);
  LR_CHECK(r.info->shape == shape, *r.file, ": tensor ", printable(name), " has shape ",
           shape_str(r.info->shape), ", expected ", shape_str(shape));
  const size_t n = r.info->numel();
  std::vector<float> out(n);
  const size_t es = dtype_size(r.info->dtype);
  // Offsets in third-party files need not be aligned; convert from an aligned copy then.
  if (reinterpret_cast<uintptr_t>(r.data) % es != 0) {
    std::vector<uint32_t> tmp((n * es + 3) / 4);
    std::memcpy(tmp.data(), r.data, n * es);
    convert_to_f32(r.info->dtype, tmp.data(), out.data(), n);
  } else if (n > 0) {
    convert_to_f32(r.info->dtype, r.data, out.data(), n);
  }
  return out;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : index_) out.push_back(k);
  return out;
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  // The Python library writes __metadata__ first, then tensors in order, compactly.
  Json h = Json::object();
  if (!metadata.empty()) {
    Json m = Json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    h["__metadata__"] = std::move(m);
  }
  std::set<std::string> seen;
  size_t off = 0;
  for (const auto& t : tensors) {
    LR_CHECK(!t.name.empty() && t.name != "__metadata__", path, ": invalid tensor name ",
             printable(t.name));
    LR_CHECK(seen.insert(t.name).second, path, ": tensor ", t.name, " written twice");
    for (int64_t d : t.shape)
      LR_CHECK(d >= 0, path, ": tensor ", t.name, " has negative dimension in ",
               shape_str(t.shape));
    size_t nb;
    LR_CHECK(byte_size(t.shape, dtype_size(t.dtype), &nb), path, ": tensor ", t.name,
             " is too large");
    LR_CHECK(nb == 0 || t.data, path, ": tensor ", t.name, " has no data");
    h[t.name] = {
        {"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {off, off + nb}}};
    off += nb;
  }
  std::string hs = h.dump();
  // Pad with spaces so the data section starts 8-byte aligned, as the Python library does.
  hs.append((8 - hs.size() % 8) % 8, ' ');
  unsigned char len[8];
  uint64_t n = hs.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
  AtomicFile f(path);
  f.write(len, 8);
  f.write(hs);
  for (const auto& t : tensors) {
    size_t nb = 0;
    byte_size(t.shape, dtype_size(t.dtype), &nb);
    f.write(t.data, nb);
  }
  f.commit();
}

}  // namespace lr
