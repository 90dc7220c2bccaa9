using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Threading;
using NUnit.Framework;

namespace AnimGen.Core.Tests
{
    /// <summary>The batch's -animgenSummary file: the CLI's shape (tests/test_unity_package.py compares the keys with
    /// run_summary.py's), read back with Json.Parse to the exact values; written aside and renamed; a path that would
    /// replace a folder, a video or a clip refused before any work.</summary>
    [TestFixture]
    public class BatchSummaryTests
    {
        string root;

        [SetUp]
        public void MakeFolder()
        {
            root = Path.Combine(Path.GetTempPath(), "animgen-summary-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(root);
        }

        [TearDown]
        public void RemoveFolder() { Directory.Delete(root, true); }

        static Dictionary<string, object> Map(object o) { return (Dictionary<string, object>)o; }

        static List<object> List(object o) { return (List<object>)o; }

        /// <summary>A batch of three: one converted with warnings, one the server failed, one refused before its job
        /// (its name clashed with another's).</summary>
        static BatchSummary ThreeVideos()
        {
            var settings = new GenerateSettings { Smoothing = 0.3f, UseVideoFps = false, Fps = 29.97f, Analytic = true,
                                                  InPlace = true, FootLock = false, Crop = true, CropX = 640, CropY = 0 };
            var s = new BatchSummary(settings) { ServerVersion = "0.2.11" };
            var run = new BatchVideoResult("Videos/run.mp4")
            {
                Outcome = BatchOutcome.Converted, Clip = "Assets/Clips/run.anim", Frames = 123, DetectedShare = 0.97314f,
                Seconds = 12.34567,
            };
            run.Warnings.Add("left arm hidden from 2.1 s to 3.3 s");
            run.Warnings.Add("right hand seen in 12 % of frames");
            var fall = new BatchVideoResult("Videos/fall.mov") { Error = "Videos/fall.mov: no person found", Frames = 40, Seconds = 3 };
            fall.Warnings.Add("person lost from 0.0 s to 1.5 s");
            var clash = new BatchVideoResult("Videos/walk.mp4")
            {
                Error = "Videos/walk.mp4: walk.mp4, Walk.mov would all become walk.anim: rename all but one",
            };
            s.Videos.AddRange(new[] { run, fall, clash });
            return s;
        }

        [Test]
        public void SummaryOfAConvertedAFailedAndARefusedVideoParsesBack()
        {
            var doc = Map(Json.Parse(ThreeVideos().ToJson()));
            CollectionAssert.AreEquivalent(new[] { "animgen", "client", "options", "counts", "videos" }, doc.Keys);
            Assert.AreEqual("0.2.11", doc["animgen"]);
            Assert.AreEqual("unity 0.1.16", doc["client"]);
            Assert.AreEqual(new Dictionary<string, object>
            {
                { "hands", false }, { "smoothing", 0.3 }, { "fps", 29.97 }, { "generator", "analytic" }, { "in_place", true },
                { "loop", false }, { "face_forward", false }, { "foot_lock", false },
                { "crop", new List<object> { 640.0, 0.0, 640.0, 720.0 } },
            }, Map(doc["options"]));
            Assert.AreEqual(new Dictionary<string, object>
            {
                { "converted", 1.0 }, { "skipped", 0.0 }, { "failed", 2.0 }, { "cancelled", 0.0 },
            }, Map(doc["counts"]));

            var videos = List(doc["videos"]);
            Assert.AreEqual(3, videos.Count);
            Assert.AreEqual(new Dictionary<string, object>
            {
                { "video", "Videos/run.mp4" }, { "status", "converted" },
                { "outputs", new Dictionary<string, object> { { "anim", "Assets/Clips/run.anim" } } },
                { "warnings", new List<object> { "left arm hidden from 2.1 s to 3.3 s", "right hand seen in 12 % of frames" } },
                { "error", null }, { "frames", 123.0 }, { "detected", 0.9731 }, { "seconds", 12.346 },
            }, Map(videos[0]));
            // Failed: no outputs, frames or seconds, whatever was filled in before it failed; its warnings kept.
            Assert.AreEqual(new Dictionary<string, object>
            {
                { "video", "Videos/fall.mov" }, { "status", "failed" }, { "outputs", new Dictionary<string, object>() },
                { "warnings", new List<object> { "person lost from 0.0 s to 1.5 s" } },
                { "error", "Videos/fall.mov: no person found" }, { "frames", null }, { "detected", null }, { "seconds", null },
            }, Map(videos[1]));
            var refused = Map(videos[2]);
            Assert.AreEqual("failed", refused["status"]);
            StringAssert.StartsWith("Videos/walk.mp4: walk.mp4, Walk.mov would all become", (string)refused["error"]);
            Assert.IsEmpty(List(refused["warnings"]));
            Assert.IsEmpty(Map(refused["outputs"]));
        }

        [Test]
        public void WhatIsNotKnownIsNull()
        {
            // An older server: no version asked, no frames told; the video's own frame rate; no crop.
            var s = new BatchSummary(new GenerateSettings());
            s.Videos.Add(new BatchVideoResult("a.mp4") { Outcome = BatchOutcome.Converted, Clip = "Assets/AnimGen/a.anim", Seconds = 1 });
            var doc = Map(Json.Parse(s.ToJson()));
            Assert.IsNull(doc["animgen"]);
            var options = Map(doc["options"]);
            Assert.IsNull(options["fps"]);
            Assert.IsNull(options["crop"]);
            Assert.AreEqual("network", options["generator"]);
            Assert.AreEqual(0.5, options["smoothing"]);
            Assert.AreEqual(true, options["foot_lock"]);
            var row = Map(List(doc["videos"])[0]);
            Assert.IsNull(row["frames"]);
            Assert.IsNull(row["detected"]);
            Assert.IsNull(row["error"]);
            Assert.AreEqual(1.0, row["seconds"]);
        }

        [Test]
        public void TheServersVersionIsItsNumberAsTheCliGivesIt()
        {
            Assert.AreEqual("0.2.11", BatchSummary.VersionNumber("animgen 0.2.11 (grpcio 1.62.3, python 3.11.9)"));
            Assert.AreEqual("0.2.11", BatchSummary.VersionNumber("animgen 0.2.11"));
            Assert.AreEqual("other 1.0", BatchSummary.VersionNumber("other 1.0"));
            Assert.IsNull(BatchSummary.VersionNumber(""));
        }

        [Test]
        public void VideosAnExceptionKeptTheBatchFromAreCancelled()
        {
            var s = new BatchSummary(new GenerateSettings());
            s.Videos.Add(new BatchVideoResult("a.mp4") { Outcome = BatchOutcome.Converted, Clip = "Assets/AnimGen/a.anim" });
            s.CancelRest(new[] { "a.mp4", "b.mp4", "c.mp4" });
            var doc = Map(Json.Parse(s.ToJson()));
            Assert.AreEqual(new Dictionary<string, object>
            {
                { "converted", 1.0 }, { "skipped", 0.0 }, { "failed", 0.0 }, { "cancelled", 2.0 },
            }, Map(doc["counts"]));
            var c = Map(List(doc["videos"])[2]);
            Assert.AreEqual("c.mp4", c["video"]);
            Assert.AreEqual("cancelled", c["status"]);
            Assert.IsNull(c["error"]);
            Assert.IsNull(c["seconds"]);
        }

        [Test]
        public void QuotesBackslashesNewlinesAndNonAsciiRoundTrip()
        {
            string video = "C:\\Videos\\\"Sprung\" \u00fcber den Zaun \u65e5\u672c \U0001F3C3.mp4";
            string warning = "line one\nline two\r\n\ttabbed \\ \"quoted\" \u0001 caf\u00e9";
            var s = new BatchSummary(new GenerateSettings());
            var row = new BatchVideoResult(video) { Error = video + ": the server said \"no\"\nand more" };
            row.Warnings.Add(warning);
            s.Videos.Add(row);
            string text = s.ToJson();
            StringAssert.Contains("C:\\\\Videos\\\\\\\"Sprung\\\"", text);
            StringAssert.Contains("line one\\nline two\\r\\n\\ttabbed \\\\ \\\"quoted\\\" \\u0001", text);

            string path = Path.Combine(root, "run.json");
            s.WriteTo(path);
            byte[] bytes = File.ReadAllBytes(path);
            Assert.AreNotEqual(0xEF, bytes[0], "UTF-8 without a byte order mark, which some JSON readers refuse");
            var back = Map(List(Map(Json.Parse(Encoding.UTF8.GetString(bytes)))["videos"])[0]);
            Assert.AreEqual(video, back["video"]);
            Assert.AreEqual(new List<object> { warning }, back["warnings"]);
            Assert.AreEqual(video + ": the server said \"no\"\nand more", back["error"]);
        }

        [Test]
        public void NumbersAreWrittenTheSameUnderACommaCulture()
        {
            CultureInfo before = Thread.CurrentThread.CurrentCulture;
            try
            {
                Thread.CurrentThread.CurrentCulture = new CultureInfo("de-DE");
                Assert.AreEqual("0,25", 0.25.ToString(), "the culture writes a decimal comma");
                var s = new BatchSummary(new GenerateSettings { Smoothing = 0.25f, UseVideoFps = false, Fps = 23.976f });
                s.Videos.Add(new BatchVideoResult("a.mp4")
                {
                    Outcome = BatchOutcome.Converted, Clip = "Assets/AnimGen/a.anim", Frames = 1500, DetectedShare = 0.5f,
                    Seconds = 1234.5,
                });
                string text = s.ToJson();
                StringAssert.Contains("\"smoothing\": 0.25,", text);
                StringAssert.Contains("\"fps\": 23.976,", text);
                StringAssert.Contains("\"seconds\": 1234.5\n", text);
                StringAssert.Contains("\"frames\": 1500,", text);
                var row = Map(List(Map(Json.Parse(text))["videos"])[0]);
                Assert.AreEqual(0.5, row["detected"]);
                Assert.AreEqual(1234.5, row["seconds"]);
            }
            finally { Thread.CurrentThread.CurrentCulture = before; }
        }

        [Test]
        public void WritingAsideReplacesTheSummaryAndLeavesNoTemporaryFile()
        {
            string path = Path.Combine(root, "ci", "run.json"); // its folder is made
            var s = ThreeVideos();
            s.WriteTo(path);
            Assert.AreEqual(s.ToJson(), File.ReadAllText(path));
            StringAssert.EndsWith("}\n", File.ReadAllText(path));

            s.Videos.RemoveAt(2);
            s.WriteTo(path); // a summary from an earlier run is replaced whole
            Assert.AreEqual(2, List(Map(Json.Parse(File.ReadAllText(path)))["videos"]).Count);
            CollectionAssert.AreEqual(new[] { path }, Directory.GetFileSystemEntries(Path.Combine(root, "ci")));

            // Cannot be put in place (a folder is in the way): the error is thrown, and nothing is left beside it.
            string folder = Path.Combine(root, "taken.json");
            Directory.CreateDirectory(folder);
            Assert.Catch<IOException>(() => s.WriteTo(folder));
            CollectionAssert.AreEquivalent(new[] { folder, Path.Combine(root, "ci") }, Directory.GetFileSystemEntries(root));
        }

        // ------------------------------------------------------------ -animgenSummary on the command line

        BatchArguments Parse(string summary, string input = null)
        {
            return BatchArguments.Parse(new[] { "-animgenInput", input ?? Path.Combine(root, "Videos"), "-animgenOutput",
                                                "Assets/Clips", "-animgenSummary", summary }, null);
        }

        [Test]
        public void SummaryArgumentIsTakenAsGiven()
        {
            Assert.IsNull(BatchArguments.Parse(new[] { "-animgenInput", "V" }, null).Summary);
            Assert.AreEqual("run.json", Parse("run.json").Summary);
            // Beside the videos or the clips is fine, as long as it is neither.
            Assert.AreEqual(Path.Combine(root, "Videos", "run.json"), Parse(Path.Combine(root, "Videos", "run.json")).Summary);
            Assert.AreEqual("Assets/Clips/run.json", Parse("Assets/Clips/run.json").Summary);
            Assert.AreEqual(Path.Combine(root, "run.mp4"), Parse(Path.Combine(root, "run.mp4")).Summary, "a video of no batch");
        }

        [Test]
        public void SummaryThatWouldReplaceAFolderAVideoOrAClipIsRefused()
        {
            var e = Assert.Throws<ArgumentException>(() => Parse(root));
            Assert.AreEqual("-animgenSummary " + root + ": is a folder; -animgenSummary takes a file name", e.Message);
            // A video of the input folder, there or not yet, whatever its case (Windows and macOS ignore it).
            string video = Path.Combine(root, "Videos", "run.MP4");
            e = Assert.Throws<ArgumentException>(() => Parse(video, Path.Combine(root, "videos") + Path.DirectorySeparatorChar));
            Assert.AreEqual("-animgenSummary " + video + ": is a video of -animgenInput: name the summary apart", e.Message);
            e = Assert.Throws<ArgumentException>(() => Parse("assets/clips/Run.anim"));
            Assert.AreEqual("-animgenSummary assets/clips/Run.anim: is a clip of -animgenOutput: name the summary apart", e.Message);
        }

        [Test]
        public void SummaryThatCouldNotBeWrittenIsRefusedBeforeAnyWork()
        {
            // Its folder is made, and a try at writing there leaves nothing behind.
            string later = Path.Combine(root, "ci", "reports", "run.json");
            Parse(later);
            Assert.IsTrue(Directory.Exists(Path.GetDirectoryName(later)));
            CollectionAssert.IsEmpty(Directory.GetFileSystemEntries(Path.GetDirectoryName(later)));
            // A folder that cannot be made (a file is in its way), and a read-only summary (checked in), are refused.
            string blocker = Path.Combine(root, "a_file");
            File.WriteAllText(blocker, "");
            var e = Assert.Throws<ArgumentException>(() => Parse(Path.Combine(blocker, "run.json")));
            StringAssert.StartsWith("-animgenSummary " + Path.Combine(blocker, "run.json") + ": cannot be written there (", e.Message);
            string locked = Path.Combine(root, "locked.json");
            File.WriteAllText(locked, "{}");
            File.SetAttributes(locked, FileAttributes.ReadOnly);
            e = Assert.Throws<ArgumentException>(() => Parse(locked));
            StringAssert.EndsWith(": is read-only (checked in? make it writable to replace it)", e.Message);
            File.SetAttributes(locked, FileAttributes.Normal);
            Assert.AreEqual("{}", File.ReadAllText(locked));
        }

        [Test]
        public void MembersComeInTheClisOrder()
        {
            string json = ThreeVideos().ToJson();
            int at = -1;
            foreach (string key in new[] { "\"animgen\"", "\"client\"", "\"options\"", "\"hands\"", "\"crop\"", "\"counts\"",
                                           "\"converted\"", "\"skipped\"", "\"failed\"", "\"cancelled\"", "\"videos\"",
                                           "\"video\"", "\"status\"", "\"outputs\"", "\"warnings\"", "\"error\"",
                                           "\"frames\"", "\"detected\"", "\"seconds\"" })
            {
                int next = json.IndexOf(key, at + 1, StringComparison.Ordinal);
                Assert.Greater(next, at, key + " out of the CLI's order in\n" + json);
                at = next;
            }
        }

        [TestCase(new[] { "-animgenInput", "V", "-animgenSummary" }, "-animgenSummary needs a value")]
        [TestCase(new[] { "-animgenInput", "V", "-animgenSummary", "-animgenLoop" }, "-animgenSummary needs a value")]
        [TestCase(new[] { "-animgenInput", "V", "-animgenSummary", " " }, "-animgenSummary is an empty name")]
        public void SummaryWithoutAFileNameIsRefused(string[] args, string message)
        {
            var e = Assert.Throws<ArgumentException>(() => BatchArguments.Parse(args, null));
            Assert.AreEqual(message, e.Message);
        }
    }
}
