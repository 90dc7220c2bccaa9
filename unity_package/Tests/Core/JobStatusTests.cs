using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using NUnit.Framework;

namespace AnimGen.Core.Tests
{
    [TestFixture]
    public class JobStatusTests
    {
        static JobUpdate U(JobUpdateKind kind, string stage = null, float progress = 0f, string message = null, string jobId = null)
        {
            return new JobUpdate { Kind = kind, Stage = stage, Progress = progress, Message = message, JobId = jobId };
        }

        static JobStatus Started()
        {
            return new JobStatus()
                .Apply(U(JobUpdateKind.UploadStarted, message: "Assets/Videos/run.mp4"))
                .Apply(U(JobUpdateKind.UploadProgress, progress: 0.5f))
                .Apply(new JobUpdate { Kind = JobUpdateKind.JobStarted, JobId = "job-1", UploadId = "up-1" });
        }

        [Test]
        public void UploadThenStartQueuesTheJob()
        {
            var s = new JobStatus().Apply(U(JobUpdateKind.UploadStarted, message: "a.mp4"));
            Assert.AreEqual(JobPhase.Uploading, s.Phase);
            s = s.Apply(U(JobUpdateKind.UploadProgress, progress: 0.25f));
            Assert.AreEqual(0.25f, s.Progress);
            Assert.AreEqual("Uploading 25%", s.Describe());
            s = s.Apply(new JobUpdate { Kind = JobUpdateKind.JobStarted, JobId = "job-1", UploadId = "up-1" });
            Assert.AreEqual(JobPhase.Queued, s.Phase);
            Assert.AreEqual("job-1", s.JobId);
            Assert.AreEqual(0f, s.Progress);
            Assert.IsTrue(s.NeedsWatching);
        }

        [Test]
        public void ServerEventsDriveRunningToSucceeded()
        {
            var s = Started()
                .Apply(U(JobUpdateKind.StageStarted, "pose", 0.05f))
                .Apply(U(JobUpdateKind.StageProgress, "pose", 0.40f));
            Assert.AreEqual(JobPhase.Running, s.Phase);
            Assert.AreEqual("pose", s.Stage);
            Assert.AreEqual("Pose 40%", s.Describe());
            s = s.Apply(U(JobUpdateKind.Warning, message: "hands not found in 30% of frames"));
            s = s.Apply(U(JobUpdateKind.StageStarted, "export", 0.9f)).Apply(U(JobUpdateKind.Done));
            Assert.AreEqual(JobPhase.Succeeded, s.Phase);
            Assert.AreEqual(1f, s.Progress);
            Assert.AreEqual(1, s.Warnings.Count);
            Assert.IsTrue(s.IsTerminal);
            Assert.IsFalse(s.NeedsWatching);
        }

        [Test]
        public void ProgressNeverGoesBackwardsAndIsClamped()
        {
            var s = Started().Apply(U(JobUpdateKind.StageProgress, "pose", 0.6f)).Apply(U(JobUpdateKind.StageProgress, "pose", 0.3f));
            Assert.AreEqual(0.6f, s.Progress);
            s = s.Apply(U(JobUpdateKind.StageProgress, "pose", 7f));
            Assert.AreEqual(1f, s.Progress);
        }

        [Test]
        public void FailureKeepsTheServerMessage()
        {
            var s = Started().Apply(U(JobUpdateKind.Failed, message: "no person found in the video"));
            Assert.AreEqual(JobPhase.Failed, s.Phase);
            Assert.AreEqual("Failed: no person found in the video", s.Describe());
        }

        [Test]
        public void InterruptedBecomesFailedWithAdvice()
        {
            var s = Started().Apply(U(JobUpdateKind.StageStarted, "pose")).Apply(U(JobUpdateKind.Interrupted));
            Assert.AreEqual(JobPhase.Failed, s.Phase);
            Assert.AreEqual(JobStatus.InterruptedMessage, s.Message);
        }

