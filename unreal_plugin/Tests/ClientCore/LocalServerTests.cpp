// Where "Start local server" finds animgen and which port it runs it on, on real folders.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "LocalServer.h"

using namespace animgen;
namespace fs = std::filesystem;

TEST(LocalServer, PortComesFromALocalAddress) {
    int port = 0;
    EXPECT_EQ(LocalServerPort("", &port), "");
    EXPECT_EQ(port, 50051);
    EXPECT_EQ(LocalServerPort(" http://LOCALHOST:6000/ ", &port), "");
    EXPECT_EQ(port, 6000);
    EXPECT_EQ(LocalServerPort("127.0.0.1", &port), "");
    EXPECT_EQ(port, 50051);
    EXPECT_NE(LocalServerPort("https://127.0.0.1:50051", &port).find("plaintext"), std::string::npos);
    EXPECT_NE(LocalServerPort("10.0.0.2:50051", &port).find("not 10.0.0.2:50051"), std::string::npos);
    EXPECT_NE(LocalServerPort("[::1]:50051", &port).find("127.0.0.1"), std::string::npos);
    for (const char* bad : {"127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:port", "127.0.0.1:", "localhost:123456"})
        EXPECT_NE(LocalServerPort(bad, &port).find("must be 1 to 65535"), std::string::npos) << bad;
}

// A real `animgen serve` log, which tests/test_unreal_plugin.py writes (conftest.failed_serve_log): a start refused
// for its port number (70000), then, appended, one that found its port taken. The tab tells the second start's reason.
TEST(LocalServer, AnExitIsToldByTheReasonTheServerLogged) {
    const char* log = std::getenv("ANIMGEN_FAILED_SERVE_LOG");
    const char* start = std::getenv("ANIMGEN_FAILED_SERVE_START");
    const char* port = std::getenv("ANIMGEN_FAILED_SERVE_PORT");
    if (!log || !start || !port) GTEST_SKIP() << "run by tests/test_unreal_plugin.py, which writes a failed server's log";
    const std::string second = DescribeLocalServerExit(1, log, std::stoll(start));
    EXPECT_EQ(second, "The local server ended (exit code 1): animgen serve: cannot listen on 127.0.0.1:" +
                          std::string(port) + " (the port in use, a host that is not this machine's?) (its log: " +
                          log + ")");
    // The whole log: its last record is still the second start's.
    EXPECT_EQ(DescribeLocalServerExit(1, log, 0), second);
    // Nothing logged since the start (a crash before logging): the error is in a terminal.
    const std::string silent = DescribeLocalServerExit(std::nullopt, log, static_cast<long long>(fs::file_size(log)));
    EXPECT_EQ(silent, "The local server ended without logging why: run `animgen serve` in a terminal to see its error "
                      "(its log: " + std::string(log) + ")");
}

TEST(LocalServer, OnlyAnErrorAsTheLastRecordIsTheReason) {
    const fs::path log = fs::path(testing::TempDir()) / "animgen_exit_test.log";
    std::ofstream(log, std::ios::binary)
        << "2026-12-07 10:00:00,001 ERROR animgen.server: job 3 failed: no person found\n"
           "2026-12-07 10:05:00,002 INFO animgen.server: stopping\r\n";
    EXPECT_NE(DescribeLocalServerExit(0, log.string(), 0).find("(exit code 0) without logging why"), std::string::npos);
    // A traceback's lines after an error belong to that record; a log shorter than the start was replaced: read whole.
    std::ofstream(log, std::ios::binary)
        << "2026-12-07 10:00:00,001 CRITICAL animgen.server: out of memory\nTraceback (most recent call last):\n  x\n";
    EXPECT_NE(DescribeLocalServerExit(-9, log.string(), 1 << 20).find("(exit code -9): out of memory (its log: "),
              std::string::npos);
    EXPECT_NE(DescribeLocalServerExit(1, (log.string() + ".none"), 0).find("without logging why"), std::string::npos);
}

