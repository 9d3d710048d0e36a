// Correctness test for lmkit::cpu::sgemm / sgemm_strided_batched and the matmul
// kernel family, against a naive double-precision triple loop.
// Prints PASS/FAIL; exits non-zero on failure. Run it once plainly and once with
// LMKIT_GEMM_GENERIC=1 to cover the portable micro-kernel.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <vector>

#include "../../native/cpu/gemm.h"
#include "../../native/cpu/matmul.h"
#include "../../native/cpu/threadpool.h"

namespace {

int g_failures = 0;
int64_t g_checks = 0;
std::mt19937 g_rng(12345);

std::vector<float> rand_vec(size_t n) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g_rng);
  return v;
}

float opA(const float* A, int64_t lda, bool tA, int64_t i, int64_t k) { return tA ? A[k * lda + i] : A[i * lda + k]; }
float opB(const float* B, int64_t ldb, bool tB, int64_t k, int64_t j) { return tB ? B[j * ldb + k] : B[k * ldb + j]; }

// Checks C (after) against alpha*op(A)op(B) + beta*C0 and that padding columns are untouched.
bool check(const char* what, bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, const float* C0, const float* C, int64_t ldc,
           bool c0_nan) {
  ++g_checks;
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < ldc; ++j) {
      const float got = C[i * ldc + j];
      if (j >= N) {
        // Padding must be untouched (bit-exact, NaN sentinels compare via isnan).
        const float want = C0[i * ldc + j];
        if (!(got == want || (std::isnan(got) && std::isnan(want)))) {
          std::printf("FAIL %s: tA=%d tB=%d M=%lld N=%lld K=%lld: padding (%lld,%lld) modified\n", what, tA, tB,
                      (long long)M, (long long)N, (long long)K, (long long)i, (long long)j);
          return false;
        }
        continue;
      }
      double ref = 0.0, mag = 0.0;
      for (int64_t k = 0; k < K; ++k) {
        const double p = static_cast<double>(opA(A, lda, tA, i, k)) * opB(B, ldb, tB, k, j);
        ref += p;
        mag += std::fabs(p);
      }
      ref *= alpha;
      mag *= std::fabs(alpha);
      if (beta != 0.0f && !c0_nan) {
        ref += static_cast<double>(beta) * C0[i * ldc + j];
        mag += std::fabs(static_cast<double>(beta) * C0[i * ldc + j]);
      }
      const double tol = 2e-5 * (mag + 1.0) + 1e-6 * std::sqrt(static_cast<double>(K));
      if (!(std::fabs(got - ref) <= tol)) {
        std::printf("FAIL %s: tA=%d tB=%d M=%lld N=%lld K=%lld alpha=%g beta=%g: C(%lld,%lld)=%g want %g\n", what,
                    tA, tB, (long long)M, (long long)N, (long long)K, alpha, beta, (long long)i, (long long)j, got,
                    ref);
        return false;
      }
    }
  }
  return true;
}

// One sgemm case with padded leading dimensions.
void run_case(bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha, float beta, int64_t pad, bool c_nan) {
  const int64_t ar = tA ? K : M, ac = tA ? M : K;
  const int64_t br = tB ? N : K, bc = tB ? K : N;
  const int64_t lda = ac + pad, ldb = bc + pad, ldc = N + pad;
  std::vector<float> A = rand_vec(static_cast<size_t>(ar * lda));
  std::vector<float> B = rand_vec(static_cast<size_t>(br * ldb));
  std::vector<float> C0 = rand_vec(static_cast<size_t>(M * ldc));
  if (c_nan)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C0[i * ldc + j] = std::numeric_limits<float>::quiet_NaN();
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = N; j < ldc; ++j) C0[i * ldc + j] = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> C = C0;
  lmkit::cpu::sgemm(tA, tB, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
  if (!check("sgemm", tA, tB, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C0.data(), C.data(), ldc, c_nan))
    ++g_failures;
}

