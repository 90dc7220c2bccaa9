#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <locale>
#include <sstream>
#include <string>
#include <memory>
#include <set>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "AnimGenClient.h"
#include "FrameRates.h"
#include "TestClips.h"
#include "VideoFiles.h"

using namespace animgen;

TEST(Sha256, KnownVectors) {  // FIPS 180-4 examples
    EXPECT_EQ(Sha256Hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(Sha256Hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const std::string two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    EXPECT_EQ(Sha256Hex(two.data(), two.size()), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, FileMatchesBufferAcrossBlockBoundaries) {
    std::string data(200000, '\0');
    for (size_t i = 0; i < data.size(); ++i) data[i] = char((i * 131) % 251);
    const std::string path = testing::TempDir() + "animgen_sha_test.bin";
    std::ofstream(path, std::ios::binary).write(data.data(), std::streamsize(data.size()));
    EXPECT_EQ(Sha256OfFile(path), Sha256Hex(data.data(), data.size()));
    std::remove(path.c_str());
    EXPECT_EQ(Sha256OfFile(path), "");
    // A UTF-8 name (as TCHAR_TO_UTF8 gives it) is the file of that name: "Jörg läuft 跑.mp4".
    const std::string utf8 = testing::TempDir() + "J\xc3\xb6rg l\xc3\xa4uft \xe8\xb7\x91.mp4";
    std::ofstream(std::filesystem::u8path(utf8), std::ios::binary).write(data.data(), 1000);
    EXPECT_EQ(Sha256OfFile(utf8), Sha256Hex(data.data(), 1000));
    std::filesystem::remove(std::filesystem::u8path(utf8));
}

TEST(HumanoidClip, ValidateNamesTheProblem) {
    HumanoidClip c = test::BodyClip(4);
    EXPECT_EQ(c.Validate(), "");
    c.rotations.pop_back();
    EXPECT_NE(c.Validate().find("rotations"), std::string::npos);
    c = test::BodyClip(4);
    c.hipsPositions.pop_back();
    EXPECT_NE(c.Validate().find("Hips positions"), std::string::npos);
    c = test::BodyClip(4);
    c.frameRate = 0;
    EXPECT_NE(c.Validate().find("frame rate"), std::string::npos);
    c = test::BodyClip(4);
    std::swap(c.bones[0].name, c.bones[1].name);  // a root that is not the Hips, whose positions the clip carries
    EXPECT_NE(c.Validate().find("root must be the Hips"), std::string::npos);
    c = test::BodyClip(4);
    c.bones[2].parent = -1;  // a second root
    EXPECT_NE(c.Validate().find("'" + c.bones[2].name + "' must have a parent"), std::string::npos);
}

TEST(HumanoidClip, ContactCurveKeysStepWhereTheFootLandsAndLifts) {
    const std::vector<bool> contact = {false, false, true, true, true, false, true};
    const std::vector<CurveKey> keys = ContactCurveKeys(contact, 30.0f);
    ASSERT_EQ(keys.size(), 4u);
    const float times[] = {0.0f, 2 / 30.0f, 5 / 30.0f, 6 / 30.0f}, values[] = {0, 1, 0, 1};
    for (size_t k = 0; k < keys.size(); ++k) {
        EXPECT_FLOAT_EQ(keys[k].time, times[k]);
        EXPECT_EQ(keys[k].value, values[k]);
    }
    EXPECT_EQ(ContactCurveKeys(std::vector<bool>(5, true), 24.0f).size(), 1u);  // planted throughout: one key
    EXPECT_TRUE(ContactCurveKeys({}, 30.0f).empty());
}

TEST(HumanoidClip, FootstepTimesAreWhereAFootLands) {
    // Lands on frames 2 and 6; lifting on frame 5 is no footstep.
    const std::vector<bool> walk = {false, false, true, true, true, false, true};
    std::vector<float> steps = FootstepTimes(walk, 30.0f);
    ASSERT_EQ(steps.size(), 2u);
    EXPECT_FLOAT_EQ(steps[0], 0.0666667f);
    EXPECT_FLOAT_EQ(steps[1], 0.2f);
    // Each is at a key where the contact curve steps to 1, so the notify and the curve agree.
    const std::vector<CurveKey> keys = ContactCurveKeys(walk, 30.0f);
    for (float t : steps) {
        bool onRisingKey = false;
        for (const CurveKey& k : keys) onRisingKey |= k.value == 1.0f && k.time == t;
        EXPECT_TRUE(onRisingKey) << t;
    }
    // Planted on frame 0 (a clip that starts standing, or a loop's seam): no footstep there, only the later landings.
    steps = FootstepTimes({true, true, false, false, true, true, false, true}, 24.0f);
    ASSERT_EQ(steps.size(), 2u);
    EXPECT_FLOAT_EQ(steps[0], 0.1666667f);
    EXPECT_FLOAT_EQ(steps[1], 0.2916667f);
    // A run at 29.97 fps: three landings, each held 5 frames.
    std::vector<bool> run(100, false);
    for (int land : {10, 40, 70})
        for (int f = land; f < land + 5; ++f) run[f] = true;
    steps = FootstepTimes(run, 29.97f);
    ASSERT_EQ(steps.size(), 3u);
    EXPECT_FLOAT_EQ(steps[0], 0.3336670f);
    EXPECT_FLOAT_EQ(steps[1], 1.3346680f);
    EXPECT_FLOAT_EQ(steps[2], 2.3356690f);
    // Landing on the last frame counts.
    steps = FootstepTimes({false, false, true}, 29.97f);
    ASSERT_EQ(steps.size(), 1u);
    EXPECT_FLOAT_EQ(steps[0], 0.0667334f);
    // No landing: never planted, planted throughout, one frame, no frames.
    EXPECT_TRUE(FootstepTimes(std::vector<bool>(8, false), 30.0f).empty());
    EXPECT_TRUE(FootstepTimes(std::vector<bool>(8, true), 30.0f).empty());
    EXPECT_TRUE(FootstepTimes({true}, 30.0f).empty());
    EXPECT_TRUE(FootstepTimes({}, 30.0f).empty());
}

TEST(ClientStatus, NamesCodes) {
    EXPECT_EQ((Status{16, "wrong token"}).ToString(), "UNAUTHENTICATED: wrong token");
    EXPECT_EQ((Status{}).CodeName(), "OK");
    EXPECT_TRUE(IsFinal(JobState::Cancelled));
    EXPECT_FALSE(IsFinal(JobState::Running));
}

// server/animgen_server/server.py StartJob: a full queue is RESOURCE_EXHAUSTED with "animgen-retry-after-ms: 5000".
TEST(QueueWait, OnlyAFullQueueSaysWhenToTryAgain) {
    using std::chrono::milliseconds;
    const Status full{kResourceExhausted, "the queue is full (0 jobs waiting)"};
    const std::multimap<std::string, std::string> said = {{"x-other", "1"}, {kRetryAfterKey, "5000"}};
    EXPECT_EQ(RetryAfter(full, said), milliseconds(5000));
    EXPECT_EQ(RetryAfter(full, {{kRetryAfterKey, " 50 "}}), milliseconds(50));
    // A video too long, a full disk: RESOURCE_EXHAUSTED without the key, final. The key counts on that code only.
    EXPECT_FALSE(RetryAfter(full, {}));
    EXPECT_FALSE(RetryAfter(full, {{"retry-after", "5000"}}));
    EXPECT_FALSE(RetryAfter(Status{kUnavailable, "down"}, said));
    EXPECT_FALSE(RetryAfter(Status{}, said));
    // A whole number of ms, as Python's int() reads it; below 0 is 0, and a day at most.
    for (const char* bad : {"", " ", "soon", "5000.0", "5 s", "-", "0x10"})
        EXPECT_FALSE(RetryAfter(full, {{kRetryAfterKey, bad}})) << bad;
    EXPECT_EQ(RetryAfter(full, {{kRetryAfterKey, "-20"}}), milliseconds(0));
    EXPECT_EQ(RetryAfter(full, {{kRetryAfterKey, "+7"}}), milliseconds(7));
    EXPECT_EQ(RetryAfter(full, {{kRetryAfterKey, "99999999999999999999"}}), milliseconds(24LL * 3600 * 1000));
}

TEST(QueueWait, TheMessagesAreTheClis) {
    using std::chrono::milliseconds;
    EXPECT_EQ(QueueFullMessage(milliseconds(5000), ConnectionOptions{}.queueWait),
              "the server's queue is full; trying again every 5 s for up to 10 min");
    EXPECT_EQ(QueueFullMessage(milliseconds(250), milliseconds(30000)),
              "the server's queue is full; trying again every 0.25 s for up to 0.5 min");
    EXPECT_EQ(QueueWaitGaveUp("the queue is full", milliseconds(600000)), "the queue is full (waited 10 min for room)");
}

namespace {
// A StartJob try that ran out its deadline: gRPC's own words.
const Status kTimedOut{kDeadlineExceeded, "Deadline Exceeded"};

// A scripted StartJob: `timeouts` tries that time out (each after its own deadline, kStartTryDeadline's 30 s), then a
// full queue `refusals` times (try again in 5 s), then a job; the clock is the timeouts' and the sleeps' total.
// tryDeadline: as Client::StartJob gives WaitOutFullQueue (none: a timeout is final).
struct QueueScript {
    int timeouts = 0, refusals = 0, calls = 0;
    Status other;  // not OK: every answer is this refusal, without a retry
    std::chrono::steady_clock::time_point now{};
    std::vector<long long> sleeps;  // ms
    std::vector<std::string> said;
    bool cancelAt = false;

    Status Run(std::chrono::milliseconds longest, std::optional<std::chrono::milliseconds> tryDeadline = std::nullopt) {
        return WaitOutFullQueue(
            [this](std::optional<std::chrono::milliseconds>* retryAfter) -> Status {
                ++calls;
                if (!other.Ok()) return other;
                if (calls <= timeouts) {
                    now += kStartTryDeadline;
                    return kTimedOut;
                }
                if (calls > timeouts + refusals) return {};
                *retryAfter = std::chrono::milliseconds(5000);
                return {kResourceExhausted, "the queue is full (0 jobs waiting)"};
            },
            longest, [this](const std::string& m) { said.push_back(m); },
            [this](std::chrono::milliseconds d) {
                sleeps.push_back(d.count());
                now += d;
                return !cancelAt;
            },
            [this] { return now; }, nullptr, tryDeadline);
    }
};

// A loopback port that takes connections and never says a word (the kernel completes them into the listen backlog):
// every call to it runs out its deadline, as one to a server too slow to answer.
struct SilentPort {
    int fd = -1, port = 0;
    SilentPort() {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof(a);
        if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), size) != 0 || listen(fd, 16) != 0 ||
            getsockname(fd, reinterpret_cast<sockaddr*>(&a), &size) != 0)
            return;
        port = ntohs(a.sin_port);
    }
    ~SilentPort() {
        if (fd >= 0) close(fd);
    }
    std::string Address() const { return "127.0.0.1:" + std::to_string(port); }
};
}  // namespace

