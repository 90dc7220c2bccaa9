// What a CI batch did with each video (-animgenSummary FILE.json), in the shape of `animgen generate --summary`
// (server/animgen_server/run_summary.py), so that a studio's CI reads one file whatever tool made its clips: the
// server's and this package's versions, the options by the CLI's names, a count per status and a row per video.
// Plain data in, JSON text out; BatchGenerate fills it from the server's answers. tests/test_unity_package.py holds
// its keys to the CLI's.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace AnimGen.Core
{
    /// <summary>The CLI's statuses, written in lower case. A batch converts or fails a video, or is stopped before it
    /// (Cancelled); Skipped (outputs up to date) is the CLI's alone, counted so that every summary has all four.</summary>
    public enum BatchOutcome { Converted, Skipped, Failed, Cancelled }

    /// <summary>One video of a batch; failed until its clip is saved.</summary>
    public sealed class BatchVideoResult
    {
        public readonly string Video; // as the batch found it
        public BatchOutcome Outcome = BatchOutcome.Failed;
        public string Clip;           // the .anim asset it became
        public string Error;          // one line, as logged
        public readonly List<string> Warnings = new List<string>(); // the server's, in order, each once
        public int Frames;            // Job.frames: the video frames the pose stage read; 0 where not told (older servers)
        public float DetectedShare;   // Job.detected_share: the share of them with a person
        public double Seconds;        // upload to saved clip

        public BatchVideoResult(string video) { Video = video; }
    }

    public sealed class BatchSummary
    {
        /// <summary>This package as package.json names it (tests/test_unity_package.py checks that they agree).</summary>
        public const string Client = "unity 0.1.16";

        public string ServerVersion;  // ServerInfo.server_version; null: the server could not be asked
        public readonly GenerateSettings Settings;
        public readonly List<BatchVideoResult> Videos = new List<BatchVideoResult>();

        public BatchSummary(GenerateSettings settings) { Settings = settings; }

        /// <summary>Rows for the videos after those in Videos (the batch's first ones, in its order): what an exception
        /// that ended the batch kept it from, cancelled as the CLI has them when a run is stopped.</summary>
        public void CancelRest(IList<string> videos)
        {
            for (int i = Videos.Count; i < videos.Count; i++)
                Videos.Add(new BatchVideoResult(videos[i]) { Outcome = BatchOutcome.Cancelled });
        }

        public string ToJson()
        {
            var counts = new List<KeyValuePair<string, object>>();
            foreach (BatchOutcome o in Enum.GetValues(typeof(BatchOutcome)))
                counts.Add(Member(Name(o), Videos.Count(v => v.Outcome == o)));
            return Json.Write(Ordered(
                "animgen", ServerVersion, "client", Client, "options", Options(Settings), "counts", counts,
                "videos", Videos.Select(Row).ToList()), true) + "\n";
        }

        /// <summary>Writes the summary aside and renames it over path, so that a CI reader never sees half of it; the
        /// folder is made. Throws IOException (or UnauthorizedAccessException) when it cannot be written.</summary>
        public void WriteTo(string path)
        {
            WriteAside(path, ToJson());
        }

        static void WriteAside(string path, string text)
        {
            string full = Path.GetFullPath(path);
            Directory.CreateDirectory(Path.GetDirectoryName(full));
            // A name nothing else has: a neighbour (the user's own run.json.tmp) is neither written over nor removed.
            string aside = full + "." + Guid.NewGuid().ToString("N") + ".tmp";
            try
            {
                File.WriteAllText(aside, text, new UTF8Encoding(false));
                // File.Move cannot replace a file before .NET Core 3; File.Replace needs one to replace.
                if (File.Exists(full)) File.Replace(aside, full, null);
                else File.Move(aside, full);
            }
            catch (Exception)
            {
                try { File.Delete(aside); }
                catch (Exception) { } // the first error is the one to tell
                throw;
            }
        }

        /// <summary>"0.2.11" from the server's "animgen 0.2.11 (grpcio 1.62.3, python 3.11.9)", as the CLI's summary
        /// gives its version; another server's text as it is, and null for none.</summary>
        public static string VersionNumber(string serverVersion)
        {
            const string prefix = "animgen ";
            if (string.IsNullOrEmpty(serverVersion)) return null;
            if (!serverVersion.StartsWith(prefix, StringComparison.Ordinal)) return serverVersion;
            int end = serverVersion.IndexOf(' ', prefix.Length);
            return end < 0 ? serverVersion.Substring(prefix.Length) : serverVersion.Substring(prefix.Length, end - prefix.Length);
        }

        static string Name(BatchOutcome o) { return o.ToString().ToLowerInvariant(); }

        static KeyValuePair<string, object> Member(string key, object value) { return new KeyValuePair<string, object>(key, value); }

        /// <summary>A JSON object whose members keep the order given (the CLI's): key, value, key, value, ...</summary>
        static List<KeyValuePair<string, object>> Ordered(params object[] keysAndValues)
        {
            var members = new List<KeyValuePair<string, object>>();
            for (int i = 0; i < keysAndValues.Length; i += 2) members.Add(Member((string)keysAndValues[i], keysAndValues[i + 1]));
            return members;
        }

        /// <summary>The batch's options by the CLI's names (GenerateOptions.to_dict); fps null: the video's rate.</summary>
        static List<KeyValuePair<string, object>> Options(GenerateSettings s)
        {
            return Ordered(
                "hands", s.Hands, "smoothing", Shortest(s.Smoothing), "fps", s.UseVideoFps ? (object)null : Shortest(s.Fps),
                "generator", s.Analytic ? "analytic" : "network", "in_place", s.InPlace, "loop", s.Loop,
                "face_forward", s.FaceForward, "foot_lock", s.FootLock,
                "crop", s.Crop ? new object[] { s.CropX, s.CropY, s.CropWidth, s.CropHeight } : null);
        }

        /// <summary>As the CLI's VideoResult.to_dict writes a row: frames and detected only where the server told
        /// them (frames above 0) of a converted video, seconds only for a converted one.</summary>
        static object Row(BatchVideoResult v)
        {
            bool converted = v.Outcome == BatchOutcome.Converted;
            bool told = converted && v.Frames > 0;
            var outputs = Ordered();
            if (converted && v.Clip != null) outputs.Add(Member("anim", v.Clip));
            return Ordered(
                "video", v.Video, "status", Name(v.Outcome), "outputs", outputs, "warnings", v.Warnings,
                "error", string.IsNullOrEmpty(v.Error) ? null : v.Error,
                "frames", told ? (object)v.Frames : null,
                "detected", told ? (object)Math.Round((double)v.DetectedShare, 4) : null,
                "seconds", converted ? (object)Math.Round(v.Seconds, 3) : null);
        }

        /// <summary>The float as the shortest double that reads back as it: 0.3f, not 0.300000012.</summary>
        static double Shortest(float f)
        {
            return double.Parse(f.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        }
    }
}
