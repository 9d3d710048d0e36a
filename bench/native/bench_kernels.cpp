// lmkit CPU kernel benchmark: every kernel family the language models spend their time in, on
// the shapes of the models in bench/train-cpu.mjs, built from the same native/cpu sources as the
// addon. GEMM cases also run the system OpenBLAS (cblas_sgemm) in the same process when the
// executable was built with it (LMKIT_BENCH_OPENBLAS).
//
//   matmul      C = op(A) op(B) (+ C): squares and the LM output-layer shapes     GFLOP/s
//   embedding   forward gather / backward scatter-add                              GB/s
//   lstm        fused cell pointwise forward / backward (gates from one GEMM)      GB/s
//   attention   causal multi-head attention forward / backward                    GFLOP/s
//   xent        fused softmax-cross-entropy, loss + gradient, mean                 GB/s
//   optim       AdamW step (decoupled weight decay)                                GB/s
//
// GFLOP/s counts the nominal flops (2 per multiply-add; attention counts the full T x T score
// matrices). GB/s counts the bytes each kernel must read and write at least once. The peak of the
// machine (AVX2/FMA: threads x 2 FMA units x 8 floats x 2 flops x GHz) is printed for GFLOP/s
// cases; the clock comes from /proc/cpuinfo (see peak_clock()).
//
// `lmkit bench kernels` (lib/cli/bench.ts) runs this executable with --json, and gives the same
// case list (--list) to the PyTorch and TensorFlow.js peers (bench/reference/*_kernels.*).
//
// Usage: bench_kernels [--threads 1,2] [--reps 7] [--min-ms 40] [--cooldown-ms 100] [--quick]
//                      [--cases a,b,...] [--json FILE] [--list [--gpu]]
//   --quick   the quick subset of cases (marked below), reps 3, min-ms 10, cooldown 20 ms
//             (explicit --reps/--min-ms/--cooldown-ms given after --quick still apply)
//   --list    print the selected cases as JSON ({"cases": [...]}) and exit
//   --gpu     with --list: also the GPU-sized cases (`gpu: true`), which bench/scripts/kernels-gpu.mjs
//             times on the CUDA addon; this executable never times them
#ifdef LMKIT_BENCH_OPENBLAS
#include <cblas.h>
extern "C" {
void openblas_set_num_threads(int num_threads);
char* openblas_get_config(void);
}
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cpu/attention.h"
#include "cpu/common.h"
#include "cpu/crossentropy.h"
#include "cpu/embedding.h"
#include "cpu/gemm.h"
#include "cpu/lstm.h"
#include "cpu/optim.h"
#include "cpu/threadpool.h"

