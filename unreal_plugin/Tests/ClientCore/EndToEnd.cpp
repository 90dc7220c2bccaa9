// Drives a live `animgen serve` through the client core, as the Unreal Editor module does:
//   animgen_core_e2e --address HOST:PORT --video FILE --out DIR [--token T] [--big-video FILE]
//                    [--skeleton SKELETON.txt --target-video FILE] [--summary FILE.json --client-version V]
//   animgen_core_e2e --address HOST:PORT --info-only 1 [--tls-ca PEM] [--token T]   (connection checks only)
//   animgen_core_e2e --address HOST:PORT --queue-full FILE [--too-long FILE]   (a server whose queue is full)
//   animgen_core_e2e --address HOST:PORT --restart FILE [--deadline-ms N]   (a server the caller kills and starts
//                    again mid-job; one slow to answer StartJob)
//   animgen_core_e2e --address HOST:PORT --stop-start FILE   (stopped while StartJob is unanswered)
//   animgen_core_e2e --address HOST:PORT --stop-cancel FILE   (stopped at StartJob's answer; a CancelJob unanswered)
//   animgen_core_e2e --address HOST:PORT --start-lost FILE --reconnect-ms N   (the server gone during StartJob)
//   animgen_core_e2e --address HOST:PORT --in-order FILE,FILE,... --at-once N   (the commandlet's -Jobs=N)
//   animgen_core_e2e --sample-summary FILE.json   (no server: SampleSummary.h's batch, for Python's json to read)
// Steps: server info; a wrong token is refused (UNAUTHENTICATED); upload; start; watch every event; result
// (clip and GLB written to DIR), and with --summary the commandlet's summary of that video (the server's version, its
// warnings, the job's frames and share of frames with a person); a second job cancelled (CANCELLED); with a skeleton
// (RetargetTool's text file), a job on the first 3 s of the target video with that skeleton as its target, as the
// Editor's "Server retarget" sends it, and its motion on the target beside the core's own retarget of the clip. Prints
// one line per fact it checked and exits non-zero on the first failure, naming it.
// --queue-full: against a server whose one worker is busy and whose queue holds nothing (the caller's doing), StartJob
// refuses a video over the server's limit at once (--too-long: RESOURCE_EXHAUSTED without the retry key); for FILE it
// says once that the queue is full and waits, which Cancel() ends; then it waits again, saying so, until the caller
// frees the worker, and the job runs to SUCCEEDED.
// --restart: FILE's job followed as the tab and the commandlet follow it (Outage, Client::FollowJob), each line as it
// comes: NOTICE (lost, reached, running again), STARTED for each StartJob, RUNNING once the job has made progress (the
// caller then kills the server and starts it again on the same port), DONE with the job's end, then the result. Also
// against a server that loses StartJob's first answer: the job it made is the one followed. And against one that
// answers the first StartJob late: with --deadline-ms shorter than that (ConnectionOptions::deadline, every unary
// call's, StartJob's too), the try times out, is asked again under its request id (said: NOTICE), and the job the first
// made is the one followed.
// --stop-start: FILE's job followed so, and stopped (Client::Cancel(), as the tab's Cancel) when the caller writes a
// line to the standard input, once the server has made the job and before it answers StartJob: StartJob asks again
// under its request id and answers with that job, which is cancelled as the tab's runner finishes a stop
// (Client::FinishStop: STOPPED, then FINISH_STOP and what it said, nothing).
// --stop-cancel: the same, stopped as StartJob answers, against a server that never answers CancelJob: FinishStop gives
// up after kStopWait, not the connection's minute (what it says, if anything: FINISH_STOP_SAID).
// --start-lost: FILE's job followed against a server the caller kills once it has made the job, before it answers
// StartJob, and does not start again: FollowJob waits --reconnect-ms for it, then fails (START_LOST, its message).
// --in-order: the videos (comma-separated) through RunInOrder as the commandlet's -Jobs=N runs them: each send is a
// client of its own, the upload, FollowJob and the result, as RunBlocking's; each finish, on the calling thread, says
// what came back (SEND and SENT as each send begins and ends, FINISH in order), then the server's own times of the jobs
// and whether the second video's job was made, and seen running, before the first's ended (OVERLAP).
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "AnimGenClient.h"
#include "BatchQueue.h"
#include "BatchSummary.h"
#include "SampleSummary.h"
#include "TestClips.h"

using namespace animgen;

namespace {

int Fail(const std::string& what) {
    std::printf("FAIL %s\n", what.c_str());
    std::fflush(stdout);
    return 1;
}

}  // namespace

