using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Threading;
using NUnit.Framework;

namespace AnimGen.Core.Tests
{
    [TestFixture]
    public class ClipDataTests
    {
        // The fixture is written by the Python side (tests/test_unity_package.py --write-fixture).
        internal static string FixturePath()
        {
            string env = Environment.GetEnvironmentVariable("ANIMGEN_FIXTURE_CLIP");
            if (!string.IsNullOrEmpty(env)) return env;
            // In Unity the package's files resolve through the Packages/ virtual folder.
            return Path.GetFullPath("Packages/com.animgen.generator/Tests/Editor/Fixtures/walk.json");
        }

        static HumanoidClipData Fixture()
        {
            string path = FixturePath();
            if (!File.Exists(path)) Assert.Fail("fixture clip not found at " + path + " (set ANIMGEN_FIXTURE_CLIP)");
            return HumanoidClipData.FromJson(File.ReadAllText(path));
        }

        static float[] Floats(string json)
        {
            var list = (List<object>)Json.Parse(json);
            var f = new float[list.Count];
            for (int i = 0; i < f.Length; i++) f[i] = (float)(double)list[i];
            return f;
        }

        [Test]
        public void FixtureClipDecodesAndMatchesPythonForwardKinematics()
        {
            var clip = Fixture();
            Assert.AreEqual("walk", clip.Name);
            Assert.AreEqual(22, clip.BoneCount);
            Assert.AreEqual(30, clip.FrameCount);
            Assert.AreEqual(30f, clip.FrameRate);
            Assert.AreEqual(1f, clip.Duration);
            Assert.AreEqual("Hips", clip.BoneNames[0]);
            Assert.AreEqual(-1, clip.Parents[0]);
            Assert.AreEqual(clip.BoneIndex("LeftUpperArm"), clip.Parents[clip.BoneIndex("LeftLowerArm")]);
            foreach (int frame in new[] { 0, 15 })
            {
                float[] expected = Floats(clip.Metadata["test.world_positions_frame" + frame]);
                Vec3[] world = clip.WorldPositions(frame);
                Assert.AreEqual(expected.Length, world.Length * 3);
                for (int b = 0; b < world.Length; b++)
                {
                    Assert.That(world[b].X, Is.EqualTo(expected[b * 3]).Within(2e-5f), clip.BoneNames[b] + " x, frame " + frame);
                    Assert.That(world[b].Y, Is.EqualTo(expected[b * 3 + 1]).Within(2e-5f), clip.BoneNames[b] + " y, frame " + frame);
                    Assert.That(world[b].Z, Is.EqualTo(expected[b * 3 + 2]).Within(2e-5f), clip.BoneNames[b] + " z, frame " + frame);
                }
            }
        }

        [Test]
        public void PerBoneAccessFollowsTheFrameMajorLayout()
        {
            var clip = Fixture();
            int b = clip.BoneIndex("LeftUpperLeg");
            Quat q = clip.Rotation(7, b);
            int i = (7 * clip.BoneCount + b) * 4;
            Assert.AreEqual(new Quat(clip.Rotations[i], clip.Rotations[i + 1], clip.Rotations[i + 2], clip.Rotations[i + 3]), q);
            // Frame 7 is a quarter cycle: the left leg swings back (about +X by -25 degrees).
            Assert.That(Quat.AngleBetween(Quat.AngleAxis(-25f, new Vec3(1, 0, 0)), q), Is.LessThan(0.2f));
            Assert.That(Math.Abs(q.Norm - 1f), Is.LessThan(1e-6f));
            Assert.AreEqual(0.9f, clip.BoneConfidence(7, b), 1e-6f);
            Assert.IsFalse(clip.LeftFootContact[7]);
            Assert.IsTrue(clip.RightFootContact[7]);
        }

        [Test]
        public void FootstepsAreWhereAFootLands()
        {
            Assert.AreEqual(new[] { 2 / 30f, 6 / 30f }, FootContactCurves.Footsteps(new[] { false, false, true, true, false, false, true }, 30f).ToArray());
            Assert.AreEqual(new[] { 3 / 24f }, FootContactCurves.Footsteps(new[] { true, true, false, true }, 24f).ToArray(), "planted at the start is no step");
            Assert.AreEqual(0, FootContactCurves.Footsteps(new[] { true, true, true }, 30f).Count);
            Assert.AreEqual(0, FootContactCurves.Footsteps(new bool[0], 30f).Count);

            // The fixture's walk cycle: the right foot is planted from the start and lifts; the left lands at frame 16.
            var clip = Fixture();
            Assert.AreEqual(new[] { 16 / clip.FrameRate }, FootContactCurves.Footsteps(clip.LeftFootContact, clip.FrameRate).ToArray());
            Assert.AreEqual(0, FootContactCurves.Footsteps(clip.RightFootContact, clip.FrameRate).Count);
        }

