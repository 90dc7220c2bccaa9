// CI entry point (leave out -quit: Run ends the Editor itself, with the exit code):
//   Unity -batchmode -projectPath P -executeMethod AnimGen.Editor.BatchGenerate.Run \
//         -animgenInput Videos -animgenOutput Assets/Clips -animgenServer 127.0.0.1:50051
// Every video in the folder (not its subfolders) becomes Assets/Clips/<video name>.anim; the server's warnings are
// logged. Videos whose names differ only in extension or case are refused (their clips would overwrite each other's).
// -animgenSummary run.json also writes what became of each video, for CI to read (AnimGen.Core.BatchSummary, the
// shape of `animgen generate --summary`): once the videos are listed, however the batch ends (short of the Editor
// being killed).
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
            List<string> videos = Directory.GetFiles(args.InputFolder).Where(VideoUpload.LooksLikeVideo).OrderBy(p => p, StringComparer.Ordinal).ToList();
            if (videos.Count == 0)
            {
                Debug.LogError("AnimGen batch: no videos (.mp4, .mov, ...) in " + Path.GetFullPath(args.InputFolder));
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

        /// <summary>Adds a row to summary.Videos for each video it has done, in order.</summary>
        static int RunVideos(BatchArguments args, List<string> videos, BatchSummary summary)
        {
            Proto.GenerateOptions options = ProtoConvert.ToOptions(args.Settings);
            // Videos whose clips would overwrite each other's are not made: which one the user meant is unknown.
            Dictionary<string, string> clashes = ClipPaths.Clashes(videos);
            using (var connection = new AnimGenConnection(args.Server, args.Token))
            {
                if (args.Summary != null) summary.ServerVersion = ServerVersion(connection);
                foreach (string video in videos)
                {
                    var row = new BatchVideoResult(video);
                    summary.Videos.Add(row);
                    string clash;
                    if (clashes.TryGetValue(video, out clash))
                    {
                        Fail(row, clash);
                        continue;
                    }
                    string name = Path.GetFileNameWithoutExtension(video);
                    try
                    {
                        string path = ClipPaths.ForVideo(args.OutputFolder, video);
                        string refused = HumanoidClipBuilder.ReplaceProblem(path); // said before its job runs
                        if (refused != null)
                        {
                            Fail(row, refused);
                            continue;
                        }
                        var clock = System.Diagnostics.Stopwatch.StartNew();
                        HumanoidClipData data = Task.Run(() => GenerateOne(connection, video, options, args.TimeoutMinutes, row))
                            .GetAwaiter().GetResult();
                        data.Name = name;
                        AnimationClip anim = HumanoidClipBuilder.Build(data, ClipBuildOptions.From(args.Settings));
                        HumanoidClipBuilder.Save(anim, path);
                        row.Outcome = BatchOutcome.Converted;
                        row.Clip = path;
                        row.Seconds = clock.Elapsed.TotalSeconds;
                        Debug.Log("AnimGen batch: " + video + " -> " + path + " (" + data.FrameCount + " frames)");
                    }
                    catch (Exception e)
                    {
                        Fail(row, connection.Describe(e));
                    }
                }
            }
            AssetDatabase.SaveAssets();
            int failures = summary.Videos.Count(r => r.Outcome != BatchOutcome.Converted);
            Debug.Log("AnimGen batch: " + (videos.Count - failures) + " of " + videos.Count + " videos made clips");
            return failures == 0 ? 0 : 1;
        }

        static void Fail(BatchVideoResult row, string message)
        {
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

        /// <summary>Keeps the job's warnings, frames and detected share in row, for the summary.</summary>
        static async Task<HumanoidClipData> GenerateOne(AnimGenConnection c, string video, Proto.GenerateOptions options,
            float timeoutMinutes, BatchVideoResult row)
        {
            // A hung server or a half-open connection must not keep a CI job alive for ever.
            using (var limit = new CancellationTokenSource(TimeSpan.FromMinutes(timeoutMinutes)))
            {
                CancellationToken ct = limit.Token;
                string jobId = null;
                try
                {
                    string uploadId = await c.UploadAsync(video, null, ct).ConfigureAwait(false);
                    Proto.Job job = await c.StartJobAsync(uploadId, options, ct).ConfigureAwait(false);
                    jobId = job.JobId;
                    var status = new JobStatus { Phase = JobPhase.Queued, JobId = job.JobId, UploadId = uploadId };
                    await c.WatchAsync(job.JobId, e =>
                    {
                        var next = status.Apply(ProtoConvert.ToUpdate(e));
                        if (next.Stage != status.Stage && next.Stage.Length > 0) Console.WriteLine("AnimGen batch: " + video + ": " + next.Stage);
                        // A CI log keeps the server's warnings ("left arm hidden from 2.1 s to 3.3 s"), each once.
                        foreach (string w in next.Warnings.Skip(status.Warnings.Count))
                        {
                            Console.WriteLine("AnimGen batch: " + video + ": warning: " + w);
                            row.Warnings.Add(w);
                        }
                        status = next;
                    }, ct).ConfigureAwait(false);
                    if (status.Phase != JobPhase.Succeeded)
                        throw new InvalidOperationException(status.Phase == JobPhase.Failed ? status.Message : "the job ended " + status.Phase.ToString().ToLowerInvariant());
                    JobResult result = await c.GetResultAsync(job.JobId, new[] { ProtoConvert.FileFormat }, ct).ConfigureAwait(false);
                    if (result.Job != null) // older servers leave both 0
                    {
                        row.Frames = result.Job.Frames;
                        row.DetectedShare = result.Job.DetectedShare;
                    }
                    return ProtoConvert.ToClipData(result.Clip);
                }
                catch (Exception) when (ct.IsCancellationRequested)
                {
                    if (jobId != null) // the server need not finish a job nobody waits for
                    {
                        try { await c.CancelAsync(jobId, CancellationToken.None).ConfigureAwait(false); }
                        catch (Exception) { }
                    }
                    throw new TimeoutException("no clip within " + timeoutMinutes + " minutes (-animgenTimeout): gave up");
                }
            }
        }
    }
}
