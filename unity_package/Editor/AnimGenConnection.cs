// The gRPC client wrapper: one HTTP/2 channel (grpc-dotnet over Cysharp's YetAnotherHttpHandler, which the
// Editor's Mono lacks natively), the bearer token on every call, and errors turned into one-line messages.
// Nothing here touches Unity objects, so it runs on any thread (the batch entry point uses thread-pool tasks).
using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using AnimGen.Core;
using Cysharp.Net.Http;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Proto = AnimGen.Protocol.V1;

namespace AnimGen.Editor
{
    internal sealed class AnimGenConnection : IDisposable
    {
        public const string DefaultAddress = "127.0.0.1:50051"; // where `animgen serve` listens; "localhost" may try ::1 first

        readonly GrpcChannel channel;
        readonly Proto.AnimGenClient client;
        readonly string token;
        public readonly string Address;

        public AnimGenConnection(string address, string token)
        {
            Address = string.IsNullOrWhiteSpace(address) ? DefaultAddress : address.Trim();
            this.token = token == null ? "" : token.Trim();
            // Plaintext by default (localhost): HTTP/2 without TLS needs Http2Only. An https:// address uses TLS.
            string url = ServerAddress.Url(Address);
            // Pings while a call is open, as the server expects (limits.CLIENT_PING_S): a connection that went
            // dead without a word ends the watch instead of leaving the window waiting for ever.
            var handler = new YetAnotherHttpHandler
            {
                Http2Only = url.StartsWith("http://", StringComparison.Ordinal),
                Http2KeepAliveInterval = TimeSpan.FromSeconds(30),
                Http2KeepAliveTimeout = TimeSpan.FromSeconds(10),
            };
            channel = GrpcChannel.ForAddress(url, new GrpcChannelOptions
            {
                HttpHandler = handler,
                DisposeHttpClient = true,
                MaxReceiveMessageSize = 64 * 1024 * 1024,
            });
            client = new Proto.AnimGenClient(channel.CreateCallInvoker());
        }

        public void Dispose() { channel.Dispose(); }

        Metadata Headers()
        {
            var m = new Metadata();
            if (token.Length > 0) m.Add("authorization", "Bearer " + token);
            return m;
        }

        /// <summary>e, or the one exception an AggregateException (a Task's) holds.</summary>
        static Exception Unwrapped(Exception e)
        {
            var agg = e as AggregateException;
            return agg != null && agg.InnerExceptions.Count == 1 ? agg.InnerExceptions[0] : e;
        }

        /// <summary>A one-line message for the user: what went wrong and, where it helps, what to do.</summary>
        public string Describe(Exception e)
        {
            e = Unwrapped(e);
            var rpc = e as RpcException;
            if (rpc == null) return e.Message;
            string detail = string.IsNullOrEmpty(rpc.Status.Detail) ? rpc.StatusCode.ToString() : rpc.Status.Detail;
            switch (rpc.StatusCode)
            {
                case StatusCode.Unavailable:
                    return "Cannot reach the AnimGen server at " + Address + " (is `animgen serve` running?): " + detail;
                case StatusCode.Unauthenticated:
                    return "The AnimGen server at " + Address + " refused the token: " + detail;
                case StatusCode.DeadlineExceeded:
                    return "The AnimGen server at " + Address + " did not answer in time.";
                case StatusCode.Cancelled:
                    return "Cancelled.";
                default:
                    return detail;
            }
        }

        /// <summary>Words where e says the server cannot be reached (UNAVAILABLE: down, restarting, stopping), null for
        /// any other failure: what AnimGen.Core.Outage waits out. A server that stops (a deploy's SIGTERM) cancels the
        /// calls it gets in its last seconds, and sends CANCELLED for nothing else: one the run did not cause itself
        /// (Outage does not wait once the run's token is cancelled) is the server going too.</summary>
        public string LostServer(Exception e)
        {
            e = Unwrapped(e);
            var rpc = e as RpcException;
            if (rpc == null) return null;
            if (rpc.StatusCode == StatusCode.Unavailable) return Describe(e);
            if (rpc.StatusCode == StatusCode.Cancelled) return "The AnimGen server at " + Address + " ended the call: it is stopping.";
            return null;
        }

