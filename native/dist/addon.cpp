// lmkit_gloo.node: data-parallel collectives for lib/dist, a separate module that the core
// addon never needs (it links Debian's libgloo; NCCL is dlopened). Everything that blocks
// (rendezvous, collectives) runs in an AsyncWorker off the main thread and returns a Promise:
// rank 0's main thread serves the rendezvous store, so blocking it would deadlock the mesh.
// A group's collectives run one at a time in the order they were issued (each takes a ticket on
// the main thread when called, and its worker waits for its turn), so JS may issue several at
// once (gradient buckets during backward) and every rank still runs them in program order.
//
//   connect({host, port, rank, size, prefix, timeoutMs, hostname, iface}) -> Promise<Group>
//   Group.allreduce(Float32Array) -> Promise<void>       sum over ranks, in place
//   Group.broadcast(Float32Array, root) -> Promise<void>
//   Group.barrier() -> Promise<void>;  Group.close()
//   Group.stats() -> {issued, started, finished}   collectives so far (started: a worker thread
//                                                   entered Gloo's call; read synchronously)
//   ncclInfo() -> {loaded, path, version, error};  ncclUniqueId() -> Buffer (128 bytes)
//   ncclInit(id, rank, size, device) -> Promise<NcclComm>
//   NcclComm.allreduce(devicePtr: bigint, count, stream: bigint) -> Promise<void>  (float32 sum)
//   NcclComm.broadcast(devicePtr, count, root, stream) -> Promise<void>; NcclComm.destroy()
//   NcclComm.allreduceMany(ptrs: BigUint64Array, counts: Float64Array, stream) -> Promise<void>
//     (float32 sums in place, one NCCL group: a gradient bucket without flattening)
//   A communicator's operations run in issue order (tickets, as for Gloo groups).
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/config.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/transport/tcp/device.h>
#include <napi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "nccl_dl.h"
#include "store_client.h"

namespace lmkit {
namespace dist {
namespace {

std::string what(const std::exception& e) {
  std::string m = e.what();
  // Gloo prefixes messages with "[/path/file.cc:line] "; keep only the message.
  if (!m.empty() && m[0] == '[') {
    const size_t close = m.find("] ");
    if (close != std::string::npos) m = m.substr(close + 2);
  }
  return m;
}

struct GroupState {
  std::shared_ptr<gloo::rendezvous::Context> ctx;
  std::mutex mu;  // one collective at a time, in ticket order
  std::condition_variable turn;
  uint64_t serving = 0;              // the ticket whose turn it is (under mu)
  std::atomic<uint64_t> issued{0};   // tickets handed out (main thread)
  std::atomic<uint64_t> started{0};  // collectives that entered Gloo
  std::atomic<uint64_t> finished{0};
  uint32_t tag = 0;
  std::chrono::milliseconds timeout{0};
};

class Group : public Napi::ObjectWrap<Group> {
 public:
  static Napi::FunctionReference ctor;
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "GlooGroup",
                                   {InstanceMethod("allreduce", &Group::Allreduce), InstanceMethod("broadcast", &Group::Broadcast),
                                    InstanceMethod("barrier", &Group::Barrier), InstanceMethod("close", &Group::Close),
                                    InstanceMethod("stats", &Group::Stats),
                                    InstanceAccessor("rank", &Group::Rank, nullptr), InstanceAccessor("size", &Group::Size, nullptr)});
    ctor = Napi::Persistent(f);
    ctor.SuppressDestruct();
    exports.Set("GlooGroup", f);
  }
  explicit Group(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Group>(info) {}
  std::shared_ptr<GroupState> state;

 private:
  std::shared_ptr<GroupState> live(Napi::Env env) {
    if (!state || !state->ctx) throw Napi::Error::New(env, "gloo: the group is closed");
    return state;
  }
  Napi::Value Rank(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), live(info.Env())->ctx->rank); }
  Napi::Value Size(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), live(info.Env())->ctx->size); }
  Napi::Value Allreduce(const Napi::CallbackInfo& info);
  Napi::Value Broadcast(const Napi::CallbackInfo& info);
  Napi::Value Barrier(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    const GroupState* s = state.get();
    o.Set("issued", Napi::Number::New(info.Env(), s ? static_cast<double>(s->issued.load()) : 0.0));
    o.Set("started", Napi::Number::New(info.Env(), s ? static_cast<double>(s->started.load()) : 0.0));
    o.Set("finished", Napi::Number::New(info.Env(), s ? static_cast<double>(s->finished.load()) : 0.0));
    return o;
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (state) {
      std::lock_guard<std::mutex> lock(state->mu);
      state->ctx.reset();
    }
    return info.Env().Undefined();
  }
};
Napi::FunctionReference Group::ctor;