void run_batched(bool tA, bool tB, int64_t M, int64_t N, int64_t K, int64_t batch, bool bcastA, bool bcastB,
                 float beta) {
  const int64_t ar = tA ? K : M, ac = tA ? M : K;
  const int64_t br = tB ? N : K, bc = tB ? K : N;
  const int64_t lda = ac + 3, ldb = bc + 1, ldc = N + 2;
  const int64_t sA = bcastA ? 0 : ar * lda + 5, sB = bcastB ? 0 : br * ldb + 7, sC = M * ldc + 4;
  std::vector<float> A = rand_vec(static_cast<size_t>(sA * (batch - 1) + ar * lda));
  std::vector<float> B = rand_vec(static_cast<size_t>(sB * (batch - 1) + br * ldb));
  std::vector<float> C0 = rand_vec(static_cast<size_t>(sC * batch));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = N; j < ldc; ++j) C0[b * sC + i * ldc + j] = -7.0f;
  std::vector<float> C = C0;
  lmkit::cpu::sgemm_strided_batched(tA, tB, M, N, K, 0.75f, A.data(), lda, sA, B.data(), ldb, sB, beta, C.data(), ldc,
                                    sC, batch);
  for (int64_t b = 0; b < batch; ++b) {
    if (!check("batched", tA, tB, M, N, K, 0.75f, A.data() + b * sA, lda, B.data() + b * sB, ldb, beta,
               C0.data() + b * sC, C.data() + b * sC, ldc, false)) {
      ++g_failures;
      return;
    }
    for (int64_t j = 0; j < 4; ++j)
      if (b + 1 < batch && C[b * sC + M * ldc + j] != C0[b * sC + M * ldc + j]) {
        std::printf("FAIL batched: gap between outputs modified\n");
        ++g_failures;
        return;
      }
  }
}

