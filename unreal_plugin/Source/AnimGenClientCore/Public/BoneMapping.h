// Maps the HumanoidClip's HumanBodyBones onto an engine skeleton and retargets the motion.
//
// Tables name the bones of three common rigs (UE5 Manny/Quinn, UE4 Mannequin, Mixamo). Retargeting
// corrects for the target's reference pose (an A-pose, bone axes of any orientation): each mapped target
// bone gets the rotation that points it, in the world, the way its HumanoidClip bone points on that frame.
// Bones without a counterpart keep their reference pose. Everything here is in glTF space (metres, +Y up,
// faces +Z); CoordinateConversion.h turns Unreal reference poses into it and the result back.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "AnimGenClientCoreApi.h"
#include "HumanoidClip.h"
#include "Math3D.h"

namespace animgen {

// Shape: no table found the body; its standing reference pose did (what BuildBoneMap's Auto falls back to).
enum class SkeletonPreset { Auto, UE5Manny, UE4Mannequin, Mixamo, Shape };

// "auto", "ue5_manny", "ue4_mannequin", "mixamo".
ANIMGENCLIENTCORE_API const char* PresetName(SkeletonPreset preset);
ANIMGENCLIENTCORE_API bool ParsePreset(const std::string& text, SkeletonPreset* out);

// (HumanBodyBones name, target bone name) pairs of a preset; empty for Auto.
ANIMGENCLIENTCORE_API const std::vector<std::pair<std::string, std::string>>& PresetTable(SkeletonPreset preset);

// Bone names compare case-insensitively, without a namespace prefix ("mixamorig:Hips", "mixamorig_Hips"
// and "Hips" are the same bone).
ANIMGENCLIENTCORE_API std::string NormalizeBoneName(const std::string& name);

struct TargetBone {
    std::string name;
    int parent = -1;        // index into TargetSkeleton::bones, parents first; -1 for a root
    Vec3 restTranslation;   // local reference-pose translation from the parent, metres
    Quat restRotation;      // local reference-pose rotation relative to the parent
};

struct ANIMGENCLIENTCORE_API TargetSkeleton {
    std::string name;
    std::vector<TargetBone> bones;
    int BoneIndex(const std::string& boneName) const;  // by NormalizeBoneName; -1 when absent
    std::string Validate() const;                      // empty when parents come first and are in range
};

struct BoneMap {
    SkeletonPreset preset = SkeletonPreset::Auto;   // the table used (never Auto after BuildBoneMap)
    std::map<std::string, int> humanoidToTarget;    // HumanBodyBones name -> TargetSkeleton bone index
    std::vector<std::string> unmapped;              // table entries the skeleton lacks
};

// The map as bone names (HumanBodyBones name -> target bone name): what GenerateOptions.targetBoneMap sends, so that a
// server retargeting onto the same skeleton maps it as this client does.
ANIMGENCLIENTCORE_API std::map<std::string, std::string> BoneNames(const TargetSkeleton& target, const BoneMap& map);

// Maps with the preset's table (Auto picks the table that finds the most bones; where none finds the bones a humanoid
// needs, the skeleton's standing reference pose maps them, as the server's bonemap.map_by_shape does), then applies
// overrides (HumanBodyBones name -> target bone name). Returns an error in words, or empty.
ANIMGENCLIENTCORE_API std::string BuildBoneMap(const TargetSkeleton& target, SkeletonPreset preset,
                         const std::map<std::string, std::string>& overrides, BoneMap* out);

// Reference pose in component space (relative to the skeleton's root space).
ANIMGENCLIENTCORE_API void ComponentPose(const TargetSkeleton& target, std::vector<Vec3>* positions,
                                         std::vector<Quat>* rotations);

// Local transforms of every target bone on every frame: [frame * bones + bone], glTF space.
struct RetargetedAnimation {
    int frameCount = 0;
    int boneCount = 0;
    float frameRate = 0;
    double hipsScale = 1;  // target leg length / clip leg length: scales the Hips' (and root) motion
    std::vector<Vec3> translations;
    std::vector<Quat> rotations;
    const Vec3& Translation(int frame, int bone) const { return translations[size_t(frame) * boneCount + bone]; }
    const Quat& Rotation(int frame, int bone) const { return rotations[size_t(frame) * boneCount + bone]; }
};

// Retargets `clip` onto `target` through `map`. The target's Hips bone moves like the clip's Hips, scaled by
// the ratio of leg lengths (thigh and shin), as the server's retarget scales it. Returns an error in words, or empty.
ANIMGENCLIENTCORE_API std::string Retarget(const HumanoidClip& clip, const TargetSkeleton& target, const BoneMap& map,
                     RetargetedAnimation* out);

// World positions and rotations of the clip's bones on one frame (forward kinematics from the T-pose rest).
ANIMGENCLIENTCORE_API void ClipWorldPose(const HumanoidClip& clip, int frame, std::vector<Vec3>* positions,
                                         std::vector<Quat>* rotations);

}  // namespace animgen
