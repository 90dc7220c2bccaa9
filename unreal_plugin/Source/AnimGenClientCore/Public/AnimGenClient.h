// The AnimGen service client: upload a video, start a job, watch it, fetch the result (animgen.v1.AnimGen).
// Portable C++17 over gRPC C++, no engine types, and no gRPC or protobuf types in this header either, so
// that an engine module can include it without the libraries' headers. Every call is blocking; run it on
// a worker thread and use Client::Cancel() from any thread to end a call that is in flight.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "AnimGenClientCoreApi.h"
#include "BoneMapping.h"
#include "HumanoidClip.h"

namespace animgen {

// A call's outcome: a gRPC status code (0 OK, 1 CANCELLED, 3 INVALID_ARGUMENT, 4 DEADLINE_EXCEEDED,
// 5 NOT_FOUND, 8 RESOURCE_EXHAUSTED, 9 FAILED_PRECONDITION, 14 UNAVAILABLE, 16 UNAUTHENTICATED, ...)
// and the server's message, or a local problem (an unreadable file) as code 3 or 13.
struct ANIMGENCLIENTCORE_API Status {
    int code = 0;
    std::string message;
    // The server sent this answer, a refusal (a full queue, NOT_FOUND, a token it refuses): any status but UNAVAILABLE,
    // CANCELLED and the call's own deadline. It is there: an Outage ends on it (Reconnecting), as the CLI counts any
    // answer but UNAVAILABLE and a deadline. False for a local problem, and for OK.
    bool answered = false;
    bool Ok() const { return code == 0; }
    std::string CodeName() const;   // "UNAUTHENTICATED"
    std::string ToString() const;   // "UNAUTHENTICATED: wrong token"
};

enum StatusCode : int {
    kOk = 0, kCancelled = 1, kUnknown = 2, kInvalidArgument = 3, kDeadlineExceeded = 4, kNotFound = 5,
    kResourceExhausted = 8, kFailedPrecondition = 9, kInternal = 13, kUnavailable = 14, kUnauthenticated = 16,
};

struct ConnectionOptions {
    std::string address = "127.0.0.1:50051";
    // Deadline of each unary call and of each download (an upload gets 10 s per MiB more); WatchJob has none
    // (a job may run long). StartJob's tries get kStartTryDeadline where that is shorter, and a stop's own calls kStopWait.
    std::chrono::milliseconds deadline{60000};
    std::string bearerToken;  // sent as "authorization: Bearer <token>" when not empty
    bool useTls = false;
    std::string tlsRootCertsPem;  // PEM roots for TLS; empty uses the system's
    // How long StartJob waits for room in a server's full queue before it fails: the CLI's 10 minutes (a shared server
    // may be busy with other studios' work).
    std::chrono::milliseconds queueWait{10 * 60 * 1000};
    // How long a run waits for a server it has reached and then lost (a restart, a deploy), from when it lost it: the
    // CLI's 2 minutes (Outage).
    std::chrono::milliseconds reconnectWait{2 * 60 * 1000};
};

// Mirrors animgen.v1 enums (same numbers).
enum class Generator : int { Unspecified = 0, Network = 1, Analytic = 2 };
enum class OutputFormat : int { Unspecified = 0, Glb = 1, Bvh = 2, Json = 3, Npz = 4, Report = 5, Preview = 6 };
enum class JobState : int { Unspecified = 0, Queued = 1, Running = 2, Succeeded = 3, Failed = 4, Cancelled = 5,
                            Interrupted = 6 };
enum class EventType : int { Unspecified = 0, State = 1, Queued = 2, StageStarted = 3, StageProgress = 4,
                             StageFinished = 5, Warning = 6, Done = 7, Failed = 8, Cancelled = 9, Interrupted = 10 };
ANIMGENCLIENTCORE_API const char* JobStateName(JobState state);  // "SUCCEEDED"
ANIMGENCLIENTCORE_API bool IsFinal(JobState state);

// Every option of `animgen generate` (animgen.v1.GenerateOptions); unset optionals take the server's defaults.
// A rectangle of the picture in pixels of the video as played: the top left corner, then the size.
struct CropRegion {
    int x = 0, y = 0, width = 0, height = 0;
};

struct GenerateOptions {
    bool hands = false;
    std::optional<float> smoothing;
    std::optional<double> startSeconds, endSeconds;
    std::optional<float> fps;
    Generator generator = Generator::Unspecified;
    std::vector<OutputFormat> formats;
    bool inPlace = false, loop = false, mirror = false, faceForward = false;
    std::optional<float> speed;
    std::optional<bool> footLock;
    std::optional<float> keyframeToleranceDegrees, keyframeToleranceMm;
    // Server-side retargeting of the files onto this skeleton (glTF space); none when it has no bones.
    TargetSkeleton target;
    std::map<std::string, std::string> targetBoneMap;
    // Look for the person there first, then follow them (a video with other people in it); none: the whole picture.
    std::optional<CropRegion> crop;
};

struct UploadedVideo {
    std::string uploadId;
    int64_t sizeBytes = 0;
    std::string sha256;
    bool alreadyStored = false;  // the server held this very file (name, size, sha256): it was not sent again
};

struct JobInfo {
    std::string jobId, uploadId, videoName;
    JobState state = JobState::Unspecified;
    std::string stage;
    float progress = 0;
    std::string error;
    int64_t createdUnixMs = 0, updatedUnixMs = 0;
    bool cached = false;
    // Once the job has succeeded: the video's frames the pose stage read (between start and end), and the share of
    // them in which a person was found, 0..1. 0 before then, and from an older server, which sends neither.
    int frames = 0;
    float detectedShare = 0;
};

// "47 frames read; person detected in 70.2%": what `animgen generate --server` says of a finished job's frames and
// detectedShare (one decimal, rounded as Python rounds it, a '.' in any locale), for the tab and the logs. "" when frames
// is 0 (an older server, which sends neither). Just the figures: the server itself warns when it often missed the person.
ANIMGENCLIENTCORE_API std::string FramesRead(int frames, float detectedShare);

struct JobEventInfo {
    EventType type = EventType::Unspecified;
    std::string stage, message;
    float stageProgress = 0, progress = 0;
    JobInfo job;
};

struct ResultFileInfo {
    OutputFormat format = OutputFormat::Unspecified;
    std::string fileName;
    int64_t sizeBytes = 0;
    std::string sha256;
    std::string path;  // where it was written
};

// The clip on the job's target skeleton (GenerateOptions::target) as the server's target file plays it: retargeted,
// and with planted feet locked on that skeleton's own legs, which a retarget of the clip alone does not do.
struct ANIMGENCLIENTCORE_API TargetMotion {
    std::vector<std::string> bones;  // the target's bone names, in the order of the skeleton sent
    // Local transforms of those bones on every frame, glTF space; hipsScale: the target's Hips move this many times
    // as far as the clip's (for its root motion).
    RetargetedAnimation animation;
    bool feetLocked = false;  // not with inPlace or footLock off, nor on a skeleton that does not stand on its origin
    // Empty when `bones` are `target`'s, in its order; otherwise what differs, in words.
    std::string Matches(const TargetSkeleton& target) const;
};

struct JobResult {
    JobInfo job;
    HumanoidClip clip;
    std::vector<ResultFileInfo> files;
    std::optional<TargetMotion> targetMotion;  // when GetResult asked for it (none from a server before AnimGen 0.2.6)
};

struct ModelInfoEntry {
    std::string name, version, description;
};

struct ServerInfo {
    std::string serverVersion, protocolVersion, backend;
    std::vector<ModelInfoEntry> models;
    int64_t maxUploadBytes = 0, maxChunkBytes = 0;
    double maxVideoSeconds = 0;
    int maxConcurrentJobs = 0, maxQueuedJobs = 0;
    bool authRequired = false;
};

// The gRPC target for a server address as the tab and the commandlet take it: HOST:PORT, http://HOST:PORT, or
// https://HOST:PORT (TLS: *tls set), a trailing '/' ignored; HOST alone is on port 50051, and empty is 127.0.0.1:50051.
// Returns "" and sets *target ("host:port"), or why the address cannot be dialled: gRPC itself would take port 99999
// for 34463 and http://HOST:PORT for a host name to look up. Client dials its address through this.
ANIMGENCLIENTCORE_API std::string ServerTarget(const std::string& address, std::string* target, bool* tls);

// Why a bearer token cannot be sent, in words, or empty when it can. It travels as an HTTP/2 header value: gRPC aborts
// the whole process (not an error status) on one that is not printable ASCII, and the server refuses a space at
// either end. Every Client call checks its token with this first.
ANIMGENCLIENTCORE_API std::string TokenProblem(const std::string& token);

// Why the server would refuse these options (INVALID_ARGUMENT at StartJob), in words naming the option, or empty when
// it would take them: its own ranges and order, so that a client can say so before it uploads anything. Smoothing
// 0..1, fps 1..240, start >= 0, end > 0 and after start, speed 0.1..10, keyframe tolerances >= 0, all finite.
ANIMGENCLIENTCORE_API std::string OptionsProblem(const GenerateOptions& options);

// A crop written X,Y,W,H (four whole numbers of pixels, as `animgen generate --crop` takes it): "" and *crop set, or
// what is wrong with the text. Its values are OptionsProblem's to judge.
ANIMGENCLIENTCORE_API std::string ParseCrop(const std::string& text, CropRegion* crop);

// StartJob's RESOURCE_EXHAUSTED for a full queue carries trailing metadata kRetryAfterKey, when to try again (ms;
// server/animgen_server/limits.py RETRY_AFTER_KEY). Its other RESOURCE_EXHAUSTED answers (a video too long, a full
// disk) do not: trying again would not help them.
inline constexpr char kRetryAfterKey[] = "animgen-retry-after-ms";
// What `animgen generate --server` says of a job that StartJob left waiting for a worker (JobState::Queued).
inline constexpr char kQueuedOnServer[] = "queued on the server: waiting for a free worker";

// When a refused call says to try again: RESOURCE_EXHAUSTED with kRetryAfterKey holding a whole number of ms (below 0
// is 0), as the CLI reads it; none for any other answer, or a value that is not such a number.
ANIMGENCLIENTCORE_API std::optional<std::chrono::milliseconds> RetryAfter(
    const Status& status, const std::multimap<std::string, std::string>& trailers);
// "the server's queue is full; trying again every 5 s for up to 10 min": the CLI's words, for the tab and the logs.
ANIMGENCLIENTCORE_API std::string QueueFullMessage(std::chrono::milliseconds every, std::chrono::milliseconds longest);
// The server's message once the wait is over: "the queue is full (...) (waited 10 min for room)".
ANIMGENCLIENTCORE_API std::string QueueWaitGaveUp(const std::string& serverMessage, std::chrono::milliseconds longest);
// How long one StartJob try waits for its answer before it is asked again under its request id (WaitOutFullQueue): the
// CLI batch's 30 s (remote.py START_TIMEOUT_S), as the Unity package's. Shorter than a call's minute: a server that made
// the job and lost the answer is asked again sooner, and a stop after a try waits less for it.
inline constexpr std::chrono::milliseconds kStartTryDeadline{30000};
// A connection's StartJob try deadline: kStartTryDeadline, or the connection's own deadline where that is shorter.
ANIMGENCLIENTCORE_API std::chrono::milliseconds StartTryDeadline(const ConnectionOptions& options);
// "the server took over 30 s to start the job; asking again": the CLI's words for a StartJob try that timed out (its
// answer lost: the server may have made the job), with that try's deadline (StartTryDeadline).
ANIMGENCLIENTCORE_API std::string SlowStartMessage(std::chrono::milliseconds tryDeadline);
// The last timeout's message once the wait is over, as the CLI says it: "Deadline Exceeded (asked for 10 min; the
// server may have made the job: `animgen jobs` lists it)".
ANIMGENCLIENTCORE_API std::string SlowStartGaveUp(const std::string& message, std::chrono::milliseconds longest);

class Outage;

// What StartJob's failure ends with where its last try was sent and left unanswered until the outage's wait was over:
// the server went, perhaps after it made the job, which will run for nobody once it is back. The CLI's words.
inline constexpr char kStartLostNote[] =
    "; the server may have made the job before it went: `animgen jobs` lists it once the server is back";

// StartJob's tries while the server's queue is full: calls attempt until it answers anything but a full queue (which it
// tells by setting *retryAfter), for up to `longest`, telling onWaiting (QueueFullMessage) once, before the first wait.
// Between tries it calls sleep with the server's delay (never under 100 ms: no busy loop), or what is left of
// `longest`; a sleep that returns false was cancelled, and the answer is CANCELLED (no job was made). Past `longest`
// the server's refusal comes back with QueueWaitGaveUp's message. now: the clock (steady_clock's when empty).
// outage: each try goes through it (Reconnecting): a server lost while the queue is full is waited for inside the one
// wait for room, whose deadline it does not move, as remote.py _Run._start keeps one; a full queue is its answer.
// tryDeadline: each try's own deadline, given where a try that ends DEADLINE_EXCEEDED is an answer lost (the server may
// have made the job, and a try under the same request id gets that job): such a try is tried again at once, within the
// same `longest`, telling onWaiting SlowStartMessage(*tryDeadline) once, as remote.py _Run._start does; sleep(0) first
// says whether it was cancelled (false: CANCELLED, and no further try). Past `longest`, the timeout comes back with
// SlowStartGaveUp's message. None: a timeout is final at once, as any other answer.
// A try lost with the server (UNAVAILABLE) past the outage's wait, after this run lost it (Outage::IsLost), may have
// made its job: the answer's message ends with kStartLostNote.
ANIMGENCLIENTCORE_API Status WaitOutFullQueue(
    const std::function<Status(std::optional<std::chrono::milliseconds>* retryAfter)>& attempt,
    std::chrono::milliseconds longest, const std::function<void(const std::string&)>& onWaiting,
    const std::function<bool(std::chrono::milliseconds)>& sleep,
    const std::function<std::chrono::steady_clock::time_point()>& now = {}, Outage* outage = nullptr,
    std::optional<std::chrono::milliseconds> tryDeadline = std::nullopt);

// A server a run has reached and then cannot reach (UNAVAILABLE: a restart, a deploy) is waited for, as `animgen
// generate --server` waits for it (server/animgen_server/remote.py Outage): for up to ConnectionOptions::reconnectWait
// from when it was lost, not from when the call began, trying again every 2 s; said once when lost
// (ServerLostMessage) and once when back (kServerReached), by each run. One outage per address for the whole process,
// as the CLI's: once its wait is over, a later video of a batch whose server stays down fails at once, not after 2
// minutes of its own (a folder of 100 videos would wait 200 minutes): in ReconnectGaveUp's words only, saying nothing
// of trying again. A first contact that fails (a wrong address) fails at once. Any answer of the server ends its
// outage, a refusal too (Status::answered: a full queue, NOT_FOUND), as the CLI counts it (remote.py reconnecting).
// A job that a stop of the server interrupted is started again on the same upload (the server runs that same job
// again), up to kMostRestarts times: FollowJob.
inline constexpr char kServerReached[] = "reached the server again";
inline constexpr char kRunningAgain[] = "the server stopped while the job ran; running it again";
inline constexpr int kMostRestarts = 3;
// "lost the server; trying to reach it again for up to 2 min": the CLI's words.
ANIMGENCLIENTCORE_API std::string ServerLostMessage(std::chrono::milliseconds longest);
// The last answer once the wait is over: "failed to connect ... (tried to reach it again for 2 min)".
ANIMGENCLIENTCORE_API std::string ReconnectGaveUp(const std::string& message, std::chrono::milliseconds longest);
// "the server stopped while the job ran, 4 times; run it again once the server stays up": the CLI's words.
ANIMGENCLIENTCORE_API std::string StoppedTooOften(int times);
// What the CLI says of a job a stop could not cancel on the server (it could not be reached): a queued job would run
// for nobody once the server is back.
ANIMGENCLIENTCORE_API std::string CouldNotCancel(const std::string& jobId);
// Whether a stop's CancelJob (Client::FinishStop) did not reach the server, when CouldNotCancel is said: UNAVAILABLE
// (away, or stopping). No answer within its kStopWait counts as received, as the CLI counts it: the server
// answers a RUNNING job's cancel once its worker has stopped, which may take longer. A refusal (NOT_FOUND) was received.
ANIMGENCLIENTCORE_API bool CancelNotReceived(const Status& cancelAnswer);

class ANIMGENCLIENTCORE_API Outage {
public:
    // address: the server's (Client::Options().address), whose outage this process shares with every run on it.
    // reached: the server has answered before (a job exists); until it, or this process (Client::HasReached), has, a
    // call it cannot reach fails at once. say: ServerLostMessage, then kServerReached. sleep: as WaitOutFullQueue's
    // (false: cancelled; Client::CancellableSleep). now: the clock (steady_clock's when empty); outages of one address
    // must share it, the one time it was lost being read on each's.
    Outage(std::string address, bool reached, std::chrono::milliseconds longest,
           std::function<void(const std::string&)> say, std::function<bool(std::chrono::milliseconds)> sleep,
           std::function<std::chrono::steady_clock::time_point()> now = {});
    // A call answered *s. UNAVAILABLE from a server reached before: waits before the next try (2 s, or what is left of
    // `longest` since it was lost, by this run or another) and returns true. Otherwise false, *s the answer to give:
    // any other answer as it is, a first contact's at once, past `longest` with ReconnectGaveUp's message (and nothing
    // said where this outage joins one whose wait is already over), CANCELLED where the sleep was.
    bool TryAgain(Status* s);
    // The server answered: its outage is over for every run, and this one says so where it had lost it.
    void Reached();
    // This outage has lost its server and not had an answer since.
    bool IsLost() const { return said_; }

private:
    std::string address_;
    bool reached_;
    std::chrono::milliseconds longest_;
    std::function<void(const std::string&)> say_;
    std::function<bool(std::chrono::milliseconds)> sleep_;
    std::function<std::chrono::steady_clock::time_point()> now_;
    bool said_ = false;  // said it lost the server, and not yet that it is back
};

// step() until it answers anything but UNAVAILABLE, as the outage allows; an answer, a refusal too (Status::answered),
// tells the outage the server is back.
// For a call a run may repeat: the server keeps one copy of a video sent twice, a watch attached again tells the job
// from its current state, a result may be fetched again.
ANIMGENCLIENTCORE_API Status Reconnecting(Outage& outage, const std::function<Status()>& step);

// A new id for one start of a job (StartJobRequest.request_id): 32 hex digits, 128 bits from the system's random
// source (as the CLI's uuid4().hex). Every try of that start carries it (through a lost server, and while the queue is
// full): asked again after an answer that was lost, the server answers with the job it made instead of making a
// second, which would run for nobody.
ANIMGENCLIENTCORE_API std::string NewRequestId();
// The deadline of the calls a stop makes, which Client::Cancel() does not end: StartJob, stopped before the server
// answered it, asked again under its request id for the job to cancel, and the CancelJob of that job (FinishStop). The
// CLI's 5 s (remote.py STOP_WAIT_S): a server that does not answer must not hold a stopped run for the connection's
// minute (the tab "running", the commandlet's exit waiting); past it the run ends saying what may be left on the server.
inline constexpr std::chrono::milliseconds kStopWait{5000};
// Client::StartJob's CANCELLED where a Cancel() came while a StartJob was sent and unanswered, and asking again under
// its request id had no answer either: the server may have made a job that will run for nobody (StartUnanswered).
inline constexpr char kStartUnanswered[] =
    "stopped before the server answered StartJob, and it could not be asked again for the job it may have made";
ANIMGENCLIENTCORE_API bool StartUnanswered(const Status& s);
// What the CLI says then, naming the video (its file name): "the server may have started a job on run.mp4 as the run
// stopped: `animgen jobs` lists the server's jobs, `animgen cancel JOB` cancels one".
ANIMGENCLIENTCORE_API std::string MayHaveStarted(const std::string& videoName);

// What a run stopped by its caller (Cancel, a time limit, the engine's exit) does with what FollowJob left: *job, the
// job the last StartJob made (its asking again under its request id included), and FollowJob's answer. As remote.py
// _Run._cancel: a StartJob unanswered and not to be asked again (StartUnanswered) may have made a job nobody knows,
// whatever job an earlier start made (a start again after INTERRUPTED runs under a new request id): MayHaveStarted is
// said. Otherwise a job made and not ended (IsFinal) is cancelled, CouldNotCancel said where CancelNotReceived.
enum class StopStep { Nothing, CancelJob, SayMayHaveStarted };
ANIMGENCLIENTCORE_API StopStep AfterStop(const JobInfo& job, const Status& followed);

// The two calls FollowJob makes: StartJob on the run's upload under the request id FollowJob made for that start,
// through the outage (Client::StartJob with both, which waits out a full queue and, within that one wait, a lost
// server and tries that timed out, every try under that id) and WatchJob (Client::WatchJob); a test's script otherwise.
struct JobCalls {
    std::function<Status(const std::string& requestId, JobInfo*, Outage&)> start;
    std::function<Status(const std::string& jobId, const std::function<void(const JobEventInfo&)>& onEvent)> watch;
};

struct FollowCallbacks {
    // kQueuedOnServer, kRunningAgain (and StartJob's queue wait, and its asking again after a try that timed out)
    std::function<void(const std::string&)> onNotice;
    std::function<void(const JobInfo&)> onJobStarted;  // each StartJob's answer: the job a stop must cancel
    std::function<void(const JobEventInfo&)> onEvent;  // each event, a warning's text once; not the interruption's
    std::function<bool()> stopped;                     // true: no further call (the answer is CANCELLED)
};

// A job from StartJob to its end, as `animgen generate --server` follows it: StartJob and the watch through the outage
// (a lost server waited for, the watch attached again), and StartJob again for a job a stop of the server interrupted
// (said: kRunningAgain), up to kMostRestarts times; each start under a request id of its own (NewRequestId), as
// remote.py _Run._start makes one. OK with *job as it ended (SUCCEEDED, FAILED, CANCELLED; INTERRUPTED with
// StoppedTooOften's error after the last restart), or a call's failure (*job the job made, if any).
ANIMGENCLIENTCORE_API Status FollowJob(const JobCalls& calls, Outage& outage, JobInfo* job, const FollowCallbacks& cb);

// Lower-case hex SHA-256 of a file; empty on a read error.
ANIMGENCLIENTCORE_API std::string Sha256OfFile(const std::string& path);
ANIMGENCLIENTCORE_API std::string Sha256Hex(const void* data, size_t size);

class ANIMGENCLIENTCORE_API Client {
public:
    static constexpr size_t kChunkBytes = 1 << 20;  // 1 MiB upload chunks, well under gRPC's 4 MiB

