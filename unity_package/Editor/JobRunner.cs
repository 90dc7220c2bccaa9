// Runs one generation job for the Editor and keeps it alive across domain reloads: the job's status and
// request live in SessionState; before scripts reload the watch stream is dropped, and afterwards
// ([InitializeOnLoad]) WatchJob is re-attached to the same job id. The window only displays this state.
// A restart of the server is ridden out as the CLI rides it out (AnimGen.Core.Outage): every call waits for a server it
// has reached and lost, the watch is attached again, and a job the stop interrupted is started again. Each start of a
// job asks StartJob under a request id of its own (AnimGen.Core.JobStart), so that a try that timed out is asked again
// for the job it may have made (AnimGen.Core.QueueWait), and a Cancel that comes before its answer ends that call at
// once, asks it again for the job it made, and cancels that.
using System;
using System.Collections.Concurrent;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using AnimGen.Core;
using UnityEditor;
using UnityEngine;
using Proto = AnimGen.Protocol.V1;

namespace AnimGen.Editor
{
    /// <summary>What the user asked for; JsonUtility-serializable for SessionState.</summary>
    [Serializable]
    internal sealed class JobRequest
    {
        public string Address = AnimGenConnection.DefaultAddress;
        public string Token = "";
        public string VideoPath = "";
        public string OutputFolder = "Assets/AnimGen";
        public string ClipName = "";
        public string Settings = "";
        public bool PendingImport;
        public string ImportedClipPath = "";

        public GenerateSettings GetSettings() { return GenerateSettings.Deserialize(Settings); }

        /// <summary>Throws ArgumentException naming a bad folder or clip name.</summary>
        public string ClipAssetPath() { return ClipPaths.ForVideo(OutputFolder, VideoPath, ClipName); }
    }

    [InitializeOnLoad]
    internal static class JobRunner
    {
        const string StatusKey = "AnimGen.JobStatus";
        const string RequestKey = "AnimGen.JobRequest";

        static JobStatus status;
        static JobRequest request;
        static CancellationTokenSource cts;
        // Cancelled by Cancel: it ends the watch's waits for the server (lost, or starting an interrupted job again, its
        // StartJob on the wire too) at once. A watch that streams goes on until the server reports the job cancelled.
        static CancellationTokenSource stopWaiting;
        // Cancelled as scripts reload: every call still in flight (result, cancel, Check) ends with this domain, not
        // after it, when its callbacks would reach code that is gone. An import starts again after the reload.
        static readonly CancellationTokenSource untilReload = new CancellationTokenSource();
        static bool reloading;
        static readonly ConcurrentQueue<Action> mainThread = new ConcurrentQueue<Action>();

        /// <summary>Raised on the main thread whenever Status changes.</summary>
        public static event Action Changed;

        public static CancellationToken UntilReload { get { return untilReload.Token; } }
        public static JobStatus Status { get { return status; } }
        public static JobRequest Request { get { return request; } }
        public static AnimationClip LastClip { get; private set; }

        static JobRunner()
        {
            status = JobStatus.Deserialize(SessionState.GetString(StatusKey, "")).AfterReload();
            request = JsonUtility.FromJson<JobRequest>(SessionState.GetString(RequestKey, "{}")) ?? new JobRequest();
            Save();
            AssemblyReloadEvents.beforeAssemblyReload += OnBeforeReload;
            EditorApplication.update += Pump;
            // Loaded once the Editor has finished loading: at startup the asset database may not be ready yet.
            if (!string.IsNullOrEmpty(request.ImportedClipPath))
                EditorApplication.delayCall += () =>
                {
                    if (LastClip == null) LastClip = AssetDatabase.LoadAssetAtPath<AnimationClip>(request.ImportedClipPath);
                    if (Changed != null) Changed();
                };
            if (status.NeedsWatching) EditorApplication.delayCall += () => Watch();
            else if (status.Phase == JobPhase.Succeeded && request.PendingImport) EditorApplication.delayCall += () => Import();
        }

        public static bool Busy
        {
            get { return status.Starting || status.Phase == JobPhase.Queued || status.Phase == JobPhase.Running || request.PendingImport; }
        }

