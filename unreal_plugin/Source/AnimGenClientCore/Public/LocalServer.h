// What "Start local server" runs: the port `animgen serve` listens on for the tab's address, and where `animgen` is.
// An editor started from the Epic Games Launcher, a dock or a desktop menu has the desktop's PATH, not a shell's, so
// the AnimGen repository's .venv/bin is rarely on it: the tab takes the executable itself or a folder holding it.
#pragma once

#include <optional>
#include <string>

#include "AnimGenClientCoreApi.h"

namespace animgen {

// The port a local server listens on so that `address` (HOST:PORT or http://HOST:PORT, HOST 127.0.0.1 or localhost;
// empty: 127.0.0.1:50051) reaches it. Returns "" and sets *port, or the problem (another machine, TLS, a bad port).
ANIMGENCLIENTCORE_API std::string LocalServerPort(const std::string& address, int* port);

// The animgen executable (UTF-8 paths): `configured` when set, a file or a folder holding it (the folder itself, its
// bin or Scripts, its .venv/bin or .venv/Scripts: the AnimGen repository works), else the first on `pathVariable`
// (PATH's value, ';'-separated on Windows, ':' elsewhere). Names: animgen.exe, .cmd, .bat on Windows, animgen
// elsewhere. Elsewhere than Windows the file must be one the editor can start: executable, and a script's interpreter
// there. Returns "" and sets *executable, or what was looked for or is wrong.
ANIMGENCLIENTCORE_API std::string LocateServerExecutable(const std::string& configured, const std::string& pathVariable,
                                                         bool windows, std::string* executable);

// What the tab says when the local server ended on its own (a port already taken, a crash): its exit
// code where the editor knows it, and the reason `animgen serve` logged as it stopped: the last record the log
// (`logPath`, UTF-8) gained after byte `logStart` (its size when this server was started; the log is appended to) when
// that record is an ERROR. A log without one sends the user to a terminal, where the error is printed.
ANIMGENCLIENTCORE_API std::string DescribeLocalServerExit(std::optional<int> exitCode, const std::string& logPath,
                                                          long long logStart);

}  // namespace animgen
