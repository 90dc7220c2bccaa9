// The videos a batch takes from -animgenInput, and where each one's clip goes, as `animgen generate DIR [-r]` has them
// (server/animgen_server/cmd_generate.py videos_in, out_bases): the folder's videos; with -animgenRecursive, those of
// its subfolders too, each clip in the same
// subfolder of -animgenOutput (Videos/walk/take.mp4 -> Assets/Clips/walk/take.anim), so that two take.mp4 in different
// subfolders do not clash. Hidden files and subfolders (a name starting with '.': .git, a tool's cache, macOS's
// ._take.mp4) are left out, and so are AnimGen's own previews (take.preview.mp4, in any case: cmd_generate.py
// _made_by_animgen), which a folder converted into itself holds. Engine-free, so that the batch and the tests share one
// rule.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace AnimGen.Core
{
    public static class BatchVideos
    {
        static readonly char[] Separators = { Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar };

        /// <summary>The folder's videos (each the folder joined with its path under it: Videos/walk/take.mp4), in the
        /// CLI's order: by that path, compared folder by folder, as Python's sorted(rglob) compares paths (walk/take.mp4
        /// before walk-2.mp4). A subfolder that is a link is not gone into, nor one that cannot be read.</summary>
        public static List<string> In(string folder, bool recursive)
        {
            var found = new List<KeyValuePair<string[], string>>(); // its path under folder, folder by folder; the video
            Walk(folder, new string[0], recursive, found);
            found.Sort((a, b) => Compare(a.Key, b.Key));
            return found.Select(f => f.Value).ToList();
        }

        static void Walk(string dir, string[] under, bool recursive, List<KeyValuePair<string[], string>> found)
        {
            string[] files, dirs;
            try
            {
                files = Directory.GetFiles(dir);
                dirs = recursive ? Directory.GetDirectories(dir) : new string[0];
            }
            catch (Exception e) when (under.Length > 0 && (e is IOException || e is UnauthorizedAccessException))
            {
                return; // as rglob: an unreadable subfolder holds nothing (the folder itself is checked before)
            }
            foreach (string f in files)
                if (VideoUpload.LooksLikeVideo(f) && !MadeByAnimGen(f)) found.Add(new KeyValuePair<string[], string>(Under(under, Path.GetFileName(f)), f));
            foreach (string d in dirs)
            {
                if (Hidden(d) || (File.GetAttributes(d) & FileAttributes.ReparsePoint) != 0) continue; // a link: rglob does not follow it
                Walk(d, Under(under, Path.GetFileName(d)), true, found);
            }
        }

        static bool Hidden(string path) { return Path.GetFileName(path).StartsWith(".", StringComparison.Ordinal); }

        /// <summary>A file a run writes among videos, as the CLI tells them (cmd_generate.py _made_by_animgen): a
        /// preview (take.preview.mp4, in any case), or a hidden one. Taken for a video, a folder converted into itself would
        /// grow a take.preview.preview.mp4 on every run.</summary>
        public static bool MadeByAnimGen(string path)
        {
            return Hidden(path) || Path.GetFileName(path).EndsWith(".preview.mp4", StringComparison.OrdinalIgnoreCase);
        }

        static string[] Under(string[] under, string name)
        {
            var parts = new string[under.Length + 1];
            under.CopyTo(parts, 0);
            parts[under.Length] = name;
            return parts;
        }

        static int Compare(string[] a, string[] b)
        {
            for (int i = 0; i < a.Length && i < b.Length; i++)
            {
                int c = string.CompareOrdinal(a[i], b[i]);
                if (c != 0) return c;
            }
            return a.Length.CompareTo(b.Length);
        }

        /// <summary>The video's path under folder, with '/' separators: "walk/take.mp4". Throws ArgumentException for a
        /// video that is not under it.</summary>
        public static string Relative(string folder, string video)
        {
            string root = Path.GetFullPath(folder).TrimEnd(Separators), full = Path.GetFullPath(video);
            if (full.Length <= root.Length + 1 || !full.StartsWith(root, StringComparison.Ordinal)
                || Array.IndexOf(Separators, full[root.Length]) < 0)
                throw new ArgumentException(video + " is not in the folder " + folder);
            return full.Substring(root.Length + 1).Replace('\\', '/');
        }

        /// <summary>The subfolder of folder that holds the video, with '/' separators: "walk" for Videos/walk/take.mp4,
        /// "" for Videos/take.mp4.</summary>
        public static string Subfolder(string folder, string video)
        {
            string relative = Relative(folder, video);
            int slash = relative.LastIndexOf('/');
            return slash < 0 ? "" : relative.Substring(0, slash);
        }

        /// <summary>The video's clip: named after it, in the same subfolder of outputFolder as the video is of
        /// inputFolder, but for a trailing '~' of a folder's name (Raw~/take.mp4 -> Assets/Clips/Raw/take.anim): Unity
        /// imports nothing in a folder so named, and a clip saved there would never show. A subfolder named cvs (in any
        /// case), which Unity does not import either, has no name that is plainly the one meant: its videos are
        /// refused, naming it. Throws ArgumentException, also as ClipPaths.ForVideo does.</summary>
        public static string ClipFor(string outputFolder, string inputFolder, string video)
        {
            string sub = Subfolder(inputFolder, video);
            if (sub.Length == 0) return ClipPaths.ForVideo(outputFolder, video);
            string[] found = sub.Split('/');
            string[] names = found.Select(ImportedName).ToArray();
            string folder = ClipPaths.Folder(outputFolder);
            int ignored = Array.FindIndex(names, ClipPaths.NotImported);
            if (ignored >= 0)
            {
                string clips = folder + "/" + string.Join("/", names, 0, ignored + 1);
                string videos = inputFolder.Replace('\\', '/').TrimEnd('/') + "/" + string.Join("/", found, 0, ignored + 1);
                throw new ArgumentException("its clip would go in " + clips + ", a folder Unity does not import: rename the "
                                            + "subfolder " + videos);
            }
            return ClipPaths.ForVideo(folder + "/" + string.Join("/", names), video);
        }

        static string ImportedName(string folder)
        {
            string name = folder.TrimEnd('~');
            return name.Length > 0 ? name : "_"; // a folder named "~" alone
        }
    }
}
