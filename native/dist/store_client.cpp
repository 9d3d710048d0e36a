// See store_client.h. Frames: u32 LE length | body; request body u8 op | fields; strings are
// u32 length | bytes; answers u8 status (0 ok, 1 timeout, 2 error) | payload.
#include "store_client.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace lmkit {
namespace dist {

namespace {
enum Op : uint8_t { kSet = 1, kGet = 2, kAdd = 3, kWait = 4 };

void putU32(std::vector<char>& b, uint32_t v) {
  for (int i = 0; i < 4; i++) b.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void putI64(std::vector<char>& b, int64_t v) {
  const uint64_t u = static_cast<uint64_t>(v);
  for (int i = 0; i < 8; i++) b.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
}
void putBytes(std::vector<char>& b, const char* p, size_t n) {
  putU32(b, static_cast<uint32_t>(n));
  b.insert(b.end(), p, p + n);
}
void putStr(std::vector<char>& b, const std::string& s) { putBytes(b, s.data(), s.size()); }
uint32_t getU32(const std::vector<char>& b, size_t at) {
  if (at + 4 > b.size()) throw std::runtime_error("store: truncated answer");
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= static_cast<uint32_t>(static_cast<unsigned char>(b[at + i])) << (8 * i);
  return v;
}
uint32_t clampMs(std::chrono::milliseconds t) {
  const auto c = t.count();
  return c <= 0 ? 1u : (c > 0x7fffffff ? 0x7fffffffu : static_cast<uint32_t>(c));
}
}  // namespace

StoreClient::StoreClient(const std::string& host, int port, std::chrono::milliseconds connect_timeout)
    : where_(host + ":" + std::to_string(port)) {
  const auto deadline = std::chrono::steady_clock::now() + connect_timeout;
  std::string last;
  for (int delay = 50;; delay = delay * 2 > 1000 ? 1000 : delay * 2) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
    if (rc != 0) {
      last = gai_strerror(rc);
    } else {
      for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
        const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
          fd_ = fd;
          break;
        }
        last = std::strerror(errno);
        close(fd);
      }
      freeaddrinfo(res);
    }
    if (fd_ >= 0) break;
    if (std::chrono::steady_clock::now() + std::chrono::milliseconds(delay) >= deadline) {
      throw std::runtime_error("rendezvous: the store " + where_ + " is unreachable (" + last + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

StoreClient::~StoreClient() {
  if (fd_ >= 0) close(fd_);
}

std::vector<char> StoreClient::roundTrip(const std::vector<char>& body, std::chrono::milliseconds timeout) {
  std::vector<char> frame;
  putU32(frame, static_cast<uint32_t>(body.size()));
  frame.insert(frame.end(), body.begin(), body.end());
  size_t sent = 0;
  while (sent < frame.size()) {
    const ssize_t n = send(fd_, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("rendezvous: lost the store " + where_ + " (" + std::strerror(errno) + ")");
    sent += static_cast<size_t>(n);
  }
  // The server answers timeouts itself; the client waits a little longer before giving up.
  const auto deadline = std::chrono::steady_clock::now() + timeout + std::chrono::seconds(5);
  auto readExact = [&](char* p, size_t len) {
    size_t got = 0;
    while (got < len) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) throw std::runtime_error("rendezvous: the store " + where_ + " did not answer");
      pollfd pfd{fd_, POLLIN, 0};
      const int pr = poll(&pfd, 1, static_cast<int>(left > 1000 ? 1000 : left));
      if (pr < 0 && errno == EINTR) continue;
      if (pr <= 0) continue;
      const ssize_t n = recv(fd_, p + got, len - got, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error("rendezvous: the store " + where_ + " closed the connection (is rank 0 gone?)");
      got += static_cast<size_t>(n);
    }
  };
  char head[4];
  readExact(head, 4);
  const uint32_t len = getU32(std::vector<char>(head, head + 4), 0);
  if (len == 0 || len > (1u << 30)) throw std::runtime_error("store: bad answer");
  std::vector<char> answer(len);
  readExact(answer.data(), len);
  const uint8_t status = static_cast<uint8_t>(answer[0]);
  if (status != 0) {
    std::string msg = "store error";
    if (answer.size() >= 5) {
      const uint32_t n = getU32(answer, 1);
      if (5 + static_cast<size_t>(n) <= answer.size()) msg.assign(answer.data() + 5, n);
    }
    throw std::runtime_error(std::string("rendezvous: ") + (status == 1 ? "timeout: " : "") + msg);
  }
  return answer;
}

void StoreClient::set(const std::string& key, const std::vector<char>& value) {
  std::vector<char> b{static_cast<char>(kSet)};
  putStr(b, key);
  putBytes(b, value.data(), value.size());
  roundTrip(b, std::chrono::seconds(30));
}

std::vector<char> StoreClient::get(const std::string& key, std::chrono::milliseconds timeout) {
  std::vector<char> b{static_cast<char>(kGet)};
  putStr(b, key);
  putU32(b, clampMs(timeout));
  const std::vector<char> a = roundTrip(b, timeout);
  const uint32_t n = getU32(a, 1);
  if (5 + static_cast<size_t>(n) > a.size()) throw std::runtime_error("store: truncated value");
  return std::vector<char>(a.begin() + 5, a.begin() + 5 + n);
}

void StoreClient::wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout) {
  std::vector<char> b{static_cast<char>(kWait)};
  putU32(b, static_cast<uint32_t>(keys.size()));
  for (const auto& k : keys) putStr(b, k);
  putU32(b, clampMs(timeout));
  roundTrip(b, timeout);
}

int64_t StoreClient::add(const std::string& key, int64_t delta) {
  std::vector<char> b{static_cast<char>(kAdd)};
  putStr(b, key);
  putI64(b, delta);
  const std::vector<char> a = roundTrip(b, std::chrono::seconds(30));
  if (a.size() < 9) throw std::runtime_error("store: truncated answer");
  uint64_t u = 0;
  for (int i = 0; i < 8; i++) u |= static_cast<uint64_t>(static_cast<unsigned char>(a[1 + i])) << (8 * i);
  return static_cast<int64_t>(u);
}

void GlooStore::set(const std::string& key, const std::vector<char>& data) { client_.set(prefix_ + key, data); }
std::vector<char> GlooStore::get(const std::string& key) { return client_.get(prefix_ + key, timeout_); }
void GlooStore::wait(const std::vector<std::string>& keys) { wait(keys, timeout_); }
void GlooStore::wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) {
  std::vector<std::string> prefixed;
  prefixed.reserve(keys.size());
  for (const auto& k : keys) prefixed.push_back(prefix_ + k);
  client_.wait(prefixed, timeout);
}

}  // namespace dist
}  // namespace lmkit
