// A batch summary with one video of each kind the commandlet writes, for BatchSummaryTests.cpp and for the e2e
// program's --sample-summary (which tests/test_unreal_plugin.py reads back with Python's json).
#pragma once

#include <string>

#include "BatchSummary.h"

namespace animgen::test {

// Its first video's path: a quote, backslashes, a tab, a control character and UTF-8 ("Jörg 跑").
inline const std::string kOddVideoPath = "C:\\ci\\J\xc3\xb6rg \"fast\"\t\x01 \xe8\xb7\x91.mp4";

inline BatchSummary SampleBatchSummary() {
    BatchSummary s;
    s.animgen = "0.2.11";
    s.client = "unreal 0.1.16";
    s.options.hands = true;
    s.options.smoothing = 0.3f;
    s.options.fps = 29.97f;
    s.options.generator = Generator::Analytic;
    s.options.inPlace = true;
    s.options.mirror = true;
    s.options.crop = CropRegion{10, 20, 640, 360};
    s.target = "/Game/Characters/SK_Mannequin.SK_Mannequin";

    BatchVideo converted;
    converted.video = kOddVideoPath;
    converted.status = BatchStatus::Converted;
    converted.outputs = {{"anim_sequence", "/Game/Anims/A_run.A_run"}, {"glb", "D:/Out/run.mp4/run.glb"}};
    // The same warning twice (an event and a replay), then one with a byte that is not UTF-8.
    converted.warnings = {"no person for 0.5 s", "no person for 0.5 s", "bad \xff byte"};
    converted.frames = 12345;
    converted.detected = 0.97312f;
    converted.seconds = 12.3456;

    BatchVideo failed;  // the job failed: what it had is not written, but its warnings and error are
    failed.video = "/ci/videos/walk.mp4";
    failed.status = BatchStatus::Failed;
    failed.outputs = {{"anim_sequence", "/Game/Anims/A_walk.A_walk"}};
    failed.warnings = {"a hand seen too rarely"};
    failed.error = "/ci/videos/walk.mp4: the job failed: no person found in the video";
    failed.frames = 200;
    failed.detected = 0.5f;
    failed.seconds = 3;

    BatchVideo refused;  // refused before its upload: an asset name clash
    refused.video = "/ci/videos/Run.mov";
    refused.error = "/ci/videos/Run.mov: run.mp4, Run.mov would all become A_run: rename all but one";

    BatchVideo older;  // converted by a server that sends no frames: neither they nor the share are known
    older.video = "/ci/videos/jump.mp4";
    older.status = BatchStatus::Converted;
    older.outputs = {{"anim_sequence", "/Game/Anims/A_jump.A_jump"}};
    older.seconds = 1;

    s.videos = {converted, failed, refused, older};
    return s;
}

}  // namespace animgen::test