        static void Save()
        {
            SessionState.SetString(StatusKey, status.Serialize());
            SessionState.SetString(RequestKey, JsonUtility.ToJson(request));
        }

        static void Apply(JobUpdate u)
        {
            status = status.Apply(u);
            Save();
            if (Changed != null) Changed();
        }

        // Network callbacks arrive on thread-pool threads; Unity objects are touched only here, on the main thread
        // (the window's Check posts its answer here too).
        internal static void Post(Action a) { mainThread.Enqueue(a); }

        /// <summary>What an outage says, in the Console as the CLI says it, and in the window while it lasts.</summary>
        static void SayOutage(string said)
        {
            Post(() =>
            {
                Debug.Log("AnimGen: " + said);
                Apply(new JobUpdate { Kind = said == Outage.Back ? JobUpdateKind.ServerReached : JobUpdateKind.ServerLost, Message = said });
            });
        }

        static void Pump()
        {
            Action a;
            while (mainThread.TryDequeue(out a))
            {
                try { a(); }
                catch (Exception e) { Debug.LogException(e); }
            }
        }

        static void OnBeforeReload()
        {
            reloading = true;
            Save();
            if (cts != null) cts.Cancel();
            untilReload.Cancel();
        }

        /// <summary>Upload the video, start the job and watch it; the clip is imported when it succeeds.</summary>
        public static void Generate(JobRequest r)
        {
            if (Busy) return;
            request = r;
            request.PendingImport = false;
            LastClip = null;
            request.ImportedClipPath = "";
            string problem = ServerAddress.Problem(r.Address) ?? BearerToken.Problem(r.Token) ?? VideoUpload.Check(r.VideoPath, 0);
            var problems = r.GetSettings().Problems();
            if (problem == null && problems.Count > 0) problem = problems[0];
            if (problem == null)
            {
                // Checked before the upload, not when the finished clip is saved.
                try { r.ClipAssetPath(); }
                catch (ArgumentException e) { problem = char.ToUpperInvariant(e.Message[0]) + e.Message.Substring(1) + "."; }
            }
            Apply(new JobUpdate { Kind = JobUpdateKind.Reset });
            Apply(new JobUpdate { Kind = JobUpdateKind.UploadStarted, Message = r.VideoPath });
            if (problem != null)
            {
                Apply(new JobUpdate { Kind = JobUpdateKind.ClientError, Message = problem });
                return;
            }
            cts = new CancellationTokenSource();
            var token = cts.Token;
            var options = ProtoConvert.ToOptions(r.GetSettings());
            Task.Run(async () =>
            {
                using (var c = new AnimGenConnection(r.Address, r.Token))
                {
                    // Only a server this session has had an answer from is waited for: a wrong address fails at once.
                    var outage = new Outage(c.Address, false, c.LostServer, c.Answered, SayOutage);
                    var start = new JobStart(c.Answered); // one request id for every try of this start
                    try
                    {
                        string uploadId = await outage.CallAsync(() => c.UploadAsync(Path.GetFullPath(r.VideoPath),
                            p => Post(() => Apply(new JobUpdate { Kind = JobUpdateKind.UploadProgress, Progress = p })), token), token);
                        // Cancel ends a try on the wire, the wait between tries while the server's queue is full, or
                        // while it cannot be reached, and the asking again after a try that timed out; the full queue
                        // and the asking again are said once each, in the Console and in the window's status.
                        // A job StartJob answered as Cancel came (also asked again for, StartAsync) is cancelled below as
                        // one that started as Cancel was pressed.
                        Proto.Job job = await StartAsync(c, outage, start, uploadId, options, said => Post(() =>
                        {
                            Debug.Log("AnimGen: " + said);
                            Apply(new JobUpdate { Kind = JobUpdateKind.QueueFull, Message = said });
                        }), token);
                        Post(() =>
                        {
                            // Read before Watch, which cancels this token as it replaces its source.
                            bool pressed = token.IsCancellationRequested; // Cancel pressed while the job was starting
                            Apply(new JobUpdate { Kind = JobUpdateKind.JobStarted, JobId = job.JobId, UploadId = uploadId });
                            Watch();
                            if (pressed) Cancel();
                        });
                    }
                    catch (Exception e)
                    {
                        string message = Failure(c, e, start);
                        // A job the server may have made as Cancel came, which it could not be asked for: said, as the
                        // CLI says it, so that it can be found and cancelled there.
                        string unknown = start.SaidAfterStop(token.IsCancellationRequested, Path.GetFileName(r.VideoPath));
                        Post(() =>
                        {
                            if (!token.IsCancellationRequested)
                            {
                                Apply(new JobUpdate { Kind = JobUpdateKind.ClientError, Message = message });
                                return;
                            }
                            Apply(new JobUpdate { Kind = JobUpdateKind.Cancelled });
                            if (unknown == null) return;
                            Debug.Log("AnimGen: " + unknown);
                            Apply(new JobUpdate { Kind = JobUpdateKind.Abandoned, Message = unknown });
                        });
                    }
                }
            });
        }

