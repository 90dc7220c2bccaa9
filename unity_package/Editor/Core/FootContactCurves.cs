// The clip's foot contacts as float curves on the AnimationClip ("LeftFootContact", "RightFootContact"): 1 while
// that foot is planted, 0 while it is not, stepped. An Animator float parameter of the same name takes the curve's
// value as the clip plays (foot IK weights, footstep sounds).
using System.Collections.Generic;

namespace AnimGen.Core
{
    public struct CurveKey
    {
        public float Time;  // seconds
        public float Value;

        public CurveKey(float time, float value) { Time = time; Value = value; }
    }

    public static class FootContactCurves
    {
        public const string Left = "LeftFootContact";
        public const string Right = "RightFootContact";

        /// <summary>A foot's contacts (one per frame) as the keys of a step curve (each value held to the next key):
        /// one at the first frame and one wherever the contact changes.</summary>
        public static List<CurveKey> Keys(bool[] contact, float frameRate)
        {
            var keys = new List<CurveKey>();
            for (int f = 0; f < contact.Length; f++)
                if (f == 0 || contact[f] != contact[f - 1]) keys.Add(new CurveKey((float)((double)f / frameRate), contact[f] ? 1f : 0f));
            return keys;
        }
    }
}
