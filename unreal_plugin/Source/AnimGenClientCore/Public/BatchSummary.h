// What a batch did with each video, as a JSON file for CI (the commandlet's -Summary=FILE.json): the shape that
// `animgen generate --summary` writes (server/animgen_server/run_summary.py), so that one CI script reads both, whichever
// tool made the clips. Plain structs in, text out; the commandlet fills them, the core writes them.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "AnimGenClient.h"
#include "AnimGenClientCoreApi.h"

namespace animgen {

// A video's status, named as run_summary.STATUSES names them.
enum class BatchStatus : int { Converted, Skipped, Failed, Cancelled };
ANIMGENCLIENTCORE_API const char* BatchStatusName(BatchStatus status);  // "converted"

struct BatchVideo {
    std::string video;  // its path as the batch found it (UTF-8)
    BatchStatus status = BatchStatus::Failed;
    // What it became, in order: {"anim_sequence", "/Game/Anims/A_run.A_run"}, {"glb", ".../run.glb"}.
    std::vector<std::pair<std::string, std::string>> outputs;
    std::vector<std::string> warnings;  // the server's, in the order they came (one sent twice is written once)
    std::string error;                  // one line, as the log gives it; "" for none
    int frames = 0;                     // JobInfo::frames; 0: not known (an older server)
    float detected = 0;                 // JobInfo::detectedShare; written only with frames
    double seconds = 0;                 // upload to saved asset; written only when converted
};

struct BatchSummary {
    std::optional<std::string> animgen;  // the server's version (ServerVersionNumber); none when it could not be asked
    std::string client;                  // "unreal 0.1.16"
    GenerateOptions options;             // written under the CLI's names, those left unset as the server's defaults
    std::string target;                  // the skeleton the server retargets onto; "" for none
    std::vector<BatchVideo> videos;      // in the batch's order, one per video found, refused ones included
};

// "0.2.11" from a ServerInfo's "animgen 0.2.11 (grpcio 1.60.1, python 3.10.12)", the form `animgen --version` and
// the CLI's summary give; another server's text as it is.
ANIMGENCLIENTCORE_API std::string ServerVersionNumber(const std::string& serverVersion);

// The summary as JSON text (UTF-8, ending in a newline). A video that failed or was cancelled has no outputs, frames
// or share of frames with a person; only a converted one has its seconds. Numbers are written the same in any locale.
ANIMGENCLIENTCORE_API std::string BatchSummaryJson(const BatchSummary& summary);

// Before any work, so that a batch never runs for hours only to lose its summary: why `path` cannot be the summary of
// a batch that reads `inputs` (its videos, a certificate), in words, or "" with its folder made. It may not be empty, a
// folder, a read-only file, or one of the inputs (compared without case), and its folder must take a new file.
ANIMGENCLIENTCORE_API std::string PrepareBatchSummaryPath(const std::string& path,
                                                          const std::vector<std::string>& inputs);

// Writes the summary to `path` (UTF-8): into a file beside it, then renamed over it, so that a CI job reading it never
// sees half of one, and an old summary is replaced whole or not at all. "" when written, or why not, in one line.
ANIMGENCLIENTCORE_API std::string WriteBatchSummary(const std::string& path, const BatchSummary& summary);

}  // namespace animgen