// A collective on a Float32Array, run in a worker thread.
class CollectiveWorker : public Napi::AsyncWorker {
 public:
  enum Kind { kAllreduce, kBroadcast, kBarrier };
  CollectiveWorker(Napi::Env env, std::shared_ptr<GroupState> s, Kind kind, Napi::Float32Array buf, int root)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), s_(std::move(s)), kind_(kind), root_(root) {
    ticket_ = s_->issued.fetch_add(1);
    if (!buf.IsEmpty()) {
      ref_ = Napi::Persistent(buf.As<Napi::Object>());
      data_ = buf.Data();
      n_ = buf.ElementLength();
    }
  }
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      std::unique_lock<std::mutex> lock(s_->mu);
      s_->turn.wait(lock, [this] { return s_->serving == ticket_; });
      // The next ticket's turn when this one ends, however it ends (declared after the lock:
      // runs first, under it).
      struct Next {
        GroupState* s;
        ~Next() {
          s->serving++;
          s->finished.fetch_add(1);
          s->turn.notify_all();
        }
      } next{s_.get()};
      s_->started.fetch_add(1);
      if (!s_->ctx) throw std::runtime_error("the group is closed");
      const uint32_t tag = s_->tag++;
      if (kind_ == kAllreduce) {
        if (n_ == 0 || s_->ctx->size == 1) return;
        gloo::AllreduceOptions o(s_->ctx);
        o.setOutput(data_, n_);
        o.setReduceFunction(static_cast<void (*)(void*, const void*, const void*, size_t)>(&gloo::sum<float>));
        o.setTag(tag);
        o.setTimeout(s_->timeout);
        gloo::allreduce(o);
      } else if (kind_ == kBroadcast) {
        if (n_ == 0 || s_->ctx->size == 1) return;
        gloo::BroadcastOptions o(s_->ctx);
        o.setOutput(data_, n_);
        o.setRoot(root_);
        o.setTag(tag);
        o.setTimeout(s_->timeout);
        gloo::broadcast(o);
      } else {
        gloo::BarrierOptions o(s_->ctx);
        o.setTag(tag);
        o.setTimeout(s_->timeout);
        gloo::barrier(o);
      }
    } catch (const std::exception& e) {
      SetError("gloo: " + what(e));
    }
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<GroupState> s_;
  Kind kind_;
  int root_;
  Napi::ObjectReference ref_;
  float* data_ = nullptr;
  size_t n_ = 0;
  uint64_t ticket_ = 0;
};

Napi::Float32Array f32Arg(const Napi::CallbackInfo& info, const char* fn) {
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(info.Env(), std::string("gloo ") + fn + ": the first argument must be a Float32Array");
  }
  return info[0].As<Napi::Float32Array>();
}

