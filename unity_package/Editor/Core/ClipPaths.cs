// Where generated clips go: .anim assets in a folder under Assets/, named after their videos (or as the user
// names them). Engine-free, so that the window, the batch entry point and the tests share one rule, and a bad
// folder or name is refused before anything is uploaded.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace AnimGen.Core
{
    public static class ClipPaths
    {
        static readonly char[] badNameChars = { '/', '\\', ':', '*', '?', '"', '<', '>', '|' };

        /// <summary>The folder as Unity names assets ('/' separators, no trailing '/'); throws ArgumentException
        /// naming the problem unless it is Assets or a folder under it.</summary>
        public static string Folder(string folder)
        {
            string f = (folder ?? "").Trim().Replace('\\', '/').TrimEnd('/');
            if (f != "Assets" && !f.StartsWith("Assets/", StringComparison.Ordinal))
                throw new ArgumentException("the clip folder must be Assets or a folder under it, got '" + folder + "'");
            if (f.Split('/').Any(part => part.Length == 0 || part == "." || part == ".."))
                throw new ArgumentException("the clip folder '" + folder + "' has an empty, '.' or '..' part");
            string ignored = f.Split('/').FirstOrDefault(NotImported);
            if (ignored != null)
                throw new ArgumentException("the clip folder '" + folder + "' is in " + ignored + ", a folder Unity does not "
                                            + "import (a name that starts with '.', ends in '~' or is cvs)");
            return f;
        }

        /// <summary>Whether Unity's import leaves out a file or folder so named (its manual's "hidden assets": a name
        /// that starts with '.', ends in '~', or is cvs in any case): a clip saved under one never shows.</summary>
        public static bool NotImported(string name)
        {
            return name.StartsWith(".", StringComparison.Ordinal) || name.EndsWith("~", StringComparison.Ordinal)
                   || string.Equals(name, "cvs", StringComparison.OrdinalIgnoreCase);
        }

        /// <summary>The clip asset for a video: the given name, else the video's file name without extension.
        /// Throws ArgumentException naming the problem.</summary>
        public static string ForVideo(string folder, string videoPath, string name = null)
        {
            string n = string.IsNullOrEmpty(name) ? Path.GetFileNameWithoutExtension(videoPath ?? "") : name.Trim();
            if (n.Length == 0) throw new ArgumentException("the clip needs a name");
            if (n.IndexOfAny(badNameChars) >= 0 || n.StartsWith(".", StringComparison.Ordinal))
                throw new ArgumentException("the clip name '" + n + "' cannot be a file name (no / \\ : * ? \" < > | or leading '.')");
            return Folder(folder) + "/" + n + ".anim";
        }

        /// <summary>For each video whose clip another video's would overwrite (names that differ only in extension
        /// or case: asset names on Windows and macOS ignore case), a one-line problem; the others are absent.</summary>
        public static Dictionary<string, string> Clashes(IEnumerable<string> videos)
        {
            return Clashes(videos.Select(v => new KeyValuePair<string, string>(v, Path.GetFileNameWithoutExtension(v) + ".anim")),
                Path.GetFileName);
        }

        /// <summary>The same for each video's clip path (video -> clip), compared without case: videos of one name
        /// clash only where their clips would share a folder. name: how the problem names a video.</summary>
        public static Dictionary<string, string> Clashes(IEnumerable<KeyValuePair<string, string>> clips, Func<string, string> name)
        {
            var problems = new Dictionary<string, string>();
            foreach (var group in clips.GroupBy(c => c.Value, StringComparer.OrdinalIgnoreCase))
            {
                var same = group.ToList();
                if (same.Count < 2) continue;
                string names = string.Join(", ", same.Select(c => name(c.Key)).ToArray());
                foreach (var c in same)
                    problems[c.Key] = names + " would all become " + Path.GetFileName(same[0].Value) + ": rename all but one";
            }
            return problems;
        }
    }
}
