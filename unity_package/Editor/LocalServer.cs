// "Start local server": runs `animgen serve` (the window's animgen setting, else PATH; the AnimGen repository's
// `make setup` puts it in .venv/bin) for this Editor session, on the port of the window's address.
using System;
using System.Diagnostics;
using System.IO;
using AnimGen.Core;
using UnityEditor;
using Debug = UnityEngine.Debug;

namespace AnimGen.Editor
{
    [InitializeOnLoad]
    internal static class LocalServer
    {
        // For this Editor session: it ends with the Editor, as the Unreal tab's server does. Left running, it would hold
        // the port with this session's token, and the next session (SessionState forgets its id) could not stop it.
        static LocalServer() { EditorApplication.quitting += Stop; }

        const string PidKey = "AnimGen.LocalServerPid";
        const string StartKey = "AnimGen.LocalServerStart";
        const string LogStartKey = "AnimGen.LocalServerLogStart"; // the log's size at the start: this server's lines follow
        static Process process;
        static string ended; // why the server ended on its own, until the window takes it

        // When a process started (UTC ticks), or "" where the system does not say. An id is reused once its process has
        // ended: a process found by the kept id is ours only if it started when ours did, or Stop could kill another.
        static string StartOf(Process p)
        {
            try { return p.StartTime.ToUniversalTime().Ticks.ToString(); }
            catch (Exception) { return ""; }
        }

        /// <summary>The local server's log (animgen serve --log-file), in the project's Library folder.</summary>
        public static string LogPath { get { return Path.GetFullPath(Path.Combine("Library", "AnimGen", "serve.log")); } }

        /// <summary>The server this window started, also after a domain reload: the process outlives the reload,
        /// so its id is kept for the Editor session and the button offers Stop, not a second server on the port.</summary>
        static Process Current
        {
            get
            {
                int pid = SessionState.GetInt(PidKey, 0);
                if (process == null && pid > 0)
                {
                    try
                    {
                        Process found = Process.GetProcessById(pid);
                        if (StartOf(found) == SessionState.GetString(StartKey, "")) process = found;
                    }
                    catch (ArgumentException) { } // no such process any more
                    catch (InvalidOperationException) { }
                }
                bool alive;
                try { alive = process != null && !process.HasExited; }
                catch (InvalidOperationException) { alive = false; }
                if (!alive)
                {
                    // Stop erases the id first: a server still listed here ended on its own (its port taken, a crash).
                    if (pid > 0)
                    {
                        ended = LocalServerExit.Describe(ExitCode(process), LogPath, LogStart);
                        Debug.LogWarning("AnimGen: " + ended);
                        SessionState.EraseInt(PidKey);
                        SessionState.EraseString(StartKey);
                    }
                    process = null;
                }
                return process;
            }
        }

        public static bool Running { get { return Current != null; } }

        /// <summary>Once, why the server this window started ended without Stop, else null.</summary>
        public static string TakeEnded()
        {
            if (Running) return null;
            string why = ended;
            ended = null;
            return why;
        }

        static long LogStart
        {
            get { long start; return long.TryParse(SessionState.GetString(LogStartKey, "0"), out start) ? start : 0; }
        }

        // null where the process is not this domain's own (found again by its id after a script reload).
        static int? ExitCode(Process p)
        {
            try { return p != null ? p.ExitCode : (int?)null; }
            catch (Exception) { return null; } // not told (a process this object did not start): said without one
        }

        /// <summary>Starts the server on the address's port, from `executable` (the window's setting; empty: PATH;
        /// see ServerExecutable); returns null or a one-line reason it could not.</summary>
        public static string Start(string address, string token, string executable)
        {
            if (Running) return null;
            int port;
            string exe;
            try
            {
                port = ServerAddress.LocalServerPort(address);
                exe = ServerExecutable.Locate(executable, Environment.GetEnvironmentVariable("PATH"),
                                              Environment.OSVersion.Platform == PlatformID.Win32NT);
            }
            catch (ArgumentException e) { return "Cannot start a local server: " + e.Message + "."; }
            string refused = BearerToken.Problem(token); // the server would refuse to start with it
            if (refused != null) return refused;
            // The log goes to a file, not a pipe: the server outlives script reloads, which drop the pipe's reader, and a
            // full pipe would stall every call.
            Directory.CreateDirectory(Path.GetDirectoryName(LogPath));
            SessionState.SetString(LogStartKey, (File.Exists(LogPath) ? new FileInfo(LogPath).Length : 0).ToString());
            ended = null;
            var info = new ProcessStartInfo(exe, "serve --port " + port + " --log-file \"" + LogPath + "\"")
            {
                UseShellExecute = false,
                CreateNoWindow = true,
            };
            // The token goes through the environment, not the command line that other users can list. With no token
            // in the window, none from Unity's own environment either: the window would not send it.
            string t = (token ?? "").Trim();
            if (t.Length > 0) info.EnvironmentVariables["ANIMGEN_TOKEN"] = t;
            else info.EnvironmentVariables.Remove("ANIMGEN_TOKEN");
            try
            {
                process = Process.Start(info);
                SessionState.SetInt(PidKey, process.Id);
                SessionState.SetString(StartKey, StartOf(process));
                Debug.Log("AnimGen: local server on port " + port + "; its log: " + LogPath);
                return null;
            }
            catch (Exception e)
            {
                return "Could not start " + exe + ": " + e.Message;
            }
        }

        public static void Stop()
        {
            Process p = Current;
            if (p == null) return;
            try { p.Kill(); }
            catch (InvalidOperationException) { } // it had ended
            catch (Exception e) // refused (Win32Exception): said, and the window goes on
            {
                Debug.LogWarning("AnimGen: could not stop the local server (process " + p.Id + "): " + e.Message);
            }
            process = null;
            SessionState.EraseInt(PidKey);
            SessionState.EraseString(StartKey);
        }
    }
}
