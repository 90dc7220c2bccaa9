// Changing the frame rate of an AnimSequence that already holds keys, as a re-run that replaces one in place must.
// Unreal (5.3) moves such a sequence only to a multiple or a factor of its current rate ("Incompatible frame rate"
// otherwise), and converts its length into the new rate, warning (or, with the legacy data model, failing an ensure)
// when that is not a whole number of frames. A plan avoids both: empty the sequence, resize it to `framesFirst`
// frames, then set each rate of `steps` in turn; every step is a multiple or a factor of the rate before it and
// converts the length exactly. 24 -> 25 fps goes through 600 fps; 30 -> 29.97 through 29970 fps.
#pragma once

#include <cstdint>
#include <vector>

#include "AnimGenClientCoreApi.h"

namespace animgen {

// Frames per second as numerator / denominator (Unreal's FFrameRate).
struct FrameRate {
    int32_t numerator = 30;
    int32_t denominator = 1;
};

struct FrameRatePlan {
    int32_t framesFirst = 1;         // length (frames at the current rate) to give the emptied sequence first
    std::vector<FrameRate> steps;    // the rates to set, in order; the last one is the target
};

// False when a rate is not positive or a step does not fit Unreal's 32-bit frame numbers and rates.
ANIMGENCLIENTCORE_API bool PlanFrameRateChange(FrameRate from, FrameRate to, FrameRatePlan* plan);

}  // namespace animgen
