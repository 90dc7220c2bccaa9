// Runs the Unity batch entry (unity_package/Editor/BatchGenerate.cs, compiled as it is) without an Editor: the few
// UnityEditor/UnityEngine calls it makes are stubbed below, and the connection is a scripted server, so that the
// exit code, the log, the clips saved and the -animgenSummary file can be checked (tests/test_unity_package.py).
//
// Usage, in the folder that stands for the Unity project:
//   mono harness.exe -batchmode -executeMethod AnimGen.Editor.BatchGenerate.Run -animgenInput Videos ...
// BatchGenerate.Run reads these from Environment.GetCommandLineArgs(), as in the Editor.
//
// Each video's bytes are its script for the server, a "key=value" a line:
//   ms=N            the job runs N milliseconds (default 50)
//   stage=NAME      a stage it reports (repeatable)
//   warn=TEXT       a warning it reports, in order (repeatable; the same text again is a replay, as WatchJob's)
//   fail=TEXT       the job fails with TEXT
//   hang            the job never ends: only the batch's -animgenTimeout ends it
//   frames=N        GetResult's Job.frames (left out: Job is null, as from an older server)
//   detected=F      GetResult's Job.detected_share
//   clip_frames=N   the clip's frame count (default 30)
//   full=N          StartJob finds the queue full N times (RESOURCE_EXHAUSTED, "animgen-retry-after-ms: 100") first
//   refuse=TEXT     StartJob answers RESOURCE_EXHAUSTED with TEXT and without that key (a video too long)
//   queued          StartJob answers the job QUEUED (no free worker)
//   lost=N          the watch loses the server (UNAVAILABLE) after the job's stages and warnings, finds it away N more
//                   times, then is attached again: the stages and warnings so far again, then the job's end
//   gone            the watch loses the server, which never comes back
//   down            the watch loses the server, which is gone for good, for every video: from then on every call of
//                   every video finds it away (a watch in flight is cut off as its job's time is up)
//   interrupted=N   the job ends INTERRUPTED (a stop of the server) its first N runs
//   cancel=TEXT     CancelJob answers with TEXT, a refusal or its deadline (the server was told; reachable)
//   cancel_hang     CancelJob is taken and never answered (a worker slow to stop): DEADLINE_EXCEEDED at its deadline
//   start_lost=N    StartJob makes the job and its answer is lost (UNAVAILABLE) N times: asked again under the same
//                   request id, the server answers with that job
//   start_hang      the first StartJob makes the job and never answers (the batch's -animgenTimeout cuts it off)
//   start_gone      as start_hang, and the server is then away for this video: StartJob asked again cannot reach it
//   start_timeout=N StartJob makes the job and its call times out (DEADLINE_EXCEEDED) N times: asked again under the
//                   same request id, the server answers with that job
//   start_timeout_ms=M  each of those calls takes M ms to time out (else at once)
// The server keeps the job each request id made (StartJob asked again with it answers with that job), as the real one.
// The environment scripts the rest:
//   ANIMGEN_HARNESS_CONNECT=TEXT        the connection's constructor throws TEXT
//   ANIMGEN_HARNESS_VERSION=TEXT        ServerInfo.server_version ("fail": GetServerInfo throws)
//   ANIMGEN_HARNESS_SAVE_FAILS=PATH     HumanoidClipBuilder.Save throws for the clip PATH
//   ANIMGEN_HARNESS_DESCRIBE_FAILS=TEXT Describe throws for an error whose message holds TEXT: an exception that
//                                       escapes the batch's per-video handling
//   ANIMGEN_HARNESS_RECONNECT_MS=N      how long a lost server is waited for (default 60000; tried every 50 ms)
// It prints: "log: ..." and "error: ..." (Debug.Log / LogError), the batch's own Console lines as they are,
// "saved: PATH (N frames)" (Save, which also writes PATH), "server: upload|full|refused|made|timeout|start|watch|lost|
// interrupted|done|failed|cancel VIDEO" (made: a request id new to the server made the job, as against one asked again
// or a job an interruption runs again), "request: VIDEO ID S" for each StartJob (its request id, its deadline in s or
// "-"), "cancelling: VIDEO S" for each CancelJob (its deadline in s), "off the main thread: CALL" for a Unity call made
// from another thread, and "exit=CODE max_in_flight=M" last (EditorApplication.Exit, which ends the process with CODE).
// M: the most videos the server had at once, upload to the end of the watch.
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using AnimGen.Core;

