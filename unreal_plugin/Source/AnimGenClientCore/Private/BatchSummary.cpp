#include "BatchSummary.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <locale>
#include <random>
#include <set>
#include <sstream>
#include <system_error>

#include "Utf8Paths.h"

namespace animgen {
namespace fs = std::filesystem;

namespace {

// A JSON value: a scalar's text as written, or an array or object of values (an array's keys unused).
struct Node {
    enum class Kind { Scalar, Array, Object } kind = Kind::Scalar;
    std::string text;
    std::vector<std::string> keys;
    std::vector<Node> values;

    Node& Add(const std::string& key, Node value) {
        keys.push_back(key);
        values.push_back(std::move(value));
        return values.back();
    }
};

Node Scalar(std::string text) { return {Node::Kind::Scalar, std::move(text), {}, {}}; }
Node Array() { return {Node::Kind::Array, {}, {}, {}}; }
Node Object() { return {Node::Kind::Object, {}, {}, {}}; }
Node Null() { return Scalar("null"); }
Node Bool(bool b) { return Scalar(b ? "true" : "false"); }

// The length of the well-formed UTF-8 sequence at s[i] (no overlong forms, surrogates or code points past U+10FFFF),
// or 0 where there is none.
size_t Utf8Sequence(const std::string& s, size_t i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k) {
        const unsigned char b = static_cast<unsigned char>(s[i + k]);
        if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return 0;
    }
    return n;
}

// A JSON string. UTF-8 passes through; a byte that is not UTF-8 (a file name from another code page) becomes U+FFFD,
// since a reader would refuse the whole file over it.
Node String(const std::string& s) {
    std::string o = "\"";
    for (size_t i = 0; i < s.size();) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            const size_t n = Utf8Sequence(s, i);
            if (n == 0) {
                o += "\xEF\xBF\xBD";
                ++i;
            } else {
                o.append(s, i, n);
                i += n;
            }
            continue;
        }
        switch (c) {
            case '"': o += "\\\""; break;
            case '\\': o += "\\\\"; break;
            case '\n': o += "\\n"; break;
            case '\r': o += "\\r"; break;
            case '\t': o += "\\t"; break;
            case '\b': o += "\\b"; break;
            case '\f': o += "\\f"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
                    o += buf;
                } else {
                    o += char(c);
                }
        }
        ++i;
    }
    return Scalar(o + "\"");
}

// At most `decimals` places, trailing zeros dropped but for one ("0.5", "30.0": Python's json writes a float so), with
// a '.' whatever the process's locale (a German one would write "0,5", which is no JSON).
std::string Fixed(double v, int decimals) {
    if (!std::isfinite(v)) return "null";
    std::ostringstream s;
    s.imbue(std::locale::classic());
    s << std::fixed << std::setprecision(decimals) << v;
    std::string t = s.str();
    if (t.find('.') == std::string::npos) return t + ".0";
    while (t.back() == '0' && t[t.size() - 2] != '.') t.pop_back();
    return t;
}

// The fewest decimals that read back as the same float: 0.3f is 0.3, not 0.30000001192092896.
std::string ShortestFloat(float v) {
    for (int decimals = 0; decimals < 9; ++decimals) {
        const std::string t = Fixed(v, decimals);
        std::istringstream in(t);
        in.imbue(std::locale::classic());
        float back = 0;
        if (in >> back && back == v) return t;
    }
    return Fixed(v, 9);
}

bool Unconverted(BatchStatus s) { return s == BatchStatus::Failed || s == BatchStatus::Cancelled; }