        [Test]
        public void CancelledIsTerminalAndIgnoresLateEvents()
        {
            var s = Started().Apply(U(JobUpdateKind.Cancelled));
            Assert.AreEqual(JobPhase.Cancelled, s.Phase);
            var late = s.Apply(U(JobUpdateKind.StageProgress, "pose", 0.9f)).Apply(U(JobUpdateKind.Done));
            Assert.AreEqual(JobPhase.Cancelled, late.Phase);
            Assert.AreEqual(0f, late.Progress);
        }

        [Test]
        public void AnUploadCanBeCancelled()
        {
            var s = new JobStatus().Apply(U(JobUpdateKind.UploadStarted, message: "a.mp4")).Apply(U(JobUpdateKind.Cancelled));
            Assert.AreEqual(JobPhase.Cancelled, s.Phase);
            Assert.AreEqual(JobPhase.Cancelled, s.Apply(new JobUpdate { Kind = JobUpdateKind.JobStarted, JobId = "late" }).Phase);
        }

        [Test]
        public void AFullQueueIsWaitedOutBeforeTheJobExists()
        {
            const string said = "the server's queue is full; trying again every 5 s for up to 10 min";
            var s = new JobStatus().Apply(U(JobUpdateKind.UploadStarted, message: "a.mp4"))
                .Apply(U(JobUpdateKind.UploadProgress, progress: 1f)).Apply(U(JobUpdateKind.QueueFull, message: said));
            Assert.AreEqual(JobPhase.Waiting, s.Phase);
            Assert.AreEqual(said, s.Message);
            Assert.AreEqual("Waiting for room on the server", s.Describe());
            Assert.IsTrue(s.Starting);
            Assert.IsFalse(s.NeedsWatching);
            Assert.AreEqual(JobPhase.Waiting, s.Apply(U(JobUpdateKind.UploadStarted, message: "b.mp4")).Phase);
            var started = s.Apply(new JobUpdate { Kind = JobUpdateKind.JobStarted, JobId = "job-1", UploadId = "up-1" });
            Assert.AreEqual(JobPhase.Queued, started.Phase);
            Assert.AreEqual("", started.Message);
            Assert.AreEqual(JobPhase.Queued, started.Apply(U(JobUpdateKind.QueueFull, message: said)).Phase);
            Assert.AreEqual(JobPhase.Cancelled, s.Apply(U(JobUpdateKind.Cancelled)).Phase);
            var failed = s.Apply(U(JobUpdateKind.ClientError, message: "the queue is full (waited 10 min for room)"));
            Assert.AreEqual(JobPhase.Failed, failed.Phase);
            Assert.AreEqual("the queue is full (waited 10 min for room)", failed.Message);
            // A script reload ends the wait (its task is gone): pressing Generate again starts over.
            var reloaded = JobStatus.Deserialize(s.Serialize());
            Assert.AreEqual(JobPhase.Waiting, reloaded.Phase);
            Assert.AreEqual(JobStatus.WaitInterruptedMessage, reloaded.AfterReload().Message);
            Assert.AreEqual(JobPhase.Failed, reloaded.AfterReload().Phase);
        }

