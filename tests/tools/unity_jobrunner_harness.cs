// Runs the Unity window's JobRunner (unity_package/Editor/JobRunner.cs, compiled as it is) without an Editor:
// the few UnityEditor/UnityEngine calls it makes are stubbed below, and the connection is a scripted server, so
// that the order of upload, StartJob, WatchJob, CancelJob and the import can be checked (tests/test_unity_package.py).
// Usage: mono harness.exe SCENARIO VIDEO, SCENARIO one of
//   run, cancel-while-starting, cancel-while-running;
//   queue-full: StartJob finds the queue full twice (RESOURCE_EXHAUSTED, "animgen-retry-after-ms: 100"), then starts;
//   refused: RESOURCE_EXHAUSTED without the key (a video too long); cancel-while-waiting: Cancel while the queue is full;
//   lost-mid-watch: the watch loses the server (UNAVAILABLE) after a warning, cannot reach it once more, then is
//     attached again: the job's state and that warning again, another warning, the job's end;
//   interrupted: the job ends INTERRUPTED (a stop of the server) once, then runs to its end; interrupted-4-times: always;
//   server-gone: the server is lost mid-watch and never comes back (the wait shortened to 1.5 s);
//   cancel-while-lost: Cancel while the watch waits for the server, which CancelJob cannot reach either;
//   first-contact: the upload cannot reach the server (a wrong address);
//   start-lost: StartJob makes the job and its answer is lost (UNAVAILABLE) once; asked again under the same request
//     id, the server answers with that job;
//   cancel-while-start-lost: Cancel while StartJob is on the wire, which then makes the job and loses its answer;
//   cancel-while-start-gone: the same, and the server stays away (StartJob asked again cannot reach it either);
//   start-timeout: StartJob makes the job and its call times out (DEADLINE_EXCEEDED) twice; asked again under the same
//     request id, the server answers with that job;
//   cancel-while-restarting: the job ends INTERRUPTED, as in interrupted, and Cancel is pressed while the StartJob that
//     starts it again is on the wire: its CancelJob finds the job interrupted, which the server ignores, and StartJob
//     then queues the job again;
//   cancel-while-restart-lost: the same, and that StartJob makes the job and loses its answer (UNAVAILABLE);
//   cancel-while-restart-gone: the same, and the server stays away (StartJob asked again cannot reach it either);
//   cancel-unanswered-while-running: Cancel while the job runs; the server takes the cancel, but its worker is slow to
//     stop: CancelJob has no answer within its deadline (DEADLINE_EXCEEDED), and the watch reports the job Cancelled
//     0.2 s after that;
//   cancel-unanswered-while-restarting: as cancel-while-restarting, and the CancelJob of the job started again has no
//     answer within its deadline.
// The server keeps the job each request id made (StartJob asked again with it answers with that job; a new id makes a
// new job, or runs again the job a stop of the server interrupted), as the real one does.
// The waits for a lost server are every 50 ms, for up to 60 s (server-gone: 1.5 s).
// Besides the last line it prints "waiting: MESSAGE" each time the status changes while it waits for room, "log: ..."
// (Debug.Log), and before the last line "starts=ID/S,... jobs_made=N cancelled=JOB ignored_cancels=N cancel_within=S,..."
// (each StartJob's request id and deadline in s, "-" for the default; the jobs the server made; the job CancelJob was
// asked for; the CancelJobs it ignored, for a job a stop of the server interrupted; each CancelJob's deadline in s),
// "watch_calls=N
// restarts=N warnings=A|B" and "message=..." (the status's).
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using AnimGen.Core;

namespace UnityEngine
{
    public class Object { }
    public class AnimationClip : Object { }
    public static class Debug
    {
        public static void Log(object o) { Console.WriteLine("log: " + o); }
        public static void LogException(Exception e) { Console.WriteLine("exception: " + e); }
    }
    public static class JsonUtility
    {
        public static T FromJson<T>(string s) where T : class { return null; }
        public static string ToJson(object o) { return "{}"; }
    }
}