// matmul family vs sgemm-free naive reference.
void run_matmul(int64_t batch, int64_t M, int64_t N, int64_t K, bool tA, bool tB) {
  using namespace lmkit::cpu;
  const int64_t sa = M * K, sb = K * N, so = M * N;
  std::vector<float> a = rand_vec(static_cast<size_t>(batch * sa)), b = rand_vec(static_cast<size_t>(batch * sb));
  std::vector<float> dout = rand_vec(static_cast<size_t>(batch * so));
  std::vector<float> out(static_cast<size_t>(batch * so), std::numeric_limits<float>::quiet_NaN());
  std::vector<float> da(static_cast<size_t>(batch * sa), std::numeric_limits<float>::quiet_NaN());
  std::vector<float> db(static_cast<size_t>(batch * sb), std::numeric_limits<float>::quiet_NaN());
  matmul_forward(out.data(), a.data(), b.data(), batch, M, N, K, tA, tB);
  matmul_backward(da.data(), db.data(), dout.data(), a.data(), b.data(), batch, M, N, K, tA, tB);
  std::vector<float> da2 = rand_vec(da.size()), db2 = rand_vec(db.size());
  const std::vector<float> da2_0 = da2, db2_0 = db2;
  matmul_backward_accumulate(da2.data(), db2.data(), dout.data(), a.data(), b.data(), batch, M, N, K, tA, tB);
  std::vector<float> da3(da.size(), 5.0f);
  matmul_backward(da3.data(), nullptr, dout.data(), a.data(), b.data(), batch, M, N, K, tA, tB);
  ++g_checks;
  auto A = [&](int64_t bi, int64_t i, int64_t k) { return tA ? a[bi * sa + k * M + i] : a[bi * sa + i * K + k]; };
  auto B = [&](int64_t bi, int64_t k, int64_t j) { return tB ? b[bi * sb + j * K + k] : b[bi * sb + k * N + j]; };
  auto close = [](double got, double ref, double mag) { return std::fabs(got - ref) <= 2e-5 * (mag + 1.0); };
  for (int64_t bi = 0; bi < batch; ++bi) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double r = 0, m = 0;
        for (int64_t k = 0; k < K; ++k) {
          r += static_cast<double>(A(bi, i, k)) * B(bi, k, j);
          m += std::fabs(static_cast<double>(A(bi, i, k)) * B(bi, k, j));
        }
        if (!close(out[bi * so + i * N + j], r, m)) {
          std::printf("FAIL matmul_forward b=%lld M=%lld N=%lld K=%lld tA=%d tB=%d\n", (long long)batch,
                      (long long)M, (long long)N, (long long)K, tA, tB);
          ++g_failures;
          return;
        }
      }
    // d op(a)(i,k) = sum_j dout(i,j) op(b)(k,j); d op(b)(k,j) = sum_i op(a)(i,k) dout(i,j).
    for (int64_t i = 0; i < M; ++i)
      for (int64_t k = 0; k < K; ++k) {
        double r = 0, m = 0;
        for (int64_t j = 0; j < N; ++j) {
          r += static_cast<double>(dout[bi * so + i * N + j]) * B(bi, k, j);
          m += std::fabs(static_cast<double>(dout[bi * so + i * N + j]) * B(bi, k, j));
        }
        const int64_t idx = bi * sa + (tA ? k * M + i : i * K + k);
        if (!close(da[idx], r, m) || !close(da3[idx], r, m) || !close(da2[idx], r + da2_0[idx], m + 1.0)) {
          std::printf("FAIL matmul_backward da b=%lld M=%lld N=%lld K=%lld tA=%d tB=%d\n", (long long)batch,
                      (long long)M, (long long)N, (long long)K, tA, tB);
          ++g_failures;
          return;
        }
      }
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < N; ++j) {
        double r = 0, m = 0;
        for (int64_t i = 0; i < M; ++i) {
          r += static_cast<double>(A(bi, i, k)) * dout[bi * so + i * N + j];
          m += std::fabs(static_cast<double>(A(bi, i, k)) * dout[bi * so + i * N + j]);
        }
        const int64_t idx = bi * sb + (tB ? j * K + k : k * N + j);
        if (!close(db[idx], r, m) || !close(db2[idx], r + db2_0[idx], m + 1.0)) {
          std::printf("FAIL matmul_backward db b=%lld M=%lld N=%lld K=%lld tA=%d tB=%d\n", (long long)batch,
                      (long long)M, (long long)N, (long long)K, tA, tB);
          ++g_failures;
          return;
        }
      }
  }
}

}  // namespace

