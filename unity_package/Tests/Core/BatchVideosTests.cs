using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NUnit.Framework;

namespace AnimGen.Core.Tests
{
    /// <summary>The videos a batch takes and where their clips go, as `animgen generate DIR [-r]` has them
    /// (cmd_generate.py videos_in, out_bases): with -animgenRecursive its subfolders' too, hidden ones aside, in the
    /// CLI's order, each clip in the same subfolder of the output folder.</summary>
    [TestFixture]
    public class BatchVideosTests
    {
        string root;

        [SetUp]
        public void MakeFolder()
        {
            root = Path.Combine(Path.GetTempPath(), "animgen-videos-" + Guid.NewGuid().ToString("N"));
            foreach (string file in new[] { "a.mp4", "B.mov", "notes.txt", "walk-2.mp4", ".hidden.mp4", "walk/take.mp4",
                                            "walk/slow/take.MOV", "walk/.DS_Store", "walk/._take.mp4", "run/take.mp4",
                                            ".git/objects/x.mp4", "empty/none.txt", "a.preview.mp4", "walk/take.Preview.MP4" })
            {
                string path = In(file);
                Directory.CreateDirectory(Path.GetDirectoryName(path));
                File.WriteAllText(path, "");
            }
        }

        [TearDown]
        public void RemoveFolder() { Directory.Delete(root, true); }

        string In(string relative) { return Path.Combine(root, relative.Replace('/', Path.DirectorySeparatorChar)); }

        List<string> Relative(IEnumerable<string> videos) { return videos.Select(v => BatchVideos.Relative(root, v)).ToList(); }

        [Test]
        public void TheFolderItselfUnlessRecursive()
        {
            CollectionAssert.AreEqual(new[] { "B.mov", "a.mp4", "walk-2.mp4" }, Relative(BatchVideos.In(root, false)));
        }

        [Test]
        public void RecursiveTakesTheSubfoldersButNotHiddenOnesInTheClisOrder()
        {
            List<string> videos = BatchVideos.In(root, true);
            // Python's sorted(rglob): compared folder by folder, so walk/... comes before walk-2.mp4 ('/' > '-').
            CollectionAssert.AreEqual(new[] { "B.mov", "a.mp4", "run/take.mp4", "walk/slow/take.MOV", "walk/take.mp4", "walk-2.mp4" },
                Relative(videos));
            Assert.AreEqual(In("walk/slow/take.MOV"), videos[3]); // the folder joined with its path under it
        }

        [Test]
        public void AnimGensOwnPreviewsAreNotVideosToConvert()
        {
            // As the CLI's _made_by_animgen: a preview, in any case, or a hidden file; a .preview.mov is a video.
            Assert.IsTrue(BatchVideos.MadeByAnimGen(In("a.preview.mp4")));
            Assert.IsTrue(BatchVideos.MadeByAnimGen(In("walk/take.Preview.MP4")));
            Assert.IsTrue(BatchVideos.MadeByAnimGen(In(".hidden.mp4")));
            Assert.IsFalse(BatchVideos.MadeByAnimGen(In("walk/take.mp4")));
            Assert.IsFalse(BatchVideos.MadeByAnimGen(In("take.preview.mov")));
            Assert.IsFalse(BatchVideos.MadeByAnimGen(In("preview.mp4")));
            // The folder's own listing and the recursive one leave them out (see the two tests above).
            CollectionAssert.DoesNotContain(Relative(BatchVideos.In(root, false)), "a.preview.mp4");
            CollectionAssert.DoesNotContain(Relative(BatchVideos.In(root, true)), "walk/take.Preview.MP4");
        }

        [Test]
        public void EachClipGoesInTheSameSubfolderOfTheOutputFolder()
        {
            Assert.AreEqual("Assets/Clips/a.anim", BatchVideos.ClipFor("Assets/Clips", root, In("a.mp4")));
            Assert.AreEqual("Assets/Clips/walk/take.anim", BatchVideos.ClipFor("Assets/Clips/", root + "/", In("walk/take.mp4")));
            Assert.AreEqual("Assets/Clips/walk/slow/take.anim", BatchVideos.ClipFor("Assets\\Clips", root, In("walk/slow/take.MOV")));
            // Unity imports nothing under a folder whose name ends in '~': the clip goes to the name without it.
            Assert.AreEqual("Assets/Clips/raw/take/take.anim", BatchVideos.ClipFor("Assets/Clips", root, In("raw~/take~~/take.mp4")));
            Assert.AreEqual("Assets/Clips/_/take.anim", BatchVideos.ClipFor("Assets/Clips", root, In("~/take.mp4")));
            Assert.AreEqual("walk/slow", BatchVideos.Subfolder(root, In("walk/slow/take.MOV")));
            Assert.AreEqual("", BatchVideos.Subfolder(root, In("a.mp4")));
            Assert.Throws<ArgumentException>(() => BatchVideos.Subfolder(In("walk"), In("a.mp4")));
            Assert.Throws<ArgumentException>(() => BatchVideos.ClipFor("Clips", root, In("walk/take.mp4"))); // not under Assets
        }

