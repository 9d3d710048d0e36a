// A blocking C++ client of lmkit's rendezvous store (protocol: lib/dist/store.ts), and Gloo's
// rendezvous::Store interface over it (Gloo 2022-05 has no TCP store of its own). Used only from
// worker threads (never the Node main thread: rank 0's main thread serves the store).
#pragma once

#include <gloo/rendezvous/store.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace lmkit {
namespace dist {

class StoreClient {
 public:
  // Connects to host:port, retrying for up to connect_timeout. Throws std::runtime_error.
  StoreClient(const std::string& host, int port, std::chrono::milliseconds connect_timeout);
  ~StoreClient();
  StoreClient(const StoreClient&) = delete;
  StoreClient& operator=(const StoreClient&) = delete;

  void set(const std::string& key, const std::vector<char>& value);
  // Throws std::runtime_error (the message says timeout) when the key is not set in time.
  std::vector<char> get(const std::string& key, std::chrono::milliseconds timeout);
  void wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout);
  int64_t add(const std::string& key, int64_t delta);

 private:
  // Sends one request frame and reads the answer's body (status byte first).
  std::vector<char> roundTrip(const std::vector<char>& body, std::chrono::milliseconds timeout);
  int fd_ = -1;
  std::string where_;
};

// Gloo's Store: keys prefixed (so one store serves several groups), timeouts from the context.
class GlooStore : public ::gloo::rendezvous::Store {
 public:
  GlooStore(StoreClient& client, std::string prefix, std::chrono::milliseconds timeout)
      : client_(client), prefix_(std::move(prefix)), timeout_(timeout) {}
  void set(const std::string& key, const std::vector<char>& data) override;
  std::vector<char> get(const std::string& key) override;
  void wait(const std::vector<std::string>& keys) override;
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override;

 private:
  StoreClient& client_;
  std::string prefix_;
  std::chrono::milliseconds timeout_;
};

}  // namespace dist
}  // namespace lmkit