namespace UnityEditor
{
    public class InitializeOnLoadAttribute : Attribute { }
    public static class SessionState
    {
        static readonly Dictionary<string, string> values = new Dictionary<string, string>();
        public static string GetString(string key, string fallback) { string v; return values.TryGetValue(key, out v) ? v : fallback; }
        public static void SetString(string key, string value) { values[key] = value; }
    }
    public delegate void CallbackFunction();
    public static class EditorApplication { public static CallbackFunction update; public static CallbackFunction delayCall; }
    public static class AssemblyReloadEvents
    {
        public delegate void AssemblyReloadCallback();
        public static event AssemblyReloadCallback beforeAssemblyReload { add { } remove { } }
    }
    public static class AssetDatabase
    {
        public static T LoadAssetAtPath<T>(string path) where T : class { return null; }
        public static string GetAssetPath(object o) { return AnimGen.Editor.Server.SavedPath; }
    }
    public static class EditorGUIUtility { public static void PingObject(object o) { } }
}

namespace AnimGen.Protocol.V1
{
    public class Job { public string JobId; public int Frames; public float DetectedShare; }
    public class GenerateOptions { }
    public class HumanoidClip { }
    public enum OutputFormat { Glb }
    public class JobEvent { public string JobId; public JobUpdateKind Kind; public ServerJobState State; public string Message; }
}

namespace AnimGen.Editor
{
    using Proto = AnimGen.Protocol.V1;

    /// <summary>The scripted server: a job that runs for about a second unless cancelled.</summary>
    internal static class Server
    {
        public static readonly ManualResetEventSlim StartJobEntered = new ManualResetEventSlim();
        public static readonly ManualResetEventSlim StartJobMayAnswer = new ManualResetEventSlim(true);
        public static readonly ManualResetEventSlim Watching = new ManualResetEventSlim();
        public static readonly ManualResetEventSlim CancelGaveUp = new ManualResetEventSlim(); // a CancelJob timed out
        public static volatile bool Cancelled;
        public static int CancelCalls, StartCalls, IgnoredCancels;
        public static string SavedPath = "";
        public static int FullTimes; // StartJob's answers that the queue is full, before it starts the job
        public static string Refusal; // StartJob's RESOURCE_EXHAUSTED without the retry key
        public static string Scenario = "";
        public static int WatchCalls;
        public static int LostAnswers; // StartJob's answers lost after it made the job (UNAVAILABLE)
        public static int LostCall; // the one StartJob (by its number) whose answer is lost after it made the job
        public static int HoldFrom = 1; // the StartJobs from this one on wait for StartJobMayAnswer
        public static int HoldTo = int.MaxValue; // and up to this one
        public static int TimedOutAnswers; // StartJob's calls that time out after it made the job (DEADLINE_EXCEEDED)
        public static int GoneAfter = int.MaxValue; // every StartJob after this many finds the server away
        public static readonly List<string> Starts = new List<string>(); // "request id/deadline" of each StartJob
        public static readonly List<string> CancelWithins = new List<string>(); // the deadline of each CancelJob, in s
        public static readonly List<Task<Proto.Job>> Answers = new List<Task<Proto.Job>>(); // the server's side of each
        public static string CancelledJob = "";
        public static string InterruptedJob; // a job a stop of the server interrupted: a new start runs it again
        static readonly Dictionary<string, string> made = new Dictionary<string, string>(); // request id -> job
        static int jobs;
        public static int JobsMade { get { lock (made) return jobs; } }

        /// <summary>The job this request id made, as the server keeps it; a new id makes one (or runs an interrupted
        /// one again).</summary>
        public static string JobFor(string requestId)
        {
            lock (made)
            {
                string job;
                if (!string.IsNullOrEmpty(requestId) && made.TryGetValue(requestId, out job)) return job;
                if (InterruptedJob != null) job = InterruptedJob;
                else job = "job-" + (++jobs).ToString(CultureInfo.InvariantCulture);
                InterruptedJob = null;
                if (!string.IsNullOrEmpty(requestId)) made[requestId] = job;
                return job;
            }
        }
    }

    /// <summary>What the real connection's calls throw where the server cannot be reached (an RpcException with
    /// UNAVAILABLE); LostServer tells it.</summary>
    internal sealed class Unavailable : Exception { public Unavailable(string m) : base(m) { } }

