// The escape component: tries to reach the host's files through WASI (absolute paths, "../"
// climbs, the current directory, a symlink planted in its own mount) and prints one line per
// attempt: "<path> refused" or "<path> OPENED". Run without fs capabilities it has no preopened
// directory and every attempt must be refused; run with "fs.write /data/*" it gets /data (a
// directory inside the app's data dir) and may write /data/note.txt ("write /data/note.txt
// ok"), but nothing above it. tests/sandbox/corpus_test.sh and src/sandbox/fs_test.cc check it.
#include <stdio.h>
#include <unistd.h>

#include "app.h"

bool exports_app_run(app_string_t* err) {
  (void)err;
  const char* paths[] = {"/etc/passwd",
                         "../../../../etc/passwd",
                         "./aether.toml",
                         "/",
                         "..",
                         "/proc/self/environ",
                         "/data/../../../../etc/passwd",
                         "/data/../outside.txt",
                         "/data/up/passwd"};
  // A symlink inside the mount pointing out of it: following it must fail.
  (void)symlink("/etc", "/data/up");
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
  // Inside the mount (when there is one): allowed.
  FILE* n = fopen("/data/note.txt", "w");
  int wrote = n != NULL && fputs("written by the escape guest\n", n) >= 0;
  if (n) wrote = (fclose(n) == 0) && wrote;
  printf("write /data/note.txt %s\n", wrote ? "ok" : "failed");
  fflush(stdout);
  if (opened || w) {
    app_string_dup(err, "escaped the sandbox");
    return false;
  }
  return true;
}