TEST(QueueWait, AFullQueueIsTriedAgainAfterTheDelayAndSaidOnce) {
    QueueScript q;
    q.refusals = 3;
    EXPECT_TRUE(q.Run(ConnectionOptions{}.queueWait).Ok());
    EXPECT_EQ(q.calls, 4);
    EXPECT_EQ(q.sleeps, (std::vector<long long>{5000, 5000, 5000}));
    EXPECT_EQ(q.said, std::vector<std::string>{"the server's queue is full; trying again every 5 s for up to 10 min"});
}

TEST(QueueWait, AnyOtherAnswerIsFinalAtOnce) {
    QueueScript q;
    q.other = {kResourceExhausted, "walk.mp4: 40.0 s to process; this server takes at most 30 s"};
    const Status s = q.Run(ConnectionOptions{}.queueWait);
    EXPECT_EQ(s.ToString(), "RESOURCE_EXHAUSTED: walk.mp4: 40.0 s to process; this server takes at most 30 s");
    EXPECT_EQ(q.calls, 1);
    EXPECT_TRUE(q.sleeps.empty() && q.said.empty());
}

TEST(QueueWait, PastTheDeadlineItFailsWithTheServersMessageAndHowLongItWaited) {
    QueueScript q;
    q.refusals = 1 << 30;
    Status s = q.Run(std::chrono::milliseconds(12000));
    EXPECT_EQ(s.code, kResourceExhausted);
    EXPECT_EQ(s.message, "the queue is full (0 jobs waiting) (waited 0.2 min for room)");
    // Tries at 0, 5 and 10 s, and a last one at the deadline: the last wait is what was left of it.
    EXPECT_EQ(q.calls, 4);
    EXPECT_EQ(q.sleeps, (std::vector<long long>{5000, 5000, 2000}));
    EXPECT_EQ(q.said.size(), 1u);
    QueueScript ten;
    ten.refusals = 1 << 30;
    EXPECT_EQ(ten.Run(ConnectionOptions{}.queueWait).message,
              "the queue is full (0 jobs waiting) (waited 10 min for room)");
    EXPECT_EQ(ten.calls, 121);
}

TEST(QueueWait, ACancelledWaitEndsWithoutAnotherTry) {
    QueueScript q;
    q.refusals = 1 << 30;
    q.cancelAt = true;
    const Status s = q.Run(ConnectionOptions{}.queueWait);
    EXPECT_EQ(s.code, kCancelled);
    EXPECT_EQ(q.calls, 1);
    EXPECT_EQ(q.said.size(), 1u);
}

// remote.py _Run._start: a StartJob that times out (DEADLINE_EXCEEDED) is an answer lost, asked again under its id.
TEST(QueueWait, TheSlowStartMessagesAreTheClis) {
    using std::chrono::milliseconds;
    EXPECT_EQ(SlowStartMessage(StartTryDeadline(ConnectionOptions{})),
              "the server took over 30 s to start the job; asking again");
    EXPECT_EQ(SlowStartMessage(milliseconds(1500)), "the server took over 1.5 s to start the job; asking again");
    EXPECT_EQ(SlowStartGaveUp("Deadline Exceeded", ConnectionOptions{}.queueWait),
              "Deadline Exceeded (asked for 10 min; the server may have made the job: `animgen jobs` lists it)");
}

TEST(QueueWait, EachStartJobTryWaits30sOrTheConnectionsShorterDeadline) {
    // remote.py START_TIMEOUT_S, the Unity package's JobStart.Within: 30 s, not a call's minute.
    using std::chrono::milliseconds;
    EXPECT_EQ(kStartTryDeadline, milliseconds(30000));
    EXPECT_EQ(ConnectionOptions{}.deadline, milliseconds(60000));
    EXPECT_EQ(StartTryDeadline(ConnectionOptions{}), kStartTryDeadline);
    ConnectionOptions quick;  // a connection whose every call waits less (a test's, a Check button's)
    quick.deadline = milliseconds(4000);
    EXPECT_EQ(StartTryDeadline(quick), milliseconds(4000));
    EXPECT_EQ(SlowStartMessage(StartTryDeadline(quick)), "the server took over 4 s to start the job; asking again");
}

TEST(QueueWait, AStartThatTimesOutIsAskedAgainAtOnceAndSaidOnce) {
    const auto deadline = StartTryDeadline(ConnectionOptions{});
    QueueScript q;
    q.timeouts = 3;
    EXPECT_TRUE(q.Run(ConnectionOptions{}.queueWait, deadline).Ok());
    EXPECT_EQ(q.calls, 4);
    EXPECT_EQ(q.sleeps, (std::vector<long long>{0, 0, 0}));  // no wait: each only asks whether it was cancelled
    EXPECT_EQ(q.said, std::vector<std::string>{"the server took over 30 s to start the job; asking again"});
    // Then a full queue, within the same wait: each said once, in turn.
    QueueScript both;
    both.timeouts = 2;
    both.refusals = 2;
    EXPECT_TRUE(both.Run(ConnectionOptions{}.queueWait, deadline).Ok());
    EXPECT_EQ(both.calls, 5);
    EXPECT_EQ(both.said, (std::vector<std::string>{SlowStartMessage(deadline),
                                                   QueueFullMessage(std::chrono::milliseconds(5000),
                                                                    ConnectionOptions{}.queueWait)}));
    // Without a try's deadline (a first contact, which may be a wrong address) a timeout is final at once.
    QueueScript first;
    first.timeouts = 3;
    EXPECT_EQ(first.Run(ConnectionOptions{}.queueWait).ToString(), "DEADLINE_EXCEEDED: Deadline Exceeded");
    EXPECT_EQ(first.calls, 1);
    EXPECT_TRUE(first.sleeps.empty() && first.said.empty());
}

TEST(QueueWait, TimeoutsPastTheDeadlineFailWithTheLastAnswerAndHowLongItWaited) {
    QueueScript q;
    q.timeouts = 1 << 30;
    const Status s = q.Run(ConnectionOptions{}.queueWait, kStartTryDeadline);
    EXPECT_EQ(s.code, kDeadlineExceeded);
    EXPECT_EQ(s.message, "Deadline Exceeded (asked for 10 min; the server may have made the job: `animgen jobs` lists it)");
    EXPECT_FALSE(s.answered);
    EXPECT_EQ(q.calls, 20);  // tries at 0, 30, ..., 570 s, the last timing out at the 10 minutes
    EXPECT_EQ(q.now - std::chrono::steady_clock::time_point{}, std::chrono::minutes(10));
    EXPECT_EQ(q.said.size(), 1u);
    // Timeouts for 1 minute, then a full queue to the end: one deadline for both, and the last answer's words.
    QueueScript mixed;
    mixed.timeouts = 2;
    mixed.refusals = 1 << 30;
    EXPECT_EQ(mixed.Run(ConnectionOptions{}.queueWait, kStartTryDeadline).message,
              "the queue is full (0 jobs waiting) (waited 10 min for room)");
    EXPECT_EQ(mixed.calls, 2 + 109);  // then tries at 60, 65, ..., 600 s
    EXPECT_EQ(mixed.now - std::chrono::steady_clock::time_point{}, std::chrono::minutes(10));
    EXPECT_EQ(mixed.said.size(), 2u);
}

TEST(QueueWait, ACancelEndsTheAskingAgainWithoutAnotherTry) {
    QueueScript q;
    q.timeouts = 1 << 30;
    q.cancelAt = true;
    const Status s = q.Run(ConnectionOptions{}.queueWait, kStartTryDeadline);
    EXPECT_EQ(s.code, kCancelled);
    EXPECT_EQ(q.calls, 1);
    EXPECT_EQ(q.said.size(), 1u);
}

