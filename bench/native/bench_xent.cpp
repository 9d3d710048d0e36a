// Fused softmax-cross-entropy vs log-softmax + gather + backward as separate passes.
//
// Acceptance criterion: over a 256 x 14114 batch (mean reduction) the fused kernel
// (cpu::crossentropy_forward_backward: loss + gradient written in place over the logits)
// is faster than three separate passes:
//   (1) log_softmax: logp (N,V) = x - logsumexp(x)          (extra (N,V) buffer)
//   (2) gather: loss = -mean_n logp[n, t[n]]
//   (3) backward: grad (N,V) = (exp(logp) - onehot) / N    (second (N,V) buffer)
// Both sides use the same row primitives (crossentropy_row_max / _sum_exp / _exp / _scale,
// AVX2 when available) and the same threading (lmkit::parallel_for over rows, same grain),
// so the difference is the pass structure: one exp per logit and no extra buffers vs two exps
// and two (N,V) buffers.
//
// Build + run: bash bench/xent.sh  (g++ -O3 -fno-math-errno, no -march flags).
// Usage: bench_xent [json_out] [reps] [N] [V]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "cpu/common.h"
#include "cpu/crossentropy.h"
#include "cpu/threadpool.h"

using namespace lmkit;

namespace {

constexpr int64_t kIgnore = -100;

int64_t row_grain(int64_t V) { return std::max<int64_t>(1, (int64_t(1) << 15) / V); }

// (b) separate passes.
double log_softmax_pass(float* logp, const float* x, int64_t N, int64_t V) {
  parallel_for(N, row_grain(V), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const float* xr = x + n * V;
      float* lr = logp + n * V;
      const float m = cpu::crossentropy_row_max(xr, V);
      const float lse = m + std::log(cpu::crossentropy_row_sum_exp(xr, V, m));
      for (int64_t j = 0; j < V; ++j) lr[j] = xr[j] - lse;
    }
  });
  return 0.0;
}

double gather_mean(const float* logp, const int32_t* t, int64_t N, int64_t V, int64_t* valid) {
  double s = 0.0;
  int64_t nv = 0;
  for (int64_t n = 0; n < N; ++n) {
    if (t[n] == kIgnore) continue;
    s -= logp[n * V + t[n]];
    ++nv;
  }
  *valid = nv;
  return nv ? s / static_cast<double>(nv) : 0.0;
}

void backward_pass(float* grad, const float* logp, const int32_t* t, int64_t N, int64_t V, float scale) {
  parallel_for(N, row_grain(V), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      float* g = grad + n * V;
      if (t[n] == kIgnore) {
        std::memset(g, 0, sizeof(float) * static_cast<size_t>(V));
        continue;
      }
      cpu::crossentropy_row_exp(g, logp + n * V, V, 0.0f);
      cpu::crossentropy_row_scale(g, V, scale);
      g[t[n]] -= scale;
    }
  });
}

double separate(float* logp, float* grad, const float* x, const int32_t* t, int64_t N, int64_t V) {
  log_softmax_pass(logp, x, N, V);
  int64_t valid = 0;
  const double loss = gather_mean(logp, t, N, V, &valid);
  backward_pass(grad, logp, t, N, V, valid ? 1.0f / static_cast<float>(valid) : 0.0f);
  return loss;
}

// (a) fused, in place: x becomes the gradient.
double fused(float* losses, float* x, const int32_t* t, int64_t N, int64_t V) {
  int64_t valid = 0;
  for (int64_t n = 0; n < N; ++n) valid += t[n] != kIgnore;
  const float scale = valid ? 1.0f / static_cast<float>(valid) : 0.0f;
  cpu::crossentropy_forward_backward(losses, x, x, t, N, V, kIgnore, scale);
  double s = 0.0;
  for (int64_t n = 0; n < N; ++n) s += losses[n];
  return valid ? s / static_cast<double>(valid) : 0.0;
}

