// HumanoidClip -> Unity Humanoid AnimationClip.
// 1. Build the clip's T-pose reference skeleton as GameObjects (Unity space: X mirrored, rest rotations identity).
// 2. Build a human Avatar for it (AvatarBuilder.BuildHumanAvatar, the HumanBodyBones names as human bones).
// 3. Pose the skeleton frame by frame and read the muscle-space pose with HumanPoseHandler.GetHumanPose.
// 4. Write RootT / RootQ and the muscle curves, which retarget to any Humanoid avatar, into an AnimationClip, with
//    the feet's contacts as two stepped float curves (FootContactCurves) and, where asked, an Animation Event where
//    each foot lands.
using System;
using System.Collections.Generic;
using System.Linq;
using AnimGen.Core;
using UnityEditor;
using UnityEngine;

namespace AnimGen.Editor
{
    internal sealed class ClipBuildOptions
    {
        public bool Loop;
        public bool InPlace;
        /// <summary>Skip muscles of bones the clip does not animate (fingers of a body-only clip).</summary>
        public bool SkipMissingBones = true;
        /// <summary>The function an Animation Event calls where each foot lands, with "Left" or "Right"; null: none.</summary>
        public string FootstepFunction;

        public static ClipBuildOptions From(GenerateSettings settings)
        {
            return new ClipBuildOptions
            {
                Loop = settings.Loop, InPlace = settings.InPlace,
                FootstepFunction = settings.Footsteps ? settings.FootstepFunction : null,
            };
        }
    }

    internal static class HumanoidClipBuilder
    {
        public static Vector3 ToUnity(Vec3 v) { return new Vector3(v.X, v.Y, v.Z); }

        public static Quaternion ToUnity(Quat q) { return new Quaternion(q.X, q.Y, q.Z, q.W); }

        /// <summary>The clip's rest skeleton: a root GameObject with the bone hierarchy below it; transforms[i] is bone i.</summary>
        public static GameObject BuildSkeleton(HumanoidClipData clip, out Transform[] transforms)
        {
            clip.Validate();
            var root = new GameObject(clip.Name + " (AnimGen skeleton)") { hideFlags = HideFlags.HideAndDontSave };
            transforms = new Transform[clip.BoneCount];
            for (int b = 0; b < clip.BoneCount; b++)
            {
                var t = new GameObject(clip.BoneNames[b]) { hideFlags = HideFlags.HideAndDontSave }.transform;
                t.SetParent(clip.Parents[b] < 0 ? root.transform : transforms[clip.Parents[b]], false);
                t.localPosition = ToUnity(clip.UnityRestOffset(b));
                t.localRotation = Quaternion.identity;
                transforms[b] = t;
            }
            return root;
        }

        /// <summary>A human Avatar for BuildSkeleton's hierarchy; throws with Unity's reason when it is not valid.</summary>
        public static Avatar BuildAvatar(GameObject root, HumanoidClipData clip)
        {
            var human = new List<HumanBone>();
            foreach (string bone in clip.BoneNames)
            {
                human.Add(new HumanBone
                {
                    boneName = bone,
                    // HumanTrait.BoneName is in HumanBodyBones order and spells finger bones with spaces.
                    humanName = HumanTrait.BoneName[HumanBones.EnumIndex(bone)],
                    limit = new HumanLimit { useDefaultValues = true },
                });
            }
            var skeleton = new List<SkeletonBone>();
            foreach (Transform t in root.GetComponentsInChildren<Transform>(true))
            {
                skeleton.Add(new SkeletonBone
                {
                    name = t.name,
                    position = t.localPosition,
                    rotation = t.localRotation,
                    scale = t.localScale,
                });
            }
            var description = new HumanDescription
            {
                human = human.ToArray(),
                skeleton = skeleton.ToArray(),
                upperArmTwist = 0.5f,
                lowerArmTwist = 0.5f,
                upperLegTwist = 0.5f,
                lowerLegTwist = 0.5f,
                armStretch = 0.05f,
                legStretch = 0.05f,
                feetSpacing = 0f,
                hasTranslationDoF = false,
            };
            Avatar avatar = AvatarBuilder.BuildHumanAvatar(root, description);
            avatar.name = clip.Name + " (AnimGen avatar)";
            avatar.hideFlags = HideFlags.HideAndDontSave;
            if (!avatar.isValid || !avatar.isHuman)
            {
                UnityEngine.Object.DestroyImmediate(avatar);
                throw new InvalidOperationException("Unity could not build a human Avatar from the clip's skeleton (see the Console).");
            }
            return avatar;
        }

