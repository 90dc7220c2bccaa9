// EditMode tests (Unity Test Framework) for clip building on the fixture walk clip, which the Python side
// wrote together with its own forward-kinematics joint positions (metadata "test.world_positions_frame*").
// Run them in Unity: Window > General > Test Runner > EditMode (add "testables": ["com.animgen.generator"]
// to Packages/manifest.json so that a package's tests show up).
using System;
using System.Collections.Generic;
using System.IO;
using AnimGen.Core;
using NUnit.Framework;
using UnityEditor;
using UnityEngine;

namespace AnimGen.Editor.Tests
{
    public class ClipBuildingTests
    {
        const string Fixture = "Packages/com.animgen.generator/Tests/Editor/Fixtures/walk.json";
        const string TempFolder = "Assets/AnimGenTestOutput";

        static HumanoidClipData Walk()
        {
            return HumanoidClipData.FromJson(File.ReadAllText(Path.GetFullPath(Fixture)));
        }

        static float[] Recorded(HumanoidClipData clip, int frame)
        {
            var list = (List<object>)Json.Parse(clip.Metadata["test.world_positions_frame" + frame]);
            var f = new float[list.Count];
            for (int i = 0; i < f.Length; i++) f[i] = (float)(double)list[i];
            return f;
        }

        [TearDown]
        public void CleanUp()
        {
            if (AssetDatabase.IsValidFolder(TempFolder)) AssetDatabase.DeleteAsset(TempFolder);
        }

        [Test]
        public void SkeletonIsTheClipsTPoseInUnitySpace()
        {
            var clip = Walk();
            Transform[] bones;
            GameObject root = HumanoidClipBuilder.BuildSkeleton(clip, out bones);
            try
            {
                Assert.AreEqual(clip.BoneCount, bones.Length);
                Vector3 leftHand = bones[clip.BoneIndex("LeftHand")].position;
                Assert.AreEqual(-0.70f, leftHand.x, 1e-5f, "Unity's left is -X");
                Assert.Greater(bones[clip.BoneIndex("LeftToes")].position.z, 0.1f, "feet point forward, +Z");
                Assert.AreEqual(bones[clip.BoneIndex("LeftLowerArm")], bones[clip.BoneIndex("LeftHand")].parent);
            }
            finally { UnityEngine.Object.DestroyImmediate(root); }
        }

        [Test]
        public void AvatarIsAValidHuman()
        {
            var clip = Walk();
            Transform[] bones;
            GameObject root = HumanoidClipBuilder.BuildSkeleton(clip, out bones);
            Avatar avatar = null;
            try
            {
                avatar = HumanoidClipBuilder.BuildAvatar(root, clip);
                Assert.IsTrue(avatar.isValid);
                Assert.IsTrue(avatar.isHuman);
            }
            finally
            {
                if (avatar != null) UnityEngine.Object.DestroyImmediate(avatar);
                UnityEngine.Object.DestroyImmediate(root);
            }
        }

        [Test]
        public void PosedSkeletonMatchesPythonForwardKinematics()
        {
            // The Unity transforms posed from the clip put every joint where Python's FK put it, X mirrored.
            var clip = Walk();
            Transform[] bones;
            GameObject root = HumanoidClipBuilder.BuildSkeleton(clip, out bones);
            try
            {
                foreach (int frame in new[] { 0, 15 })
                {
                    bones[0].localPosition = HumanoidClipBuilder.ToUnity(clip.UnityHipsPosition(frame));
                    for (int b = 0; b < clip.BoneCount; b++) bones[b].localRotation = HumanoidClipBuilder.ToUnity(clip.UnityRotation(frame, b));
                    float[] expected = Recorded(clip, frame);
                    for (int b = 0; b < clip.BoneCount; b++)
                    {
                        Vector3 p = bones[b].position;
                        Assert.AreEqual(-expected[b * 3], p.x, 1e-4f, clip.BoneNames[b] + " x");
                        Assert.AreEqual(expected[b * 3 + 1], p.y, 1e-4f, clip.BoneNames[b] + " y");
                        Assert.AreEqual(expected[b * 3 + 2], p.z, 1e-4f, clip.BoneNames[b] + " z");
                    }
                }
            }
            finally { UnityEngine.Object.DestroyImmediate(root); }
        }

