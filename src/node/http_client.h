// Private to src/node: the HTTP client behind the apps' http.fetch host call. The sandbox calls
// it only after the node's gate allowed the URL; this client dials exactly the origin the gate
// checked (the URL's normal form, cap::normalizeResource) and nothing else: no redirects, no
// proxies, no cookies. https is verified against the system's root certificates (OpenSSL) with
// the URL's host name.
// Thread-safety: httpFetch is reentrant (each call has its own io_context and TLS context).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "base/base.h"
#include "sandbox/sandbox.h"

namespace aether::node {

struct HttpClientOptions {
  // Deadline of the whole exchange: resolve, connect, TLS handshake, request and response.
  std::chrono::milliseconds timeout{10'000};
  // Response body larger than this: kLimitExceeded (headers are capped at 16 KiB separately).
  std::size_t max_response_bytes = 256 << 10;
  // PEM file of trusted roots for https; empty = the system's default roots. (Tests point it at
  // their own CA.)
  std::string ca_file;
  std::string user_agent = "aether-app";
};

// The origin and target an http(s) URL names, as the gate saw it: scheme and host from the
// URL's normal form (lower case, no default port), the target as written (path and query).
// kMalformed / kUnsupported for anything the capability layer would not accept (userinfo,
// fragments, other schemes, bad ports).
struct HttpTarget {
  bool tls = false;
  std::string host;  // for DNS / the Host header / TLS name checks; IPv6 without brackets
  std::string port;
  std::string host_header;  // host[:port] as it goes into the Host header
  std::string target;       // "/path?query"
};
Result<HttpTarget> parseHttpTarget(std::string_view url);

// One request, one response. kInvalidArgument for request headers the client owns (Host,
// Content-Length, Transfer-Encoding, Connection and other hop-by-hop headers) or header text
// with control characters; kIo for network / TLS failures and the deadline ("timed out");
// kLimitExceeded for an oversized response.
Result<sandbox::HttpResponse> httpFetch(const sandbox::HttpRequest& request, const HttpClientOptions& options);

}  // namespace aether::node
