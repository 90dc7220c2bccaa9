#include "CommandLineOptions.h"

#include <cctype>
#include <cmath>
#include <locale>
#include <sstream>

namespace animgen {

namespace {

// Whether `token` starts with `prefix`, ASCII letters in any case (Unreal's option names are ASCII).
bool StartsWithNoCase(const std::string& token, const std::string& prefix) {
    if (token.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(token[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
            return false;
    return true;
}

}  // namespace

std::vector<std::string> CommandLineTokens(const std::string& commandLine) {
    std::vector<std::string> tokens;
    std::string token;
    bool inToken = false, quoted = false;
    for (const char c : commandLine) {
        if (c == '"') {
            quoted = !quoted;
            inToken = true;  // "" is a token of its own, empty
        } else if (!quoted && std::isspace(static_cast<unsigned char>(c))) {
            if (inToken) tokens.push_back(token);
            token.clear();
            inToken = false;
        } else {
            token += c;
            inToken = true;
        }
    }
    if (inToken) tokens.push_back(token);  // an unclosed quote runs to the end, as Unreal reads one
    return tokens;
}

std::optional<std::string> OptionValue(const std::vector<std::string>& tokens, const std::string& name) {
    const std::string prefix = "-" + name + "=";
    for (const std::string& token : tokens)
        if (StartsWithNoCase(token, prefix)) return token.substr(prefix.size());
    return std::nullopt;
}

bool HasSwitch(const std::vector<std::string>& tokens, const std::string& name) {
    const std::string option = "-" + name;
    for (const std::string& token : tokens)
        if (token.size() == option.size() && StartsWithNoCase(token, option)) return true;
    return false;
}

std::string ParseNumber(const std::string& text, double* value) {
    size_t at = 0;
    auto sign = [&] { if (at < text.size() && (text[at] == '+' || text[at] == '-')) ++at; };
    auto digits = [&] {
        const size_t from = at;
        while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at]))) ++at;
        return at - from;
    };
    sign();
    size_t mantissa = digits();
    if (at < text.size() && text[at] == '.') {
        ++at;
        mantissa += digits();
    }
    bool written = mantissa > 0;  // no "inf", "nan", hex, spaces or units
    if (written && at < text.size() && (text[at] == 'e' || text[at] == 'E')) {
        ++at;
        sign();
        written = digits() > 0;
    }
    double read = 0.0;
    if (written && at == text.size()) {
        std::istringstream in(text);
        in.imbue(std::locale::classic());
        in >> read;
        written = !in.fail() && std::isfinite(read);  // 1e999 fails
    }
    if (!written || at != text.size()) return "must be a number, got '" + text + "'";
    *value = read;
    return "";
}

}  // namespace animgen