        [Test]
        public void AStartJobAskedAgainIsNotSaidAsAFullQueue()
        {
            // The window says the asking again after a slow StartJob as it says a full queue (QueueFull, Waiting), but
            // its label does not claim the queue is full, nor does the status after a script reload.
            var s = new JobStatus().Apply(U(JobUpdateKind.UploadStarted, message: "a.mp4"))
                .Apply(U(JobUpdateKind.UploadProgress, progress: 1f))
                .Apply(U(JobUpdateKind.QueueFull, message: QueueWait.AskingAgain));
            Assert.AreEqual(JobPhase.Waiting, s.Phase);
            Assert.IsTrue(s.Starting);
            Assert.AreEqual(QueueWait.AskingAgain, s.Message);
            Assert.AreEqual("Waiting for the server to start the job", s.Describe());
            Assert.AreEqual(JobStatus.StartInterruptedMessage, JobStatus.Deserialize(s.Serialize()).AfterReload().Message);
            // A full queue after it, or before it, is said as such.
            var full = s.Apply(U(JobUpdateKind.QueueFull, message: QueueWait.Saying(TimeSpan.FromSeconds(5), QueueWait.Longest)));
            Assert.AreEqual("Waiting for room on the server", full.Describe());
            Assert.AreEqual("Waiting for the server to start the job",
                full.Apply(U(JobUpdateKind.QueueFull, message: QueueWait.AskingAgain)).Describe());
            Assert.AreEqual(JobPhase.Queued, s.Apply(new JobUpdate { Kind = JobUpdateKind.JobStarted, JobId = "job-1", UploadId = "up-1" }).Phase);
        }

        [Test]
        public void ALostServerIsShownInAnyPhaseUntilItAnswersOrTheJobEnds()
        {
            const string lost = "lost the server; trying to reach it again for up to 2 min";
            var running = Started().Apply(U(JobUpdateKind.StageProgress, "pose", 0.4f));
            var s = running.Apply(U(JobUpdateKind.ServerLost, message: lost));
            Assert.AreEqual(JobPhase.Running, s.Phase);
            Assert.AreEqual(lost, s.Lost);
            Assert.AreEqual("Waiting for the server", s.Describe());
            Assert.IsTrue(s.NeedsWatching);
            Assert.AreEqual("", s.Apply(U(JobUpdateKind.ServerReached)).Lost);
            Assert.AreEqual("Pose 40%", s.Apply(U(JobUpdateKind.ServerReached)).Describe());
            // While the upload waits for it too; and a failure, or a reload (its task gone), ends the wait.
            Assert.AreEqual(lost, new JobStatus().Apply(U(JobUpdateKind.UploadStarted, message: "a.mp4"))
                .Apply(U(JobUpdateKind.ServerLost, message: lost)).Lost);
            Assert.AreEqual("", s.Apply(U(JobUpdateKind.ClientError, message: "gave up")).Lost);
            Assert.AreEqual("", JobStatus.Deserialize(s.Serialize()).AfterReload().Lost);
            Assert.AreEqual(lost, JobStatus.Deserialize(s.Serialize()).Lost);
            Assert.AreEqual("", new JobStatus().Apply(U(JobUpdateKind.ServerLost, message: lost)).Lost);
        }

        [Test]
        public void AnInterruptedJobStartedAgainIsQueuedAgainAndKeepsItsWarnings()
        {
            var s = Started().Apply(U(JobUpdateKind.StageProgress, "pose", 0.6f)).Apply(U(JobUpdateKind.Warning, message: "w1"))
                .Apply(new JobUpdate { Kind = JobUpdateKind.Restarted, JobId = "job-1" });
            Assert.AreEqual(JobPhase.Queued, s.Phase);
            Assert.AreEqual(0f, s.Progress);
            Assert.AreEqual(1, s.Restarts);
            s = s.Apply(U(JobUpdateKind.Warning, message: "w1")).Apply(U(JobUpdateKind.StageProgress, "pose", 0.2f));
            CollectionAssert.AreEqual(new[] { "w1" }, s.Warnings); // the watch attached again replays it: said once
            Assert.AreEqual("Pose 20%", s.Describe());
            Assert.AreEqual(1, JobStatus.Deserialize(s.Serialize()).Restarts); // counted across a reload
            // Only a job that is still followed is started again.
            var done = s.Apply(U(JobUpdateKind.Done)).Apply(new JobUpdate { Kind = JobUpdateKind.Restarted });
            Assert.AreEqual(JobPhase.Succeeded, done.Phase);
            Assert.AreEqual(1, done.Restarts);
        }

