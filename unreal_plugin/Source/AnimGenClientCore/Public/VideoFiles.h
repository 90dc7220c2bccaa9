// Which files are videos.
#pragma once

#include <string>

#include "AnimGenClientCoreApi.h"

namespace animgen {

// True for the video extensions the plugin takes (.mp4 .mov .avi .mkv .webm .m4v .mpg .mpeg), in any case.
ANIMGENCLIENTCORE_API bool IsVideoFile(const std::string& path);

}  // namespace animgen
