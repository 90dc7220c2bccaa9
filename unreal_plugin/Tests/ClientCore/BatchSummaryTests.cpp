// The commandlet's -Summary=FILE.json: its JSON (the shape of `animgen generate --summary`) and how it is written.
// tests/test_unreal_plugin.py also reads the sample back with Python's json.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <locale>
#include <sstream>
#include <string>
#include <vector>

#include "BatchSummary.h"
#include "SampleSummary.h"

using namespace animgen;
namespace fs = std::filesystem;

namespace {

std::string Read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// A fresh, empty folder of the test's own.
fs::path Folder(const std::string& name) {
    const fs::path dir = fs::path(testing::TempDir()) / ("animgen_summary_" + name);
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

std::vector<std::string> Names(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

// A comma for the decimal point and '.' between thousands, as a German locale has them.
struct GermanNumbers : std::numpunct<char> {
    char do_decimal_point() const override { return ','; }
    char do_thousands_sep() const override { return '.'; }
    std::string do_grouping() const override { return "\3"; }
};

}  // namespace

TEST(BatchSummary, JsonOfAConvertedAFailedAndARefusedVideo) {
    const std::string json = BatchSummaryJson(test::SampleBatchSummary());
    // Laid out as Python's json.dumps(indent=1) lays out the CLI's.
    EXPECT_EQ(json.rfind("{\n \"animgen\": \"0.2.11\",\n \"client\": \"unreal 0.1.16\",\n \"options\": {\n", 0), 0u) << json;
    EXPECT_NE(json.find("  \"smoothing\": 0.3,\n  \"fps\": 29.97,\n  \"generator\": \"analytic\",\n"), std::string::npos);
    EXPECT_NE(json.find("  \"crop\": [\n   10,\n   20,\n   640,\n   360\n  ],\n"
                        "  \"target\": \"/Game/Characters/SK_Mannequin.SK_Mannequin\"\n },\n"),
              std::string::npos);
    EXPECT_NE(json.find(" \"counts\": {\n  \"converted\": 2,\n  \"skipped\": 0,\n  \"failed\": 2,\n  \"cancelled\": 0\n },"),
              std::string::npos);
    // The converted video: its outputs in order, a warning sent twice written once, frames, share to 4 places, seconds
    // to 3.
    EXPECT_NE(json.find("   \"outputs\": {\n    \"anim_sequence\": \"/Game/Anims/A_run.A_run\",\n"
                        "    \"glb\": \"D:/Out/run.mp4/run.glb\"\n   },\n"
                        "   \"warnings\": [\n    \"no person for 0.5 s\",\n    \"bad \xef\xbf\xbd byte\"\n   ],\n"
                        "   \"error\": null,\n   \"frames\": 12345,\n   \"detected\": 0.9731,\n   \"seconds\": 12.346\n"),
              std::string::npos) << json;
    // The failed job: warnings and error, but no outputs, frames, share or time.
    EXPECT_NE(json.find("   \"video\": \"/ci/videos/walk.mp4\",\n   \"status\": \"failed\",\n   \"outputs\": {},\n"
                        "   \"warnings\": [\n    \"a hand seen too rarely\"\n   ],\n"
                        "   \"error\": \"/ci/videos/walk.mp4: the job failed: no person found in the video\",\n"
                        "   \"frames\": null,\n   \"detected\": null,\n   \"seconds\": null\n"),
              std::string::npos) << json;
    // The refused video (no job ran), and one converted by a server that sends no frames.
    EXPECT_NE(json.find("   \"video\": \"/ci/videos/Run.mov\",\n   \"status\": \"failed\",\n   \"outputs\": {},\n"
                        "   \"warnings\": [],\n   \"error\": \"/ci/videos/Run.mov: run.mp4, Run.mov would all become A_run:"
                        " rename all but one\",\n   \"frames\": null,\n   \"detected\": null,\n   \"seconds\": null\n"),
              std::string::npos) << json;
    EXPECT_NE(json.find("   \"frames\": null,\n   \"detected\": null,\n   \"seconds\": 1.0\n  }\n ]\n}\n"),
              std::string::npos) << json;

    // No server version (it could not be asked), the options left to the server, no target.
    BatchSummary bare;
    bare.client = "unreal 0.1.16";
    const std::string plain = BatchSummaryJson(bare);
    EXPECT_NE(plain.find("\"animgen\": null,"), std::string::npos);
    EXPECT_NE(plain.find("\"smoothing\": 0.5,\n  \"fps\": null,\n  \"generator\": \"network\","), std::string::npos);
    EXPECT_NE(plain.find("\"crop\": null,\n  \"target\": null\n"), std::string::npos);
    EXPECT_NE(plain.find("\"cancelled\": 0\n },\n \"videos\": []\n}\n"), std::string::npos) << plain;
}

TEST(BatchSummary, StringsAreEscapedAndUtf8PassesThrough) {
    BatchSummary s;
    BatchVideo v;
    v.video = test::kOddVideoPath;
    v.error = std::string("line\r\nnext \b\f\x1f\x7f end");
    // Not UTF-8: a lone continuation byte, an overlong '/', a UTF-16 surrogate, a sequence cut short at the end.
    v.warnings = {"a\x80z", "\xc0\xaf", "\xed\xa0\x80", "cut \xe8\xb7"};
    s.videos = {v};
    const std::string json = BatchSummaryJson(s);
    EXPECT_NE(json.find("\"video\": \"C:\\\\ci\\\\J\xc3\xb6rg \\\"fast\\\"\\t\\u0001 \xe8\xb7\x91.mp4\""),
              std::string::npos) << json;
    EXPECT_NE(json.find("\"error\": \"line\\r\\nnext \\b\\f\\u001f\x7f end\""), std::string::npos) << json;
    const std::string fffd = "\xef\xbf\xbd";
    for (const std::string& w : {"a" + fffd + "z", fffd + fffd, fffd + fffd + fffd, "cut " + fffd + fffd})
        EXPECT_NE(json.find("\"" + w + "\""), std::string::npos) << w << "\n" << json;
}

TEST(BatchSummary, NumbersAreTheSameInAnyLocale) {
    const std::locale before = std::locale::global(std::locale(std::locale::classic(), new GermanNumbers));
    const std::string json = BatchSummaryJson(test::SampleBatchSummary());
    std::ostringstream german;  // the locale really is in force: a plain stream writes the German way
    german << 12345.5;
    std::locale::global(before);
    EXPECT_EQ(german.str(), "12.345,5");
    EXPECT_NE(json.find("\"smoothing\": 0.3,"), std::string::npos) << json;
    EXPECT_NE(json.find("\"fps\": 29.97,"), std::string::npos);
    EXPECT_NE(json.find("\"frames\": 12345,"), std::string::npos);
    EXPECT_NE(json.find("\"detected\": 0.9731,"), std::string::npos);
    EXPECT_NE(json.find("\"seconds\": 12.346\n"), std::string::npos);
    EXPECT_EQ(json, BatchSummaryJson(test::SampleBatchSummary()));
}

TEST(BatchSummary, ServerVersionNumber) {
    EXPECT_EQ(ServerVersionNumber("animgen 0.2.11 (grpcio 1.60.1, python 3.10.12)"), "0.2.11");
    EXPECT_EQ(ServerVersionNumber("animgen 0.3.0"), "0.3.0");
    EXPECT_EQ(ServerVersionNumber("another server 2.0"), "another server 2.0");
    EXPECT_EQ(ServerVersionNumber(""), "");
}

TEST(BatchSummary, WrittenAsideAndRenamedOverAnOldOne) {
    const fs::path dir = Folder("write");
    const fs::path path = dir / "run.json";
    std::ofstream(path) << "{\"an old\": \"summary, longer than the new one will be ....................................."
                           "......................................................................................\"}";
    const BatchSummary s = test::SampleBatchSummary();
    EXPECT_EQ(WriteBatchSummary(path.string(), s), "");
    EXPECT_EQ(Read(path), BatchSummaryJson(s));
    EXPECT_EQ(Names(dir), std::vector<std::string>{"run.json"});  // no file left aside
    // A UTF-8 name (as TCHAR_TO_UTF8 gives it) is the file of that name.
    const std::string utf8 = (dir / "").string() + "J\xc3\xb6rg \xe8\xb7\x91.json";
    EXPECT_EQ(WriteBatchSummary(utf8, s), "");
    EXPECT_EQ(Read(fs::u8path(utf8)), BatchSummaryJson(s));
    fs::remove_all(dir);
}

TEST(BatchSummary, WriteSaysWhyNot) {
    const fs::path dir = Folder("why_not");
    const BatchSummary s = test::SampleBatchSummary();
    const std::string missing = WriteBatchSummary((dir / "no" / "such" / "run.json").string(), s);
    EXPECT_NE(missing.find("its folder " + (dir / "no" / "such").string() + " does not exist"), std::string::npos)
        << missing;
    const fs::path folder = dir / "run.json";
    fs::create_directories(folder);
    EXPECT_EQ(WriteBatchSummary(folder.string(), s), "is a folder; a summary is a file");
    fs::remove(folder);
    const fs::path locked = dir / "locked.json";
    std::ofstream(locked) << "kept";
    fs::permissions(locked, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
    EXPECT_EQ(WriteBatchSummary(locked.string(), s), "is read-only, not replaced");
    EXPECT_EQ(Read(locked), "kept");
    EXPECT_EQ(WriteBatchSummary("", s), "is an empty name");
    EXPECT_EQ(Names(dir), std::vector<std::string>{"locked.json"});
    fs::permissions(locked, fs::perms::owner_write, fs::perm_options::add);
    fs::remove_all(dir);
}

TEST(BatchSummary, PreparedBeforeAnyWork) {
    const fs::path dir = Folder("prepare");
    const fs::path video = dir / "Run.mp4";
    std::ofstream(video) << "not really a video";
    const std::vector<std::string> inputs = {video.string(), (dir / "walk.mp4").string()};
    // Its folder is made (as the CLI makes it), and nothing is left there.
    const fs::path nested = dir / "ci" / "out" / "run.json";
    EXPECT_EQ(PrepareBatchSummaryPath(nested.string(), inputs), "");
    EXPECT_TRUE(fs::is_directory(nested.parent_path()));
    EXPECT_TRUE(fs::is_empty(nested.parent_path()));
    // One of the videos, by another spelling of its path and in another case: refused, the video untouched.
    const std::string same = PrepareBatchSummaryPath((dir / "ci" / ".." / "run.MP4").string(), inputs);
    EXPECT_EQ(same, "is also " + video.string() + ", which the batch reads: name it apart");
    EXPECT_NE(PrepareBatchSummaryPath((dir / "walk.mp4").string(), inputs), "");  // not there yet, still a video
    EXPECT_EQ(Read(video), "not really a video");
    EXPECT_EQ(PrepareBatchSummaryPath(dir.string(), inputs), "is a folder; a summary is a file");
    EXPECT_EQ(PrepareBatchSummaryPath(" ", inputs), "is an empty name (an unset variable?)");
    // A folder that cannot be made: a file is in its way.
    const std::string blocked = PrepareBatchSummaryPath((video / "run.json").string(), inputs);
    EXPECT_EQ(blocked.rfind("its folder " + video.string() + " cannot be made (", 0), 0u) << blocked;
    fs::remove_all(dir);
}
