// The HumanBodyBones name table: the HumanoidClip names its bones with Unity's HumanBodyBones names.
using System;
using System.Collections.Generic;

namespace AnimGen.Core
{
    public static class HumanBones
    {
        /// <summary>Every HumanBodyBones name in the enum's order: index i is (HumanBodyBones)i.</summary>
        public static readonly string[] EnumNames =
        {
            "Hips", "LeftUpperLeg", "RightUpperLeg", "LeftLowerLeg", "RightLowerLeg", "LeftFoot", "RightFoot",
            "Spine", "Chest", "Neck", "Head", "LeftShoulder", "RightShoulder", "LeftUpperArm", "RightUpperArm",
            "LeftLowerArm", "RightLowerArm", "LeftHand", "RightHand", "LeftToes", "RightToes", "LeftEye",
            "RightEye", "Jaw",
            "LeftThumbProximal", "LeftThumbIntermediate", "LeftThumbDistal",
            "LeftIndexProximal", "LeftIndexIntermediate", "LeftIndexDistal",
            "LeftMiddleProximal", "LeftMiddleIntermediate", "LeftMiddleDistal",
            "LeftRingProximal", "LeftRingIntermediate", "LeftRingDistal",
            "LeftLittleProximal", "LeftLittleIntermediate", "LeftLittleDistal",
            "RightThumbProximal", "RightThumbIntermediate", "RightThumbDistal",
            "RightIndexProximal", "RightIndexIntermediate", "RightIndexDistal",
            "RightMiddleProximal", "RightMiddleIntermediate", "RightMiddleDistal",
            "RightRingProximal", "RightRingIntermediate", "RightRingDistal",
            "RightLittleProximal", "RightLittleIntermediate", "RightLittleDistal",
            "UpperChest",
        };

        static readonly Dictionary<string, int> indexByName = BuildIndex();

        static Dictionary<string, int> BuildIndex()
        {
            var d = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < EnumNames.Length; i++) d[EnumNames[i]] = i;
            return d;
        }

        /// <summary>The HumanBodyBones value of a bone name, or -1 when it is not one.</summary>
        public static int EnumIndex(string name)
        {
            int i;
            return name != null && indexByName.TryGetValue(name, out i) ? i : -1;
        }

        public static bool IsHumanBone(string name) { return EnumIndex(name) >= 0; }

        public static bool IsFinger(string name)
        {
            int i = EnumIndex(name);
            return i >= 24 && i <= 53;
        }
    }
}
