#include <gtest/gtest.h>

#include <map>

#include "BoneMapping.h"
#include "CoordinateConversion.h"
#include "TestClips.h"

using namespace animgen;

namespace {

std::string TableName(SkeletonPreset preset, const std::string& humanoid) {
    for (const auto& [h, t] : PresetTable(preset))
        if (h == humanoid) return t;
    return "unmapped_" + humanoid;
}

double AngleDeg(const Vec3& a, const Vec3& b) {
    const double c = Dot(Normalized(a), Normalized(b));
    return std::acos(std::max(-1.0, std::min(1.0, c))) * 180.0 / M_PI;
}

// Largest angle between a clip bone's direction (joint -> child joint) and its target bone's direction.
double MaxDirectionErrorDeg(const HumanoidClip& clip, const TargetSkeleton& t, const BoneMap& map,
                            const RetargetedAnimation& a, int frame) {
    std::vector<Vec3> cp;
    std::vector<Quat> cr;
    ClipWorldPose(clip, frame, &cp, &cr);
    const std::vector<Vec3> tp = test::TargetWorld(t, a, frame);
    double worst = 0;
    for (size_t c = 0; c < clip.bones.size(); ++c) {
        const int p = clip.bones[c].parent;
        if (p < 0 || !map.humanoidToTarget.count(clip.bones[c].name) || !map.humanoidToTarget.count(clip.bones[p].name))
            continue;
        if (clip.bones[p].name == "Hips") continue;  // Hips has several children; its turn is checked apart
        if (clip.bones[p].name == "UpperChest" && clip.bones[c].name != "Neck") continue;
        const Vec3 want = cp[c] - cp[p];
        const Vec3 got = tp[map.humanoidToTarget.at(clip.bones[c].name)] - tp[map.humanoidToTarget.at(clip.bones[p].name)];
        worst = std::max(worst, AngleDeg(want, got));
    }
    return worst;
}

}  // namespace

TEST(BoneMapping, NamesCompareWithoutNamespaceOrCase) {
    EXPECT_EQ(NormalizeBoneName("mixamorig:LeftArm"), "leftarm");
    EXPECT_EQ(NormalizeBoneName("mixamorig_LeftArm"), "leftarm");
    EXPECT_EQ(NormalizeBoneName("mixamorig1:Hips"), "hips");
    EXPECT_EQ(NormalizeBoneName("upperarm_l"), "upperarm_l");
    SkeletonPreset p;
    ASSERT_TRUE(ParsePreset("UE5_Manny", &p));
    EXPECT_EQ(p, SkeletonPreset::UE5Manny);
    EXPECT_FALSE(ParsePreset("ue6", &p));
}

TEST(BoneMapping, TablesCoverEveryBodyAndFingerBone) {
    for (SkeletonPreset p : {SkeletonPreset::UE5Manny, SkeletonPreset::UE4Mannequin, SkeletonPreset::Mixamo}) {
        EXPECT_EQ(PresetTable(p).size(), 22u + 30u) << PresetName(p);
        std::map<std::string, int> seen;
        for (const auto& [h, t] : PresetTable(p)) EXPECT_EQ(seen[t]++, 0) << t << " used twice in " << PresetName(p);
    }
    EXPECT_EQ(TableName(SkeletonPreset::UE5Manny, "UpperChest"), "spine_05");
    EXPECT_EQ(TableName(SkeletonPreset::UE4Mannequin, "UpperChest"), "spine_03");
    EXPECT_EQ(TableName(SkeletonPreset::Mixamo, "LeftLowerArm"), "LeftForeArm");
    EXPECT_EQ(TableName(SkeletonPreset::UE5Manny, "RightLittleDistal"), "pinky_03_r");
}

TEST(BoneMapping, AutoDetectsTheRig) {
    const HumanoidClip clip = test::BodyClip(1);
    struct Case { SkeletonPreset preset; std::string prefix; };
    for (const Case& c : {Case{SkeletonPreset::UE5Manny, ""}, Case{SkeletonPreset::UE4Mannequin, ""},
                          Case{SkeletonPreset::Mixamo, "mixamorig:"}}) {
        const TargetSkeleton t = test::APoseSkeleton(
            clip, [&](const std::string& h) { return c.prefix + TableName(c.preset, h); }, 1.0, true);
        BoneMap map;
        ASSERT_EQ(BuildBoneMap(t, SkeletonPreset::Auto, {}, &map), "");
        EXPECT_EQ(map.preset, c.preset);
        EXPECT_EQ(map.humanoidToTarget.size(), 22u);
        EXPECT_EQ(map.unmapped.size(), 30u);  // the fingers
        const auto names = BoneNames(t, map);  // what the server is sent with the skeleton
        EXPECT_EQ(names.size(), 22u);
        EXPECT_EQ(names.at("Hips"), c.prefix + TableName(c.preset, "Hips"));
        EXPECT_EQ(names.at("LeftHand"), c.prefix + TableName(c.preset, "LeftHand"));
    }
}

