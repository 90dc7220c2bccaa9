#include "BoneMapping.h"

#include <algorithm>
#include <cctype>

namespace animgen {
namespace {

using Table = std::vector<std::pair<std::string, std::string>>;

const char* const kFingers[] = {"Thumb", "Index", "Middle", "Ring", "Little"};
const char* const kPhalanges[] = {"Proximal", "Intermediate", "Distal"};

// Epic's mannequins share limb and finger names; they differ in the spine and neck.
Table EpicTable(const std::vector<std::pair<std::string, std::string>>& spine) {
    Table t = spine;
    const char* const fingerNames[] = {"thumb", "index", "middle", "ring", "pinky"};
    for (int s = 0; s < 2; ++s) {
        const std::string side = s == 0 ? "Left" : "Right";
        const std::string sfx = s == 0 ? "_l" : "_r";
        t.push_back({side + "Shoulder", "clavicle" + sfx});
        t.push_back({side + "UpperArm", "upperarm" + sfx});
        t.push_back({side + "LowerArm", "lowerarm" + sfx});
        t.push_back({side + "Hand", "hand" + sfx});
        t.push_back({side + "UpperLeg", "thigh" + sfx});
        t.push_back({side + "LowerLeg", "calf" + sfx});
        t.push_back({side + "Foot", "foot" + sfx});
        t.push_back({side + "Toes", "ball" + sfx});
        for (int f = 0; f < 5; ++f)
            for (int p = 0; p < 3; ++p)
                t.push_back({side + kFingers[f] + kPhalanges[p],
                             std::string(fingerNames[f]) + "_0" + std::to_string(p + 1) + sfx});
    }
    return t;
}

Table MixamoTable() {
    Table t = {{"Hips", "Hips"}, {"Spine", "Spine"}, {"Chest", "Spine1"}, {"UpperChest", "Spine2"},
               {"Neck", "Neck"}, {"Head", "Head"}};
    const char* const fingerNames[] = {"Thumb", "Index", "Middle", "Ring", "Pinky"};
    for (const std::string side : {"Left", "Right"}) {
        t.push_back({side + "Shoulder", side + "Shoulder"});
        t.push_back({side + "UpperArm", side + "Arm"});
        t.push_back({side + "LowerArm", side + "ForeArm"});
        t.push_back({side + "Hand", side + "Hand"});
        t.push_back({side + "UpperLeg", side + "UpLeg"});
        t.push_back({side + "LowerLeg", side + "Leg"});
        t.push_back({side + "Foot", side + "Foot"});
        t.push_back({side + "Toes", side + "ToeBase"});
        for (int f = 0; f < 5; ++f)
            for (int p = 0; p < 3; ++p)
                t.push_back({side + kFingers[f] + kPhalanges[p],
                             side + "Hand" + fingerNames[f] + std::to_string(p + 1)});
    }
    return t;
}

// The child whose direction defines a bone's direction: the middle finger for a hand (the thumb points
// elsewhere), otherwise the first mapped child. -1 when none (a leaf such as Head or Toes).
int DirectionChild(const HumanoidClip& clip, int bone, const BoneMap& map) {
    int first = -1;
    for (size_t c = 0; c < clip.bones.size(); ++c) {
        if (clip.bones[c].parent != bone || !map.humanoidToTarget.count(clip.bones[c].name)) continue;
        if (clip.bones[c].name.find("MiddleProximal") != std::string::npos) return int(c);
        if (first < 0) first = int(c);
    }
    return first;
}

// The target's left leg (thigh and shin) over the clip's: how far its pelvis moves for a metre of the clip's, as
// the server scales it (retarget._leg_ratio), so that strides and the Hips' travel agree; 1 where the leg does not
// map. (It had been the ratio of rest hip heights, which a rig's pelvis placement skews.)
double LegRatio(const HumanoidClip& clip, const std::vector<Vec3>& clipRest, const BoneMap& map,
                const std::vector<Vec3>& targetRest) {
    static const char* const kLeg[] = {"LeftUpperLeg", "LeftLowerLeg", "LeftFoot"};
    int c[3], t[3];
    for (int k = 0; k < 3; ++k) {
        c[k] = clip.BoneIndex(kLeg[k]);
        auto it = map.humanoidToTarget.find(kLeg[k]);
        if (c[k] < 0 || it == map.humanoidToTarget.end()) return 1.0;
        t[k] = it->second;
    }
    const double ours = Length(clipRest[c[1]] - clipRest[c[0]]) + Length(clipRest[c[2]] - clipRest[c[1]]);
    const double theirs = Length(targetRest[t[1]] - targetRest[t[0]]) + Length(targetRest[t[2]] - targetRest[t[1]]);
    return ours > 1e-9 && theirs > 1e-9 ? theirs / ours : 1.0;
}

const char* const kRequired[] = {"Hips", "Spine", "Head", "LeftUpperArm", "LeftLowerArm", "LeftHand", "LeftUpperLeg",
                                 "LeftLowerLeg", "LeftFoot", "RightUpperArm", "RightLowerArm", "RightHand",
                                 "RightUpperLeg", "RightLowerLeg", "RightFoot"};

bool HasBody(const BoneMap& m) {
    for (const char* b : kRequired)
        if (!m.humanoidToTarget.count(b)) return false;
    return true;
}

// start, then at each joint the child with the largest key, down to a leaf.
std::vector<int> Path(int start, const std::vector<std::vector<int>>& children, const std::vector<double>& key) {
    std::vector<int> path{start};
    while (!children[path.back()].empty()) {
        const auto& c = children[path.back()];
        path.push_back(*std::max_element(c.begin(), c.end(), [&](int a, int b) { return key[a] < key[b]; }));
    }
    return path;
}

size_t IndexIn(const std::vector<int>& path, int j) {
    return size_t(std::find(path.begin(), path.end(), j) - path.begin());
}

// The upper and middle joints of the limb path[0] .. end (an arm to its hand, a leg to its ankle), as bonemap._limb
// finds them: for each joint that may start it, the middle joint (elbow, knee) is the one nearest half-way to end;
// the start kept is the one whose middle joint lies nearest its half-way point for the limb's length, which passes a
// clavicle or hip joint before the limb and not a twist joint within it. A first link shorter than `shortShare` of
// the rest of the way is passed whatever it gives. False where no joint lies between.
bool Limb(const std::vector<int>& path, int end, const std::vector<Vec3>& pos, double shortShare, int* upper,
          int* middle) {
    const size_t endAt = IndexIn(path, end);
    if (endAt < 2) return false;
    size_t first = 0;
    if (endAt - 1 >= 2 && Length(pos[path[1]] - pos[path[0]]) < shortShare * Length(pos[end] - pos[path[1]]))
        first = 1;
    double best = -1;
    for (size_t u = first; u + 1 < endAt; ++u) {
        const Vec3 mid = (pos[path[u]] + pos[end]) * 0.5;
        int m = path[u + 1];
        for (size_t k = u + 2; k < endAt; ++k)
            if (Length(pos[path[k]] - mid) < Length(pos[m] - mid)) m = path[k];
        const double off = Length(pos[m] - mid) / std::max(Length(pos[end] - pos[path[u]]), 1e-12);
        if (best < 0 || off < best) best = off, *upper = path[u], *middle = m;
    }
    return true;
}

// The head among the joints above the neck (chain, going up), as bonemap._head finds it: the first that ends the
// chain, forks (eyes, jaw) or has for its one child an end joint at least half as long again as its own link
// (Mixamo's HeadTop_End); joints before it are more of the neck.
int Head(const std::vector<int>& chain, const TargetSkeleton& t, const std::vector<std::vector<int>>& children,
         const std::vector<Vec3>& pos) {
    for (int j : chain) {
        if (children[j].size() != 1) return j;
        const int child = children[j][0];
        if (children[child].empty() && Length(pos[child] - pos[j]) >= 1.5 * Length(pos[j] - pos[t.bones[j].parent]))
            return j;
    }
    return chain.back();
}

// The fingers leaving a hand of a T- or A-posed rig, as bonemap._fingers finds them: along each chain its first three
// joints, after a metacarpal (a first joint near the wrist on a long chain, as Epic's and Daz's rigs have); the thumb
// is the chain that then starts nearest the wrist, the others follow by how far forward their knuckles lie (index
// first). None for fewer than two chains (a mitten, a lone socket bone).
void AddFingers(const std::string& side, int hand, const std::vector<std::vector<int>>& children,
                const std::vector<Vec3>& pos, double facing, std::map<std::string, int>* m) {
    std::vector<double> away(pos.size());
    for (size_t j = 0; j < pos.size(); ++j) away[j] = Length(pos[j] - pos[hand]);
    std::vector<std::vector<int>> chains;
    for (int c : children[hand])
        if (std::vector<int> chain = Path(c, children, away); chain.size() >= 2) chains.push_back(chain);
    if (chains.size() < 2) return;
    for (std::vector<int>& c : chains) {
        double length = away[c[0]];
        for (size_t k = 1; k < c.size(); ++k) length += Length(pos[c[k]] - pos[c[k - 1]]);
        if (c.size() >= 4 && away[c[0]] < 0.25 * length) c.erase(c.begin());
    }
    const auto thumb = std::min_element(chains.begin(), chains.end(),
                                        [&](const auto& a, const auto& b) { return away[a[0]] < away[b[0]]; });
    std::vector<std::vector<int>> fingers{*thumb}, others;
    for (auto it = chains.begin(); it != chains.end(); ++it)
        if (it != thumb) others.push_back(*it);
    std::stable_sort(others.begin(), others.end(),
                     [&](const auto& a, const auto& b) { return -facing * pos[a[0]].z < -facing * pos[b[0]].z; });
    fingers.insert(fingers.end(), others.begin(), others.end());
    for (size_t f = 0; f < fingers.size() && f < 5; ++f)
        for (size_t k = 0; k < fingers[f].size() && k < 3; ++k)
            (*m)[side + kFingers[f] + kPhalanges[k]] = fingers[f][k];
}

// The body found from a standing reference pose alone (glTF space: +Y up, facing +Z, so its left is +X; toes
// pointing to -Z turn it round), for a rig whose bone names no table knows. The server's bonemap.map_by_shape, in
// the same steps: the Hips are the joint nearest the root with two chains going down to the floor and one up; along
// each leg the ankle is the first joint within 15 % of the hip's height over the floor, the toes follow; the arms are
// the two chains leaving the spine furthest sideways (in a T-, A- or arms-down pose), the hand where the fingers fork
// (else the chain's end); knee and elbow, thigh and upper arm as Limb finds them; the Neck is the first spine joint
// above the arms, the Head the one Head finds above it, and the spine below is spread over Spine, Chest and
// UpperChest; the fingers are the chains leaving each hand (AddFingers). Empty where the pose shows no such body.
BoneMap MapByShape(const TargetSkeleton& t) {
    BoneMap out;
    out.preset = SkeletonPreset::Shape;
    std::vector<Vec3> pos;
    std::vector<Quat> rot;
    ComponentPose(t, &pos, &rot);
    const int n = int(pos.size());
    if (n == 0) return out;
    std::vector<std::vector<int>> children(n);
    std::vector<double> low(n), high(n), side(n), reach(n), depth(n, 0);
    Vec3 lo = pos[0], hi = pos[0];
    for (int j = 0; j < n; ++j) {
        if (t.bones[j].parent >= 0) {
            children[t.bones[j].parent].push_back(j);
            depth[j] = depth[t.bones[j].parent] + 1;
        }
        low[j] = high[j] = pos[j].y;
        lo = {std::min(lo.x, pos[j].x), std::min(lo.y, pos[j].y), std::min(lo.z, pos[j].z)};
        hi = {std::max(hi.x, pos[j].x), std::max(hi.y, pos[j].y), std::max(hi.z, pos[j].z)};
    }
    for (int j = n - 1; j >= 0; --j)  // parents come before their children
        if (const int p = t.bones[j].parent; p >= 0) {
            low[p] = std::min(low[p], low[j]);
            high[p] = std::max(high[p], high[j]);
        }
    const double height = hi.y - lo.y;
    if (height <= 0 || height < 0.7 * (hi.x - lo.x) || height < 2.0 * (hi.z - lo.z)) return out;  // not standing
    int hips = -1, spineStart = -1;
    std::vector<int> legs;
    for (int j = 0; j < n; ++j) {
        std::vector<int> down;
        int up = -1;
        for (int c : children[j]) {  // from each chain's own start: legs may hang from a root beside the Hips
            if (low[c] < pos[c].y - 0.3 * height) down.push_back(c);
            if (high[c] > pos[c].y + 0.2 * height && (up < 0 || high[c] > high[up])) up = c;
        }
        if (down.size() < 2 || up < 0 || (hips >= 0 && depth[j] >= depth[hips])) continue;
        std::stable_sort(down.begin(), down.end(), [&](int a, int b) { return low[a] < low[b]; });
        hips = j, spineStart = up, legs = {down[0], down[1]};
    }
    if (hips < 0) return out;
    std::map<std::string, int> m{{"Hips", hips}};
    struct Side { bool leg; std::map<std::string, int> bones; double x; };  // a leg or an arm
    std::vector<Side> limbs;
    std::vector<double> minusLow(n);
    for (int j = 0; j < n; ++j) minusLow[j] = -low[j];
    for (int start : legs) {
        const std::vector<int> path = Path(start, children, minusLow);
        const double up = pos[start].y - low[start];
        int foot = -1;
        for (size_t k = 1; k < path.size() && foot < 0; ++k)
            if (pos[path[k]].y - low[start] <= 0.15 * up) foot = path[k];
        int upper = -1, knee = -1;
        if (foot < 0 || !Limb(path, foot, pos, 0.2, &upper, &knee)) return out;  // the thigh past a hip joint
        Side leg{true, {{"UpperLeg", upper}, {"LowerLeg", knee}, {"Foot", foot}}, pos[foot].x};
        const auto after = std::find(path.begin(), path.end(), foot) + 1;
        if (after != path.end() && Length(pos[*after] - pos[foot]) > 0.01 * height) leg.bones["Toes"] = *after;
        limbs.push_back(leg);
    }
    const std::vector<int> spine = Path(spineStart, children, high);
    for (int j = 0; j < n; ++j) side[j] = reach[j] = std::fabs(pos[j].x - pos[hips].x);
    for (int j = n - 1; j >= 0; --j)
        if (const int p = t.bones[j].parent; p >= 0) reach[p] = std::max(reach[p], reach[j]);
    std::vector<int> arms;
    for (int j : spine)
        for (int c : children[j])
            if (std::find(spine.begin(), spine.end(), c) == spine.end() && reach[c] > 0.1 * height) arms.push_back(c);
    std::stable_sort(arms.begin(), arms.end(), [&](int a, int b) { return reach[a] > reach[b]; });
    if (arms.size() < 2) return out;
    arms.resize(2);
    size_t branch = 0;
    for (int a : arms)
        branch = std::max(branch, size_t(std::find(spine.begin(), spine.end(), t.bones[a].parent) - spine.begin()));
    const std::vector<int> above(spine.begin() + branch + 1, spine.end());
    if (above.empty()) return out;
    if (above.size() == 1) {
        m["Head"] = above[0];
    } else {
        m["Neck"] = above[0];
        m["Head"] = Head(std::vector<int>(above.begin() + 1, above.end()), t, children, pos);
    }
    const std::vector<int> trunk(spine.begin(), spine.begin() + branch + 1);  // Hips' child .. the arms' joint
    m["Spine"] = trunk[0];
    if (trunk.size() >= 2) m["Chest"] = trunk.size() >= 3 ? trunk[trunk.size() / 2] : trunk[1];
    if (trunk.size() >= 3) m["UpperChest"] = trunk.back();
    for (int start : arms) {
        std::vector<int> path = Path(start, children, side);
        while (path.size() > 3 && Length(pos[path.back()] - pos[path[path.size() - 2]]) < 0.01 * height)
            path.pop_back();  // an end joint where its parent is (SFU's LeftHandThumb)
        int hand = path.back();
        for (size_t k = 1; k < path.size(); ++k)
            if (children[path[k]].size() >= 2) {
                hand = path[k];
                break;
            }
        int upper = -1, elbow = -1;
        if (!Limb(path, hand, pos, 0.3, &upper, &elbow)) return out;  // the upper arm past the clavicle
        Side arm{false, {{"UpperArm", upper}, {"LowerArm", elbow}, {"Hand", hand}}, pos[hand].x};
        if (upper != start) arm.bones["Shoulder"] = start;
        limbs.push_back(arm);
    }
    double toesZ = 0;  // where the toes point, summed over the feet that have them
    for (const Side& l : limbs)
        if (l.bones.count("Toes")) toesZ += pos[l.bones.at("Toes")].z - pos[l.bones.at("Foot")].z;
    const bool facingMinusZ = toesZ < 0;
    for (bool leg : {true, false}) {
        std::vector<const Side*> pair;
        for (const Side& l : limbs)
            if (l.leg == leg) pair.push_back(&l);
        if (pair.size() != 2 || pair[0]->x == pair[1]->x) return out;
        if (pair[0]->x > pair[1]->x) std::swap(pair[0], pair[1]);  // lower x first: the right side facing +Z
        for (int k = 0; k < 2; ++k) {
            const std::string name = (k == 0) != facingMinusZ ? "Right" : "Left";
            for (const auto& [bone, j] : pair[k]->bones) m[name + bone] = j;
        }
    }
    for (const std::string side : {"Left", "Right"})
        AddFingers(side, m.at(side + "Hand"), children, pos, facingMinusZ ? -1.0 : 1.0, &m);
    out.humanoidToTarget = m;
    return out;
}

}  // namespace

const char* PresetName(SkeletonPreset preset) {
    switch (preset) {
        case SkeletonPreset::UE5Manny: return "ue5_manny";
        case SkeletonPreset::UE4Mannequin: return "ue4_mannequin";
        case SkeletonPreset::Mixamo: return "mixamo";
        case SkeletonPreset::Shape: return "shape";
        default: return "auto";
    }
}

bool ParsePreset(const std::string& text, SkeletonPreset* out) {
    const std::string n = NormalizeBoneName(text);
    for (SkeletonPreset p : {SkeletonPreset::Auto, SkeletonPreset::UE5Manny, SkeletonPreset::UE4Mannequin,
                             SkeletonPreset::Mixamo}) {
        if (n == PresetName(p)) {
            *out = p;
            return true;
        }
    }
    return false;
}

const Table& PresetTable(SkeletonPreset preset) {
    static const Table ue5 = EpicTable({{"Hips", "pelvis"}, {"Spine", "spine_01"}, {"Chest", "spine_03"},
                                        {"UpperChest", "spine_05"}, {"Neck", "neck_01"}, {"Head", "head"}});
    static const Table ue4 = EpicTable({{"Hips", "pelvis"}, {"Spine", "spine_01"}, {"Chest", "spine_02"},
                                        {"UpperChest", "spine_03"}, {"Neck", "neck_01"}, {"Head", "head"}});
    static const Table mixamo = MixamoTable();
    static const Table none;
    switch (preset) {
        case SkeletonPreset::UE5Manny: return ue5;
        case SkeletonPreset::UE4Mannequin: return ue4;
        case SkeletonPreset::Mixamo: return mixamo;
        default: return none;
    }
}

std::string NormalizeBoneName(const std::string& name) {
    std::string n = name;
    const size_t colon = n.rfind(':');
    if (colon != std::string::npos) n = n.substr(colon + 1);
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    // Mixamo rigs imported into engines often turn "mixamorig:" into "mixamorig_" (or "mixamorig1_").
    if (n.rfind("mixamorig", 0) == 0) {
        const size_t us = n.find('_');
        if (us != std::string::npos) n = n.substr(us + 1);
    }
    return n;
}

int TargetSkeleton::BoneIndex(const std::string& boneName) const {
    const std::string want = NormalizeBoneName(boneName);
    for (size_t i = 0; i < bones.size(); ++i)
        if (NormalizeBoneName(bones[i].name) == want) return int(i);
    return -1;
}

std::string TargetSkeleton::Validate() const {
    if (bones.empty()) return "the target skeleton has no bones";
    for (size_t i = 0; i < bones.size(); ++i)
        if (bones[i].parent >= int(i) || bones[i].parent < -1)
            return "target bone '" + bones[i].name + "' has parent " + std::to_string(bones[i].parent) +
                   ", which does not come before it";
    return {};
}

std::map<std::string, std::string> BoneNames(const TargetSkeleton& target, const BoneMap& map) {
    std::map<std::string, std::string> names;
    for (const auto& [humanoid, bone] : map.humanoidToTarget) names[humanoid] = target.bones[size_t(bone)].name;
    return names;
}

std::string BuildBoneMap(const TargetSkeleton& target, SkeletonPreset preset,
                         const std::map<std::string, std::string>& overrides, BoneMap* out) {
    if (std::string err = target.Validate(); !err.empty()) return err;
    auto fill = [&](SkeletonPreset p) {
        BoneMap m;
        m.preset = p;
        for (const auto& [humanoid, bone] : PresetTable(p)) {
            const int i = target.BoneIndex(bone);
            if (i >= 0) m.humanoidToTarget[humanoid] = i;
            else m.unmapped.push_back(humanoid);
        }
        return m;
    };
    BoneMap best;
    if (preset == SkeletonPreset::Auto) {
        best = fill(SkeletonPreset::UE5Manny);
        for (SkeletonPreset p : {SkeletonPreset::UE4Mannequin, SkeletonPreset::Mixamo}) {
            BoneMap m = fill(p);
            if (m.humanoidToTarget.size() > best.humanoidToTarget.size()) best = m;
        }
        if (!HasBody(best)) {
            BoneMap shape = MapByShape(target);
            if (HasBody(shape)) best = shape;
        }
    } else {
        best = fill(preset);
    }
    for (const auto& [humanoid, bone] : overrides) {
        const int i = target.BoneIndex(bone);
        if (i < 0) return "bone map override " + humanoid + " -> " + bone + ": no bone '" + bone + "' in '" +
                          target.name + "'";
        best.humanoidToTarget[humanoid] = i;
        best.unmapped.erase(std::remove(best.unmapped.begin(), best.unmapped.end(), humanoid), best.unmapped.end());
    }
    if (!best.humanoidToTarget.count("Hips"))
        return "cannot map onto '" + target.name + "': no Hips bone found with the " + PresetName(best.preset) +
               " table (pick the skeleton type or map Hips by hand)";
    *out = best;
    return {};
}

void ComponentPose(const TargetSkeleton& target, std::vector<Vec3>* positions, std::vector<Quat>* rotations) {
    const size_t n = target.bones.size();
    positions->assign(n, Vec3{});
    rotations->assign(n, Quat{});
    for (size_t i = 0; i < n; ++i) {
        const TargetBone& b = target.bones[i];
        if (b.parent < 0) {
            (*positions)[i] = b.restTranslation;
            (*rotations)[i] = Normalized(b.restRotation);
        } else {
            (*positions)[i] = (*positions)[b.parent] + Rotate((*rotations)[b.parent], b.restTranslation);
            (*rotations)[i] = Normalized((*rotations)[b.parent] * b.restRotation);
        }
    }
}

void ClipWorldPose(const HumanoidClip& clip, int frame, std::vector<Vec3>* positions, std::vector<Quat>* rotations) {
    const size_t n = clip.bones.size();
    positions->assign(n, Vec3{});
    rotations->assign(n, Quat{});
    for (size_t i = 0; i < n; ++i) {
        const ClipBone& b = clip.bones[i];
        const Quat& local = clip.Rotation(frame, int(i));
        if (b.parent < 0) {
            (*positions)[i] = clip.hipsPositions[frame];
            (*rotations)[i] = local;
        } else {
            (*positions)[i] = (*positions)[b.parent] + Rotate((*rotations)[b.parent], b.restOffset);
            (*rotations)[i] = (*rotations)[b.parent] * local;
        }
    }
}

std::string Retarget(const HumanoidClip& clip, const TargetSkeleton& target, const BoneMap& map,
                     RetargetedAnimation* out) {
    if (std::string err = clip.Validate(); !err.empty()) return err;
    if (std::string err = target.Validate(); !err.empty()) return err;
    const int hips = clip.BoneIndex("Hips");
    auto hipsIt = map.humanoidToTarget.find("Hips");
    if (hips < 0 || hipsIt == map.humanoidToTarget.end()) return "the bone map has no Hips";
    const int nb = int(target.bones.size());

    std::vector<Vec3> refPos;
    std::vector<Quat> refRot;
    ComponentPose(target, &refPos, &refRot);

    // Clip bone rest positions (T-pose, all rotations identity): sums of rest offsets.
    std::vector<Vec3> clipRest(clip.bones.size());
    for (size_t i = 0; i < clip.bones.size(); ++i)
        clipRest[i] = clip.bones[i].parent < 0 ? clip.bones[i].restOffset
                                               : clipRest[clip.bones[i].parent] + clip.bones[i].restOffset;

    // Per target bone: its clip bone (or -1) and the rest-pose correction that turns the target's reference
    // direction onto the clip's T-pose direction. Leaves take their nearest mapped ancestor's correction;
    // Hips keeps identity (both skeletons face +Z).
    std::vector<int> source(nb, -1);
    std::vector<Quat> correction(clip.bones.size());
    for (size_t c = 0; c < clip.bones.size(); ++c) {
        auto it = map.humanoidToTarget.find(clip.bones[c].name);
        if (it == map.humanoidToTarget.end()) continue;
        const int j = it->second;
        source[j] = int(c);
        const int child = DirectionChild(clip, int(c), map);
        if (clip.bones[c].parent < 0) continue;
        if (child < 0) {
            int a = clip.bones[c].parent;
            while (a >= 0 && !map.humanoidToTarget.count(clip.bones[a].name)) a = clip.bones[a].parent;
            if (a >= 0) correction[c] = correction[a];
            continue;
        }
        const Vec3 want = clipRest[child] - clipRest[c];
        const Vec3 have = refPos[map.humanoidToTarget.at(clip.bones[child].name)] - refPos[j];
        if (Length(want) < 1e-9 || Length(have) < 1e-9) continue;
        correction[c] = FromTo(have, want);
    }

    const Vec3 clipHipsRest = clip.bones[hips].restOffset;
    const Vec3 targetHipsRest = refPos[hipsIt->second];
    const double scale = LegRatio(clip, clipRest, map, refPos);

    out->frameCount = clip.frameCount;
    out->boneCount = nb;
    out->frameRate = clip.frameRate;
    out->hipsScale = scale;
    out->translations.assign(size_t(clip.frameCount) * nb, Vec3{});
    out->rotations.assign(size_t(clip.frameCount) * nb, Quat{});
    std::vector<Vec3> clipPos, pos(nb);
    std::vector<Quat> clipRot, rot(nb);
    for (int f = 0; f < clip.frameCount; ++f) {
        ClipWorldPose(clip, f, &clipPos, &clipRot);
        for (int j = 0; j < nb; ++j) {
            const TargetBone& b = target.bones[j];
            const int p = b.parent;
            const Vec3 parentPos = p < 0 ? Vec3{} : pos[p];
            const Quat parentRot = p < 0 ? Quat{} : rot[p];
            Vec3 t = b.restTranslation;
            Quat r = b.restRotation;
            if (source[j] >= 0) {
                const Quat world = Normalized(clipRot[source[j]] * correction[source[j]] * refRot[j]);
                r = Normalized(Conjugate(parentRot) * world);
                if (source[j] == hips) {
                    const Vec3 worldPos = targetHipsRest + (clip.hipsPositions[f] - clipHipsRest) * scale;
                    t = Rotate(Conjugate(parentRot), worldPos - parentPos);
                }
            }
            rot[j] = Normalized(parentRot * r);
            pos[j] = parentPos + Rotate(parentRot, t);
            out->translations[size_t(f) * nb + j] = t;
            out->rotations[size_t(f) * nb + j] = r;
        }
    }
    return {};
}

}  // namespace animgen