    /// <summary>What the real connection's calls throw where their deadline passes (an RpcException with
    /// DEADLINE_EXCEEDED, in Describe's words); TimedOut tells it.</summary>
    internal sealed class DeadlineExceeded : Exception
    {
        public DeadlineExceeded() : base("The AnimGen server at " + AnimGenConnection.DefaultAddress + " did not answer in time.") { }
    }

    /// <summary>What the real AnimGenConnection.StartJobAsync throws for a RESOURCE_EXHAUSTED answer with these trailers
    /// (an RpcException stands as an Exception with the server's message, which is what Describe gives of it).</summary>
    internal static class ResourceExhausted
    {
        public static Exception Answer(string detail, params string[] trailers)
        {
            var entries = new List<KeyValuePair<string, string>>();
            for (int i = 0; i + 1 < trailers.Length; i += 2) entries.Add(new KeyValuePair<string, string>(trailers[i], trailers[i + 1]));
            return (Exception)QueueFullException.From(detail, entries) ?? new InvalidOperationException(detail);
        }
    }

    internal sealed class JobResult { public Proto.Job Job; public Proto.HumanoidClip Clip; }

    internal sealed class AnimGenConnection : IDisposable
    {
        public const string DefaultAddress = "127.0.0.1:50051";
        public readonly string Address = DefaultAddress;
        public AnimGenConnection(string address, string token) { }
        public void Dispose() { }

        public string Describe(Exception e)
        {
            return e is Unavailable ? "Cannot reach the AnimGen server at " + Address + ": " + e.Message : e.Message;
        }

        public string LostServer(Exception e) { return e is Unavailable ? Describe(e) : null; }

        /// <summary>Every other failure of the scripted server's is its answer (a refusal, a full queue).</summary>
        public bool Answered(Exception e)
        {
            return !(e is Unavailable) && !(e is OperationCanceledException) && !(e is DeadlineExceeded);
        }

        public bool TimedOut(Exception e) { return e is DeadlineExceeded; }

        public async Task<string> UploadAsync(string path, Action<float> progress, CancellationToken ct)
        {
            await Task.Delay(20, ct);
            if (Server.Scenario == "first-contact") throw new Unavailable("failed to connect to all addresses");
            progress(1f);
            return "upload-1";
        }

        public async Task<Proto.Job> StartJobAsync(string uploadId, Proto.GenerateOptions o, string requestId,
            CancellationToken ct, TimeSpan? within = null)
        {
            int call = Interlocked.Increment(ref Server.StartCalls);
            lock (Server.Starts)
                Server.Starts.Add(requestId + "/" + (within.HasValue ? within.Value.TotalSeconds.ToString(CultureInfo.InvariantCulture) : "-"));
            // The server's side goes on whatever the client does, as gRPC's does: a call the client ends (ct) ends
            // its wait for the answer only.
            Task<Proto.Job> answer = Task.Run(() => Answer(call, requestId));
            lock (Server.Answers) Server.Answers.Add(answer);
            var cut = Task.Delay(Timeout.Infinite, ct);
            if (await Task.WhenAny(answer, cut).ConfigureAwait(false) == cut) throw new OperationCanceledException(ct);
            return await answer.ConfigureAwait(false);
        }

        static Proto.Job Answer(int call, string requestId)
        {
            if (call >= Server.HoldFrom && call <= Server.HoldTo)
            {
                Server.StartJobEntered.Set();
                Server.StartJobMayAnswer.Wait();
            }
            if (call > Server.GoneAfter) throw new Unavailable("failed to connect to all addresses");
            if (Server.Refusal != null) throw ResourceExhausted.Answer(Server.Refusal, "x-other", "1");
            if (call <= Server.FullTimes)
                throw ResourceExhausted.Answer("the queue is full (0 jobs waiting): try again when a job has finished, or cancel one",
                    "animgen-retry-after-ms", "100");
            string job = Server.JobFor(requestId);
            if (call <= Server.LostAnswers || call == Server.LostCall) throw new Unavailable("Socket closed"); // made, but the answer is lost
            if (call <= Server.TimedOutAnswers) throw new DeadlineExceeded(); // made, but slower than the deadline
            return new Proto.Job { JobId = job };
        }