        /// <summary>Whether e is the server's answer, a refusal (a full queue, NOT_FOUND, a token it refuses): the rule
        /// is AnimGen.Core.CallStatus.Answered's, on e's status code. The server is there: AnimGen.Core.Outage ends its
        /// outage on it.</summary>
        public bool Answered(Exception e)
        {
            e = Unwrapped(e);
            if (e is QueueFullException) return true;
            var rpc = e as RpcException;
            return rpc != null && CallStatus.Answered((int)rpc.StatusCode);
        }

        /// <summary>Whether e is the call's own deadline (AnimGen.Core.CallStatus.TimedOut, on e's status code): a
        /// StartJob that timed out may have made its job, and AnimGen.Core.QueueWait asks it again under its request
        /// id.</summary>
        public bool TimedOut(Exception e)
        {
            var rpc = Unwrapped(e) as RpcException;
            return rpc != null && CallStatus.TimedOut((int)rpc.StatusCode);
        }

        public async Task<Proto.ServerInfo> GetServerInfoAsync(CancellationToken ct)
        {
            return await client.GetServerInfoAsync(new Proto.GetServerInfoRequest(), Headers(),
                DateTime.UtcNow.AddSeconds(10), ct).ResponseAsync.ConfigureAwait(false);
        }

        /// <summary>Streams the video: a header (name, size, sha256), then 1 MiB chunks. Returns the upload id. A video the
        /// server already stores is answered after the header and not sent again.</summary>
        public async Task<string> UploadAsync(string path, Action<float> progress, CancellationToken ct)
        {
            var info = new FileInfo(path);
            string sha = VideoUpload.Sha256Hex(path);
            using (var call = client.UploadVideo(Headers(), null, ct))
            using (var file = File.OpenRead(path))
            {
                try
                {
                    await call.RequestStream.WriteAsync(new Proto.UploadVideoRequest
                    {
                        Header = new Proto.UploadHeader
                        {
                            FileName = info.Name, SizeBytes = info.Length, Sha256 = sha, MayAnswerEarly = true,
                        },
                    }).ConfigureAwait(false);
                    var buffer = new byte[VideoUpload.ChunkBytes];
                    long sent = 0;
                    int n;
                    while ((n = await file.ReadAsync(buffer, 0, buffer.Length, ct).ConfigureAwait(false)) > 0)
                    {
                        await call.RequestStream.WriteAsync(new Proto.UploadVideoRequest { Chunk = ByteString.CopyFrom(buffer, 0, n) })
                            .ConfigureAwait(false);
                        sent += n;
                        if (progress != null) progress(info.Length > 0 ? (float)sent / info.Length : 1f);
                    }
                    await call.RequestStream.CompleteAsync().ConfigureAwait(false);
                }
                catch (InvalidOperationException) when (!ct.IsCancellationRequested)
                {
                    // The server ends the call as soon as it can answer, and the next write only says "the call is
                    // complete". It refused the upload (too large, a bad token): the call's status says why, and
                    // ResponseAsync throws that RpcException. Or it already stores this very file (MayAnswerEarly):
                    // the answer is the stored upload's.
                    return (await call.ResponseAsync.ConfigureAwait(false)).UploadId;
                }
                var response = await call.ResponseAsync.ConfigureAwait(false);
                return response.UploadId;
            }
        }

