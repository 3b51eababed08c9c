// The escape component: tries to reach the host's files through WASI (absolute paths, "../"
// climbs, the current directory) and prints one line per attempt: "<path> refused" or
// "<path> OPENED". The sandbox gives components no preopened directory, so every attempt must
// be refused; tests/sandbox/corpus_test.sh checks that through `aether run`.
#include <stdio.h>

#include "app.h"

bool exports_app_run(app_string_t* err) {
  (void)err;
  const char* paths[] = {"/etc/passwd", "../../../../etc/passwd", "./aether.toml", "/", "..", "/proc/self/environ"};
  int opened = 0;
  for (unsigned i = 0; i < sizeof paths / sizeof paths[0]; ++i) {
    FILE* f = fopen(paths[i], "r");
    if (f) {
      ++opened;
      fclose(f);
    }
    printf("%s %s\n", paths[i], f ? "OPENED" : "refused");
  }
  FILE* w = fopen("/tmp/aether-escape-write", "w");
  printf("write /tmp/aether-escape-write %s\n", w ? "OPENED" : "refused");
  if (w) fclose(w);
  fflush(stdout);
  if (opened || w) {
    app_string_dup(err, "escaped the sandbox");
    return false;
  }
  return true;
}
