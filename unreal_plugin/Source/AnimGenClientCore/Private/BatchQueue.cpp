#include "BatchQueue.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace animgen {

std::string ParseAtOnce(const std::string& text, int* atOnce)
{
    // Digits only, as the Unity batch reads -animgenJobs (no sign, no spaces, no "2.5" taken as 2); read by hand, since
    // std::stoi throws and the editor is built without exceptions.
    bool digits = !text.empty();
    long long n = 0;
    for (char c : text) {
        digits = digits && c >= '0' && c <= '9';
        if (digits && n <= kMostAtOnce) n = n * 10 + (c - '0');  // stops growing past the limit: no overflow
    }
    if (!digits || n < 1 || n > kMostAtOnce)
        return "must be a whole number from 1 to " + std::to_string(kMostAtOnce) + ", got '" + text + "'";
    *atOnce = int(n);
    return "";
}

std::string AtOnceHint(const std::string& address, int maxConcurrentJobs)
{
    if (maxConcurrentJobs <= 1) return "";
    const std::string n = std::to_string(std::min(maxConcurrentJobs, kMostAtOnce));  // a -Jobs=N the commandlet takes
    return "note: the server at " + address + " runs " + std::to_string(maxConcurrentJobs) + " jobs at once; -Jobs=" + n +
           " sends it this folder's videos " + n + " at a time";
}

int RunInOrder(int count, int atOnce, const std::function<void(int)>& send, const std::function<void(int)>& finish,
               const std::function<bool()>& stopped)
{
    if (count <= 0) return 0;
    atOnce = std::max(1, std::min(atOnce, count));
    std::mutex mutex;
    std::condition_variable toWorkers, toCaller;
    std::deque<int> handed;                    // videos handed to the workers, not yet taken
    std::vector<char> sent(size_t(count), 0);  // send(i) has returned
    int inFlight = 0;                          // handed and not returned
    bool closing = false;
    // A pool of atOnce threads rather than one per video: a slow first video must not leave a thread per later video
    // waiting to be joined.
    std::vector<std::thread> workers;
    for (int w = 0; w < atOnce; ++w) {
        workers.emplace_back([&] {
            std::unique_lock<std::mutex> lock(mutex);
            while (true) {
                toWorkers.wait(lock, [&] { return !handed.empty() || closing; });
                if (handed.empty()) return;
                const int i = handed.front();
                handed.pop_front();
                lock.unlock();
                send(i);
                lock.lock();
                sent[size_t(i)] = 1;
                --inFlight;
                toCaller.notify_one();
            }
        });
    }
    int next = 0, finished = 0;  // the first video not handed out, and the first not finished
    bool halted = false;
    std::unique_lock<std::mutex> lock(mutex);
    while (true) {
        // Free places first: the next upload should not wait behind a finish.
        while (!halted && next < count && inFlight < atOnce) {
            lock.unlock();
            halted = stopped();
            lock.lock();
            if (halted) break;
            handed.push_back(next++);
            ++inFlight;
            toWorkers.notify_one();
        }
        if (finished < next && sent[size_t(finished)]) {
            lock.unlock();
            finish(finished);
            lock.lock();
            ++finished;
            continue;
        }
        if (finished == next && (halted || next == count)) break;
        // Video `finished`'s send is still running (or every place is taken): wait for a send to return.
        toCaller.wait(lock);
    }
    closing = true;
    lock.unlock();
    toWorkers.notify_all();
    for (std::thread& worker : workers) worker.join();
    return next;
}

}  // namespace animgen
