#include "cli/terminal.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace aether::cli {

bool haveTty() { return isatty(STDIN_FILENO) == 1; }

Result<std::string> readSecretFromTty(std::string_view prompt) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) return fail(Errc::kNotFound, "no terminal to prompt on");
  termios old{};
  const bool is_term = tcgetattr(fd, &old) == 0;
  if (is_term) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  (void)!::write(fd, prompt.data(), prompt.size());
  std::string line;
  char c;
  ssize_t n;
  while ((n = ::read(fd, &c, 1)) == 1 && c != '\n') line.push_back(c);
  const int read_errno = errno;
  if (is_term) tcsetattr(fd, TCSAFLUSH, &old);
  ::close(fd);
  if (n < 0) return fail(Errc::kIo, std::string("reading the passphrase: ") + std::strerror(read_errno));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Result<bool> askYesNo(std::string_view question) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) return fail(Errc::kNotFound, "no terminal to ask on");
  (void)!::write(fd, question.data(), question.size());
  std::string line;
  char c;
  ssize_t n;
  while ((n = ::read(fd, &c, 1)) == 1 && c != '\n') line.push_back(c);
  ::close(fd);
  if (n < 0) return fail(Errc::kIo, "reading the answer failed");
  return line == "y" || line == "Y" || line == "yes" || line == "YES" || line == "Yes";
}

}  // namespace aether::cli