        /// <summary>The curve property of each muscle, or null for muscles to leave out.</summary>
        public static string[] MuscleProperties(HumanoidClipData clip, ClipBuildOptions options)
        {
            var present = new HashSet<int>();
            foreach (string b in clip.BoneNames) present.Add(HumanBones.EnumIndex(b));
            var props = new string[HumanTrait.MuscleCount];
            for (int m = 0; m < props.Length; m++)
            {
                int bone = HumanTrait.BoneFromMuscle(m);
                if (options.SkipMissingBones && bone >= 0 && !present.Contains(bone)) continue;
                props[m] = MuscleNames.ToCurveProperty(HumanTrait.MuscleName[m]);
            }
            return props;
        }

        /// <summary>A Humanoid AnimationClip (muscle curves) from the HumanoidClip.</summary>
        public static AnimationClip Build(HumanoidClipData clip, ClipBuildOptions options)
        {
            Transform[] bones;
            GameObject root = BuildSkeleton(clip, out bones);
            Avatar avatar = null;
            HumanPoseHandler handler = null;
            try
            {
                avatar = BuildAvatar(root, clip);
                handler = new HumanPoseHandler(avatar, root.transform);
                string[] props = MuscleProperties(clip, options);
                var muscleCurves = new AnimationCurve[props.Length];
                for (int m = 0; m < props.Length; m++) if (props[m] != null) muscleCurves[m] = new AnimationCurve();
                var rootT = new[] { new AnimationCurve(), new AnimationCurve(), new AnimationCurve() };
                var rootQ = new[] { new AnimationCurve(), new AnimationCurve(), new AnimationCurve(), new AnimationCurve() };
                var pose = new HumanPose();
                Quaternion previous = Quaternion.identity;
                for (int f = 0; f < clip.FrameCount; f++)
                {
                    float time = f / clip.FrameRate;
                    bones[0].localPosition = ToUnity(clip.UnityHipsPosition(f));
                    for (int b = 0; b < clip.BoneCount; b++) bones[b].localRotation = ToUnity(clip.UnityRotation(f, b)).normalized;
                    handler.GetHumanPose(ref pose);
                    // Keep RootQ on one hemisphere so that curve interpolation never takes the long way round.
                    Quaternion q = pose.bodyRotation;
                    if (f > 0 && Quaternion.Dot(previous, q) < 0f) q = new Quaternion(-q.x, -q.y, -q.z, -q.w);
                    previous = q;
                    rootT[0].AddKey(time, pose.bodyPosition.x);
                    rootT[1].AddKey(time, pose.bodyPosition.y);
                    rootT[2].AddKey(time, pose.bodyPosition.z);
                    rootQ[0].AddKey(time, q.x);
                    rootQ[1].AddKey(time, q.y);
                    rootQ[2].AddKey(time, q.z);
                    rootQ[3].AddKey(time, q.w);
                    for (int m = 0; m < props.Length; m++)
                        if (muscleCurves[m] != null) muscleCurves[m].AddKey(time, pose.muscles[m]);
                }

                var anim = new AnimationClip { name = clip.Name, frameRate = clip.FrameRate };
                var bindings = new List<EditorCurveBinding>();
                var curves = new List<AnimationCurve>();
                string[] axes = { "x", "y", "z", "w" };
                for (int i = 0; i < 3; i++) { bindings.Add(AnimatorBinding("RootT." + axes[i])); curves.Add(rootT[i]); }
                for (int i = 0; i < 4; i++) { bindings.Add(AnimatorBinding("RootQ." + axes[i])); curves.Add(rootQ[i]); }
                for (int m = 0; m < props.Length; m++)
                    if (muscleCurves[m] != null) { bindings.Add(AnimatorBinding(props[m])); curves.Add(muscleCurves[m]); }
                foreach (AnimationCurve c in curves) SmoothTangents(c);
                // The feet's contacts, stepped: an Animator float parameter of the same name follows each.
                var contacts = new[] { FootContactCurves.Left, FootContactCurves.Right };
                var perFoot = new[] { clip.LeftFootContact, clip.RightFootContact };
                for (int side = 0; side < 2; side++)
                {
                    List<CurveKey> keys = FootContactCurves.Keys(perFoot[side], clip.FrameRate);
                    if (keys.Count == 0) continue;
                    bindings.Add(AnimatorBinding(contacts[side]));
                    curves.Add(StepCurve(keys));
                }
                // All at once: set one by one, Unity post-processes the clip after each of the ~100 curves.
                AnimationUtility.SetEditorCurves(anim, bindings.ToArray(), curves.ToArray());
                if (!string.IsNullOrEmpty(options.FootstepFunction))
                    AnimationUtility.SetAnimationEvents(anim, FootstepEvents(clip, options.FootstepFunction));
                ApplySettings(anim, options);
                anim.EnsureQuaternionContinuity();
                return anim;
            }
            finally
            {
                if (handler != null) handler.Dispose();
                if (avatar != null) UnityEngine.Object.DestroyImmediate(avatar);
                UnityEngine.Object.DestroyImmediate(root);
            }
        }