namespace {

using Dims = std::vector<std::pair<std::string, int64_t>>;

struct Case {
  std::string name, family, kind, desc;
  Dims dims;
  bool quick;
  // GPU-sized: listed with --list --gpu for bench/scripts/kernels-gpu.mjs, never timed here.
  bool gpu = false;
  int64_t get(const char* k) const {
    for (const auto& kv : dims)
      if (kv.first == k) return kv.second;
    std::fprintf(stderr, "bench_kernels: case %s has no dimension %s\n", name.c_str(), k);
    std::exit(2);
  }
  // Nominal flops (0 when the case is rated in GB/s) and minimum bytes moved.
  double flops() const {
    if (kind == "matmul") return 2.0 * get("M") * get("N") * get("K");
    const double B = get_or("B"), T = get_or("T"), C = get_or("C");
    if (kind == "attention_forward") return 4.0 * B * T * T * C;
    if (kind == "attention_backward") return 8.0 * B * T * T * C;
    return 0.0;
  }
  double bytes() const {
    if (kind == "matmul") {
      const double M = get("M"), N = get("N"), K = get("K");
      return 4.0 * (M * K + K * N + M * N * (get("beta") ? 2 : 1));
    }
    if (kind == "embedding_forward") return 4.0 * (get("N") + 2.0 * get("N") * get("C"));
    if (kind == "embedding_backward") return 4.0 * (get("N") + 3.0 * get("N") * get("C"));
    if (kind == "lstm_cell_forward") return 4.0 * 11.0 * get("B") * get("H");
    if (kind == "lstm_cell_backward") return 4.0 * 13.0 * get("B") * get("H");
    if (kind == "attention_forward" || kind == "attention_backward") {
      const double B = get("B"), T = get("T"), C = get("C"), NH = get("NH");
      return 4.0 * (4.0 * B * T * C + B * NH * T * T) * (kind == "attention_backward" ? 2 : 1);
    }
    if (kind == "crossentropy") return 4.0 * (2.0 * get("N") * get("V") + 2.0 * get("N"));
    if (kind == "adamw") return 4.0 * 7.0 * get("n");
    return 0.0;
  }
  double get_or(const char* k) const {
    for (const auto& kv : dims)
      if (kv.first == k) return static_cast<double>(kv.second);
    return 0.0;
  }
  const char* metric() const { return flops() > 0 ? "GFLOP/s" : "GB/s"; }
};

// The case table. Shapes: MLP1 (Bengio 2003, B=256, |V|=14114, direct input 4x60=240),
// LSTM 2x256 (B=32, BPTT 35 -> 1120 tokens), GPT 2L/4H/128 (B=16, T=64) of bench/train-cpu.mjs.
std::vector<Case> all_cases() {
  const int64_t V = 14114, GPT2_V = 50257;
  return {
      {"mm_sq256", "matmul", "matmul", "square 256 (NN)", {{"M", 256}, {"N", 256}, {"K", 256}, {"transA", 0}, {"transB", 0}, {"beta", 0}}, true},
      {"mm_sq1024", "matmul", "matmul", "square 1024 (NN)", {{"M", 1024}, {"N", 1024}, {"K", 1024}, {"transA", 0}, {"transB", 0}, {"beta", 0}}, false},
      {"mm_mlp_out", "matmul", "matmul", "MLP1 output layer (B=256 x d=240) @ (240 x V)", {{"M", 256}, {"N", V}, {"K", 240}, {"transA", 0}, {"transB", 0}, {"beta", 0}}, true},
      {"mm_mlp_dW", "matmul", "matmul", "MLP1 output dW += X^T dY (240 x 256) @ (256 x V)", {{"M", 240}, {"N", V}, {"K", 256}, {"transA", 1}, {"transB", 0}, {"beta", 1}}, false},
      {"mm_mlp_dX", "matmul", "matmul", "MLP1 output dX = dY W^T (256 x V) @ (V x 240)", {{"M", 256}, {"N", 240}, {"K", V}, {"transA", 0}, {"transB", 1}, {"beta", 0}}, false},
      {"mm_gpt_out", "matmul", "matmul", "GPT logits (B*T=1024 x 128) @ (128 x V)", {{"M", 1024}, {"N", V}, {"K", 128}, {"transA", 0}, {"transB", 0}, {"beta", 0}}, false},
      {"emb_fwd", "embedding", "embedding_forward", "LSTM input lookup: 1120 ids (32x35) into (V x 256)", {{"N", 1120}, {"V", V}, {"C", 256}}, true},
      {"emb_bwd", "embedding", "embedding_backward", "LSTM input scatter-add: 1120 rows of 256 into (V x 256)", {{"N", 1120}, {"V", V}, {"C", 256}}, true},
      {"lstm_fwd", "lstm", "lstm_cell_forward", "LSTM cell pointwise forward, B=32, H=256", {{"B", 32}, {"H", 256}}, true},
      {"lstm_bwd", "lstm", "lstm_cell_backward", "LSTM cell pointwise backward, B=32, H=256", {{"B", 32}, {"H", 256}}, true},
      {"attn_fwd", "attention", "attention_forward", "GPT causal attention forward, B=16, T=64, C=128, 4 heads", {{"B", 16}, {"T", 64}, {"C", 128}, {"NH", 4}}, true},
      {"attn_bwd", "attention", "attention_backward", "GPT causal attention backward, B=16, T=64, C=128, 4 heads", {{"B", 16}, {"T", 64}, {"C", 128}, {"NH", 4}}, true},
      {"xent", "crossentropy", "crossentropy", "fused softmax-cross-entropy loss + gradient (mean), 256 x V", {{"N", 256}, {"V", V}}, true},
      {"adamw", "optim", "adamw", "AdamW step over the MLP1 output matrix (240 x V = 3.39M floats)", {{"n", 240 * V}}, true},
      // Sizes where a GPU has enough work (GPT-2 small: B*T = 8192 tokens, C = 768, 12 heads,
      // V = 50257): bench/scripts/kernels-gpu.mjs only.
      {"mm_sq4096", "matmul", "matmul", "square 4096 (NN)", {{"M", 4096}, {"N", 4096}, {"K", 4096}, {"transA", 0}, {"transB", 0}, {"beta", 0}}, true, true},
      {"mm_sq8192", "matmul", "matmul", "square 8192 (NN)", {{"M", 8192}, {"N", 8192}, {"K", 8192}, {"transA", 0}, {"transB", 0}, {"beta", 0}}, false, true},
      {"mm_gpt2_qkv", "matmul", "matmul", "GPT-2 small QKV projection (8192 x 768) @ (768 x 2304)", {{"M", 8192}, {"N", 2304}, {"K", 768}, {"transA", 0}, {"transB", 0}, {"beta", 0}}, false, true},
      {"mm_gpt2_out", "matmul", "matmul", "GPT-2 small logits (8192 x 768) @ (768 x 50257)", {{"M", 8192}, {"N", GPT2_V}, {"K", 768}, {"transA", 0}, {"transB", 0}, {"beta", 0}}, true, true},
      {"emb_fwd_gpt2", "embedding", "embedding_forward", "GPT-2 small token lookup: 8192 ids into (50257 x 768)", {{"N", 8192}, {"V", GPT2_V}, {"C", 768}}, false, true},
      {"emb_bwd_gpt2", "embedding", "embedding_backward", "GPT-2 small scatter-add: 8192 rows of 768 into (50257 x 768)", {{"N", 8192}, {"V", GPT2_V}, {"C", 768}}, false, true},
      {"lstm_fwd_big", "lstm", "lstm_cell_forward", "LSTM cell pointwise forward, B=256, H=1024", {{"B", 256}, {"H", 1024}}, false, true},
      {"lstm_bwd_big", "lstm", "lstm_cell_backward", "LSTM cell pointwise backward, B=256, H=1024", {{"B", 256}, {"H", 1024}}, false, true},
      {"attn_fwd_gpt2", "attention", "attention_forward", "GPT-2 small causal attention forward, B=8, T=1024, C=768, 12 heads", {{"B", 8}, {"T", 1024}, {"C", 768}, {"NH", 12}}, true, true},
      {"attn_bwd_gpt2", "attention", "attention_backward", "GPT-2 small causal attention backward, B=8, T=1024, C=768, 12 heads", {{"B", 8}, {"T", 1024}, {"C", 768}, {"NH", 12}}, false, true},
      {"xent_gpt2", "crossentropy", "crossentropy", "fused softmax-cross-entropy loss + gradient (mean), 8192 x 50257", {{"N", 8192}, {"V", GPT2_V}}, true, true},
      {"adamw_124m", "optim", "adamw", "AdamW step over 124M floats (GPT-2 small)", {{"n", 124000000}}, true, true},
  };
}

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

std::string cpuinfo_field(const char* key) {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(key, 0) == 0) {
      const size_t p = line.find(':');
      if (p != std::string::npos && p + 1 < line.size()) {
        const size_t q = line.find_first_not_of(" \t", p + 1);
        return q == std::string::npos ? "" : line.substr(q);
      }
    }
  }
  return "";
}