        static Proto.JobEvent Event(string jobId, JobUpdateKind kind, ServerJobState state = ServerJobState.Running, string message = null)
        {
            return new Proto.JobEvent { JobId = jobId, Kind = kind, State = state, Message = message };
        }

        public async Task WatchAsync(string jobId, Action<Proto.JobEvent> onEvent, CancellationToken ct)
        {
            int call = Interlocked.Increment(ref Server.WatchCalls);
            switch (Server.Scenario)
            {
                case "lost-mid-watch":
                    if (call == 2) throw new Unavailable("failed to connect to all addresses"); // still away
                    onEvent(Event(jobId, JobUpdateKind.ServerState)); // attached again: the state, the warnings so far
                    onEvent(Event(jobId, JobUpdateKind.Warning, message: "left arm hidden from 2.1 s to 3.3 s"));
                    await Task.Delay(20, ct);
                    if (call == 1) throw new Unavailable("Socket closed");
                    onEvent(Event(jobId, JobUpdateKind.Warning, message: "feet slide"));
                    onEvent(Event(jobId, JobUpdateKind.Done, ServerJobState.Succeeded));
                    return;
                case "interrupted":
                case "interrupted-4-times":
                case "cancel-while-restarting":
                case "cancel-unanswered-while-restarting":
                case "cancel-while-restart-lost":
                case "cancel-while-restart-gone":
                    onEvent(Event(jobId, JobUpdateKind.ServerState));
                    await Task.Delay(20, ct);
                    if (call == 1 || Server.Scenario == "interrupted-4-times")
                    {
                        Server.InterruptedJob = jobId;
                        onEvent(Event(jobId, JobUpdateKind.ServerState, ServerJobState.Interrupted));
                        onEvent(Event(jobId, JobUpdateKind.Interrupted, ServerJobState.Interrupted));
                        return;
                    }
                    onEvent(Event(jobId, JobUpdateKind.Done, ServerJobState.Succeeded));
                    return;
                case "server-gone":
                case "cancel-while-lost":
                    if (call > 1) throw new Unavailable("failed to connect to all addresses");
                    onEvent(Event(jobId, JobUpdateKind.ServerState));
                    await Task.Delay(20, ct);
                    throw new Unavailable("Socket closed");
                case "cancel-unanswered-while-running":
                    onEvent(Event(jobId, JobUpdateKind.ServerState));
                    Server.Watching.Set();
                    // The job runs until its worker, told to stop, has stopped: after the client's CancelJob gave up.
                    await Task.Run(() => Server.CancelGaveUp.Wait(ct), ct);
                    await Task.Delay(200, ct);
                    onEvent(Event(jobId, JobUpdateKind.Cancelled));
                    return;
            }
            onEvent(new Proto.JobEvent { JobId = jobId, Kind = JobUpdateKind.ServerState, State = ServerJobState.Running });
            Server.Watching.Set();
            for (int i = 0; i < 50; i++)
            {
                await Task.Delay(20, ct);
                if (Server.Cancelled) { onEvent(new Proto.JobEvent { JobId = jobId, Kind = JobUpdateKind.Cancelled }); return; }
            }
            onEvent(new Proto.JobEvent { JobId = jobId, Kind = JobUpdateKind.Done });
        }

        public async Task<Proto.Job> CancelAsync(string jobId, TimeSpan within, CancellationToken ct)
        {
            Interlocked.Increment(ref Server.CancelCalls);
            lock (Server.CancelWithins) Server.CancelWithins.Add(within.TotalSeconds.ToString(CultureInfo.InvariantCulture));
            if (jobId == Server.InterruptedJob) // not running nor queued: nothing to cancel, until StartJob queues it
            {
                Interlocked.Increment(ref Server.IgnoredCancels);
                await Task.Yield();
                return new Proto.Job { JobId = jobId };
            }
            Server.CancelledJob = jobId;
            if (Server.Scenario == "cancel-while-lost") throw new Unavailable("failed to connect to all addresses");
            if (Server.Scenario.StartsWith("cancel-unanswered-", StringComparison.Ordinal))
            {
                // Taken, but answered only once the job's worker has stopped, which takes longer than the deadline.
                await Task.Delay(within, ct);
                Server.CancelGaveUp.Set();
                throw new DeadlineExceeded();
            }
            Server.Cancelled = true;
            await Task.Yield();
            return new Proto.Job { JobId = jobId };
        }