        [Test]
        public void AVideoInACvsSubfolderIsRefusedNamingTheFolder()
        {
            // Unity does not import a folder named cvs (in any case) either, and no other name is plainly the one meant.
            var e = Assert.Throws<ArgumentException>(() => BatchVideos.ClipFor("Assets/Clips", "Videos", Path.Combine("Videos", "walk", "CVS", "take.mp4")));
            Assert.AreEqual("its clip would go in Assets/Clips/walk/CVS, a folder Unity does not import: rename the subfolder "
                            + "Videos/walk/CVS", e.Message);
            e = Assert.Throws<ArgumentException>(() => BatchVideos.ClipFor("Assets/Clips/", root + "/", In("cvs~/old/take.mp4")));
            Assert.AreEqual("its clip would go in Assets/Clips/cvs, a folder Unity does not import: rename the subfolder "
                            + root.Replace('\\', '/') + "/cvs~", e.Message);
            Assert.AreEqual("Assets/Clips/cvs2/take.anim", BatchVideos.ClipFor("Assets/Clips", root, In("cvs2/take.mp4")));
            // An output folder that Unity does not import fails every video, as any bad output folder does.
            StringAssert.Contains("a folder Unity does not import", Assert.Throws<ArgumentException>(
                () => BatchVideos.ClipFor("Assets/CVS", root, In("a.mp4"))).Message);
        }

        [Test]
        public void SameNamedVideosInTwoSubfoldersDoNotClashButOneFolderOfTwoCasesDoes()
        {
            string[] videos = { In("run/take.mp4"), In("walk/take.mp4"), In("walk/Take.mov"), In("take.mp4"), In("jog/a.mp4"), In("jog~/a.mp4") };
            var clips = videos.Select(v => new KeyValuePair<string, string>(v, BatchVideos.ClipFor("Assets/Clips", root, v))).ToList();
            CollectionAssert.AreEqual(new[] { "Assets/Clips/run/take.anim", "Assets/Clips/walk/take.anim", "Assets/Clips/walk/Take.anim",
                                              "Assets/Clips/take.anim", "Assets/Clips/jog/a.anim", "Assets/Clips/jog/a.anim" }, clips.Select(c => c.Value));
            Dictionary<string, string> clashes = ClipPaths.Clashes(clips, v => BatchVideos.Relative(root, v));
            CollectionAssert.AreEquivalent(new[] { In("walk/take.mp4"), In("walk/Take.mov"), In("jog/a.mp4"), In("jog~/a.mp4") }, clashes.Keys);
            Assert.AreEqual("walk/take.mp4, walk/Take.mov would all become take.anim: rename all but one", clashes[In("walk/Take.mov")]);
            Assert.AreEqual("jog/a.mp4, jog~/a.mp4 would all become a.anim: rename all but one", clashes[In("jog~/a.mp4")]);
        }

        [Test]
        public void RecursiveIsAnArgumentThatTakesAFolderOnly()
        {
            Assert.IsFalse(BatchArguments.Parse(new[] { "-animgenInput", root }, null).Recursive);
            Assert.IsTrue(BatchArguments.Parse(new[] { "-animgenInput", root, "-animgenRecursive" }, null).Recursive);
            // As the CLI refuses `animgen generate walk.mp4 -r`.
            string video = In("a.mp4");
            var e = Assert.Throws<ArgumentException>(() => BatchArguments.Parse(new[] { "-animgenRecursive", "-animgenInput", video }, null));
            Assert.AreEqual("-animgenRecursive takes a folder of videos (and its subfolders); -animgenInput " + video + " is a file", e.Message);
            // A summary named as a video of a subfolder would be taken as one by the next batch.
            string summary = In("walk/run.mp4");
            e = Assert.Throws<ArgumentException>(() => BatchArguments.Parse(
                new[] { "-animgenInput", root, "-animgenRecursive", "-animgenSummary", summary }, null));
            StringAssert.EndsWith(": is a video of -animgenInput: name the summary apart", e.Message);
            Assert.AreEqual(summary, BatchArguments.Parse(new[] { "-animgenInput", root, "-animgenSummary", summary }, null).Summary);
        }
    }
}