        /// <summary>One event per landing foot, in time order, its stringParameter "Left" or "Right".</summary>
        public static AnimationEvent[] FootstepEvents(HumanoidClipData clip, string function)
        {
            var events = new List<AnimationEvent>();
            var perFoot = new[] { clip.LeftFootContact, clip.RightFootContact };
            string[] sides = { "Left", "Right" };
            for (int side = 0; side < 2; side++)
                foreach (float time in FootContactCurves.Footsteps(perFoot[side], clip.FrameRate))
                    events.Add(new AnimationEvent { time = time, functionName = function, stringParameter = sides[side] });
            return events.OrderBy(e => e.time).ToArray();
        }

        static EditorCurveBinding AnimatorBinding(string property)
        {
            return EditorCurveBinding.FloatCurve("", typeof(Animator), property);
        }

        static AnimationCurve StepCurve(List<CurveKey> keys)
        {
            var curve = new AnimationCurve();
            foreach (CurveKey k in keys) curve.AddKey(k.Time, k.Value);
            for (int k = 0; k < curve.length; k++)
            {
                AnimationUtility.SetKeyLeftTangentMode(curve, k, AnimationUtility.TangentMode.Constant);
                AnimationUtility.SetKeyRightTangentMode(curve, k, AnimationUtility.TangentMode.Constant);
            }
            return curve;
        }

        static void SmoothTangents(AnimationCurve curve)
        {
            for (int k = 0; k < curve.length; k++)
            {
                AnimationUtility.SetKeyLeftTangentMode(curve, k, AnimationUtility.TangentMode.ClampedAuto);
                AnimationUtility.SetKeyRightTangentMode(curve, k, AnimationUtility.TangentMode.ClampedAuto);
            }
        }