Napi::Value Group::Allreduce(const Napi::CallbackInfo& info) {
  auto* w = new CollectiveWorker(info.Env(), live(info.Env()), CollectiveWorker::kAllreduce, f32Arg(info, "allreduce"), 0);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

Napi::Value Group::Broadcast(const Napi::CallbackInfo& info) {
  auto s = live(info.Env());
  Napi::Float32Array buf = f32Arg(info, "broadcast");
  if (info.Length() < 2 || !info[1].IsNumber()) throw Napi::TypeError::New(info.Env(), "gloo broadcast: root must be a number");
  const int root = info[1].As<Napi::Number>().Int32Value();
  if (root < 0 || root >= s->ctx->size) {
    throw Napi::RangeError::New(info.Env(), "gloo broadcast: root " + std::to_string(root) + " is not a rank of this group of " +
                                                std::to_string(s->ctx->size));
  }
  auto* w = new CollectiveWorker(info.Env(), s, CollectiveWorker::kBroadcast, buf, root);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

Napi::Value Group::Barrier(const Napi::CallbackInfo& info) {
  auto* w = new CollectiveWorker(info.Env(), live(info.Env()), CollectiveWorker::kBarrier, Napi::Float32Array(), 0);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

// Rendezvous: a Gloo full mesh bootstrapped through lmkit's store.
class ConnectWorker : public Napi::AsyncWorker {
 public:
  ConnectWorker(Napi::Env env, std::string host, int port, int rank, int size, std::string prefix, std::chrono::milliseconds timeout,
                std::string hostname, std::string iface)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        host_(std::move(host)),
        port_(port),
        rank_(rank),
        size_(size),
        prefix_(std::move(prefix)),
        timeout_(timeout),
        hostname_(std::move(hostname)),
        iface_(std::move(iface)) {}
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      StoreClient client(host_, port_, timeout_);
      GlooStore store(client, prefix_, timeout_);
      gloo::transport::tcp::attr attr;
      if (!iface_.empty()) attr.iface = iface_;
      else attr.hostname = hostname_;
      auto dev = gloo::transport::tcp::CreateDevice(attr);
      auto ctx = std::make_shared<gloo::rendezvous::Context>(rank_, size_);
      ctx->setTimeout(timeout_);
      ctx->connectFullMesh(store, dev);
      ctx_ = std::move(ctx);
    } catch (const std::exception& e) {
      SetError("gloo rendezvous: " + what(e));
    }
  }
  void OnOK() override {
    Napi::Object g = Group::ctor.New({});
    auto s = std::make_shared<GroupState>();
    s->ctx = std::move(ctx_);
    s->timeout = timeout_;
    Group::Unwrap(g)->state = std::move(s);
    deferred_.Resolve(g);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string host_;
  int port_, rank_, size_;
  std::string prefix_;
  std::chrono::milliseconds timeout_;
  std::string hostname_, iface_;
  std::shared_ptr<gloo::rendezvous::Context> ctx_;
};

std::string strField(const Napi::Object& o, const char* k, const std::string& dflt) {
  Napi::Value v = o.Get(k);
  if (v.IsUndefined()) return dflt;
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string("gloo connect: ") + k + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}
int64_t intField(const Napi::Object& o, const char* k, int64_t lo, int64_t hi) {
  Napi::Value v = o.Get(k);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("gloo connect: ") + k + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != static_cast<double>(static_cast<int64_t>(d))) {
    throw Napi::RangeError::New(o.Env(), std::string("gloo connect: ") + k + " must be an integer in [" + std::to_string(lo) + ", " +
                                             std::to_string(hi) + "]");
  }
  return static_cast<int64_t>(d);
}

Napi::Value Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "gloo connect: expected an options object");
  Napi::Object o = info[0].As<Napi::Object>();
  const int size = static_cast<int>(intField(o, "size", 1, 1 << 20));
  const int rank = static_cast<int>(intField(o, "rank", 0, size - 1));
  const int port = static_cast<int>(intField(o, "port", 1, 65535));
  const int64_t timeout = intField(o, "timeoutMs", 1, int64_t(1) << 40);
  auto* w = new ConnectWorker(env, strField(o, "host", "127.0.0.1"), port, rank, size, strField(o, "prefix", "gloo/"),
                              std::chrono::milliseconds(timeout), strField(o, "hostname", "127.0.0.1"), strField(o, "iface", ""));
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

// ---- NCCL --------------------------------------------------------------------------------

std::string ncclError(const nccl::Api* a, nccl::Result r) {
  return "nccl: " + std::string(a->getErrorString ? a->getErrorString(r) : "error") + " (code " + std::to_string(r) + ")";
}

Napi::Value NcclInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const bool ok = nccl::api() != nullptr;
  o.Set("loaded", Napi::Boolean::New(env, ok));
  o.Set("path", Napi::String::New(env, nccl::path()));
  o.Set("version", Napi::Number::New(env, nccl::version()));
  o.Set("error", Napi::String::New(env, nccl::error()));
  return o;
}

const nccl::Api* needNccl(Napi::Env env) {
  const nccl::Api* a = nccl::api();
  if (a == nullptr) throw Napi::Error::New(env, "nccl: not available (" + nccl::error() + "); set LMKIT_NCCL to libnccl.so.2");
  return a;
}

Napi::Value NcclUniqueId(const Napi::CallbackInfo& info) {
  const nccl::Api* a = needNccl(info.Env());
  nccl::UniqueId id{};
  const nccl::Result r = a->getUniqueId(&id);
  if (r != 0) throw Napi::Error::New(info.Env(), ncclError(a, r));
  return Napi::Buffer<char>::Copy(info.Env(), id.internal, sizeof id.internal);
}

struct NcclState {
  nccl::Comm comm = nullptr;
  std::mutex mu;
  std::condition_variable turn;
  uint64_t serving = 0;
  std::atomic<uint64_t> issued{0};
  // Runs `f` when this ticket's turn comes (under mu), then hands the turn on.
  template <typename F>
  std::string inTurn(uint64_t ticket, F&& f) {
    std::unique_lock<std::mutex> lock(mu);
    turn.wait(lock, [&] { return serving == ticket; });
    std::string err = f();
    serving++;
    turn.notify_all();
    return err;
  }
  ~NcclState() {
    if (comm != nullptr && nccl::api() != nullptr) nccl::api()->commDestroy(comm);
  }
};

