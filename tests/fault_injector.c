// Fault injector for the durability tests (LD_PRELOAD), from the hardening campaign (issue 11).
// LD_PRELOAD fault injector.
//  FI_MATCH=substr      only fds whose /proc/self/fd path contains substr (and not ".idx")
//  FI_SYNC_FAIL_AT=N    the N-th (1-based) fsync/fdatasync on a matching fd fails with EIO
//  FI_SYNC_FAIL_ALL=1   ... and every later one too (default: only that one; Linux reports a writeback error once)
//  FI_WRITE_BUDGET=B    matching write/writev/pwrite may write B bytes in total; the call that crosses gets a short
//                       write, the next gets FI_WRITE_ERRNO (default ENOSPC=28)
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <stdatomic.h>
static _Atomic long sync_calls = 0;
static _Atomic long long written = 0;
static int matches(int fd) {
  const char* m = getenv("FI_MATCH"); if (!m) return 0;
  char p[64], t[4096]; snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(p, t, sizeof t - 1); if (n <= 0) return 0; t[n] = 0;
  return strstr(t, m) != NULL && strstr(t, ".idx") == NULL && strstr(t, ".tmp-") == NULL;
}
static int sync_should_fail(int fd) {
  if (!matches(fd)) return 0;
  const char* at = getenv("FI_SYNC_FAIL_AT"); if (!at) return 0;
  long k = ++sync_calls; long a = atol(at);
  if (k == a || (k > a && getenv("FI_SYNC_FAIL_ALL"))) { fprintf(stderr, "[fi] failing sync #%ld on fd %d\n", k, fd); return 1; }
  return 0;
}
int fdatasync(int fd) { static int (*real)(int); if (!real) real = dlsym(RTLD_NEXT, "fdatasync");
  if (sync_should_fail(fd)) { errno = EIO; return -1; } return real(fd); }
int fsync(int fd) { static int (*real)(int); if (!real) real = dlsym(RTLD_NEXT, "fsync");
  if (sync_should_fail(fd)) { errno = EIO; return -1; } return real(fd); }
static long long budget_left(void) { const char* b = getenv("FI_WRITE_BUDGET"); if (!b) return -1; long long l = atoll(b) - written; return l < 0 ? 0 : l; }
static int werr(void) { const char* e = getenv("FI_WRITE_ERRNO"); return e ? atoi(e) : ENOSPC; }
ssize_t write(int fd, const void* buf, size_t n) { static ssize_t (*real)(int, const void*, size_t); if (!real) real = dlsym(RTLD_NEXT, "write");
  if (matches(fd)) { long long l = budget_left(); if (l >= 0) { if (l == 0) { errno = werr(); return -1; } if ((long long)n > l) n = (size_t)l; }
    ssize_t r = real(fd, buf, n); if (r > 0) written += r; return r; }
  return real(fd, buf, n); }
ssize_t writev(int fd, const struct iovec* iov, int cnt) { static ssize_t (*real)(int, const struct iovec*, int); if (!real) real = dlsym(RTLD_NEXT, "writev");
  if (matches(fd)) { long long l = budget_left(); if (l >= 0) { if (l == 0) { errno = werr(); return -1; }
      struct iovec v[1024]; int k = 0; long long tot = 0; for (int i = 0; i < cnt && k < 1024 && tot < l; ++i) { v[k] = iov[i]; if (tot + (long long)v[k].iov_len > l) v[k].iov_len = (size_t)(l - tot); tot += v[k].iov_len; ++k; }
      ssize_t r = real(fd, v, k); if (r > 0) written += r; return r; }
    ssize_t r = real(fd, iov, cnt); if (r > 0) written += r; return r; }
  return real(fd, iov, cnt); }