        [Test]
        public void ClipHasRootAndMuscleCurvesWithUnityNames()
        {
            var clip = Walk();
            AnimationClip anim = HumanoidClipBuilder.Build(clip, new ClipBuildOptions { Loop = true });
            try
            {
                Assert.IsTrue(anim.humanMotion, "a Humanoid clip");
                Assert.AreEqual(30f, anim.frameRate);
                Assert.AreEqual((clip.FrameCount - 1) / clip.FrameRate, anim.length, 1e-4f);
                var names = new HashSet<string>();
                foreach (EditorCurveBinding b in AnimationUtility.GetCurveBindings(anim)) names.Add(b.propertyName);
                foreach (string n in new[] { "RootT.x", "RootT.y", "RootT.z", "RootQ.x", "RootQ.y", "RootQ.z", "RootQ.w",
                    "Left Upper Leg Front-Back", "Right Lower Leg Stretch", "Left Arm Down-Up", "Spine Twist Left-Right" })
                    Assert.IsTrue(names.Contains(n), "missing curve " + n);
                Assert.IsFalse(names.Contains("LeftHand.Thumb.1 Stretched"), "a body-only clip writes no finger curves");
                foreach (string n in names) Assert.IsFalse(n.StartsWith("Left Thumb"), "finger curves use Unity's LeftHand.* names: " + n);
                Assert.IsTrue(AnimationUtility.GetAnimationClipSettings(anim).loopTime);

                // The legs swing: the left upper leg's Front-Back muscle moves by a good part of its range.
                AnimationCurve leg = AnimationUtility.GetEditorCurve(anim, EditorCurveBinding.FloatCurve("", typeof(Animator), "Left Upper Leg Front-Back"));
                float lo = float.MaxValue, hi = float.MinValue;
                foreach (Keyframe k in leg.keys) { lo = Mathf.Min(lo, k.value); hi = Mathf.Max(hi, k.value); }
                Assert.Greater(hi - lo, 0.2f, "leg swing in muscle space");
                // The hips walk forward: RootT.z grows over the clip.
                AnimationCurve z = AnimationUtility.GetEditorCurve(anim, EditorCurveBinding.FloatCurve("", typeof(Animator), "RootT.z"));
                Assert.Greater(z.Evaluate(anim.length) - z.Evaluate(0f), 0.5f);
                // The feet's contact curves hold each frame's contact, 1 planted and 0 not.
                foreach (string side in new[] { "Left", "Right" })
                {
                    AnimationCurve c = AnimationUtility.GetEditorCurve(anim, EditorCurveBinding.FloatCurve("", typeof(Animator), side + "FootContact"));
                    Assert.IsNotNull(c, side + "FootContact curve");
                    bool[] contact = side == "Left" ? clip.LeftFootContact : clip.RightFootContact;
                    for (int f = 0; f < clip.FrameCount; f++)
                        Assert.AreEqual(contact[f] ? 1f : 0f, c.Evaluate(f / clip.FrameRate + 1e-4f), side + " frame " + f);
                }
            }
            finally { UnityEngine.Object.DestroyImmediate(anim); }
        }

