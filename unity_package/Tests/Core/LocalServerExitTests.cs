using System;
using System.IO;
using NUnit.Framework;

namespace AnimGen.Core.Tests
{
    /// <summary>What the window says when its local server ended on its own, from the server's real log.</summary>
    [TestFixture]
    public class LocalServerExitTests
    {
        /// <summary>tests/test_unity_package.py writes the log (conftest.failed_serve_log): a real `animgen serve`
        /// refused its port number (70000), then, appended, one found its port taken. The second start's reason is told.</summary>
        [Test]
        public void AnExitIsToldByTheReasonTheServerLogged()
        {
            string log = Environment.GetEnvironmentVariable("ANIMGEN_FAILED_SERVE_LOG");
            string start = Environment.GetEnvironmentVariable("ANIMGEN_FAILED_SERVE_START");
            string port = Environment.GetEnvironmentVariable("ANIMGEN_FAILED_SERVE_PORT");
            if (log == null || start == null || port == null)
                Assert.Ignore("run by tests/test_unity_package.py, which writes a failed server's log");
            string second = LocalServerExit.Describe(1, log, long.Parse(start));
            Assert.AreEqual("The local server ended (exit code 1): animgen serve: cannot listen on 127.0.0.1:" + port +
                            " (the port in use, a host that is not this machine's?) (its log: " + log + ")", second);
            Assert.AreEqual(second, LocalServerExit.Describe(1, log, 0)); // the whole log: its last record is the same
            // Nothing logged since the start, exit code unknown (a script reload lost the process): sent to a terminal.
            Assert.AreEqual("The local server ended without logging why: run `animgen serve` in a terminal to see its " +
                            "error (its log: " + log + ")", LocalServerExit.Describe(null, log, new FileInfo(log).Length));
        }

        [Test]
        public void OnlyAnErrorAsTheLastRecordIsTheReason()
        {
            string log = Path.Combine(Path.GetTempPath(), "animgen-exit-" + Guid.NewGuid().ToString("N") + ".log");
            try
            {
                File.WriteAllText(log, "2026-12-07 10:00:00,001 ERROR animgen.server: job 3 failed: no person found\n" +
                                       "2026-12-07 10:05:00,002 INFO animgen.server: stopping\r\n");
                StringAssert.Contains("(exit code 0) without logging why", LocalServerExit.Describe(0, log, 0));
                // A traceback's lines belong to the error before them; a log shorter than the start is a new one: read whole.
                File.WriteAllText(log, "2026-12-07 10:00:00,001 CRITICAL animgen.server: out of memory\n" +
                                       "Traceback (most recent call last):\n  x\n");
                StringAssert.Contains("(exit code -9): out of memory (its log: ", LocalServerExit.Describe(-9, log, 1 << 20));
                StringAssert.Contains("without logging why", LocalServerExit.Describe(1, log + ".none", 0));
            }
            finally { File.Delete(log); }
        }
    }
}
