// The bundled hello guest: asks the host for the node's DID and prints a greeting through the
// host's `aether.print`. Built freestanding for wasm32 (no libc): it can touch nothing but its
// own linear memory and the two host functions it imports.
#define AETHER_IMPORT(name) __attribute__((import_module("aether"), import_name(name)))

AETHER_IMPORT("print") int aether_print(const char* text, int len);
AETHER_IMPORT("node_did") int aether_node_did(char* buf, int cap);

static char message[512];

static int append(int at, const char* s) {
  while (*s && at < (int)sizeof(message)) message[at++] = *s++;
  return at;
}

__attribute__((export_name("run"))) int run(void) {
  int n = append(0, "Hello from a sandboxed Wasm guest! The node hosting me is ");
  int did_len = aether_node_did(message + n, (int)sizeof(message) - n - 2);
  if (did_len < 0) return did_len;
  n += did_len;
  n = append(n, ".\n");
  return aether_print(message, n);
}