// The clock for the peak: the max frequency from sysfs cpufreq when the kernel exposes it
// (lscpu's "CPU max MHz" comes from there), else "cpu MHz" of /proc/cpuinfo (on VMs the
// nominal clock; boost can exceed it, so fractions above 100% are possible).
std::pair<double, std::string> peak_clock() {
  std::ifstream f("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq");
  double khz = 0;
  if (f >> khz && khz > 0) return {khz / 1000.0, "/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq (CPU max MHz)"};
  const std::string mhz = cpuinfo_field("cpu MHz");
  if (!mhz.empty())
    return {std::atof(mhz.c_str()),
            "'cpu MHz' of /proc/cpuinfo (no cpufreq max in sysfs, lscpu has no 'CPU max MHz'; boost may exceed it)"};
  return {0.0, "unknown"};
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) o += c;
  }
  return o;
}

struct Stats {
  double median, min, max;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t k = v.size();
  return {k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]), v.front(), v.back()};
}

// One case set up for timing: lmkit's call and, for GEMM with OpenBLAS, the peer's call.
struct Runner {
  std::function<void()> lmkit, openblas;
  std::shared_ptr<void> keep;  // the buffers
};

template <class T>
std::vector<T> filled(size_t n, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(d(rng));
  return v;
}

std::vector<int32_t> ids(size_t n, int64_t V, std::mt19937& rng) {
  std::vector<int32_t> v(n);
  for (auto& x : v) x = static_cast<int32_t>(rng() % static_cast<uint32_t>(V));
  return v;
}