        /// <summary>(Re-)attach WatchJob to the current job: again after the server was lost, and after a stop of the
        /// server interrupted the job, which is then started again (StartJob on its upload runs that same job again).</summary>
        public static void Watch()
        {
            if (!status.NeedsWatching) return;
            if (cts != null) cts.Cancel();
            cts = new CancellationTokenSource();
            stopWaiting = new CancellationTokenSource();
            var token = cts.Token;
            var pressed = stopWaiting.Token;
            string jobId = status.JobId, uploadId = status.UploadId;
            int restarts = status.Restarts;
            var r = request;
            Task.Run(async () =>
            {
                using (var c = new AnimGenConnection(r.Address, r.Token))
                using (var waits = CancellationTokenSource.CreateLinkedTokenSource(token, pressed))
                {
                    // A job exists: the server was reached.
                    var outage = new Outage(c.Address, true, c.LostServer, c.Answered, SayOutage);
                    JobStart restart = null; // the latest start again of the job after an interruption
                    try
                    {
                        while (true)
                        {
                            string watched = jobId;
                            bool interrupted = false;
                            await outage.CallAsync(() => c.WatchAsync(watched, e =>
                            {
                                outage.Reached();
                                var u = ProtoConvert.ToUpdate(e);
                                if (Outage.IsInterruption(u)) // started again below rather than failed
                                {
                                    interrupted = true;
                                    return;
                                }
                                Post(() =>
                                {
                                    Apply(u);
                                    // The import is pending from the moment the job succeeds, not from the Import call
                                    // below: in between the runner was not Busy (the window offered Generate again before
                                    // the clip came) and a script reload there lost the import.
                                    if (u.Kind == JobUpdateKind.Done && status.JobId == watched
                                        && status.Phase == JobPhase.Succeeded)
                                    {
                                        request.PendingImport = true;
                                        Save();
                                    }
                                });
                            }, token), waits.Token);
                            if (!interrupted) break;
                            string gaveUp = Outage.AfterInterrupted(restarts);
                            if (gaveUp != null)
                            {
                                Post(() => { if (status.JobId == watched && !token.IsCancellationRequested) Apply(new JobUpdate { Kind = JobUpdateKind.ClientError, Message = gaveUp }); });
                                return;
                            }
                            waits.Token.ThrowIfCancellationRequested(); // Cancel pressed: not started again
                            restarts++;
                            Post(() => Debug.Log("AnimGen: " + Outage.RunningAgain));
                            var options = ProtoConvert.ToOptions(r.GetSettings());
                            restart = new JobStart(c.Answered); // a new start, under a new id, for all its tries
                            Proto.Job job = await StartAsync(c, outage, restart, uploadId, options,
                                said => Post(() => Debug.Log("AnimGen: " + said)), waits.Token);
                            jobId = job.JobId;
                            string again = job.JobId;
                            Post(() => { if (status.JobId == watched) Apply(new JobUpdate { Kind = JobUpdateKind.Restarted, JobId = again }); });
                            if (pressed.IsCancellationRequested)
                            {
                                // Cancel came while the job was started again: its CancelJob found the job interrupted,
                                // which the server leaves as it is, and StartJob then queued it again. It is cancelled
                                // here, as the CLI's _Run._cancel cancels the job StartJob answered, and not watched
                                // again: it is not imported.
                                await CancelOnServerAsync(c, again, true);
                                return;
                            }
                        }
                        string ended = jobId;
                        Post(() =>
                        {
                            if (status.JobId != ended || token.IsCancellationRequested) return;
                            if (status.Phase == JobPhase.Succeeded) Import();
                            else if (status.NeedsWatching)
                                Apply(new JobUpdate { Kind = JobUpdateKind.ClientError, Message = "The server ended the job's event stream before the job finished." });
                        });
                    }
                    catch (Exception e)
                    {
                        if (token.IsCancellationRequested && reloading) return; // re-attached after the reload
                        string id = jobId;
                        if (pressed.IsCancellationRequested && !token.IsCancellationRequested) // Cancel ended a wait
                        {
                            // A start again whose try is still unanswered, also asked again (StartAsync): the job it
                            // may have made is said, as the first start says it.
                            string unknown = restart != null
                                ? restart.SaidAfterStop(pressed.IsCancellationRequested, Path.GetFileName(r.VideoPath)) : null;
                            Post(() =>
                            {
                                if (status.JobId != id) return;
                                Apply(new JobUpdate { Kind = JobUpdateKind.Cancelled, JobId = id });
                                if (unknown == null) return;
                                Debug.Log("AnimGen: " + unknown);
                                Apply(new JobUpdate { Kind = JobUpdateKind.Abandoned, JobId = id, Message = unknown });
                            });
                            return;
                        }
                        string message = Failure(c, e, restart);
                        Post(() => { if (!token.IsCancellationRequested) Apply(new JobUpdate { Kind = JobUpdateKind.ClientError, Message = message }); });
                    }
                }
            });
        }

