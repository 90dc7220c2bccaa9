// A server whose queue is full answers StartJob RESOURCE_EXHAUSTED with trailing metadata "animgen-retry-after-ms",
// when to try again (server/animgen_server/limits.py RETRY_AFTER_KEY). The window and the batch then wait and try
// again, as `animgen generate --server` does (remote.py _Run._start): saying so once, for up to 10 minutes. Its other
// RESOURCE_EXHAUSTED answers (a video too long, a full disk) lack the key: trying again would not help, so they fail.
// A try that times out (StartJob's own 30 s deadline, JobStart.Within) is an answer lost, not a refusal: the server may
// have made the job, so it is asked again at once under the same request id (JobStart), which answers with that job,
// within the same 10 minutes, saying so once, as the CLI does.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;

namespace AnimGen.Core
{
    /// <summary>StartJob's answer where the server's queue is full: the server's message, and when to try again.</summary>
    public sealed class QueueFullException : Exception
    {
        public readonly TimeSpan RetryAfter;

        public QueueFullException(string serverMessage, TimeSpan retryAfter) : base(serverMessage)
        {
            RetryAfter = retryAfter;
        }

        /// <summary>For a RESOURCE_EXHAUSTED answer with these trailers (text entries); null where they do not say
        /// when to try again: that refusal is final.</summary>
        public static QueueFullException From(string serverMessage, IEnumerable<KeyValuePair<string, string>> trailers)
        {
            TimeSpan? after = QueueWait.RetryAfter(trailers);
            return after.HasValue ? new QueueFullException(serverMessage ?? "", after.Value) : null;
        }
    }

    public static class QueueWait
    {
        public const string RetryAfterKey = "animgen-retry-after-ms";
        /// <summary>As long as the CLI waits (remote.py QUEUE_WAIT_S): a shared server may be busy with others' work.
        /// The harnesses shorten it.</summary>
        public static TimeSpan Longest { get; internal set; } = TimeSpan.FromMinutes(10);
        /// <summary>The shortest wait between tries: a server that says 0 is not asked again in a busy loop.</summary>
        public static readonly TimeSpan Shortest = TimeSpan.FromMilliseconds(100);
        /// <summary>What the CLI says of a job StartJob left waiting for a worker.</summary>
        public const string Queued = "queued on the server: waiting for a free worker";

        static readonly Stopwatch Clock = Stopwatch.StartNew();

        /// <summary>When the trailers say to try again (a whole number of ms; below 0 is 0); null without the key or
        /// with a value that is not one, as the CLI reads it.</summary>
        public static TimeSpan? RetryAfter(IEnumerable<KeyValuePair<string, string>> trailers)
        {
            if (trailers == null) return null;
            foreach (KeyValuePair<string, string> t in trailers)
            {
                if (!string.Equals(t.Key, RetryAfterKey, StringComparison.OrdinalIgnoreCase)) continue;
                long ms;
                if (t.Value == null || !long.TryParse(t.Value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out ms))
                    return null;
                const long day = 24L * 60 * 60 * 1000; // TimeSpan holds no more than it, in practice
                return TimeSpan.FromMilliseconds(Math.Max(0L, Math.Min(ms, day)));
            }
            return null;
        }

        /// <summary>The wait between tries for a server's RetryAfter: never under Shortest.</summary>
        public static TimeSpan Every(TimeSpan retryAfter)
        {
            return retryAfter < Shortest ? Shortest : retryAfter;
        }

        /// <summary>"the server's queue is full; trying again every 5 s for up to 10 min": the CLI's words.</summary>
        public static string Saying(TimeSpan every, TimeSpan longest)
        {
            return "the server's queue is full; trying again every " + Number(every.TotalSeconds) + " s for up to "
                   + Number(longest.TotalMinutes) + " min";
        }

        /// <summary>What the CLI says, once, where a try of StartJob timed out and is asked again.</summary>
        public static readonly string AskingAgain = "the server took over " + Number(JobStart.Within.TotalSeconds)
                                                    + " s to start the job; asking again";

        /// <summary>The server's message once the wait is over: "... (waited 10 min for room)".</summary>
        public static string GaveUp(string serverMessage, TimeSpan longest)
        {
            return serverMessage + " (waited " + Number(longest.TotalMinutes) + " min for room)";
        }

        /// <summary>A StartJob that timed out on every try until the wait was over, as the CLI says it: "... (asked
        /// for 10 min; the server may have made the job: `animgen jobs` lists it)" (JobStart.TimedOutUnanswered).</summary>
        public static string AskedFor(string failure, TimeSpan longest)
        {
            return failure + " (asked for " + Number(longest.TotalMinutes) + " min; the server may have made the job: "
                   + "`animgen jobs` lists it)";
        }

        static string Number(double v) { return v.ToString("0.###", CultureInfo.InvariantCulture); }

        /// <summary>Calls start until it answers anything but a QueueFullException or a timeout (timedOut: the call's
        /// own deadline, DEADLINE_EXCEEDED; null: none is one), for up to Longest, telling waiting (Saying's words)
        /// once, before the first wait, and AskingAgain once, before the first try again after a timeout. ct ends a
        /// wait (OperationCanceledException), and the try again after a timeout (a cancel before it throws
        /// OperationCanceledException), and a timeout that comes once it is cancelled is thrown as it is (either way
        /// that try is unanswered: JobStart). Past Longest a TimeoutException says GaveUp's words, and a timeout is
        /// thrown as it is. start decides for itself whether ct cuts its call short.</summary>
        public static Task<T> StartAsync<T>(Func<Task<T>> start, Func<Exception, bool> timedOut, Action<string> waiting,
            CancellationToken ct)
        {
            return StartAsync(start, timedOut, waiting, Longest, () => Clock.Elapsed, (d, c) => Task.Delay(d, c), ct);
        }

        /// <summary>StartAsync with its limit, clock and sleep given (the tests' own).</summary>
        public static async Task<T> StartAsync<T>(Func<Task<T>> start, Func<Exception, bool> timedOut,
            Action<string> waiting, TimeSpan longest, Func<TimeSpan> clock, Func<TimeSpan, CancellationToken, Task> sleep,
            CancellationToken ct)
        {
            TimeSpan deadline = clock() + longest;
            bool said = false, saidSlow = false;
            while (true)
            {
                QueueFullException full;
                try { return await start().ConfigureAwait(false); }
                catch (QueueFullException e) { full = e; }
                catch (Exception e) when (timedOut != null && timedOut(e) && !ct.IsCancellationRequested && clock() < deadline)
                {
                    // The answer may be lost, not the job: asked again at once, under the same request id.
                    if (!saidSlow)
                    {
                        saidSlow = true;
                        if (waiting != null) waiting(AskingAgain);
                    }
                    // A cancel since the timeout (start may not end its call on ct): no further try, which could take
                    // another JobStart.Within; the try stays unanswered, for the stop to ask it again.
                    ct.ThrowIfCancellationRequested();
                    continue;
                }
                TimeSpan left = deadline - clock();
                if (left <= TimeSpan.Zero) throw new TimeoutException(GaveUp(full.Message, longest), full);
                TimeSpan every = Every(full.RetryAfter);
                if (!said)
                {
                    said = true;
                    if (waiting != null) waiting(Saying(every, longest));
                }
                await sleep(every < left ? every : left, ct).ConfigureAwait(false);
                ct.ThrowIfCancellationRequested(); // a sleep that ended as ct was cancelled: no further try
            }
        }
    }
}