Runner make_runner(const Case& c) {
  std::mt19937 rng(7);
  Runner r;
  if (c.kind == "matmul") {
    struct Buf {
      std::vector<float> A, B, C1, C2;
    };
    auto b = std::make_shared<Buf>();
    const int64_t M = c.get("M"), N = c.get("N"), K = c.get("K");
    const bool tA = c.get("transA"), tB = c.get("transB");
    const float beta = static_cast<float>(c.get("beta"));
    b->A = filled<float>(M * K, rng, -1, 1);
    b->B = filled<float>(K * N, rng, -1, 1);
    b->C1.assign(M * N, 0.0f);
    b->C2.assign(M * N, 0.0f);
    const int64_t lda = tA ? M : K, ldb = tB ? K : N;
    r.lmkit = [=] { lmkit::cpu::sgemm(tA, tB, M, N, K, 1.0f, b->A.data(), lda, b->B.data(), ldb, beta, b->C1.data(), N); };
#ifdef LMKIT_BENCH_OPENBLAS
    r.openblas = [=] {
      cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans, int(M), int(N), int(K),
                  1.0f, b->A.data(), int(lda), b->B.data(), int(ldb), beta, b->C2.data(), int(N));
    };
#endif
    r.keep = b;
  } else if (c.kind == "embedding_forward" || c.kind == "embedding_backward") {
    struct Buf {
      std::vector<float> table, out;
      std::vector<int32_t> ids;
    };
    auto b = std::make_shared<Buf>();
    const int64_t N = c.get("N"), V = c.get("V"), C = c.get("C");
    b->table = filled<float>(V * C, rng, -1, 1);
    b->out = filled<float>(N * C, rng, -1, 1);
    b->ids = ids(N, V, rng);
    if (c.kind == "embedding_forward")
      r.lmkit = [=] { lmkit::cpu::embedding_forward(b->out.data(), b->ids.data(), b->table.data(), N, V, C); };
    else
      r.lmkit = [=] { lmkit::cpu::embedding_backward(b->table.data(), b->out.data(), b->ids.data(), N, V, C); };
    r.keep = b;
  } else if (c.kind == "lstm_cell_forward" || c.kind == "lstm_cell_backward") {
    struct Buf {
      std::vector<float> h, cc, gates, pre, c_prev, dh, dc_next, dpre, dc_prev;
    };
    auto b = std::make_shared<Buf>();
    const int64_t B = c.get("B"), H = c.get("H");
    b->pre = filled<float>(B * 4 * H, rng, -2, 2);
    b->c_prev = filled<float>(B * H, rng, -1, 1);
    b->h.assign(B * H, 0.0f);
    b->cc.assign(B * H, 0.0f);
    b->gates.assign(B * 4 * H, 0.0f);
    lmkit::cpu::lstm_cell_forward(b->h.data(), b->cc.data(), b->gates.data(), b->pre.data(), b->c_prev.data(), B, H);
    b->dh = filled<float>(B * H, rng, -1, 1);
    b->dc_next = filled<float>(B * H, rng, -1, 1);
    b->dpre.assign(B * 4 * H, 0.0f);
    b->dc_prev.assign(B * H, 0.0f);
    if (c.kind == "lstm_cell_forward")
      r.lmkit = [=] {
        lmkit::cpu::lstm_cell_forward(b->h.data(), b->cc.data(), b->gates.data(), b->pre.data(), b->c_prev.data(), B, H);
      };
    else
      r.lmkit = [=] {
        lmkit::cpu::lstm_cell_backward(b->dpre.data(), b->dc_prev.data(), b->dh.data(), b->dc_next.data(),
                                       b->gates.data(), b->cc.data(), b->c_prev.data(), B, H);
      };
    r.keep = b;
  } else if (c.kind == "attention_forward" || c.kind == "attention_backward") {
    struct Buf {
      std::vector<float> q, k, v, out, probs, dout, dq, dk, dv, scratch;
    };
    auto b = std::make_shared<Buf>();
    const int64_t B = c.get("B"), T = c.get("T"), C = c.get("C"), NH = c.get("NH");
    const float scale = 1.0f / std::sqrt(static_cast<float>(C / NH));
    b->q = filled<float>(B * T * C, rng, -1, 1);
    b->k = filled<float>(B * T * C, rng, -1, 1);
    b->v = filled<float>(B * T * C, rng, -1, 1);
    b->dout = filled<float>(B * T * C, rng, -1, 1);
    b->out.assign(B * T * C, 0.0f);
    b->probs.assign(B * NH * T * T, 0.0f);
    b->dq.assign(B * T * C, 0.0f);
    b->dk.assign(B * T * C, 0.0f);
    b->dv.assign(B * T * C, 0.0f);
    lmkit::cpu::attention_forward(b->out.data(), b->probs.data(), b->q.data(), b->k.data(), b->v.data(), nullptr, B, T,
                                  T, C, NH, true, scale);
    if (c.kind == "attention_forward") {
      r.lmkit = [=] {
        lmkit::cpu::attention_forward(b->out.data(), b->probs.data(), b->q.data(), b->k.data(), b->v.data(), nullptr, B,
                                      T, T, C, NH, true, scale);
      };
    } else {
      // The scratch size depends on the thread count: sized inside the call, once per count.
      r.lmkit = [=] {
        const size_t need = static_cast<size_t>(lmkit::cpu::attention_backward_scratch_size(B, T, T, C, NH));
        if (b->scratch.size() < need) b->scratch.resize(need);
        lmkit::cpu::attention_backward(b->dq.data(), b->dk.data(), b->dv.data(), b->dout.data(), b->q.data(),
                                       b->k.data(), b->v.data(), b->probs.data(), b->scratch.data(), B, T, T, C, NH,
                                       scale);
      };
    }
    r.keep = b;
  } else if (c.kind == "crossentropy") {
    struct Buf {
      std::vector<float> logits, dlogits, losses;
      std::vector<int32_t> t;
    };
    auto b = std::make_shared<Buf>();
    const int64_t N = c.get("N"), V = c.get("V");
    b->logits = filled<float>(N * V, rng, -4, 4);
    b->dlogits.assign(N * V, 0.0f);
    b->losses.assign(N, 0.0f);
    b->t = ids(N, V, rng);
    r.lmkit = [=] {
      lmkit::cpu::crossentropy_forward_backward(b->losses.data(), b->dlogits.data(), b->logits.data(), b->t.data(), N, V,
                                                -100, 1.0f / static_cast<float>(N));
      double s = 0;  // the mean loss, as a training step needs it
      for (int64_t i = 0; i < N; ++i) s += b->losses[i];
      b->losses[0] = static_cast<float>(s / N);
    };
    r.keep = b;
  } else if (c.kind == "adamw") {
    struct Buf {
      std::vector<float> p, m, v, g;
      int64_t step = 0;
    };
    auto b = std::make_shared<Buf>();
    const int64_t n = c.get("n");
    b->p = filled<float>(n, rng, -1, 1);
    b->g = filled<float>(n, rng, -1e-2f, 1e-2f);
    b->m.assign(n, 0.0f);
    b->v.assign(n, 0.0f);
    r.lmkit = [=] {
      lmkit::cpu::adamw_step(b->p.data(), b->m.data(), b->v.data(), b->g.data(), n, 1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f,
                             ++b->step, true);
    };
    r.keep = b;
  } else {
    std::fprintf(stderr, "bench_kernels: no runner for kind %s\n", c.kind.c_str());
    std::exit(2);
  }
  return r;
}

