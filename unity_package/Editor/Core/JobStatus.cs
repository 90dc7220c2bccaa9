// The Editor's view of one generation job as a small state machine:
//   Idle -> Uploading -> [Waiting(message): the server's queue is full, or StartJob is asked again] -> Queued -> Running(stage, progress)
//        -> Succeeded | Failed(message) | Cancelled, and Running -> Queued again where a job a stop of the server
//        interrupted is started again (Restarted)
// Server events and client steps arrive as JobUpdates; JobStatus.Apply returns the next status. In any phase the
// server may be lost for a while (Lost: what the client says while it waits for it, AnimGen.Core.Outage). The status
// serializes to a string so that it survives a domain reload (the Editor keeps it in SessionState and
// re-attaches WatchJob to JobId).
using System;
using System.Collections.Generic;
using System.Globalization;

namespace AnimGen.Core
{
    public enum JobPhase { Idle, Uploading, Waiting, Queued, Running, Succeeded, Failed, Cancelled }

    /// <summary>What happened: client steps first, then the server's event types (animgen.v1.EventType).</summary>
    public enum JobUpdateKind
    {
        UploadStarted,   // Message: the video path
        UploadProgress,  // Progress: fraction uploaded
        QueueFull,       // Message: StartJob found the server's queue full and tries again (QueueWait.Saying's words),
                         // or timed out and asks again (QueueWait.AskingAgain)
        JobStarted,      // JobId, UploadId: StartJob answered
        ClientError,     // Message: a failure on the client's side (connection, file, status)
        Reset,           // back to Idle (the user dismissed the result)
        ServerLost,      // Message: the client waits for a server it cannot reach (Outage.Saying's words)
        ServerReached,   // it answers again
        Restarted,       // JobId: a job a stop of the server interrupted was started again (Outage.RunningAgain)
        Abandoned,       // Message: Cancel pressed, and the server could not be told (Outage.CouldNotCancel's words),
                         // or asked for the job StartJob may have made (JobStart.MayHaveStarted's)
        // Server events (JobEvent.type); ServerState carries the job's current state (the first WatchJob event).
        ServerState,
        Queued,
        StageStarted,
        StageProgress,
        StageFinished,
        Warning,
        Done,
        Failed,
        Cancelled,
        Interrupted,
    }

    /// <summary>The server's job states (animgen.v1.JobState), for ServerState updates.</summary>
    public enum ServerJobState { Unspecified, Queued, Running, Succeeded, Failed, Cancelled, Interrupted }

    public struct JobUpdate
    {
        public JobUpdateKind Kind;
        public ServerJobState State;   // ServerState only
        public string JobId;
        public string UploadId;
        public string Stage;
        public float Progress;         // overall progress 0..1
        public string Message;

        public static JobUpdate Of(JobUpdateKind kind) { return new JobUpdate { Kind = kind }; }
    }

    public sealed class JobStatus
    {
        public JobPhase Phase = JobPhase.Idle;
        public string JobId = "";
        public string UploadId = "";
        public string VideoPath = "";
        public string Stage = "";
        public float Progress;
        public string Message = ""; // Failed: why; Waiting: what the client does about the full queue (or a slow
                                    // StartJob: QueueWait.AskingAgain); Cancelled: a job the server could not be told
                                    // to cancel
        public string Lost = "";    // not empty while the client waits for a server it lost: what it says of that
        public int Restarts;        // how often the job was started again after a stop of the server interrupted it
        public List<string> Warnings = new List<string>();
        // Once the result is in: the video frames the server's pose stage read, and the share of them with a person
        // (Job.frames, Job.detected_share). 0 frames: not told (an older server sends neither).
        public int Frames;
        public float DetectedShare;

        public bool IsTerminal
        {
            get { return Phase == JobPhase.Succeeded || Phase == JobPhase.Failed || Phase == JobPhase.Cancelled; }
        }

        /// <summary>No job exists yet: the video is uploading, or StartJob waits for room in the server's queue.
        /// Cancel ends it on the client.</summary>
        public bool Starting
        {
            get { return Phase == JobPhase.Uploading || Phase == JobPhase.Waiting; }
        }