namespace UnityEngine
{
    public class Object { }
    public class AnimationClip : Object { public string Name; public int Frames; }
    public static class Debug
    {
        public static void Log(object o) { AnimGen.Editor.Harness.MainThread("Debug.Log"); Console.WriteLine("log: " + o); }
        public static void LogError(object o) { AnimGen.Editor.Harness.MainThread("Debug.LogError"); Console.WriteLine("error: " + o); }
    }
}

namespace UnityEditor
{
    public static class EditorApplication
    {
        public static void Exit(int code)
        {
            AnimGen.Editor.Harness.MainThread("EditorApplication.Exit");
            Console.WriteLine("exit=" + code + " max_in_flight=" + AnimGen.Editor.Server.MaxInFlight);
            Console.Out.Flush();
            Environment.Exit(code);
        }
    }
    public static class AssetDatabase
    {
        public static void SaveAssets() { AnimGen.Editor.Harness.MainThread("AssetDatabase.SaveAssets"); Console.WriteLine("assets saved"); }
    }
}

namespace AnimGen.Protocol.V1
{
    public class GenerateOptions { }
    public class ServerInfo { public string ServerVersion; }
    public enum JobState { Unspecified, Queued, Running }
    public class Job { public string JobId; public JobState State; public int Frames; public float DetectedShare; }
    public class HumanoidClip { public int FrameCount; }
    public enum OutputFormat { Glb }
    // The harness's server speaks in JobUpdates' terms; ProtoConvert.ToUpdate below copies them.
    public class JobEvent { public string JobId; public AnimGen.Core.JobUpdateKind Kind; public string Stage; public string Message; }
}

namespace AnimGen.Editor
{
    using Proto = AnimGen.Protocol.V1;

    /// <summary>One video's script (its file's lines).</summary>
    internal sealed class Script
    {
        public string Name;
        public int Ms = 50;
        public readonly List<string> Stages = new List<string>();
        public readonly List<string> Warnings = new List<string>();
        public string Fail;
        public bool Hang;
        public int? Frames;
        public float Detected;
        public int ClipFrames = 30;
        public int Full;
        public string Refuse;
        public bool Queued;
        public int Lost, Interrupted, Watches, Left;
        public bool Gone, Down;
        public string CancelAnswer;
        public bool CancelHang;
        public int StartLost, StartTimeout, StartTimeoutMs;
        public bool StartHang, StartGone;
        public volatile bool Rerun; // the job was interrupted: a new request id runs it again
        public readonly HashSet<string> Requests = new HashSet<string>(); // the request ids that made the job

        public static Script Read(string path)
        {
            var s = new Script { Name = Path.GetFileName(path) };
            foreach (string raw in File.ReadAllLines(path))
            {
                string line = raw.Trim();
                int eq = line.IndexOf('=');
                string key = eq < 0 ? line : line.Substring(0, eq), value = eq < 0 ? "" : line.Substring(eq + 1);
                switch (key)
                {
                    case "": break;
                    case "ms": s.Ms = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "stage": s.Stages.Add(value); break;
                    case "warn": s.Warnings.Add(value); break;
                    case "fail": s.Fail = value; break;
                    case "hang": s.Hang = true; break;
                    case "frames": s.Frames = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "detected": s.Detected = float.Parse(value, CultureInfo.InvariantCulture); break;
                    case "clip_frames": s.ClipFrames = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "full": s.Full = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "refuse": s.Refuse = value; break;
                    case "queued": s.Queued = true; break;
                    case "lost": s.Lost = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "gone": s.Gone = true; break;
                    case "down": s.Down = true; break;
                    case "interrupted": s.Interrupted = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "cancel": s.CancelAnswer = value; break;
                    case "cancel_hang": s.CancelHang = true; break;
                    case "start_lost": s.StartLost = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "start_timeout": s.StartTimeout = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "start_timeout_ms": s.StartTimeoutMs = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "start_hang": s.StartHang = true; break;
                    case "start_gone": s.StartHang = s.StartGone = true; break;
                    default: throw new InvalidDataException(path + ": unknown script key " + key);
                }
            }
            return s;
        }
    }

    /// <summary>The scripted server's state, shared by every call.</summary>
    internal static class Server
    {
        public static readonly ConcurrentDictionary<string, Script> Jobs = new ConcurrentDictionary<string, Script>();
        static int inFlight, maxInFlight;
        public static int MaxInFlight { get { return Volatile.Read(ref maxInFlight); } }

