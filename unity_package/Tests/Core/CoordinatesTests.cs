// NUnit tests of AnimGen.Core: they run under mono's nunit-console (tests/test_unity_package.py) and in
// Unity's Test Runner. Only NUnit API common to NUnit 2.6 and 3 is used.
using System;
using NUnit.Framework;

namespace AnimGen.Core.Tests
{
    [TestFixture]
    public class CoordinatesTests
    {
        static readonly Vec3 Up = new Vec3(0, 1, 0);
        static readonly Vec3 Forward = new Vec3(0, 0, 1);

        static void Near(Vec3 expected, Vec3 actual, float tol = 1e-6f)
        {
            Assert.That(actual.X, Is.EqualTo(expected.X).Within(tol), "x of " + actual);
            Assert.That(actual.Y, Is.EqualTo(expected.Y).Within(tol), "y of " + actual);
            Assert.That(actual.Z, Is.EqualTo(expected.Z).Within(tol), "z of " + actual);
        }

        [Test]
        public void PositionMirrorsX()
        {
            Assert.AreEqual(new Vec3(-0.7f, 1.41f, 0.25f), UnityCoordinates.PositionFromGltf(new Vec3(0.7f, 1.41f, 0.25f)));
        }

        [Test]
        public void RotationNegatesYAndZ()
        {
            Assert.AreEqual(new Quat(0.1f, -0.2f, -0.3f, 0.9f), UnityCoordinates.RotationFromGltf(new Quat(0.1f, 0.2f, 0.3f, 0.9f)));
        }

        [Test]
        public void KnownPoseTurnLeftBecomesNegativeYaw()
        {
            // glTF: +90 degrees about +Y turns the character (facing +Z) to face +X, its left.
            Quat gltf = Quat.AngleAxis(90f, Up);
            Near(new Vec3(1, 0, 0), gltf.Rotate(Forward));
            // Unity: the same turn is -90 degrees about Y, facing -X, which is the character's left in Unity.
            Quat unity = UnityCoordinates.RotationFromGltf(gltf);
            Quat expected = Quat.AngleAxis(-90f, Up);
            Assert.That(Quat.AngleBetween(expected, unity), Is.LessThan(1e-3f));
            Near(new Vec3(-1, 0, 0), unity.Rotate(Forward));
        }

        [Test]
        public void KnownPoseLeftArmDown()
        {
            // glTF: the left arm lies along +X; -90 degrees about +Z (forward) lowers it to -Y.
            Quat gltf = Quat.AngleAxis(-90f, Forward);
            Vec3 leftArm = new Vec3(0.28f, 0, 0);
            Near(new Vec3(0, -0.28f, 0), gltf.Rotate(leftArm));
            // Unity: the left arm lies along -X; the converted rotation also lowers it to -Y.
            Quat unity = UnityCoordinates.RotationFromGltf(gltf);
            Vec3 unityArm = UnityCoordinates.PositionFromGltf(leftArm);
            Assert.AreEqual(-0.28f, unityArm.X);
            Near(new Vec3(0, -0.28f, 0), unity.Rotate(unityArm));
        }

        [Test]
        public void KnownPoseLeanForwardStaysForward()
        {
            // Bending forward (+Z) is a rotation about the character's left-right axis; in both spaces the head goes to +Z.
            Quat gltf = Quat.AngleAxis(30f, new Vec3(1, 0, 0));
            Vec3 head = new Vec3(0, 0.6f, 0);
            float z = gltf.Rotate(head).Z;
            Assert.That(z, Is.GreaterThan(0.29f));
            Near(UnityCoordinates.PositionFromGltf(gltf.Rotate(head)), UnityCoordinates.RotationFromGltf(gltf).Rotate(head));
        }

        [Test]
        public void ConversionCommutesWithRotationForRandomPoses()
        {
            var rng = new Random(7);
            for (int i = 0; i < 1000; i++)
            {
                Quat q = new Quat(R(rng), R(rng), R(rng), R(rng)).Normalized();
                Vec3 v = new Vec3(R(rng), R(rng), R(rng));
                Vec3 viaGltf = UnityCoordinates.PositionFromGltf(q.Rotate(v));
                Vec3 viaUnity = UnityCoordinates.RotationFromGltf(q).Rotate(UnityCoordinates.PositionFromGltf(v));
                Near(viaGltf, viaUnity, 1e-5f);
            }
        }

        [Test]
        public void CompositionIsPreserved()
        {
            // Converting a product equals the product of the converted rotations (parent * child stays valid).
            var rng = new Random(11);
            for (int i = 0; i < 200; i++)
            {
                Quat a = new Quat(R(rng), R(rng), R(rng), R(rng)).Normalized();
                Quat b = new Quat(R(rng), R(rng), R(rng), R(rng)).Normalized();
                Quat left = UnityCoordinates.RotationFromGltf(a * b);
                Quat right = UnityCoordinates.RotationFromGltf(a) * UnityCoordinates.RotationFromGltf(b);
                Assert.That(Quat.AngleBetween(left, right), Is.LessThan(1e-2f));
            }
        }

        [Test]
        public void RoundTripIsBitExact()
        {
            var rng = new Random(3);
            for (int i = 0; i < 1000; i++)
            {
                var p = new Vec3(R(rng), R(rng), R(rng));
                var q = new Quat(R(rng), R(rng), R(rng), R(rng));
                Assert.AreEqual(p, UnityCoordinates.PositionToGltf(UnityCoordinates.PositionFromGltf(p)));
                Assert.AreEqual(q, UnityCoordinates.RotationToGltf(UnityCoordinates.RotationFromGltf(q)));
            }
        }

        static float R(Random rng) { return (float)(rng.NextDouble() * 2 - 1); }
    }

    [TestFixture]
    public class NameTests
    {
        [Test]
        public void HumanBodyBonesOrderMatchesUnity()
        {
            Assert.AreEqual(55, HumanBones.EnumNames.Length);
            Assert.AreEqual(0, HumanBones.EnumIndex("Hips"));
            Assert.AreEqual(7, HumanBones.EnumIndex("Spine"));
            Assert.AreEqual(19, HumanBones.EnumIndex("LeftToes"));
            Assert.AreEqual(24, HumanBones.EnumIndex("LeftThumbProximal"));
            Assert.AreEqual(53, HumanBones.EnumIndex("RightLittleDistal"));
            Assert.AreEqual(54, HumanBones.EnumIndex("UpperChest"));
            Assert.AreEqual(-1, HumanBones.EnumIndex("LeftWing"));
            Assert.IsTrue(HumanBones.IsFinger("RightRingIntermediate"));
            Assert.IsFalse(HumanBones.IsFinger("RightHand"));
        }

        [TestCase("Left Thumb 1 Stretched", "LeftHand.Thumb.1 Stretched")]
        [TestCase("Right Little 3 Stretched", "RightHand.Little.3 Stretched")]
        [TestCase("Left Index Spread", "LeftHand.Index.Spread")]
        [TestCase("Right Thumb Spread", "RightHand.Thumb.Spread")]
        [TestCase("Left Arm Down-Up", "Left Arm Down-Up")]
        [TestCase("Spine Front-Back", "Spine Front-Back")]
        [TestCase("Right Hand In-Out", "Right Hand In-Out")]
        public void MuscleCurveNames(string muscle, string property)
        {
            Assert.AreEqual(property, MuscleNames.ToCurveProperty(muscle));
            Assert.AreEqual(muscle, MuscleNames.FromCurveProperty(property));
        }
    }
}