TEST(BoneMapping, RestClipPutsAnAPoseRigIntoTheTPose) {
    const HumanoidClip clip = test::BodyClip(1);
    const TargetSkeleton t = test::APoseSkeleton(
        clip, [](const std::string& h) { return TableName(SkeletonPreset::UE5Manny, h); }, 1.1, true);
    BoneMap map;
    ASSERT_EQ(BuildBoneMap(t, SkeletonPreset::UE5Manny, {}, &map), "");
    RetargetedAnimation anim;
    ASSERT_EQ(Retarget(clip, t, map, &anim), "");
    const std::vector<Vec3> p = test::TargetWorld(t, anim, 0);
    const auto at = [&](const char* n) { return p[t.BoneIndex(n)]; };
    // In the reference pose the arms hang 45 degrees down; on the clip's rest frame they are level.
    EXPECT_LT(AngleDeg(at("lowerarm_l") - at("upperarm_l"), {1, 0, 0}), 1e-6);
    EXPECT_LT(AngleDeg(at("hand_r") - at("lowerarm_r"), {-1, 0, 0}), 1e-6);
    EXPECT_LT(AngleDeg(at("calf_l") - at("thigh_l"), {0, -1, 0}), 1e-6);
    EXPECT_LT(AngleDeg(at("ball_r") - at("foot_r"), {0, -0.06, 0.13}), 1e-6);
    EXPECT_LT(AngleDeg(at("head") - at("neck_01"), {0, 1, 0}), 1e-6);
}

TEST(BoneMapping, EveryBoneDirectionFollowsTheClip) {
    HumanoidClip clip = test::BodyClip(12);
    test::Animate(&clip);
    for (SkeletonPreset preset : {SkeletonPreset::UE5Manny, SkeletonPreset::UE4Mannequin, SkeletonPreset::Mixamo}) {
        const TargetSkeleton t = test::APoseSkeleton(
            clip, [&](const std::string& h) { return TableName(preset, h); }, 0.9, preset != SkeletonPreset::Mixamo);
        BoneMap map;
        ASSERT_EQ(BuildBoneMap(t, preset, {}, &map), "");
        RetargetedAnimation anim;
        ASSERT_EQ(Retarget(clip, t, map, &anim), "");
        ASSERT_EQ(anim.frameCount, 12);
        ASSERT_EQ(anim.boneCount, int(t.bones.size()));
        for (int f = 0; f < clip.frameCount; ++f)
            EXPECT_LT(MaxDirectionErrorDeg(clip, t, map, anim, f), 1e-5) << PresetName(preset) << " frame " << f;
        for (const Quat& q : anim.rotations) EXPECT_NEAR(Norm(q), 1.0, 1e-9);
    }
}

TEST(BoneMapping, HipsTurnAndTravelFollowTheClipScaledToTheRig) {
    HumanoidClip clip = test::BodyClip(5);
    test::Animate(&clip);
    const double scale = 1.2;
    const TargetSkeleton t = test::APoseSkeleton(
        clip, [](const std::string& h) { return TableName(SkeletonPreset::UE5Manny, h); }, scale, true);
    BoneMap map;
    ASSERT_EQ(BuildBoneMap(t, SkeletonPreset::UE5Manny, {}, &map), "");
    RetargetedAnimation anim;
    ASSERT_EQ(Retarget(clip, t, map, &anim), "");
    std::vector<Vec3> refPos;
    std::vector<Quat> refRot;
    ComponentPose(t, &refPos, &refRot);
    const int pelvis = t.BoneIndex("pelvis");
    for (int f = 0; f < clip.frameCount; ++f) {
        const Vec3 want = clip.bones[0].restOffset * scale + (clip.hipsPositions[f] - clip.bones[0].restOffset) * scale;
        const Vec3 got = test::TargetWorld(t, anim, f)[pelvis];
        EXPECT_NEAR(got.x, want.x, 1e-9);
        EXPECT_NEAR(got.y, want.y, 1e-9);
        EXPECT_NEAR(got.z, want.z, 1e-9);
        EXPECT_NEAR(anim.hipsScale, scale, 1e-12);
        // The pelvis turns by the clip's Hips rotation from its reference orientation.
        const Quat world = anim.Rotation(f, 0) * anim.Rotation(f, pelvis);  // root stays at identity
        EXPECT_LT(AngleBetween(world, clip.Rotation(f, 0) * refRot[pelvis]), 1e-7);
    }
}