        public static void Enter()
        {
            int now = Interlocked.Increment(ref inFlight);
            int seen;
            while (now > (seen = Volatile.Read(ref maxInFlight)) && Interlocked.CompareExchange(ref maxInFlight, now, seen) != seen) { }
        }

        public static void Leave() { Interlocked.Decrement(ref inFlight); }

        /// <summary>The video's job is off the server (its watches end it once, however many there were).</summary>
        public static void Leave(Script s) { if (Interlocked.Exchange(ref s.Left, 1) == 0) Leave(); }

        public static void Say(string what, string video) { Console.WriteLine("server: " + what + " " + video); }

        public static string Env(string name) { return Environment.GetEnvironmentVariable("ANIMGEN_HARNESS_" + name); }

        /// <summary>Set by a "down" video: the server is gone for good, for every video.</summary>
        public static volatile bool Down;

        /// <summary>What every call finds once the server is down for good.</summary>
        public static void Reachable()
        {
            if (Down) throw new Unavailable("failed to connect to all addresses");
        }
    }

    internal sealed class JobResult { public Proto.Job Job; public Proto.HumanoidClip Clip; }

    /// <summary>What the real connection's calls throw where the server cannot be reached (an RpcException with
    /// UNAVAILABLE); LostServer tells it.</summary>
    internal sealed class Unavailable : Exception { public Unavailable(string m) : base(m) { } }

    /// <summary>What the real connection's calls throw where their deadline passes (an RpcException with
    /// DEADLINE_EXCEEDED, in Describe's words); TimedOut tells it.</summary>
    internal sealed class DeadlineExceeded : Exception
    {
        public DeadlineExceeded(string address) : base("The AnimGen server at " + address + " did not answer in time.") { }
    }

    internal sealed class AnimGenConnection : IDisposable
    {
        public readonly string Address;

        public AnimGenConnection(string address, string token)
        {
            string fails = Server.Env("CONNECT");
            if (!string.IsNullOrEmpty(fails)) throw new InvalidOperationException(fails);
            Address = address;
        }

        public string LostServer(Exception e) { return e is Unavailable ? Describe(e) : null; }

        /// <summary>Every other failure of the scripted server's is its answer (a refusal, a full queue).</summary>
        public bool Answered(Exception e)
        {
            return !(e is Unavailable) && !(e is OperationCanceledException) && !(e is DeadlineExceeded);
        }

        public bool TimedOut(Exception e) { return e is DeadlineExceeded; }

        public void Dispose() { }

        public string Describe(Exception e)
        {
            var agg = e as AggregateException;
            if (agg != null && agg.InnerExceptions.Count == 1) e = agg.InnerExceptions[0];
            string fails = Server.Env("DESCRIBE_FAILS");
            if (!string.IsNullOrEmpty(fails) && e.Message.Contains(fails)) throw new InvalidOperationException("Describe broke on: " + e.Message);
            return e is Unavailable ? "Cannot reach the AnimGen server at " + Address + ": " + e.Message : e.Message;
        }

        public async Task<Proto.ServerInfo> GetServerInfoAsync(CancellationToken ct)
        {
            await Task.Yield();
            string version = Server.Env("VERSION") ?? "animgen 0.2.11 (grpcio 1.62.3, python 3.11.9)";
            if (version == "fail") throw new IOException("Cannot reach the AnimGen server");
            return new Proto.ServerInfo { ServerVersion = version };
        }

        public async Task<string> UploadAsync(string path, Action<float> progress, CancellationToken ct)
        {
            Script s = Script.Read(path);
            Server.Say("upload", s.Name);
            Server.Reachable();
            Server.Enter();
            await Task.Delay(10, ct);
            Server.Jobs["job-" + s.Name] = s;
            return "upload-" + s.Name;
        }