        /// <summary>Loop and root-motion settings: the body's height and facing stay as generated; an in-place
        /// clip also bakes its horizontal motion into the pose so that the character stays on the spot.</summary>
        public static void ApplySettings(AnimationClip anim, ClipBuildOptions options)
        {
            AnimationClipSettings s = AnimationUtility.GetAnimationClipSettings(anim);
            s.loopTime = options.Loop;
            s.loopBlend = options.Loop;
            s.keepOriginalOrientation = true;
            s.keepOriginalPositionY = true;
            s.keepOriginalPositionXZ = true;
            s.loopBlendOrientation = options.InPlace;
            s.loopBlendPositionY = true;
            s.loopBlendPositionXZ = options.InPlace;
            s.heightFromFeet = false;
            s.mirror = false;
            AnimationUtility.SetAnimationClipSettings(anim, s);
        }

        /// <summary>Saves (or replaces, keeping its GUID, its references and the Animation Events added to it by hand)
        /// the clip at an Assets/... path. A replacing clip is copied into the existing asset and destroyed. The earlier
        /// take's footstep events go with it (FootContactCurves.IsFootstep), whether the new clip has footsteps or not.</summary>
        public static AnimationClip Save(AnimationClip anim, string assetPath)
        {
            if (!assetPath.StartsWith("Assets/", StringComparison.Ordinal) || !assetPath.EndsWith(".anim", StringComparison.Ordinal))
                throw new ArgumentException("The output must be an Assets/....anim path, got '" + assetPath + "'.");
            string folder = System.IO.Path.GetDirectoryName(assetPath).Replace('\\', '/');
            EnsureFolder(folder);
            var existing = AssetDatabase.LoadAssetAtPath<AnimationClip>(assetPath);
            if (existing != null)
            {
                List<float> left = Landings(existing, FootContactCurves.Left), right = Landings(existing, FootContactCurves.Right);
                AnimationEvent[] kept = AnimationUtility.GetAnimationEvents(existing) // added by hand
                    .Where(e => !FootContactCurves.IsFootstep(e.time, e.stringParameter, left, right, existing.frameRate)).ToArray();
                AnimationEvent[] generated = AnimationUtility.GetAnimationEvents(anim);
                EditorUtility.CopySerialized(anim, existing);
                AnimationUtility.SetAnimationEvents(existing, kept.Concat(generated).OrderBy(e => e.time).ToArray());
                UnityEngine.Object.DestroyImmediate(anim);
                EditorUtility.SetDirty(existing);
                AssetDatabase.SaveAssetIfDirty(existing); // this clip only, not every dirty asset of the project
                return existing;
            }
            AssetDatabase.CreateAsset(anim, assetPath);
            AssetDatabase.SaveAssetIfDirty(anim);
            return anim;
        }

        /// <summary>Why the clip at an Assets/... path cannot be replaced, else null (also when there is none): checked out
        /// first where version control is on, as Unity's own editors do. Asked before a job runs, not after it.</summary>
        public static string ReplaceProblem(string assetPath)
        {
            if (AssetDatabase.LoadMainAssetAtPath(assetPath) == null) return null;
            if (!AssetDatabase.MakeEditable(assetPath))
                return assetPath + " could not be checked out (version control): check it out, then generate again.";
            string file = System.IO.Path.GetFullPath(assetPath);
            if (System.IO.File.Exists(file) && (System.IO.File.GetAttributes(file) & System.IO.FileAttributes.ReadOnly) != 0)
                return assetPath + " is read-only: make it writable, then generate again.";
            return null;
        }

        // Where a clip's own contact curve says that foot lands: its footstep events' times.
        static List<float> Landings(AnimationClip clip, string curve)
        {
            AnimationCurve c = AnimationUtility.GetEditorCurve(clip, AnimatorBinding(curve));
            var keys = new List<CurveKey>();
            if (c != null) foreach (Keyframe k in c.keys) keys.Add(new CurveKey(k.time, k.value));
            return FootContactCurves.Landings(keys);
        }

        public static void EnsureFolder(string folder)
        {
            if (AssetDatabase.IsValidFolder(folder)) return;
            string parent = System.IO.Path.GetDirectoryName(folder).Replace('\\', '/');
            EnsureFolder(parent);
            AssetDatabase.CreateFolder(parent, System.IO.Path.GetFileName(folder));
        }
    }
}
