// Humanoid AnimationClip curves are named by muscle, but not always as HumanTrait.MuscleName spells them:
// the finger muscles "Left Thumb 1 Stretched" / "Left Index Spread" are animated through the properties
// "LeftHand.Thumb.1 Stretched" / "LeftHand.Index.Spread". Every other muscle name is its property name.
using System;

namespace AnimGen.Core
{
    public static class MuscleNames
    {
        static readonly string[] fingers = { "Thumb", "Index", "Middle", "Ring", "Little" };

        /// <summary>The Animator curve property that drives the muscle called muscleName.</summary>
        public static string ToCurveProperty(string muscleName)
        {
            if (muscleName == null) throw new ArgumentNullException("muscleName");
            foreach (string side in new[] { "Left", "Right" })
            {
                string prefix = side + " ";
                if (!muscleName.StartsWith(prefix, StringComparison.Ordinal)) continue;
                string rest = muscleName.Substring(prefix.Length);
                foreach (string finger in fingers)
                {
                    if (!rest.StartsWith(finger + " ", StringComparison.Ordinal)) continue;
                    string what = rest.Substring(finger.Length + 1); // "1 Stretched" or "Spread"
                    if (what == "Spread") return side + "Hand." + finger + ".Spread";
                    return side + "Hand." + finger + "." + what;
                }
            }
            return muscleName;
        }

        /// <summary>The inverse of ToCurveProperty.</summary>
        public static string FromCurveProperty(string property)
        {
            if (property == null) throw new ArgumentNullException("property");
            foreach (string side in new[] { "Left", "Right" })
            {
                string prefix = side + "Hand.";
                if (!property.StartsWith(prefix, StringComparison.Ordinal)) continue;
                string[] parts = property.Substring(prefix.Length).Split(new[] { '.' }, 2);
                if (parts.Length != 2 || Array.IndexOf(fingers, parts[0]) < 0) return property;
                return side + " " + parts[0] + " " + parts[1];
            }
            return property;
        }
    }
}
