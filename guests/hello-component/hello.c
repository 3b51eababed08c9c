// The bundled hello component: asks the host for the node's DID through aether:host/identity,
// logs a greeting through aether:host/log and says goodbye on WASI stdout. Written against the
// world `app` of sdk/wit/host.wit; app.h is generated at build time by `wit-bindgen c`.
// Built with wasi-libc as a reactor and wrapped into a WASI Preview 2 component with the
// preview1 adapter (guests/CMakeLists.txt, docs/sandbox.md). It can reach nothing but the host
// interfaces it imports and the empty WASI context the host gives it.
#include <stdio.h>
#include <string.h>

#include "app.h"

// Copies `text` into the err string of run() (freed by the generated post-return code).
static bool failWith(app_string_t* err, const char* text) {
  app_string_dup(err, text);
  return false;
}

static const app_string_t* hostErrorText(const aether_host_log_host_error_t* e) {
  switch (e->tag) {
    case AETHER_HOST_TYPES_HOST_ERROR_DENIED: return &e->val.denied;
    case AETHER_HOST_TYPES_HOST_ERROR_INVALID: return &e->val.invalid;
    case AETHER_HOST_TYPES_HOST_ERROR_NOT_FOUND: return &e->val.not_found;
    case AETHER_HOST_TYPES_HOST_ERROR_LIMIT_EXCEEDED: return &e->val.limit_exceeded;
    case AETHER_HOST_TYPES_HOST_ERROR_UNAVAILABLE: return &e->val.unavailable;
    default: return &e->val.internal;
  }
}

bool exports_app_run(app_string_t* err) {
  app_string_t did;
  aether_host_identity_did(&did);

  static char message[512];
  const int n = snprintf(message, sizeof message,
                         "Hello from a sandboxed Wasm component! The node hosting me is %.*s.", (int)did.len,
                         (const char*)did.ptr);
  app_string_free(&did);
  if (n < 0 || (size_t)n >= sizeof message) return failWith(err, "the node DID does not fit in my greeting");

  app_string_t text = {(uint8_t*)message, (size_t)n};
  aether_host_log_host_error_t log_err;
  if (!aether_host_log_write(AETHER_HOST_LOG_LEVEL_INFO, &text, &log_err)) {
    const app_string_t* why = hostErrorText(&log_err);
    char reason[256];
    snprintf(reason, sizeof reason, "log.write refused my greeting: %.*s", (int)why->len, (const char*)why->ptr);
    aether_host_log_host_error_free(&log_err);
    return failWith(err, reason);
  }

  // WASI stdout works too (the host captures it); nothing else of WASI is granted.
  printf("Goodbye from WASI stdout.\n");
  if (fflush(stdout) != 0) return failWith(err, "stdout refused my goodbye");
  return true;
}