        public async Task<JobResult> GetResultAsync(string jobId, IEnumerable<Proto.OutputFormat> formats, CancellationToken ct)
        {
            await Task.Yield();
            // The video's frames the pose stage read, and the share of them with a person.
            return new JobResult { Job = new Proto.Job { JobId = jobId, Frames = 47, DetectedShare = 0.70212f }, Clip = new Proto.HumanoidClip() };
        }
    }

    internal static class ProtoConvert
    {
        public const Proto.OutputFormat FileFormat = Proto.OutputFormat.Glb;
        public static Proto.GenerateOptions ToOptions(GenerateSettings s) { return new Proto.GenerateOptions(); }
        public static JobUpdate ToUpdate(Proto.JobEvent e) { return new JobUpdate { JobId = e.JobId, Kind = e.Kind, State = e.State, Message = e.Message }; }
        public static HumanoidClipData ToClipData(Proto.HumanoidClip c) { return new HumanoidClipData(); }
    }

    internal sealed class ClipBuildOptions
    {
        public bool Loop; public bool InPlace; public string FootstepFunction;
        public static ClipBuildOptions From(GenerateSettings s) { return new ClipBuildOptions { Loop = s.Loop, InPlace = s.InPlace }; }
    }

    internal static class HumanoidClipBuilder
    {
        public static UnityEngine.AnimationClip Build(HumanoidClipData d, ClipBuildOptions o) { return new UnityEngine.AnimationClip(); }
        public static UnityEngine.AnimationClip Save(UnityEngine.AnimationClip a, string path) { Server.SavedPath = path; return a; }
    }

    public static class Harness
    {
        // The Editor's main loop: EditorApplication.update (JobRunner.Pump) and delayCall, every 10 ms.
        static void Tick()
        {
            var update = UnityEditor.EditorApplication.update;
            if (update != null) update();
            var delayed = UnityEditor.EditorApplication.delayCall;
            UnityEditor.EditorApplication.delayCall = null;
            if (delayed != null) delayed();
            Thread.Sleep(10);
        }

        static bool TickUntil(Func<bool> done, int seconds)
        {
            var deadline = DateTime.UtcNow.AddSeconds(seconds);
            while (!done()) { if (DateTime.UtcNow > deadline) return false; Tick(); }
            return true;
        }

