// The fs-quota bomb: tries to put more bytes into its writable mount /data than the app's file
// storage quota allows, through every WASI path wasi-libc offers, and prints one line per
// attempt:
//   pwrite at 1 TiB: <strerror or "ok">             descriptor.write far past the end
//   ftruncate to 1 TiB: <strerror or "ok">          descriptor.set-size
//   sequential: <n> bytes (file size <m>), then <strerror>
//                                                   write() in 64 KiB calls (write-via-stream)
//   append: <bytes> bytes, then <strerror>          O_APPEND writes (append-via-stream)
//   files: <n> created, then <strerror>             new directory entries
//   overwrite in place: <"ok" or strerror>          rewriting existing bytes (free)
// Each write loop stops at 64 MiB, so an unenforced quota ends the run without filling a disk.
// Run with `--grant "fs.write /data/*"` and a small quota (tests/sandbox/corpus_test.sh,
// src/sandbox/fs_test.cc): every attempt must stop at the quota with EDQUOT. (The preview1
// adapter reports a write() that failed part-way as failed: "sequential" counts the calls that
// succeeded, the file size what landed.)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"

static char chunk[64 << 10];
static const long long kStop = 64LL << 20;

static long long fill(int fd, int* error) {
  long long total = 0;
  *error = 0;
  while (total < kStop) {
    ssize_t n = write(fd, chunk, sizeof chunk);
    if (n < 0) {
      *error = errno;
      break;
    }
    total += n;
  }
  return total;
}

static const char* outcome(int rc) { return rc == 0 ? "ok" : strerror(errno); }

bool exports_app_run(app_string_t* err) {
  (void)err;
  memset(chunk, 'q', sizeof chunk);
  int error = 0;

  int fd = open("/data/sparse.bin", O_RDWR | O_CREAT, 0644);
  if (fd < 0) {
    printf("open /data/sparse.bin: %s\n", strerror(errno));
  } else {
    const long long tib = 1LL << 40;
    printf("pwrite at 1 TiB: %s\n", outcome(pwrite(fd, "x", 1, tib) == 1 ? 0 : -1));
    printf("ftruncate to 1 TiB: %s\n", outcome(ftruncate(fd, tib)));
    close(fd);
  }

  fd = open("/data/bomb.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    printf("open /data/bomb.bin: %s\n", strerror(errno));
  } else {
    long long n = fill(fd, &error);
    struct stat st;
    long long size = fstat(fd, &st) == 0 ? (long long)st.st_size : -1;
    printf("sequential: %lld bytes (file size %lld), then %s\n", n, size, error ? strerror(error) : "no error");
    close(fd);
  }

  fd = open("/data/bomb.bin", O_WRONLY | O_APPEND);
  if (fd >= 0) {
    long long n = fill(fd, &error);
    printf("append: %lld bytes, then %s\n", n, error ? strerror(error) : "no error");
    close(fd);
  }

  int files = 0;
  error = 0;
  for (; files < 100000; ++files) {
    char path[64];
    snprintf(path, sizeof path, "/data/f%d", files);
    int f = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (f < 0) {
      error = errno;
      break;
    }
    close(f);
  }
  printf("files: %d created, then %s\n", files, error ? strerror(error) : "no error");

  fd = open("/data/bomb.bin", O_WRONLY);
  if (fd >= 0) {
    printf("overwrite in place: %s\n", outcome(pwrite(fd, chunk, 4096, 0) == 4096 ? 0 : -1));
    close(fd);
  }
  fflush(stdout);
  return true;
}
