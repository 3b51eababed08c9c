// %NAME%: an Aether app. It runs as a WebAssembly component in the node's sandbox and can
// reach nothing but the host interfaces of wit/host.wit it was granted (see aether.toml).
// Build: `aether build`; run: `aether run . --yes`; rebuild on save: `aether dev`.
#include <stdio.h>
#include <string.h>

#include "app.h"

bool exports_app_run(app_string_t* err) {
  (void)err;
  // Who am I? (needs no capability)
  app_string_t me;
  aether_host_identity_app_did(&me);

  // Remember how often I ran, in my own key-value space (kv.read / kv.write on app/*).
  app_string_t key = {(uint8_t*)"app/runs", 8};
  unsigned runs = 0;
  app_option_list_u8_t old;
  aether_host_types_host_error_t e;
  if (aether_host_kv_get(&key, &old, &e)) {
    if (old.is_some && old.val.len == 1) runs = old.val.ptr[0];
    app_option_list_u8_free(&old);
  } else {
    aether_host_types_host_error_free(&e);
  }
  runs = (runs + 1) & 0xff;
  uint8_t byte = (uint8_t)runs;
  app_list_u8_t value = {&byte, 1};
  if (!aether_host_kv_set(&key, &value, &e)) aether_host_types_host_error_free(&e);

  printf("Hello from %NAME%! I am %.*s, run #%u.\n", (int)me.len, (const char*)me.ptr, runs);
  app_string_free(&me);
  return true;
}
