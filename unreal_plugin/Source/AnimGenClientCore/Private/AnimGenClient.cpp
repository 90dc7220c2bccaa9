#include "AnimGenClient.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <locale>
#include <random>
#include <set>
#include <sstream>
#include <utility>

#include "ProtoIncludes.h"
#include "Utf8Paths.h"

namespace animgen {
namespace fs = std::filesystem;
namespace pb = ::animgen::v1;

namespace {

Status FromGrpc(const grpc::Status& s) { return {int(s.error_code()), s.error_message()}; }

Vec3 FromProto(const pb::Vector3& v) { return {v.x(), v.y(), v.z()}; }
void ToProto(const Vec3& v, pb::Vector3* out) {
    out->set_x(float(v.x));
    out->set_y(float(v.y));
    out->set_z(float(v.z));
}

JobInfo FromProto(const pb::Job& j) {
    JobInfo o;
    o.jobId = j.job_id();
    o.uploadId = j.upload_id();
    o.videoName = j.video_name();
    o.state = JobState(int(j.state()));
    o.stage = j.stage();
    o.progress = j.progress();
    o.error = j.error();
    o.createdUnixMs = j.created_unix_ms();
    o.updatedUnixMs = j.updated_unix_ms();
    o.cached = j.cached();
    o.frames = j.frames();
    o.detectedShare = j.detected_share();
    return o;
}

void ToProto(const GenerateOptions& o, pb::GenerateOptions* p) {
    p->set_hands(o.hands);
    if (o.smoothing) p->set_smoothing(*o.smoothing);
    if (o.startSeconds) p->set_start_seconds(*o.startSeconds);
    if (o.endSeconds) p->set_end_seconds(*o.endSeconds);
    if (o.fps) p->set_fps(*o.fps);
    p->set_generator(pb::Generator(int(o.generator)));
    for (OutputFormat f : o.formats) p->add_formats(pb::OutputFormat(int(f)));
    p->set_in_place(o.inPlace);
    p->set_loop(o.loop);
    p->set_mirror(o.mirror);
    if (o.speed) p->set_speed(*o.speed);
    p->set_face_forward(o.faceForward);
    if (o.footLock) p->set_foot_lock(*o.footLock);
    if (o.keyframeToleranceDegrees) p->set_keyframe_tolerance_degrees(*o.keyframeToleranceDegrees);
    if (o.keyframeToleranceMm) p->set_keyframe_tolerance_mm(*o.keyframeToleranceMm);
    if (o.crop) {
        pb::CropRegion* c = p->mutable_crop();
        c->set_x(o.crop->x);
        c->set_y(o.crop->y);
        c->set_width(o.crop->width);
        c->set_height(o.crop->height);
    }
    if (!o.target.bones.empty()) {
        pb::TargetSkeleton* t = p->mutable_target();
        t->set_name(o.target.name);
        for (const TargetBone& b : o.target.bones) {
            pb::TargetBone* tb = t->add_bones();
            tb->set_name(b.name);
            tb->set_parent(b.parent);
            ToProto(b.restTranslation, tb->mutable_rest_translation());
            pb::Quaternion* q = tb->mutable_rest_rotation();
            q->set_x(float(b.restRotation.x));
            q->set_y(float(b.restRotation.y));
            q->set_z(float(b.restRotation.z));
            q->set_w(float(b.restRotation.w));
        }
        for (const auto& [k, v] : o.targetBoneMap) (*t->mutable_bone_map())[k] = v;
    }
}

}  // namespace

// Decodes the wire clip; an error in words when its arrays disagree with its bones and frames.
std::string DecodeClip(const pb::HumanoidClip& p, HumanoidClip* out) {
    HumanoidClip c;
    c.name = p.name();
    for (const pb::Bone& b : p.bones()) c.bones.push_back({b.name(), b.parent(), FromProto(b.rest_offset())});
    c.frameRate = p.frame_rate();
    c.frameCount = p.frame_count();
    const size_t nf = size_t(std::max(0, c.frameCount)), nb = c.bones.size();
    if (size_t(p.hips_positions_size()) != nf * 3)
        return "clip '" + c.name + "': " + std::to_string(p.hips_positions_size()) + " Hips values for " +
               std::to_string(nf) + " frames";
    if (size_t(p.rotations_size()) != nf * nb * 4)
        return "clip '" + c.name + "': " + std::to_string(p.rotations_size()) + " rotation values, expected " +
               std::to_string(nf * nb * 4);
    for (size_t f = 0; f < nf; ++f)
        c.hipsPositions.push_back({p.hips_positions(int(3 * f)), p.hips_positions(int(3 * f + 1)),
                                   p.hips_positions(int(3 * f + 2))});
    c.rotations.reserve(nf * nb);
    for (size_t i = 0; i < nf * nb; ++i)
        c.rotations.push_back({p.rotations(int(4 * i)), p.rotations(int(4 * i + 1)), p.rotations(int(4 * i + 2)),
                               p.rotations(int(4 * i + 3))});
    c.leftFootContact.assign(p.left_foot_contact().begin(), p.left_foot_contact().end());
    c.rightFootContact.assign(p.right_foot_contact().begin(), p.right_foot_contact().end());
    c.confidence.assign(p.confidence().begin(), p.confidence().end());
    if (p.root_motion_size() == int(nf * 3))
        for (size_t f = 0; f < nf; ++f)
            c.rootMotion.push_back({p.root_motion(int(3 * f)), p.root_motion(int(3 * f + 1)),
                                    p.root_motion(int(3 * f + 2))});
    for (const auto& [k, v] : p.metadata()) c.metadata[k] = v;
    if (std::string err = c.Validate(); !err.empty()) return "clip '" + c.name + "': " + err;
    *out = std::move(c);
    return {};
}

std::string DecodeTargetMotion(const pb::TargetMotion& p, TargetMotion* out) {
    TargetMotion m;
    m.bones.assign(p.bones().begin(), p.bones().end());
    m.feetLocked = p.feet_locked();
    RetargetedAnimation& a = m.animation;
    a.frameCount = p.frame_count();
    a.boneCount = int(m.bones.size());
    a.frameRate = p.frame_rate();
    a.hipsScale = p.hips_scale();
    const size_t nf = size_t(std::max(0, a.frameCount)), nb = m.bones.size(), nt = size_t(p.turning_size());
    if (nf == 0 || nb == 0 || !(a.frameRate > 0) || !std::isfinite(a.frameRate))
        return "the motion on the target has no frames, bones or frame rate";
    if (size_t(p.rest_translations_size()) != nb * 3 || size_t(p.rest_rotations_size()) != nb * 4 ||
        size_t(p.rotations_size()) != nf * nt * 4 || size_t(p.translations_size()) != nf * 3 ||
        p.moving() < 0 || size_t(p.moving()) >= nb)
        return "the motion on the target does not add up: " + std::to_string(nb) + " bones, " + std::to_string(nt) +
               " turning, " + std::to_string(nf) + " frames, " + std::to_string(p.rotations_size()) + " rotation and " +
               std::to_string(p.translations_size()) + " translation values";
    for (int j : p.turning())
        if (j < 0 || size_t(j) >= nb) return "the motion on the target turns bone " + std::to_string(j) + " of " +
                                             std::to_string(nb);
    // Every bone at its rest pose on every frame, then the turning bones' rotations and the moving bone's translation.
    a.translations.reserve(nf * nb);
    a.rotations.reserve(nf * nb);
    for (size_t f = 0; f < nf; ++f)
        for (size_t j = 0; j < nb; ++j) {
            a.translations.push_back({p.rest_translations(int(3 * j)), p.rest_translations(int(3 * j + 1)),
                                      p.rest_translations(int(3 * j + 2))});
            a.rotations.push_back({p.rest_rotations(int(4 * j)), p.rest_rotations(int(4 * j + 1)),
                                   p.rest_rotations(int(4 * j + 2)), p.rest_rotations(int(4 * j + 3))});
        }
    for (size_t f = 0; f < nf; ++f) {
        for (size_t k = 0; k < nt; ++k) {
            const int i = int(4 * (f * nt + k));
            a.rotations[f * nb + size_t(p.turning(int(k)))] = {p.rotations(i), p.rotations(i + 1), p.rotations(i + 2),
                                                               p.rotations(i + 3)};
        }
        a.translations[f * nb + size_t(p.moving())] = {p.translations(int(3 * f)), p.translations(int(3 * f + 1)),
                                                        p.translations(int(3 * f + 2))};
    }
    *out = std::move(m);
    return {};
}

std::string TargetMotion::Matches(const TargetSkeleton& target) const {
    if (bones.size() != target.bones.size())
        return "the motion on the target has " + std::to_string(bones.size()) + " bones, the skeleton " +
               std::to_string(target.bones.size());
    for (size_t j = 0; j < bones.size(); ++j)
        if (bones[j] != target.bones[j].name)
            return "the motion on the target names bone " + std::to_string(j) + " '" + bones[j] +
                   "', the skeleton '" + target.bones[j].name + "'";
    return {};
}

std::string ServerTarget(const std::string& address, std::string* target, bool* tls) {
    const size_t first = address.find_first_not_of(" \t\r\n");
    std::string a = first == std::string::npos ? "" : address.substr(first, address.find_last_not_of(" \t\r\n") - first + 1);
    auto scheme = [&a](const std::string& s) {
        if (a.size() < s.size()) return false;
        for (size_t i = 0; i < s.size(); ++i)
            if (std::tolower(static_cast<unsigned char>(a[i])) != s[i]) return false;
        a = a.substr(s.size());
        return true;
    };
    *tls = scheme("https://");
    if (!*tls) scheme("http://");
    while (!a.empty() && a.back() == '/') a.pop_back();
    if (a.empty() && !*tls) a = "127.0.0.1";
    std::string host = a, port = "50051";
    const size_t colon = a.find_last_of(':');
    const size_t bracket = a.find_last_of(']');
    if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
        host = a.substr(0, colon);
        port = a.substr(colon + 1);
    }
    const bool digits = !port.empty() && port.size() <= 5 &&
                        std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
    if (!digits || std::stoi(port) < 1 || std::stoi(port) > 65535)
        return "the port in '" + address + "' must be 1 to 65535";
    if (host.empty() || host.find_first_of(" \t/@") != std::string::npos)
        return "the server address '" + address + "' is not HOST:PORT (or http://HOST:PORT, https://HOST:PORT)";
    *target = host + ":" + port;
    return "";
}