        /// <summary>Throws QueueFullException where the server's queue is full and it said when to try again
        /// (QueueWait.StartAsync does); any other refusal as the RpcException it is. requestId: this start's
        /// (AnimGen.Core.JobStart), the same on every try of it: asked again, the server answers with the job it made.
        /// within: the call's deadline (default JobStart.Within, 30 s; one that passes it is tried again, TimedOut).</summary>
        public async Task<Proto.Job> StartJobAsync(string uploadId, Proto.GenerateOptions options, string requestId,
            CancellationToken ct, TimeSpan? within = null)
        {
            try
            {
                var request = new Proto.StartJobRequest { UploadId = uploadId, Options = options, RequestId = requestId ?? "" };
                return await client.StartJobAsync(request, Headers(), DateTime.UtcNow.Add(within ?? JobStart.Within), ct)
                    .ResponseAsync.ConfigureAwait(false);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted)
            {
                QueueFullException full = QueueFullException.From(e.Status.Detail, TextEntries(e.Trailers));
                if (full == null) throw; // a video too long, a full disk: trying again would not help
                throw full;
            }
        }

        /// <summary>The text entries of metadata (a binary one's Value throws; the key sought is not binary).</summary>
        static IEnumerable<KeyValuePair<string, string>> TextEntries(Metadata metadata)
        {
            if (metadata == null) yield break;
            foreach (Metadata.Entry entry in metadata)
                if (!entry.IsBinary) yield return new KeyValuePair<string, string>(entry.Key, entry.Value);
        }

        /// <summary>Streams the job's events to onEvent until its final event (or ct). Re-attachable any time.</summary>
        public async Task WatchAsync(string jobId, Action<Proto.JobEvent> onEvent, CancellationToken ct)
        {
            using (var call = client.WatchJob(new Proto.WatchJobRequest { JobId = jobId }, Headers(), null, ct))
            {
                while (await call.ResponseStream.MoveNext(ct).ConfigureAwait(false))
                    onEvent(call.ResponseStream.Current);
            }
        }

        /// <summary>within: a stop's wait, JobStart.StopWait (the CLI's and Unreal's 5 s), so that a stop is not held up
        /// by a worker slow to stop: a cancel that passes it (TimedOut) was received, and only one that could not reach
        /// the server (LostServer) was not.</summary>
        public async Task<Proto.Job> CancelAsync(string jobId, TimeSpan within, CancellationToken ct)
        {
            return await client.CancelJobAsync(new Proto.CancelJobRequest { JobId = jobId }, Headers(),
                DateTime.UtcNow.Add(within), ct).ResponseAsync.ConfigureAwait(false);
        }

        /// <summary>The result: the clip from the header, and the bytes of each requested file.</summary>
        public async Task<JobResult> GetResultAsync(string jobId, IEnumerable<Proto.OutputFormat> formats, CancellationToken ct)
        {
            var request = new Proto.GetResultRequest { JobId = jobId };
            request.Formats.AddRange(formats);
            var result = new JobResult();
            using (var call = client.GetResult(request, Headers(), null, ct))
            {
                while (await call.ResponseStream.MoveNext(ct).ConfigureAwait(false))
                {
                    var m = call.ResponseStream.Current;
                    if (m.PayloadCase == Proto.GetResultResponse.PayloadOneofCase.Header)
                    {
                        result.Job = m.Header.Job;
                        result.Clip = m.Header.Clip;
                    }
                    else if (m.PayloadCase == Proto.GetResultResponse.PayloadOneofCase.Chunk)
                    {
                        MemoryStream s;
                        if (!result.Files.TryGetValue(m.Chunk.FileName, out s)) result.Files[m.Chunk.FileName] = s = new MemoryStream();
                        s.Position = m.Chunk.Offset;
                        m.Chunk.Data.WriteTo(s);
                    }
                }
            }
            if (result.Clip == null) throw new InvalidOperationException("The server sent no clip for job " + jobId + ".");
            return result;
        }
    }

    internal sealed class JobResult
    {
        public Proto.Job Job;
        public Proto.HumanoidClip Clip;
        public readonly Dictionary<string, MemoryStream> Files = new Dictionary<string, MemoryStream>();
    }
}
