// CI entry point (leave out -quit: Run ends the Editor itself, with the exit code):
//   Unity -batchmode -projectPath P -executeMethod AnimGen.Editor.BatchGenerate.Run \
//         -animgenInput Videos -animgenOutput Assets/Clips -animgenServer 127.0.0.1:50051
// Every video in the folder becomes Assets/Clips/<video name>.anim; the server's warnings are logged. With
// -animgenRecursive, so does every video of its subfolders (hidden ones aside), in the same subfolder of Assets/Clips:
// Videos/walk/take.mp4 -> Assets/Clips/walk/take.anim, as `animgen generate DIR -r` (AnimGen.Core.BatchVideos). Videos
// whose clips would overwrite each other's (names that differ only in extension or case) are refused.
// -animgenJobs N sends up to N videos to the server at once (default 1), for a server with several workers; the clips
// are still made, logged and summarised in the folder's order. A video that finds the server's queue full says so and
// is tried again (AnimGen.Core.QueueWait: up to 10 minutes, within -animgenTimeout). A server that restarts is ridden
// out as the CLI rides it out (AnimGen.Core.Outage): each video waits for it, says so, and has a job the stop
// interrupted started again. The wait is one per server for the whole batch: once it is over, the videos after fail at
// their first try rather than wait again. StartJob goes under a request id per start (AnimGen.Core.JobStart): a try
// that passes its 30 s deadline is asked again under it (within the wait for room), which answers with the job it made;
// a timeout that cuts it off asks it again for the job it made, and cancels that. A video that the wait for its lost
// server ends with StartJob unanswered says that the server may have made the job before it went.
// -animgenSummary run.json also writes what became of each video, for CI to read (AnimGen.Core.BatchSummary, the
// shape of `animgen generate --summary`): when the batch ends, whatever ends it once its videos are found (not when
// the Editor itself is stopped).
// Exits 0 when all succeed (and the summary is written), 1 otherwise.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using AnimGen.Core;
using UnityEditor;
using UnityEngine;
using Proto = AnimGen.Protocol.V1;

namespace AnimGen.Editor
{
    public static class BatchGenerate
    {
        /// <summary>The -executeMethod target; always ends the Editor with an exit code.</summary>
        public static void Run()
        {
            int code;
            try { code = RunAll(Environment.GetCommandLineArgs()); }
            catch (Exception e)
            {
                Debug.LogError("AnimGen batch: " + e.Message);
                code = 1;
            }
            EditorApplication.Exit(code);
        }

        /// <summary>Generates every video; returns the process exit code. Network work runs on the thread pool
        /// (blocking the main thread on it cannot deadlock); Unity objects are built on the main thread.</summary>
        internal static int RunAll(string[] commandLine)
        {
            BatchArguments args;
            try { args = BatchArguments.Parse(commandLine, Environment.GetEnvironmentVariable("ANIMGEN_TOKEN")); }
            catch (ArgumentException e)
            {
                Debug.LogError("AnimGen batch: " + e.Message);
                return 1;
            }
            if (!Directory.Exists(args.InputFolder))
            {
                Debug.LogError("AnimGen batch: -animgenInput folder not found: " + Path.GetFullPath(args.InputFolder));
                return 1;
            }
            List<string> videos = BatchVideos.In(args.InputFolder, args.Recursive);
            if (videos.Count == 0)
            {
                Debug.LogError("AnimGen batch: no videos (.mp4, .mov, ...) in " + Path.GetFullPath(args.InputFolder)
                               + (args.Recursive ? " or its subfolders" : ""));
                return 1;
            }
            var summary = new BatchSummary(args.Settings);
            int code = 1;
            try { code = RunVideos(args, videos, summary); }
            finally
            {
                if (args.Summary != null && !WriteSummary(args.Summary, summary, videos)) code = 1;
            }
            return code;
        }

