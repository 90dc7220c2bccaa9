// The HumanoidClip as a plain struct (DESIGN.md "The HumanoidClip contract"), decoded from
// animgen.v1.HumanoidClip by the client. Space: glTF's (+Y up, faces +Z, metres); rotations are local,
// relative to the parent, from a T-pose rest whose rotations are all identity.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "AnimGenClientCoreApi.h"
#include "Math3D.h"

namespace animgen {

struct ClipBone {
    std::string name;    // a Unity HumanBodyBones name
    int parent = -1;     // index into HumanoidClip::bones; -1 for Hips
    Vec3 restOffset;     // from the parent joint in the T-pose rest (for Hips: its rest position)
};

struct ANIMGENCLIENTCORE_API HumanoidClip {
    std::string name;
    std::vector<ClipBone> bones;  // parents before children
    float frameRate = 0;
    int frameCount = 0;
    std::vector<Vec3> hipsPositions;  // one per frame, world space
    std::vector<Quat> rotations;      // frame-major: [frame * bones.size() + bone]
    std::vector<bool> leftFootContact, rightFootContact;
    std::vector<float> confidence;  // frame-major like rotations; may be empty
    std::vector<Vec3> rootMotion;   // one per frame when made in place; empty otherwise
    std::map<std::string, std::string> metadata;

    const Quat& Rotation(int frame, int bone) const { return rotations[size_t(frame) * bones.size() + bone]; }
    // Index of a bone by name, or -1.
    int BoneIndex(const std::string& boneName) const {
        for (size_t i = 0; i < bones.size(); ++i)
            if (bones[i].name == boneName) return int(i);
        return -1;
    }
    // Empty when the arrays agree with bones and frameCount; otherwise what is wrong, in words.
    std::string Validate() const;
};

// The float curves an engine clip carries for the feet: 1 while that foot is planted, 0 while it is not.
inline constexpr const char* kLeftFootContactCurve = "LeftFootContact";
inline constexpr const char* kRightFootContactCurve = "RightFootContact";

struct CurveKey {
    float time;  // seconds
    float value;
};

// A foot's contacts (one per frame at frameRate) as the keys of a step curve (constant interpolation, each value
// held to the next key): one at the first frame and one wherever the contact changes.
ANIMGENCLIENTCORE_API std::vector<CurveKey> ContactCurveKeys(const std::vector<bool>& contact, float frameRate);

// The named notifies an engine clip may carry where a foot lands (Unreal: an Anim Blueprint gets them as the events
// AnimNotify_LeftFootstep and AnimNotify_RightFootstep).
inline constexpr const char* kLeftFootstepNotify = "LeftFootstep";
inline constexpr const char* kRightFootstepNotify = "RightFootstep";

// The times (seconds) at which a foot lands: each frame f > 0 whose contact is on after a frame with it off, at
// f / frameRate, the time of the contact curve's key there. Frame 0 is never one: a clip that starts planted, or a
// loop's seam, did not land there.
ANIMGENCLIENTCORE_API std::vector<float> FootstepTimes(const std::vector<bool>& contact, float frameRate);

}  // namespace animgen