// The clip on a target, as the Editor gets it with "Server retarget": a job with the skeleton as its target, the
// result with its motion on the target; printed beside the core's own retarget of the same clip (how far the planted
// ankles are from their rest height, and how far they step, in mm).
int TargetMotionCheck(Client& client, const std::string& video, const std::string& skeletonText) {
    const TargetSkeleton target = test::ReadSkeletonText(skeletonText);
    if (target.bones.empty()) return Fail("cannot read " + skeletonText);
    BoneMap map;
    if (std::string err = BuildBoneMap(target, SkeletonPreset::Auto, {}, &map); !err.empty()) return Fail(err);
    UploadedVideo up;
    Status s = client.UploadVideo(video, &up);
    if (!s.Ok()) return Fail("UploadVideo (target): " + s.ToString());
    GenerateOptions options;
    options.formats = {OutputFormat::Json};
    options.endSeconds = 3.0;
    options.target = target;
    options.targetBoneMap = BoneNames(target, map);
    JobInfo job;
    s = client.StartJob(up.uploadId, options, &job);
    if (!s.Ok()) return Fail("StartJob (target): " + s.ToString());
    JobState ended = JobState::Unspecified;
    s = client.WatchJob(job.jobId, [&](const JobEventInfo& e) { ended = e.job.state; });
    if (!s.Ok() || ended != JobState::Succeeded) return Fail(std::string("the target job ended ") + JobStateName(ended));
    JobResult result;
    s = client.GetResult(job.jobId, "", &result, {}, true);
    if (!s.Ok()) return Fail("GetResult (target motion): " + s.ToString());
    if (!result.targetMotion) return Fail("no motion on the target");
    const TargetMotion& motion = *result.targetMotion;
    const std::string mismatch = motion.Matches(target);
    RetargetedAnimation alone;
    if (std::string err = Retarget(result.clip, target, map, &alone); !err.empty()) return Fail(err);
    std::vector<Vec3> restPos;
    std::vector<Quat> restRot;
    ComponentPose(target, &restPos, &restRot);
    const int feet[2] = {map.humanoidToTarget.at("LeftFoot"), map.humanoidToTarget.at("RightFoot")};
    auto figures = [&](const RetargetedAnimation& a, double* height, double* slide) {
        double h = 0, d = 0;
        int nh = 0, nd = 0;
        for (int f = 0; f < a.frameCount; ++f) {
            const std::vector<Vec3> pos = test::TargetWorld(target, a, f);
            const std::vector<Vec3> prev = f > 0 ? test::TargetWorld(target, a, f - 1) : pos;
            for (int k = 0; k < 2; ++k) {
                const std::vector<bool>& c = k == 0 ? result.clip.leftFootContact : result.clip.rightFootContact;
                if (!c[f]) continue;
                h += std::fabs(pos[feet[k]].y - restPos[feet[k]].y), ++nh;
                if (f > 0 && c[f - 1]) {
                    const Vec3 step = pos[feet[k]] - prev[feet[k]];
                    d += std::sqrt(step.x * step.x + step.z * step.z), ++nd;
                }
            }
        }
        *height = 1000 * h / std::max(nh, 1);
        *slide = 1000 * d / std::max(nd, 1);
    };
    double height = 0, slide = 0, heightAlone = 0, slideAlone = 0;
    if (mismatch.empty()) figures(motion.animation, &height, &slide);
    figures(alone, &heightAlone, &slideAlone);
    double worstNorm = 0;
    for (const Quat& q : motion.animation.rotations) worstNorm = std::max(worstNorm, std::fabs(Norm(q) - 1.0));
    std::printf("TARGET_MOTION frames=%d clip_frames=%d bones=%zu matches=%d feet_locked=%d max_norm_error=%.2e "
                "hips_scale=%.4f height_mm=%.3f height_alone_mm=%.3f slide_mm=%.3f slide_alone_mm=%.3f\n",
                motion.animation.frameCount, result.clip.frameCount, motion.bones.size(), int(mismatch.empty()),
                int(motion.feetLocked), worstNorm, motion.animation.hipsScale, height, heightAlone, slide, slideAlone);
    if (!mismatch.empty()) return Fail(mismatch);
    return 0;
}

