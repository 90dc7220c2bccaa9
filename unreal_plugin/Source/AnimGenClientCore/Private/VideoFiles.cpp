#include "VideoFiles.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>
#include <utility>

#include "Utf8Paths.h"

namespace animgen {
namespace {

namespace fs = std::filesystem;

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

std::string WithoutTrailingSlashes(std::string s)
{
    while (s.size() > 1 && (s.back() == '/' || s.back() == '\\')) s.pop_back();
    return s;
}

using Found = std::vector<std::pair<std::vector<std::string>, std::string>>;  // path under the folder; the video

// Error codes throughout: the editor is built without exceptions, where a throwing overload would end it.
void Walk(const fs::path& dir, const std::vector<std::string>& under, const std::string& prefix, bool recursive,
          Found* found)
{
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
        const std::string name = Utf8String(it->path().filename());
        if (name.empty() || name[0] == '.') continue;  // hidden
        std::vector<std::string> parts = under;
        parts.push_back(name);
        std::error_code e;
        if (it->is_regular_file(e) && IsVideoFile(name) && !MadeByAnimGen(name)) {  // a link to one is, as is_file()
            found->emplace_back(parts, prefix + name);
        } else if (recursive && !it->is_symlink(e) && it->is_directory(e)) {  // rglob does not follow a link either
            Walk(it->path(), parts, prefix + name + "/", true, found);
        }
    }
}

}  // namespace

bool MadeByAnimGen(const std::string& path)
{
    static const std::string kPreview = ".preview.mp4";
    const std::string name = Lower(FileName(path));
    const bool preview = name.size() >= kPreview.size() &&
                         name.compare(name.size() - kPreview.size(), kPreview.size(), kPreview) == 0;
    return (!name.empty() && name[0] == '.') || preview;
}

bool IsVideoFile(const std::string& path)
{
    static const char* const kExtensions[] = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".mts", ".m2ts", ".3gp", ".wmv"};
    const std::string name = Lower(FileName(path));
    const size_t dot = name.find_last_of('.');
    if (dot == std::string::npos || dot == 0) return false;
    const std::string ext = name.substr(dot);
    return std::find(std::begin(kExtensions), std::end(kExtensions), ext) != std::end(kExtensions);
}

std::vector<std::string> VideosIn(const std::string& folder, bool recursive)
{
    Found found;
    const std::string root = WithoutTrailingSlashes(folder);
    Walk(Utf8Path(root), {}, root == "/" ? root : root + "/", recursive, &found);
    // std::string compares as unsigned bytes: UTF-8 in code point order, as Python compares str.
    std::sort(found.begin(), found.end());
    std::vector<std::string> videos;
    for (auto& f : found) videos.push_back(std::move(f.second));
    return videos;
}

std::string VideoSubfolder(const std::string& folder, const std::string& video)
{
    const std::string root = WithoutTrailingSlashes(folder);
    const size_t from = root == "/" ? 1 : root.size() + 1;
    if (video.size() <= from || video.compare(0, root.size(), root) != 0 ||
        (root != "/" && video[root.size()] != '/' && video[root.size()] != '\\'))
        return "";
    std::string relative = video.substr(from);
    std::replace(relative.begin(), relative.end(), '\\', '/');
    const size_t slash = relative.rfind('/');
    return slash == std::string::npos ? "" : relative.substr(0, slash);
}

std::string InSubfolder(const std::string& base, const std::string& subfolder)
{
    if (subfolder.empty()) return base;
    return WithoutTrailingSlashes(base) + "/" + subfolder;
}

}  // namespace animgen
