#include "VideoFiles.h"

#include <algorithm>
#include <cctype>

namespace animgen {
namespace {

std::string Lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

// The file name without its folder ('/' or '\\') and, with `dropExtension`, without its extension.
std::string FileName(const std::string& path, bool dropExtension)
{
    const size_t slash = path.find_last_of("/\\");
    std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    const size_t dot = name.find_last_of('.');
    if (dropExtension && dot != std::string::npos && dot > 0) name.resize(dot);
    return name;
}

}  // namespace

bool IsVideoFile(const std::string& path)
{
    static const char* const kExtensions[] = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"};
    const std::string name = Lower(FileName(path, false));
    const size_t dot = name.find_last_of('.');
    if (dot == std::string::npos || dot == 0) return false;
    const std::string ext = name.substr(dot);
    return std::find(std::begin(kExtensions), std::end(kExtensions), ext) != std::end(kExtensions);
}

std::map<std::string, std::string> NameClashes(const std::vector<std::string>& videos)
{
    std::map<std::string, std::vector<std::string>> byName;  // lower-case name -> videos, in the given order
    for (const std::string& v : videos) byName[Lower(FileName(v, true))].push_back(v);
    std::map<std::string, std::string> problems;
    for (const auto& entry : byName)
    {
        const std::vector<std::string>& same = entry.second;
        if (same.size() < 2) continue;
        std::string names;
        for (const std::string& v : same) names += (names.empty() ? "" : ", ") + FileName(v, false);
        for (const std::string& v : same)
            problems[v] = names + " would all become one asset (" + FileName(same.front(), true) + "): rename all but one";
    }
    return problems;
}

}  // namespace animgen