TEST(QueueWait, AClientsStartThatTimesOutIsAskedAgainUntilTheWaitIsOverOrACancel) {
    using Clock = std::chrono::steady_clock;
    SilentPort silent;
    ASSERT_GT(silent.port, 0);
    ConnectionOptions o;
    o.address = silent.Address();
    o.deadline = std::chrono::milliseconds(200);
    o.queueWait = std::chrono::milliseconds(1000);
    Client client(o);
    std::vector<std::string> said;
    const auto say = [&](const std::string& m) { said.push_back(m); };
    // A first contact that times out (a wrong address, as far as the client knows) fails at once, nothing said.
    JobInfo job;
    auto started = Clock::now();
    Status s = client.StartJob("upload", GenerateOptions{}, &job, say);
    EXPECT_EQ(s.code, kDeadlineExceeded) << s.ToString();
    EXPECT_LT(Clock::now() - started, std::chrono::milliseconds(900));
    EXPECT_TRUE(said.empty());
    // A server that has answered (its upload did): asked again at once, under its id, for the whole wait, said once.
    Outage(client.Options().address, true, o.reconnectWait, {}, {}).Reached();
    ASSERT_TRUE(client.HasReached());
    started = Clock::now();
    s = client.StartJob("upload", GenerateOptions{}, &job, say);
    EXPECT_EQ(s.code, kDeadlineExceeded) << s.ToString();
    EXPECT_EQ(s.message, SlowStartGaveUp("Deadline Exceeded", o.queueWait)) << s.ToString();
    EXPECT_GE(Clock::now() - started, o.queueWait);
    EXPECT_LT(Clock::now() - started, std::chrono::milliseconds(3000));
    EXPECT_EQ(said, std::vector<std::string>{"the server took over 0.2 s to start the job; asking again"});
    // Cancel() ends it. The try it ended was unanswered: asked again under its id for the job to cancel, which the
    // silent server does not answer either, and the answer says so.
    ConnectionOptions longer = o;
    longer.queueWait = std::chrono::minutes(1);
    Client waiting(longer);
    said.clear();
    std::thread stopper([&waiting] {
        std::this_thread::sleep_for(std::chrono::milliseconds(700));
        waiting.Cancel();
    });
    started = Clock::now();
    s = waiting.StartJob("upload", GenerateOptions{}, &job, say);
    stopper.join();
    EXPECT_TRUE(StartUnanswered(s)) << s.ToString();
    EXPECT_LT(Clock::now() - started, std::chrono::seconds(8));  // at the Cancel(), then asked again for 5 s at most
    EXPECT_EQ(said.size(), 1u);
    EXPECT_TRUE(job.jobId.empty());
}

TEST(QueueWait, AnUnreachableServerIsNotWaitedFor) {
    ConnectionOptions o;
    o.address = "127.0.0.1:1";  // nothing listens on port 1: UNAVAILABLE, no retry key
    o.deadline = std::chrono::milliseconds(2000);
    Client client(o);
    JobInfo job;
    bool said = false;
    const Status s = client.StartJob("upload", GenerateOptions{}, &job, [&](const std::string&) { said = true; });
    EXPECT_TRUE(s.code == kUnavailable || s.code == kDeadlineExceeded) << s.ToString();
    EXPECT_FALSE(said);
}

// server/animgen_server/remote.py Outage, reconnecting and _Run.run: a server that restarts.
TEST(Outage, TheMessagesAreTheClis) {
    EXPECT_EQ(ServerLostMessage(ConnectionOptions{}.reconnectWait),
              "lost the server; trying to reach it again for up to 2 min");
    EXPECT_EQ(std::string(kServerReached), "reached the server again");
    EXPECT_EQ(std::string(kRunningAgain), "the server stopped while the job ran; running it again");
    EXPECT_EQ(StoppedTooOften(kMostRestarts + 1),
              "the server stopped while the job ran, 4 times; run it again once the server stays up");
    EXPECT_EQ(CouldNotCancel("job-1"),
              "could not cancel job job-1 on the server: `animgen cancel job-1` does, once it can be reached");
    EXPECT_EQ(ReconnectGaveUp("failed to connect", std::chrono::milliseconds(30000)),
              "failed to connect (tried to reach it again for 0.5 min)");
}

namespace {
// An outage on a fake clock: the clock is what the calls ran plus the sleeps' total. Its server's address is its own:
// the process keeps one outage per address, on this clock.
struct OutageScript {
    std::chrono::steady_clock::time_point now{};
    std::vector<long long> sleeps;  // ms
    std::vector<std::string> said;
    bool cancelled = false;
    const std::string address = "outage-" + std::to_string(++scripts) + ":1";
    static inline int scripts = 0;
    Outage Make(bool reached = true, std::chrono::milliseconds longest = ConnectionOptions{}.reconnectWait) {
        return Outage(
            address, reached, longest, [this](const std::string& m) { said.push_back(m); },
            [this](std::chrono::milliseconds d) {
                sleeps.push_back(d.count());
                now += d;
                return !cancelled;
            },
            [this] { return now; });
    }
    // A call that answers these in turn; a number is how long it runs before the server is gone (UNAVAILABLE).
    std::function<Status()> Calls(std::vector<std::variant<int, Status>> answers) {
        auto left = std::make_shared<std::vector<std::variant<int, Status>>>(std::move(answers));
        return [this, left]() -> Status {
            auto answer = left->front();
            left->erase(left->begin());
            if (const int* ran = std::get_if<int>(&answer)) {
                now += std::chrono::seconds(*ran);
                return {kUnavailable, "Socket closed"};
            }
            return std::get<Status>(answer);
        };
    }
};
const Status kDown{kUnavailable, "failed to connect to all addresses"};
const std::string kLost = "lost the server; trying to reach it again for up to 2 min";
}  // namespace

TEST(Outage, ALostServerIsWaitedForFromWhenItWasLostNotFromTheCallsStart) {
    OutageScript o;
    Outage outage = o.Make();
    // A watch that ran for 5 minutes, longer than the wait, then lost its server: still waited for, every 2 s.
    EXPECT_TRUE(Reconnecting(outage, o.Calls({300, kDown, kDown, Status{}})).Ok());
    EXPECT_EQ(o.sleeps, (std::vector<long long>{2000, 2000, 2000}));
    EXPECT_EQ(o.said, (std::vector<std::string>{kLost, kServerReached}));  // once each, however many tries
    EXPECT_FALSE(outage.IsLost());
}

TEST(Outage, ASecondOutageIsSaidAgainAndWaitedForFromItsOwnStart) {
    OutageScript o;
    Outage outage = o.Make(true, std::chrono::milliseconds(5000));
    EXPECT_TRUE(Reconnecting(outage, o.Calls({1, kDown, Status{}})).Ok());
    EXPECT_TRUE(Reconnecting(outage, o.Calls({600, kDown, Status{}})).Ok());
    EXPECT_EQ(o.said, (std::vector<std::string>{ServerLostMessage(std::chrono::milliseconds(5000)), kServerReached,
                                                ServerLostMessage(std::chrono::milliseconds(5000)), kServerReached}));
    EXPECT_EQ(o.sleeps, (std::vector<long long>{2000, 2000, 2000, 2000}));
}

TEST(Outage, ItGivesUpAfterTheWindowWithTheLastAnswer) {
    OutageScript o;
    Outage outage = o.Make();
    int calls = 0;
    const Status s = Reconnecting(outage, [&] {
        ++calls;
        return kDown;
    });
    EXPECT_EQ(s.code, kUnavailable);
    EXPECT_EQ(s.message, "failed to connect to all addresses (tried to reach it again for 2 min)");
    EXPECT_EQ(calls, 61);  // at 0, 2, ..., 120 s
    EXPECT_EQ(o.sleeps.size(), 60u);
    EXPECT_EQ(o.said, std::vector<std::string>{kLost});
    EXPECT_TRUE(outage.IsLost());
    // The last wait is what is left of the window.
    OutageScript five;
    Outage shorter = five.Make(true, std::chrono::milliseconds(5000));
    EXPECT_EQ(Reconnecting(shorter, five.Calls({kDown, kDown, kDown, kDown})).code, kUnavailable);
    EXPECT_EQ(five.sleeps, (std::vector<long long>{2000, 2000, 1000}));
}

TEST(Outage, ALaterOutageOfAServerThatStayedDownFailsAtOnceUntilItAnswersAgain) {
    OutageScript o;
    int calls = 0;
    const auto down = [&] {
        ++calls;
        return kDown;
    };
    const std::string gaveUp = "failed to connect to all addresses (tried to reach it again for 2 min)";
    // The first video waits the whole window for its server, which does not come back.
    Outage first = o.Make();
    EXPECT_EQ(Reconnecting(first, down).message, gaveUp);
    EXPECT_EQ(calls, 61);
    // The next video's outage is the same one, whose wait is over: it fails at its first try, in the same words,
    // and says nothing of trying to reach the server again, which it does not do.
    calls = 0;
    o.sleeps.clear();
    Outage next = o.Make(false);  // a new run: the address has answered before
    const Status s = Reconnecting(next, down);
    EXPECT_EQ(s.code, kUnavailable);
    EXPECT_EQ(s.message, gaveUp);
    EXPECT_EQ(calls, 1);
    EXPECT_TRUE(o.sleeps.empty());
    EXPECT_FALSE(next.IsLost());
    EXPECT_EQ(o.said, std::vector<std::string>{kLost});
    // An answer ends it for every run: the one after gets a whole window again.
    o.said.clear();
    Outage up = o.Make();
    EXPECT_TRUE(Reconnecting(up, o.Calls({Status{}})).Ok());
    calls = 0;
    Outage after = o.Make();
    EXPECT_EQ(Reconnecting(after, down).code, kUnavailable);
    EXPECT_EQ(calls, 61);
    EXPECT_EQ(o.sleeps.size(), 60u);
    EXPECT_EQ(o.said, std::vector<std::string>{kLost});
}

