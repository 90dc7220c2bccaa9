// Paths arrive as UTF-8 (Unreal's TCHAR_TO_UTF8, the server's file names). On Windows a std::string path is read in
// the ANSI code page: "Jörg/lauf.mp4" would not be found, and a byte with no mapping there throws (with exceptions
// off, the editor ends). These build and read paths as UTF-8 on every platform.
#pragma once

#include <filesystem>
#include <string>

namespace animgen {

inline std::filesystem::path Utf8Path(const std::string& s) {
#if defined(__cpp_char8_t)
    return std::filesystem::path(std::u8string(s.begin(), s.end()));
#else
    return std::filesystem::u8path(s);
#endif
}

inline std::string Utf8String(const std::filesystem::path& p) {
    const auto u = p.u8string();  // std::string before C++20, std::u8string since
    return std::string(u.begin(), u.end());
}

}  // namespace animgen