std::string TokenProblem(const std::string& token) {
    bool printable = true;
    for (unsigned char c : token) printable = printable && c >= 0x20 && c <= 0x7e;
    if (printable && (token.empty() || (token.front() != ' ' && token.back() != ' '))) return {};
    return "the token must be printable ASCII with no space at either end (it is sent as an HTTP header)";
}

namespace {

std::string OptionNumber(double v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%g", v);
    return buf;
}

}  // namespace

std::string OptionsProblem(const GenerateOptions& o) {
    // As server/animgen_server/convert.py options_from_proto checks them (every field finite first), then
    // GenerateOptions.validate in ml/animgen_ml/pipeline.py, in its order: the first problem is the one it would name.
    auto finite = [](const auto& v) { return !v || std::isfinite(double(*v)); };
    const std::pair<const char*, bool> finiteness[] = {
        {"smoothing", finite(o.smoothing)}, {"start", finite(o.startSeconds)}, {"end", finite(o.endSeconds)},
        {"fps", finite(o.fps)}, {"speed", finite(o.speed)},
        {"keyframe tolerance (degrees)", finite(o.keyframeToleranceDegrees)},
        {"keyframe tolerance (mm)", finite(o.keyframeToleranceMm)}};
    for (const auto& [name, ok] : finiteness)
        if (!ok) return std::string(name) + " must be a finite number";
    if (o.smoothing && !(*o.smoothing >= 0 && *o.smoothing <= 1))
        return "smoothing must be between 0 and 1, got " + OptionNumber(*o.smoothing);
    if (o.startSeconds && !(*o.startSeconds >= 0))
        return "start must be 0 s or later, got " + OptionNumber(*o.startSeconds) + " s";
    if (o.endSeconds && !(*o.endSeconds > 0))
        return "end must be later than 0 s, got " + OptionNumber(*o.endSeconds) + " s";
    if (o.startSeconds && o.endSeconds && !(*o.endSeconds > *o.startSeconds))
        return "end (" + OptionNumber(*o.endSeconds) + " s) must be after start (" + OptionNumber(*o.startSeconds) +
               " s)";
    if (o.fps && !(*o.fps >= 1 && *o.fps <= 240))
        return "fps (the frame rate) must be between 1 and 240, got " + OptionNumber(*o.fps);
    if (o.speed && !(*o.speed >= 0.1 && *o.speed <= 10))
        return "speed must be between 0.1 and 10, got " + OptionNumber(*o.speed);
    if (o.keyframeToleranceDegrees && !(*o.keyframeToleranceDegrees >= 0))
        return "keyframe tolerance (degrees) must be 0 or more, got " + OptionNumber(*o.keyframeToleranceDegrees);
    if (o.keyframeToleranceMm && !(*o.keyframeToleranceMm >= 0))
        return "keyframe tolerance (mm) must be 0 or more, got " + OptionNumber(*o.keyframeToleranceMm);
    // ml/animgen_ml/pose.py crop_problem; whether it lies inside the picture the server says, knowing the video.
    if (o.crop && (o.crop->x < 0 || o.crop->y < 0))
        return "crop: the corner (X,Y) must be inside the picture, at 0 or more";
    if (o.crop && (o.crop->width < 32 || o.crop->height < 32))
        return "crop: the width and height must be at least 32 pixels";
    return {};
}

