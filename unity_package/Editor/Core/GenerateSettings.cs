// The window's options as plain data (one field per animgen.v1.GenerateOptions field the window shows, and the
// footstep events the clip builder adds), checked before anything is sent so that a bad value gets a message naming
// the option.
using System;
using System.Collections.Generic;
using System.Text.RegularExpressions;

namespace AnimGen.Core
{
    [Serializable]
    public sealed class GenerateSettings
    {
        public bool Hands;
        public float Smoothing = 0.5f;
        public bool Trim;
        public float StartSeconds;
        public float EndSeconds;
        public bool InPlace;
        public bool Loop;
        /// <summary>The analytic solver instead of the neural network, the server's default generator.</summary>
        public bool Analytic;
        /// <summary>Turn the clip so that the character faces forward (+Z) on its first frame.</summary>
        public bool FaceForward;
        /// <summary>Keep planted feet still (off for motion where the feet should move freely).</summary>
        public bool FootLock = true;
        /// <summary>Look for the person in CropX, CropY, CropWidth x CropHeight pixels of the picture as played, then
        /// follow them (the rectangle moves, and grows, with them when they near its edge): a video with other people
        /// in it.</summary>
        public bool Crop;
        public int CropX;
        public int CropY;
        public int CropWidth = 640;
        public int CropHeight = 720;
        public bool UseVideoFps = true;
        public float Fps = 30f;
        /// <summary>Add an Animation Event where each foot lands, calling FootstepFunction with "Left" or "Right".
        /// Off by default: Unity logs an error for each event that no script on the character receives.</summary>
        public bool Footsteps;
        /// <summary>The name Unity's Starter Assets third-person controller receives its footsteps by.</summary>
        public string FootstepFunction = DefaultFootstepFunction;

        public const string DefaultFootstepFunction = "OnFootstep";
        static readonly Regex methodName = new Regex(@"\A[A-Za-z_][A-Za-z0-9_]*\z"); // \z: "$" would let a trailing newline through

        /// <summary>Every problem, one line each, naming the option; empty when the settings are valid.</summary>
        public List<string> Problems()
        {
            var p = new List<string>();
            if (float.IsNaN(Smoothing) || Smoothing < 0f || Smoothing > 1f)
                p.Add("Smoothing must be between 0 and 1, got " + Smoothing + ".");
            if (Trim)
            {
                if (StartSeconds < 0f) p.Add("Trim start must be 0 s or later, got " + StartSeconds + " s.");
                if (!(EndSeconds > StartSeconds)) p.Add("Trim end (" + EndSeconds + " s) must be after its start (" + StartSeconds + " s).");
            }
            if (Crop && (CropX < 0 || CropY < 0)) // the server's check (pose.crop_problem); the picture's edge is its own
                p.Add("Crop's corner (X, Y) must be inside the picture, at 0 or more, got " + CropX + ", " + CropY + ".");
            if (Crop && (CropWidth < 32 || CropHeight < 32))
                p.Add("Crop's width and height must be at least 32 pixels, got " + CropWidth + " x " + CropHeight + ".");
            if (!UseVideoFps && !(Fps >= 1f && Fps <= 240f)) // the server's range
                p.Add("Frame rate must be between 1 and 240 fps, got " + Fps + ".");
            if (Footsteps && !methodName.IsMatch(FootstepFunction ?? ""))
                p.Add("Footstep function must be a method name (letters, digits and _, not starting with a digit), got '"
                    + FootstepFunction + "'.");
            return p;
        }

        public string Serialize()
        {
            return Json.Write(new Dictionary<string, object>
            {
                { "hands", Hands }, { "smoothing", Smoothing }, { "trim", Trim }, { "start", StartSeconds },
                { "end", EndSeconds }, { "inPlace", InPlace }, { "loop", Loop }, { "analytic", Analytic },
                { "faceForward", FaceForward }, { "footLock", FootLock }, { "videoFps", UseVideoFps }, { "fps", Fps },
                { "footsteps", Footsteps }, { "footstepFunction", FootstepFunction ?? "" }, { "crop", Crop },
                { "cropX", CropX }, { "cropY", CropY }, { "cropWidth", CropWidth }, { "cropHeight", CropHeight },
            });
        }

        public static GenerateSettings Deserialize(string text)
        {
            var s = new GenerateSettings();
            if (string.IsNullOrEmpty(text)) return s;
            Dictionary<string, object> d;
            try { d = Json.Parse(text) as Dictionary<string, object>; }
            catch (FormatException) { return s; }
            if (d == null) return s;
            s.Hands = Bool(d, "hands", s.Hands);
            s.Smoothing = Float(d, "smoothing", s.Smoothing);
            s.Trim = Bool(d, "trim", s.Trim);
            s.StartSeconds = Float(d, "start", s.StartSeconds);
            s.EndSeconds = Float(d, "end", s.EndSeconds);
            s.InPlace = Bool(d, "inPlace", s.InPlace);
            s.Loop = Bool(d, "loop", s.Loop);
            s.Analytic = Bool(d, "analytic", s.Analytic);
            s.FaceForward = Bool(d, "faceForward", s.FaceForward);
            s.FootLock = Bool(d, "footLock", s.FootLock);
            s.UseVideoFps = Bool(d, "videoFps", s.UseVideoFps);
            s.Fps = Float(d, "fps", s.Fps);
            s.Footsteps = Bool(d, "footsteps", s.Footsteps);
            s.Crop = Bool(d, "crop", s.Crop);
            s.CropX = (int)Float(d, "cropX", s.CropX);
            s.CropY = (int)Float(d, "cropY", s.CropY);
            s.CropWidth = (int)Float(d, "cropWidth", s.CropWidth);
            s.CropHeight = (int)Float(d, "cropHeight", s.CropHeight);
            object function;
            if (d.TryGetValue("footstepFunction", out function) && function is string) s.FootstepFunction = (string)function;
            return s;
        }

        static bool Bool(Dictionary<string, object> d, string k, bool fallback)
        {
            object v;
            return d.TryGetValue(k, out v) && v is bool ? (bool)v : fallback;
        }

        static float Float(Dictionary<string, object> d, string k, float fallback)
        {
            object v;
            return d.TryGetValue(k, out v) && v is double ? (float)(double)v : fallback;
        }
    }
}