        public static int Main(string[] args)
        {
            string scenario = args[0];
            Server.Scenario = scenario;
            Outage.Every = TimeSpan.FromMilliseconds(50);
            Outage.Longest = scenario == "server-gone" ? TimeSpan.FromSeconds(1.5) : TimeSpan.FromSeconds(60);
            if (scenario == "cancel-while-starting" || scenario.StartsWith("cancel-while-start-", StringComparison.Ordinal))
                Server.StartJobMayAnswer.Reset();
            if (scenario == "start-lost" || scenario.StartsWith("cancel-while-start-", StringComparison.Ordinal)) Server.LostAnswers = 1;
            if (scenario == "cancel-while-start-gone") Server.GoneAfter = 1;
            if (scenario == "cancel-while-start-hangs") Server.HoldTo = 1; // the first never answers; the asking again does
            bool restarting = scenario.StartsWith("cancel-while-restart", StringComparison.Ordinal)
                              || scenario == "cancel-unanswered-while-restarting";
            if (restarting)
            {
                Server.HoldFrom = 2; // the start again after the interruption
                Server.StartJobMayAnswer.Reset();
                if (scenario == "cancel-while-restart-lost" || scenario == "cancel-while-restart-gone") Server.LostCall = 2;
                if (scenario == "cancel-while-restart-gone") Server.GoneAfter = 2;
            }
            if (scenario == "start-timeout") Server.TimedOutAnswers = 2;
            if (scenario == "queue-full") Server.FullTimes = 2;
            if (scenario == "cancel-while-waiting") Server.FullTimes = int.MaxValue;
            if (scenario == "refused") Server.Refusal = "the video is 40 s long; this server takes videos up to 30 s";
            JobRunner.Changed += () =>
            {
                if (JobRunner.Status.Phase == JobPhase.Waiting) Console.WriteLine("waiting: " + JobRunner.Status.Message);
            };
            JobRunner.Generate(new JobRequest { VideoPath = args[1], OutputFolder = "Assets/AnimGen" });
            if (scenario == "cancel-while-starting" || scenario.StartsWith("cancel-while-start-", StringComparison.Ordinal))
            {
                Server.StartJobEntered.Wait(5000);
                JobRunner.Cancel(); // pressed while StartJob is on the wire: it ends that call
                // The server answers once the window has asked again for the job (a server's answer racing the
                // Cancel would be taken as it is, as the CLI takes it); where it hangs, only the Cancel ends the call.
                TickUntil(() => Server.StartCalls >= 2, 5);
                if (scenario != "cancel-while-start-hangs") Server.StartJobMayAnswer.Set();
            }
            else if (restarting)
            {
                TickUntil(() => Server.StartJobEntered.IsSet, 5);
                JobRunner.Cancel(); // pressed while StartJob starts the interrupted job again
                TickUntil(() => Server.CancelCalls >= 1, 5); // which reached the server while the job was interrupted
                Server.StartJobMayAnswer.Set();
            }
            else if (scenario == "cancel-while-waiting")
            {
                TickUntil(() => JobRunner.Status.Phase == JobPhase.Waiting, 5);
                JobRunner.Cancel(); // pressed while the queue is full: no job exists yet
            }
            else if (scenario == "cancel-while-lost")
            {
                TickUntil(() => JobRunner.Status.Lost.Length > 0, 5);
                JobRunner.Cancel(); // the wait would last 60 s: it ends now
            }
            else if (scenario == "cancel-while-running" || scenario == "cancel-unanswered-while-running")
            {
                TickUntil(() => Server.Watching.IsSet && JobRunner.Status.Phase == JobPhase.Running, 5);
                JobRunner.Cancel();
            }
            // cancel-while-lost: until CancelJob's failure is said too.
            bool ended = TickUntil(() => !JobRunner.Busy && JobRunner.Status.Phase != JobPhase.Uploading
                                         && (scenario != "cancel-while-lost" || JobRunner.Status.Message.Length > 0), 10);
            // The server's side of every StartJob ends (cancel-while-start-hangs: the held one is let go) before the
            // jobs it made are counted.
            Server.StartJobMayAnswer.Set();
            lock (Server.Answers)
                try { Task.WaitAll(Server.Answers.ToArray(), 5000); } catch (AggregateException) { }
            // cancel-unanswered-*: what the window makes of the CancelJob that timed out, had it not ended by then.
            if (scenario.StartsWith("cancel-unanswered-", StringComparison.Ordinal) && Server.CancelGaveUp.Wait(10000))
                for (int i = 0; i < 30; i++) Tick();
            // read: what the window shows of the frames, from the status as a script reload would find it.
            var kept = JobStatus.Deserialize(UnityEditor.SessionState.GetString("AnimGen.JobStatus", ""));
            lock (Server.Starts)
                Console.WriteLine("starts=" + string.Join(",", Server.Starts) + " jobs_made=" + Server.JobsMade
                                  + " cancelled=" + Server.CancelledJob + " ignored_cancels=" + Server.IgnoredCancels
                                  + " cancel_within=" + string.Join(",", Server.CancelWithins));
            Console.WriteLine("watch_calls=" + Server.WatchCalls + " restarts=" + kept.Restarts + " warnings="
                              + string.Join("|", JobRunner.Status.Warnings));
            Console.WriteLine("message=" + JobRunner.Status.Message);
            Console.WriteLine("ended=" + ended + " phase=" + JobRunner.Status.Phase + " start_calls=" + Server.StartCalls
                              + " cancel_calls=" + Server.CancelCalls + " saved=" + Server.SavedPath
                              + " read=" + JobStatus.FramesRead(kept.Frames, kept.DetectedShare));
            return 0;
        }
    }
}