        [Test]
        public void ACancelTheServerCouldNotBeToldOfSaysTheJob()
        {
            string said = Outage.CouldNotCancel("job-1");
            var s = Started().Apply(U(JobUpdateKind.ServerLost, message: "lost")).Apply(U(JobUpdateKind.Abandoned, message: said));
            Assert.AreEqual(JobPhase.Cancelled, s.Phase);
            Assert.AreEqual(said, s.Message);
            Assert.AreEqual("", s.Lost);
            // Also after the watch, its wait ended by Cancel, said Cancelled; not after another end.
            Assert.AreEqual(said, Started().Apply(U(JobUpdateKind.Cancelled)).Apply(U(JobUpdateKind.Abandoned, message: said)).Message);
            Assert.AreEqual(JobPhase.Succeeded, Started().Apply(U(JobUpdateKind.Done)).Apply(U(JobUpdateKind.Abandoned, message: said)).Phase);
        }

        [Test]
        public void EventsBeforeAJobExistAreIgnored()
        {
            var s = new JobStatus().Apply(U(JobUpdateKind.Done)).Apply(U(JobUpdateKind.StageStarted, "pose"));
            Assert.AreEqual(JobPhase.Idle, s.Phase);
            s = new JobStatus().Apply(U(JobUpdateKind.ClientError, message: "x"));
            Assert.AreEqual(JobPhase.Idle, s.Phase);
        }

        [Test]
        public void EventsOfAnotherJobAreIgnored()
        {
            var s = Started().Apply(U(JobUpdateKind.Done, jobId: "job-2"));
            Assert.AreEqual(JobPhase.Queued, s.Phase);
        }

        [Test]
        public void ClientErrorFailsAnUpload()
        {
            var s = new JobStatus().Apply(U(JobUpdateKind.UploadStarted, message: "a.mp4"))
                .Apply(U(JobUpdateKind.ClientError, message: "cannot reach the AnimGen server at localhost:50051"));
            Assert.AreEqual(JobPhase.Failed, s.Phase);
            Assert.AreEqual("cannot reach the AnimGen server at localhost:50051", s.Message);
        }

        [Test]
        public void ANewUploadIsRefusedWhileAJobRuns()
        {
            var s = Started().Apply(U(JobUpdateKind.UploadStarted, message: "b.mp4"));
            Assert.AreEqual(JobPhase.Queued, s.Phase);
            Assert.AreEqual("Assets/Videos/run.mp4", s.VideoPath);
            s = s.Apply(U(JobUpdateKind.Done)).Apply(U(JobUpdateKind.UploadStarted, message: "b.mp4"));
            Assert.AreEqual(JobPhase.Uploading, s.Phase);
            Assert.AreEqual("", s.JobId);
        }

        [Test]
        public void ReplayedWarningsAreKeptOnceEvenAfterTheEnd()
        {
            // Heard live, then a domain reload and a re-attach: WatchJob replays every warning after the state.
            var s = Started().Apply(U(JobUpdateKind.Warning, message: "lower body out of frame from 3.4 s to 4.4 s"));
            s = s.AfterReload()
                .Apply(new JobUpdate { Kind = JobUpdateKind.ServerState, State = ServerJobState.Succeeded, JobId = "job-1" })
                .Apply(U(JobUpdateKind.Warning, message: "lower body out of frame from 3.4 s to 4.4 s", jobId: "job-1"))
                .Apply(U(JobUpdateKind.Warning, message: "no person detected from 1.1 s to 1.6 s", jobId: "job-1"))
                .Apply(U(JobUpdateKind.Done, jobId: "job-1"));
            Assert.AreEqual(JobPhase.Succeeded, s.Phase);
            CollectionAssert.AreEqual(new[] { "lower body out of frame from 3.4 s to 4.4 s", "no person detected from 1.1 s to 1.6 s" }, s.Warnings);
            // A warning with no job to belong to is dropped.
            Assert.AreEqual(0, new JobStatus().Apply(U(JobUpdateKind.Warning, message: "x")).Warnings.Count);
        }