int main() {
  // LMKIT_TEST_GEMM_QUICK=1 (the arm64 run under qemu, ~10x slower): 2 threads only, and each
  // large block-crossing case once instead of eight times. Every size, transpose and small case
  // still runs.
  const char* q = std::getenv("LMKIT_TEST_GEMM_QUICK");
  const bool quick = q != nullptr && q[0] != '\0' && !(q[0] == '0' && q[1] == '\0');
  std::printf("test_gemm: backend %s%s\n", lmkit::cpu::sgemm_backend(), quick ? " (quick)" : "");
  const std::vector<int> thread_counts = quick ? std::vector<int>{2} : std::vector<int>{1, 2, 3};
  for (int nt : thread_counts) {
    lmkit::set_num_threads(nt);
    const int before = g_failures;
    const int64_t checks_before = g_checks;
    // Every size 1..67 on each axis (others fixed), all transposes, padded leading dims.
    for (int tA = 0; tA < 2; ++tA)
      for (int tB = 0; tB < 2; ++tB)
        for (int64_t s = 1; s <= 67; ++s) {
          run_case(tA, tB, s, 37, 29, 1.0f, 0.0f, s % 3, false);
          run_case(tA, tB, 23, s, 41, -1.5f, 0.75f, (s + 1) % 4, false);
          run_case(tA, tB, 19, 35, s, 0.5f, 1.0f, s % 2, false);
          run_case(tA, tB, s, s, s, 1.0f, 0.0f, 1, true);
        }
    // Cube of odd / boundary sizes.
    const int64_t sz[] = {1, 2, 5, 6, 7, 15, 16, 17, 33, 49, 67};
    for (int tA = 0; tA < 2; ++tA)
      for (int tB = 0; tB < 2; ++tB)
        for (int64_t m : sz)
          for (int64_t n : sz)
            for (int64_t k : sz) run_case(tA, tB, m, n, k, 1.25f, (m + n + k) % 2 ? 0.0f : -0.5f, (m * n) % 3, false);
    // Larger: crosses MC/KC/NC blocks, thread splits over M, N and K, alpha == 0.
    const int64_t big[][3] = {{300, 517, 601}, {173, 4200, 263}, {256, 1000, 240}, {20, 30, 5000},
                              {7, 2000, 300},  {500, 9, 700},    {130, 130, 130}, {64, 64, 2100},
                              {3000, 40, 100}, {1100, 23, 300},
                              // M == 1 (the streaming vector-matrix path): several accumulator
                              // blocks and thread ranges, K tails of the 4-row / 16-lane loops.
                              {1, 4200, 263},  {1, 517, 1030},   {1, 3, 5001},   {1, 2304, 768}};
    for (int tA = 0; tA < 2; ++tA)
      for (int tB = 0; tB < 2; ++tB)
        for (const auto& b : big) {
          // quick: each large case once, the transpose combination and the alpha/beta variant
          // rotating over the cases.
          const int64_t ci = &b - big;
          if (quick) {
            if (ci % 4 != 2 * tA + tB) continue;
            if (ci % 2 == 0) run_case(tA, tB, b[0], b[1], b[2], 1.0f, 0.0f, 3, true);
            else run_case(tA, tB, b[0], b[1], b[2], -0.5f, 1.5f, 0, false);
            continue;
          }
          run_case(tA, tB, b[0], b[1], b[2], 1.0f, 0.0f, 3, true);
          run_case(tA, tB, b[0], b[1], b[2], -0.5f, 1.5f, 0, false);
        }
    for (int tA = 0; tA < 2; ++tA)
      for (int tB = 0; tB < 2; ++tB) {
        run_case(tA, tB, 40, 50, 60, 0.0f, 0.5f, 2, false);
        run_case(tA, tB, 40, 50, 0, 1.0f, 0.0f, 2, true);
        run_case(tA, tB, 40, 50, 0, 1.0f, 2.0f, 2, false);
      }
    // Batched strided, including broadcast operands (stride 0).
    for (int tA = 0; tA < 2; ++tA)
      for (int tB = 0; tB < 2; ++tB) {
        run_batched(tA, tB, 13, 21, 17, 5, false, false, 0.0f);
        run_batched(tA, tB, 13, 21, 17, 4, true, false, 1.0f);
        run_batched(tA, tB, 70, 90, 110, 3, false, true, -1.0f);
        run_batched(tA, tB, 150, 170, 190, 2, false, false, 0.0f);
        run_batched(tA, tB, 1, 1, 1, 9, true, true, 0.5f);
      }
    // matmul family.
    for (int tA = 0; tA < 2; ++tA)
      for (int tB = 0; tB < 2; ++tB) {
        run_matmul(1, 5, 7, 3, tA, tB);
        run_matmul(3, 17, 33, 20, tA, tB);
        run_matmul(2, 70, 90, 40, tA, tB);
        run_matmul(1, 64, 300, 48, tA, tB);
      }
    std::printf("  threads=%d: %lld checks, %d failures\n", nt, (long long)(g_checks - checks_before),
                g_failures - before);
  }
  if (g_failures != 0) {
    std::printf("FAIL (%d failures in %lld checks, backend %s)\n", g_failures, (long long)g_checks,
                lmkit::cpu::sgemm_backend());
    return 1;
  }
  std::printf("PASS (%lld checks, backend %s)\n", (long long)g_checks, lmkit::cpu::sgemm_backend());
  return 0;
}
