// Where "Start local server" finds animgen and which port it runs it on, on real folders.
#include <gtest/gtest.h>

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