class NcclComm : public Napi::ObjectWrap<NcclComm> {
 public:
  static Napi::FunctionReference ctor;
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "NcclComm",
                                   {InstanceMethod("allreduce", &NcclComm::Allreduce), InstanceMethod("broadcast", &NcclComm::Broadcast),
                                    InstanceMethod("allreduceMany", &NcclComm::AllreduceMany), InstanceMethod("destroy", &NcclComm::Destroy)});
    ctor = Napi::Persistent(f);
    ctor.SuppressDestruct();
    exports.Set("NcclComm", f);
  }
  explicit NcclComm(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NcclComm>(info) {}
  std::shared_ptr<NcclState> state;

 private:
  Napi::Value Allreduce(const Napi::CallbackInfo& info) { return Op(info, false); }
  Napi::Value Broadcast(const Napi::CallbackInfo& info) { return Op(info, true); }
  Napi::Value Op(const Napi::CallbackInfo& info, bool bcast);
  Napi::Value AllreduceMany(const Napi::CallbackInfo& info);
  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    state.reset();
    return info.Env().Undefined();
  }
};
Napi::FunctionReference NcclComm::ctor;

class NcclWorker : public Napi::AsyncWorker {
 public:
  NcclWorker(Napi::Env env, std::function<std::string()> run, std::function<Napi::Value(Napi::Env)> ok)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), run_(std::move(run)), ok_(std::move(ok)) {}
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    const std::string err = run_();
    if (!err.empty()) SetError(err);
  }
  void OnOK() override { deferred_.Resolve(ok_ ? ok_(Env()) : Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<std::string()> run_;
  std::function<Napi::Value(Napi::Env)> ok_;
};

uint64_t bigintArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsBigInt()) throw Napi::TypeError::New(info.Env(), std::string("nccl: ") + what + " must be a bigint");
  bool lossless = false;
  const uint64_t v = info[i].As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throw Napi::RangeError::New(info.Env(), std::string("nccl: ") + what + " does not fit 64 bits");
  return v;
}

