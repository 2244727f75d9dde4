#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <sys/types.h>

namespace emporium::test {

// A child process (the real `emporium` binary) with its stdout captured, for end-to-end tests.
//
// An `emporium` child that aborts (SIGABRT: a failed assertion, or any sanitizer report, since the
// sanitized test runs set abort_on_error=1) fails the current test. In sanitizer builds an
// `emporium` child still running at destruction is stopped with SIGTERM rather than SIGKILL, so that
// it shuts down cleanly and its sanitizer runtime checks for leaks at exit; a non-zero exit, or no
// exit within kSanitizedStopTimeout, fails the current test.
class Process {
public:
    // Starts `argv` with the current environment plus `env`. Throws std::runtime_error on failure.
    Process(std::vector<std::string> argv, const std::map<std::string, std::string>& env);
    // Stops the child if it still runs (see above) and closes the pipe.
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    // Reads stdout until a line contains `needle`; returns that line. Throws on timeout or exit.
    std::string wait_for_line(const std::string& needle, std::chrono::milliseconds timeout);
    // Sends a signal. After SIGKILL the destructor no longer checks how the child ended.
    void signal(int signo);
    // Waits for exit; returns the exit status (128+signal if killed), or -1 on timeout.
    int wait(std::chrono::milliseconds timeout);
    pid_t pid() const { return pid_; }

    // How long a sanitized `emporium` child may take to exit after SIGTERM at destruction.
    static constexpr std::chrono::seconds kSanitizedStopTimeout{60};

private:
    void check_status() const;

    std::string program_;
    bool is_emporium_ = false;
    bool killed_ = false;
    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    std::string buffer_;
    bool exited_ = false;
    int status_ = 0;
};

// Starts `emporium serve` on a free port with test settings; `port()` is the bound port.
class ServerProcess {
public:
    explicit ServerProcess(std::map<std::string, std::string> extra_env = {});
    unsigned short port() const { return port_; }
    Process& process() { return process_; }

private:
    static std::map<std::string, std::string> environment(std::map<std::string, std::string> extra);
    Process process_;
    unsigned short port_ = 0;
};

}  // namespace emporium::test