// A line the caller reads as it comes (the test frees the worker on QUEUE_WAIT try=2).
void Say(const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

// What the checks ask for: the analytic generator (quick) and the clip as JSON.
GenerateOptions AnalyticJson() {
    GenerateOptions options;
    options.generator = Generator::Analytic;
    options.formats = {OutputFormat::Json};
    return options;
}

// The client's outage, its notices said as NOTICE lines (as the Editor's status line says them).
Outage NoticedOutage(Client& client) {
    return Outage(client.Options().address, client.HasReached(), client.Options().reconnectWait,
                  [](const std::string& m) { Say("NOTICE " + m); }, client.CancellableSleep());
}

int QueueFullCheck(Client& client, const std::map<std::string, std::string>& args) {
    using Clock = std::chrono::steady_clock;
    auto seconds = [](Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); };
    const GenerateOptions options = AnalyticJson();
    UploadedVideo up;
    JobInfo job;
    if (args.count("--too-long")) {  // the server will not take it: saying the queue is full would mislead
        Status s = client.UploadVideo(args.at("--too-long"), &up);
        if (!s.Ok()) return Fail("UploadVideo (too long): " + s.ToString());
        int said = 0;
        const auto started = Clock::now();
        s = client.StartJob(up.uploadId, options, &job, [&](const std::string&) { ++said; });
        std::printf("REFUSED code=%s said=%d seconds=%.2f\n", s.CodeName().c_str(), said, seconds(started));
        Say("REFUSED_MESSAGE " + s.message);
        if (s.code != kResourceExhausted || said != 0) return Fail("a video over the limit gave " + s.ToString());
    }
    Status s = client.UploadVideo(args.at("--queue-full"), &up);
    if (!s.Ok()) return Fail("UploadVideo: " + s.ToString());
    // Cancel() ends the wait at once (the server asks for 5 s): no job was made.
    std::thread stopper;
    auto started = Clock::now();
    s = client.StartJob(up.uploadId, options, &job, [&](const std::string& message) {
        Say("QUEUE_WAIT try=1 " + message);
        stopper = std::thread([&client] {
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
            client.Cancel();
        });
    });
    if (stopper.joinable()) stopper.join();
    std::printf("QUEUE_CANCEL code=%s seconds=%.2f\n", s.CodeName().c_str(), seconds(started));
    if (s.code != kCancelled) return Fail("StartJob cancelled while it waited gave " + s.ToString());
    // Later calls run normally: this one waits until the caller frees the worker, and its job runs.
    int said = 0;
    started = Clock::now();
    s = client.StartJob(up.uploadId, options, &job, [&](const std::string& message) {
        ++said;
        Say("QUEUE_WAIT try=2 " + message);
    });
    std::printf("QUEUE_JOB code=%s said=%d state=%s seconds=%.2f\n", s.CodeName().c_str(), said,
                JobStateName(job.state), seconds(started));
    if (!s.Ok()) return Fail("StartJob after the wait: " + s.ToString());
    JobState ended = job.state;
    s = client.WatchJob(job.jobId, [&](const JobEventInfo& e) { ended = e.job.state; });
    std::printf("QUEUE_DONE final=%s\n", JobStateName(ended));
    if (!s.Ok() || ended != JobState::Succeeded) return Fail(std::string("the job ended ") + JobStateName(ended));
    Say("OK");
    return 0;
}

int RestartCheck(Client& client, const std::string& video) {
    // The server was reached (GetServerInfo): a call it cannot answer from here on is waited for, as in the Editor.
    Outage outage = NoticedOutage(client);
    UploadedVideo up;
    Status s = Reconnecting(outage, [&] { return client.UploadVideo(video, &up); });
    if (!s.Ok()) return Fail("UploadVideo: " + s.ToString());
    const GenerateOptions options = AnalyticJson();
    bool running = false;
    std::set<std::string> warned;
    int repeated = 0;
    FollowCallbacks cb;
    cb.onNotice = [](const std::string& m) { Say("NOTICE " + m); };
    cb.onJobStarted = [](const JobInfo& j) { Say("STARTED job=" + j.jobId + " state=" + JobStateName(j.state)); };
    cb.onEvent = [&](const JobEventInfo& e) {
        if (e.type == EventType::Warning) repeated += !warned.insert(e.message).second;
        if (!running && e.job.state == JobState::Running && e.progress > 0) {
            running = true;
            Say("RUNNING job=" + e.job.jobId);
        }
    };
    JobInfo job;
    s = client.FollowJob(up.uploadId, options, outage, &job, cb);
    std::printf("DONE code=%s final=%s job=%s warnings=%zu repeated=%d\n", s.CodeName().c_str(),
                JobStateName(job.state), job.jobId.c_str(), warned.size(), repeated);
    if (!s.Ok() || job.state != JobState::Succeeded) return Fail("the job ended " + s.ToString() + " " + job.error);
    JobResult result;
    s = Reconnecting(outage, [&] { return client.GetResult(job.jobId, "", &result); });
    std::printf("RESULT code=%s frames=%d clip_frames=%d\n", s.CodeName().c_str(), result.job.frames,
                result.clip.frameCount);
    if (!s.Ok() || result.clip.frameCount <= 0) return Fail("GetResult: " + s.ToString());
    Say("OK");
    return 0;
}

