// A server a run has reached and then cannot reach (a restart, a deploy) is waited for, as `animgen generate --server`
// waits for it (server/animgen_server/remote.py Outage, reconnecting): for up to 2 minutes from when it was lost, not
// from when the call began, trying again every 2 s; said once when lost and once when back, by each run. One outage per
// server for the whole domain, as the CLI's: once its wait is over, a later video of a batch whose server stays down
// fails at once, in GaveUp's words only, not after 2 minutes of its own (a folder of 100 videos would wait 200
// minutes). The window and the batch wrap every call of a run in it: the upload, StartJob, the watch (attached again:
// the server first sends the job's current state and its warnings so far, which JobStatus says once) and the result. A
// first contact that fails (a wrong address) fails at once. Any answer of the server, a refusal too (a full queue,
// NOT_FOUND), ends its outage, as the CLI counts it (remote.py reconnecting): said, where it was lost, as back. A job
// that a stop of the server interrupted is started again on the same upload (the server runs that same job again), up
// to 3 times.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;

namespace AnimGen.Core
{
    /// <summary>What a call fails with once the wait for its lost server is over, in Outage.GaveUp's words: a try
    /// that it leaves unanswered may have made its job before the server went (JobStart.ServerWentUnanswered).</summary>
    public sealed class ServerGoneException : TimeoutException
    {
        public ServerGoneException(string message, Exception lost) : base(message, lost) { }
    }

    public sealed class Outage
    {
        /// <summary>As long as the CLI waits (remote.py RECONNECT_S). The harnesses shorten it, and Every.</summary>
        public static TimeSpan Longest { get; internal set; } = TimeSpan.FromMinutes(2);
        public static TimeSpan Every { get; internal set; } = TimeSpan.FromSeconds(2);
        /// <summary>How often a job a stop of the server interrupted is started again (remote.py MAX_RESTARTS).</summary>
        public const int MostRestarts = 3;
        public const string Back = "reached the server again";
        public const string RunningAgain = "the server stopped while the job ran; running it again";

        static readonly Stopwatch Clock = Stopwatch.StartNew();
        // The addresses this domain has had an answer from, each with since when it has not been reachable (null while
        // it is), as remote.py's _servers: a later run's first call waits for one while it restarts, and every video
        // and thread waits out the same outage, from when the first of them lost the server.
        static readonly Dictionary<string, TimeSpan?> Servers = new Dictionary<string, TimeSpan?>(StringComparer.Ordinal);

        readonly string address;
        readonly Func<Exception, string> lostServer;
        readonly Func<Exception, bool> answered;
        readonly Action<string> say;
        readonly TimeSpan longest, every;
        readonly Func<TimeSpan> clock;
        readonly Func<TimeSpan, CancellationToken, Task> sleep;
        bool reached;
        bool said; // this outage said it lost the server, and has not said it is back

        /// <summary>lostServer: the words for a failure that says the server cannot be reached (the connection's
        /// Describe of UNAVAILABLE), null for any other. answered: whether a failure is the server's answer, a refusal
        /// (the connection's Answered: any status but UNAVAILABLE, a cancel or a deadline; a full queue), which ends
        /// the outage as a result does; null: none is. reached: the server has answered before (a job exists); else
        /// whether this address has. say: Saying's words when lost, Back when it answers again.</summary>
        public Outage(string address, bool reached, Func<Exception, string> lostServer, Func<Exception, bool> answered,
            Action<string> say)
            : this(address, reached, lostServer, answered, say, Longest, Every, () => Clock.Elapsed,
                (d, c) => Task.Delay(d, c)) { }

        /// <summary>With its limit, the time between tries, clock and sleep given (the tests' own). Outages of one
        /// address must share a clock: the one time it was lost is read on each's.</summary>
        public Outage(string address, bool reached, Func<Exception, string> lostServer, Func<Exception, bool> answered,
            Action<string> say, TimeSpan longest, TimeSpan every, Func<TimeSpan> clock,
            Func<TimeSpan, CancellationToken, Task> sleep)
        {
            this.address = address ?? "";
            this.lostServer = lostServer;
            this.answered = answered;
            this.say = say;
            this.longest = longest;
            this.every = every;
            this.clock = clock;
            this.sleep = sleep;
            this.reached = reached;
        }

        /// <summary>This outage has lost its server and not had an answer since.</summary>
        public bool IsLost { get { return said; } }

        public static bool HasAnswered(string address)
        {
            lock (Servers) return Servers.ContainsKey(address ?? "");
        }