        /// <summary>A job exists on the server and may still change: WatchJob should be attached.</summary>
        public bool NeedsWatching
        {
            get { return (Phase == JobPhase.Queued || Phase == JobPhase.Running) && JobId.Length > 0; }
        }

        public JobStatus Clone()
        {
            var c = (JobStatus)MemberwiseClone();
            c.Warnings = new List<string>(Warnings);
            return c;
        }

        /// <summary>The status after update u. Stale updates (e.g. progress after the end) leave it as is.</summary>
        public JobStatus Apply(JobUpdate u)
        {
            var n = Next(u);
            if (n.Phase == JobPhase.Idle || n.Phase == JobPhase.Failed || n.Phase == JobPhase.Cancelled) n.Lost = ""; // no wait goes on
            return n;
        }

        JobStatus Next(JobUpdate u)
        {
            var n = Clone();
            bool setsJob = u.Kind == JobUpdateKind.JobStarted || u.Kind == JobUpdateKind.Restarted;
            if (u.JobId != null && u.JobId.Length > 0 && JobId.Length > 0 && u.JobId != JobId && !setsJob)
                return n; // an event of another job
            switch (u.Kind)
            {
                case JobUpdateKind.Reset:
                    return new JobStatus();
                case JobUpdateKind.UploadStarted:
                    if (Starting || Phase == JobPhase.Queued || Phase == JobPhase.Running) return n;
                    n = new JobStatus { Phase = JobPhase.Uploading, VideoPath = u.Message ?? "", Stage = "upload" };
                    return n;
                case JobUpdateKind.UploadProgress:
                    if (Phase != JobPhase.Uploading) return n;
                    n.Progress = Clamp01(u.Progress);
                    return n;
                case JobUpdateKind.QueueFull:
                    if (!Starting) return n;
                    n.Phase = JobPhase.Waiting;
                    n.Message = u.Message ?? "";
                    n.Stage = "";
                    n.Progress = 0f;
                    return n;
                case JobUpdateKind.JobStarted:
                    if (!Starting) return n;
                    n.Phase = JobPhase.Queued;
                    n.Message = "";
                    n.JobId = u.JobId ?? "";
                    n.UploadId = u.UploadId ?? "";
                    n.Stage = "";
                    n.Progress = 0f;
                    return n;
                case JobUpdateKind.ClientError:
                    if (IsTerminal || Phase == JobPhase.Idle) return n;
                    n.Phase = JobPhase.Failed;
                    n.Message = u.Message ?? "unknown error";
                    return n;
                case JobUpdateKind.ServerState:
                    return FromServerState(n, u);
                case JobUpdateKind.ServerLost:
                    n.Lost = u.Message ?? "";
                    return n;
                case JobUpdateKind.ServerReached:
                    n.Lost = "";
                    return n;
                case JobUpdateKind.Restarted:
                    if (Phase != JobPhase.Queued && Phase != JobPhase.Running) return n;
                    n.Phase = JobPhase.Queued;
                    if (!string.IsNullOrEmpty(u.JobId)) n.JobId = u.JobId;
                    n.Stage = "";
                    n.Progress = 0f;
                    n.Restarts++;
                    return n;
                case JobUpdateKind.Abandoned:
                    // Also after the watch, which Cancel ended while it waited for the server, said Cancelled.
                    if (Phase != JobPhase.Queued && Phase != JobPhase.Running && Phase != JobPhase.Cancelled) return n;
                    n.Phase = JobPhase.Cancelled;
                    n.Message = u.Message ?? "";
                    return n;
            }
            // The user may cancel an upload, or the wait for room, before any job exists.
            if (u.Kind == JobUpdateKind.Cancelled && Starting)
            {
                n.Phase = JobPhase.Cancelled;
                n.Message = "";
                return n;
            }
            // A warning belongs to the job in any phase: WatchJob replays the job's warnings after its state, also
            // once it has finished (so a window reloaded since still shows them). One already heard is not added twice.
            if (u.Kind == JobUpdateKind.Warning)
            {
                bool fresh = !string.IsNullOrEmpty(u.Message) && !n.Warnings.Contains(u.Message);
                if (JobId.Length > 0 && fresh) n.Warnings.Add(u.Message);
                return n;
            }
            // Every other kind is a server event: it only moves a job that is waiting or running.
            if (Phase != JobPhase.Queued && Phase != JobPhase.Running) return n;
            switch (u.Kind)
            {
                case JobUpdateKind.Queued:
                    n.Phase = JobPhase.Queued;
                    break;
                case JobUpdateKind.StageStarted:
                case JobUpdateKind.StageProgress:
                case JobUpdateKind.StageFinished:
                    n.Phase = JobPhase.Running;
                    if (!string.IsNullOrEmpty(u.Stage)) n.Stage = u.Stage;
                    n.Progress = Math.Max(n.Progress, Clamp01(u.Progress));
                    break;
                case JobUpdateKind.Done:
                    n.Phase = JobPhase.Succeeded;
                    n.Progress = 1f;
                    n.Stage = "";
                    break;
                case JobUpdateKind.Failed:
                    n.Phase = JobPhase.Failed;
                    n.Message = string.IsNullOrEmpty(u.Message) ? "the job failed" : u.Message;
                    break;
                case JobUpdateKind.Cancelled:
                    n.Phase = JobPhase.Cancelled;
                    break;
                case JobUpdateKind.Interrupted:
                    n.Phase = JobPhase.Failed;
                    n.Message = InterruptedMessage;
                    break;
            }
            return n;
        }