std::string ParseCrop(const std::string& text, CropRegion* crop) {
    int values[4] = {0, 0, 0, 0};
    size_t at = 0;
    for (int i = 0; i < 4; ++i) {
        const size_t end = i < 3 ? text.find(',', at) : text.size();
        const std::string part = end == std::string::npos ? "" : text.substr(at, end - at);
        // A sign and up to 9 digits only: std::stoi would take "12px" as 12, and throws (exceptions are off).
        const size_t first = !part.empty() && (part[0] == '-' || part[0] == '+') ? 1 : 0;
        if (part.size() == first || part.size() - first > 9 ||
            part.find_first_not_of("0123456789", first) != std::string::npos)
            return "crop: want four whole numbers of pixels X,Y,W,H (e.g. 640,0,640,720), got '" + text + "'";
        values[i] = std::atoi(part.c_str());
        at = end + 1;
    }
    *crop = CropRegion{values[0], values[1], values[2], values[3]};
    return {};
}

std::string FramesRead(int frames, float detectedShare) {
    if (frames <= 0) return {};
    std::ostringstream s;
    s.imbue(std::locale::classic());  // "70.2", not "70,2", whatever the process's locale
    s << frames << " frames read";
    // 100 x a float is exact as a double, and printf's rounding of it is Python's "{:.1f}": a tie to the even digit.
    if (std::isfinite(detectedShare))
        s << "; person detected in " << std::fixed << std::setprecision(1) << 100.0 * double(detectedShare) << '%';
    return s.str();
}

namespace {

// A figure as the CLI's "{:g}" writes these: 5, 0.25, 10 (up to 3 decimals, a '.' in any locale).
std::string Figure(double v) {
    std::ostringstream s;
    s.imbue(std::locale::classic());
    s << std::fixed << std::setprecision(3) << v;
    std::string t = s.str();
    t.erase(t.find_last_not_of('0') + 1);
    if (!t.empty() && t.back() == '.') t.pop_back();
    return t;
}

std::string Minutes(std::chrono::milliseconds d) { return Figure(double(d.count()) / 60000.0); }

}  // namespace

std::optional<std::chrono::milliseconds> RetryAfter(const Status& status,
                                                    const std::multimap<std::string, std::string>& trailers) {
    if (status.code != kResourceExhausted) return std::nullopt;
    const auto it = trailers.find(kRetryAfterKey);
    if (it == trailers.end()) return std::nullopt;
    // As Python's int() takes it: spaces around, a sign, then digits only (std::stoll would take "5000.0" as 5000).
    const std::string& v = it->second;
    const size_t first = v.find_first_not_of(" \t"), last = v.find_last_not_of(" \t");
    if (first == std::string::npos) return std::nullopt;
    const std::string t = v.substr(first, last - first + 1);
    const size_t digits = t[0] == '-' || t[0] == '+' ? 1 : 0;
    if (t.size() == digits || t.find_first_not_of("0123456789", digits) != std::string::npos) return std::nullopt;
    if (t[0] == '-') return std::chrono::milliseconds(0);
    constexpr long long kDay = 24LL * 60 * 60 * 1000;  // no server means more; and no overflow below
    return std::chrono::milliseconds(t.size() - digits > 10 ? kDay : std::min(kDay, std::atoll(t.c_str() + digits)));
}

std::string QueueFullMessage(std::chrono::milliseconds every, std::chrono::milliseconds longest) {
    return "the server's queue is full; trying again every " + Figure(double(every.count()) / 1000.0) +
           " s for up to " + Minutes(longest) + " min";
}

std::string QueueWaitGaveUp(const std::string& serverMessage, std::chrono::milliseconds longest) {
    return serverMessage + " (waited " + Minutes(longest) + " min for room)";
}

std::chrono::milliseconds StartTryDeadline(const ConnectionOptions& options) {
    return std::min(options.deadline, kStartTryDeadline);
}

std::string SlowStartMessage(std::chrono::milliseconds tryDeadline) {
    return "the server took over " + Figure(double(tryDeadline.count()) / 1000.0) +
           " s to start the job; asking again";
}