Napi::Value NcclComm::Op(const Napi::CallbackInfo& info, bool bcast) {
  Napi::Env env = info.Env();
  const nccl::Api* a = needNccl(env);
  if (!state) throw Napi::Error::New(env, "nccl: the communicator was destroyed");
  void* ptr = reinterpret_cast<void*>(static_cast<uintptr_t>(bigintArg(info, 0, "the device pointer")));
  if (info.Length() < 2 || !info[1].IsNumber()) throw Napi::TypeError::New(env, "nccl: count must be a number");
  const double count = info[1].As<Napi::Number>().DoubleValue();
  if (!(count >= 0) || count != static_cast<double>(static_cast<int64_t>(count))) throw Napi::RangeError::New(env, "nccl: count must be an integer >= 0");
  int root = 0;
  size_t streamArg = 2;
  if (bcast) {
    if (info.Length() < 3 || !info[2].IsNumber()) throw Napi::TypeError::New(env, "nccl: root must be a number");
    root = info[2].As<Napi::Number>().Int32Value();
    streamArg = 3;
  }
  nccl::Stream stream = reinterpret_cast<nccl::Stream>(static_cast<uintptr_t>(bigintArg(info, streamArg, "the stream")));
  auto s = state;
  const size_t n = static_cast<size_t>(count);
  const uint64_t ticket = s->issued.fetch_add(1);
  auto* w = new NcclWorker(
      env,
      [a, s, ptr, n, root, stream, bcast, ticket]() -> std::string {
        return s->inTurn(ticket, [&]() -> std::string {
          const nccl::Result r = bcast ? a->broadcast(ptr, ptr, n, nccl::kFloat32, root, s->comm, stream)
                                       : a->allReduce(ptr, ptr, n, nccl::kFloat32, nccl::kSum, s->comm, stream);
          if (r != 0) return ncclError(a, r);
          const int cr = a->streamSynchronize(stream);
          if (cr != 0) return "nccl: cudaStreamSynchronize failed (CUDA error " + std::to_string(cr) + ")";
          return "";
        });
      },
      nullptr);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

Napi::Value NcclComm::AllreduceMany(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const nccl::Api* a = needNccl(env);
  if (!state) throw Napi::Error::New(env, "nccl: the communicator was destroyed");
  if (info.Length() < 3 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_biguint64_array ||
      !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    throw Napi::TypeError::New(env, "nccl allreduceMany(ptrs: BigUint64Array, counts: Float64Array, stream: bigint)");
  }
  Napi::TypedArrayOf<uint64_t> ptrs = info[0].As<Napi::TypedArrayOf<uint64_t>>();
  Napi::Float64Array counts = info[1].As<Napi::Float64Array>();
  if (ptrs.ElementLength() != counts.ElementLength()) throw Napi::RangeError::New(env, "nccl allreduceMany: as many counts as pointers");
  std::vector<std::pair<void*, size_t>> items;
  for (size_t i = 0; i < ptrs.ElementLength(); i++) {
    const double c = counts[i];
    if (!(c >= 0) || c != static_cast<double>(static_cast<int64_t>(c))) throw Napi::RangeError::New(env, "nccl allreduceMany: counts must be integers >= 0");
    items.emplace_back(reinterpret_cast<void*>(static_cast<uintptr_t>(ptrs[i])), static_cast<size_t>(c));
  }
  nccl::Stream stream = reinterpret_cast<nccl::Stream>(static_cast<uintptr_t>(bigintArg(info, 2, "the stream")));
  auto s = state;
  const uint64_t ticket = s->issued.fetch_add(1);
  auto* w = new NcclWorker(
      env,
      [a, s, items, stream, ticket]() -> std::string {
        return s->inTurn(ticket, [&]() -> std::string {
          nccl::Result r = a->groupStart();
          if (r != 0) return ncclError(a, r);
          std::string err;
          for (const auto& [ptr, n] : items) {
            r = a->allReduce(ptr, ptr, n, nccl::kFloat32, nccl::kSum, s->comm, stream);
            if (r != 0) {
              err = ncclError(a, r);
              break;
            }
          }
          r = a->groupEnd();
          if (err.empty() && r != 0) err = ncclError(a, r);
          if (!err.empty()) return err;
          const int cr = a->streamSynchronize(stream);
          if (cr != 0) return "nccl: cudaStreamSynchronize failed (CUDA error " + std::to_string(cr) + ")";
          return std::string();
        });
      },
      nullptr);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

Napi::Value NcclInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const nccl::Api* a = needNccl(env);
  if (info.Length() < 4 || !info[0].IsBuffer() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber()) {
    throw Napi::TypeError::New(env, "ncclInit(id: Buffer, rank, size, device)");
  }
  Napi::Buffer<char> idb = info[0].As<Napi::Buffer<char>>();
  if (idb.Length() != sizeof(nccl::UniqueId)) throw Napi::RangeError::New(env, "ncclInit: the id must be 128 bytes (from ncclUniqueId())");
  nccl::UniqueId id{};
  std::memcpy(id.internal, idb.Data(), sizeof id.internal);
  const int rank = info[1].As<Napi::Number>().Int32Value();
  const int size = info[2].As<Napi::Number>().Int32Value();
  const int device = info[3].As<Napi::Number>().Int32Value();
  if (size < 1 || rank < 0 || rank >= size) throw Napi::RangeError::New(env, "ncclInit: need 0 <= rank < size");
  auto s = std::make_shared<NcclState>();
  auto* w = new NcclWorker(
      env,
      [a, s, id, rank, size, device]() -> std::string {
        const int cr = a->setDevice(device);
        if (cr != 0) return "nccl: cudaSetDevice(" + std::to_string(device) + ") failed (CUDA error " + std::to_string(cr) + ")";
        const nccl::Result r = a->commInitRank(&s->comm, size, id, rank);
        return r == 0 ? std::string() : ncclError(a, r);
      },
      [s](Napi::Env) -> Napi::Value {
        Napi::Object c = NcclComm::ctor.New({});
        NcclComm::Unwrap(c)->state = s;
        return c;
      });
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Group::Init(env, exports);
  NcclComm::Init(env, exports);
  exports.Set("connect", Napi::Function::New(env, Connect));
  exports.Set("ncclInfo", Napi::Function::New(env, NcclInfo));
  exports.Set("ncclUniqueId", Napi::Function::New(env, NcclUniqueId));
  exports.Set("ncclInit", Napi::Function::New(env, NcclInit));
  exports.Set("glooVersion", Napi::String::New(env, std::to_string(GLOO_VERSION_MAJOR) + "." + std::to_string(GLOO_VERSION_MINOR) + "." +
                                                        std::to_string(GLOO_VERSION_PATCH)));
  return exports;
}

}  // namespace
}  // namespace dist
}  // namespace lmkit

static Napi::Object InitGloo(Napi::Env env, Napi::Object exports) { return lmkit::dist::Init(env, exports); }
NODE_API_MODULE(lmkit_gloo, InitGloo)