TEST(BoneMapping, HipsTravelScalesByLegLengthAsTheServersDoes) {
    // Legs 1.3 times the clip's on a body otherwise the clip's size: the pelvis travels 1.3 times as far, so that
    // strides and travel agree. (Scaled by rest hip height it had travelled as far as the clip's, and the feet slid.)
    HumanoidClip clip = test::BodyClip(5);
    test::Animate(&clip);
    for (int f = 1; f < clip.frameCount; ++f) clip.hipsPositions[f] = clip.hipsPositions[0] + Vec3{0.3, 0.02, 0.1} * f;
    const auto name = [](const std::string& h) { return TableName(SkeletonPreset::UE5Manny, h); };
    TargetSkeleton t = test::APoseSkeleton(clip, name, 1.0, true);
    for (const char* leg : {"LowerLeg", "Foot"})
        for (const char* side : {"Left", "Right"})
            t.bones[t.BoneIndex(name(std::string(side) + leg))].restTranslation =
                t.bones[t.BoneIndex(name(std::string(side) + leg))].restTranslation * 1.3;
    BoneMap map;
    ASSERT_EQ(BuildBoneMap(t, SkeletonPreset::UE5Manny, {}, &map), "");
    RetargetedAnimation anim;
    ASSERT_EQ(Retarget(clip, t, map, &anim), "");
    EXPECT_NEAR(anim.hipsScale, 1.3, 1e-9);
    const int pelvis = t.BoneIndex("pelvis");
    const Vec3 start = test::TargetWorld(t, anim, 0)[pelvis];
    for (int f = 1; f < clip.frameCount; ++f) {
        const Vec3 want = (clip.hipsPositions[f] - clip.hipsPositions[0]) * 1.3;
        const Vec3 got = test::TargetWorld(t, anim, f)[pelvis] - start;
        EXPECT_NEAR(got.x, want.x, 1e-9);
        EXPECT_NEAR(got.z, want.z, 1e-9);
    }
}

TEST(BoneMapping, UnmappedBonesKeepTheirReferencePose) {
    HumanoidClip clip = test::BodyClip(3);
    test::Animate(&clip);
    const TargetSkeleton t = test::APoseSkeleton(
        clip, [](const std::string& h) { return TableName(SkeletonPreset::UE5Manny, h); }, 1.0, true);
    BoneMap map;
    ASSERT_EQ(BuildBoneMap(t, SkeletonPreset::UE5Manny, {}, &map), "");
    RetargetedAnimation anim;
    ASSERT_EQ(Retarget(clip, t, map, &anim), "");
    for (const char* name : {"root", "extra_Chest", "extra_Head"}) {
        const int j = t.BoneIndex(name);
        ASSERT_GE(j, 0);
        for (int f = 0; f < 3; ++f) {
            EXPECT_LT(AngleBetween(anim.Rotation(f, j), t.bones[j].restRotation), 1e-12);
            EXPECT_NEAR(Length(anim.Translation(f, j) - t.bones[j].restTranslation), 0, 1e-12);
        }
    }
}

TEST(BoneMapping, NoTableNeededForAStandingRig) {
    // Bones no table names, axes every which way, an A-pose: auto-detect maps the body by its reference pose.
    const HumanoidClip clip = test::BodyClip(1);
    const TargetSkeleton t = test::APoseSkeleton(clip, [](const std::string& h) { return "Bip01_" + h; }, 1.0, false);
    BoneMap map;
    ASSERT_EQ(BuildBoneMap(t, SkeletonPreset::Auto, {}, &map), "");
    EXPECT_EQ(map.preset, SkeletonPreset::Shape);
    EXPECT_EQ(map.humanoidToTarget.size(), clip.bones.size());
    for (const auto& [humanoid, bone] : map.humanoidToTarget) EXPECT_EQ(t.bones[bone].name, "Bip01_" + humanoid);
}

