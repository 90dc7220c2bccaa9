using System;
using System.IO;
using NUnit.Framework;

namespace AnimGen.Core.Tests
{
    /// <summary>Where "Start local server" finds animgen, on real folders: the path set in the window (the file, or
    /// a folder holding it), else PATH; each miss is refused by a message that names what was looked for.</summary>
    [TestFixture]
    public class ServerExecutableTests
    {
        string root;

        [SetUp]
        public void MakeFolders()
        {
            root = Path.Combine(Path.GetTempPath(), "animgen-exe-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Path.Combine(root, "repo", ".venv", "bin"));
            Directory.CreateDirectory(Path.Combine(root, "repo", ".venv", "Scripts"));
            Directory.CreateDirectory(Path.Combine(root, "empty"));
            File.WriteAllText(Path.Combine(root, "repo", ".venv", "bin", "animgen"), "#!/bin/sh\n");
            File.WriteAllText(Path.Combine(root, "repo", ".venv", "Scripts", "animgen.exe"), "MZ");
        }

        [TearDown]
        public void RemoveFolders() { Directory.Delete(root, true); }

        string P(params string[] parts) { return Path.Combine(root, Path.Combine(parts)); }

        [Test]
        public void SetPathsFindTheExecutableInTheRepositoryOrItsVenv()
        {
            string unix = P("repo", ".venv", "bin", "animgen");
            Assert.AreEqual(unix, ServerExecutable.Locate(unix, "", false));
            Assert.AreEqual(unix, ServerExecutable.Locate(" \"" + P("repo") + "\" ", "", false));
            Assert.AreEqual(unix, ServerExecutable.Locate(P("repo", ".venv"), "", false));
            Assert.AreEqual(unix, ServerExecutable.Locate(P("repo", ".venv", "bin"), "", false));
            Assert.AreEqual(P("repo", ".venv", "Scripts", "animgen.exe"), ServerExecutable.Locate(P("repo"), "", true));
        }

        [Test]
        public void ASetPathWinsOverPath()
        {
            Directory.CreateDirectory(P("other"));
            File.WriteAllText(P("other", "animgen"), "");
            Assert.AreEqual(P("repo", ".venv", "bin", "animgen"), ServerExecutable.Locate(P("repo"), P("other"), false));
            Assert.AreEqual(P("other", "animgen"), ServerExecutable.Locate("", P("empty") + Path.PathSeparator + P("other"), false));
        }

        [Test]
        public void MissesNameWhatWasLookedFor()
        {
            var e = Assert.Throws<ArgumentException>(() => ServerExecutable.Locate(P("empty"), P("repo", ".venv", "bin"), false));
            StringAssert.Contains("no animgen in '" + P("empty") + "'", e.Message);
            e = Assert.Throws<ArgumentException>(() => ServerExecutable.Locate(P("nowhere", "animgen"), "", false));
            StringAssert.Contains("'" + P("nowhere", "animgen") + "' does not exist", e.Message);
            e = Assert.Throws<ArgumentException>(() => ServerExecutable.Locate("", P("empty") + Path.PathSeparator, false));
            StringAssert.Contains("not on the Editor's PATH", e.Message);
            StringAssert.Contains("repository folder", e.Message);
        }
    }
}