        /// <summary>Adds a row to summary.Videos for each video it has done, in order. Up to args.Jobs videos are on
        /// the server at once, their network work on the thread pool; the main thread, which alone touches Unity
        /// objects, sends them in the folder's order and takes their results in that order too, each as soon as it and
        /// those before it are in: the log and the summary read as for one video at a time.</summary>
        static int RunVideos(BatchArguments args, List<string> videos, BatchSummary summary)
        {
            Proto.GenerateOptions options = ProtoConvert.ToOptions(args.Settings);
            int count = videos.Count;
            var paths = new string[count];
            var unnamed = new Exception[count]; // why a video's clip has no path (a bad name): it fails in its turn
            for (int k = 0; k < count; k++)
            {
                // In the same subfolder of the output folder as the video is of the input's (-animgenRecursive). Saving
                // it makes that folder (HumanoidClipBuilder.Save: AssetDatabase.CreateFolder), as the output's own.
                try { paths[k] = BatchVideos.ClipFor(args.OutputFolder, args.InputFolder, videos[k]); }
                catch (ArgumentException e) { unnamed[k] = e; }
            }
            // Videos whose clips would overwrite each other's are not made: which one the user meant is unknown. Two
            // take.mp4 in different subfolders do not clash.
            Dictionary<string, string> clashes = ClipPaths.Clashes(
                Enumerable.Range(0, count).Where(k => paths[k] != null).Select(k => new KeyValuePair<string, string>(videos[k], paths[k])),
                v => BatchVideos.Relative(args.InputFolder, v));
            var rows = new BatchVideoResult[count];
            var refused = new string[count]; // why a video was not sent; logged in its turn
            var work = new Task<HumanoidClipData>[count];
            var clocks = new System.Diagnostics.Stopwatch[count];
            using (var connection = new AnimGenConnection(args.Server, args.Token))
            using (var stop = new CancellationTokenSource())
            {
                if (args.Summary != null) summary.ServerVersion = ServerVersion(connection);
                CancellationToken stopping = stop.Token;
                int next = 0; // the first video neither sent nor refused
                try
                {
                    for (int i = 0; i < count; i++)
                    {
                        // Keep args.Jobs videos on the server (a finished one frees its place at once, not when its
                        // turn comes), until video i's outcome is in.
                        while (true)
                        {
                            for (; next < count && Running(work, i, next).Length < args.Jobs; next++)
                            {
                                int k = next;
                                string video = videos[k];
                                var row = rows[k] = new BatchVideoResult(video);
                                string clash;
                                if (clashes.TryGetValue(video, out clash))
                                {
                                    refused[k] = clash;
                                    continue;
                                }
                                if (unnamed[k] != null)
                                {
                                    work[k] = Task.FromException<HumanoidClipData>(unnamed[k]);
                                    continue;
                                }
                                try
                                {
                                    refused[k] = HumanoidClipBuilder.ReplaceProblem(paths[k]); // said before its job runs
                                    if (refused[k] != null) continue;
                                }
                                catch (Exception e)
                                {
                                    work[k] = Task.FromException<HumanoidClipData>(e);
                                    continue;
                                }
                                clocks[k] = System.Diagnostics.Stopwatch.StartNew();
                                work[k] = Task.Run(() => GenerateOne(connection, video, options, args.TimeoutMinutes, row, stopping));
                            }
                            if (refused[i] != null || work[i].IsCompleted) break;
                            Task[] running = Running(work, i, next); // video i's job, unless it just ended
                            if (running.Length > 0) Task.WaitAny(running); // cannot deadlock: see RunAll
                        }
                        summary.Videos.Add(rows[i]);
                        if (refused[i] != null)
                        {
                            Fail(rows[i], refused[i]);
                            continue;
                        }
                        try
                        {
                            HumanoidClipData data = work[i].GetAwaiter().GetResult();
                            data.Name = Path.GetFileNameWithoutExtension(videos[i]);
                            AnimationClip anim = HumanoidClipBuilder.Build(data, ClipBuildOptions.From(args.Settings));
                            HumanoidClipBuilder.Save(anim, paths[i]);
                            rows[i].Outcome = BatchOutcome.Converted;
                            rows[i].Clip = paths[i];
                            rows[i].Seconds = clocks[i].Elapsed.TotalSeconds;
                            string read = JobStatus.FramesRead(rows[i].Frames, rows[i].DetectedShare);
                            Debug.Log("AnimGen batch: " + videos[i] + " -> " + paths[i] + " (" + data.FrameCount + " frames"
                                      + (read.Length > 0 ? ", from " + read : "") + ")");
                        }
                        catch (Exception e)
                        {
                            Fail(rows[i], connection.Describe(e));
                        }
                    }
                }
                finally
                {
                    // Jobs are left only when an exception ends the batch: the server need not finish them, and
                    // they must be done with the connection before it is closed.
                    stop.Cancel();
                    // A stop's StartJob asked again, then its CancelJob: JobStart.StopWait each at most.
                    try { Task.WaitAll(Running(work, 0, next), JobStart.StopWait + JobStart.StopWait + TimeSpan.FromSeconds(5)); }
                    catch (AggregateException) { }
                }
            }
            AssetDatabase.SaveAssets();
            int failures = summary.Videos.Count(r => r.Outcome != BatchOutcome.Converted);
            Debug.Log("AnimGen batch: " + (videos.Count - failures) + " of " + videos.Count + " videos made clips");
            return failures == 0 ? 0 : 1;
        }