        public async Task<Proto.Job> StartJobAsync(string uploadId, Proto.GenerateOptions options, string requestId,
            CancellationToken ct, TimeSpan? within = null)
        {
            string jobId = "job-" + uploadId.Substring("upload-".Length);
            Script s = Server.Jobs[jobId];
            Console.WriteLine("request: " + s.Name + " " + requestId + " "
                              + (within.HasValue ? within.Value.TotalSeconds.ToString(CultureInfo.InvariantCulture) : "-"));
            bool askedBefore;
            lock (s.Requests) askedBefore = s.Requests.Contains(requestId);
            if (askedBefore && s.StartGone) throw new Unavailable("failed to connect to all addresses");
            await Task.Delay(5, ct);
            if (Server.Down) Server.Leave(s);
            Server.Reachable();
            // As the real connection turns a RESOURCE_EXHAUSTED answer into an exception: by its trailers.
            var trailers = new List<KeyValuePair<string, string>> { new KeyValuePair<string, string>("x-other", "1") };
            if (s.Refuse != null)
            {
                Server.Say("refused", s.Name);
                Server.Leave();
                // Without the retry key From gives null: the RpcException stands, which Describe tells by its message.
                throw (Exception)QueueFullException.From(s.Refuse, trailers) ?? new InvalidOperationException(s.Refuse);
            }
            if (s.Full > 0)
            {
                s.Full--;
                Server.Say("full", s.Name);
                trailers.Add(new KeyValuePair<string, string>(QueueWait.RetryAfterKey, "100"));
                throw QueueFullException.From("the queue is full (0 jobs waiting): try again when a job has finished, or cancel one", trailers);
            }
            bool fresh;
            lock (s.Requests) fresh = s.Requests.Add(requestId);
            if (fresh && !s.Rerun) Server.Say("made", s.Name);
            if (fresh) s.Rerun = false;
            if (s.StartLost > 0)
            {
                s.StartLost--;
                throw new Unavailable("Socket closed"); // made, but the answer is lost
            }
            if (s.StartTimeout > 0)
            {
                s.StartTimeout--;
                Server.Say("timeout", s.Name);
                await Task.Delay(s.StartTimeoutMs, ct);
                throw new DeadlineExceeded(Address); // made, but slower than the call's deadline
            }
            if (s.StartHang && !askedBefore) await Task.Delay(Timeout.Infinite, ct); // made; the answer never comes
            Server.Say("start", s.Name);
            return new Proto.Job { JobId = jobId, State = s.Queued ? Proto.JobState.Queued : Proto.JobState.Running };
        }

        public async Task WatchAsync(string jobId, Action<Proto.JobEvent> onEvent, CancellationToken ct)
        {
            Script s = Server.Jobs[jobId];
            int attempt = Interlocked.Increment(ref s.Watches);
            Server.Say("watch", s.Name);
            if (Server.Down || (attempt > 1 && (s.Gone || attempt <= 1 + s.Lost)))
            {
                if (s.Gone || Server.Down) Server.Leave(s); // as far as the batch can tell, never to come back
                throw new Unavailable("failed to connect to all addresses");
            }
            bool more = false; // another watch follows: the server was lost, or the job is run again
            try
            {
                foreach (string stage in s.Stages)
                    onEvent(new Proto.JobEvent { JobId = jobId, Kind = JobUpdateKind.StageStarted, Stage = stage });
                foreach (string w in s.Warnings)
                    onEvent(new Proto.JobEvent { JobId = jobId, Kind = JobUpdateKind.Warning, Message = w });
                if (s.Hang) await Task.Delay(Timeout.Infinite, ct);
                await Task.Delay(s.Ms, ct);
                if (Server.Down) throw new Unavailable("Socket closed"); // another video's took the server down
                if (attempt == 1 && (s.Lost > 0 || s.Gone || s.Down))
                {
                    more = !s.Down;
                    Server.Down |= s.Down;
                    Server.Say("lost", s.Name);
                    throw new Unavailable("Socket closed");
                }
                if (s.Interrupted > 0)
                {
                    more = true;
                    s.Interrupted--;
                    s.Rerun = true;
                    Server.Say("interrupted", s.Name);
                    onEvent(new Proto.JobEvent { JobId = jobId, Kind = JobUpdateKind.Interrupted });
                    return;
                }
                if (s.Fail != null)
                {
                    Server.Say("failed", s.Name);
                    onEvent(new Proto.JobEvent { JobId = jobId, Kind = JobUpdateKind.Failed, Message = s.Fail });
                    return;
                }
                Server.Say("done", s.Name);
                onEvent(new Proto.JobEvent { JobId = jobId, Kind = JobUpdateKind.Done });
            }
            finally { if (!more) Server.Leave(s); }
        }

