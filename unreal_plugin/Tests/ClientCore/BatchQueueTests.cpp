// RunInOrder, the commandlet's -Jobs=N: real threads and short sleeps; the checks are on orderings and counts, and
// each wait on another thread gives up after seconds (a failure, not a hang): a loaded machine passes as an idle one.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "BatchQueue.h"

using namespace animgen;

namespace {

using namespace std::chrono_literals;

// What the sends and finishes did, in the order they did it ("s2+" send 2 began, "s2-" it returned, "f2" finish 2).
struct Trace {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::string> events;
    int running = 0, mostRunning = 0;
    std::vector<std::thread::id> sendThreads, finishThreads;

    void Begin(int i) {
        std::lock_guard<std::mutex> lock(mutex);
        events.push_back("s" + std::to_string(i) + "+");
        mostRunning = std::max(mostRunning, ++running);
        sendThreads.push_back(std::this_thread::get_id());
        changed.notify_all();
    }
    void End(int i) {
        std::lock_guard<std::mutex> lock(mutex);
        events.push_back("s" + std::to_string(i) + "-");
        --running;
        changed.notify_all();
    }
    void Finish(int i) {
        std::lock_guard<std::mutex> lock(mutex);
        events.push_back("f" + std::to_string(i));
        finishThreads.push_back(std::this_thread::get_id());
        changed.notify_all();
    }
    bool Has(const std::string& event) {
        return std::find(events.begin(), events.end(), event) != events.end();
    }
    // Waits (up to 5 s) until `until` holds; false if it never did.
    template <typename Pred>
    bool WaitFor(Pred until) {
        std::unique_lock<std::mutex> lock(mutex);
        return changed.wait_for(lock, 5s, until);
    }
    size_t At(const std::string& event) {
        return size_t(std::find(events.begin(), events.end(), event) - events.begin());
    }
    std::vector<std::string> Only(char kind) {
        std::vector<std::string> out;
        for (const std::string& e : events)
            if (e[0] == kind) out.push_back(e);
        return out;
    }
};

std::vector<std::string> Finishes(int count) {
    std::vector<std::string> out;
    for (int i = 0; i < count; ++i) out.push_back("f" + std::to_string(i));
    return out;
}

}  // namespace

TEST(BatchQueue, ParseAtOnceTakesAWholeNumberFrom1To64) {
    int n = 7;
    EXPECT_EQ(ParseAtOnce("1", &n), "");
    EXPECT_EQ(n, 1);
    EXPECT_EQ(ParseAtOnce("4", &n), "");
    EXPECT_EQ(n, 4);
    EXPECT_EQ(ParseAtOnce("064", &n), "");
    EXPECT_EQ(n, 64);
    for (const char* bad : {"0", "65", "", "-1", "+2", " 2", "2 ", "2.5", "4x", "abc", "99999999999999999999999"}) {
        n = 7;
        EXPECT_EQ(ParseAtOnce(bad, &n), "must be a whole number from 1 to 64, got '" + std::string(bad) + "'") << bad;
        EXPECT_EQ(n, 7) << bad;  // left as it was
    }
}

TEST(BatchQueue, NoVideosCallsNothing) {
    int calls = 0;
    EXPECT_EQ(RunInOrder(0, 4, [&](int) { ++calls; }, [&](int) { ++calls; }, [&] { ++calls; return false; }), 0);
    EXPECT_EQ(RunInOrder(-1, 4, [&](int) { ++calls; }, [&](int) { ++calls; }, [&] { ++calls; return false; }), 0);
    EXPECT_EQ(calls, 0);
}