Node Video(const BatchVideo& v) {
    Node o = Object();
    o.Add("video", String(v.video));
    o.Add("status", String(BatchStatusName(v.status)));
    Node& outputs = o.Add("outputs", Object());
    if (!Unconverted(v.status))
        for (const auto& [kind, where] : v.outputs) outputs.Add(kind, String(where));
    Node& warnings = o.Add("warnings", Array());
    std::set<std::string> seen;
    for (const std::string& w : v.warnings)
        if (seen.insert(w).second) warnings.Add("", String(w));
    o.Add("error", v.error.empty() ? Null() : String(v.error));
    const bool frames = v.frames > 0 && !Unconverted(v.status);
    o.Add("frames", frames ? Scalar(std::to_string(v.frames)) : Null());
    o.Add("detected", frames ? Scalar(Fixed(v.detected, 4)) : Null());  // round(detected, 4)
    o.Add("seconds", v.status == BatchStatus::Converted ? Scalar(Fixed(v.seconds, 3)) : Null());
    return o;
}

// As Python's json.dumps(indent=1) lays it out, so that the two tools' files also read alike.
void Dump(const Node& n, int indent, std::string* out) {
    if (n.kind == Node::Kind::Scalar) {
        *out += n.text;
        return;
    }
    const bool object = n.kind == Node::Kind::Object;
    if (n.values.empty()) {
        *out += object ? "{}" : "[]";
        return;
    }
    *out += object ? '{' : '[';
    for (size_t k = 0; k < n.values.size(); ++k) {
        *out += '\n';
        out->append(size_t(indent + 1), ' ');
        if (object) *out += String(n.keys[k]).text + ": ";
        Dump(n.values[k], indent + 1, out);
        if (k + 1 < n.values.size()) *out += ',';
    }
    *out += '\n';
    out->append(size_t(indent), ' ');
    *out += object ? '}' : ']';
}

std::string ErrnoText() { return errno ? std::generic_category().message(errno) : "an I/O error"; }

fs::path FolderOf(const fs::path& p) { return p.has_parent_path() ? p.parent_path() : fs::path("."); }

// The file written and then renamed over the summary: beside it, since a rename does not cross file systems, and
// with a random suffix, so that no neighbour (a user's own run.json.part) is written over or removed.
fs::path Aside(const fs::path& p) {
    std::random_device random;
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, ".%08x%08x.part", random(), random());
    fs::path a = p;
    a += suffix;
    return a;
}

// Why the summary cannot take the place of what is at `p`, or "".
std::string Unreplaceable(const fs::path& p) {
    std::error_code ec;
    const fs::file_status st = fs::status(p, ec);
    if (fs::is_directory(st)) return "is a folder; a summary is a file";
    // POSIX would rename over it anyway, Windows would not: refused on both, as the CLI refuses it.
    if (fs::exists(st) && (st.permissions() & fs::perms::owner_write) == fs::perms::none)
        return "is read-only, not replaced";
    return "";
}

// The same file: one the file system says is (a link), or the same path but for case (on a disk that ignores it).
bool SameFile(const fs::path& a, const fs::path& b) {
    std::error_code ec;
    if (fs::equivalent(a, b, ec)) return true;
    auto key = [](const fs::path& p) {
        std::error_code e;
        std::string s = Utf8String(fs::absolute(p, e).lexically_normal());
        for (char& c : s)
            if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
        return s;
    };
    return key(a) == key(b);
}

}  // namespace

const char* BatchStatusName(BatchStatus status) {
    switch (status) {
        case BatchStatus::Converted: return "converted";
        case BatchStatus::Skipped: return "skipped";
        case BatchStatus::Failed: return "failed";
        case BatchStatus::Cancelled: return "cancelled";
    }
    return "failed";
}

std::string ServerVersionNumber(const std::string& serverVersion) {
    static const std::string kPrefix = "animgen ";
    if (serverVersion.compare(0, kPrefix.size(), kPrefix) != 0) return serverVersion;
    const size_t end = serverVersion.find(' ', kPrefix.size());
    return serverVersion.substr(kPrefix.size(), end == std::string::npos ? std::string::npos : end - kPrefix.size());
}