TEST(Outage, AnOutageThatJoinsAnotherRunsWaitsOnlyWhatIsLeftOfIt) {
    OutageScript o;
    Outage first = o.Make();
    // A video loses the server at 0 s and is waiting for it ...
    Status lost = kDown;
    EXPECT_TRUE(first.TryAgain(&lost));
    o.now = std::chrono::steady_clock::time_point{} + std::chrono::seconds(60);
    // ... when another loses it too: both give up 2 minutes after the first lost it.
    Outage second = o.Make();
    int calls = 0;
    EXPECT_EQ(Reconnecting(second, [&] {
                  ++calls;
                  return kDown;
              }).code,
              kUnavailable);
    EXPECT_EQ(o.now - std::chrono::steady_clock::time_point{}, std::chrono::seconds(120));
    EXPECT_EQ(calls, 31);  // at 60, 62, ..., 120 s
    // One that answers says so, and so ends the wait of the other: its next loss is a new outage.
    EXPECT_TRUE(Reconnecting(first, o.Calls({Status{}})).Ok());
    EXPECT_TRUE(Reconnecting(second, o.Calls({kDown, Status{}})).Ok());
    EXPECT_EQ(o.said, (std::vector<std::string>{kLost, kLost, kServerReached, kServerReached}));
}

TEST(Outage, AnOutagesAnswerIsTheClientsToo) {
    // One table for Client::HasReached and the outages: an answer that one run has is every later run's on that address.
    ConnectionOptions c;
    c.address = "127.0.0.1:9";
    Client client(c);
    EXPECT_FALSE(client.HasReached());
    OutageScript o;
    Outage outage(client.Options().address, false, ConnectionOptions{}.reconnectWait, {}, {}, [&o] { return o.now; });
    Status s = kDown;
    EXPECT_FALSE(outage.TryAgain(&s));  // never reached: at once
    outage.Reached();
    EXPECT_TRUE(client.HasReached());
}

TEST(Outage, AFirstContactAndOtherAnswersAreNotWaitedOn) {
    OutageScript o;
    Outage never = o.Make(false);  // a wrong address: the server was never reached
    EXPECT_EQ(Reconnecting(never, o.Calls({kDown})).ToString(), "UNAVAILABLE: failed to connect to all addresses");
    Outage reached = o.Make(true);
    EXPECT_EQ(Reconnecting(reached, o.Calls({Status{kNotFound, "no job x"}})).code, kNotFound);
    EXPECT_TRUE(o.sleeps.empty() && o.said.empty());
    // Once it has answered, the server is one to wait for.
    EXPECT_TRUE(Reconnecting(never, o.Calls({Status{}})).Ok());
    EXPECT_TRUE(Reconnecting(never, o.Calls({kDown, Status{}})).Ok());
    EXPECT_EQ(o.said, (std::vector<std::string>{kLost, kServerReached}));
}

TEST(Outage, ARefusalIsAnAnswerThatEndsTheOutageForEveryRun) {
    OutageScript o;
    Outage outage = o.Make();
    // The server comes back and refuses the call (NOT_FOUND): it is there, as the CLI counts it, and says so.
    const Status refusal{kNotFound, "no job x", true};
    EXPECT_EQ(Reconnecting(outage, o.Calls({5, kDown, refusal})).ToString(), "NOT_FOUND: no job x");
    EXPECT_EQ(o.said, (std::vector<std::string>{kLost, kServerReached}));
    EXPECT_FALSE(outage.IsLost());
    // Its outage is over for every run: the next that loses the server waits a whole window from then.
    o.now += std::chrono::minutes(5);
    const auto from = o.now;
    Outage later = o.Make();
    EXPECT_EQ(Reconnecting(later, [] { return kDown; }).code, kUnavailable);
    EXPECT_EQ(o.now - from, std::chrono::minutes(2));
    // A local problem (a file that cannot be read) is no answer: the outage stays over, the next loss fails at once.
    o.said.clear();
    Outage third = o.Make();
    EXPECT_EQ(Reconnecting(third, o.Calls({Status{kInvalidArgument, "video x: cannot be read"}})).code, kInvalidArgument);
    EXPECT_EQ(Reconnecting(third, o.Calls({kDown})).code, kUnavailable);
    EXPECT_TRUE(o.said.empty());
}

TEST(Outage, AFullQueueAfterAnOutageSaysTheServerIsBackAndTheWaitForRoomKeepsOneDeadline) {
    using std::chrono::seconds;
    OutageScript o;
    Outage outage = o.Make();
    const auto start = o.now;
    // StartJob finds the queue full at 0 s, the server gone from 5 s to 95 s, then the queue full to the end.
    const Status s = WaitOutFullQueue(
        [&](std::optional<std::chrono::milliseconds>* retryAfter) -> Status {
            if (o.now - start >= seconds(5) && o.now - start < seconds(95)) return kDown;
            *retryAfter = std::chrono::milliseconds(5000);
            return {kResourceExhausted, "the queue is full (0 jobs waiting)", true};
        },
        ConnectionOptions{}.queueWait, [&](const std::string& m) { o.said.push_back(m); },
        [&](std::chrono::milliseconds d) {
            o.now += d;
            return true;
        },
        [&] { return o.now; }, &outage);
    // One deadline for the whole wait for room, as the CLI's (remote.py _Run._start): 10 minutes from the first try,
    // the outage inside them, not 10 minutes again after it.
    EXPECT_EQ(s.message, "the queue is full (0 jobs waiting) (waited 10 min for room)");
    EXPECT_EQ(o.now - start, std::chrono::minutes(10));
    // The full queue after the outage is an answer: the server is said to be back.
    EXPECT_EQ(o.said, (std::vector<std::string>{QueueFullMessage(std::chrono::milliseconds(5000), ConnectionOptions{}.queueWait),
                                                kLost, kServerReached}));
    EXPECT_FALSE(outage.IsLost());
}

TEST(Outage, AStartJobLostWithTheServerPastTheWaitSaysTheServerMayHaveMadeTheJob) {
    // StartJob's first try is lost as the server goes (it may have made the job), the tries after it never reach it.
    const auto reconnect = ConnectionOptions{}.reconnectWait;
    OutageScript o;
    int tries = 0;
    const auto lost = [&](std::optional<std::chrono::milliseconds>*) {
        return ++tries == 1 ? Status{kUnavailable, "Socket closed"} : kDown;
    };
    const auto start = [&](Outage& outage, const std::function<Status(std::optional<std::chrono::milliseconds>*)>& at) {
        return WaitOutFullQueue(
            at, ConnectionOptions{}.queueWait, {},
            [&](std::chrono::milliseconds d) {
                o.now += d;
                return true;
            },
            [&] { return o.now; }, &outage, kStartTryDeadline);
    };
    Outage outage = o.Make();
    const Status s = start(outage, lost);
    EXPECT_EQ(s.code, kUnavailable);
    EXPECT_EQ(s.message, "failed to connect to all addresses (tried to reach it again for 2 min); the server may have "
                         "made the job before it went: `animgen jobs` lists it once the server is back");
    EXPECT_EQ(tries, 61);
    EXPECT_EQ(o.said, std::vector<std::string>{kLost});
    // Not for other calls through an outage (a watch, the upload, the download): their failure is the outage's alone.
    OutageScript w;
    Outage watch = w.Make();
    EXPECT_EQ(Reconnecting(watch, [] { return kDown; }).message, ReconnectGaveUp(kDown.message, reconnect));
    // Nor for a StartJob that did not wait for the server: a first contact (a wrong address), or a later run's try once
    // the outage is over (the run that lost the server said it).
    OutageScript f;
    Outage first = f.Make(false);
    EXPECT_EQ(start(first, [](std::optional<std::chrono::milliseconds>*) { return kDown; }).ToString(),
              kDown.ToString());
    Outage later = o.Make(false);
    EXPECT_EQ(start(later, [](std::optional<std::chrono::milliseconds>*) { return kDown; }).message,
              ReconnectGaveUp(kDown.message, reconnect));
}

TEST(Outage, OnlyACancelThatMayNotHaveReachedTheServerIsSaidAsNotCancelled) {
    // UNAVAILABLE (the client says a server that stops as UNAVAILABLE too). No answer within the stop's kStopWait was
    // received: the server answers once the job's worker has stopped (remote.py cancel_jobs counts it so).
    EXPECT_TRUE(CancelNotReceived(kDown));
    EXPECT_FALSE(CancelNotReceived(Status{kDeadlineExceeded, "Deadline Exceeded"}));
    EXPECT_FALSE(CancelNotReceived(Status{kNotFound, "no job x", true}));
    EXPECT_FALSE(CancelNotReceived(Status{}));
}

TEST(Outage, ACancelledWaitEndsAtOnce) {
    OutageScript o;
    o.cancelled = true;
    Outage outage = o.Make();
    int calls = 0;
    const Status s = Reconnecting(outage, [&] {
        ++calls;
        return kDown;
    });
    EXPECT_EQ(s.code, kCancelled);
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(o.said, std::vector<std::string>{kLost});
    // A client's sleep ends at once after its Cancel(), also one made before the Cancel(); one made after waits.
    ConnectionOptions c;
    c.address = "127.0.0.1:1";
    Client client(c);
    const auto before = client.CancellableSleep();
    client.Cancel();
    const auto started = std::chrono::steady_clock::now();
    EXPECT_FALSE(before(std::chrono::minutes(10)));
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
    EXPECT_TRUE(client.CancellableSleep()(std::chrono::milliseconds(10)));
}