        [TestCase(ServerJobState.Queued, JobPhase.Queued)]
        [TestCase(ServerJobState.Running, JobPhase.Running)]
        [TestCase(ServerJobState.Succeeded, JobPhase.Succeeded)]
        [TestCase(ServerJobState.Failed, JobPhase.Failed)]
        [TestCase(ServerJobState.Cancelled, JobPhase.Cancelled)]
        [TestCase(ServerJobState.Interrupted, JobPhase.Failed)]
        public void ReattachTakesTheServersState(ServerJobState server, JobPhase expected)
        {
            // After a domain reload the first WatchJob event carries the job's state, whatever we believed.
            var s = Started().Apply(new JobUpdate { Kind = JobUpdateKind.ServerState, State = server, JobId = "job-1", Stage = "refine", Progress = 0.7f, Message = "boom" });
            Assert.AreEqual(expected, s.Phase);
        }

        [Test]
        public void SerializedStatusRoundTrips()
        {
            var s = Started().Apply(U(JobUpdateKind.StageProgress, "generate", 0.123456789f))
                .Apply(U(JobUpdateKind.Warning, message: "quote \" backslash \\ newline \n unicode \u00e9"));
            string text = s.Serialize();
            var back = JobStatus.Deserialize(text);
            Assert.AreEqual(s.Phase, back.Phase);
            Assert.AreEqual(s.JobId, back.JobId);
            Assert.AreEqual(s.UploadId, back.UploadId);
            Assert.AreEqual(s.VideoPath, back.VideoPath);
            Assert.AreEqual(s.Stage, back.Stage);
            Assert.AreEqual(s.Progress, back.Progress); // exact: floats are written with G9
            Assert.AreEqual(s.Warnings, back.Warnings);
            Assert.AreEqual(text, back.Serialize());
            Assert.IsTrue(back.NeedsWatching);
        }

        [Test]
        public void FramesReadSurviveAReload()
        {
            var done = Started().Apply(U(JobUpdateKind.Done));
            done.Frames = 47;
            done.DetectedShare = 0.70212f;
            var back = JobStatus.Deserialize(done.Serialize()).AfterReload();
            Assert.AreEqual(JobPhase.Succeeded, back.Phase);
            Assert.AreEqual(47, back.Frames);
            Assert.AreEqual(0.70212f, back.DetectedShare); // exact: floats are written with G9
            Assert.AreEqual(0, Started().Frames, "not told until the result is in");
            Assert.AreEqual(0, back.Apply(U(JobUpdateKind.Reset)).Frames, "a new job starts without them");
            Assert.AreEqual(47, back.Apply(U(JobUpdateKind.Warning, message: "late", jobId: "job-1")).Frames);
        }

        [Test]
        public void FramesReadAreSaidAsTheCliSaysThem()
        {
            // server/animgen_server/cmd_generate.py: f"person detected in {100 * detected:.1f}%", detected the float.
            Assert.AreEqual("47 frames read; person detected in 70.2%", JobStatus.FramesRead(47, 0.70212f));
            Assert.AreEqual("1 frames read; person detected in 100.0%", JobStatus.FramesRead(1, 1f));
            Assert.AreEqual("90 frames read; person detected in 0.0%", JobStatus.FramesRead(90, 0f));
            Assert.AreEqual("2000 frames read; person detected in 99.9%", JobStatus.FramesRead(2000, 0.9994f));
            // A tie goes to the even digit, as Python rounds 6.25 (1 of 16 frames): 6.2, and 0.375 x 100: 37.5.
            Assert.AreEqual("16 frames read; person detected in 6.2%", JobStatus.FramesRead(16, 0.0625f));
            Assert.AreEqual("32 frames read; person detected in 9.4%", JobStatus.FramesRead(32, 0.09375f));
            Assert.AreEqual("8 frames read; person detected in 37.5%", JobStatus.FramesRead(8, 0.375f));
            // 0 frames: an older server, which tells neither; nothing is said.
            Assert.AreEqual("", JobStatus.FramesRead(0, 0f));
            Assert.AreEqual("", JobStatus.FramesRead(0, 0.5f));
            Assert.AreEqual("3 frames read", JobStatus.FramesRead(3, float.NaN));
        }