// The stop: a line on the standard input (whenStarted false), or StartJob's answer.
int StopCheck(Client& client, const std::string& video, bool whenStarted) {
    using Clock = std::chrono::steady_clock;
    Outage outage = NoticedOutage(client);
    UploadedVideo up;
    Status s = Reconnecting(outage, [&] { return client.UploadVideo(video, &up); });
    if (!s.Ok()) return Fail("UploadVideo: " + s.ToString());
    const GenerateOptions options = AnalyticJson();
    std::atomic<bool> stopped{false};
    std::atomic<Clock::rep> stoppedAt{0};
    const auto stop = [&] {  // as the tab's Cancel
        stoppedAt = Clock::now().time_since_epoch().count();
        stopped = true;
        client.Cancel();
    };
    std::thread stopper;
    if (!whenStarted) {
        stopper = std::thread([&] {  // the line, or the end of the input: the caller saw the server make the job
            std::string line;
            std::getline(std::cin, line);
            stop();
        });
    }
    FollowCallbacks cb;
    cb.onJobStarted = [&](const JobInfo& j) {
        Say("STARTED job=" + j.jobId + " state=" + JobStateName(j.state));
        if (whenStarted) stop();
    };
    cb.stopped = [&] { return stopped.load(); };
    JobInfo job;
    s = client.FollowJob(up.uploadId, options, outage, &job, cb);
    const Clock::time_point ended = Clock::now();
    if (stopper.joinable()) stopper.join();
    const double seconds =
        std::chrono::duration<double>(ended - Clock::time_point(Clock::duration(stoppedAt.load()))).count();
    std::printf("STOPPED code=%s job=%s state=%s unanswered=%d seconds=%.2f\n", s.CodeName().c_str(),
                job.jobId.c_str(), JobStateName(job.state), int(StartUnanswered(s)), seconds);
    if (s.code != kCancelled || job.jobId.empty()) return Fail("stopped with no job to cancel: " + s.ToString());
    // As the tab's runner and the commandlet finish a stopped run: the job is cancelled on the server, or named.
    const std::string said = client.FinishStop(job, s, std::filesystem::path(video).filename().string());
    std::printf("FINISH_STOP seconds=%.2f said=%d\n", std::chrono::duration<double>(Clock::now() - ended).count(),
                int(!said.empty()));
    if (!said.empty()) Say("FINISH_STOP_SAID " + said);
    Say("OK");
    return 0;
}

// A StartJob the server makes the job for and then never answers: the caller kills the server (once it has logged the
// job) and does not start it again. FollowJob waits for it through the outage (--reconnect-ms), then gives up
// (START_LOST), its message saying the job may be on the server.
int StartLostCheck(Client& client, const std::string& video) {
    using Clock = std::chrono::steady_clock;
    Outage outage = NoticedOutage(client);
    UploadedVideo up;
    Status s = Reconnecting(outage, [&] { return client.UploadVideo(video, &up); });
    if (!s.Ok()) return Fail("UploadVideo: " + s.ToString());
    Say("UPLOADED");
    const GenerateOptions options = AnalyticJson();
    FollowCallbacks cb;
    cb.onJobStarted = [](const JobInfo& j) { Say("STARTED job=" + j.jobId); };
    JobInfo job;
    const Clock::time_point started = Clock::now();
    s = client.FollowJob(up.uploadId, options, outage, &job, cb);
    std::printf("START_LOST code=%s job=%s seconds=%.2f\n", s.CodeName().c_str(), job.jobId.c_str(),
                std::chrono::duration<double>(Clock::now() - started).count());
    Say("START_LOST_MESSAGE " + s.message);
    if (s.Ok()) return Fail("the job started on a server that was gone");
    Say("OK");
    return 0;
}

