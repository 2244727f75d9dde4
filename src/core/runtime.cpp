#include "core/runtime.hpp"

namespace emporium::core {
namespace {
thread_local std::size_t t_context_index = Runtime::kNoContext;
}

Runtime::Runtime(unsigned threads) {
    if (threads == 0) threads = 1;
    for (unsigned i = 0; i < threads; ++i) {
        contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
        guards_.emplace_back(contexts_.back()->get_executor());
    }
}

Runtime::~Runtime() { stop(); }

boost::asio::io_context& Runtime::next() { return *contexts_[next_.fetch_add(1) % contexts_.size()]; }

void Runtime::run() {
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < contexts_.size(); ++i) {
        threads.emplace_back([this, i] {
            t_context_index = i;
            contexts_[i]->run();
        });
    }
    t_context_index = 0;
    contexts_[0]->run();
    for (auto& t : threads) t.join();
    t_context_index = kNoContext;
}

void Runtime::release_work() {
    for (auto& g : guards_) g.reset();
}

void Runtime::stop() {
    for (auto& c : contexts_) c->stop();
}

std::size_t Runtime::current_index() { return t_context_index; }

}  // namespace emporium::core