        public const string UploadInterruptedMessage = "The upload stopped when scripts reloaded; press Generate again.";
        public const string WaitInterruptedMessage =
            "The wait for room in the server's queue stopped when scripts reloaded; press Generate again.";
        public const string StartInterruptedMessage =
            "The wait for the server to start the job stopped when scripts reloaded; press Generate again.";

        /// <summary>The status after a domain reload: an upload or a wait for room cannot resume (its task is gone),
        /// a job can.</summary>
        public JobStatus AfterReload()
        {
            var n = Clone();
            n.Lost = ""; // that wait's task is gone: the watch attached again says it anew
            if (Starting)
            {
                n.Phase = JobPhase.Failed;
                n.Message = Phase != JobPhase.Waiting ? UploadInterruptedMessage
                    : Message == QueueWait.AskingAgain ? StartInterruptedMessage : WaitInterruptedMessage;
            }
            return n;
        }

        public const string InterruptedMessage = "The server stopped while the job ran; press Generate to run it again.";

        static JobStatus FromServerState(JobStatus n, JobUpdate u)
        {
            if (n.JobId.Length == 0 && !string.IsNullOrEmpty(u.JobId)) n.JobId = u.JobId;
            if (!string.IsNullOrEmpty(u.Stage)) n.Stage = u.Stage;
            n.Progress = Clamp01(u.Progress);
            switch (u.State)
            {
                case ServerJobState.Queued: n.Phase = JobPhase.Queued; break;
                case ServerJobState.Running: n.Phase = JobPhase.Running; break;
                case ServerJobState.Succeeded: n.Phase = JobPhase.Succeeded; n.Progress = 1f; n.Stage = ""; break;
                case ServerJobState.Failed:
                    n.Phase = JobPhase.Failed;
                    n.Message = string.IsNullOrEmpty(u.Message) ? "the job failed" : u.Message;
                    break;
                case ServerJobState.Cancelled: n.Phase = JobPhase.Cancelled; break;
                case ServerJobState.Interrupted: n.Phase = JobPhase.Failed; n.Message = InterruptedMessage; break;
            }
            return n;
        }

        static float Clamp01(float v)
        {
            if (float.IsNaN(v)) return 0f;
            return v < 0f ? 0f : (v > 1f ? 1f : v);
        }

        /// <summary>The label while StartJob is asked again after a try that timed out (Waiting, with
        /// QueueWait.AskingAgain): the server's queue need not be full.</summary>
        public const string AskingAgainLabel = "Waiting for the server to start the job";