int InOrderCheck(const ConnectionOptions& o, const std::string& list, int atOnce) {
    using Clock = std::chrono::steady_clock;
    std::vector<std::string> videos;
    for (size_t at = 0; at <= list.size();) {
        const size_t comma = std::min(list.find(',', at), list.size());
        videos.push_back(list.substr(at, comma - at));
        at = comma + 1;
    }
    struct Run {
        Status status;
        JobInfo job;
        JobResult result;
        long long runningMs = -1, endedMs = -1;  // when this client saw the job running, and its end
    };
    std::vector<Run> runs(videos.size());
    const Clock::time_point began = Clock::now();
    auto ms = [&] {
        return (long long)std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - began).count();
    };
    const std::thread::id caller = std::this_thread::get_id();
    const int sent = RunInOrder(
        int(videos.size()), atOnce,
        [&](int i) {  // on a worker thread: what RunBlocking does for the commandlet, a client of its own
            Run& r = runs[size_t(i)];
            Say("SEND i=" + std::to_string(i) + " ms=" + std::to_string(ms()) + " caller=" +
                std::to_string(int(std::this_thread::get_id() == caller)));
            Client client(o);
            Outage outage(o.address, client.HasReached(), o.reconnectWait,
                          [i](const std::string& m) { Say("NOTICE i=" + std::to_string(i) + " " + m); },
                          client.CancellableSleep());
            UploadedVideo up;
            r.status = Reconnecting(outage, [&] { return client.UploadVideo(videos[size_t(i)], &up); });
            if (r.status.Ok()) {
                const GenerateOptions options = AnalyticJson();
                FollowCallbacks cb;
                cb.onEvent = [&](const JobEventInfo& e) {
                    if (r.runningMs < 0 && e.job.state == JobState::Running) r.runningMs = ms();
                };
                r.status = client.FollowJob(up.uploadId, options, outage, &r.job, cb);
                r.endedMs = ms();
                if (r.status.Ok() && r.job.state == JobState::Succeeded)
                    r.status = Reconnecting(outage, [&] { return client.GetResult(r.job.jobId, "", &r.result); });
            }
            Say("SENT i=" + std::to_string(i) + " ms=" + std::to_string(ms()) + " code=" + r.status.CodeName() +
                " job=" + r.job.jobId + " running_ms=" + std::to_string(r.runningMs) +
                " ended_ms=" + std::to_string(r.endedMs));
        },
        [&](int i) {  // on this thread, in order, as the commandlet builds each AnimSequence
            const Run& r = runs[size_t(i)];
            Say("FINISH i=" + std::to_string(i) + " ms=" + std::to_string(ms()) + " caller=" +
                std::to_string(int(std::this_thread::get_id() == caller)) + " code=" + r.status.CodeName() +
                " state=" + JobStateName(r.job.state) + " clip_frames=" + std::to_string(r.result.clip.frameCount) +
                " job=" + r.job.jobId);
        },
        [] { return false; });
    std::printf("IN_ORDER sent=%d at_once=%d\n", sent, atOnce);
    std::vector<JobInfo> jobs;
    Client client(o);
    const Status s = client.ListJobs(100, &jobs);
    if (!s.Ok()) return Fail("ListJobs: " + s.ToString());
    std::map<std::string, JobInfo> byId;
    for (const JobInfo& j : jobs) byId[j.jobId] = j;
    for (size_t i = 0; i < runs.size(); ++i) {
        const JobInfo& j = byId[runs[i].job.jobId];
        std::printf("SERVER_JOB i=%zu job=%s created_ms=%lld updated_ms=%lld\n", i, j.jobId.c_str(),
                    (long long)j.createdUnixMs, (long long)j.updatedUnixMs);
    }
    if (runs.size() >= 2) {
        // The server's times: video 1's job made before video 0's ended; this client's: seen running before then.
        const JobInfo &first = byId[runs[0].job.jobId], &second = byId[runs[1].job.jobId];
        std::printf("OVERLAP server=%d client=%d\n", int(second.createdUnixMs < first.updatedUnixMs),
                    int(runs[1].runningMs >= 0 && runs[1].runningMs < runs[0].endedMs));
    }
    Say("OK");
    return 0;
}