        /// <summary>The jobs of videos from..to (not counting to) still on the server.</summary>
        static Task[] Running(Task<HumanoidClipData>[] work, int from, int to)
        {
            var running = new List<Task>();
            for (int k = from; k < to; k++)
                if (work[k] != null && !work[k].IsCompleted) running.Add(work[k]);
            return running.ToArray();
        }

        static void Fail(BatchVideoResult row, string message)
        {
            // The server names the file it was sent ("walk.mp4: no person was found"); the log names it as found.
            string sent = Path.GetFileName(row.Video) + ": ";
            if (message.StartsWith(sent, StringComparison.Ordinal)) message = message.Substring(sent.Length);
            row.Error = row.Video + ": " + message; // the summary's error is the log's line
            Debug.LogError("AnimGen batch: " + row.Error);
        }

        /// <summary>The server's version for the summary; null when it cannot be asked (each video then says why).</summary>
        static string ServerVersion(AnimGenConnection connection)
        {
            try
            {
                Proto.ServerInfo info = Task.Run(() => connection.GetServerInfoAsync(CancellationToken.None)).GetAwaiter().GetResult();
                return BatchSummary.VersionNumber(info.ServerVersion);
            }
            catch (Exception) { return null; }
        }

        /// <summary>False, said as one error, when the summary cannot be written. Videos an exception kept the batch
        /// from are cancelled in it.</summary>
        static bool WriteSummary(string file, BatchSummary summary, List<string> videos)
        {
            summary.CancelRest(videos);
            try
            {
                summary.WriteTo(file);
                return true;
            }
            catch (Exception e)
            {
                Debug.LogError("AnimGen batch: -animgenSummary " + file + ": cannot be written (" + e.Message + ")");
                return false;
            }
        }