        [Test]
        public void ClipSavesAsAnAssetAndReplacesInPlace()
        {
            var clip = Walk();
            string path = TempFolder + "/walk.anim";
            AnimationClip first = HumanoidClipBuilder.Save(HumanoidClipBuilder.Build(clip, new ClipBuildOptions()), path);
            string guid = AssetDatabase.AssetPathToGUID(path);
            Assert.IsFalse(string.IsNullOrEmpty(guid));
            AnimationUtility.SetAnimationEvents(first, new[] { new AnimationEvent { time = 0.1f, functionName = "Footstep" } });
            AnimationClip second = HumanoidClipBuilder.Save(HumanoidClipBuilder.Build(clip, new ClipBuildOptions { Loop = true }), path);
            Assert.AreEqual(guid, AssetDatabase.AssetPathToGUID(path), "replacing keeps the GUID and its references");
            Assert.AreSame(first, second);
            Assert.AreEqual("Footstep", AnimationUtility.GetAnimationEvents(second)[0].functionName, "events added by hand stay");
            Assert.IsTrue(AnimationUtility.GetAnimationClipSettings(AssetDatabase.LoadAssetAtPath<AnimationClip>(path)).loopTime);

            // Footstep events: one per landing, in time order; a re-run replaces the earlier take's, whatever function
            // they called, and with footsteps off leaves none of them; the hand-made event stays through every run.
            foreach (string function in new[] { "OnFootstep", "OnFootstep", "PlayStep", null })
            {
                var steps = new ClipBuildOptions { FootstepFunction = function };
                AnimationClip third = HumanoidClipBuilder.Save(HumanoidClipBuilder.Build(clip, steps), path);
                AnimationEvent[] events = AnimationUtility.GetAnimationEvents(third);
                var expected = new List<float>();
                if (function != null)
                    foreach (bool[] contact in new[] { clip.LeftFootContact, clip.RightFootContact })
                        expected.AddRange(FootContactCurves.Footsteps(contact, clip.FrameRate));
                expected.Add(0.1f); // the hand-made event
                expected.Sort();
                Assert.AreEqual(expected.Count, events.Length, "footsteps calling " + (function ?? "nothing"));
                for (int e = 0; e < events.Length; e++)
                {
                    Assert.AreEqual(expected[e], events[e].time, 1e-5f);
                    if (events[e].functionName == "Footstep") continue;
                    Assert.AreEqual(function, events[e].functionName);
                    Assert.That(events[e].stringParameter, Is.EqualTo("Left").Or.EqualTo("Right"));
                }
            }
            // A clip that could not be written over is named before a job runs, not after it.
            Assert.IsNull(HumanoidClipBuilder.ReplaceProblem(path), "a writable clip");
            Assert.IsNull(HumanoidClipBuilder.ReplaceProblem(TempFolder + "/none.anim"), "no clip to replace");
            string file = Path.GetFullPath(path);
            File.SetAttributes(file, File.GetAttributes(file) | FileAttributes.ReadOnly);
            try { StringAssert.Contains(path + " is read-only", HumanoidClipBuilder.ReplaceProblem(path)); }
            finally { File.SetAttributes(file, File.GetAttributes(file) & ~FileAttributes.ReadOnly); }
            var outside = new AnimationClip(); // refused, so not Save's to destroy
            try { Assert.Throws<ArgumentException>(() => HumanoidClipBuilder.Save(outside, "/tmp/outside.anim")); }
            finally { UnityEngine.Object.DestroyImmediate(outside); }
        }

        [Test]
        public void SampledClipReproducesThePoseOnTheReferenceSkeleton()
        {
            // Round trip through muscle space: sample the built clip back onto the clip's own avatar and compare
            // joint positions with Python's FK, relative to the hips (root motion is body-centre based).
            var clip = Walk();
            AnimationClip anim = HumanoidClipBuilder.Build(clip, new ClipBuildOptions());
            Transform[] bones;
            GameObject root = HumanoidClipBuilder.BuildSkeleton(clip, out bones);
            Avatar avatar = HumanoidClipBuilder.BuildAvatar(root, clip);
            try
            {
                var animator = root.AddComponent<Animator>();
                animator.avatar = avatar;
                anim.SampleAnimation(root, 15f / clip.FrameRate);
                float[] expected = Recorded(clip, 15);
                Vector3 hips = bones[0].position;
                var hipsExpected = new Vector3(-expected[0], expected[1], expected[2]);
                foreach (string bone in new[] { "LeftFoot", "RightFoot", "LeftHand", "RightHand", "Head" })
                {
                    int b = clip.BoneIndex(bone);
                    Vector3 got = bones[b].position - hips;
                    Vector3 want = new Vector3(-expected[b * 3], expected[b * 3 + 1], expected[b * 3 + 2]) - hipsExpected;
                    Assert.Less((got - want).magnitude, 0.05f, bone + ": got " + got + ", want " + want);
                }
            }
            finally
            {
                UnityEngine.Object.DestroyImmediate(anim);
                UnityEngine.Object.DestroyImmediate(root);
                UnityEngine.Object.DestroyImmediate(avatar);
            }
        }
    }
}