namespace {
JobEventInfo Event(EventType type, JobState state, const std::string& message = "") {
    JobEventInfo e;
    e.type = type;
    e.message = message;
    e.job.jobId = "job-1";
    e.job.state = state;
    return e;
}

// A server whose StartJob makes job-1 and whose watches follow a script: each a list of events, then its answer.
// StartJob's tries answer `tries` in turn first (a full queue says to try again in 5 s; a timeout comes after the
// try's 30 s), through the outage inside one wait for room, as Client::StartJob makes them; each try's request id is
// kept.
struct JobScript {
    OutageScript clock;
    std::vector<std::pair<std::vector<JobEventInfo>, Status>> watches;
    std::vector<Status> tries;
    int starts = 0, watched = 0;
    std::vector<std::string> notices, events, requestIds;
    bool stopAfterStart = false;
    int unansweredStart = 0;  // this start (1: the first) ends as a stop leaves one not asked again (StartUnanswered)

    Status Run(JobInfo* job) {
        Outage outage = clock.Make();
        JobCalls calls;
        calls.start = [this](const std::string& requestId, JobInfo* out, Outage& through) {
            if (++starts == unansweredStart) return Status{kCancelled, kStartUnanswered};
            return WaitOutFullQueue(
                [&](std::optional<std::chrono::milliseconds>* retryAfter) -> Status {
                    requestIds.push_back(requestId);
                    if (!tries.empty()) {
                        const Status answer = tries.front();
                        tries.erase(tries.begin());
                        if (answer.code == kResourceExhausted) *retryAfter = std::chrono::milliseconds(5000);
                        if (answer.code == kDeadlineExceeded) clock.now += kStartTryDeadline;
                        return answer;
                    }
                    out->jobId = "job-1";
                    out->state = JobState::Running;
                    return Status{};
                },
                ConnectionOptions{}.queueWait, [this](const std::string& m) { notices.push_back(m); },
                [this](std::chrono::milliseconds d) {
                    clock.now += d;
                    return true;
                },
                [this] { return clock.now; }, &through, kStartTryDeadline);
        };
        calls.watch = [this](const std::string& id, const std::function<void(const JobEventInfo&)>& onEvent) {
            EXPECT_EQ(id, "job-1");
            const auto& [events, answer] = watches.at(size_t(watched++));
            for (const JobEventInfo& e : events) onEvent(e);
            return answer;
        };
        FollowCallbacks cb;
        cb.onNotice = [this](const std::string& m) { notices.push_back(m); };
        cb.onEvent = [this](const JobEventInfo& e) {
            events.push_back(std::string(JobStateName(e.job.state)) + (e.message.empty() ? "" : " " + e.message));
        };
        cb.stopped = [this] { return stopAfterStart && starts > 0; };
        return FollowJob(calls, outage, job, cb);
    }
};
const Status kSocketClosed{kUnavailable, "Socket closed"};
}  // namespace

TEST(FollowJob, AWatchThatLosesItsServerIsAttachedAgainAndSaysEachWarningOnce) {
    JobScript s;
    s.watches = {
        {{Event(EventType::StageProgress, JobState::Running), Event(EventType::Warning, JobState::Running, "w1")},
         kSocketClosed},
        {{}, kDown},
        // Attached again: the current state, the warnings so far, then the rest.
        {{Event(EventType::State, JobState::Running), Event(EventType::Warning, JobState::Running, "w1"),
          Event(EventType::Warning, JobState::Running, "w2"), Event(EventType::Done, JobState::Succeeded)},
         Status{}}};
    JobInfo job;
    EXPECT_TRUE(s.Run(&job).Ok());
    EXPECT_EQ(job.state, JobState::Succeeded);
    EXPECT_EQ(s.starts, 1);
    EXPECT_EQ(s.watched, 3);
    EXPECT_EQ(s.clock.said, (std::vector<std::string>{kLost, kServerReached}));
    EXPECT_EQ(s.events, (std::vector<std::string>{"RUNNING", "RUNNING w1", "RUNNING", "RUNNING w2", "SUCCEEDED"}));
    EXPECT_TRUE(s.notices.empty());
}

TEST(FollowJob, AJobTheServersStopInterruptedIsStartedAgain) {
    JobScript s;
    s.watches = {{{Event(EventType::StageProgress, JobState::Running)}, kSocketClosed},
                 {{Event(EventType::State, JobState::Interrupted), Event(EventType::Interrupted, JobState::Interrupted)},
                  Status{}},
                 {{Event(EventType::Done, JobState::Succeeded)}, Status{}}};
    JobInfo job;
    EXPECT_TRUE(s.Run(&job).Ok());
    EXPECT_EQ(job.state, JobState::Succeeded);
    EXPECT_EQ(s.starts, 2);  // StartJob on the same upload: the server runs that same job again
    EXPECT_EQ(s.notices, std::vector<std::string>{kRunningAgain});
    EXPECT_EQ(s.clock.said, (std::vector<std::string>{kLost, kServerReached}));
    EXPECT_EQ(s.events, (std::vector<std::string>{"RUNNING", "SUCCEEDED"}));  // not the interruption
}

TEST(FollowJob, EachStartHasARequestIdOfItsOwnThatAllItsTriesCarry) {
    // remote.py _Run._start: the tries of one start (through a lost server, while the queue is full) carry one id, so
    // that a try after one whose answer was lost gets that one's job, not a second; a start again after INTERRUPTED
    // is a new start, with a new id.
    JobScript s;
    const Status full{kResourceExhausted, "the queue is full (0 jobs waiting)", true};
    s.tries = {kSocketClosed, full, kDown};  // the first start's: its job comes at the fourth try
    s.watches = {{{Event(EventType::Interrupted, JobState::Interrupted)}, Status{}},
                 {{Event(EventType::Done, JobState::Succeeded)}, Status{}}};
    JobInfo job;
    EXPECT_TRUE(s.Run(&job).Ok());
    EXPECT_EQ(job.state, JobState::Succeeded);
    EXPECT_EQ(s.starts, 2);
    ASSERT_EQ(s.requestIds.size(), 5u);
    for (size_t i = 1; i < 4; ++i) EXPECT_EQ(s.requestIds[i], s.requestIds[0]) << i;
    EXPECT_NE(s.requestIds[4], s.requestIds[0]);
    for (const std::string& id : s.requestIds) EXPECT_EQ(id.size(), 32u) << id;
    EXPECT_EQ(s.clock.said, (std::vector<std::string>{kLost, kServerReached, kLost, kServerReached}));
    EXPECT_EQ(s.notices, (std::vector<std::string>{QueueFullMessage(std::chrono::milliseconds(5000),
                                                                    ConnectionOptions{}.queueWait),
                                                   kRunningAgain}));
}

TEST(FollowJob, AStartThatTimedOutIsAskedAgainUnderItsIdAndItsJobFollowed) {
    // remote.py _Run._start: a StartJob that times out may have made its job; asked again under the same id, the server
    // answers with that job, which is followed: one job, not one for each try.
    JobScript s;
    s.tries = {kTimedOut, kTimedOut};
    s.watches = {{{Event(EventType::Done, JobState::Succeeded)}, Status{}}};
    JobInfo job;
    EXPECT_TRUE(s.Run(&job).Ok());
    EXPECT_EQ(job.state, JobState::Succeeded);
    EXPECT_EQ(s.starts, 1);
    EXPECT_EQ(s.watched, 1);
    ASSERT_EQ(s.requestIds.size(), 3u);
    EXPECT_EQ(s.requestIds[1], s.requestIds[0]);
    EXPECT_EQ(s.requestIds[2], s.requestIds[0]);
    EXPECT_EQ(s.notices, std::vector<std::string>{"the server took over 30 s to start the job; asking again"});
    EXPECT_TRUE(s.clock.said.empty());  // no outage: the server is there, slow
}

TEST(FollowJob, RequestIdsAreNewHexEachTime) {
    // 128 random bits in hex: within the server's "letters, digits, '-' and '_', at most 64", never the same twice.
    std::set<std::string> ids;
    for (int i = 0; i < 1000; ++i) {
        const std::string id = NewRequestId();
        EXPECT_EQ(id.size(), 32u);
        EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
        ids.insert(id);
    }
    EXPECT_EQ(ids.size(), 1000u);
}

TEST(FollowJob, AJobInterruptedFourTimesEndsWithTheClisMessage) {
    JobScript s;
    for (int i = 0; i < 5; ++i)
        s.watches.push_back({{Event(EventType::Interrupted, JobState::Interrupted)}, Status{}});
    JobInfo job;
    EXPECT_TRUE(s.Run(&job).Ok());
    EXPECT_EQ(job.state, JobState::Interrupted);
    EXPECT_EQ(job.error, "the server stopped while the job ran, 4 times; run it again once the server stays up");
    EXPECT_EQ(s.starts, 4);
    EXPECT_EQ(s.notices, (std::vector<std::string>(3, kRunningAgain)));
}

TEST(FollowJob, AStopEndsItBeforeTheNextCallWithTheJobToCancel) {
    JobScript s;
    s.stopAfterStart = true;
    JobInfo job;
    EXPECT_EQ(s.Run(&job).code, kCancelled);
    EXPECT_EQ(job.jobId, "job-1");
    EXPECT_EQ(s.watched, 0);
    // A server never reached fails at once, nothing said.
    ConnectionOptions o;
    o.address = "127.0.0.1:1";
    o.deadline = std::chrono::milliseconds(2000);
    Client client(o);
    EXPECT_FALSE(client.HasReached());
    std::vector<std::string> said;
    Outage outage(client.Options().address, client.HasReached(), o.reconnectWait,
                  [&](const std::string& m) { said.push_back(m); }, client.CancellableSleep());
    JobInfo none;
    const auto started = std::chrono::steady_clock::now();
    const Status refused = client.FollowJob("upload", GenerateOptions{}, outage, &none, {});
    EXPECT_TRUE(refused.code == kUnavailable || refused.code == kDeadlineExceeded) << refused.ToString();
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
    EXPECT_TRUE(said.empty() && none.jobId.empty());
}