std::vector<int> parse_ints(const std::string& s) {
  std::vector<int> v;
  size_t p = 0;
  while (p < s.size()) {
    size_t q = s.find(',', p);
    if (q == std::string::npos) q = s.size();
    v.push_back(std::atoi(s.substr(p, q - p).c_str()));
    p = q + 1;
  }
  return v;
}

void case_json(std::string& o, const Case& c) {
  o += "{\"case\": \"" + c.name + "\", \"family\": \"" + c.family + "\", \"kind\": \"" + c.kind + "\", \"desc\": \"" +
       json_escape(c.desc) + "\", \"dims\": {";
  for (size_t i = 0; i < c.dims.size(); ++i)
    o += (i ? ", \"" : "\"") + c.dims[i].first + "\": " + std::to_string(c.dims[i].second);
  char tail[160];
  std::snprintf(tail, sizeof tail, "}, \"flops\": %.0f, \"bytes\": %.0f, \"metric\": \"%s\", \"quick\": %s, \"gpu\": %s}",
                c.flops(), c.bytes(), c.metric(), c.quick ? "true" : "false", c.gpu ? "true" : "false");
  o += tail;
}

struct Result {
  std::string name, impl;
  int threads;
  Stats sec;
  int reps, inner;
  double rate_median, rate_min, rate_max, peak_fraction;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> threads = {1, static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))};
  if (threads[1] == 1) threads.pop_back();
  int reps = 7, cooldown_ms = 100;
  double min_ms = 40.0;
  bool quick = false, list = false, gpu = false;
  std::string json_path, only;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_kernels: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--threads") threads = parse_ints(next());
    else if (a == "--reps") reps = std::max(1, std::atoi(next().c_str()));
    else if (a == "--min-ms") min_ms = std::max(0.0, std::atof(next().c_str()));
    else if (a == "--cooldown-ms") cooldown_ms = std::max(0, std::atoi(next().c_str()));
    else if (a == "--quick") { quick = true; reps = 3; min_ms = 10; cooldown_ms = 20; }
    else if (a == "--cases") only = "," + next() + ",";
    else if (a == "--json") json_path = next();
    else if (a == "--list") list = true;
    else if (a == "--gpu") gpu = true;
    else {
      std::fprintf(stderr,
                   "usage: %s [--threads 1,2] [--reps 7] [--min-ms 40] [--cooldown-ms 100] [--quick] [--cases a,b] "
                   "[--json FILE] [--list [--gpu]]\n",
                   argv[0]);
      return 2;
    }
  }
  std::vector<Case> cases;
  if (gpu && !list) {
    std::fprintf(stderr, "bench_kernels: --gpu only lists the GPU-sized cases (with --list); they are timed by bench/scripts/kernels-gpu.mjs\n");
    return 2;
  }
  for (const Case& c : all_cases()) {
    if (c.gpu && !gpu) continue;
    if (!only.empty() ? only.find("," + c.name + ",") != std::string::npos : (!quick || c.quick)) cases.push_back(c);
  }
  if (cases.empty()) {
    std::fprintf(stderr, "bench_kernels: no case matches %s\n", only.c_str());
    return 2;
  }
  if (list) {
    std::string o = "{\"cases\": [\n";
    for (size_t i = 0; i < cases.size(); ++i) {
      o += "  ";
      case_json(o, cases[i]);
      o += i + 1 < cases.size() ? ",\n" : "\n";
    }
    o += "]}\n";
    std::fputs(o.c_str(), stdout);
    return 0;
  }

  lmkit::FlushDenormals ftz;  // as the addon does around each call
  const auto clock = peak_clock();
  const double peak_per_thread = lmkit::cpu_has_avx2_fma() ? 2 * 8 * 2 * clock.first / 1000.0 : 0.0;