        [Test]
        public void FramesReadAreTheSameUnderACommaCulture()
        {
            CultureInfo before = Thread.CurrentThread.CurrentCulture;
            try
            {
                Thread.CurrentThread.CurrentCulture = new CultureInfo("de-DE");
                Assert.AreEqual("70,2", 70.2.ToString(), "the culture writes a decimal comma");
                Assert.AreEqual("12345 frames read; person detected in 70.2%", JobStatus.FramesRead(12345, 0.70212f));
            }
            finally { Thread.CurrentThread.CurrentCulture = before; }
        }

        [Test]
        public void UnreadableStateGivesIdle()
        {
            Assert.AreEqual(JobPhase.Idle, JobStatus.Deserialize("").Phase);
            Assert.AreEqual(JobPhase.Idle, JobStatus.Deserialize("{not json").Phase);
            Assert.AreEqual(JobPhase.Idle, JobStatus.Deserialize("{\"phase\":\"Exploded\"}").Phase);
        }

        [Test]
        public void AfterReloadAnUploadFailsButAJobKeepsRunning()
        {
            var uploading = new JobStatus().Apply(U(JobUpdateKind.UploadStarted, message: "a.mp4"));
            Assert.AreEqual(JobPhase.Failed, uploading.AfterReload().Phase);
            Assert.AreEqual(JobStatus.UploadInterruptedMessage, uploading.AfterReload().Message);
            var running = Started().Apply(U(JobUpdateKind.StageStarted, "pose", 0.2f));
            Assert.AreEqual(JobPhase.Running, JobStatus.Deserialize(running.Serialize()).AfterReload().Phase);
        }

        [Test]
        public void SettingsValidateAndRoundTrip()
        {
            var g = new GenerateSettings { Smoothing = 1.5f, Trim = true, StartSeconds = 3f, EndSeconds = 2f, UseVideoFps = false, Fps = 0f };
            List<string> problems = g.Problems();
            Assert.AreEqual(3, problems.Count, string.Join("\n", problems.ToArray()));
            StringAssert.StartsWith("Smoothing", problems[0]);
            StringAssert.StartsWith("Trim end", problems[1]);
            StringAssert.StartsWith("Frame rate", problems[2]);
            foreach (string bad in new[] { "", "2Steps", "On Footstep", "OnFootstep\n", null })
            {
                var f = new GenerateSettings { Footsteps = true, FootstepFunction = bad };
                Assert.AreEqual(1, f.Problems().Count, "'" + bad + "'");
                StringAssert.StartsWith("Footstep function must be a method name", f.Problems()[0]);
            }
            Assert.AreEqual(0, new GenerateSettings { FootstepFunction = "" }.Problems().Count, "no events, no function needed");
            Assert.AreEqual("OnFootstep", new GenerateSettings().FootstepFunction);
            var defaults = new GenerateSettings();
            Assert.IsTrue(defaults.FootLock && !defaults.Analytic && !defaults.FaceForward, "the server's defaults");
            var ok = new GenerateSettings { Hands = true, Smoothing = 0.3f, Loop = true, InPlace = true, UseVideoFps = false, Fps = 24f,
                Footsteps = true, FootstepFunction = "_PlayStep2", Analytic = true, FaceForward = true, FootLock = false };
            Assert.AreEqual(0, ok.Problems().Count);
            var back = GenerateSettings.Deserialize(ok.Serialize());
            Assert.AreEqual(ok.Serialize(), back.Serialize());
            Assert.IsTrue(back.Hands && back.Loop && back.InPlace && !back.UseVideoFps && back.Footsteps);
            Assert.IsTrue(back.Analytic && back.FaceForward && !back.FootLock);
            Assert.IsTrue(GenerateSettings.Deserialize("{\"hands\": true}").FootLock, "settings kept before the option: on");
            Assert.AreEqual(24f, back.Fps);
            Assert.AreEqual("_PlayStep2", back.FootstepFunction);
            // A crop as the server takes it (pose.crop_problem): a corner at 0 or more, at least 32 by 32 pixels.
            var crop = new GenerateSettings { Crop = true, CropX = 640, CropY = 0, CropWidth = 640, CropHeight = 720 };
            Assert.AreEqual(0, crop.Problems().Count);
            back = GenerateSettings.Deserialize(crop.Serialize());
            Assert.IsTrue(back.Crop);
            Assert.AreEqual(new[] { 640, 0, 640, 720 }, new[] { back.CropX, back.CropY, back.CropWidth, back.CropHeight });
            StringAssert.StartsWith("Crop's corner", new GenerateSettings { Crop = true, CropX = -1 }.Problems()[0]);
            StringAssert.StartsWith("Crop's width and height must be at least 32 pixels, got 31 x 720",
                new GenerateSettings { Crop = true, CropWidth = 31 }.Problems()[0]);
            Assert.AreEqual(0, new GenerateSettings { Crop = false, CropWidth = 0 }.Problems().Count, "off: not looked at");
        }
    }
}

