// glTF space (the HumanoidClip's: right-handed, +Y up, faces +Z, metres) <-> Unreal space (left-handed,
// +Z up, centimetres). The map swaps Y and Z, a reflection, so a rotation's axis turns with the swap and
// changes sign: position (x, z, y) * 100, rotation (-x, -z, -y, w). Both maps are their own inverse up to
// the scale, and they work for local (parent-relative) transforms as well as world ones.
#pragma once

#include "Math3D.h"

namespace animgen {

constexpr double kCentimetresPerMetre = 100.0;

inline Vec3 GltfToUnrealPosition(const Vec3& p) {
    return {p.x * kCentimetresPerMetre, p.z * kCentimetresPerMetre, p.y * kCentimetresPerMetre};
}
inline Vec3 UnrealToGltfPosition(const Vec3& p) {
    return {p.x / kCentimetresPerMetre, p.z / kCentimetresPerMetre, p.y / kCentimetresPerMetre};
}
inline Quat GltfToUnrealRotation(const Quat& q) { return {-q.x, -q.z, -q.y, q.w}; }
inline Quat UnrealToGltfRotation(const Quat& q) { return {-q.x, -q.z, -q.y, q.w}; }

}  // namespace animgen
