// The commandlet's options (CommandLineOptions.h): each only as a whole token, where FParse matched substrings.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "CommandLineOptions.h"

using namespace animgen;

namespace {
std::optional<std::string> Value(const std::string& line, const std::string& name) {
    return OptionValue(CommandLineTokens(line), name);
}
bool Switch(const std::string& line, const std::string& name) { return HasSwitch(CommandLineTokens(line), name); }
}  // namespace

TEST(CommandLine, AnOptionIsAWholeTokenNotPartOfAnother) {
    // FParse::Value found "Jobs=" inside -MaxJobs=4, FParse::Param "Hands" inside -NoHands.
    EXPECT_EQ(Value("-run=AnimGen -MaxJobs=4", "Jobs"), std::nullopt);
    EXPECT_EQ(Value("-run=AnimGen -MaxJobs=4 -Jobs=2", "Jobs"), "2");
    EXPECT_EQ(Value("-Input=/ci/-Jobs=8/videos", "Jobs"), std::nullopt);  // inside another option's value
    EXPECT_EQ(Value("-Input=/ci/-Jobs=8/videos", "Input"), "/ci/-Jobs=8/videos");
    EXPECT_EQ(Value("-TlsCa=roots.pem", "Tls"), std::nullopt);
    EXPECT_EQ(Value("Jobs=3 --Jobs=3 /Jobs=3", "Jobs"), std::nullopt);  // one '-', right before the name
    EXPECT_FALSE(Switch("-NoHands -HandsOff", "Hands"));
    EXPECT_FALSE(Switch("-TlsCa=roots.pem", "Tls"));
    EXPECT_FALSE(Switch("-Hands=1", "Hands"));  // a value is not the switch
    EXPECT_FALSE(Switch("Hands --Hands", "Hands"));
    EXPECT_TRUE(Switch("-NoHands -Hands", "Hands"));
    EXPECT_TRUE(Switch("-TlsCa=roots.pem -Tls", "Tls"));
}

TEST(CommandLine, QuotesKeepSpacesInAValueAndAreDropped) {
    const std::vector<std::string> tokens =
        CommandLineTokens("-run=AnimGen  -Input=\"C:/My Videos\"\t-Output=/Game/Anims \"-Files=D:/Out Dir\" -Hands");
    EXPECT_EQ(tokens, (std::vector<std::string>{"-run=AnimGen", "-Input=C:/My Videos", "-Output=/Game/Anims",
                                                "-Files=D:/Out Dir", "-Hands"}));
    EXPECT_EQ(OptionValue(tokens, "Input"), "C:/My Videos");
    EXPECT_EQ(OptionValue(tokens, "Files"), "D:/Out Dir");  // the whole token quoted, as a Windows shell passes it
    EXPECT_TRUE(HasSwitch(tokens, "Hands"));
    // A backslash is a path's (no escapes); commas and '=' belong to the value; an unclosed quote runs to the end.
    EXPECT_EQ(Value("-Input=\"C:\\My Videos\\\" -Loop", "Input"), "C:\\My Videos\\");
    EXPECT_EQ(Value("-Crop=10,20,640,360", "Crop"), "10,20,640,360");
    EXPECT_EQ(Value("-Token=a=b", "Token"), "a=b");
    EXPECT_EQ(Value("-Summary=\"C:/ci/run 1.json", "Summary"), "C:/ci/run 1.json");
    EXPECT_TRUE(CommandLineTokens(" \t\r\n").empty());
}

TEST(CommandLine, NamesAreReadInAnyCaseAsUnrealReadsThem) {
    EXPECT_EQ(Value("-input=/ci/Videos", "Input"), "/ci/Videos");  // the value keeps its case
    EXPECT_EQ(Value("-TIMEOUTMINUTES=5", "TimeoutMinutes"), "5");
    EXPECT_TRUE(Switch("-inplace", "InPlace"));
    EXPECT_TRUE(Switch("-LOCALRETARGET", "LocalRetarget"));
}

TEST(CommandLine, AMissingValueIsEmptyAndABareNameHasNone) {
    EXPECT_EQ(Value("-Input= -Hands", "Input"), "");
    EXPECT_EQ(Value("-Input=\"\"", "Input"), "");
    EXPECT_EQ(Value("-Jobs -Hands", "Jobs"), std::nullopt);  // the commandlet refuses this -Jobs as a switch
    EXPECT_TRUE(Switch("-Jobs -Hands", "Jobs"));
    EXPECT_EQ(Value("", "Input"), std::nullopt);
    EXPECT_FALSE(Switch("", "Hands"));
}

TEST(CommandLine, ARepeatedOptionIsReadFromItsFirstToken) {
    // As FParse::Value read it, so that a command line means what it meant before.
    EXPECT_EQ(Value("-Jobs=2 -Fps=24 -Jobs=4", "Jobs"), "2");
    EXPECT_EQ(Value("-MaxJobs=9 -Jobs= -Jobs=4", "Jobs"), "");
    EXPECT_TRUE(Switch("-Hands -Hands", "Hands"));
}

TEST(CommandLine, ANumberIsReadWholeOrRefusedByName) {
    double read = -1.0;
    for (const auto& [text, want] : std::vector<std::pair<std::string, double>>{
             {"30", 30.0}, {"0.5", 0.5}, {".5", 0.5}, {"5.", 5.0}, {"-2", -2.0}, {"+1.5", 1.5}, {"1e2", 100.0},
             {"2.5E-1", 0.25}}) {
        EXPECT_EQ(ParseNumber(text, &read), "") << text;
        EXPECT_DOUBLE_EQ(read, want) << text;
    }
    // Atof had read these as 30, 0, 1, 0.5 and 2: a unit, a word or a decimal comma turned into another setting.
    read = -1.0;
    for (const std::string text : {"30fps", "abc", "1h", "0,5", "2.5.1", "", " 30", "30 ", ".", "-", "1e", "1e+",
                                   "inf", "nan", "0x1A", "1e999"})
        EXPECT_EQ(ParseNumber(text, &read), "must be a number, got '" + text + "'") << text;
    EXPECT_EQ(read, -1.0);  // nothing written where the text is refused
}