TEST(BatchQueue, SendsAtMostAtOnceAndExactlyThatManyWhenThereAreEnough) {
    for (int atOnce : {1, 2, 3, 5}) {
        Trace t;
        const std::thread::id caller = std::this_thread::get_id();
        std::atomic<bool> allTogether{true};
        const int sent = RunInOrder(
            8, atOnce,
            [&](int i) {
                t.Begin(i);
                // The first atOnce wait for each other: they can only all be running if as many are let run at once.
                if (i < atOnce && !t.WaitFor([&] { return t.mostRunning >= atOnce; })) allTogether = false;
                std::this_thread::sleep_for(std::chrono::milliseconds(5 + 7 * (i % 3)));
                t.End(i);
            },
            [&](int i) { t.Finish(i); }, [] { return false; });
        EXPECT_EQ(sent, 8);
        EXPECT_TRUE(allTogether) << atOnce;
        EXPECT_EQ(t.mostRunning, atOnce);
        // Sent in the folder's order, each once: send k is handed out only when sends 0..k-1 have been and a place is
        // free, so k - atOnce + 1 of them have returned by then (the workers' own first steps may come in any order).
        for (int k = 0; k < 8; ++k) {
            const std::string began = "s" + std::to_string(k) + "+";
            ASSERT_EQ(std::count(t.events.begin(), t.events.end(), began), 1) << began;
            const auto at = t.events.begin() + std::ptrdiff_t(t.At(began));
            const auto returned =
                std::count_if(t.events.begin(), at, [](const std::string& e) { return e.back() == '-'; });
            EXPECT_GE(returned, k - atOnce + 1) << began << " with " << atOnce << " at once";
        }
        EXPECT_EQ(t.Only('f'), Finishes(8));
        for (int i = 0; i < 8; ++i)  // each finished once its send had returned
            EXPECT_LT(t.At("s" + std::to_string(i) + "-"), t.At("f" + std::to_string(i)));
        for (std::thread::id id : t.finishThreads) EXPECT_EQ(id, caller);  // the game thread builds the assets
        for (std::thread::id id : t.sendThreads) EXPECT_NE(id, caller);
    }
}

TEST(BatchQueue, AtOnce1SendsOneAfterAnother) {
    Trace t;
    EXPECT_EQ(RunInOrder(
                  4, 1,
                  [&](int i) {
                      t.Begin(i);
                      std::this_thread::sleep_for(10ms);
                      t.End(i);
                  },
                  [&](int i) { t.Finish(i); }, [] { return false; }),
              4);
    std::vector<std::string> sends = t.Only('s');
    EXPECT_EQ(sends, (std::vector<std::string>{"s0+", "s0-", "s1+", "s1-", "s2+", "s2-", "s3+", "s3-"}));
    EXPECT_EQ(t.Only('f'), Finishes(4));
    EXPECT_EQ(t.mostRunning, 1);
}

TEST(BatchQueue, ASlowFirstVideoHoldsOnlyTheFinishesAfterIt) {
    // Video 0 takes until every other video's send has returned: their sends go on (two at a time) meanwhile, and
    // none of them is finished before video 0 is.
    Trace t;
    bool othersDone = false;
    EXPECT_EQ(RunInOrder(
                  5, 2,
                  [&](int i) {
                      t.Begin(i);
                      if (i == 0) othersDone = t.WaitFor([&] { return t.Has("s1-") && t.Has("s2-") && t.Has("s3-") &&
                                                                      t.Has("s4-"); });
                      else std::this_thread::sleep_for(10ms);
                      t.End(i);
                  },
                  [&](int i) { t.Finish(i); }, [] { return false; }),
              5);
    EXPECT_TRUE(othersDone);
    EXPECT_EQ(t.Only('f'), Finishes(5));
    EXPECT_GT(t.At("f1"), t.At("s0-"));
    EXPECT_EQ(t.mostRunning, 2);
}

TEST(BatchQueue, AFinishRunsWhileLaterVideosAreStillOnTheServer) {
    // Video 1's send waits for finish 0: it must not take video 1's end for video 0 to be built.
    Trace t;
    bool finishedMeanwhile = false;
    EXPECT_EQ(RunInOrder(
                  3, 2,
                  [&](int i) {
                      t.Begin(i);
                      if (i == 1) finishedMeanwhile = t.WaitFor([&] { return t.Has("f0"); });
                      t.End(i);
                  },
                  [&](int i) { t.Finish(i); }, [] { return false; }),
              3);
    EXPECT_TRUE(finishedMeanwhile);
    EXPECT_EQ(t.Only('f'), Finishes(3));
}