std::string BatchSummaryJson(const BatchSummary& summary) {
    Node doc = Object();
    doc.Add("animgen", summary.animgen ? String(*summary.animgen) : Null());
    doc.Add("client", String(summary.client));
    // The CLI's names and, for what was left to the server, its defaults (animgen_ml.pipeline.GenerateOptions).
    const GenerateOptions& o = summary.options;
    Node& options = doc.Add("options", Object());
    options.Add("hands", Bool(o.hands));
    options.Add("smoothing", Scalar(ShortestFloat(o.smoothing.value_or(0.5f))));
    options.Add("fps", o.fps ? Scalar(ShortestFloat(*o.fps)) : Null());  // null: the video's
    options.Add("generator", String(o.generator == Generator::Analytic ? "analytic" : "network"));
    options.Add("in_place", Bool(o.inPlace));
    options.Add("loop", Bool(o.loop));
    options.Add("mirror", Bool(o.mirror));
    if (o.crop) {
        Node& crop = options.Add("crop", Array());
        for (int v : {o.crop->x, o.crop->y, o.crop->width, o.crop->height}) crop.Add("", Scalar(std::to_string(v)));
    } else {
        options.Add("crop", Null());
    }
    options.Add("target", summary.target.empty() ? Null() : String(summary.target));
    // Every status, a 0 too: a CI script reads counts["failed"] without a default.
    Node& counts = doc.Add("counts", Object());
    for (BatchStatus s : {BatchStatus::Converted, BatchStatus::Skipped, BatchStatus::Failed, BatchStatus::Cancelled}) {
        int n = 0;
        for (const BatchVideo& v : summary.videos) n += v.status == s;
        counts.Add(BatchStatusName(s), Scalar(std::to_string(n)));
    }
    Node& videos = doc.Add("videos", Array());
    for (const BatchVideo& v : summary.videos) videos.Add("", Video(v));
    std::string out;
    Dump(doc, 0, &out);
    return out + "\n";
}

std::string PrepareBatchSummaryPath(const std::string& path, const std::vector<std::string>& inputs) {
    if (path.find_first_not_of(" \t\r\n") == std::string::npos) return "is an empty name (an unset variable?)";
    const fs::path p = Utf8Path(path);
    if (std::string why = Unreplaceable(p); !why.empty()) return why;
    for (const std::string& input : inputs)
        if (SameFile(p, Utf8Path(input))) return "is also " + input + ", which the batch reads: name it apart";
    const fs::path folder = FolderOf(p);
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) return "its folder " + Utf8String(folder) + " cannot be made (" + ec.message() + ")";
    // A folder that takes no new file (read-only, no permission) is said now, not after the batch.
    const fs::path probe = Aside(p);
    errno = 0;
    if (!std::ofstream(probe, std::ios::binary))
        return "cannot be written in " + Utf8String(folder) + " (" + ErrnoText() + ")";
    fs::remove(probe, ec);
    return "";
}

std::string WriteBatchSummary(const std::string& path, const BatchSummary& summary) {
    if (path.empty()) return "is an empty name";
    const fs::path p = Utf8Path(path);
    if (std::string why = Unreplaceable(p); !why.empty()) return why;
    std::error_code ec;
    const fs::path folder = FolderOf(p);
    if (!fs::is_directory(folder, ec)) return "its folder " + Utf8String(folder) + " does not exist";
    const std::string text = BatchSummaryJson(summary);
    const fs::path aside = Aside(p);
    std::error_code ignored;
    {
        errno = 0;
        std::ofstream out(aside, std::ios::binary | std::ios::trunc);
        if (out) out.write(text.data(), std::streamsize(text.size()));
        if (out) out.close();  // the last write, where a full disk shows
        if (!out) {
            const std::string why = ErrnoText();
            fs::remove(aside, ignored);
            return "cannot be written in " + Utf8String(folder) + " (" + why + ")";
        }
    }
    fs::rename(aside, p, ec);  // replaces an old summary at once (MoveFileEx with REPLACE_EXISTING on Windows)
    if (ec) {
        fs::remove(aside, ignored);
        return "cannot replace it (" + ec.message() + ")";
    }
    return "";
}

}  // namespace animgen
