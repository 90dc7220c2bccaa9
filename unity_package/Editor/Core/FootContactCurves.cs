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

        /// <summary>The landing times a foot's step-curve keys hold (as Keys writes them): each key after the first
        /// whose value is 1, the times Footsteps gives from the contacts.</summary>
        public static List<float> Landings(IList<CurveKey> keys)
        {
            var times = new List<float>();
            for (int k = 1; k < keys.Count; k++)
                if (keys[k].Value == 1f) times.Add(keys[k].Time);
            return times;
        }

        /// <summary>Whether an Animation Event of a clip being replaced is one of that take's footsteps: "Left" or
        /// "Right" as its string, within half a frame of a landing of that foot (the clip's own contact curves, through
        /// Landings), whatever function it calls, so that footsteps turned off or given another function leave none of
        /// the earlier take's behind. Other events were added by hand.</summary>
        public static bool IsFootstep(float time, string side, IList<float> leftLandings, IList<float> rightLandings,
                                      float frameRate)
        {
            IList<float> landings = side == "Left" ? leftLandings : side == "Right" ? rightLandings : null;
            if (landings == null) return false;
            foreach (float t in landings)
                if (System.Math.Abs(t - time) < 0.5f / frameRate) return true;
            return false;
        }
    }
}