std::string SlowStartGaveUp(const std::string& message, std::chrono::milliseconds longest) {
    return message + " (asked for " + Minutes(longest) + " min; the server may have made the job: `animgen jobs` lists it)";
}

Status WaitOutFullQueue(const std::function<Status(std::optional<std::chrono::milliseconds>*)>& attempt,
                        std::chrono::milliseconds longest, const std::function<void(const std::string&)>& onWaiting,
                        const std::function<bool(std::chrono::milliseconds)>& sleep,
                        const std::function<std::chrono::steady_clock::time_point()>& now, Outage* outage,
                        std::optional<std::chrono::milliseconds> tryDeadline) {
    using std::chrono::milliseconds;
    const auto clock = [&now] { return now ? now() : std::chrono::steady_clock::now(); };
    // One deadline for the whole wait for room, a lost server and tries that timed out inside it (remote.py
    // _Run._start).
    const auto deadline = clock() + longest;
    bool said = false, saidSlow = false;
    while (true) {
        std::optional<milliseconds> retryAfter;
        const auto once = [&] {
            retryAfter.reset();
            return attempt(&retryAfter);
        };
        Status s = outage ? Reconnecting(*outage, once) : once();
        if (s.Ok()) return s;
        const milliseconds left = std::chrono::duration_cast<milliseconds>(deadline - clock());
        if (tryDeadline && s.code == kDeadlineExceeded) {  // its answer lost: asked again at once, under the same id
            if (left.count() <= 0) return {s.code, SlowStartGaveUp(s.message, longest), s.answered};
            if (!saidSlow) {
                saidSlow = true;
                if (onWaiting) onWaiting(SlowStartMessage(*tryDeadline));
            }
            if (!sleep(milliseconds(0))) return {kCancelled, "stopped while asking the server again to start the job"};
            continue;
        }
        // Lost with the server, which this run waited for until the outage's wait was over: the try may have made the
        // job (remote.py _Run._start). Not a first contact (no outage waited), nor an outage another run gave up on.
        if (s.code == kUnavailable && outage && outage->IsLost()) return {s.code, s.message + kStartLostNote};
        if (!retryAfter) return s;
        if (left.count() <= 0) return {s.code, QueueWaitGaveUp(s.message, longest), s.answered};
        const milliseconds every = std::max(*retryAfter, milliseconds(100));  // a server that says 0: no busy loop
        if (!said) {
            said = true;
            if (onWaiting) onWaiting(QueueFullMessage(every, longest));
        }
        if (!sleep(std::min(every, left))) return {kCancelled, "stopped while waiting for room in the server's queue"};
    }
}

std::string ServerLostMessage(std::chrono::milliseconds longest) {
    return "lost the server; trying to reach it again for up to " + Minutes(longest) + " min";
}

std::string ReconnectGaveUp(const std::string& message, std::chrono::milliseconds longest) {
    return message + " (tried to reach it again for " + Minutes(longest) + " min)";
}

std::string StoppedTooOften(int times) {
    return "the server stopped while the job ran, " + std::to_string(times) +
           " times; run it again once the server stays up";
}

std::string CouldNotCancel(const std::string& jobId) {
    return "could not cancel job " + jobId + " on the server: `animgen cancel " + jobId + "` does, once it can be reached";
}

bool CancelNotReceived(const Status& cancelAnswer) { return cancelAnswer.code == kUnavailable; }

std::string NewRequestId() {
    // The system's own random source where the engine builds (MSVC: RtlGenRandom; libstdc++: RDRAND or getrandom;
    // libc++: arc4random or /dev/urandom): no clock or counter that two editors could share.
    std::random_device random;
    std::string id;
    for (int i = 0; i < 4; ++i) {
        char part[9];
        std::snprintf(part, sizeof(part), "%08x", unsigned(uint32_t(random())));
        id += part;
    }
    return id;
}

bool StartUnanswered(const Status& s) { return s.code == kCancelled && s.message == kStartUnanswered; }

StopStep AfterStop(const JobInfo& job, const Status& followed) {
    if (StartUnanswered(followed)) return StopStep::SayMayHaveStarted;
    return job.jobId.empty() || IsFinal(job.state) ? StopStep::Nothing : StopStep::CancelJob;
}

std::string MayHaveStarted(const std::string& videoName) {
    return "the server may have started a job on " + videoName +
           " as the run stopped: `animgen jobs` lists the server's jobs, `animgen cancel JOB` cancels one";
}

namespace {

// The addresses this process has had an answer from (Client::HasReached), each with since when it has not been
// reachable (none while it is), as remote.py's _servers: a later run's first call waits for one of them while it
// restarts, and every run waits out the same outage, from when the first of them lost the server.
std::mutex serversMutex;
std::map<std::string, std::optional<std::chrono::steady_clock::time_point>> servers;

// The server answered: reached, and reachable.
void MarkReached(const std::string& address) {
    std::lock_guard<std::mutex> lock(serversMutex);
    servers[address].reset();
}

bool Known(const std::string& address) {
    std::lock_guard<std::mutex> lock(serversMutex);
    return servers.count(address) > 0;
}

}  // namespace

Outage::Outage(std::string address, bool reached, std::chrono::milliseconds longest,
               std::function<void(const std::string&)> say, std::function<bool(std::chrono::milliseconds)> sleep,
               std::function<std::chrono::steady_clock::time_point()> now)
    : address_(std::move(address)), reached_(reached), longest_(longest), say_(std::move(say)),
      sleep_(std::move(sleep)), now_(std::move(now)) {}