TEST(BoneMapping, ShapeLooksPastInBetweenJoints) {
    // The A-posed rig under a root, with an unmapped joint half-way up the chest and another half-way up the neck
    // (as spine_02 and neck_02 on Epic's rigs): the Head is found above the second neck joint, and neither extra joint
    // is taken for a bone.
    const HumanoidClip clip = test::BodyClip(1);
    const TargetSkeleton t = test::APoseSkeleton(clip, [](const std::string& h) { return "Bip01_" + h; }, 1.0, true);
    BoneMap map;
    ASSERT_EQ(BuildBoneMap(t, SkeletonPreset::Auto, {}, &map), "");
    EXPECT_EQ(map.preset, SkeletonPreset::Shape);
    EXPECT_EQ(map.humanoidToTarget.size(), clip.bones.size());
    for (const auto& [humanoid, bone] : map.humanoidToTarget) EXPECT_EQ(t.bones[bone].name, "Bip01_" + humanoid);
}

TEST(BoneMapping, FingersFoundByTheHandsShape) {
    // Each hand of the A-posed rig given a thumb, four fingers behind metacarpals (as Epic's rigs have them) and a
    // socket bone pointing forward: past the metacarpals the thumb is the chain starting nearest the wrist, the
    // fingers follow front to back from their knuckles, and neither the metacarpals nor the socket are phalanges.
    const HumanoidClip clip = test::BodyClip(1);
    TargetSkeleton t = test::APoseSkeleton(clip, [](const std::string& h) { return "Bip01_" + h; }, 1.0, false);
    std::vector<Vec3> pos;
    std::vector<Quat> rot;
    ComponentPose(t, &pos, &rot);
    const Vec3 fwd{0, 0, 1};
    auto add = [&](const std::string& name, int parent, const Vec3& at) {
        t.bones.push_back({name, parent, Rotate(Conjugate(rot[parent]), at - pos[parent]), Conjugate(rot[parent])});
        pos.push_back(at);
        rot.push_back(Quat{});
        return int(t.bones.size()) - 1;
    };
    const char* const fingers[] = {"Index", "Middle", "Ring", "Little"};
    for (const std::string side : {"Left", "Right"}) {
        const int hand = t.BoneIndex("Bip01_" + side + "Hand");
        const Vec3 along = Vec3{side == "Left" ? 1.0 : -1.0, -1, 0} * (1 / std::sqrt(2.0));  // the arm's way
        add("socket_" + side, hand, pos[hand] + fwd * 0.1);
        int j = hand;
        for (int k = 1; k <= 3; ++k) j = add("Bip01_" + side + "Thumb" + std::to_string(k), j,
                                              pos[hand] + (along + fwd) * (0.025 * k));
        for (int f = 0; f < 4; ++f) {
            const Vec3 across = fwd * (0.02 - 0.02 * f);
            j = add("metacarpal_" + side + fingers[f], hand, pos[hand] + along * 0.015 + across * 0.5);
            for (int k = 1; k <= 3; ++k) j = add("Bip01_" + side + fingers[f] + std::to_string(k), j,
                                                  pos[hand] + along * (0.06 + 0.03 * k) + across);
        }
    }
    BoneMap map;
    ASSERT_EQ(BuildBoneMap(t, SkeletonPreset::Auto, {}, &map), "");
    EXPECT_EQ(map.preset, SkeletonPreset::Shape);
    EXPECT_EQ(map.humanoidToTarget.size(), clip.bones.size() + 30);
    const char* const phalanges[] = {"Proximal", "Intermediate", "Distal"};
    for (const std::string side : {"Left", "Right"})
        for (const std::string finger : {"Thumb", "Index", "Middle", "Ring", "Little"})
            for (int k = 0; k < 3; ++k)
                EXPECT_EQ(t.bones[map.humanoidToTarget.at(side + finger + phalanges[k])].name,
                          "Bip01_" + side + finger + std::to_string(k + 1));
}