        [Test]
        public void AReplacedClipsFootstepsAreFoundFromItsOwnContactCurves()
        {
            // The landings a clip's step-curve keys hold are its footsteps' times, on hand-made contacts and the fixture's.
            var walk = new[] { false, false, true, true, false, false, true, true, true, false };
            var clip = Fixture();
            var contacts = new[] { walk, new[] { true, true, false, true }, clip.LeftFootContact, clip.RightFootContact, new bool[0] };
            var rates = new[] { 30f, 24f, clip.FrameRate, clip.FrameRate, 30f };
            for (int c = 0; c < contacts.Length; c++)
                Assert.AreEqual(FootContactCurves.Footsteps(contacts[c], rates[c]),
                                FootContactCurves.Landings(FootContactCurves.Keys(contacts[c], rates[c])), "contacts " + c);

            // An event is the earlier take's footstep only with its foot's side, on a landing of that foot (to half a frame).
            var left = FootContactCurves.Landings(FootContactCurves.Keys(walk, 30f)); // 2/30 and 6/30
            var right = new List<float> { 4 / 30f };
            Assert.IsTrue(FootContactCurves.IsFootstep(2 / 30f, "Left", left, right, 30f));
            Assert.IsTrue(FootContactCurves.IsFootstep(6 / 30f + 0.01f, "Left", left, right, 30f));
            Assert.IsTrue(FootContactCurves.IsFootstep(4 / 30f, "Right", left, right, 30f));
            Assert.IsFalse(FootContactCurves.IsFootstep(4 / 30f, "Left", left, right, 30f), "the other foot lands there");
            Assert.IsFalse(FootContactCurves.IsFootstep(2 / 30f, "Right", left, right, 30f));
            Assert.IsFalse(FootContactCurves.IsFootstep(2 / 30f, "Boom", left, right, 30f), "an event of its own");
            Assert.IsFalse(FootContactCurves.IsFootstep(2 / 30f, null, left, right, 30f));
            Assert.IsFalse(FootContactCurves.IsFootstep(3 / 30f, "Left", left, right, 30f), "a frame from a landing");
        }

        [Test]
        public void FootContactCurvesStepThroughEveryFramesContact()
        {
            var keys = FootContactCurves.Keys(new[] { false, false, true, true, true, false, true }, 30f);
            Assert.AreEqual(new[] { 0f, 2 / 30f, 5 / 30f, 6 / 30f }, keys.ConvertAll(k => k.Time).ToArray());
            Assert.AreEqual(new[] { 0f, 1f, 0f, 1f }, keys.ConvertAll(k => k.Value).ToArray());
            Assert.AreEqual(1, FootContactCurves.Keys(new[] { true, true, true }, 24f).Count);
            Assert.AreEqual(0, FootContactCurves.Keys(new bool[0], 30f).Count);

            var clip = Fixture();
            foreach (bool[] contact in new[] { clip.LeftFootContact, clip.RightFootContact })
            {
                var curve = FootContactCurves.Keys(contact, clip.FrameRate);
                Assert.That(curve.Count, Is.GreaterThan(1).And.LessThan(contact.Length)); // the walk's steps
                int k = 0;
                for (int f = 0; f < contact.Length; f++)
                {
                    while (k + 1 < curve.Count && curve[k + 1].Time <= f / clip.FrameRate + 1e-6f) k++;
                    Assert.AreEqual(contact[f] ? 1f : 0f, curve[k].Value, "frame " + f);
                }
            }
        }

        [Test]
        public void UnityViewOfTheClipMirrorsX()
        {
            var clip = Fixture();
            int hand = clip.BoneIndex("LeftUpperArm");
            Assert.AreEqual(-clip.RestOffset(hand).X, clip.UnityRestOffset(hand).X);
            Vec3 hips = clip.HipsPosition(10);
            Assert.AreEqual(new Vec3(-hips.X, hips.Y, hips.Z), clip.UnityHipsPosition(10));
            Quat r = clip.Rotation(10, hand);
            Assert.AreEqual(new Quat(r.X, -r.Y, -r.Z, r.W), clip.UnityRotation(10, hand));
            // The hips walk forward, +Z, in both spaces.
            Assert.That(clip.UnityHipsPosition(29).Z - clip.UnityHipsPosition(0).Z, Is.EqualTo(1.16f).Within(1e-4f));
        }

        [Test]
        public void RestPoseFromTheDefaultSkeletonIsATPose()
        {
            var clip = Fixture();
            // Build a rest-pose copy: identity rotations, hips at the rest offset.
            var rest = HumanoidClipData.FromJson(File.ReadAllText(FixturePath()));
            for (int i = 0; i < rest.Rotations.Length; i++) rest.Rotations[i] = (i % 4 == 3) ? 1f : 0f;
            for (int t = 0; t < rest.FrameCount; t++)
                for (int c = 0; c < 3; c++) rest.HipsPositions[t * 3 + c] = rest.RestOffsets[c];
            Vec3[] p = rest.WorldPositions(0);
            Vec3 leftHand = p[clip.BoneIndex("LeftHand")], rightHand = p[clip.BoneIndex("RightHand")];
            Assert.That(leftHand.X, Is.EqualTo(0.70f).Within(1e-5f)); // 0.03 + 0.14 + 0.28 + 0.25: arm along +X
            Assert.That(rightHand.X, Is.EqualTo(-0.70f).Within(1e-5f));
            Assert.That(leftHand.Y, Is.EqualTo(p[clip.BoneIndex("LeftShoulder")].Y).Within(1e-6f));
            Assert.That(p[clip.BoneIndex("LeftToes")].Z, Is.GreaterThan(0.1f)); // feet forward
        }

