// Command-line arguments of the CI entry point (Unity -batchmode -executeMethod AnimGen.Editor.BatchGenerate.Run):
//   -animgenInput DIR            folder of videos (required)
//   -animgenRecursive            the videos of its subfolders too (hidden ones aside), each clip in the same subfolder
//                                of -animgenOutput: Videos/walk/take.mp4 -> Assets/Clips/walk/take.anim (as `animgen
//                                generate DIR -r`)
//   -animgenOutput Assets/...    folder for the .anim clips (default Assets/AnimGen)
//   -animgenServer HOST:PORT     the server (default 127.0.0.1:50051)
//   -animgenToken TOKEN          bearer token (default: the ANIMGEN_TOKEN environment variable)
//   -animgenHands -animgenLoop -animgenInPlace -animgenFaceForward -animgenNoFootLock     switches
//   -animgenGenerator network|analytic
//   -animgenSmoothing S  -animgenFps F
//   -animgenCrop X,Y,W,H         look for the person in this rectangle (pixels of the video as played), then follow them
//   -animgenFootsteps            an Animation Event "OnFootstep" ("Left" / "Right") where each foot lands;
//   -animgenFootstepFunction NAME    the same, calling NAME
//   -animgenTimeout MINUTES      the longest one video may take, upload to clip (default 60): a CI job always ends
//   -animgenJobs N               send up to N videos to the server at once, 1 to 64 (default 1): a server with several
//                                workers is kept busy; clips, log lines and summary rows keep the folder's order
//   -animgenSummary FILE.json    what became of each video, for CI to read (BatchSummary: the shape of
//                                `animgen generate --summary`); not a folder, a video of -animgenInput or a clip
// Unity's own arguments (-batchmode, -projectPath ...) are ignored. Relative paths are read from the working folder,
// which is the project folder for the Editor (not the shell's).
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;

namespace AnimGen.Core
{
    public sealed class BatchArguments
    {
        public string InputFolder;
        /// <summary>The videos of InputFolder's subfolders too (-animgenRecursive; `animgen generate --recursive`).</summary>
        public bool Recursive;
        public string OutputFolder = "Assets/AnimGen";
        public string Server = "127.0.0.1:50051";
        public string Token = "";
        public GenerateSettings Settings = new GenerateSettings();
        public float TimeoutMinutes = 60f;
        /// <summary>How many videos may be on the server at once (-animgenJobs; `animgen generate --jobs`).</summary>
        public int Jobs = 1;
        public const int MaxJobs = 64; // the CLI's limit
        /// <summary>Where to write the summary, as given; null: none.</summary>
        public string Summary;

        /// <summary>Throws ArgumentException with a one-line message naming the argument.</summary>
        public static BatchArguments Parse(IList<string> args, string tokenFromEnvironment)
        {
            var a = new BatchArguments { Token = tokenFromEnvironment ?? "" };
            for (int i = 0; i < args.Count; i++)
            {
                string name = args[i];
                if (!name.StartsWith("-animgen", StringComparison.Ordinal)) continue;
                switch (name)
                {
                    case "-animgenInput": a.InputFolder = Value(args, ref i); break;
                    case "-animgenRecursive": a.Recursive = true; break;
                    case "-animgenOutput": a.OutputFolder = Value(args, ref i); break;
                    case "-animgenServer": a.Server = Value(args, ref i); break;
                    case "-animgenToken": a.Token = Value(args, ref i); break;
                    case "-animgenHands": a.Settings.Hands = true; break;
                    case "-animgenLoop": a.Settings.Loop = true; break;
                    case "-animgenInPlace": a.Settings.InPlace = true; break;
                    case "-animgenFaceForward": a.Settings.FaceForward = true; break;
                    case "-animgenNoFootLock": a.Settings.FootLock = false; break;
                    case "-animgenGenerator": a.Settings.Analytic = Generator(args, ref i); break;
                    case "-animgenFootsteps": a.Settings.Footsteps = true; break;
                    case "-animgenFootstepFunction": a.Settings.Footsteps = true; a.Settings.FootstepFunction = Value(args, ref i); break;
                    case "-animgenSmoothing": a.Settings.Smoothing = Number(args, ref i); break;
                    case "-animgenFps": a.Settings.UseVideoFps = false; a.Settings.Fps = Number(args, ref i); break;
                    case "-animgenCrop": Crop(a.Settings, args, ref i); break;
                    case "-animgenTimeout": a.TimeoutMinutes = Number(args, ref i); break;
                    case "-animgenSummary": a.Summary = Value(args, ref i); break;
                    case "-animgenJobs": a.Jobs = JobCount(args, ref i); break;
                    default: throw new ArgumentException("unknown argument " + name);
                }
            }
            if (string.IsNullOrEmpty(a.InputFolder)) throw new ArgumentException("-animgenInput DIR is required (a folder of videos)");
            if (a.Recursive && File.Exists(a.InputFolder)) // as the CLI refuses `generate walk.mp4 -r`
                throw new ArgumentException("-animgenRecursive takes a folder of videos (and its subfolders); -animgenInput "
                                            + a.InputFolder + " is a file");
            try { a.OutputFolder = ClipPaths.Folder(a.OutputFolder); }
            catch (ArgumentException e) { throw new ArgumentException("-animgenOutput: " + e.Message); }
            if (!(a.TimeoutMinutes > 0f && a.TimeoutMinutes <= 24 * 60))
                throw new ArgumentException("-animgenTimeout must be between 0 and 1440 minutes, got " + a.TimeoutMinutes);
            string address = ServerAddress.Problem(a.Server);
            if (address != null) throw new ArgumentException("-animgenServer: " + address);
            string token = BearerToken.Problem(a.Token);
            if (token != null) throw new ArgumentException("-animgenToken (or ANIMGEN_TOKEN): " + token);
            List<string> problems = a.Settings.Problems();
            if (problems.Count > 0) throw new ArgumentException(problems[0]);
            if (a.Summary != null) CheckSummary(a);
            return a;
        }