    explicit Client(ConnectionOptions options);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    const ConnectionOptions& Options() const { return options_; }

    // onBytes(sent, total) after each chunk sent; the server answers a file it already stores after the header, and
    // the rest is not sent (out->alreadyStored).
    Status UploadVideo(const std::string& path, UploadedVideo* out,
                       const std::function<void(int64_t, int64_t)>& onBytes = {});
    // While the server's queue is full (its answer says when to try again) StartJob tries again, for up to
    // Options().queueWait, telling onWaiting once (QueueFullMessage); Cancel() ends that wait with CANCELLED (no job
    // was made). Any other refusal is answered at once. With an outage, a server lost meanwhile is waited for through
    // it, within that one wait for room (WaitOutFullQueue). Every try carries requestId (a NewRequestId() when empty),
    // so that a try after one whose answer was lost gets the job that one made. A try that times out (its deadline
    // StartTryDeadline(Options()), its answer lost) is tried again at once under that id, within the same queueWait,
    // telling onWaiting once (SlowStartMessage), as `animgen generate --server` does; past queueWait, DEADLINE_EXCEEDED
    // (SlowStartGaveUp). Only on a server this process has had an answer from (HasReached): a first contact that times
    // out (a wrong address) fails at once. Cancel() while a try is unanswered (its call, a wait after a call whose answer
    // was lost, or after one that timed out) asks again under that id for kStopWait and answers CANCELLED with *out
    // the job the server made, the caller's to cancel (CancelJob); where it cannot be asked, CANCELLED with
    // kStartUnanswered (StartUnanswered).
    Status StartJob(const std::string& uploadId, const GenerateOptions& options, JobInfo* out,
                    const std::function<void(const std::string&)>& onWaiting = {}, Outage* outage = nullptr,
                    const std::string& requestId = {});
    // Calls onEvent for every event until the job's final event (OK), Cancel() (CANCELLED), or an error.
    Status WatchJob(const std::string& jobId, const std::function<void(const JobEventInfo&)>& onEvent);
    // The clip, and the job's files (all of them when `formats` is empty) written into outDir, each
    // written aside and renamed so that no partial file is left behind. An empty outDir skips the files.
    // withTargetMotion: also the clip on the job's target skeleton (out->targetMotion); the job must have had one.
    // A server older than the message sends none, and out->targetMotion stays empty.
    Status GetResult(const std::string& jobId, const std::string& outDir, JobResult* out,
                     const std::vector<OutputFormat>& formats = {}, bool withTargetMotion = false);
    // cancellable false: the cancel a stop sends after its own Cancel(), a call Cancel() does not end (a second Cancel()
    // must not end it, leaving the job to run for nobody); nothing else ends it, so its deadline is kStopWait.
    Status CancelJob(const std::string& jobId, JobInfo* out, bool cancellable = true);
    // What a run stopped by its caller (Cancel(), a time limit, the engine's exit) does last with what FollowJob left,
    // `made` and its answer `followed`, as AfterStop says: the job made and not ended is cancelled (CancelJob, not
    // cancellable: kStopWait at most). Returns what to say of the job, "" where none is left running for nobody:
    // MayHaveStarted(videoName) where StartJob was left unanswered, CouldNotCancel where the cancel may not have reached
    // the server (CancelNotReceived).
    std::string FinishStop(const JobInfo& made, const Status& followed, const std::string& videoName);
    Status ListJobs(int limit, std::vector<JobInfo>* out, const std::vector<JobState>& states = {});
    Status GetServerInfo(ServerInfo* out);
    // FollowJob with this client's StartJob (its queue wait said through cb.onNotice) and WatchJob.
    Status FollowJob(const std::string& uploadId, const GenerateOptions& options, Outage& outage, JobInfo* job,
                     const FollowCallbacks& cb);

    // Ends the calls in flight (from any thread), StartJob's too, and StartJob's wait for room in a full queue; they
    // return CANCELLED. Later calls run normally. A job whose StartJob was in flight is the caller's to cancel with
    // CancelJob: StartJob answers with it (found by its request id), or says it could not (StartUnanswered).
    void Cancel();
    // A sleep for an Outage of this client: false, at once, once Cancel() has been called since it was made. It must
    // not outlive the client.
    std::function<bool(std::chrono::milliseconds)> CancellableSleep();
    // Whether this process has had an answer from this client's address: a later run waits for it while it restarts
    // (Outage, with Options().address).
    bool HasReached() const;

private:
    struct Impl;
    ConnectionOptions options_;
    std::unique_ptr<Impl> impl_;
};

}  // namespace animgen
