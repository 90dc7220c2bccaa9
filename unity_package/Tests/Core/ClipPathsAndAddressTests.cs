using System;
using NUnit.Framework;

namespace AnimGen.Core.Tests
{
    /// <summary>Where clips go, the token and the local server's port: each bad input is refused by a message that
    /// names it, before anything is uploaded.</summary>
    [TestFixture]
    public class ClipPathsAndAddressTests
    {
        [Test]
        public void ClipFolderMustBeUnderAssets()
        {
            Assert.AreEqual("Assets/Clips/Run", ClipPaths.Folder("Assets\\Clips\\Run\\"));
            Assert.AreEqual("Assets", ClipPaths.Folder("Assets/"));
            foreach (string bad in new[] { "", "Clips", "/Assets/Clips", "AssetsX/Clips", "Assets//Clips", "Assets/../Packages" })
            {
                var e = Assert.Throws<ArgumentException>(() => ClipPaths.Folder(bad), bad);
                StringAssert.Contains("clip folder", e.Message);
            }
        }

        [Test]
        public void AClipFolderUnityDoesNotImportIsRefusedByName()
        {
            // Unity's import leaves out a name that starts with '.', ends in '~', or is cvs in any case: a clip saved
            // there would never show.
            foreach (string name in new[] { ".hidden", "raw~", "~", "cvs", "CVS", "Cvs" })
            {
                Assert.IsTrue(ClipPaths.NotImported(name), name);
                var e = Assert.Throws<ArgumentException>(() => ClipPaths.Folder("Assets/Clips/" + name + "/Run"), name);
                Assert.AreEqual("the clip folder 'Assets/Clips/" + name + "/Run' is in " + name + ", a folder Unity does not "
                                + "import (a name that starts with '.', ends in '~' or is cvs)", e.Message);
                Assert.Throws<ArgumentException>(() => ClipPaths.ForVideo("Assets/" + name, "walk.mp4"), name);
            }
            foreach (string name in new[] { "cvs2", "my cvs", "a~b", "a.b", "Clips" })
                Assert.IsFalse(ClipPaths.NotImported(name), name);
            Assert.AreEqual("Assets/cvs2/a~b/walk.anim", ClipPaths.ForVideo("Assets/cvs2/a~b", "walk.mp4"));
        }

        [Test]
        public void AnAddressWithoutAPortDialsTheServersPort()
        {
            Assert.AreEqual("http://127.0.0.1:50051", ServerAddress.Url(""));
            Assert.AreEqual("http://127.0.0.1:50051", ServerAddress.Url(" 127.0.0.1 "), "not HTTP's port 80");
            Assert.AreEqual("http://farm:6000", ServerAddress.Url("farm:6000"));
            Assert.AreEqual("http://farm:6000", ServerAddress.Url("http://farm:6000/"));
            Assert.AreEqual("https://farm:50051", ServerAddress.Url("https://farm"), "not HTTPS's port 443");
            Assert.AreEqual("https://farm:8443", ServerAddress.Url("https://farm:8443"));
            Assert.AreEqual("http://[::1]:7", ServerAddress.Url("[::1]:7"));
            Assert.AreEqual("http://[::1]:50051", ServerAddress.Url("http://[::1]"));
            Assert.IsNotNull(ServerAddress.Problem("127.0.0.1:99999"), "past 65535");
            Assert.IsNotNull(ServerAddress.Problem("127.0.0.1:0"), "no server listens on port 0");
        }

        [Test]
        public void TokensThatCannotTravelAsAHeaderAreRefused()
        {
            foreach (string ok in new[] { null, "", "s3cr3t-token_+/=.~", " pasted with spaces \n" }) // sent trimmed
                Assert.IsNull(BearerToken.Problem(ok), ok);
            foreach (string bad in new[] { "p\u00e4ssw\u00f6rd", "a\tb", "two\nlines", "\u007f" })
                StringAssert.StartsWith("The token must be printable ASCII", BearerToken.Problem(bad), bad);
            StringAssert.DoesNotContain("ssw", BearerToken.Problem("p\u00e4ssw\u00f6rd"), "a secret is not echoed");
        }

        [Test]
        public void ClipIsNamedAfterTheVideoUnlessNamed()
        {
            Assert.AreEqual("Assets/AnimGen/walk.anim", ClipPaths.ForVideo("Assets/AnimGen", "/videos/walk.mp4"));
            Assert.AreEqual("Assets/AnimGen/Hero Walk.anim", ClipPaths.ForVideo("Assets/AnimGen/", "walk.mp4", " Hero Walk "));
            var e = Assert.Throws<ArgumentException>(() => ClipPaths.ForVideo("Assets/AnimGen", "walk.mp4", "a/b"));
            StringAssert.Contains("'a/b'", e.Message);
            Assert.Throws<ArgumentException>(() => ClipPaths.ForVideo("Assets/AnimGen", "walk.mp4", ".hidden"));
            Assert.Throws<ArgumentException>(() => ClipPaths.ForVideo("Clips", "walk.mp4"));
        }

        [Test]
        public void VideosThatWouldShareAClipAreNamed()
        {
            var clashes = ClipPaths.Clashes(new[] { "in/run.mp4", "in/walk.mp4", "in/Run.mov", "in/jump.mp4" });
            CollectionAssert.AreEquivalent(new[] { "in/run.mp4", "in/Run.mov" }, clashes.Keys);
            StringAssert.Contains("run.mp4, Run.mov", clashes["in/Run.mov"]);
            Assert.IsEmpty(ClipPaths.Clashes(new[] { "a.mp4", "b.mp4" }));
        }

        [Test]
        public void AddressesThatCannotBeDialledAreNamed()
        {
            foreach (string good in new[] { "", " ", "localhost:50051", "render-farm:50051", "10.0.0.5:6000",
                "http://localhost:50051", "https://animgen.studio.example:443/", "[::1]:7000" })
                Assert.IsNull(ServerAddress.Problem(good), good);
            foreach (string bad in new[] { "localhost 50051", "grpc://localhost:50051", "localhost:port",
                "http://localhost:50051/api", "http://" })
                StringAssert.Contains("is not HOST:PORT", ServerAddress.Problem(bad), bad);
        }

        [Test]
        public void LocalServerPortComesFromTheAddress()
        {
            Assert.AreEqual(50051, ServerAddress.LocalServerPort("localhost:50051"));
            Assert.AreEqual(6000, ServerAddress.LocalServerPort("http://127.0.0.1:6000/"));
            Assert.AreEqual(50051, ServerAddress.LocalServerPort("localhost"));
            Assert.AreEqual(50051, ServerAddress.LocalServerPort(" "));
            Assert.AreEqual(7000, ServerAddress.LocalServerPort("127.0.0.1:7000"));
            // the local server listens on IPv4 only: an IPv6 loopback address would never reach it
            foreach (string bad in new[] { "https://localhost", "https://localhost:50051", "render-farm:50051", "localhost:0",
                "localhost:99999", "localhost:port", "[::1]:7000" })
                Assert.Throws<ArgumentException>(() => ServerAddress.LocalServerPort(bad), bad);
        }
    }
}
