// The streams component: appends to its own signed stream through aether:host/streams and
// reads entries back, its own and another author's (the node's stream "shared"). One line per
// call on stdout:
//   append notes <seq>              / append <name> <host-error case> <text>
//   read own notes 1 <payload>      / read ... <host-error case> <text>
//   read node shared 0 <payload>
// It appends "entry 0", "entry 1" and a 2000-byte payload (stored as a separate block) to
// "notes", tries a name the host must refuse as invalid ("../notes") and one it was not
// granted ("other"). src/node/app_test.cc (StreamsTest) and tests/sandbox/corpus_test.sh check
// what lands in the node's vault with the log API and `aether log verify`.
#include <stdio.h>
#include <string.h>

#include "app.h"

static const char* caseName(const aether_host_types_host_error_t* e) {
  switch (e->tag) {
    case AETHER_HOST_TYPES_HOST_ERROR_DENIED: return "denied";
    case AETHER_HOST_TYPES_HOST_ERROR_INVALID: return "invalid";
    case AETHER_HOST_TYPES_HOST_ERROR_NOT_FOUND: return "not-found";
    case AETHER_HOST_TYPES_HOST_ERROR_LIMIT_EXCEEDED: return "limit-exceeded";
    case AETHER_HOST_TYPES_HOST_ERROR_UNAVAILABLE: return "unavailable";
    default: return "internal";
  }
}

static void printError(aether_host_types_host_error_t* e) {
  const app_string_t* s = &e->val.denied;  // every case carries a string
  printf(" %s %.*s\n", caseName(e), (int)s->len, (const char*)s->ptr);
  aether_host_types_host_error_free(e);
}

static app_string_t str(const char* s) {
  app_string_t out = {(uint8_t*)s, strlen(s)};
  return out;
}

static void append(const char* name, const uint8_t* bytes, size_t len) {
  app_string_t n = str(name);
  app_list_u8_t data = {(uint8_t*)bytes, len};
  uint64_t seq = 0;
  aether_host_types_host_error_t e;
  printf("append %s", name);
  if (aether_host_streams_append(&n, &data, &seq, &e)) {
    printf(" %llu\n", (unsigned long long)seq);
  } else {
    printError(&e);
  }
}

static void readEntry(const char* who, app_string_t* author, const char* name, uint64_t seq) {
  app_string_t n = str(name);
  app_list_u8_t payload;
  aether_host_types_host_error_t e;
  printf("read %s %s %llu", who, name, (unsigned long long)seq);
  if (aether_host_streams_read(author, &n, seq, &payload, &e)) {
    if (payload.len <= 64) {
      printf(" %.*s\n", (int)payload.len, (const char*)payload.ptr);
    } else {
      printf(" (%zu bytes)\n", payload.len);
    }
    app_list_u8_free(&payload);
  } else {
    printError(&e);
  }
}

bool exports_app_run(app_string_t* err) {
  (void)err;
  append("notes", (const uint8_t*)"entry 0", 7);
  append("notes", (const uint8_t*)"entry 1", 7);
  static uint8_t big[2000];
  memset(big, 'b', sizeof big);
  append("notes", big, sizeof big);
  append("../notes", (const uint8_t*)"x", 1);
  append("other", (const uint8_t*)"x", 1);

  app_string_t me;
  aether_host_identity_app_did(&me);
  readEntry("own", &me, "notes", 1);
  readEntry("own", &me, "notes", 2);
  readEntry("own", &me, "notes", 99);
  app_string_free(&me);

  app_string_t node;
  aether_host_identity_did(&node);
  readEntry("node", &node, "shared", 0);
  app_string_free(&node);

  fflush(stdout);
  return true;
}
