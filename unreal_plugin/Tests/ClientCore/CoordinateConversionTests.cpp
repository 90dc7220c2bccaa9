#include <gtest/gtest.h>

#include "CoordinateConversion.h"
#include "TestClips.h"

using namespace animgen;

namespace {
void ExpectNear(const Vec3& a, const Vec3& b, double tol = 1e-9) {
    EXPECT_NEAR(a.x, b.x, tol);
    EXPECT_NEAR(a.y, b.y, tol);
    EXPECT_NEAR(a.z, b.z, tol);
}
void ExpectSameRotation(const Quat& a, const Quat& b, double tol = 1e-7) { EXPECT_LT(AngleBetween(a, b), tol); }
}  // namespace

TEST(CoordinateConversion, AxesMapToUnrealAxes) {
    // glTF up (+Y) is Unreal up (+Z); the character's facing (+Z) is Unreal +Y; its left (+X) stays +X.
    ExpectNear(GltfToUnrealPosition({0, 1, 0}), {0, 0, 100});
    ExpectNear(GltfToUnrealPosition({0, 0, 1}), {0, 100, 0});
    ExpectNear(GltfToUnrealPosition({1, 0, 0}), {100, 0, 0});
    ExpectNear(GltfToUnrealPosition({0.25, 0.95, -0.5}), {25, -50, 95});
}

TEST(CoordinateConversion, RoundTrips) {
    const Vec3 p{0.3, -1.25, 2.5};
    ExpectNear(UnrealToGltfPosition(GltfToUnrealPosition(p)), p);
    for (int i = 0; i < 20; ++i) {
        const Quat q = test::Scrambled(i);
        const Quat back = UnrealToGltfRotation(GltfToUnrealRotation(q));
        EXPECT_DOUBLE_EQ(back.x, q.x);
        EXPECT_DOUBLE_EQ(back.y, q.y);
        EXPECT_DOUBLE_EQ(back.z, q.z);
        EXPECT_DOUBLE_EQ(back.w, q.w);
    }
}

TEST(CoordinateConversion, RotatingThenConvertingEqualsConvertingThenRotating) {
    for (int i = 0; i < 50; ++i) {
        const Quat q = test::Scrambled(i);
        const Vec3 v{std::sin(i * 0.7), std::cos(i * 1.9), 0.5 * i - 3};
        ExpectNear(GltfToUnrealPosition(Rotate(q, v)), Rotate(GltfToUnrealRotation(q), GltfToUnrealPosition(v)), 1e-9);
    }
}

TEST(CoordinateConversion, PreservesCompositionSoLocalRotationsStayLocal) {
    for (int i = 0; i < 30; ++i) {
        const Quat a = test::Scrambled(i), b = test::Scrambled(i + 31);
        ExpectSameRotation(GltfToUnrealRotation(a * b), GltfToUnrealRotation(a) * GltfToUnrealRotation(b));
    }
}

TEST(CoordinateConversion, TurningLeftInGltfIsTheSameTurnInUnreal) {
    // A character facing +Z that turns +90 degrees about +Y faces +X (its left). In Unreal it faced +Y and
    // must face +X too: a -90 degree turn about +Z, as FQuat(FVector::UpVector, -PI/2) would give.
    const Quat gl = AxisAngle({0, 1, 0}, M_PI / 2);
    ExpectNear(Rotate(gl, {0, 0, 1}), {1, 0, 0});
    const Quat ue = GltfToUnrealRotation(gl);
    ExpectSameRotation(ue, AxisAngle({0, 0, 1}, -M_PI / 2));
    ExpectNear(Rotate(ue, {0, 100, 0}), {100, 0, 0}, 1e-7);
}

TEST(CoordinateConversion, ArmRaisedInTPoseKeepsItsMeaning) {
    // The left arm (+X) raised 90 degrees toward up: glTF rotation +90 about +Z. In Unreal the arm at +X
    // must point to +Z (up) too.
    const Quat gl = AxisAngle({0, 0, 1}, M_PI / 2);
    ExpectNear(Rotate(gl, {1, 0, 0}), {0, 1, 0});
    ExpectNear(Rotate(GltfToUnrealRotation(gl), {100, 0, 0}), {0, 0, 100}, 1e-7);
}
