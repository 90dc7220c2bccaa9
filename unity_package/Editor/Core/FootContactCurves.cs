// The clip's foot contacts as float curves on the AnimationClip ("LeftFootContact", "RightFootContact"): 1 while
// that foot is planted, 0 while it is not, stepped. An Animator float parameter of the same name takes the curve's
// value as the clip plays (foot IK weights, footstep sounds). Footsteps gives the moments a foot lands, for the
// clip's optional footstep Animation Events.
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

        /// <summary>The times (seconds) at which the foot lands: every frame after the first where its contact
        /// begins. The first frame is never one: a clip that starts planted, or a loop's seam, did not land there.</summary>
        public static List<float> Footsteps(bool[] contact, float frameRate)
        {
            var times = new List<float>();
            for (int f = 1; f < contact.Length; f++)
                if (contact[f] && !contact[f - 1]) times.Add((float)((double)f / frameRate));
            return times;
        }
    }
}
