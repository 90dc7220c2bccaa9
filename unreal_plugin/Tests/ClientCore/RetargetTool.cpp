// Retargets an animated test clip onto a skeleton read from a text file and reports how closely the target's
// bones follow the clip's bone directions:
//   animgen_core_retarget SKELETON.txt [preset [Humanoid=bone,Humanoid=bone,...]]
// File: one bone per line, parents first: name parent_index tx ty tz qx qy qz qw (local, glTF space, metres).
// Prints "PRESET <name>", "MAPPED <n>", "MAX_DIRECTION_ERROR_DEG <x>", "REST_TPOSE_ERROR_DEG <x>", "HIPS_SCALE <x>" and
// "CLIP_LEG_M <x>" (the test clip's thigh and shin: HIPS_SCALE times it is the target's leg as the retarget read it) and
// "BONES Humanoid=bone,..." (the map, as the Editor sends it to a server).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "BoneMapping.h"
#include "TestClips.h"

using namespace animgen;

namespace {

double AngleDeg(const Vec3& a, const Vec3& b) {
    const double c = Dot(Normalized(a), Normalized(b));
    return std::acos(std::max(-1.0, std::min(1.0, c))) * 180.0 / M_PI;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: animgen_core_retarget SKELETON.txt [auto|ue5_manny|ue4_mannequin|mixamo]\n");
        return 2;
    }
    TargetSkeleton t = test::ReadSkeletonText(argv[1]);
    if (t.bones.empty()) {
        std::fprintf(stderr, "cannot read %s\n", argv[1]);
        return 2;
    }
    SkeletonPreset preset = SkeletonPreset::Auto;
    if (argc > 2 && !ParsePreset(argv[2], &preset)) {
        std::fprintf(stderr, "unknown preset %s\n", argv[2]);
        return 2;
    }
    std::map<std::string, std::string> overrides;
    if (argc > 3) {
        std::istringstream list(argv[3]);
        std::string pair;
        while (std::getline(list, pair, ',')) {
            const size_t eq = pair.find('=');
            if (eq != std::string::npos) overrides[pair.substr(0, eq)] = pair.substr(eq + 1);
        }
    }
    BoneMap map;
    if (std::string err = BuildBoneMap(t, preset, overrides, &map); !err.empty()) {
        std::fprintf(stderr, "%s\n", err.c_str());
        return 1;
    }
    HumanoidClip clip = test::BodyClip(24);
    test::Animate(&clip);
    RetargetedAnimation anim;
    if (std::string err = Retarget(clip, t, map, &anim); !err.empty()) {
        std::fprintf(stderr, "%s\n", err.c_str());
        return 1;
    }
    double worst = 0, restWorst = 0;
    for (int f = 0; f < clip.frameCount; ++f) {
        std::vector<Vec3> cp;
        std::vector<Quat> cr;
        ClipWorldPose(clip, f, &cp, &cr);
        const std::vector<Vec3> tp = test::TargetWorld(t, anim, f);
        for (size_t c = 0; c < clip.bones.size(); ++c) {
            const int p = clip.bones[c].parent;
            if (p <= 0 || !map.humanoidToTarget.count(clip.bones[c].name) ||
                !map.humanoidToTarget.count(clip.bones[p].name))
                continue;
            if (clip.bones[p].name == "UpperChest" && clip.bones[c].name != "Neck") continue;
            const double e = AngleDeg(cp[c] - cp[p], tp[map.humanoidToTarget[clip.bones[c].name]] -
                                                         tp[map.humanoidToTarget[clip.bones[p].name]]);
            worst = std::max(worst, e);
            if (f == 0) restWorst = std::max(restWorst, e);
        }
    }
    const double leg = Length(clip.bones[clip.BoneIndex("LeftLowerLeg")].restOffset) +
                       Length(clip.bones[clip.BoneIndex("LeftFoot")].restOffset);
    std::printf("PRESET %s\nMAPPED %zu\nMAX_DIRECTION_ERROR_DEG %.6f\nREST_TPOSE_ERROR_DEG %.6f\nHIPS_SCALE %.9f\n"
                "CLIP_LEG_M %.9f\n", PresetName(map.preset), map.humanoidToTarget.size(), worst, restWorst,
                anim.hipsScale, leg);
    std::string bones;
    for (const auto& [humanoid, bone] : BoneNames(t, map)) bones += (bones.empty() ? "" : ",") + humanoid + "=" + bone;
    std::printf("BONES %s\n", bones.c_str());
    return 0;
}
