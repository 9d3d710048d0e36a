// Side-by-side SGEMM benchmark: lmkit::cpu::sgemm vs OpenBLAS cblas_sgemm, same
// process, same operands, interleaved samples (lmkit / OpenBLAS alternate, the
// order flips every repetition), median of N repetitions per case and thread count.
//
// Before every timed sample the process sleeps --cooldown-ms and makes one untimed
// call: OpenBLAS' idle workers keep spinning (sched_yield) for ~0.1 s after a call,
// and lmkit's pool spins briefly too, so without the pause each library would be
// timed while competing with the other's idle threads for the 2 cores.
//
// Usage: bench_gemm [--threads 1,2] [--reps 7] [--min-ms 40] [--cooldown-ms 200] [--json FILE] [--cases a,b,...]
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../../native/cpu/gemm.h"
#include "../../native/cpu/threadpool.h"

extern "C" {
// Declared by OpenBLAS' cblas.h on Debian; repeated here for headers that lack them.
void openblas_set_num_threads(int num_threads);
char* openblas_get_config(void);
}

namespace {

struct Case {
  const char* name;
  bool tA, tB;
  int64_t M, N, K;
  float beta;
  const char* note;
};

const Case kCases[] = {
    {"sq256", false, false, 256, 256, 256, 0.0f, "square"},
    {"sq512", false, false, 512, 512, 512, 0.0f, "square"},
    {"sq1024", false, false, 1024, 1024, 1024, 0.0f, "square"},
    {"sq2048", false, false, 2048, 2048, 2048, 0.0f, "square"},
    {"lm_fwd", false, false, 256, 14114, 240, 0.0f, "Y = X W: (256x240)@(240x14114)"},
    {"lm_dW", true, false, 240, 14114, 256, 1.0f, "dW += X^T dY: (240x256)@(256x14114), beta=1"},
    {"lm_dX", false, true, 256, 240, 14114, 0.0f, "dX = dY W^T: (256x14114)@(14114x240)"},
};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string cpu_model() {
  FILE* f = std::fopen("/proc/cpuinfo", "r");
  if (!f) return "unknown";
  char line[512];
  std::string model = "unknown";
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, "model name", 10) == 0) {
      const char* p = std::strchr(line, ':');
      if (p) {
        model = p + 1;
        while (!model.empty() && (model.front() == ' ' || model.front() == '\t')) model.erase(model.begin());
        while (!model.empty() && (model.back() == '\n' || model.back() == ' ')) model.pop_back();
      }
      break;
    }
  }
  std::fclose(f);
  return model;
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      o += ' ';
    } else {
      o += c;
    }
  }
  return o;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Result {
  std::string name, note;
  int threads;
  int64_t M, N, K;
  bool tA, tB;
  float beta;
  double lm_gflops, ob_gflops, ratio, max_rel_diff;
  int reps, inner;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> threads = {1, 2};
  int reps = 7;
  double min_ms = 40.0;
  int cooldown_ms = 200;
  std::string json_path, only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--threads") {
      threads.clear();
      std::string s = next();
      size_t p = 0;
      while (p < s.size()) {
        size_t q = s.find(',', p);
        if (q == std::string::npos) q = s.size();
        threads.push_back(std::atoi(s.substr(p, q - p).c_str()));
        p = q + 1;
      }
    } else if (a == "--reps") {
      reps = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--min-ms") {
      min_ms = std::atof(next().c_str());
    } else if (a == "--cooldown-ms") {
      cooldown_ms = std::max(0, std::atoi(next().c_str()));
    } else if (a == "--json") {
      json_path = next();
    } else if (a == "--cases") {
      only = "," + next() + ",";
    } else {
      std::fprintf(stderr, "usage: %s [--threads 1,2] [--reps 7] [--min-ms 40] [--cooldown-ms 200] [--json FILE] "
                   "[--cases a,b]\n",
                   argv[0]);
      return 2;
    }
  }

  std::printf("lmkit backend : %s\n", lmkit::cpu::sgemm_backend());
  std::printf("OpenBLAS      : %s\n", openblas_get_config());
  std::printf("CPU           : %s\n", cpu_model().c_str());
  std::printf("median of %d interleaved repetitions, each >= %.0f ms, %d ms idle + 1 untimed call before each\n\n",
              reps, min_ms, cooldown_ms);
  std::printf("%-8s %-3s %5s %5s %6s %7s | %10s %10s %6s\n", "case", "op", "M", "N", "K", "threads", "lmkit GF/s",
              "OpenBLAS", "ratio");
  std::printf("-------------------------------------------------------------------------\n");

  std::vector<Result> results;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (const Case& c : kCases) {
    if (!only.empty() && only.find("," + std::string(c.name) + ",") == std::string::npos) continue;
    const int64_t lda = c.tA ? c.M : c.K, ldb = c.tB ? c.K : c.N, ldc = c.N;
    std::vector<float> A(static_cast<size_t>(c.M * c.K)), B(static_cast<size_t>(c.K * c.N));
    std::vector<float> C1(static_cast<size_t>(c.M * c.N), 0.0f), C2(C1.size(), 0.0f);
    for (auto& x : A) x = dist(rng);
    for (auto& x : B) x = dist(rng);
    const double flops = 2.0 * c.M * c.N * c.K;
    auto run_lm = [&] {
      lmkit::cpu::sgemm(c.tA, c.tB, c.M, c.N, c.K, 1.0f, A.data(), lda, B.data(), ldb, c.beta, C1.data(), ldc);
    };
    auto run_ob = [&] {
      cblas_sgemm(CblasRowMajor, c.tA ? CblasTrans : CblasNoTrans, c.tB ? CblasTrans : CblasNoTrans,
                  static_cast<int>(c.M), static_cast<int>(c.N), static_cast<int>(c.K), 1.0f, A.data(),
                  static_cast<int>(lda), B.data(), static_cast<int>(ldb), c.beta, C2.data(), static_cast<int>(ldc));
    };
    for (int nt : threads) {
      lmkit::set_num_threads(nt);
      openblas_set_num_threads(nt);
      // Correctness cross-check (beta = 0 run of each) and warm-up.
      std::fill(C1.begin(), C1.end(), 0.0f);
      std::fill(C2.begin(), C2.end(), 0.0f);
      run_lm();
      run_ob();
      double maxdiff = 0.0, maxref = 0.0;
      for (size_t i = 0; i < C1.size(); ++i) {
        maxdiff = std::max(maxdiff, static_cast<double>(std::fabs(C1[i] - C2[i])));
        maxref = std::max(maxref, static_cast<double>(std::fabs(C2[i])));
      }
      const double t0 = now_s();
      run_lm();
      const double t1 = now_s();
      run_ob();
      const double t2 = now_s();
      const double one = std::max(1e-6, std::min(t1 - t0, t2 - t1));
      const int inner = std::max(1, static_cast<int>(std::ceil(min_ms * 1e-3 / one)));
      std::vector<double> g_lm, g_ob;
      for (int r = 0; r < reps; ++r) {
        for (int side = 0; side < 2; ++side) {
          const bool lm = (side == 0) == (r % 2 == 0);
          std::this_thread::sleep_for(std::chrono::milliseconds(cooldown_ms));
          lm ? run_lm() : run_ob();
          const double s = now_s();
          for (int it = 0; it < inner; ++it) lm ? run_lm() : run_ob();
          const double e = now_s();
          (lm ? g_lm : g_ob).push_back(flops * inner / (e - s) * 1e-9);
        }
      }
      Result res;
      res.name = c.name;
      res.note = c.note;
      res.threads = nt;
      res.M = c.M;
      res.N = c.N;
      res.K = c.K;
      res.tA = c.tA;
      res.tB = c.tB;
      res.beta = c.beta;
      res.lm_gflops = median(g_lm);
      res.ob_gflops = median(g_ob);
      res.ratio = res.lm_gflops / res.ob_gflops;
      res.max_rel_diff = maxref > 0 ? maxdiff / maxref : maxdiff;
      res.reps = reps;
      res.inner = inner;
      results.push_back(res);
      const char op[3] = {c.tA ? 'T' : 'N', c.tB ? 'T' : 'N', 0};
      std::printf("%-8s %-3s %5lld %5lld %6lld %7d | %10.1f %10.1f %5.0f%%%s\n", c.name, op, (long long)c.M,
                  (long long)c.N, (long long)c.K, nt, res.lm_gflops, res.ob_gflops, 100.0 * res.ratio,
                  res.max_rel_diff > 1e-4 ? "  MISMATCH" : "");
      std::fflush(stdout);
    }
  }

  bool ok = true;
  for (const auto& r : results) ok = ok && r.ratio >= 0.8 && r.max_rel_diff <= 1e-4;
  std::printf("\n%s: every case >= 80%% of OpenBLAS\n", ok ? "OK" : "NOT MET");

  if (!json_path.empty()) {
    FILE* f = std::fopen(json_path.c_str(), "w");
    if (!f) {
      std::fprintf(stderr, "cannot write %s\n", json_path.c_str());
      return 1;
    }
    char date[64];
    const std::time_t t = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    std::fprintf(f, "{\n  \"date\": \"%s\",\n", date);
    std::fprintf(f, "  \"cpu\": \"%s\",\n", json_escape(cpu_model()).c_str());
    std::fprintf(f, "  \"hardware_threads\": %u,\n", std::thread::hardware_concurrency());
    std::fprintf(f, "  \"compiler\": \"g++ %s\",\n", json_escape(__VERSION__).c_str());
    std::fprintf(f, "  \"lmkit_backend\": \"%s\",\n", lmkit::cpu::sgemm_backend());
    std::fprintf(f, "  \"openblas_config\": \"%s\",\n", json_escape(openblas_get_config()).c_str());
    std::fprintf(f,
                 "  \"statistic\": \"median GFLOP/s of %d interleaved repetitions (each >= %.0f ms, after %d ms idle "
                 "and one untimed call)\",\n",
                 reps, min_ms, cooldown_ms);
    std::fprintf(f, "  \"target_ratio\": 0.8,\n  \"all_met\": %s,\n  \"results\": [\n", ok ? "true" : "false");
    for (size_t i = 0; i < results.size(); ++i) {
      const Result& r = results[i];
      std::fprintf(f,
                   "    {\"case\": \"%s\", \"desc\": \"%s\", \"transA\": %s, \"transB\": %s, \"M\": %lld, \"N\": "
                   "%lld, \"K\": %lld, \"beta\": %g, \"threads\": %d, \"lmkit_gflops\": %.2f, "
                   "\"openblas_gflops\": %.2f, \"ratio\": %.3f, \"max_rel_diff\": %.2e, \"reps\": %d, "
                   "\"calls_per_rep\": %d}%s\n",
                   r.name.c_str(), json_escape(r.note).c_str(), r.tA ? "true" : "false", r.tB ? "true" : "false",
                   (long long)r.M, (long long)r.N, (long long)r.K, r.beta, r.threads, r.lm_gflops, r.ob_gflops,
                   r.ratio, r.max_rel_diff, r.reps, r.inner, i + 1 < results.size() ? "," : "");
    }
    std::fprintf(f, "  ]\n}\n");
    std::fclose(f);
    std::printf("wrote %s\n", json_path.c_str());
  }
  return 0;
}