        public static void Cancel()
        {
            if (status.Starting) // no job yet: the upload, StartJob on the wire, or the wait for room or for the server, ends
            {
                if (cts != null) cts.Cancel();
                return;
            }
            if (!status.NeedsWatching) return;
            if (stopWaiting != null) stopWaiting.Cancel();
            string jobId = status.JobId;
            var r = request;
            Task.Run(async () =>
            {
                using (var c = new AnimGenConnection(r.Address, r.Token))
                    await CancelOnServerAsync(c, jobId, false); // the watch stream reports Cancelled
            });
        }

        /// <summary>CancelJob for jobId, within a stop's wait (JobStart.StopWait). No answer by then counts as received,
        /// as the CLI and the batch count it: the server answers once the job's worker has stopped, and the watch
        /// reports Cancelled. Where the server cannot be told (it is away), the job id is said, as the CLI says it, since
        /// a queued job would run for nobody once the server is back, and the watch, which would wait for it, ends; any
        /// other failure (a refusal) fails the job. said: the job is said Cancelled once the server has it (where no
        /// watch is left to report it).</summary>
        static async Task CancelOnServerAsync(AnimGenConnection c, string jobId, bool said)
        {
            try
            {
                await c.CancelAsync(jobId, JobStart.StopWait, UntilReload);
            }
            catch (Exception e) when (c.TimedOut(e)) { } // received: the server is stopping the job's worker
            catch (Exception e)
            {
                string message = c.Describe(e);
                bool away = c.LostServer(e) != null;
                Post(() =>
                {
                    if (!away)
                    {
                        Apply(new JobUpdate { Kind = JobUpdateKind.ClientError, Message = message });
                        return;
                    }
                    string could = Outage.CouldNotCancel(jobId);
                    Debug.Log("AnimGen: " + could);
                    if (status.JobId != jobId) return;
                    if (cts != null) cts.Cancel();
                    Apply(new JobUpdate { Kind = JobUpdateKind.Abandoned, JobId = jobId, Message = could });
                });
                return;
            }
            if (said) Post(() => { if (status.JobId == jobId) Apply(new JobUpdate { Kind = JobUpdateKind.Cancelled, JobId = jobId }); });
        }