        /// <summary>"lost the server; trying to reach it again for up to 2 min": the CLI's words.</summary>
        public static string Saying(TimeSpan longest)
        {
            return "lost the server; trying to reach it again for up to " + Number(longest.TotalMinutes) + " min";
        }

        /// <summary>The last failure's words once the wait is over: "... (tried to reach it again for 2 min)".</summary>
        public static string GaveUp(string words, TimeSpan longest)
        {
            return words + " (tried to reach it again for " + Number(longest.TotalMinutes) + " min)";
        }

        /// <summary>Null: a job a stop of the server interrupted is started again (said: RunningAgain), `restarts`
        /// having been made; otherwise why the run fails, in the CLI's words.</summary>
        public static string AfterInterrupted(int restarts)
        {
            if (restarts < MostRestarts) return null;
            return "the server stopped while the job ran, " + (restarts + 1).ToString(CultureInfo.InvariantCulture)
                   + " times; run it again once the server stays up";
        }

        /// <summary>What the CLI says of a job a stop could not cancel (the server could not be reached): a queued job
        /// would run for nobody once the server is back.</summary>
        public static string CouldNotCancel(string jobId)
        {
            return "could not cancel job " + jobId + " on the server: `animgen cancel " + jobId + "` does, once it can be reached";
        }

        /// <summary>The job's end was that a stop of the server interrupted it (its state, or the event).</summary>
        public static bool IsInterruption(JobUpdate u)
        {
            return u.Kind == JobUpdateKind.Interrupted || (u.Kind == JobUpdateKind.ServerState && u.State == ServerJobState.Interrupted);
        }

        static string Number(double v) { return v.ToString("0.###", CultureInfo.InvariantCulture); }

        /// <summary>The server answered: its outage is over for every run, and this one says so where it had lost it.</summary>
        public void Reached()
        {
            reached = true;
            lock (Servers) Servers[address] = null;
            if (!said) return;
            said = false;
            if (say != null) say(Back);
        }

        /// <summary>A call failed with e. Where the server it had reached cannot be reached, waits before the next try
        /// (Every, or what is left of Longest since it was lost, by this run or another) and returns; past Longest a
        /// ServerGoneException says GaveUp's words, and nothing else where this outage joins one whose wait is already
        /// over (a later video of a batch: it fails at once, without saying it will try). Any other failure, or a first
        /// contact's, is thrown again as it is; a refusal of the server (answered) first ends its outage, as Reached.
        /// ct ends the wait, and a failure that comes once it is cancelled is not waited on.</summary>
        public async Task LostAsync(Exception e, CancellationToken ct)
        {
            string words = lostServer != null ? lostServer(e) : null;
            if (words == null)
            {
                if (answered != null && answered(e)) Reached(); // it answered, with a refusal: it is there
                ExceptionDispatchInfo.Capture(e).Throw();
            }
            if (!(reached || HasAnswered(address))) ExceptionDispatchInfo.Capture(e).Throw();
            ct.ThrowIfCancellationRequested(); // the run stopped (which may have ended the call itself): no wait, nothing said
            TimeSpan now = clock();
            TimeSpan since;
            lock (Servers)
            {
                TimeSpan? lost;
                since = Servers.TryGetValue(address, out lost) && lost.HasValue ? lost.Value : now;
                Servers[address] = since;
            }
            // From when it was lost, not from when this call began: a watch may have run for an hour before.
            TimeSpan left = since + longest - now;
            if (left <= TimeSpan.Zero) throw new ServerGoneException(GaveUp(words, longest), e);
            if (!said)
            {
                said = true;
                if (say != null) say(Saying(longest));
            }
            await sleep(every < left ? every : left, ct).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
        }

        /// <summary>step(), a call a run may repeat (the server keeps one copy of a video sent twice, a watch attached
        /// again tells the job from its current state, a result may be fetched again), tried again while the server
        /// cannot be reached, as LostAsync allows.</summary>
        public async Task<T> CallAsync<T>(Func<Task<T>> step, CancellationToken ct)
        {
            while (true)
            {
                Exception failed;
                try
                {
                    T result = await step().ConfigureAwait(false);
                    Reached();
                    return result;
                }
                catch (Exception e) { failed = e; }
                await LostAsync(failed, ct).ConfigureAwait(false);
            }
        }

        public Task CallAsync(Func<Task> step, CancellationToken ct)
        {
            return CallAsync(async () => { await step().ConfigureAwait(false); return true; }, ct);
        }
    }
}