bool Outage::TryAgain(Status* s) {
    using std::chrono::milliseconds;
    // A first contact that fails: a wrong address, at once.
    if (s->code != kUnavailable || !(reached_ || Known(address_))) return false;
    const auto now = now_ ? now_() : std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point since;
    {
        std::lock_guard<std::mutex> lock(serversMutex);
        auto& lost = servers[address_];
        if (!lost) lost = now;
        since = *lost;
    }
    // From when it was lost, not from when this call began: a watch may have run for an hour before.
    const milliseconds left = std::chrono::duration_cast<milliseconds>(since + longest_ - now);
    if (left.count() <= 0) {  // a later run's, once the wait is over: at once, nothing said of trying again
        *s = {s->code, ReconnectGaveUp(s->message, longest_)};
        return false;
    }
    if (!said_) {
        said_ = true;
        if (say_) say_(ServerLostMessage(longest_));
    }
    if (sleep_ && !sleep_(std::min(milliseconds(2000), left))) {
        *s = {kCancelled, "stopped while waiting for the server to come back"};
        return false;
    }
    return true;
}

void Outage::Reached() {
    reached_ = true;
    MarkReached(address_);
    if (!said_) return;
    said_ = false;
    if (say_) say_(kServerReached);
}

Status Reconnecting(Outage& outage, const std::function<Status()>& step) {
    while (true) {
        Status s = step();
        if (s.Ok() || s.answered) {  // an answer, a refusal too (remote.py reconnecting): the server is there
            outage.Reached();
            return s;
        }
        if (!outage.TryAgain(&s)) return s;
    }
}

Status FollowJob(const JobCalls& calls, Outage& outage, JobInfo* job, const FollowCallbacks& cb) {
    const auto stopped = [&cb] { return cb.stopped && cb.stopped(); };
    std::set<std::string> told;  // warnings said: a watch attached again, or a job run again, tells them again
    for (int restart = 0;; ++restart) {
        // Through the outage inside its wait for room: one deadline for that wait, however long the server is away.
        // One request id for all the tries of this start; a start again after INTERRUPTED is a new start.
        Status s = stopped() ? Status{kCancelled, "stopped"} : calls.start(NewRequestId(), job, outage);
        if (!s.Ok()) return s;
        if (cb.onJobStarted) cb.onJobStarted(*job);
        if (job->state == JobState::Queued && cb.onNotice) cb.onNotice(kQueuedOnServer);
        bool interrupted = false;
        s = Reconnecting(outage, [&]() -> Status {
            if (stopped()) return {kCancelled, "stopped"};
            return calls.watch(job->jobId, [&](const JobEventInfo& e) {
                outage.Reached();
                const std::string id = job->jobId;
                *job = e.job;
                if (job->jobId.empty()) job->jobId = id;
                // Started again below rather than ended: the server runs that same job again.
                if (e.type == EventType::Interrupted || e.job.state == JobState::Interrupted) {
                    interrupted = true;
                    return;
                }
                if (e.type == EventType::Warning && !told.insert(e.message).second) return;
                if (cb.onEvent) cb.onEvent(e);
            });
        });
        if (!s.Ok()) return s;
        if (!interrupted) return {};
        if (restart == kMostRestarts) {
            job->state = JobState::Interrupted;
            job->error = StoppedTooOften(kMostRestarts + 1);
            return {};
        }
        if (cb.onNotice) cb.onNotice(kRunningAgain);
    }
}

std::string Status::CodeName() const {
    static const char* const names[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
                                        "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                                        "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
                                        "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
    return code >= 0 && code <= 16 ? names[code] : "CODE_" + std::to_string(code);
}

std::string Status::ToString() const { return message.empty() ? CodeName() : CodeName() + ": " + message; }

const char* JobStateName(JobState state) {
    switch (state) {
        case JobState::Queued: return "QUEUED";
        case JobState::Running: return "RUNNING";
        case JobState::Succeeded: return "SUCCEEDED";
        case JobState::Failed: return "FAILED";
        case JobState::Cancelled: return "CANCELLED";
        case JobState::Interrupted: return "INTERRUPTED";
        default: return "UNSPECIFIED";
    }
}

bool IsFinal(JobState s) {
    return s == JobState::Succeeded || s == JobState::Failed || s == JobState::Cancelled || s == JobState::Interrupted;
}

struct Client::Impl {
    Status refusal;  // every call's answer when the address or token cannot be used (ServerTarget, TokenProblem)
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<pb::AnimGen::Stub> stub;
    std::mutex mutex;
    std::set<grpc::ClientContext*> active;
    // Cancel() counts here and wakes StartJob's wait for room, which ends once the count differs from its start's.
    uint64_t cancels = 0;
    std::condition_variable cancelled;

    // A context with the token and, unless it is a watch, the connection's deadline; registered for Cancel() unless
    // `cancellable` is false: a stop's own call, which nothing else ends, and whose deadline is kStopWait.
    struct Call {
        Impl* impl;
        grpc::ClientContext ctx;
        bool registered;
        uint64_t cancelsBefore = 0;
        Call(Impl* i, const ConnectionOptions& o, bool deadline, bool cancellable = true)
            : impl(i), registered(cancellable) {
            if (deadline) ctx.set_deadline(std::chrono::system_clock::now() + (cancellable ? o.deadline : kStopWait));
            if (!o.bearerToken.empty()) ctx.AddMetadata("authorization", "Bearer " + o.bearerToken);
            std::lock_guard<std::mutex> lock(impl->mutex);
            cancelsBefore = impl->cancels;
            if (registered) impl->active.insert(&ctx);
        }
        // The call's status. A CANCELLED that Cancel() did not cause is the server's: one that stops (a deploy's
        // SIGTERM) cancels the calls it gets in its last seconds, and it sends CANCELLED for nothing else. Said as
        // UNAVAILABLE, the server gone, which a run waits out (Outage). Any other but the call's own deadline is the
        // server's answer, a refusal (Status::answered): it is there, reached.
        Status Answer(const grpc::Status& s, const std::string& address) {
            const grpc::StatusCode code = s.error_code();
            if (code == grpc::StatusCode::CANCELLED) {
                std::lock_guard<std::mutex> lock(impl->mutex);
                if (!registered || impl->cancels == cancelsBefore)  // a call Cancel() does not end: the server's
                    return {kUnavailable, "the server ended the call" +
                                              (s.error_message().empty() ? std::string() : " (" + s.error_message() + ")") +
                                              ": it is stopping"};
            }
            Status out = FromGrpc(s);
            out.answered = code != grpc::StatusCode::OK && code != grpc::StatusCode::UNAVAILABLE &&
                           code != grpc::StatusCode::CANCELLED && code != grpc::StatusCode::DEADLINE_EXCEEDED;
            if (out.answered) MarkReached(address);
            return out;
        }
        ~Call() {
            if (!registered) return;
            std::lock_guard<std::mutex> lock(impl->mutex);
            impl->active.erase(&ctx);
        }
    };
};

Client::Client(ConnectionOptions options) : options_(std::move(options)), impl_(new Impl) {
    // Refused, the client makes no channel: every call answers with the refusal (Impl::refusal) and dials nothing.
    std::string target;
    bool https = false;
    std::string problem = ServerTarget(options_.address, &target, &https);
    if (problem.empty()) problem = TokenProblem(options_.bearerToken);
    if (!problem.empty()) {
        impl_->refusal = {kInvalidArgument, problem};
        return;
    }
    options_.address = target;
    options_.useTls = options_.useTls || https;
    std::shared_ptr<grpc::ChannelCredentials> creds;
    if (options_.useTls) {
        grpc::SslCredentialsOptions ssl;
        ssl.pem_root_certs = options_.tlsRootCertsPem;
        creds = grpc::SslCredentials(ssl);
    } else {
        creds = grpc::InsecureChannelCredentials();
    }
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);  // a long clip with fingers exceeds gRPC's 4 MiB default
    // Pings while a call is open, as the server expects (server/animgen_server/limits.py, CLIENT_PING_S): a
    // connection that went dead without a word ends the watch instead of leaving it waiting for ever. Without
    // the last three, gRPC stops pinging after two pings without data, then pings once a minute at most and
    // waits a minute for the answer (the names are literal: older gRPC, as Debian's, lacks some macros).
    args.SetInt("grpc.keepalive_time_ms", 30000);
    args.SetInt("grpc.keepalive_timeout_ms", 10000);
    args.SetInt("grpc.http2.max_pings_without_data", 0);
    args.SetInt("grpc.http2.min_time_between_pings_ms", 30000);
    args.SetInt("grpc.http2.ping_timeout_ms", 10000);
    // A server that restarts is tried again every 2 s (Outage): the channel must not lag behind those tries. After a
    // failed connection it looks the address up again at most every 30 s and backs off up to 2 minutes between
    // attempts; on a server back on its port a call went on failing for some 6 s more.
    args.SetInt("grpc.dns_min_time_between_resolutions_ms", 1000);
    args.SetInt("grpc.max_reconnect_backoff_ms", 2000);
    impl_->channel = grpc::CreateCustomChannel(options_.address, creds, args);
    impl_->stub = pb::AnimGen::NewStub(impl_->channel);
}