        /// <summary>One start of a job (the first, or one again after an interruption), as the CLI's _Run._start: every
        /// try under start's request id, through a full queue, a lost server and tries that time out (QueueWait,
        /// Outage). stop ends a try on the wire at once (its CancellationToken: grpc-dotnet ends the call), and the
        /// waits between tries; where it leaves a try unanswered, the server may have made the job: StartJob is asked
        /// again under that id, within JobStart.StopWait, and answers with that job, for the caller to cancel
        /// (_Run._cancel). Where that fails too, start stays Unanswered (JobStart.SaidAfterStop).</summary>
        static Task<Proto.Job> StartAsync(AnimGenConnection c, Outage outage, JobStart start, string uploadId,
            Proto.GenerateOptions options, Action<string> said, CancellationToken stop)
        {
            return start.StartAsync((id, ct, within) => c.StartJobAsync(uploadId, options, id, ct, within), outage, c.TimedOut,
                said, stop, UntilReload);
        }

        /// <summary>The run's failure e in the connection's words; where it left a try of start (the latest, if any)
        /// unanswered, with what the CLI adds: the server may have made the job before it went (the wait for the lost
        /// server over: JobStart.MadeBeforeItWent), or while StartJob timed out (QueueWait's wait over:
        /// QueueWait.AskedFor).</summary>
        static string Failure(AnimGenConnection c, Exception e, JobStart start)
        {
            string message = c.Describe(e);
            if (start != null && start.ServerWentUnanswered(e)) return JobStart.MadeBeforeItWent(message);
            if (start != null && start.TimedOutUnanswered(e, c.TimedOut)) return QueueWait.AskedFor(message, QueueWait.Longest);
            return message;
        }

        public static void Dismiss()
        {
            if (Busy) return;
            Apply(new JobUpdate { Kind = JobUpdateKind.Reset });
        }

        /// <summary>Fetch the result and build, save and select the clip.</summary>
        static void Import()
        {
            request.PendingImport = true;
            Save();
            string jobId = status.JobId;
            var r = request;
            Task.Run(async () =>
            {
                using (var c = new AnimGenConnection(r.Address, r.Token))
                {
                    var outage = new Outage(c.Address, true, c.LostServer, c.Answered, SayOutage);
                    try
                    {
                        JobResult result = await outage.CallAsync(
                            () => c.GetResultAsync(jobId, new[] { ProtoConvert.FileFormat }, UntilReload), UntilReload);
                        HumanoidClipData data = ProtoConvert.ToClipData(result.Clip);
                        Proto.Job job = result.Job; // its frames and share of them with a person; null: not told
                        Post(() => Finish(data, r, job));
                    }
                    catch (Exception e)
                    {
                        string message = c.Describe(e);
                        Post(() =>
                        {
                            request.PendingImport = false;
                            status = new JobStatus { Phase = JobPhase.Failed, JobId = jobId, Message = "Fetching the result failed: " + message };
                            Save();
                            if (Changed != null) Changed();
                        });
                    }
                }
            });
        }

        static void Finish(HumanoidClipData data, JobRequest r, Proto.Job job)
        {
            try
            {
                var settings = r.GetSettings();
                if (!string.IsNullOrEmpty(r.ClipName)) data.Name = r.ClipName;
                else data.Name = Path.GetFileNameWithoutExtension(r.VideoPath);
                AnimationClip anim = HumanoidClipBuilder.Build(data, ClipBuildOptions.From(settings));
                string path = r.ClipAssetPath(); // replaced in place: references to an earlier take stay valid
                LastClip = HumanoidClipBuilder.Save(anim, path);
                request.ImportedClipPath = AssetDatabase.GetAssetPath(LastClip);
                EditorGUIUtility.PingObject(LastClip);
                // Kept with the status, so that the window shows it also after a reload.
                status = status.Clone();
                status.Frames = job != null ? job.Frames : 0;
                status.DetectedShare = job != null ? job.DetectedShare : 0f;
                string read = JobStatus.FramesRead(status.Frames, status.DetectedShare);
                Debug.Log("AnimGen: saved " + request.ImportedClipPath + " (" + data.FrameCount + " frames at " + data.FrameRate
                          + " fps" + (read.Length > 0 ? ", from " + read : "") + ")");
            }
            catch (Exception e)
            {
                status = new JobStatus { Phase = JobPhase.Failed, JobId = status.JobId, Message = "Building the clip failed: " + e.Message };
                Debug.LogException(e);
            }
            request.PendingImport = false;
            Save();
            if (Changed != null) Changed();
        }
    }
}