        public async Task<Proto.Job> CancelAsync(string jobId, TimeSpan within, CancellationToken ct)
        {
            await Task.Yield();
            Script s = Server.Jobs[jobId];
            Server.Say("cancel", s.Name);
            Console.WriteLine("cancelling: " + s.Name + " " + within.TotalSeconds.ToString(CultureInfo.InvariantCulture));
            Server.Reachable();
            if (s.Gone) throw new Unavailable("failed to connect to all addresses");
            if (s.CancelAnswer != null) throw new InvalidOperationException(s.CancelAnswer); // an RpcException's words
            if (s.CancelHang)
            {
                await Task.Delay(within, ct);
                throw new DeadlineExceeded(Address);
            }
            return new Proto.Job { JobId = jobId };
        }

        public async Task<JobResult> GetResultAsync(string jobId, IEnumerable<Proto.OutputFormat> formats, CancellationToken ct)
        {
            await Task.Yield();
            Server.Reachable();
            Script s = Server.Jobs[jobId];
            return new JobResult
            {
                Job = s.Frames.HasValue ? new Proto.Job { JobId = jobId, Frames = s.Frames.Value, DetectedShare = s.Detected } : null,
                Clip = new Proto.HumanoidClip { FrameCount = s.ClipFrames },
            };
        }
    }

    internal static class ProtoConvert
    {
        public const Proto.OutputFormat FileFormat = Proto.OutputFormat.Glb;
        public static Proto.GenerateOptions ToOptions(GenerateSettings s) { return new Proto.GenerateOptions(); }
        public static JobUpdate ToUpdate(Proto.JobEvent e) { return new JobUpdate { JobId = e.JobId, Kind = e.Kind, Stage = e.Stage, Message = e.Message }; }
        public static HumanoidClipData ToClipData(Proto.HumanoidClip c) { return new HumanoidClipData { FrameCount = c.FrameCount }; }
    }

    internal sealed class ClipBuildOptions
    {
        public static ClipBuildOptions From(GenerateSettings s) { return new ClipBuildOptions(); }
    }

    internal static class HumanoidClipBuilder
    {
        public static UnityEngine.AnimationClip Build(HumanoidClipData d, ClipBuildOptions o)
        {
            Harness.MainThread("HumanoidClipBuilder.Build");
            return new UnityEngine.AnimationClip { Name = d.Name, Frames = d.FrameCount };
        }

        /// <summary>Writes the clip as a line of text at its path, under the working folder (the "project").</summary>
        public static UnityEngine.AnimationClip Save(UnityEngine.AnimationClip a, string path)
        {
            Harness.MainThread("HumanoidClipBuilder.Save");
            if (path == Server.Env("SAVE_FAILS")) throw new IOException("disk full writing " + path);
            Directory.CreateDirectory(Path.GetDirectoryName(path));
            File.WriteAllText(path, a.Name + " " + a.Frames + "\n");
            Console.WriteLine("saved: " + path + " (" + a.Frames + " frames)");
            return a;
        }

        /// <summary>As the Editor's: a clip file there that is read-only is refused (no version control here).</summary>
        public static string ReplaceProblem(string path)
        {
            Harness.MainThread("HumanoidClipBuilder.ReplaceProblem");
            if (File.Exists(path) && (File.GetAttributes(path) & FileAttributes.ReadOnly) != 0)
                return path + " is read-only: make it writable, then generate again.";
            return null;
        }
    }

    public static class Harness
    {
        static int mainThread;

        /// <summary>Unity's API may only be called from the main thread: a call from another is printed.</summary>
        public static void MainThread(string call)
        {
            if (Thread.CurrentThread.ManagedThreadId != mainThread) Console.WriteLine("off the main thread: " + call);
        }

        public static void Main(string[] args)
        {
            mainThread = Thread.CurrentThread.ManagedThreadId;
            Outage.Every = TimeSpan.FromMilliseconds(50);
            Outage.Longest = TimeSpan.FromMilliseconds(int.Parse(Server.Env("RECONNECT_MS") ?? "60000", CultureInfo.InvariantCulture));
            QueueWait.Longest = TimeSpan.FromMilliseconds(int.Parse(Server.Env("QUEUE_WAIT_MS") ?? "600000", CultureInfo.InvariantCulture));
            BatchGenerate.Run(); // ends the process through EditorApplication.Exit
            Console.WriteLine("Run returned without EditorApplication.Exit");
            Environment.Exit(99);
        }
    }
}
