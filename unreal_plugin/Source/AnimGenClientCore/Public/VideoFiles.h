// Which files are videos, and which videos of one batch cannot each become an asset of their own.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace animgen {

// True for the video extensions the plugin takes (.mp4 .mov .avi .mkv .webm .m4v .mpg .mpeg), in any case.
bool IsVideoFile(const std::string& path);

// For each video whose asset another video's would replace (file names equal but for extension or case: asset
// names ignore case), a one-line problem naming them all; the other videos are absent.
std::map<std::string, std::string> NameClashes(const std::vector<std::string>& videos);

}  // namespace animgen
