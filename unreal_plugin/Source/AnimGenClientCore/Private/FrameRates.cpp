#include "FrameRates.h"

#include <limits>
#include <numeric>

namespace animgen {

bool PlanFrameRateChange(FrameRate from, FrameRate to, FrameRatePlan* plan)
{
    constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
    if (!plan || from.numerator <= 0 || from.denominator <= 0 || to.numerator <= 0 || to.denominator <= 0) return false;
    // Over a common denominator the rates are p and q, and to / from = q / p = b / a in lowest terms:
    // a frames at `from` last exactly as long as b frames at `to`.
    const int64_t p = int64_t(from.numerator) * to.denominator;
    const int64_t q = int64_t(to.numerator) * from.denominator;
    const int64_t g = std::gcd(p, q);
    const int64_t a = p / g, b = q / g;
    if (a > kMax || b > kMax) return false;
    FrameRatePlan result;
    result.framesFirst = int32_t(a);
    if (a != 1 && b != 1) {
        // Neither rate is a whole multiple of the other: go through b * from = a * to, their least common multiple,
        // where the sequence is a * b frames long.
        if (b > kMax / a) return false;
        int64_t numerator = b * from.numerator, denominator = from.denominator;
        const int64_t common = std::gcd(numerator, denominator);
        numerator /= common;
        denominator /= common;
        if (numerator > kMax) return false;
        result.steps.push_back({int32_t(numerator), int32_t(denominator)});
    }
    result.steps.push_back(to);
    *plan = result;
    return true;
}

}  // namespace animgen