        /// <summary>Keeps the job's warnings, frames and detected share in row, for the summary. Gives up past the
        /// timeout, which counts from here (not from the batch's start), or when stop is cancelled.</summary>
        static async Task<HumanoidClipData> GenerateOne(AnimGenConnection c, string video, Proto.GenerateOptions options,
            float timeoutMinutes, BatchVideoResult row, CancellationToken stop)
        {
            // A hung server or a half-open connection must not keep a CI job alive for ever.
            using (var limit = CancellationTokenSource.CreateLinkedTokenSource(stop))
            {
                limit.CancelAfter(TimeSpan.FromMinutes(timeoutMinutes));
                CancellationToken ct = limit.Token;
                string prefix = "AnimGen batch: " + video + ": ";
                // A server this batch has had an answer from is waited for while it restarts, within the timeout; one
                // never reached (a wrong address) fails at once.
                var outage = new Outage(c.Address, false, c.LostServer, c.Answered, s => Console.WriteLine(prefix + s));
                string jobId = null, uploadId = null;
                JobStart starting = null; // the latest start: one a stop left unanswered may have made a job
                try
                {
                    uploadId = await outage.CallAsync(() => c.UploadAsync(video, null, ct), ct).ConfigureAwait(false);
                    // A full queue (a shared server busy with other work) is waited out, within the timeout; said once.
                    // So is a try that timed out, asked again at once (the server may have made the job). Each start
                    // has a request id of its own, the same on every try of it. The timeout (or the batch's end) cuts
                    // a try off; where it leaves one unanswered, StartJob is asked again under its id for the job to
                    // cancel below. jobId: the job it started.
                    // Out here, not in the async lambda below: mono's mcs (which builds the test harness) makes code there
                    // that crashes the runtime.
                    Func<string, CancellationToken, TimeSpan?, Task<Proto.Job>> startJob =
                        (id, t, within) => c.StartJobAsync(uploadId, options, id, t, within);
                    Func<Task> start = async () =>
                    {
                        var one = starting = new JobStart(c.Answered);
                        Proto.Job made = await one.StartAsync(startJob, outage, c.TimedOut, s => Console.WriteLine(prefix + s), ct,
                            CancellationToken.None).ConfigureAwait(false);
                        jobId = made.JobId;
                        ct.ThrowIfCancellationRequested(); // stopped as it started: cancelled below, not watched
                        if (made.State == Proto.JobState.Queued) Console.WriteLine(prefix + QueueWait.Queued);
                    };
                    await start().ConfigureAwait(false);
                    var status = new JobStatus { Phase = JobPhase.Queued, JobId = jobId, UploadId = uploadId };
                    for (int restarts = 0; ; restarts++)
                    {
                        bool interrupted = false;
                        string watched = jobId;
                        await outage.CallAsync(() => c.WatchAsync(watched, e =>
                        {
                            outage.Reached();
                            var u = ProtoConvert.ToUpdate(e);
                            if (Outage.IsInterruption(u)) // started again below rather than failed
                            {
                                interrupted = true;
                                return;
                            }
                            var next = status.Apply(u);
                            if (next.Stage != status.Stage && next.Stage.Length > 0) Console.WriteLine(prefix + next.Stage);
                            // A CI log keeps the server's warnings ("left arm hidden from 2.1 s to 3.3 s"), each once, also
                            // those a watch attached again replays.
                            foreach (string w in next.Warnings.Skip(status.Warnings.Count))
                            {
                                Console.WriteLine(prefix + "warning: " + w);
                                row.Warnings.Add(w);
                            }
                            status = next;
                        }, ct), ct).ConfigureAwait(false);
                        if (!interrupted) break;
                        string gaveUp = Outage.AfterInterrupted(restarts);
                        if (gaveUp != null) throw new InvalidOperationException(gaveUp);
                        Console.WriteLine(prefix + Outage.RunningAgain);
                        await start().ConfigureAwait(false); // the same job: the server runs an interrupted one again
                        status = status.Apply(new JobUpdate { Kind = JobUpdateKind.Restarted, JobId = jobId });
                    }
                    if (status.Phase != JobPhase.Succeeded)
                        throw new InvalidOperationException(status.Phase == JobPhase.Failed ? status.Message : "the job ended " + status.Phase.ToString().ToLowerInvariant());
                    string done = jobId;
                    JobResult result = await outage.CallAsync(() => c.GetResultAsync(done, new[] { ProtoConvert.FileFormat }, ct), ct)
                        .ConfigureAwait(false);
                    if (result.Job != null) // older servers leave both 0
                    {
                        row.Frames = result.Job.Frames;
                        row.DetectedShare = result.Job.DetectedShare;
                    }
                    return ProtoConvert.ToClipData(result.Clip);
                }
                catch (Exception) when (ct.IsCancellationRequested)
                {
                    // A start the stop left unanswered, though asked again (start), may have made a job nobody knows,
                    // whatever job an earlier start made (a start again after an interruption), as the CLI's _cancel
                    // has it: said, and nothing is cancelled.
                    string unknown = starting != null ? starting.SaidAfterStop(true, Path.GetFileName(video)) : null;
                    if (unknown != null)
                    {
                        Console.WriteLine(prefix + unknown);
                        jobId = null;
                    }
                    if (jobId != null) // the server need not finish a job nobody waits for
                    {
                        // Within a stop's wait, as the CLI's: a worker slow to stop does not hold the batch up.
                        try { await c.CancelAsync(jobId, JobStart.StopWait, CancellationToken.None).ConfigureAwait(false); }
                        catch (Exception e) when (c.LostServer(e) != null)
                        {
                            // The server could not be told: a queued job would run for nobody once it is back, so it
                            // is said by its id. Any other answer (a refusal, a cancel that timed out) was received, as
                            // the CLI counts it (remote.py cancel_jobs).
                            Console.WriteLine(prefix + Outage.CouldNotCancel(jobId));
                        }
                        catch (Exception) { }
                    }
                    if (stop.IsCancellationRequested) throw new OperationCanceledException("the batch ended first");
                    throw new TimeoutException("no clip within " + timeoutMinutes + " minutes (-animgenTimeout): gave up");
                }
                catch (ServerGoneException e) when (starting != null && starting.ServerWentUnanswered(e))
                {
                    // Its job would run for nobody once the server is back: said with the failure, as the CLI says it.
                    throw new ServerGoneException(JobStart.MadeBeforeItWent(e.Message), e.InnerException);
                }
                catch (Exception e) when (starting != null && starting.TimedOutUnanswered(e, c.TimedOut))
                {
                    // StartJob timed out on every try until the wait was over: said as the CLI says it.
                    throw new TimeoutException(QueueWait.AskedFor(c.Describe(e), QueueWait.Longest), e);
                }
            }
        }
    }
}