namespace AnimGen.Core.Tests
{
    [TestFixture]
    public class BatchArgumentsTests
    {
        [Test]
        public void ParsesTheCiArguments()
        {
            var a = BatchArguments.Parse(new[] { "-batchmode", "-projectPath", "/p", "-executeMethod", "AnimGen.Editor.BatchGenerate.Run",
                "-animgenInput", "Videos", "-animgenOutput", "Assets/Clips/", "-animgenServer", "build:6000", "-animgenLoop", "-animgenFps", "24" }, "env-token");
            Assert.AreEqual("Videos", a.InputFolder);
            Assert.AreEqual("Assets/Clips", a.OutputFolder);
            Assert.AreEqual("build:6000", a.Server);
            Assert.AreEqual("env-token", a.Token);
            Assert.IsTrue(a.Settings.Loop);
            Assert.IsFalse(a.Settings.UseVideoFps);
            Assert.AreEqual(24f, a.Settings.Fps);
            Assert.AreEqual(60f, a.TimeoutMinutes);
            Assert.AreEqual(5f, BatchArguments.Parse(new[] { "-animgenInput", "V", "-animgenTimeout", "5" }, null).TimeoutMinutes);
            Assert.AreEqual(1, a.Jobs); // one video at a time unless asked
            Assert.AreEqual(4, BatchArguments.Parse(new[] { "-animgenInput", "V", "-animgenJobs", "4" }, null).Jobs);
            Assert.AreEqual(64, BatchArguments.Parse(new[] { "-animgenInput", "V", "-animgenJobs", "64" }, null).Jobs);
            Assert.IsFalse(a.Settings.Footsteps);
            Assert.IsTrue(a.Settings.FootLock && !a.Settings.Analytic && !a.Settings.FaceForward);
            var more = BatchArguments.Parse(new[] { "-animgenInput", "V", "-animgenGenerator", "analytic", "-animgenNoFootLock",
                "-animgenFaceForward" }, null).Settings;
            Assert.IsTrue(more.Analytic && !more.FootLock && more.FaceForward);
            Assert.IsFalse(BatchArguments.Parse(new[] { "-animgenInput", "V", "-animgenGenerator", "network" }, null).Settings.Analytic);
            var steps = BatchArguments.Parse(new[] { "-animgenInput", "V", "-animgenFootsteps" }, null).Settings;
            Assert.IsTrue(steps.Footsteps);
            Assert.AreEqual("OnFootstep", steps.FootstepFunction);
            steps = BatchArguments.Parse(new[] { "-animgenInput", "V", "-animgenFootstepFunction", "PlayStep" }, null).Settings;
            Assert.IsTrue(steps.Footsteps);
            Assert.AreEqual("PlayStep", steps.FootstepFunction);
            var crop = BatchArguments.Parse(new[] { "-animgenInput", "V", "-animgenCrop", "640,0,640,720" }, null).Settings;
            Assert.IsTrue(crop.Crop);
            Assert.AreEqual(new[] { 640, 0, 640, 720 }, new[] { crop.CropX, crop.CropY, crop.CropWidth, crop.CropHeight });
            Assert.IsFalse(a.Settings.Crop);
        }