        /// <summary>A one-line label for a progress bar.</summary>
        public string Describe()
        {
            if (Lost.Length > 0 && (Starting || Phase == JobPhase.Queued || Phase == JobPhase.Running))
                return "Waiting for the server";
            switch (Phase)
            {
                case JobPhase.Idle: return "Ready";
                case JobPhase.Uploading: return "Uploading " + (int)Math.Round(Progress * 100) + "%";
                case JobPhase.Waiting:
                    return Message == QueueWait.AskingAgain ? AskingAgainLabel : "Waiting for room on the server";
                case JobPhase.Queued: return "Queued";
                case JobPhase.Running:
                    return (Stage.Length > 0 ? char.ToUpperInvariant(Stage[0]) + Stage.Substring(1) : "Running") + " " + (int)Math.Round(Progress * 100) + "%";
                case JobPhase.Succeeded: return "Done";
                case JobPhase.Failed: return "Failed: " + Message;
                default: return "Cancelled";
            }
        }

        /// <summary>"47 frames read; person detected in 70.2%": what the CLI says of a job run on a server
        /// (cmd_generate.py _print_result), for the window and the logs; "" for 0 frames, which an older server sends.
        /// Just the figures: a share that deserves attention already comes with a warning from the server.</summary>
        public static string FramesRead(int frames, float detectedShare)
        {
            if (frames <= 0) return "";
            string read = frames.ToString(CultureInfo.InvariantCulture) + " frames read";
            if (!(Math.Abs(detectedShare) <= 1e6f)) return read; // no share (NaN) or none a decimal holds: left out
            // Rounded as Python's "{:.1f}" rounds: 100 x a float is exact as a double, and as a decimal to its 15 digits
            // a tie stays a tie, which goes to the even digit (a share of 1/16 is 6.2, where ToString("F1") says 6.3).
            decimal percent = Math.Round((decimal)(100.0 * detectedShare), 1, MidpointRounding.ToEven);
            return read + "; person detected in " + percent.ToString("0.0", CultureInfo.InvariantCulture) + "%";
        }

        public string Serialize()
        {
            var d = new Dictionary<string, object>
            {
                { "phase", Phase.ToString() },
                { "jobId", JobId },
                { "uploadId", UploadId },
                { "video", VideoPath },
                { "stage", Stage },
                { "progress", Progress },
                { "message", Message },
                { "warnings", Warnings },
                { "frames", Frames },
                { "detected", DetectedShare },
                { "lost", Lost },
                { "restarts", Restarts },
            };
            return Json.Write(d);
        }

        /// <summary>Reads Serialize's string; an empty or unreadable string gives Idle.</summary>
        public static JobStatus Deserialize(string text)
        {
            if (string.IsNullOrEmpty(text)) return new JobStatus();
            Dictionary<string, object> d;
            try { d = Json.Parse(text) as Dictionary<string, object>; }
            catch (FormatException) { return new JobStatus(); }
            if (d == null) return new JobStatus();
            var s = new JobStatus();
            JobPhase phase;
            if (!Enum.TryParse(Str(d, "phase"), out phase)) return new JobStatus();
            s.Phase = phase;
            s.JobId = Str(d, "jobId");
            s.UploadId = Str(d, "uploadId");
            s.VideoPath = Str(d, "video");
            s.Stage = Str(d, "stage");
            s.Message = Str(d, "message");
            s.Lost = Str(d, "lost");
            object p;
            if (d.TryGetValue("progress", out p) && p is double) s.Progress = (float)(double)p;
            object f;
            if (d.TryGetValue("frames", out f) && f is double) s.Frames = (int)(double)f;
            if (d.TryGetValue("detected", out f) && f is double) s.DetectedShare = (float)(double)f;
            if (d.TryGetValue("restarts", out f) && f is double) s.Restarts = (int)(double)f;
            object w;
            if (d.TryGetValue("warnings", out w) && w is List<object>)
                foreach (object item in (List<object>)w) s.Warnings.Add(Convert.ToString(item, CultureInfo.InvariantCulture));
            return s;
        }

        static string Str(Dictionary<string, object> d, string key)
        {
            object v;
            return d.TryGetValue(key, out v) && v is string ? (string)v : "";
        }
    }
}
