// The commandlet's options read exactly. Unreal's FParse::Value and FParse::Param find a name anywhere in the command
// line: -MaxJobs=4 would be read as -Jobs=4, and -NoHands as -Hands. These take an option only as a whole token, as
// Unreal writes them (-Name=VALUE, -Name; the name in any case). Plain strings, no Unreal types: GoogleTested outside
// the engine. (Not CommandLine.h: that is Unreal's Misc/CommandLine.h.)
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "AnimGenClientCoreApi.h"

namespace animgen {

// The command line in tokens: whitespace separates them, and double quotes keep a run of it in one, the quotes dropped,
// as Unreal quotes a value with spaces: -Input="C:/My Videos" (or "-Input=C:/My Videos") is -Input=C:/My Videos.
// A backslash is itself (C:\Videos\), as Unreal reads it.
ANIMGENCLIENTCORE_API std::vector<std::string> CommandLineTokens(const std::string& commandLine);

// VALUE of the first token that is -NAME=VALUE (NAME without its '-', in any case), "" for -NAME=; none where no token
// starts with -NAME= (a bare -NAME has no value). The first one counts where it is given twice, as FParse::Value read it.
ANIMGENCLIENTCORE_API std::optional<std::string> OptionValue(const std::vector<std::string>& tokens,
                                                             const std::string& name);

// Whether a token is the switch -NAME itself (in any case): not -NAME=..., nor a longer name that ends or starts so.
ANIMGENCLIENTCORE_API bool HasSwitch(const std::vector<std::string>& tokens, const std::string& name);

// An option's number, read as the CLI reads one (Python's float: an optional sign, digits with at most one '.', an
// optional exponent; '.' whatever the locale): "" and *value set, else what is wrong with it. FCString::Atof, which
// the commandlet used, took "30fps" as 30 and "abc" as 0, so -Smoothing=abc quietly turned smoothing off.
ANIMGENCLIENTCORE_API std::string ParseNumber(const std::string& text, double* value);

}  // namespace animgen
