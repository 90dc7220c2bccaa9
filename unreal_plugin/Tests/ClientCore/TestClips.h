// Clips and skeletons for the core's tests: the HumanoidClip's 22 body bones with AnimGen's default rest
// (ml/animgen_ml/skeleton.py), and poses made of smooth rotations that reach well away from the rest.
#pragma once

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "BoneMapping.h"
#include "HumanoidClip.h"

namespace animgen::test {

inline HumanoidClip BodyClip(int frames) {
    struct Def { const char* name; const char* parent; Vec3 offset; };
    const std::vector<Def> defs = {
        {"Hips", "", {0, 0.95, 0}}, {"Spine", "Hips", {0, 0.10, 0}}, {"Chest", "Spine", {0, 0.12, 0}},
        {"UpperChest", "Chest", {0, 0.12, 0}}, {"Neck", "UpperChest", {0, 0.14, 0}}, {"Head", "Neck", {0, 0.10, 0}},
        {"LeftShoulder", "UpperChest", {0.03, 0.10, 0}}, {"LeftUpperArm", "LeftShoulder", {0.14, 0, 0}},
        {"LeftLowerArm", "LeftUpperArm", {0.28, 0, 0}}, {"LeftHand", "LeftLowerArm", {0.25, 0, 0}},
        {"RightShoulder", "UpperChest", {-0.03, 0.10, 0}}, {"RightUpperArm", "RightShoulder", {-0.14, 0, 0}},
        {"RightLowerArm", "RightUpperArm", {-0.28, 0, 0}}, {"RightHand", "RightLowerArm", {-0.25, 0, 0}},
        {"LeftUpperLeg", "Hips", {0.09, -0.06, 0}}, {"LeftLowerLeg", "LeftUpperLeg", {0, -0.42, 0}},
        {"LeftFoot", "LeftLowerLeg", {0, -0.42, 0}}, {"LeftToes", "LeftFoot", {0, -0.06, 0.13}},
        {"RightUpperLeg", "Hips", {-0.09, -0.06, 0}}, {"RightLowerLeg", "RightUpperLeg", {0, -0.42, 0}},
        {"RightFoot", "RightLowerLeg", {0, -0.42, 0}}, {"RightToes", "RightFoot", {0, -0.06, 0.13}},
    };
    HumanoidClip c;
    c.name = "test";
    for (const Def& d : defs) c.bones.push_back({d.name, c.BoneIndex(d.parent), d.offset});
    c.frameRate = 30;
    c.frameCount = frames;
    for (int f = 0; f < frames; ++f) {
        c.hipsPositions.push_back({0.1 * f, 0.95 + 0.02 * std::sin(f), 0.3 * f});
        for (size_t b = 0; b < c.bones.size(); ++b) c.rotations.push_back(Quat{});
    }
    c.leftFootContact.assign(frames, false);
    c.rightFootContact.assign(frames, false);
    return c;
}

// Frame f > 0 turns every bone by a different, sizeable rotation; frame 0 stays at rest.
inline void Animate(HumanoidClip* c) {
    for (int f = 1; f < c->frameCount; ++f)
        for (size_t b = 0; b < c->bones.size(); ++b) {
            const double k = double(f * 7 + b * 3);
            const Vec3 axis{std::sin(k), std::cos(1.3 * k), std::sin(0.7 * k + 1)};
            c->rotations[f * c->bones.size() + b] = AxisAngle(axis, 0.2 + 0.9 * std::fabs(std::sin(0.37 * k)));
        }
}

// A deterministic "random" rotation, for bone axes that point anywhere.
inline Quat Scrambled(int i) {
    return AxisAngle({std::cos(i * 1.7), std::sin(i * 2.3), std::cos(i * 0.9 + 0.4)}, 0.3 + std::fmod(i * 1.1, 2.8));
}

// A skeleton with the clip's layout in an A-pose (arms 45 degrees down), extra unmapped bones, bones named
// by `names(humanoid name)`, and bone axes turned every which way: what an engine's rig looks like.
template <class NameFn>
TargetSkeleton APoseSkeleton(const HumanoidClip& clip, NameFn names, double scale, bool extraBones) {
    std::vector<Vec3> rest(clip.bones.size());
    for (size_t i = 0; i < clip.bones.size(); ++i) {
        Vec3 off = clip.bones[i].restOffset;
        const std::string& n = clip.bones[i].name;
        if (n.find("LowerArm") != std::string::npos || n.find("Hand") != std::string::npos) {
            const double s = n.rfind("Left", 0) == 0 ? 1 : -1;  // arms down: x -> (x, -|x|) / sqrt 2
            off = Vec3{off.x / std::sqrt(2.0), -s * off.x / std::sqrt(2.0), off.z};
        }
        rest[i] = (clip.bones[i].parent < 0 ? Vec3{} : rest[clip.bones[i].parent]) + off * scale;
    }
    // Component-space positions and rotations, then locals.
    struct Node { std::string name; int parent; Vec3 pos; Quat rot; };
    std::vector<Node> nodes;
    std::vector<int> nodeOf(clip.bones.size(), -1);
    if (extraBones) nodes.push_back({"root", -1, {}, Quat{}});
    for (size_t i = 0; i < clip.bones.size(); ++i) {
        int parent = clip.bones[i].parent < 0 ? (extraBones ? 0 : -1) : nodeOf[clip.bones[i].parent];
        if (extraBones && (clip.bones[i].name == "Chest" || clip.bones[i].name == "Head")) {
            // An unmapped in-between bone halfway along, as spine_02 / neck_02 on the UE5 mannequin.
            const Vec3 mid = (nodes[parent].pos + rest[i]) * 0.5;
            nodes.push_back({"extra_" + clip.bones[i].name, parent, mid, Scrambled(int(100 + i))});
            parent = int(nodes.size()) - 1;
        }
        nodeOf[i] = int(nodes.size());
        nodes.push_back({names(clip.bones[i].name), parent, rest[i], Scrambled(int(i))});
    }
    TargetSkeleton t;
    t.name = "test_target";
    for (const Node& n : nodes) {
        TargetBone b{n.name, n.parent, n.pos, n.rot};
        if (n.parent >= 0) {
            const Node& p = nodes[n.parent];
            b.restTranslation = Rotate(Conjugate(p.rot), n.pos - p.pos);
            b.restRotation = Conjugate(p.rot) * n.rot;
        }
        t.bones.push_back(b);
    }
    return t;
}

// A skeleton from a text file: one bone per line, parents first: name parent_index tx ty tz qx qy qz qw (local, glTF
// space, metres). Empty bones when the file cannot be read.
inline TargetSkeleton ReadSkeletonText(const std::string& path) {
    TargetSkeleton t;
    t.name = path;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        TargetBone b;
        if (!(ls >> b.name >> b.parent >> b.restTranslation.x >> b.restTranslation.y >> b.restTranslation.z >>
              b.restRotation.x >> b.restRotation.y >> b.restRotation.z >> b.restRotation.w))
            continue;
        t.bones.push_back(b);
    }
    return t;
}

// World positions of a target's bones on one frame of an animation on it.
inline std::vector<Vec3> TargetWorld(const TargetSkeleton& t, const RetargetedAnimation& a, int frame) {
    std::vector<Vec3> pos(t.bones.size());
    std::vector<Quat> rot(t.bones.size());
    for (size_t j = 0; j < t.bones.size(); ++j) {
        const int p = t.bones[j].parent;
        const Quat pr = p < 0 ? Quat{} : rot[p];
        pos[j] = (p < 0 ? Vec3{} : pos[p]) + Rotate(pr, a.Translation(frame, int(j)));
        rot[j] = pr * a.Rotation(frame, int(j));
    }
    return pos;
}

}  // namespace animgen::test
