#include "e2e/process.hpp"

#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <poll.h>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX

namespace emporium::test {

namespace {

// GCC defines these for -fsanitize=address and -fsanitize=thread (the `asan` and `tsan` presets).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

}  // namespace

Process::Process(std::vector<std::string> argv, const std::map<std::string, std::string>& env)
    : program_(argv.empty() ? std::string() : argv.front()), is_emporium_(program_ == EMPORIUM_BINARY) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string entry(*e);
        auto key = entry.substr(0, entry.find('='));
        if (env.count(key) == 0) env_strings.push_back(entry);
    }
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);

    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        ::dup2(fds[1], STDOUT_FILENO);
        ::close(fds[0]);
        ::close(fds[1]);
        ::execve(args[0], args.data(), envp.data());
        std::_Exit(127);
    }
    ::close(fds[1]);
    stdout_fd_ = fds[0];
}

Process::~Process() {
    if (!exited_ && pid_ > 0 && kSanitized && is_emporium_ && !killed_) {
        ::kill(pid_, SIGTERM);
        if (wait(kSanitizedStopTimeout) < 0) {
            ADD_FAILURE() << program_ << " (pid " << pid_ << ") did not exit within "
                          << kSanitizedStopTimeout.count() << " s of SIGTERM";
        } else if (status_ != 0 && status_ != 128 + SIGABRT) {  // an abort was reported by wait()
            ADD_FAILURE() << program_ << " (pid " << pid_ << ") exited with status " << status_
                          << " after SIGTERM; its sanitizer report, if any, is on stderr above";
        }
    }
    if (!exited_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

void Process::check_status() const {
    if (is_emporium_ && !killed_ && status_ == 128 + SIGABRT) {
        ADD_FAILURE() << program_ << " (pid " << pid_
                      << ") aborted: a failed assertion or a sanitizer report, on stderr above";
    }
}

std::string Process::wait_for_line(const std::string& needle, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        std::size_t nl;
        while ((nl = buffer_.find('\n')) != std::string::npos) {
            auto line = buffer_.substr(0, nl);
            buffer_.erase(0, nl + 1);
            if (line.find(needle) != std::string::npos) return line;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) throw std::runtime_error("timed out waiting for '" + needle + "'");
        pollfd p{stdout_fd_, POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r <= 0) continue;
        char buf[4096];
        auto n = ::read(stdout_fd_, buf, sizeof buf);
        if (n <= 0) throw std::runtime_error("process exited before printing '" + needle + "'");
        buffer_.append(buf, static_cast<std::size_t>(n));
    }
}

void Process::signal(int signo) {
    if (exited_) return;
    if (signo == SIGKILL) killed_ = true;
    ::kill(pid_, signo);
}

int Process::wait(std::chrono::milliseconds timeout) {
    if (exited_) return status_;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        int st = 0;
        auto r = ::waitpid(pid_, &st, WNOHANG);
        if (r == pid_) {
            exited_ = true;
            status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            check_status();
            return status_;
        }
        // Keep reading stdout meanwhile: a child blocked on a full pipe could never exit.
        pollfd p{stdout_fd_, POLLIN, 0};
        if (::poll(&p, 1, 0) > 0) {
            char buf[4096];
            auto n = ::read(stdout_fd_, buf, sizeof buf);
            if (n > 0) {
                buffer_.append(buf, static_cast<std::size_t>(n));
                continue;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
}

std::map<std::string, std::string> ServerProcess::environment(std::map<std::string, std::string> extra) {
    std::map<std::string, std::string> env = {
        {"HTTP_HOST", "127.0.0.1"},
        {"HTTP_PORT", "0"},
        {"HTTP_THREADS", "2"},
        {"LOG_LEVEL", "warn"},
        {"DOCS_DIR", source_dir() + "/node_modules/swagger-ui-dist"},
        {"DATABASE_URL", test_database_admin_url()},
        {"REDIS_URL", test_redis_url()},
    };
    for (auto& [k, v] : extra) env[k] = v;
    return env;
}

ServerProcess::ServerProcess(std::map<std::string, std::string> extra_env)
    : process_({EMPORIUM_BINARY, "serve", "--env-file", "/nonexistent"}, environment(std::move(extra_env))) {
    auto line = process_.wait_for_line("listening on http://", std::chrono::seconds(20));
    auto colon = line.find(':', line.find("http://") + 7);
    port_ = static_cast<unsigned short>(std::stoi(line.substr(colon + 1)));
}

}  // namespace emporium::test