TEST(BoneMapping, OverridesAndErrors) {
    const HumanoidClip clip = test::BodyClip(1);
    TargetSkeleton t = test::APoseSkeleton(clip, [](const std::string& h) { return "Bip01_" + h; }, 1.0, false);
    const Quat lie = AxisAngle({1, 0, 0}, M_PI / 2);  // lying at rest: neither a table nor its shape finds the body
    t.bones[0].restTranslation = Rotate(lie, t.bones[0].restTranslation);
    t.bones[0].restRotation = lie * t.bones[0].restRotation;
    BoneMap map;
    const std::string err = BuildBoneMap(t, SkeletonPreset::Auto, {}, &map);
    EXPECT_NE(err.find("no Hips bone"), std::string::npos) << err;
    EXPECT_EQ(BuildBoneMap(t, SkeletonPreset::Auto, {{"Hips", "Bip01_Hips"}, {"Spine", "Bip01_Spine"}}, &map), "");
    EXPECT_EQ(map.humanoidToTarget.at("Hips"), t.BoneIndex("Bip01_Hips"));
    EXPECT_EQ(map.humanoidToTarget.size(), 2u);
    const std::string missing = BuildBoneMap(t, SkeletonPreset::Auto, {{"Hips", "pelvis"}}, &map);
    EXPECT_NE(missing.find("no bone 'pelvis'"), std::string::npos) << missing;
    t.bones[3].parent = 7;
    EXPECT_NE(BuildBoneMap(t, SkeletonPreset::Auto, {{"Hips", "Bip01_Hips"}}, &map).find("does not come before"),
              std::string::npos);
}

TEST(BoneMapping, UnrealSkeletonPathAsTheEditorModuleRunsIt) {
    // The Editor module reads a USkeleton's reference pose in Unreal space (Z-up, cm), converts it to glTF
    // space, retargets, and converts each bone's local keys back. Done here with a rig built in Unreal space:
    // bone directions in Unreal space must equal the clip's, converted.
    HumanoidClip clip = test::BodyClip(6);
    test::Animate(&clip);
    const TargetSkeleton gl = test::APoseSkeleton(
        clip, [](const std::string& h) { return TableName(SkeletonPreset::UE5Manny, h); }, 1.0, true);
    TargetSkeleton ue = gl;  // "as stored in the .uasset"
    for (TargetBone& b : ue.bones) {
        b.restTranslation = GltfToUnrealPosition(b.restTranslation);
        b.restRotation = GltfToUnrealRotation(b.restRotation);
    }
    TargetSkeleton read = ue;  // FAnimGenAnimationBuilder::TargetFromSkeleton
    for (TargetBone& b : read.bones) {
        b.restTranslation = UnrealToGltfPosition(b.restTranslation);
        b.restRotation = UnrealToGltfRotation(b.restRotation);
    }
    BoneMap map;
    ASSERT_EQ(BuildBoneMap(read, SkeletonPreset::Auto, {}, &map), "");
    RetargetedAnimation anim;
    ASSERT_EQ(Retarget(clip, read, map, &anim), "");
    RetargetedAnimation keys = anim;  // the keys handed to SetBoneTrackKeys
    for (Vec3& t : keys.translations) t = GltfToUnrealPosition(t);
    for (Quat& q : keys.rotations) q = GltfToUnrealRotation(q);
    for (int f = 0; f < clip.frameCount; ++f) {
        std::vector<Vec3> cp;
        std::vector<Quat> cr;
        ClipWorldPose(clip, f, &cp, &cr);
        const std::vector<Vec3> up = test::TargetWorld(ue, keys, f);  // Unreal-space forward kinematics
        for (const char* pair : {"LeftUpperArm>LeftLowerArm", "RightLowerLeg>RightFoot", "Neck>Head", "Spine>Chest"}) {
            const std::string s(pair);
            const std::string a = s.substr(0, s.find('>')), b = s.substr(s.find('>') + 1);
            const Vec3 want = GltfToUnrealPosition(cp[clip.BoneIndex(b)] - cp[clip.BoneIndex(a)]);
            const Vec3 got = up[map.humanoidToTarget.at(b)] - up[map.humanoidToTarget.at(a)];
            EXPECT_LT(AngleDeg(want, got), 1e-5) << pair << " frame " << f;
        }
        // Hips in centimetres, Z up.
        const Vec3 hips = up[map.humanoidToTarget.at("Hips")];
        const Vec3 wantHips = GltfToUnrealPosition(clip.hipsPositions[f]);
        EXPECT_NEAR(hips.x, wantHips.x, 1e-6);
        EXPECT_NEAR(hips.y, wantHips.y, 1e-6);
        EXPECT_NEAR(hips.z, wantHips.z, 1e-6);
    }
}