TEST(BatchQueue, AReturnedSendFreesItsPlaceBeforeItsFinish) {
    // One at a time: finish 0 (an AnimSequence being built) waits for video 1's send to begin, which it does since
    // video 0's send has returned. The next upload does not wait behind a build.
    Trace t;
    bool nextBegan = false;
    EXPECT_EQ(RunInOrder(
                  3, 1,
                  [&](int i) {
                      t.Begin(i);
                      t.End(i);
                  },
                  [&](int i) {
                      if (i == 0) nextBegan = t.WaitFor([&] { return t.Has("s1+"); });
                      t.Finish(i);
                  },
                  [] { return false; }),
              3);
    EXPECT_TRUE(nextBegan);
    EXPECT_EQ(t.Only('f'), Finishes(3));
    EXPECT_EQ(t.mostRunning, 1);
}

TEST(BatchQueue, AStopSendsNothingMoreAndFinishesWhatWasSent) {
    // Two at a time; video 1's send runs until the stop (as RunBlocking's watchdog ends it), which finish 0 makes. By
    // then video 2 had taken video 0's place: 0, 1 and 2 are finished, in order, and 3..5 never sent.
    Trace t;
    std::atomic<bool> stop{false};
    int asked = 0;
    std::vector<std::thread::id> askedOn;
    bool sawStop = false;
    const int sent = RunInOrder(
        6, 2,
        [&](int i) {
            t.Begin(i);
            if (i == 1) sawStop = t.WaitFor([&] { return stop.load(); });
            t.End(i);
        },
        [&](int i) {
            std::lock_guard<std::mutex> lock(t.mutex);  // for video 1's wait to see it
            if (i == 0) stop = true;
            t.changed.notify_all();
            t.events.push_back("f" + std::to_string(i));
        },
        [&] {
            ++asked;
            askedOn.push_back(std::this_thread::get_id());
            return stop.load();
        });
    EXPECT_EQ(sent, 3);
    EXPECT_TRUE(sawStop);
    EXPECT_EQ(t.Only('f'), Finishes(3));
    EXPECT_EQ(t.running, 0);  // every send had returned
    EXPECT_FALSE(t.Has("s3+"));
    EXPECT_EQ(asked, 4);  // before each of 0, 1, 2, and the one that said stop: not asked again
    for (std::thread::id id : askedOn) EXPECT_EQ(id, std::this_thread::get_id());
}

TEST(BatchQueue, AStopBeforeTheFirstSendsNothing) {
    int calls = 0;
    EXPECT_EQ(RunInOrder(3, 2, [&](int) { ++calls; }, [&](int) { ++calls; }, [] { return true; }), 0);
    EXPECT_EQ(calls, 0);
}

TEST(BatchQueue, MorePlacesThanVideos) {
    Trace t;
    EXPECT_EQ(RunInOrder(
                  2, 64,
                  [&](int i) {
                      t.Begin(i);
                      t.End(i);
                  },
                  [&](int i) { t.Finish(i); }, [] { return false; }),
              2);
    EXPECT_EQ(t.Only('f'), Finishes(2));
    // Below 1 is taken as 1.
    Trace one;
    EXPECT_EQ(RunInOrder(
                  3, 0,
                  [&](int i) {
                      one.Begin(i);
                      std::this_thread::sleep_for(5ms);
                      one.End(i);
                  },
                  [&](int i) { one.Finish(i); }, [] { return false; }),
              3);
    EXPECT_EQ(one.mostRunning, 1);
    EXPECT_EQ(one.Only('f'), Finishes(3));
}

TEST(BatchQueue, TheHintForAServerThatRunsSeveralJobsIsTheClis) {
    // cmd_generate.py _hint_jobs, with the commandlet's -Jobs=N for the CLI's --jobs N.
    EXPECT_EQ(AtOnceHint("gpu-box:50051", 4),
              "note: the server at gpu-box:50051 runs 4 jobs at once; -Jobs=4 sends it this folder's videos 4 at a time");
    EXPECT_EQ(AtOnceHint("127.0.0.1:50051", 12),
              "note: the server at 127.0.0.1:50051 runs 12 jobs at once; -Jobs=12 sends it this folder's videos 12 at a "
              "time");
    // A -Jobs=N the commandlet takes (64 at most).
    EXPECT_EQ(AtOnceHint("farm:50051", 100),
              "note: the server at farm:50051 runs 100 jobs at once; -Jobs=64 sends it this folder's videos 64 at a time");
    // One at a time, or a server that does not say (0): nothing to note.
    EXPECT_EQ(AtOnceHint("gpu-box:50051", 1), "");
    EXPECT_EQ(AtOnceHint("gpu-box:50051", 0), "");
}