int main(int argc, char** argv) {
    std::map<std::string, std::string> args;
    for (int i = 1; i + 1 < argc; i += 2) args[argv[i]] = argv[i + 1];
    if (args.count("--sample-summary")) {
        const std::string why = WriteBatchSummary(args["--sample-summary"], test::SampleBatchSummary());
        if (!why.empty()) return Fail("--sample-summary " + args["--sample-summary"] + ": " + why);
        std::printf("OK\n");
        return 0;
    }
    const bool infoOnly = args.count("--info-only") > 0,
               ownRun = args.count("--queue-full") > 0 || args.count("--restart") > 0 ||
                        args.count("--stop-start") > 0 || args.count("--stop-cancel") > 0 ||
                        args.count("--start-lost") > 0 || args.count("--in-order") > 0;
    if (!args.count("--address") || (!infoOnly && !ownRun && (!args.count("--video") || !args.count("--out"))))
        return Fail("usage: animgen_core_e2e --address HOST:PORT --video FILE --out DIR [--token T]");

    ConnectionOptions o;
    o.address = args["--address"];
    o.bearerToken = args["--token"];
    o.deadline = std::chrono::seconds(60);
    if (args.count("--deadline-ms")) o.deadline = std::chrono::milliseconds(std::atoll(args["--deadline-ms"].c_str()));
    if (args.count("--reconnect-ms"))
        o.reconnectWait = std::chrono::milliseconds(std::atoll(args["--reconnect-ms"].c_str()));
    if (args.count("--tls-ca")) {
        std::ifstream pem(args["--tls-ca"]);
        std::stringstream text;
        text << pem.rdbuf();
        o.useTls = true;
        o.tlsRootCertsPem = text.str();
        if (o.tlsRootCertsPem.empty()) return Fail("cannot read " + args["--tls-ca"]);
    }
    Client client(o);

    ServerInfo info;
    Status s = client.GetServerInfo(&info);
    if (!s.Ok()) return Fail("GetServerInfo: " + s.ToString());
    std::printf("SERVER version=%s protocol=%s auth_required=%d max_upload=%lld\n", info.serverVersion.c_str(),
                info.protocolVersion.c_str(), int(info.authRequired), (long long)info.maxUploadBytes);

    if (!o.bearerToken.empty()) {
        ConnectionOptions wrong = o;
        wrong.bearerToken = o.bearerToken + "-wrong";
        Client bad(wrong);
        ServerInfo ignored;
        const Status w = bad.GetServerInfo(&ignored);
        std::printf("WRONG_TOKEN code=%s\n", w.CodeName().c_str());
        if (w.code != kUnauthenticated) return Fail("a wrong token gave " + w.ToString());
        ConnectionOptions none = o;
        none.bearerToken.clear();
        Client anonymous(none);
        const Status n = anonymous.GetServerInfo(&ignored);
        std::printf("NO_TOKEN code=%s\n", n.CodeName().c_str());
        if (n.code != kUnauthenticated) return Fail("no token gave " + n.ToString());
    }

    if (infoOnly) {
        std::printf("OK\n");
        return 0;
    }
    if (args.count("--queue-full")) return QueueFullCheck(client, args);
    if (args.count("--restart")) return RestartCheck(client, args["--restart"]);
    if (args.count("--stop-start")) return StopCheck(client, args["--stop-start"], false);
    if (args.count("--stop-cancel")) return StopCheck(client, args["--stop-cancel"], true);
    if (args.count("--start-lost")) return StartLostCheck(client, args["--start-lost"]);
    if (args.count("--in-order")) {
        int atOnce = 1;
        const std::string bad = ParseAtOnce(args["--at-once"], &atOnce);
        if (!bad.empty()) return Fail("--at-once " + bad);
        return InOrderCheck(o, args["--in-order"], atOnce);
    }

    const auto started = std::chrono::steady_clock::now();  // the summary's seconds: upload to result
    UploadedVideo up;
    int chunks = 0;
    s = client.UploadVideo(args["--video"], &up, [&](int64_t, int64_t) { ++chunks; });
    if (!s.Ok()) return Fail("UploadVideo: " + s.ToString());
    const std::string sha = Sha256OfFile(args["--video"]);
    std::printf("UPLOAD id=%s bytes=%lld chunks=%d sha_match=%d\n", up.uploadId.c_str(), (long long)up.sizeBytes,
                chunks, int(up.sha256 == sha));
    if (up.sha256 != sha) return Fail("the server's sha256 " + up.sha256 + " differs from ours " + sha);
    UploadedVideo again;  // the same file again: answered after the header, not sent
    int againChunks = 0;
    s = client.UploadVideo(args["--video"], &again, [&](int64_t, int64_t) { ++againChunks; });
    if (!s.Ok()) return Fail("UploadVideo (again): " + s.ToString());
    std::printf("REUPLOAD same_id=%d already_stored=%d first_already_stored=%d\n", int(again.uploadId == up.uploadId),
                int(again.alreadyStored), int(up.alreadyStored));

    if (args.count("--big-video")) {  // several 1 MiB chunks, no job
        UploadedVideo big;
        int bigChunks = 0;
        s = client.UploadVideo(args["--big-video"], &big, [&](int64_t, int64_t) { ++bigChunks; });
        if (!s.Ok()) return Fail("UploadVideo (big): " + s.ToString());
        std::printf("BIG_UPLOAD bytes=%lld chunks=%d sha_match=%d\n", (long long)big.sizeBytes, bigChunks,
                    int(big.sha256 == Sha256OfFile(args["--big-video"])));
    }

    GenerateOptions options;
    options.formats = {OutputFormat::Glb};
    JobInfo job;
    s = client.StartJob(up.uploadId, options, &job);
    if (!s.Ok()) return Fail("StartJob: " + s.ToString());
    std::printf("JOB id=%s state=%s\n", job.jobId.c_str(), JobStateName(job.state));

    int events = 0;
    float lastProgress = -1;
    bool progressDecreased = false;
    JobState finalState = JobState::Unspecified;
    bool cached = false;
    std::vector<std::string> warnings;
    s = client.WatchJob(job.jobId, [&](const JobEventInfo& e) {
        ++events;
        if (e.type == EventType::Warning) warnings.push_back(e.message);
        if (e.progress + 1e-6f < lastProgress) progressDecreased = true;
        lastProgress = e.progress;
        finalState = e.job.state;
        cached = e.job.cached;
        std::printf("EVENT type=%d stage=%s progress=%.3f state=%s %s\n", int(e.type), e.stage.c_str(), e.progress,
                    JobStateName(e.job.state), e.message.c_str());
    });
    if (!s.Ok()) return Fail("WatchJob: " + s.ToString());
    std::printf("WATCH events=%d final=%s monotonic=%d cached=%d\n", events, JobStateName(finalState),
                int(!progressDecreased), int(cached));
    if (finalState != JobState::Succeeded) return Fail(std::string("the job ended ") + JobStateName(finalState));
    if (events < 3) return Fail("only " + std::to_string(events) + " events");

    JobResult result;
    s = client.GetResult(job.jobId, args["--out"], &result);
    if (!s.Ok()) return Fail("GetResult: " + s.ToString());
    double worstNorm = 0;
    for (const Quat& q : result.clip.rotations) worstNorm = std::max(worstNorm, std::fabs(Norm(q) - 1.0));
    std::printf("CLIP bones=%zu frames=%d fps=%.3f max_norm_error=%.2e hips=%s files=%zu\n", result.clip.bones.size(),
                result.clip.frameCount, result.clip.frameRate, worstNorm, result.clip.bones[0].name.c_str(),
                result.files.size());
    // What the tab and the commandlet say of the video's frames (FramesRead), beside the job's own figures.
    std::printf("READ frames=%d detected=%.17g\n", result.job.frames, double(result.job.detectedShare));
    std::printf("READ_LINE %s\n", FramesRead(result.job.frames, result.job.detectedShare).c_str());
    for (const ResultFileInfo& f : result.files)
        std::printf("FILE %s bytes=%lld sha_ok=%d\n", f.path.c_str(), (long long)std::filesystem::file_size(f.path),
                    int(Sha256OfFile(f.path) == f.sha256));
    // The feet's contact curves the Editor writes: held from key to key, they give each frame's contact.
    int planted = 0, wrong = 0;
    size_t curveKeys = 0;
    for (const std::vector<bool>* contact : {&result.clip.leftFootContact, &result.clip.rightFootContact}) {
        const std::vector<CurveKey> keys = ContactCurveKeys(*contact, result.clip.frameRate);
        curveKeys += keys.size();
        size_t k = 0;
        for (size_t f = 0; f < contact->size(); ++f) {
            const double t = double(f) / result.clip.frameRate;
            while (k + 1 < keys.size() && keys[k + 1].time <= t + 1e-6) ++k;
            planted += (*contact)[f];
            wrong += (keys[k].value == 1.0f) != (*contact)[f];
        }
    }
    std::printf("CONTACT_CURVES keys=%zu planted=%d wrong=%d\n", curveKeys, planted, wrong);
    // The footstep notifies the Editor adds on request: one on each frame where a foot's contact turns on, frame 0 aside.
    size_t footsteps = 0, landings = 0;
    int misplaced = 0;
    for (const std::vector<bool>* contact : {&result.clip.leftFootContact, &result.clip.rightFootContact}) {
        for (size_t f = 1; f < contact->size(); ++f) landings += (*contact)[f] && !(*contact)[f - 1];
        for (float t : FootstepTimes(*contact, result.clip.frameRate)) {
            ++footsteps;
            const long f = std::lround(double(t) * result.clip.frameRate);
            const bool lands = f > 0 && size_t(f) < contact->size() && (*contact)[f] && !(*contact)[f - 1];
            misplaced += !lands || std::fabs(double(f) / result.clip.frameRate - t) > 1e-5;
        }
    }
    std::printf("FOOTSTEPS count=%zu landings=%zu misplaced=%d\n", footsteps, landings, misplaced);
    if (result.clip.bones.size() != 22) return Fail("bone count " + std::to_string(result.clip.bones.size()));
    if (result.clip.frameCount <= 0) return Fail("no frames");
    if (worstNorm > 1e-3) return Fail("a rotation is not a unit quaternion");
    if (result.files.empty()) return Fail("no files came with the result");
    if (args.count("--summary")) {  // as the commandlet writes it with -Summary, for one converted video
        BatchSummary summary;
        summary.animgen = ServerVersionNumber(info.serverVersion);
        summary.client = "unreal " + args["--client-version"];
        summary.options = options;
        BatchVideo& row = summary.videos.emplace_back();
        row.video = args["--video"];
        row.status = BatchStatus::Converted;
        for (const ResultFileInfo& f : result.files)
            if (f.format == OutputFormat::Glb) row.outputs.emplace_back("glb", f.path);
        row.warnings = warnings;
        row.frames = result.job.frames;
        row.detected = result.job.detectedShare;
        row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const std::string why = WriteBatchSummary(args["--summary"], summary);
        std::printf("SUMMARY written=%d frames=%d detected=%.4f warnings=%zu\n", int(why.empty()), result.job.frames,
                    result.job.detectedShare, warnings.size());
        if (!why.empty()) return Fail("--summary " + args["--summary"] + ": " + why);
    }

    // A second job with other options (the first result would be served from the cache), cancelled at once.
    options.smoothing = 0.9f;
    options.generator = Generator::Analytic;
    JobInfo second;
    s = client.StartJob(up.uploadId, options, &second);
    if (!s.Ok()) return Fail("StartJob (second): " + s.ToString());
    JobInfo cancelled;
    s = client.CancelJob(second.jobId, &cancelled);
    if (!s.Ok()) return Fail("CancelJob: " + s.ToString());
    JobState seen = cancelled.state;
    s = client.WatchJob(second.jobId, [&](const JobEventInfo& e) { seen = e.job.state; });
    if (!s.Ok()) return Fail("WatchJob (cancelled): " + s.ToString());
    std::printf("CANCEL state=%s\n", JobStateName(seen));
    if (seen != JobState::Cancelled) return Fail(std::string("the cancelled job ended ") + JobStateName(seen));
    JobResult none;
    const Status early = client.GetResult(second.jobId, "", &none);
    std::printf("CANCELLED_RESULT code=%s\n", early.CodeName().c_str());

    // Client::Cancel() ends a watch in flight from another thread.
    options.smoothing = 0.2f;
    JobInfo third;
    s = client.StartJob(up.uploadId, options, &third);
    if (!s.Ok()) return Fail("StartJob (third): " + s.ToString());
    std::thread stopper([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        client.Cancel();
    });
    const Status watched = client.WatchJob(third.jobId, {});
    stopper.join();
    std::printf("LOCAL_CANCEL code=%s\n", watched.CodeName().c_str());
    JobInfo ignored;
    client.CancelJob(third.jobId, &ignored);

    // A crop reaching outside the upload's picture: the server, which knows the picture, refuses it by name.
    options.crop = CropRegion{0, 0, 100000, 64};
    JobInfo outside;
    const Status crop = client.StartJob(up.uploadId, options, &outside);
    std::printf("CROP_OUTSIDE code=%s named=%d\n", crop.CodeName().c_str(),
                int(crop.message.find("options.crop: it reaches outside the") != std::string::npos));
    options.crop.reset();

    std::vector<JobInfo> jobs;
    s = client.ListJobs(10, &jobs);
    if (!s.Ok()) return Fail("ListJobs: " + s.ToString());
    std::printf("LIST jobs=%zu\n", jobs.size());
    JobInfo unknown;
    const Status nf = client.CancelJob("no-such-job", &unknown);
    std::printf("UNKNOWN_JOB code=%s\n", nf.CodeName().c_str());
    if (args.count("--skeleton") && TargetMotionCheck(client, args["--target-video"], args["--skeleton"]) != 0)
        return 1;
    std::printf("OK\n");
    return 0;
}