class ServerExecutable : public testing::Test {
protected:
    fs::path root = fs::path(testing::TempDir()) / "animgen_exe_test";
    void SetUp() override {
        fs::remove_all(root);
        fs::create_directories(root / "repo" / ".venv" / "bin");
        fs::create_directories(root / "repo" / ".venv" / "Scripts");
        fs::create_directories(root / "other");
        fs::create_directories(root / "empty");
        std::ofstream(root / "repo" / ".venv" / "bin" / "animgen") << "#!/bin/sh\n";
        std::ofstream(root / "repo" / ".venv" / "Scripts" / "animgen.exe") << "MZ";
        std::ofstream(root / "other" / "animgen") << "#!/bin/sh\n";
        for (const char* script : {"repo/.venv/bin/animgen", "other/animgen"})
            fs::permissions(root / script, fs::perms::owner_exec, fs::perm_options::add);
    }
    void TearDown() override { fs::remove_all(root); }
    std::string P(const fs::path& p) const { return (root / p).lexically_normal().string(); }
};

TEST_F(ServerExecutable, ASetFileOrFolderFindsItInTheRepositoryOrItsVenv) {
    const std::string posix = P("repo/.venv/bin/animgen");
    for (const std::string& set : {posix, P("repo"), " \"" + P("repo") + "\" ", P("repo/.venv"), P("repo/.venv/bin")}) {
        std::string exe;
        EXPECT_EQ(LocateServerExecutable(set, P("other"), false, &exe), "") << set;
        EXPECT_EQ(exe, posix) << set;  // a set path wins over PATH
    }
    std::string exe;
    EXPECT_EQ(LocateServerExecutable(P("repo"), "", true, &exe), "");
    EXPECT_EQ(exe, P("repo/.venv/Scripts/animgen.exe"));
}

TEST_F(ServerExecutable, EmptyMeansTheFirstOnPath) {
    std::string exe;
    EXPECT_EQ(LocateServerExecutable("", P("empty") + "::" + P("other") + ":" + P("repo/.venv/bin"), false, &exe), "");
    EXPECT_EQ(exe, P("other/animgen"));
    EXPECT_EQ(LocateServerExecutable("", "\"" + P("repo/.venv/Scripts") + "\";" + P("other"), true, &exe), "");
    EXPECT_EQ(exe, P("repo/.venv/Scripts/animgen.exe"));
}

TEST_F(ServerExecutable, OneTheEditorCouldNotStartIsRefusedByName) {
    // posix_spawn failing ends the editor on Linux: a file without an execute bit, a venv script whose python is gone.
    std::string exe;
    fs::permissions(root / "other" / "animgen", fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                    fs::perm_options::remove);
    EXPECT_NE(LocateServerExecutable(P("other"), "", false, &exe).find("is not executable"), std::string::npos);
    EXPECT_NE(LocateServerExecutable("", P("other"), false, &exe).find("is not executable"), std::string::npos);
    std::ofstream(root / "repo" / ".venv" / "bin" / "animgen") << "#!" << P("moved/.venv/bin/python") << " -E\n";
    const std::string stale = LocateServerExecutable(P("repo"), "", false, &exe);
    EXPECT_NE(stale.find("runs " + P("moved/.venv/bin/python") + ", which is not there"), std::string::npos) << stale;
    EXPECT_EQ(exe, "");
    // Windows starts animgen.exe itself (CreateProcess fails with an error, not a crash): no such check.
    EXPECT_EQ(LocateServerExecutable(P("repo"), "", true, &exe), "");
}

TEST_F(ServerExecutable, MissesNameWhatWasLookedFor) {
    std::string exe = "unchanged";
    EXPECT_NE(LocateServerExecutable(P("empty"), P("other"), false, &exe).find("no animgen in '" + P("empty") + "'"),
              std::string::npos);
    EXPECT_NE(LocateServerExecutable(P("nowhere/animgen"), "", false, &exe).find("'" + P("nowhere/animgen") +
                                                                               "' does not exist"),
              std::string::npos);
    const std::string unfound = LocateServerExecutable("", P("empty") + ":", false, &exe);
    EXPECT_NE(unfound.find("not on the editor's PATH"), std::string::npos);
    EXPECT_NE(unfound.find("repository folder"), std::string::npos);
    EXPECT_EQ(exe, "unchanged");
}
