// The probe component: calls every capability-gated function of aether:host@0.1.0 once, with
// arguments that would act if allowed, and prints one line per call on stdout:
//   <interface>.<function> ok            the host acted
//   <interface>.<function> <case> <text> the host refused (<case> is the host-error case)
// Tests run it with a gate that denies everything (each line must say "denied") and with one
// that allows everything (each line must say "ok" when the services succeed).
// The URL is fixed: http://127.0.0.1:18901/probe (tests/sandbox/corpus_test.sh serves it).
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

static void report(const char* fn, bool ok, aether_host_types_host_error_t* e) {
  if (ok) {
    printf("%s ok\n", fn);
  } else {
    // Every case carries a string (host.wit); print it.
    const app_string_t* s = &e->val.denied;
    printf("%s %s %.*s\n", fn, caseName(e), (int)s->len, (const char*)s->ptr);
    aether_host_types_host_error_free(e);
  }
}

static app_string_t str(const char* s) {
  app_string_t out = {(uint8_t*)s, strlen(s)};
  return out;
}

bool exports_app_run(app_string_t* err) {
  (void)err;
  aether_host_types_host_error_t e;
  uint8_t bytes[4] = {1, 2, 3, 4};
  app_list_u8_t data = {bytes, sizeof bytes};

  app_list_u8_t sig;
  bool ok = aether_host_identity_sign(&data, &sig, &e);
  if (ok) app_list_u8_free(&sig);
  report("identity.sign", ok, &e);

  app_string_t key = str("app/probe");
  ok = aether_host_kv_set(&key, &data, &e);
  report("kv.set", ok, &e);

  app_option_list_u8_t got;
  ok = aether_host_kv_get(&key, &got, &e);
  if (ok) app_option_list_u8_free(&got);
  report("kv.get", ok, &e);

  app_string_t prefix = str("app/");
  app_list_string_t keys;
  ok = aether_host_kv_keys(&prefix, &keys, &e);
  if (ok) app_list_string_free(&keys);
  report("kv.keys", ok, &e);

  ok = aether_host_kv_delete(&key, &e);
  report("kv.delete", ok, &e);

  app_string_t cid;
  ok = aether_host_blocks_put(&data, &cid, &e);
  if (ok) app_string_free(&cid);
  report("blocks.put", ok, &e);

  app_string_t some_cid = str("bafkreidvbhs33ighmljlvr7zbv2ywwzcmp5adtf4kqvlly67cy56bdtmve");
  app_list_u8_t block;
  ok = aether_host_blocks_get(&some_cid, &block, &e);
  if (ok) app_list_u8_free(&block);
  report("blocks.get", ok, &e);

  app_string_t stream = str("notes");
  uint64_t seq = 0;
  ok = aether_host_streams_append(&stream, &data, &seq, &e);
  report("streams.append", ok, &e);

  app_string_t author = str("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK");
  app_list_u8_t entry;
  ok = aether_host_streams_read(&author, &stream, 0, &entry, &e);
  if (ok) app_list_u8_free(&entry);
  report("streams.read", ok, &e);

  aether_host_http_request_t req;
  memset(&req, 0, sizeof req);
  req.method = str("GET");
  req.url = str("http://127.0.0.1:18901/probe");
  aether_host_http_response_t resp;
  ok = aether_host_http_fetch(&req, &resp, &e);
  if (ok) aether_host_http_response_free(&resp);
  report("http.fetch", ok, &e);

  app_string_t ev = str("probe");
  app_string_t detail = str("probing the host");
  ok = aether_host_events_emit(&ev, &detail, &e);
  report("events.emit", ok, &e);

  fflush(stdout);
  return true;
}