TEST(FollowJob, AStopWhileStartJobIsUnansweredAsksAgainUnderItsIdOrSaysItCouldNot) {
    // A server reached before is gone as StartJob is sent (its answer lost), and the stop comes while it is waited
    // for: StartJob asks again under its request id for the job to cancel (remote.py _Run._cancel). A server still
    // away cannot say, and the answer says so (StartUnanswered), for the caller to tell in the CLI's words.
    ConnectionOptions o;
    o.address = "127.0.0.1:4";  // nothing listens; an address of its own, the process keeping one outage per address
    o.deadline = std::chrono::milliseconds(2000);
    Client client(o);
    std::vector<std::string> said;
    Outage outage(client.Options().address, true, o.reconnectWait, [&](const std::string& m) { said.push_back(m); },
                  client.CancellableSleep());
    std::thread stopper([&client] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        client.Cancel();
    });
    JobInfo job;
    const auto started = std::chrono::steady_clock::now();
    const Status s = client.StartJob("upload", GenerateOptions{}, &job, {}, &outage);
    stopper.join();
    EXPECT_TRUE(StartUnanswered(s)) << s.ToString();
    EXPECT_EQ(s.code, kCancelled);
    EXPECT_TRUE(job.jobId.empty());
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(7));  // asked again for 5 s at most
    EXPECT_EQ(said, std::vector<std::string>{kLost});
    EXPECT_FALSE(StartUnanswered(Status{kCancelled, "stopped while waiting for room in the server's queue"}));
    EXPECT_EQ(MayHaveStarted("run.mp4"), "the server may have started a job on run.mp4 as the run stopped: "
                                         "`animgen jobs` lists the server's jobs, `animgen cancel JOB` cancels one");
}

TEST(FollowJob, AStopLeavingAStartAgainUnansweredSaysItMayHaveStartedAJob) {
    // The server stopped while the job ran; StartJob again (under a new request id) is unanswered as the run stops,
    // and cannot be asked again. *job is still the interrupted one: what the stop says is the CLI's warning, not
    // "cancelled" (remote.py _Run._cancel, _ask_again).
    JobScript s;
    s.watches = {{{Event(EventType::Interrupted, JobState::Interrupted)}, Status{}}};
    s.unansweredStart = 2;
    JobInfo job;
    const Status answer = s.Run(&job);
    EXPECT_TRUE(StartUnanswered(answer)) << answer.ToString();
    EXPECT_EQ(job.jobId, "job-1");
    EXPECT_EQ(job.state, JobState::Interrupted);
    EXPECT_EQ(AfterStop(job, answer), StopStep::SayMayHaveStarted);
    EXPECT_EQ(AfterStop(JobInfo{}, answer), StopStep::SayMayHaveStarted);  // a first start
}

TEST(FollowJob, AStopCancelsOnlyAJobMadeAndNotEnded) {
    const Status stopped{kCancelled, "stopped"};
    JobInfo job;
    EXPECT_EQ(AfterStop(job, stopped), StopStep::Nothing);  // no job made (StartJob refused, or stopped before it)
    job.jobId = "job-1";
    for (JobState running : {JobState::Queued, JobState::Running}) {
        job.state = running;
        EXPECT_EQ(AfterStop(job, stopped), StopStep::CancelJob);
        EXPECT_EQ(AfterStop(job, Status{kCancelled, "stopped while waiting for room in the server's queue"}),
                  StopStep::CancelJob);
    }
    // Ended: nothing to cancel, an interrupted one too (the server runs it only when started again).
    for (JobState ended : {JobState::Succeeded, JobState::Failed, JobState::Cancelled, JobState::Interrupted}) {
        job.state = ended;
        EXPECT_EQ(AfterStop(job, stopped), StopStep::Nothing) << JobStateName(ended);
    }
}

TEST(CancelJob, AStopsCancelIsNotEndedByAFurtherCancelAndGivesUpAfterItsOwnWait) {
    // The Editor's second Cancel click, or the commandlet's watchdog, calls Client::Cancel() while the stop's own
    // CancelJob runs (a RUNNING job's cancel takes up to 10 s on the server): that one must run on to its answer, here
    // none from a port that never answers; but for kStopWait only, not the connection's minute, which kept the tab
    // "running" that long (no answer counts as received: CancelNotReceived). A cancellable one ends at the Cancel().
    using Clock = std::chrono::steady_clock;
    SilentPort silent;
    ASSERT_GT(silent.port, 0);
    ConnectionOptions o;
    o.address = silent.Address();
    ASSERT_EQ(o.deadline, std::chrono::seconds(60));
    JobInfo running;
    running.jobId = "job-1";
    running.state = JobState::Running;
    for (const bool cancellable : {true, false}) {
        Client client(o);
        std::thread clicker([&client] {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            client.Cancel();
        });
        JobInfo out;
        const auto started = Clock::now();
        if (cancellable) {
            const Status s = client.CancelJob("job-1", &out);
            EXPECT_EQ(s.code, kCancelled) << s.ToString();
            EXPECT_LT(Clock::now() - started, std::chrono::milliseconds(1200));
        } else {  // as the tab's runner and the commandlet finish a stopped run
            EXPECT_EQ(client.FinishStop(running, Status{kCancelled, "stopped"}, "run.mp4"), "");
            EXPECT_GE(Clock::now() - started, kStopWait - std::chrono::milliseconds(100));
            EXPECT_LT(Clock::now() - started, kStopWait + std::chrono::seconds(2));
        }
        clicker.join();
    }
}

TEST(CancelJob, AStopWithNoJobRunningCallsNothing) {
    // What AfterStop leaves alone is not asked of the server (here one that would not answer for kStopWait).
    using Clock = std::chrono::steady_clock;
    SilentPort silent;
    ASSERT_GT(silent.port, 0);
    ConnectionOptions o;
    o.address = silent.Address();
    Client client(o);
    JobInfo ended;
    ended.jobId = "job-1";
    ended.state = JobState::Succeeded;
    const auto started = Clock::now();
    EXPECT_EQ(client.FinishStop(ended, Status{kCancelled, "stopped"}, "run.mp4"), "");
    EXPECT_EQ(client.FinishStop(JobInfo{}, Status{kCancelled, "stopped"}, "run.mp4"), "");
    EXPECT_EQ(client.FinishStop(ended, Status{kCancelled, kStartUnanswered}, "run.mp4"), MayHaveStarted("run.mp4"));
    EXPECT_LT(Clock::now() - started, std::chrono::seconds(1));
}

// server/animgen_server/cmd_generate.py: f"person detected in {100 * detected:.1f}%", detected the job's float.
TEST(JobInfo, FramesReadAreSaidAsTheCliSaysThem) {
    EXPECT_EQ(FramesRead(47, 0.70212f), "47 frames read; person detected in 70.2%");
    EXPECT_EQ(FramesRead(1, 1.0f), "1 frames read; person detected in 100.0%");
    EXPECT_EQ(FramesRead(90, 0.0f), "90 frames read; person detected in 0.0%");
    EXPECT_EQ(FramesRead(2000, 0.9994f), "2000 frames read; person detected in 99.9%");
    // A tie goes to the even digit, as Python rounds 6.25 (1 of 16 frames): 6.2; and 9.375 to 9.4.
    EXPECT_EQ(FramesRead(16, 0.0625f), "16 frames read; person detected in 6.2%");
    EXPECT_EQ(FramesRead(32, 0.09375f), "32 frames read; person detected in 9.4%");
    EXPECT_EQ(FramesRead(8, 0.375f), "8 frames read; person detected in 37.5%");
    // 0 frames: an older server, which tells neither; nothing is said.
    EXPECT_EQ(FramesRead(0, 0.0f), "");
    EXPECT_EQ(FramesRead(0, 0.5f), "");
    EXPECT_EQ(FramesRead(3, std::numeric_limits<float>::quiet_NaN()), "3 frames read");
}

namespace {
// A comma for the decimal point and '.' between thousands, as a German locale has them.
struct CommaNumbers : std::numpunct<char> {
    char do_decimal_point() const override { return ','; }
    char do_thousands_sep() const override { return '.'; }
    std::string do_grouping() const override { return "\3"; }
};
}  // namespace

TEST(JobInfo, FramesReadAreTheSameInAnyLocale) {
    const std::locale before = std::locale::global(std::locale(std::locale::classic(), new CommaNumbers));
    const std::string read = FramesRead(12345, 0.70212f);
    std::ostringstream comma;  // the locale really is in force: a plain stream writes the German way
    comma << 12345.5;
    std::locale::global(before);
    EXPECT_EQ(comma.str(), "12.345,5");
    EXPECT_EQ(read, "12345 frames read; person detected in 70.2%");
}