Client::~Client() = default;

void Client::Cancel() {
    {
        std::lock_guard<std::mutex> lock(impl_->mutex);
        ++impl_->cancels;
        for (grpc::ClientContext* ctx : impl_->active) ctx->TryCancel();
    }
    impl_->cancelled.notify_all();
}

std::function<bool(std::chrono::milliseconds)> Client::CancellableSleep() {
    Impl* impl = impl_.get();
    uint64_t since = 0;
    {
        std::lock_guard<std::mutex> lock(impl->mutex);
        since = impl->cancels;  // a Cancel() from here on ends every sleep
    }
    return [impl, since](std::chrono::milliseconds d) {
        std::unique_lock<std::mutex> lock(impl->mutex);
        return !impl->cancelled.wait_for(lock, d, [&] { return impl->cancels != since; });
    };
}

bool Client::HasReached() const { return Known(options_.address); }

Status Client::FollowJob(const std::string& uploadId, const GenerateOptions& options, Outage& outage, JobInfo* job,
                         const FollowCallbacks& cb) {
    JobCalls calls;
    calls.start = [&](const std::string& requestId, JobInfo* out, Outage& through) {
        return StartJob(uploadId, options, out, cb.onNotice, &through, requestId);
    };
    calls.watch = [this](const std::string& jobId, const std::function<void(const JobEventInfo&)>& onEvent) {
        return WatchJob(jobId, onEvent);
    };
    return animgen::FollowJob(calls, outage, job, cb);
}

Status Client::UploadVideo(const std::string& path, UploadedVideo* out,
                           const std::function<void(int64_t, int64_t)>& onBytes) {
    if (!impl_->refusal.Ok()) return impl_->refusal;
    std::error_code ec;
    const auto size = fs::file_size(Utf8Path(path), ec);
    if (ec) return {kInvalidArgument, "video " + path + ": " + ec.message()};
    const std::string sha = Sha256OfFile(path);
    std::ifstream in(Utf8Path(path), std::ios::binary);
    if (sha.empty() || !in) return {kInvalidArgument, "video " + path + ": cannot be read"};

    Impl::Call call(impl_.get(), options_, true);
    // A large video over a slow link must not hit the per-call deadline: allow 10 s per MiB on top of it (100 KiB/s;
    // a link that stalls is ended by the server after 5 minutes without data).
    call.ctx.set_deadline(std::chrono::system_clock::now() + options_.deadline +
                          std::chrono::seconds(10 * (size >> 20)));
    pb::UploadVideoResponse response;
    auto writer = impl_->stub->UploadVideo(&call.ctx, &response);
    pb::UploadVideoRequest req;
    pb::UploadHeader* h = req.mutable_header();
    h->set_file_name(Utf8String(Utf8Path(path).filename()));
    h->set_size_bytes(int64_t(size));
    h->set_sha256(sha);
    // A video the server already stores is answered after the header: the next Write fails and the answer is read.
    h->set_may_answer_early(true);
    bool open = writer->Write(req);
    std::string buf(kChunkBytes, '\0');
    int64_t sent = 0;
    while (open && in) {
        in.read(&buf[0], std::streamsize(buf.size()));
        const std::streamsize n = in.gcount();
        if (n <= 0) break;
        req.Clear();
        req.set_chunk(buf.data(), size_t(n));
        open = writer->Write(req);
        sent += n;
        if (open && onBytes) onBytes(sent, int64_t(size));
    }
    writer->WritesDone();
    const grpc::Status s = writer->Finish();
    if (!s.ok()) return call.Answer(s, options_.address);
    out->uploadId = response.upload_id();
    out->sizeBytes = response.size_bytes();
    out->sha256 = response.sha256();
    out->alreadyStored = response.already_stored();
    MarkReached(options_.address);
    return {};
}

