#include "HumanoidClip.h"

#include <cmath>

namespace animgen {

std::string HumanoidClip::Validate() const {
    const size_t nb = bones.size(), nf = size_t(frameCount < 0 ? 0 : frameCount);
    if (bones.empty()) return "the clip has no bones";
    if (frameCount <= 0) return "the clip has no frames";
    if (!(frameRate > 0) || !std::isfinite(frameRate)) return "the clip's frame rate is not positive";
    // The clip carries the Hips' positions, so the Hips are its one root, bone 0 (both builders place them there).
    if (bones[0].name != "Hips" || bones[0].parent != -1)
        return "bone 0 is '" + bones[0].name + "': the clip's root must be the Hips";
    for (size_t i = 1; i < nb; ++i)
        if (bones[i].parent >= int(i) || bones[i].parent < 0)
            return "bone '" + bones[i].name + "' must have a parent that comes before it (only the Hips are the root)";
    if (hipsPositions.size() != nf)
        return "the clip has " + std::to_string(hipsPositions.size()) + " Hips positions for " +
               std::to_string(nf) + " frames";
    if (rotations.size() != nf * nb)
        return "the clip has " + std::to_string(rotations.size()) + " rotations, expected frames x bones = " +
               std::to_string(nf * nb);
    if (!confidence.empty() && confidence.size() != nf * nb) return "the clip's confidence has the wrong length";
    if (!rootMotion.empty() && rootMotion.size() != nf) return "the clip's root motion has the wrong length";
    return {};
}

std::vector<CurveKey> ContactCurveKeys(const std::vector<bool>& contact, float frameRate) {
    std::vector<CurveKey> keys;
    for (size_t f = 0; f < contact.size(); ++f)
        if (f == 0 || contact[f] != contact[f - 1])
            keys.push_back({float(double(f) / frameRate), contact[f] ? 1.0f : 0.0f});
    return keys;
}

std::vector<float> FootstepTimes(const std::vector<bool>& contact, float frameRate) {
    std::vector<float> times;
    for (size_t f = 1; f < contact.size(); ++f)
        if (contact[f] && !contact[f - 1]) times.push_back(float(double(f) / frameRate));
    return times;
}

}  // namespace animgen