// Each case below was put to the server's options_from_proto: the message names the field it refused.
TEST(OptionsProblem, NamesTheOptionTheServerWouldRefuse) {
    EXPECT_EQ(OptionsProblem(GenerateOptions{}), "");  // nothing set: the server's defaults
    GenerateOptions good;
    good.smoothing = 0.f;
    good.startSeconds = 0.0;
    good.endSeconds = 2.5;
    good.fps = 29.97f;
    good.speed = 10.f;
    good.keyframeToleranceDegrees = 0.5f;
    good.keyframeToleranceMm = 0.f;
    EXPECT_EQ(OptionsProblem(good), "");
    good.smoothing = 1.f;
    good.fps = 240.f;
    good.speed = 0.1f;
    good.startSeconds.reset();  // an end alone
    EXPECT_EQ(OptionsProblem(good), "");

    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    auto problem = [](auto set) {
        GenerateOptions o;
        set(o);
        return OptionsProblem(o);
    };
    auto expectNames = [](const std::string& message, const std::string& name) {
        EXPECT_NE(message.find(name), std::string::npos) << "'" << message << "' should name " << name;
    };
    expectNames(problem([](GenerateOptions& o) { o.smoothing = 1.5f; }), "smoothing must be between 0 and 1");
    expectNames(problem([](GenerateOptions& o) { o.smoothing = -0.1f; }), "smoothing");
    expectNames(problem([](GenerateOptions& o) { o.startSeconds = -1; }), "start must be 0 s or later");
    expectNames(problem([](GenerateOptions& o) { o.endSeconds = 0; }), "end must be later than 0 s");
    expectNames(problem([](GenerateOptions& o) { o.startSeconds = 2; o.endSeconds = 2; }),
                "end (2 s) must be after start (2 s)");
    expectNames(problem([](GenerateOptions& o) { o.startSeconds = 3; o.endSeconds = 1; }), "must be after start");
    expectNames(problem([](GenerateOptions& o) { o.fps = 0.5f; }), "fps (the frame rate) must be between 1 and 240");
    expectNames(problem([](GenerateOptions& o) { o.fps = 300.f; }), "fps");
    expectNames(problem([](GenerateOptions& o) { o.speed = 0.f; }), "speed must be between 0.1 and 10");
    expectNames(problem([](GenerateOptions& o) { o.speed = 0.05f; }), "speed");
    expectNames(problem([](GenerateOptions& o) { o.keyframeToleranceDegrees = -1.f; }), "keyframe tolerance (degrees)");
    expectNames(problem([](GenerateOptions& o) { o.keyframeToleranceMm = -1e-9f; }), "keyframe tolerance (mm)");
    // Not a number fails every comparison; the server asks for finite numbers before it looks at ranges.
    expectNames(problem([&](GenerateOptions& o) { o.fps = nan; }), "fps must be a finite number");
    expectNames(problem([&](GenerateOptions& o) { o.smoothing = nan; }), "smoothing must be a finite number");
    expectNames(problem([&](GenerateOptions& o) { o.endSeconds = double(inf); }), "end must be a finite number");
    expectNames(problem([&](GenerateOptions& o) { o.speed = -inf; }), "speed must be a finite number");
    expectNames(problem([&](GenerateOptions& o) { o.smoothing = 2.f; o.keyframeToleranceMm = nan; }),
                "keyframe tolerance (mm) must be a finite number");
    // A crop as pose.crop_problem takes it: a corner at 0 or more, at least 32 by 32 (the picture's edge: the server).
    EXPECT_EQ(problem([](GenerateOptions& o) { o.crop = CropRegion{640, 0, 640, 720}; }), "");
    EXPECT_EQ(problem([](GenerateOptions& o) { o.crop = CropRegion{0, 0, 32, 32}; }), "");
    expectNames(problem([](GenerateOptions& o) { o.crop = CropRegion{-1, 0, 64, 64}; }), "crop: the corner (X,Y)");
    expectNames(problem([](GenerateOptions& o) { o.crop = CropRegion{0, 0, 31, 64}; }), "at least 32 pixels");
    expectNames(problem([](GenerateOptions& o) { o.crop = CropRegion{0, 0, 64, 0}; }), "at least 32 pixels");
}

TEST(OptionsProblem, ACropIsReadAsTheCommandLineWritesIt) {
    CropRegion c;
    EXPECT_EQ(ParseCrop("640,0,640,720", &c), "");
    EXPECT_EQ(std::vector<int>({c.x, c.y, c.width, c.height}), std::vector<int>({640, 0, 640, 720}));
    EXPECT_EQ(ParseCrop("-1,+2,33,34", &c), "");  // read as written: OptionsProblem refuses the corner
    EXPECT_EQ(c.x, -1);
    for (const char* bad : {"", "1,2,3", "1,2,3,4,5", "1,2,3,4px", "a,b,c,d", "1,,3,4", "1,2,3,-", "1,2,3,9999999999"})
        EXPECT_NE(ParseCrop(bad, &c).find("want four whole numbers of pixels X,Y,W,H"), std::string::npos) << bad;
}

TEST(Client, UnreachableServerGivesUnavailableOrDeadline) {
    ConnectionOptions o;
    o.address = "127.0.0.1:1";  // nothing listens on port 1
    o.deadline = std::chrono::milliseconds(2000);
    Client client(o);
    ServerInfo info;
    const Status s = client.GetServerInfo(&info);
    EXPECT_TRUE(s.code == kUnavailable || s.code == kDeadlineExceeded) << s.ToString();
}

TEST(Client, DialsAnAddressAsItIsMeant) {
    auto target = [](const std::string& address, bool* tls = nullptr) {
        std::string t;
        bool https = false;
        const std::string problem = ServerTarget(address, &t, &https);
        if (tls) *tls = https;
        return problem.empty() ? t : "refused: " + problem;
    };
    bool tls = true;
    EXPECT_EQ(target("127.0.0.1:50051", &tls), "127.0.0.1:50051");
    EXPECT_FALSE(tls);
    EXPECT_EQ(target(" HTTP://render-farm.local:6000/ ", &tls), "render-farm.local:6000");
    EXPECT_FALSE(tls);
    EXPECT_EQ(target("https://farm.example:443", &tls), "farm.example:443");
    EXPECT_TRUE(tls);
    EXPECT_EQ(target(""), "127.0.0.1:50051");
    EXPECT_EQ(target("farm"), "farm:50051");
    EXPECT_EQ(target("[::1]:7"), "[::1]:7");
    // gRPC would dial port 99999 as 34463, and look "http://..." up as a host name.
    for (const char* bad : {"127.0.0.1:99999", "127.0.0.1:0", "farm:port", "farm:", "https://", "a b:5", "me@farm:5"})
        EXPECT_EQ(target(bad).rfind("refused: ", 0), 0u) << bad << " -> " << target(bad);
    EXPECT_NE(target("127.0.0.1:99999").find("must be 1 to 65535"), std::string::npos);

    ConnectionOptions o;
    o.deadline = std::chrono::milliseconds(2000);
    o.address = "127.0.0.1:99999";
    ServerInfo info;
    Status s = Client(o).GetServerInfo(&info);
    EXPECT_EQ(s.code, kInvalidArgument);
    EXPECT_NE(s.message.find("127.0.0.1:99999"), std::string::npos) << s.message;
    o.address = "http://127.0.0.1:1";  // dialled as 127.0.0.1:1, where nothing listens
    Client plain(o);
    EXPECT_EQ(plain.Options().address, "127.0.0.1:1");
    s = plain.GetServerInfo(&info);
    EXPECT_TRUE(s.code == kUnavailable || s.code == kDeadlineExceeded) << s.ToString();
}

TEST(Client, RefusesATokenGrpcCouldNotSend) {
    for (const char* ok : {"", "s3cr3t-token_+/=.~", "two words"}) EXPECT_EQ(TokenProblem(ok), "") << ok;
    for (const char* bad : {"p\xc3\xa4ssw\xc3\xb6rd", "a\tb", "line\n", " lead", "trail ", "\x7f"})
        EXPECT_NE(TokenProblem(bad).find("printable ASCII"), std::string::npos) << bad;
    // Sent as it is, gRPC would abort this process ("Illegal header value"): every call answers with the problem.
    ConnectionOptions o;
    o.address = "127.0.0.1:1";
    o.deadline = std::chrono::milliseconds(2000);
    o.bearerToken = "p\xc3\xa4ssw\xc3\xb6rd";
    Client client(o);
    ServerInfo info;
    Status s = client.GetServerInfo(&info);
    EXPECT_EQ(s.code, kInvalidArgument);
    EXPECT_NE(s.message.find("token must be printable ASCII"), std::string::npos) << s.message;
    UploadedVideo up;
    EXPECT_EQ(client.UploadVideo("/nonexistent/clip.mp4", &up).message, s.message);
    EXPECT_EQ(client.WatchJob("job", [](const JobEventInfo&) {}).code, kInvalidArgument);
    std::vector<JobInfo> jobs;
    EXPECT_EQ(client.ListJobs(5, &jobs).code, kInvalidArgument);
    // A good token goes out on the wire: nothing listens there.
    o.bearerToken = "s3cr3t";
    Client good(o);
    s = good.GetServerInfo(&info);
    EXPECT_TRUE(s.code == kUnavailable || s.code == kDeadlineExceeded) << s.ToString();
}

TEST(Client, MissingVideoIsAnInvalidArgumentNamingTheFile) {
    Client client(ConnectionOptions{});
    UploadedVideo up;
    const Status s = client.UploadVideo("/nonexistent/clip.mp4", &up);
    EXPECT_EQ(s.code, kInvalidArgument);
    EXPECT_NE(s.message.find("/nonexistent/clip.mp4"), std::string::npos) << s.message;
}

TEST(VideoFiles, ExtensionsInAnyCase) {
    for (const char* yes : {"a.mp4", "dir/B.MOV", "C:\\takes\\c.Mkv", "d.mpeg", "e.m4v", "f.M2TS", "g.mts", "h.3gp", "i.wmv"})
        EXPECT_TRUE(animgen::IsVideoFile(yes)) << yes;
    for (const char* no : {"a.png", "mp4", ".mp4", "dir.mp4/readme", "a.mp4.txt", ""})
        EXPECT_FALSE(animgen::IsVideoFile(no)) << no;
}