#ifdef LMKIT_BENCH_OPENBLAS
  const std::string ob_config = openblas_get_config();
#else
  const std::string ob_config;
#endif
  std::printf("lmkit SGEMM : %s%s\n", lmkit::cpu::sgemm_backend(), lmkit::cpu_has_avx2_fma() ? " (AVX2/FMA)" : "");
  std::printf("OpenBLAS    : %s\n", ob_config.empty() ? "not built in (GEMM peer skipped)" : ob_config.c_str());
  std::printf("CPU         : %s, peak %.1f GFLOP/s per thread = 2 FMA x 8 floats x 2 flops x %.0f MHz from %s\n",
              cpuinfo_field("model name").c_str(), peak_per_thread, clock.first, clock.second.c_str());
  std::printf("median of %d reps (each >= %.0f ms, after %d ms idle and one untimed call)\n\n", reps, min_ms,
              cooldown_ms);
  std::printf("%-11s %7s | %10s %10s %6s | %10s %6s\n", "case", "threads", "lmkit", "unit", "%peak", "OpenBLAS",
              "ratio");

  std::vector<Result> results;
  for (const Case& c : cases) {
    Runner run = make_runner(c);
    const double work = c.flops() > 0 ? c.flops() : c.bytes();
    for (int nt : threads) {
      lmkit::set_num_threads(nt);
#ifdef LMKIT_BENCH_OPENBLAS
      openblas_set_num_threads(nt);
#endif
      std::vector<std::pair<std::string, std::function<void()>*>> sides = {{"lmkit", &run.lmkit}};
      if (run.openblas) sides.push_back({"openblas", &run.openblas});
      // Warm-up and calibration: `inner` calls per sample make a sample last >= min_ms.
      double one = 1e9;
      for (auto& s : sides) {
        (*s.second)();
        const double t0 = now_s();
        (*s.second)();
        one = std::min(one, now_s() - t0);
      }
      const int inner = std::max(1, static_cast<int>(std::ceil(min_ms * 1e-3 / std::max(1e-7, one))));
      std::vector<std::vector<double>> per(sides.size());
      for (int rep = 0; rep < reps; ++rep) {
        for (size_t k = 0; k < sides.size(); ++k) {
          const size_t s = rep % 2 ? sides.size() - 1 - k : k;  // alternate the order
          if (cooldown_ms) std::this_thread::sleep_for(std::chrono::milliseconds(cooldown_ms));
          (*sides[s].second)();
          const double t0 = now_s();
          for (int it = 0; it < inner; ++it) (*sides[s].second)();
          per[s].push_back((now_s() - t0) / inner);
        }
      }
      for (size_t s = 0; s < sides.size(); ++s) {
        Result res;
        res.name = c.name;
        res.impl = sides[s].first;
        res.threads = nt;
        res.sec = stats(per[s]);
        res.reps = reps;
        res.inner = inner;
        res.rate_median = work / res.sec.median * 1e-9;
        res.rate_min = work / res.sec.max * 1e-9;
        res.rate_max = work / res.sec.min * 1e-9;
        res.peak_fraction = c.flops() > 0 && peak_per_thread > 0 ? res.rate_median / (peak_per_thread * nt) : -1;
        results.push_back(res);
      }
      const Result& lm = results[results.size() - sides.size()];
      char peak[16] = "-", ob[16] = "-", ratio[16] = "-";
      if (lm.peak_fraction >= 0) std::snprintf(peak, sizeof peak, "%.0f%%", 100 * lm.peak_fraction);
      if (sides.size() > 1) {
        std::snprintf(ob, sizeof ob, "%.1f", results.back().rate_median);
        std::snprintf(ratio, sizeof ratio, "%.2f", lm.rate_median / results.back().rate_median);
      }
      std::printf("%-11s %7d | %10.1f %10s %6s | %10s %6s\n", c.name.c_str(), nt, lm.rate_median, c.metric(), peak, ob,
                  ratio);
      std::fflush(stdout);
    }
  }

  if (!json_path.empty()) {
    char date[64];
    const std::time_t t = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    std::string o = "{\n  \"benchmark\": \"bench_kernels\",\n  \"date\": \"" + std::string(date) + "\",\n";
    o += "  \"cpu\": \"" + json_escape(cpuinfo_field("model name")) + "\",\n";
    o += "  \"hardware_threads\": " + std::to_string(std::thread::hardware_concurrency()) + ",\n";
    o += "  \"compiler\": \"g++ " + json_escape(__VERSION__) + "\",\n";
    o += "  \"lmkit_sgemm\": \"" + std::string(lmkit::cpu::sgemm_backend()) + "\",\n";
    o += std::string("  \"avx2_fma\": ") + (lmkit::cpu_has_avx2_fma() ? "true" : "false") + ",\n";
    o += "  \"openblas_config\": " + (ob_config.empty() ? std::string("null") : "\"" + json_escape(ob_config) + "\"") + ",\n";
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "  \"peak\": {\"mhz\": %.1f, \"source\": \"%s\", \"gflops_per_thread\": %.2f, \"formula\": \"threads "
                  "x 2 FMA units x 8 floats x 2 flops x GHz\"},\n",
                  clock.first, json_escape(clock.second).c_str(), peak_per_thread);
    o += buf;
    std::snprintf(buf, sizeof buf,
                  "  \"reps\": %d,\n  \"min_ms\": %.1f,\n  \"cooldown_ms\": %d,\n  \"quick\": %s,\n  \"statistic\": "
                  "\"seconds per call: median (min, max) of %d samples, each the mean of calls lasting >= %.0f ms\",\n",
                  reps, min_ms, cooldown_ms, quick ? "true" : "false", reps, min_ms);
    o += buf;
    o += "  \"cases\": [\n";
    for (size_t i = 0; i < cases.size(); ++i) {
      o += "    ";
      case_json(o, cases[i]);
      o += i + 1 < cases.size() ? ",\n" : "\n";
    }
    o += "  ],\n  \"results\": [\n";
    for (size_t i = 0; i < results.size(); ++i) {
      const Result& r = results[i];
      std::snprintf(buf, sizeof buf,
                    "    {\"case\": \"%s\", \"impl\": \"%s\", \"threads\": %d, \"seconds\": {\"median\": %.4e, \"min\": "
                    "%.4e, \"max\": %.4e}, \"rate\": {\"median\": %.3f, \"min\": %.3f, \"max\": %.3f}, "
                    "\"peak_fraction\": %s, \"reps\": %d, \"calls_per_rep\": %d}%s\n",
                    r.name.c_str(), r.impl.c_str(), r.threads, r.sec.median, r.sec.min, r.sec.max, r.rate_median,
                    r.rate_min, r.rate_max, r.peak_fraction >= 0 ? std::to_string(r.peak_fraction).c_str() : "null",
                    r.reps, r.inner, i + 1 < results.size() ? "," : "");
      o += buf;
    }
    o += "  ]\n}\n";
    std::ofstream f(json_path);
    if (!f) {
      std::fprintf(stderr, "bench_kernels: cannot write %s\n", json_path.c_str());
      return 1;
    }
    f << o;
    std::printf("wrote %s\n", json_path.c_str());
  }
  return 0;
}
