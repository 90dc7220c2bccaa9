#include "LocalServer.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <vector>

#include "AnimGenClient.h"
#include "Utf8Paths.h"

namespace animgen {
namespace {

std::string Trim(const std::string& s, const char* chars = " \t\r\n")
{
    const size_t first = s.find_first_not_of(chars);
    if (first == std::string::npos) return "";
    return s.substr(first, s.find_last_not_of(chars) - first + 1);
}

std::string Lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

std::vector<std::string> Names(bool windows)
{
    if (windows) return {"animgen.exe", "animgen.cmd", "animgen.bat"};
    return {"animgen"};
}

// The executable in `folder`, or "". Error-code overloads throughout: with exceptions off a throw ends the editor.
std::string InFolder(const std::filesystem::path& folder, bool windows)
{
    for (const std::string& name : Names(windows))
    {
        std::error_code ec;
        const std::filesystem::path candidate = folder / name;
        if (std::filesystem::is_regular_file(candidate, ec)) return Utf8String(candidate);
    }
    return "";
}

bool Executable(const std::filesystem::path& p)
{
    using std::filesystem::perms;
    std::error_code ec;
    const perms mode = std::filesystem::status(p, ec).permissions();
    return !ec && (mode & (perms::owner_exec | perms::group_exec | perms::others_exec)) != perms::none;
}

// Why the editor could not start `path` (POSIX), or "". The engine's process start on Linux (and Mac before 5.8) ends
// the editor (a fatal log) where posix_spawn fails: a file without an execute bit, or a script whose interpreter is
// gone, as a virtual environment's scripts are once it is moved or removed.
std::string LaunchProblem(const std::filesystem::path& path)
{
    if (!Executable(path)) return "'" + Utf8String(path) + "' is not executable (chmod +x it)";
    std::ifstream in(path, std::ios::binary);
    std::string first;
    std::getline(in, first);
    if (first.rfind("#!", 0) != 0) return "";
    const std::string line = Trim(first.substr(2));
    const std::string interpreter = line.substr(0, line.find_first_of(" \t"));
    if (!interpreter.empty() && !Executable(Utf8Path(interpreter)))
        return "'" + Utf8String(path) + "' runs " + interpreter + ", which is not there: its virtual environment " +
               "moved or was removed; set it up again (make setup in the AnimGen repository)";
    return "";
}

std::string Absolute(const std::string& path)
{
    std::error_code ec;
    const std::filesystem::path full = std::filesystem::absolute(Utf8Path(path), ec);
    return ec ? path : Utf8String(full.lexically_normal());
}

// Sets *executable to `path`, made absolute, where the editor can start it; else says why not.
std::string Take(const std::string& path, bool windows, std::string* executable)
{
    if (!windows)
        if (const std::string problem = LaunchProblem(Utf8Path(path)); !problem.empty()) return problem;
    *executable = Absolute(path);
    return "";
}

// The message of a log record `animgen serve` writes ("2026-12-07 03:53:23,371 ERROR animgen.server: MESSAGE") when
// its level is ERROR or CRITICAL; "" for another level. *record says whether the line starts a record at all (a
// traceback's lines do not).
std::string LoggedError(const std::string& line, bool* record)
{
    static const char kShape[] = "dddd-dd-dd dd:dd:dd,ddd ";  // Python logging's asctime, then a space
    *record = line.size() > sizeof kShape - 1;
    for (size_t i = 0; *record && i < sizeof kShape - 1; ++i)
        *record = kShape[i] == 'd' ? std::isdigit(static_cast<unsigned char>(line[i])) != 0 : line[i] == kShape[i];
    if (!*record) return "";
    const std::string rest = line.substr(sizeof kShape - 1);
    if (rest.rfind("ERROR ", 0) != 0 && rest.rfind("CRITICAL ", 0) != 0) return "";
    const size_t colon = rest.find(": ");
    return colon == std::string::npos ? "" : Trim(rest.substr(colon + 2));
}

}  // namespace

std::string DescribeLocalServerExit(std::optional<int> exitCode, const std::string& logPath, long long logStart)
{
    // Only the log's last part: a record's reason is its last lines, and the log grows over many sessions.
    constexpr long long kTail = 64 * 1024;
    std::ifstream in(Utf8Path(logPath), std::ios::binary | std::ios::ate);
    const long long size = in ? static_cast<long long>(in.tellg()) : 0;
    const long long from = logStart > size ? 0 : std::max(logStart, size - kTail);  // smaller: a new log
    std::string reason;
    if (in && size > from)
    {
        std::string text(static_cast<size_t>(size - from), '\0');
        in.seekg(from);
        in.read(&text[0], static_cast<std::streamsize>(text.size()));
        size_t start = 0;
        while (start < text.size())
        {
            size_t end = text.find('\n', start);
            if (end == std::string::npos) end = text.size();
            bool record = false;
            const std::string error = LoggedError(Trim(text.substr(start, end - start), "\r"), &record);
            if (record) reason = error;  // the last record decides: an error logged earlier was not the end
            start = end + 1;
        }
    }
    const std::string ended =
        "The local server ended" + (exitCode ? " (exit code " + std::to_string(*exitCode) + ")" : std::string());
    const std::string log = " (its log: " + logPath + ")";
    if (!reason.empty()) return ended + ": " + reason + log;
    return ended + " without logging why: run `animgen serve` in a terminal to see its error" + log;
}

std::string LocalServerPort(const std::string& address, int* port)
{
    std::string target;
    bool tls = false;
    if (const std::string problem = ServerTarget(address, &target, &tls); !problem.empty()) return problem;
    if (tls) return "the local server speaks plaintext: use 127.0.0.1:PORT, not " + address;
    const size_t colon = target.find_last_of(':');
    *port = std::stoi(target.substr(colon + 1));
    const std::string host = Lower(Trim(target.substr(0, colon), "[]"));
    // `animgen serve` listens on 127.0.0.1 (IPv4) only: [::1] would never reach it.
    if (host != "localhost" && host != "127.0.0.1")
        return "a local server listens on 127.0.0.1: set the address to 127.0.0.1:PORT, not " + address;
    return "";
}

std::string LocateServerExecutable(const std::string& configured, const std::string& pathVariable, bool windows,
                                   std::string* executable)
{
    const std::string set = Trim(Trim(configured), "\"");
    if (!set.empty())
    {
        const std::filesystem::path p = Utf8Path(set);
        std::error_code ec;
        if (std::filesystem::is_regular_file(p, ec)) return Take(set, windows, executable);
        if (std::filesystem::is_directory(p, ec))
        {
            for (const char* sub : {"", "bin", "Scripts", ".venv/bin", ".venv/Scripts"})
            {
                const std::string found = InFolder(*sub ? p / sub : p, windows);
                if (!found.empty()) return Take(found, windows, executable);
            }
            return "no " + Names(windows)[0] + " in '" + set + "' nor in its bin, Scripts, .venv/bin or .venv/Scripts " +
                   "folder: set the animgen executable or the AnimGen repository folder";
        }
        return "the animgen executable '" + set + "' does not exist";
    }
    const char separator = windows ? ';' : ':';
    size_t start = 0;
    while (start <= pathVariable.size())
    {
        size_t end = pathVariable.find(separator, start);
        if (end == std::string::npos) end = pathVariable.size();
        const std::string dir = Trim(Trim(pathVariable.substr(start, end - start)), "\"");
        if (!dir.empty())
        {
            const std::string found = InFolder(Utf8Path(dir), windows);
            if (!found.empty()) return Take(found, windows, executable);
        }
        start = end + 1;
    }
    return "`animgen` is not on the editor's PATH (an editor started from the launcher or a dock has the desktop's): "
           "set the animgen executable (the AnimGen repository's .venv/bin/animgen, .venv\\Scripts\\animgen.exe on "
           "Windows) or the repository folder, or start a server yourself";
}

}  // namespace animgen
