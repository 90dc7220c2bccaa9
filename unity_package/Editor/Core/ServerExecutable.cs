// Where "Start local server" finds `animgen`: the path set in the window, else PATH. An Editor started from Unity Hub,
// a dock or a desktop menu has the desktop's PATH, not a shell's, so the AnimGen repository's .venv/bin is rarely on
// it: the window takes the executable itself or a folder that holds it (the repository, its .venv, a bin or Scripts).
using System;
using System.IO;

namespace AnimGen.Core
{
    public static class ServerExecutable
    {
        // Inside a folder that was set: the folder itself, a venv's, or the repository's venv (Scripts on Windows).
        static readonly string[] Subfolders = { "", "bin", "Scripts", Path.Combine(".venv", "bin"), Path.Combine(".venv", "Scripts") };

        static string[] Names(bool windows)
        {
            return windows ? new[] { "animgen.exe", "animgen.cmd", "animgen.bat" } : new[] { "animgen" };
        }

        static string InFolder(string folder, bool windows)
        {
            foreach (string name in Names(windows))
            {
                string candidate = Path.Combine(folder, name);
                if (File.Exists(candidate)) return candidate;
            }
            return null;
        }

        /// <summary>The animgen executable: `configured` (a file, or a folder holding it; see Subfolders) when set,
        /// else the first on `pathVariable` (PATH's value). Throws ArgumentException naming what was looked for.</summary>
        public static string Locate(string configured, string pathVariable, bool windows)
        {
            string set = (configured ?? "").Trim().Trim('"');
            if (set.Length > 0)
            {
                if (File.Exists(set)) return Path.GetFullPath(set);
                if (Directory.Exists(set))
                {
                    foreach (string sub in Subfolders)
                    {
                        string found = InFolder(Path.Combine(set, sub), windows);
                        if (found != null) return Path.GetFullPath(found);
                    }
                    throw new ArgumentException("no " + Names(windows)[0] + " in '" + set + "' nor in its bin, Scripts, "
                        + ".venv/bin or .venv/Scripts folder: set the animgen executable or the AnimGen repository folder");
                }
                throw new ArgumentException("the animgen executable '" + set + "' does not exist");
            }
            foreach (string dir in (pathVariable ?? "").Split(Path.PathSeparator))
            {
                string d = dir.Trim().Trim('"');
                if (d.Length == 0) continue;
                string found = InFolder(d, windows);
                if (found != null) return found;
            }
            throw new ArgumentException("`animgen` is not on the Editor's PATH (an Editor started from Unity Hub or a dock "
                + "has the desktop's): set the animgen executable (the AnimGen repository's .venv/bin/animgen, "
                + ".venv\\Scripts\\animgen.exe on Windows) or the repository folder, or start a server yourself");
        }
    }
}
