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

// The file name without its folder ('/' or '\\').
std::string FileName(const std::string& path)
{
    const size_t slash = path.find_last_of("/\\");
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

bool IsVideoFile(const std::string& path)
{
    static const char* const kExtensions[] = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"};
    const std::string name = Lower(FileName(path));
    const size_t dot = name.find_last_of('.');
    if (dot == std::string::npos || dot == 0) return false;
    const std::string ext = name.substr(dot);
    return std::find(std::begin(kExtensions), std::end(kExtensions), ext) != std::end(kExtensions);
}

}  // namespace animgen