Status Client::StartJob(const std::string& uploadId, const GenerateOptions& options, JobInfo* out,
                        const std::function<void(const std::string&)>& onWaiting, Outage* outage,
                        const std::string& requestId) {
    if (!impl_->refusal.Ok()) return impl_->refusal;
    // A Cancel() from here on ends the wait for room, and the asking again after a try that timed out.
    const auto sleep = CancellableSleep();
    pb::StartJobRequest req;
    req.set_upload_id(uploadId);
    ToProto(options, req.mutable_options());
    // Built once: every try below carries the same id, so a try after one whose answer was lost gets that one's job.
    req.set_request_id(requestId.empty() ? NewRequestId() : requestId);
    bool unanswered = false;  // the last try was sent and not answered: the server may have made its job
    const std::chrono::milliseconds tryDeadline = StartTryDeadline(options_);
    auto attempt = [&](std::optional<std::chrono::milliseconds>* retryAfter) -> Status {
        // Ended by Cancel(), as every call: the job it may have made is asked for again below, under its request id.
        Impl::Call call(impl_.get(), options_, false);
        call.ctx.set_deadline(std::chrono::system_clock::now() + tryDeadline);
        // A Cancel() before this call could hear it (tries come back to back after a timeout): none is sent.
        if (!sleep(std::chrono::milliseconds(0))) return {kCancelled, "stopped before StartJob was sent"};
        unanswered = true;
        pb::Job job;
        const grpc::Status s = impl_->stub->StartJob(&call.ctx, req, &job);
        if (!s.ok()) {
            const Status refused = call.Answer(s, options_.address);
            unanswered = !refused.answered;  // a refusal: no job under the id, whose job the server would have answered
            std::multimap<std::string, std::string> trailers;
            for (const auto& [key, value] : call.ctx.GetServerTrailingMetadata())
                trailers.emplace(std::string(key.data(), key.size()), std::string(value.data(), value.size()));
            *retryAfter = RetryAfter(refused, trailers);
            return refused;
        }
        unanswered = false;
        *out = FromProto(job);
        MarkReached(options_.address);
        return {};
    };
    // A try that timed out is asked again (its answer lost), on a server that has answered this process before: a
    // first contact that times out is a wrong address, which fails at once, as an Outage fails it.
    const Status s = WaitOutFullQueue(attempt, options_.queueWait, onWaiting, sleep, {}, outage,
                                      HasReached() ? std::optional(tryDeadline) : std::nullopt);
    if (s.code != kCancelled || !unanswered) return s;
    // Cancel() came while a try was unanswered: the job it made, if any, is the caller's to cancel. Asked again under
    // the same id (a call Cancel() does not end, so kStopWait at most), the server answers with that job, or makes it
    // now if the try never reached it (remote.py _Run._cancel).
    Impl::Call call(impl_.get(), options_, true, false);
    pb::Job job;
    const grpc::Status again = impl_->stub->StartJob(&call.ctx, req, &job);
    if (again.ok()) {
        *out = FromProto(job);
        MarkReached(options_.address);
        return s;
    }
    // A refusal: no job under the id. No answer: the server may have made one, which nobody will cancel.
    return call.Answer(again, options_.address).answered ? s : Status{kCancelled, kStartUnanswered};
}

Status Client::WatchJob(const std::string& jobId, const std::function<void(const JobEventInfo&)>& onEvent) {
    if (!impl_->refusal.Ok()) return impl_->refusal;
    Impl::Call call(impl_.get(), options_, false);
    pb::WatchJobRequest req;
    req.set_job_id(jobId);
    auto reader = impl_->stub->WatchJob(&call.ctx, req);
    pb::JobEvent e;
    while (reader->Read(&e)) {
        MarkReached(options_.address);
        JobEventInfo info;
        info.type = EventType(int(e.type()));
        info.stage = e.stage();
        info.message = e.message();
        info.stageProgress = e.stage_progress();
        info.progress = e.progress();
        info.job = FromProto(e.job());
        if (onEvent) onEvent(info);
    }
    return call.Answer(reader->Finish(), options_.address);
}

