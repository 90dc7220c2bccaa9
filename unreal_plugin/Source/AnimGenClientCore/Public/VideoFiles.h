// Which files are videos, and which videos a batch takes from a folder: as `animgen generate DIR [-r]` lists them
// (server/animgen_server/cmd_generate.py videos_in, out_bases), for the commandlet's -Input and -Recursive.
#pragma once

#include <string>
#include <vector>

#include "AnimGenClientCoreApi.h"

namespace animgen {

// True for the video extensions the plugin takes (.mp4 .mov .avi .mkv .webm .m4v .mpg .mpeg .mts .m2ts .3gp .wmv), in any case.
ANIMGENCLIENTCORE_API bool IsVideoFile(const std::string& path);

// A file a run writes among videos, as the CLI tells them (cmd_generate.py _made_by_animgen): AnimGen's own preview
// (take.preview.mp4, in any case) or a hidden file. Taken for a video, a folder converted into itself would grow a
// take.preview.preview.mp4 on every run.
ANIMGENCLIENTCORE_API bool MadeByAnimGen(const std::string& path);

// The videos of a folder (UTF-8 paths); with recursive, those of its subfolders too. Hidden files and subfolders (a name
// starting with '.': .git, a tool's cache, macOS's ._take.mp4) are left out, and so are AnimGen's previews
// (MadeByAnimGen); a subfolder that is a link, or that cannot be read, is not gone into. Each is the folder, '/', and
// its path under it with '/' separators (/in/Videos/walk/take.mp4), in the CLI's order: by that path, compared folder
// by folder (sorted(rglob): walk/take.mp4 before walk-2.mp4), byte by byte. Empty when the folder cannot be read.
ANIMGENCLIENTCORE_API std::vector<std::string> VideosIn(const std::string& folder, bool recursive);

// The subfolder of folder that holds a video VideosIn found, with '/' separators: "walk/slow" for
// folder/walk/slow/take.mp4, "" for folder/take.mp4 (and for a video that is not under folder).
ANIMGENCLIENTCORE_API std::string VideoSubfolder(const std::string& folder, const std::string& video);

// base, then '/' and subfolder unless it is empty: where a video in that subfolder of -Input goes under -Output (its
// AnimSequence's package path, /Game/Anims/walk) or -Files, so that two take.mp4 in different subfolders do not clash.
ANIMGENCLIENTCORE_API std::string InSubfolder(const std::string& base, const std::string& subfolder);

}  // namespace animgen