struct Stats {
  double median, min, max;
};

Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t k = v.size();
  const double med = k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
  return {med, v.front(), v.back()};
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t p = line.find(':');
      if (p != std::string::npos) return line.substr(line.find_first_not_of(" \t", p + 1));
    }
  }
  return "unknown";
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) o += c;
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const char* json_path = argc > 1 ? argv[1] : nullptr;
  const int reps = argc > 2 ? std::max(20, std::atoi(argv[2])) : 30;
  const int64_t N = argc > 3 ? std::atoll(argv[3]) : 256;
  const int64_t V = argc > 4 ? std::atoll(argv[4]) : 14114;
  const int warmup = 5;

  std::mt19937 rng(42);
  std::normal_distribution<float> nd(0.0f, 2.0f);
  std::vector<float> master(static_cast<size_t>(N * V));
  for (auto& x : master) x = nd(rng);
  std::vector<int32_t> targets(static_cast<size_t>(N));
  for (auto& t : targets) t = static_cast<int32_t>(rng() % static_cast<uint32_t>(V));

  std::vector<float> work(master.size()), logp(master.size()), grad(master.size()), losses(static_cast<size_t>(N));

  // Correctness cross-check (fused vs separate) before timing.
  std::copy(master.begin(), master.end(), work.begin());
  const double lf = fused(losses.data(), work.data(), targets.data(), N, V);
  const double ls = separate(logp.data(), grad.data(), master.data(), targets.data(), N, V);
  double gdiff = 0.0;
  for (size_t i = 0; i < work.size(); ++i) gdiff = std::max(gdiff, static_cast<double>(std::fabs(work[i] - grad[i])));
  std::printf("xent %lld x %lld: loss fused %.6f separate %.6f, max |grad diff| %.3g\n", static_cast<long long>(N),
              static_cast<long long>(V), lf, ls, gdiff);
  if (std::fabs(lf - ls) > 1e-4 * std::max(1.0, std::fabs(ls)) || gdiff > 1e-6) {
    std::fprintf(stderr, "bench_xent: fused and separate results disagree\n");
    return 1;
  }

  using clk = std::chrono::steady_clock;
  struct Row {
    int threads;
    Stats fused, separate;
  };
  std::vector<Row> rows;
  volatile double sink = 0.0;
  for (int nt : {1, 2}) {
    set_num_threads(nt);
    std::vector<double> tf, ts;
    // Both variants start each rep from the same state: the logits freshly copied (untimed).
    for (int r = 0; r < warmup + reps; ++r) {
      std::copy(master.begin(), master.end(), work.begin());
      auto t0 = clk::now();
      sink = sink + fused(losses.data(), work.data(), targets.data(), N, V);
      auto t1 = clk::now();
      std::copy(master.begin(), master.end(), work.begin());
      auto t2 = clk::now();
      sink = sink + separate(logp.data(), grad.data(), work.data(), targets.data(), N, V);
      auto t3 = clk::now();
      if (r >= warmup) {
        tf.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        ts.push_back(std::chrono::duration<double, std::milli>(t3 - t2).count());
      }
    }
    rows.push_back({nt, stats(tf), stats(ts)});
  }

  std::printf("%-8s %12s %12s %8s\n", "threads", "fused ms", "separate ms", "ratio");
  for (const Row& r : rows) {
    std::printf("%-8d %12.3f %12.3f %8.2f\n", r.threads, r.fused.median, r.separate.median,
                r.separate.median / r.fused.median);
  }
  std::printf("(median of %d reps after %d warm-up; ratio = separate / fused, > 1 means fused is faster)\n", reps,
              warmup);

  if (json_path) {
    char date[64];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    std::ofstream o(json_path);
    o << "{\n"
      << "  \"benchmark\": \"fused softmax-cross-entropy (loss + in-place grad) vs log_softmax + gather + backward\",\n"
      << "  \"N\": " << N << ",\n  \"V\": " << V << ",\n  \"reduction\": \"mean\",\n"
      << "  \"cpu\": \"" << json_escape(cpu_model()) << "\",\n"
      << "  \"avx2_fma\": " << (cpu_has_avx2_fma() ? "true" : "false") << ",\n"
      << "  \"compiler\": \"g++ " << json_escape(__VERSION__) << "\",\n"
      << "  \"flags\": \"-std=c++17 -O3 -fno-math-errno\",\n"
      << "  \"date\": \"" << date << "\",\n"
      << "  \"reps\": " << reps << ",\n  \"warmup\": " << warmup << ",\n"
      << "  \"unit\": \"ms\",\n  \"results\": [\n";
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      o << "    {\"threads\": " << r.threads << ", \"fused\": {\"median\": " << r.fused.median
        << ", \"min\": " << r.fused.min << ", \"max\": " << r.fused.max << "}, \"separate\": {\"median\": "
        << r.separate.median << ", \"min\": " << r.separate.min << ", \"max\": " << r.separate.max
        << "}, \"speedup\": " << r.separate.median / r.fused.median << "}" << (i + 1 < rows.size() ? "," : "")
        << "\n";
    }
    o << "  ]\n}\n";
    std::printf("wrote %s\n", json_path);
  }
  return sink == 12345.678 ? 2 : 0;
}