namespace {
// A folder of videos, notes, subfolders and hidden ones, as `animgen generate DIR -r` would be given it.
struct VideoFolder {
    std::filesystem::path root;
    explicit VideoFolder(const std::string& name) : root(std::filesystem::path(testing::TempDir()) / name) {
        std::filesystem::remove_all(root);
        for (const char* file : {"a.mp4", "B.mov", "notes.txt", "walk-2.mp4", ".hidden.mp4", "walk/take.mp4",
                                 "walk/slow/take.MOV", "walk/._take.mp4", "run/take.mp4", ".git/objects/x.mp4",
                                 "empty/none.txt", "J\xc3\xb6rg/lauf.mp4", "a.preview.mp4", "walk/take.Preview.MP4"}) {
            const std::filesystem::path path = root / std::filesystem::u8path(file);
            std::filesystem::create_directories(path.parent_path());
            std::ofstream(path) << "";
        }
    }
    ~VideoFolder() { std::filesystem::remove_all(root); }
    std::string Folder() const { return root.u8string(); }
    // Each video's path under the folder.
    std::vector<std::string> Under(const std::vector<std::string>& videos) const {
        std::vector<std::string> out;
        for (const std::string& v : videos) {
            EXPECT_EQ(v.rfind(Folder() + "/", 0), 0u) << v;
            out.push_back(v.substr(Folder().size() + 1));
        }
        return out;
    }
};
}  // namespace

TEST(VideoFiles, AFolderWithoutRecursiveIsItsOwnVideosInOrder) {
    VideoFolder f("animgen_videos_flat");
    EXPECT_EQ(f.Under(VideosIn(f.Folder(), false)), (std::vector<std::string>{"B.mov", "a.mp4", "walk-2.mp4"}));
    EXPECT_TRUE(VideosIn((f.root / "none").u8string(), true).empty());  // a folder that cannot be read: none
}

TEST(VideoFiles, RecursiveTakesTheSubfoldersButNotHiddenOnesInTheClisOrder) {
    VideoFolder f("animgen_videos_tree");
    // Python's sorted(rglob): compared folder by folder, so walk/... comes before walk-2.mp4 ('/' > '-'); UTF-8 after
    // ASCII, as code points compare.
    EXPECT_EQ(f.Under(VideosIn(f.Folder() + "/", true)),
              (std::vector<std::string>{"B.mov", "J\xc3\xb6rg/lauf.mp4", "a.mp4", "run/take.mp4", "walk/slow/take.MOV",
                                        "walk/take.mp4", "walk-2.mp4"}));
    // A subfolder that is a link is not gone into, as rglob does not follow one.
    std::error_code ec;
    std::filesystem::create_directory_symlink(f.root / "walk", f.root / "link", ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(VideosIn(f.Folder(), true).size(), 7u);
}

TEST(VideoFiles, AnimGensOwnPreviewsAreNotVideosToConvert) {
    // As the CLI's _made_by_animgen: a preview, in any case, or a hidden file; a .preview.mov is a video.
    for (const char* made : {"a.preview.mp4", "/in/walk/take.Preview.MP4", "C:\\in\\.take.mp4"})
        EXPECT_TRUE(MadeByAnimGen(made)) << made;
    for (const char* video : {"take.mp4", "take.preview.mov", "preview.mp4", "/in/.cache/take.mp4"})
        EXPECT_FALSE(MadeByAnimGen(video)) << video;
    // Neither the folder's own listing nor the recursive one takes them (both fixtures above hold two).
    VideoFolder f("animgen_videos_previews");
    for (bool recursive : {false, true})
        for (const std::string& v : f.Under(VideosIn(f.Folder(), recursive)))
            EXPECT_FALSE(MadeByAnimGen(v)) << v;
    EXPECT_EQ(VideosIn(f.Folder(), false).size(), 3u);
}

TEST(VideoFiles, EachVideoGoesInTheSameSubfolderOfTheOutput) {
    EXPECT_EQ(VideoSubfolder("/in/Videos", "/in/Videos/walk/take.mp4"), "walk");
    EXPECT_EQ(VideoSubfolder("/in/Videos/", "/in/Videos/walk/slow/take.mp4"), "walk/slow");
    EXPECT_EQ(VideoSubfolder("C:\\in\\Videos", "C:\\in\\Videos\\walk\\take.mp4"), "walk");
    EXPECT_EQ(VideoSubfolder("/in/Videos", "/in/Videos/take.mp4"), "");
    EXPECT_EQ(VideoSubfolder("/in/Videos", "/in/Videos-2/walk/take.mp4"), "");  // not under it
    EXPECT_EQ(InSubfolder("/Game/Anims", "walk"), "/Game/Anims/walk");
    EXPECT_EQ(InSubfolder("/Game/Anims/", "walk/slow"), "/Game/Anims/walk/slow");
    EXPECT_EQ(InSubfolder("/Game/Anims", ""), "/Game/Anims");
    // Two take.mp4 in different subfolders go to different package paths, the same clip name in each.
    VideoFolder f("animgen_videos_map");
    std::vector<std::string> paths;
    for (const std::string& v : VideosIn(f.Folder(), true))
        paths.push_back(InSubfolder("/Game/Anims", VideoSubfolder(f.Folder(), v)));
    EXPECT_EQ(paths, (std::vector<std::string>{"/Game/Anims", "/Game/Anims/J\xc3\xb6rg", "/Game/Anims",
                                               "/Game/Anims/run", "/Game/Anims/walk/slow", "/Game/Anims/walk",
                                               "/Game/Anims"}));
}

namespace {
// Unreal's FFrameRate::IsMultipleOf(Other) (5.3): Other / this is a whole number.
bool IsMultipleOf(FrameRate self, FrameRate other) {
    const int64_t a = int64_t(self.numerator) * other.denominator, b = int64_t(other.numerator) * self.denominator;
    return a <= b && b % a == 0;
}
}  // namespace

TEST(FrameRates, EveryStepIsOneUnrealAcceptsAndConvertsTheLengthExactly) {
    const FrameRate rates[] = {{24, 1}, {25, 1}, {30, 1}, {60, 1}, {29970, 1000}, {23976, 1000}, {2997, 100}, {1, 1},
                               {120, 1}, {59940, 1000}, {12500, 1000}};
    for (FrameRate from : rates) {
        for (FrameRate to : rates) {
            FrameRatePlan plan;
            ASSERT_TRUE(PlanFrameRateChange(from, to, &plan)) << from.numerator << "/" << from.denominator;
            ASSERT_FALSE(plan.steps.empty());
            EXPECT_LE(plan.steps.size(), 2u);
            EXPECT_EQ(plan.steps.back().numerator, to.numerator);
            EXPECT_EQ(plan.steps.back().denominator, to.denominator);
            // As UAnimSequencerController::SetFrameRate checks and converts, on a sequence that holds keys.
            FrameRate current = from;
            int64_t frames = plan.framesFirst;
            for (FrameRate step : plan.steps) {
                EXPECT_TRUE(IsMultipleOf(step, current) || IsMultipleOf(current, step))
                    << current.numerator << "/" << current.denominator << " -> " << step.numerator << "/" << step.denominator;
                const int64_t scaled = frames * step.numerator * current.denominator;
                const int64_t divisor = int64_t(step.denominator) * current.numerator;
                EXPECT_EQ(scaled % divisor, 0) << "inexact length at " << step.numerator << "/" << step.denominator;
                frames = scaled / divisor;
                EXPECT_LE(frames, int64_t(std::numeric_limits<int32_t>::max()));
                current = step;
            }
        }
    }
    FrameRatePlan plan;
    ASSERT_TRUE(PlanFrameRateChange({24, 1}, {25, 1}, &plan));
    EXPECT_EQ(plan.framesFirst, 24);
    ASSERT_EQ(plan.steps.size(), 2u);
    EXPECT_EQ(plan.steps[0].numerator, 600);
    EXPECT_EQ(plan.steps[0].denominator, 1);
    ASSERT_TRUE(PlanFrameRateChange({30, 1}, {60, 1}, &plan));  // a multiple: one step
    EXPECT_EQ(plan.steps.size(), 1u);
    EXPECT_EQ(plan.framesFirst, 1);
}

TEST(FrameRates, RefusesBadRatesAndOverflow) {
    FrameRatePlan plan;
    EXPECT_FALSE(PlanFrameRateChange({0, 1}, {30, 1}, &plan));
    EXPECT_FALSE(PlanFrameRateChange({30, 1}, {30, 0}, &plan));
    EXPECT_FALSE(PlanFrameRateChange({2147483647, 1}, {2147483646, 1}, &plan));
}

TEST(Client, TargetMotionMatchesOnlyTheSkeletonItWasMadeFor) {
    TargetSkeleton skeleton;
    skeleton.bones = {{"pelvis", -1, {}, {}}, {"thigh_l", 0, {}, {}}};
    TargetMotion motion;
    motion.bones = {"pelvis", "thigh_l"};
    EXPECT_EQ(motion.Matches(skeleton), "");
    motion.bones = {"pelvis", "thigh_r"};  // another skeleton's bone where this one has thigh_l
    EXPECT_EQ(motion.Matches(skeleton), "the motion on the target names bone 1 'thigh_r', the skeleton 'thigh_l'");
    motion.bones = {"pelvis"};
    EXPECT_EQ(motion.Matches(skeleton), "the motion on the target has 1 bones, the skeleton 2");
}