        [TestCase(new string[0], "-animgenInput DIR is required")]
        [TestCase(new[] { "-animgenInput" }, "-animgenInput needs a value")]
        [TestCase(new[] { "-animgenInput", "V", "-animgenOutput", "/tmp/x" }, "-animgenOutput: the clip folder must be Assets or a folder under it")]
        [TestCase(new[] { "-animgenInput", "V", "-animgenFps", "fast" }, "-animgenFps needs a number")]
        [TestCase(new[] { "-animgenInput", "V", "-animgenSmoothing", "3" }, "Smoothing must be between 0 and 1")]
        [TestCase(new[] { "-animgenInput", "V", "-animgenSpeed", "2" }, "unknown argument -animgenSpeed")]
        [TestCase(new[] { "-animgenInput", "V", "-animgenServer", "build 6000" }, "-animgenServer: The server address")]
        [TestCase(new[] { "-animgenInput", "V", "-animgenFps", "0.5" }, "Frame rate must be between 1 and 240")]
        [TestCase(new[] { "-animgenInput", "V", "-animgenTimeout", "0" }, "-animgenTimeout must be between 0 and 1440")]
        [TestCase(new[] { "-animgenInput", "V", "-animgenJobs", "0" }, "-animgenJobs must be a whole number from 1 to 64, got '0'")]
        [TestCase(new[] { "-animgenInput", "V", "-animgenJobs", "65" }, "-animgenJobs must be a whole number from 1 to 64, got '65'")]
        [TestCase(new[] { "-animgenInput", "V", "-animgenJobs", "1.5" }, "-animgenJobs must be a whole number from 1 to 64, got '1.5'")]
        [TestCase(new[] { "-animgenInput", "V", "-animgenJobs", "-2" }, "-animgenJobs must be a whole number from 1 to 64, got '-2'")]
        [TestCase(new[] { "-animgenInput", "V", "-animgenJobs" }, "-animgenJobs needs a value")]
        [TestCase(new[] { "-animgenInput", "V", "-animgenFootstepFunction", "play step" }, "Footstep function must be a method name")]
        [TestCase(new[] { "-animgenInput", "V", "-animgenFootstepFunction" }, "-animgenFootstepFunction needs a value")]
        [TestCase(new[] { "-animgenInput", "V", "-animgenCrop", "640,0,640" }, "-animgenCrop wants four whole numbers of pixels X,Y,W,H")]
        [TestCase(new[] { "-animgenInput", "V", "-animgenCrop", "0,0,16,720" }, "Crop's width and height must be at least 32 pixels")]
        [TestCase(new[] { "-animgenInput", "V", "-animgenGenerator", "neural" }, "-animgenGenerator must be network or analytic, got 'neural'")]
        [TestCase(new[] { "-animgenInput", "V", "-animgenToken", "p\u00e4ssw\u00f6rd" }, "-animgenToken (or ANIMGEN_TOKEN): The token must be printable ASCII")]
        public void BadArgumentsAreNamed(string[] args, string message)
        {
            var e = Assert.Throws<System.ArgumentException>(() => BatchArguments.Parse(args, null));
            StringAssert.StartsWith(message, e.Message);
        }
    }
}
