// What the window says when its local server ended on its own (a port already taken, a crash): the exit code where
// Unity knows it, and the reason `animgen serve` logged as it stopped. The log is appended to by every start, so only
// what this start wrote counts: the last record after `logStart` (the log's size when it started), if an error.
using System;
using System.IO;
using System.Text;
using System.Text.RegularExpressions;

namespace AnimGen.Core
{
    public static class LocalServerExit
    {
        const long Tail = 64 * 1024; // a record's reason is in the log's last lines, and the log grows over many sessions

        // Python logging's record: "2026-12-07 03:53:23,371 ERROR animgen.server: MESSAGE". A traceback's lines are none.
        static readonly Regex Record = new Regex(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (\S+) [^:]*: (.*)$");

        /// <summary>One line for the window: the exit code (null: unknown, as after a script reload), why, and the log.</summary>
        public static string Describe(int? exitCode, string logPath, long logStart)
        {
            string reason = null;
            foreach (string line in TextSince(logPath, logStart).Split('\n'))
            {
                Match m = Record.Match(line.TrimEnd('\r'));
                if (!m.Success) continue;
                string level = m.Groups[1].Value;
                reason = level == "ERROR" || level == "CRITICAL" ? m.Groups[2].Value.Trim() : null; // the last record decides
            }
            string ended = "The local server ended" + (exitCode.HasValue ? " (exit code " + exitCode.Value + ")" : "");
            string log = " (its log: " + logPath + ")";
            if (!string.IsNullOrEmpty(reason)) return ended + ": " + reason + log;
            return ended + " without logging why: run `animgen serve` in a terminal to see its error" + log;
        }

        static string TextSince(string path, long start)
        {
            try
            {
                using (var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
                {
                    long from = start > f.Length ? 0 : Math.Max(start, f.Length - Tail); // shorter than at the start: a new log
                    f.Seek(from, SeekOrigin.Begin);
                    var bytes = new byte[f.Length - from];
                    int n = 0, read;
                    while (n < bytes.Length && (read = f.Read(bytes, n, bytes.Length - n)) > 0) n += read;
                    return Encoding.UTF8.GetString(bytes, 0, n);
                }
            }
            catch (IOException) { return ""; } // no log: the server ended before writing one
            catch (UnauthorizedAccessException) { return ""; }
        }
    }
}