        /// <summary>Refuses a summary that would replace a folder, or a file the batch reads or writes: a video it
        /// would take (even one not there yet) or a clip, also in a subfolder with -animgenRecursive (compared without
        /// case, as file names on Windows and macOS are); or one that could not be written.</summary>
        static void CheckSummary(BatchArguments a)
        {
            if (a.Summary.Trim().Length == 0) throw new ArgumentException("-animgenSummary is an empty name"); // an unset $VAR
            string said = "-animgenSummary " + a.Summary;
            string full, folder;
            bool inInput, inOutput;
            try
            {
                full = Path.GetFullPath(a.Summary);
                folder = Path.GetDirectoryName(full) ?? full;
                inInput = InFolder(folder, a.InputFolder, a.Recursive);
                inOutput = InFolder(folder, a.OutputFolder, a.Recursive);
            }
            catch (Exception e) when (e is ArgumentException || e is NotSupportedException || e is PathTooLongException)
            {
                throw new ArgumentException(said + ": " + e.Message);
            }
            if (Directory.Exists(full)) throw new ArgumentException(said + ": is a folder; -animgenSummary takes a file name");
            if (inInput && VideoUpload.LooksLikeVideo(full))
                throw new ArgumentException(said + ": is a video of -animgenInput: name the summary apart");
            if (inOutput && full.EndsWith(".anim", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException(said + ": is a clip of -animgenOutput: name the summary apart");
            // Found out now, not after the batch: a read-only summary, or a folder that cannot be made or written in
            // (the folder is made here, as the clips' is).
            if (File.Exists(full) && (File.GetAttributes(full) & FileAttributes.ReadOnly) != 0)
                throw new ArgumentException(said + ": is read-only (checked in? make it writable to replace it)");
            try
            {
                Directory.CreateDirectory(folder);
                string probe = Path.Combine(folder, "." + Guid.NewGuid().ToString("N") + ".probe");
                using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw new ArgumentException(said + ": cannot be written there (" + e.Message + ")");
            }
        }

        /// <summary>fullFolder is folder, or with orBelow one of its subfolders.</summary>
        static bool InFolder(string fullFolder, string folder, bool orBelow)
        {
            char[] ends = { Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar };
            string inner = fullFolder.TrimEnd(ends), outer = Path.GetFullPath(folder).TrimEnd(ends);
            if (string.Equals(inner, outer, StringComparison.OrdinalIgnoreCase)) return true;
            return orBelow && inner.Length > outer.Length + 1 && inner.StartsWith(outer, StringComparison.OrdinalIgnoreCase)
                   && Array.IndexOf(ends, inner[outer.Length]) >= 0;
        }

        static string Value(IList<string> args, ref int i)
        {
            if (i + 1 >= args.Count || args[i + 1].StartsWith("-animgen", StringComparison.Ordinal))
                throw new ArgumentException(args[i] + " needs a value");
            return args[++i];
        }

        /// <summary>True for the analytic solver, false for the network.</summary>
        static bool Generator(IList<string> args, ref int i)
        {
            string v = Value(args, ref i);
            if (v == "network" || v == "analytic") return v == "analytic";
            throw new ArgumentException("-animgenGenerator must be network or analytic, got '" + v + "'");
        }

        static void Crop(GenerateSettings s, IList<string> args, ref int i)
        {
            string v = Value(args, ref i);
            string[] parts = v.Split(',');
            var px = new int[4];
            if (parts.Length != 4) px = null;
            for (int k = 0; px != null && k < 4; k++)
                if (!int.TryParse(parts[k], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out px[k])) px = null;
            if (px == null)
                throw new ArgumentException("-animgenCrop wants four whole numbers of pixels X,Y,W,H (e.g. 640,0,640,720), got '" + v + "'");
            s.Crop = true;
            s.CropX = px[0];
            s.CropY = px[1];
            s.CropWidth = px[2];
            s.CropHeight = px[3];
        }

        static int JobCount(IList<string> args, ref int i)
        {
            string v = Value(args, ref i);
            int n;
            if (!int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out n) || n < 1 || n > MaxJobs)
                throw new ArgumentException("-animgenJobs must be a whole number from 1 to " + MaxJobs + ", got '" + v + "'");
            return n;
        }

        static float Number(IList<string> args, ref int i)
        {
            string name = args[i];
            string v = Value(args, ref i);
            float f;
            if (!float.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out f))
                throw new ArgumentException(name + " needs a number, got '" + v + "'");
            return f;
        }
    }
}
