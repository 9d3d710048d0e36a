// Gloo's own all-reduce figure, the peer of bench/dist-cpu.mjs: gloo::allreduce (the same call,
// algorithm and reduce function lmkit_gloo.node makes) timed in C++ with no Node in between,
// ranks bootstrapped through Gloo's FileStore. Debian's libgloo-dev ships no benchmark binary
// (Gloo's gloo/benchmark is not packaged), so this is the stand-in; it times the way Gloo's
// benchmark does: warm-up iterations, then a timed loop, per buffer size.
//   gloo_allreduce RANK SIZE STOREDIR ELEMENTS:ITERS[,ELEMENTS:ITERS...]
// Rank 0 prints one JSON line per size: {"elements":N,"iters":I,"seconds":S}.
#include <gloo/allreduce.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/transport/tcp/device.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: gloo_allreduce RANK SIZE STOREDIR ELEMENTS:ITERS[,...]\n");
    return 2;
  }
  try {
    const int rank = std::atoi(argv[1]);
    const int size = std::atoi(argv[2]);
    std::vector<size_t> sizes, iters_of;
    std::stringstream ss(argv[4]);
    for (std::string item; std::getline(ss, item, ',');) {
      const size_t colon = item.find(':');
      sizes.push_back(std::stoull(item.substr(0, colon)));
      iters_of.push_back(colon == std::string::npos ? 10 : std::stoull(item.substr(colon + 1)));
    }
    gloo::rendezvous::FileStore store(argv[3]);
    gloo::transport::tcp::attr attr;
    attr.hostname = "127.0.0.1";
    auto dev = gloo::transport::tcp::CreateDevice(attr);
    auto ctx = std::make_shared<gloo::rendezvous::Context>(rank, size);
    ctx->connectFullMesh(store, dev);
    uint32_t tag = 0;
    for (const size_t& n : sizes) {
      std::vector<float> buf(n, 1.0f);
      auto run = [&] {
        gloo::AllreduceOptions o(ctx);
        o.setOutput(buf.data(), n);
        o.setReduceFunction(static_cast<void (*)(void*, const void*, const void*, size_t)>(&gloo::sum<float>));
        o.setTag(tag++);
        gloo::allreduce(o);
      };
      for (int i = 0; i < 3; i++) run();
      const int iters = static_cast<int>(iters_of[&n - sizes.data()]);
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < iters; i++) run();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (rank == 0) std::printf("{\"elements\":%zu,\"iters\":%d,\"seconds\":%.9f}\n", n, iters, s);
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gloo_allreduce: %s\n", e.what());
    return 1;
  }
  return 0;
}