Status Client::GetResult(const std::string& jobId, const std::string& outDir, JobResult* out,
                         const std::vector<OutputFormat>& formats, bool withTargetMotion) {
    if (!impl_->refusal.Ok()) return impl_->refusal;
    Impl::Call call(impl_.get(), options_, true);
    pb::GetResultRequest req;
    req.set_job_id(jobId);
    req.set_target_motion(withTargetMotion);
    for (OutputFormat f : formats) req.add_formats(pb::OutputFormat(int(f)));
    auto reader = impl_->stub->GetResult(&call.ctx, req);
    pb::GetResultResponse msg;
    JobResult result;
    bool haveHeader = false;
    std::map<std::string, std::ofstream> partial;  // file name -> stream into "<name>.part"
    std::string err;
    if (!outDir.empty()) {
        std::error_code ec;
        fs::create_directories(Utf8Path(outDir), ec);
        if (ec) err = "output folder " + outDir + ": " + ec.message();
    }
    while (err.empty() && reader->Read(&msg)) {
        if (msg.has_header()) {
            haveHeader = true;
            result.job = FromProto(msg.header().job());
            err = DecodeClip(msg.header().clip(), &result.clip);
            for (const pb::ResultFile& f : msg.header().files()) {
                ResultFileInfo info{OutputFormat(int(f.format())), f.file_name(), f.size_bytes(), f.sha256(), {}};
                // Names come from the server: keep only the last path component.
                const std::string safe = Utf8String(Utf8Path(f.file_name()).filename());
                if (!outDir.empty() && !safe.empty()) info.path = Utf8String(Utf8Path(outDir) / Utf8Path(safe));
                result.files.push_back(info);
            }
        } else if (msg.has_target_motion()) {
            err = DecodeTargetMotion(msg.target_motion(), &result.targetMotion.emplace());
        } else if (msg.has_chunk() && !outDir.empty()) {
            const pb::FileChunk& c = msg.chunk();
            auto file = std::find_if(result.files.begin(), result.files.end(),
                                     [&](const ResultFileInfo& f) { return f.fileName == c.file_name(); });
            if (file == result.files.end() || file->path.empty()) {
                err = "the server sent a chunk of an unannounced file '" + c.file_name() + "'";
                break;
            }
            auto it = partial.find(file->path);
            if (it == partial.end())
                it = partial.emplace(file->path, std::ofstream(Utf8Path(file->path + ".part"), std::ios::binary)).first;
            it->second.seekp(std::streamoff(c.offset()));
            it->second.write(c.data().data(), std::streamsize(c.data().size()));
            if (!it->second) err = "cannot write " + file->path + ".part";
        }
    }
    if (!err.empty()) call.ctx.TryCancel();
    const grpc::Status s = reader->Finish();
    for (auto& [path, stream] : partial) stream.close();
    auto discard = [&]() {  // never throws: a part file another program holds stays behind, the call still ends
        std::error_code ignored;
        for (auto& [path, stream] : partial) fs::remove(Utf8Path(path + ".part"), ignored);
    };
    if (!err.empty()) {
        discard();
        return {kInternal, err};
    }
    if (!s.ok()) {
        discard();
        return call.Answer(s, options_.address);
    }
    if (!haveHeader) return {kInternal, "the result stream carried no header"};
    for (ResultFileInfo& f : result.files) {
        if (f.path.empty()) continue;
        if (!partial.count(f.path)) {  // the header names only the files sent: an empty one has no chunks
            if (f.sizeBytes != 0) {
                discard();
                return {kInternal, "the result stream ended before " + f.fileName};
            }
            std::ofstream(Utf8Path(f.path), std::ios::binary);
            continue;
        }
        const std::string got = Sha256OfFile(f.path + ".part");
        if (!f.sha256.empty() && got != f.sha256) {
            discard();
            return {kInternal, "file " + f.fileName + " arrived damaged (sha256 " + got + ", expected " + f.sha256 + ")"};
        }
        std::error_code ec;
        fs::rename(Utf8Path(f.path + ".part"), Utf8Path(f.path), ec);
        if (ec) {
            discard();
            return {kInternal, "cannot write " + f.path + ": " + ec.message()};
        }
    }
    result.files.erase(std::remove_if(result.files.begin(), result.files.end(),
                                      [&](const ResultFileInfo& f) { return !outDir.empty() && f.path.empty(); }),
                       result.files.end());
    *out = std::move(result);
    MarkReached(options_.address);
    return {};
}

Status Client::CancelJob(const std::string& jobId, JobInfo* out, bool cancellable) {
    if (!impl_->refusal.Ok()) return impl_->refusal;
    Impl::Call call(impl_.get(), options_, true, cancellable);
    pb::CancelJobRequest req;
    req.set_job_id(jobId);
    pb::Job job;
    const grpc::Status s = impl_->stub->CancelJob(&call.ctx, req, &job);
    if (!s.ok()) return call.Answer(s, options_.address);
    *out = FromProto(job);
    return {};
}

std::string Client::FinishStop(const JobInfo& made, const Status& followed, const std::string& videoName) {
    switch (AfterStop(made, followed)) {
        case StopStep::SayMayHaveStarted:
            return MayHaveStarted(videoName);
        case StopStep::CancelJob: {
            JobInfo ignored;
            return CancelNotReceived(CancelJob(made.jobId, &ignored, false)) ? CouldNotCancel(made.jobId) : "";
        }
        case StopStep::Nothing:
            break;
    }
    return {};
}

Status Client::ListJobs(int limit, std::vector<JobInfo>* out, const std::vector<JobState>& states) {
    if (!impl_->refusal.Ok()) return impl_->refusal;
    Impl::Call call(impl_.get(), options_, true);
    pb::ListJobsRequest req;
    req.set_limit(limit);
    for (JobState st : states) req.add_states(pb::JobState(int(st)));
    pb::ListJobsResponse resp;
    const grpc::Status s = impl_->stub->ListJobs(&call.ctx, req, &resp);
    if (!s.ok()) return call.Answer(s, options_.address);
    out->clear();
    for (const pb::Job& j : resp.jobs()) out->push_back(FromProto(j));
    return {};
}

Status Client::GetServerInfo(ServerInfo* out) {
    if (!impl_->refusal.Ok()) return impl_->refusal;
    Impl::Call call(impl_.get(), options_, true);
    pb::ServerInfo info;
    const grpc::Status s = impl_->stub->GetServerInfo(&call.ctx, pb::GetServerInfoRequest(), &info);
    if (!s.ok()) return call.Answer(s, options_.address);
    MarkReached(options_.address);
    ServerInfo o;
    o.serverVersion = info.server_version();
    o.protocolVersion = info.protocol_version();
    o.backend = info.backend();
    for (const pb::ModelInfo& m : info.models()) o.models.push_back({m.name(), m.version(), m.description()});
    o.maxUploadBytes = info.limits().max_upload_bytes();
    o.maxChunkBytes = info.limits().max_chunk_bytes();
    o.maxVideoSeconds = info.limits().max_video_seconds();
    o.maxConcurrentJobs = info.limits().max_concurrent_jobs();
    o.maxQueuedJobs = info.limits().max_queued_jobs();
    o.authRequired = info.auth_required();
    *out = o;
    return {};
}

}  // namespace animgen