        [Test]
        public void BadClipsGetMessagesNamingTheProblem()
        {
            string good = File.ReadAllText(FixturePath());
            var e = Assert.Throws<FormatException>(() => HumanoidClipData.FromJson(good.Replace("animgen.HumanoidClip/1", "other/2")));
            StringAssert.Contains("not a HumanoidClip JSON", e.Message);
            e = Assert.Throws<FormatException>(() => HumanoidClipData.FromJson(good.Replace("\"LeftFoot\"", "\"LeftWing\"")));
            StringAssert.Contains("LeftWing", e.Message);
            e = Assert.Throws<FormatException>(() => HumanoidClipData.FromJson(good.Substring(0, good.Length / 2)));
            StringAssert.Contains("invalid JSON", e.Message);
            var clip = HumanoidClipData.FromJson(good);
            clip.Rotations = new float[clip.Rotations.Length - 4];
            e = Assert.Throws<FormatException>(() => clip.Validate());
            StringAssert.Contains("rotations", e.Message);
            clip = HumanoidClipData.FromJson(good);
            clip.BoneNames[0] = "Spine"; clip.BoneNames[1] = "Hips"; // a root that is not the Hips, whose positions it carries
            e = Assert.Throws<FormatException>(() => clip.Validate());
            StringAssert.Contains("root must be the Hips", e.Message);
        }

        [Test]
        public void JsonReadsWhatPythonWrites()
        {
            var d = (Dictionary<string, object>)Json.Parse("{\"a\": [1, -2.5e-3, 0.1], \"b\": {\"c\": null, \"d\": true}, \"e\": \"\\u00e9\\n\"}");
            var a = (List<object>)d["a"];
            Assert.AreEqual(1.0, a[0]);
            Assert.AreEqual(-0.0025, a[1]);
            Assert.AreEqual(0.1, a[2]);
            Assert.IsNull(((Dictionary<string, object>)d["b"])["c"]);
            Assert.AreEqual("\u00e9\n", d["e"]);
        }

        [Test]
        public void JsonWritesAWholeFloatWithAPointAsPythonDoes()
        {
            // 24.0, not 24: Python's json and the Unreal plugin write a float so, and a reader that tells floats from ints
            // then reads one type from every tool. Ints stay ints; an exponent or NaN is not given a point it cannot take.
            CultureInfo before = Thread.CurrentThread.CurrentCulture;
            try
            {
                Thread.CurrentThread.CurrentCulture = new CultureInfo("de-DE");
                var values = new object[] { 24.0, 24f, -3.0, 0.0, 1234567.0, 1.5, 0.1, 0.5f, 29.97f, 24, 24L, 1e20 };
                string text = Json.Write(values);
                Assert.AreEqual("[24.0,24.0,-3.0,0.0,1234567.0,1.5,0.1,0.5,29.9699993,24,24,1E+20]", text);
                Assert.AreEqual("NaN", Json.Write(double.NaN));
                Assert.AreEqual("{\n \"fps\": 24.0,\n \"frames\": 1500\n}",
                                Json.Write(new Dictionary<string, object> { { "fps", 24f }, { "frames", 1500 } }, true));
                // Read back, every number is the value written: round-trip precision as before.
                var back = (List<object>)Json.Parse(text);
                for (int i = 0; i < values.Length; i++)
                {
                    if (values[i] is float) Assert.AreEqual(values[i], (float)(double)back[i]);
                    else Assert.AreEqual(Convert.ToDouble(values[i]), back[i]);
                }
            }
            finally { Thread.CurrentThread.CurrentCulture = before; }
        }

        [Test]
        public void UploadChunksAndHash()
        {
            var chunks = VideoUpload.Chunks(2 * VideoUpload.ChunkBytes + 5);
            Assert.AreEqual(3, chunks.Count);
            Assert.AreEqual(2L * VideoUpload.ChunkBytes, chunks[2].Key);
            Assert.AreEqual(5, chunks[2].Value);
            Assert.AreEqual(0, VideoUpload.Chunks(0).Count);
            using (var s = new MemoryStream(Encoding.ASCII.GetBytes("abc")))
                Assert.AreEqual("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", VideoUpload.Sha256Hex(s));
            Assert.IsTrue(VideoUpload.LooksLikeVideo("Assets/clip.MP4"));
            Assert.IsFalse(VideoUpload.LooksLikeVideo("Assets/clip.fbx"));
            StringAssert.StartsWith("Video not found", VideoUpload.Check("/no/such/file.mp4", 0));
        }
    }
}
