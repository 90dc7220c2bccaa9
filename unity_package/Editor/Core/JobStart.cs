// One start of a job, as `animgen generate --server` makes it (server/animgen_server/remote.py _Run._start, _cancel):
// StartJob under a request id of this start's own, the same for every try of it (after a server lost, while the queue
// is full, after a try that timed out), so that a StartJob asked again after its answer was lost (a restart of the
// server, a dropped connection, a deadline) answers with the job the first call made instead of making a second, which
// would run for nobody. A start again after a job the server's stop interrupted is another start, under a new id. A
// stop (the window's Cancel, a batch's timeout) ends a try on the wire at once, and where it leaves a try unanswered
// asks StartJob again under that id, within StopWait, for the job to cancel (StartAsync), rather than let a job
// run for nobody; where that fails, SaidAfterStop says so. A run that the wait for its lost server ends while a try is
// unanswered says that the server may have made the job before it went (ServerWentUnanswered, MadeBeforeItWent).
using System;
using System.Threading;
using System.Threading.Tasks;

namespace AnimGen.Core
{
    public sealed class JobStart
    {
        /// <summary>Each try's deadline (remote.py START_TIMEOUT_S): one that passes it is asked again
        /// (QueueWait.StartAsync), since the server may have made the job.</summary>
        public static readonly TimeSpan Within = TimeSpan.FromSeconds(30);

        /// <summary>How long each of a stop's own calls waits for the server (remote.py STOP_WAIT_S, Unreal's kStopWait):
        /// StartJob asked again (StartAsync) and CancelJob (the window's and the batch's). A cancel with no answer by
        /// then was received, as the CLI counts it: the server answers once the job's worker has stopped, which may
        /// take longer (its own wait is 10 s), and the job's watch reports it Cancelled.</summary>
        public static readonly TimeSpan StopWait = TimeSpan.FromSeconds(5);

        /// <summary>32 hex digits: what the server takes (letters, digits, '-' and '_', at most 64).</summary>
        public readonly string RequestId;

        readonly Func<Exception, bool> answered;
        volatile bool unanswered;

        /// <summary>answered: whether a failure is the server's answer, a refusal (the connection's Answered: a full
        /// queue, a video too long), after which no job exists; any other (UNAVAILABLE, a cancel, a deadline) may have
        /// come after the server made the job.</summary>
        public JobStart(Func<Exception, bool> answered)
        {
            RequestId = Guid.NewGuid().ToString("N");
            this.answered = answered;
        }

        /// <summary>A try was sent and has neither a job nor a refusal: the server may have made its job, which a stop
        /// must ask for again (under RequestId) to cancel it.</summary>
        public bool Unanswered { get { return unanswered; } }

        /// <summary>One try: startJob(RequestId, stop), whose call stop cuts off (a Cancel need not wait for StartJob's
        /// deadline: the try is then unanswered, and StartAsync asks for its job again). None is sent once stop came:
        /// there would be nothing to ask for. Every try of this start goes through it (StartAsync), so that all of them
        /// carry its id.</summary>
        public async Task<T> TryAsync<T>(Func<string, CancellationToken, Task<T>> startJob, CancellationToken stop)
        {
            stop.ThrowIfCancellationRequested();
            unanswered = true;
            T job;
            try { job = await startJob(RequestId, stop).ConfigureAwait(false); }
            catch (Exception e) when (answered != null && answered(e))
            {
                unanswered = false; // refused: no job was made
                throw;
            }
            unanswered = false;
            return job;
        }

        /// <summary>This start, as the CLI's _Run._start and _cancel. StartJob, startJob(RequestId, stop, null) (the
        /// connection's deadline, Within), is tried as QueueWait.StartAsync tries it (a full queue waited out, a try
        /// that timed out asked again; timedOut and said as there), each try through outage (a lost server waited for)
        /// and TryAsync: stop cuts a try on the wire off, and ends the waits. Where stop leaves a try unanswered (cut
        /// off, lost with the server, timed out), StartJob is asked again under RequestId, startJob(RequestId,
        /// askAgainUntil, StopWait), which answers with the job that try may have made (or makes it now, where
        /// the try never reached the server), for the caller to cancel. Its refusal is thrown (no job was made); where
        /// it has no answer either, its failure is, and the start stays Unanswered (SaidAfterStop).</summary>
        public async Task<T> StartAsync<T>(Func<string, CancellationToken, TimeSpan?, Task<T>> startJob, Outage outage,
            Func<Exception, bool> timedOut, Action<string> said, CancellationToken stop, CancellationToken askAgainUntil)
        {
            try
            {
                return await QueueWait.StartAsync(
                    () => outage.CallAsync(() => TryAsync((id, ct) => startJob(id, ct, null), stop), stop),
                    timedOut, said, stop).ConfigureAwait(false);
            }
            catch (Exception) when (stop.IsCancellationRequested && unanswered)
            {
                return await TryAsync((id, ct) => startJob(id, ct, StopWait), askAgainUntil).ConfigureAwait(false);
            }
        }

        /// <summary>What a run that ended says of this start, as the CLI says it: MayHaveStarted(video) where a stop
        /// ended it with a try still unanswered (StartAsync's asking again had no answer either, so the job it may have
        /// made would run for nobody); null otherwise.</summary>
        public string SaidAfterStop(bool stopped, string video)
        {
            return stopped && unanswered ? MayHaveStarted(video) : null;
        }

        /// <summary>What the CLI says where StartJob asked again as the run stopped did not answer: the job it may
        /// have made would run for nobody. video: the file's name, which `animgen jobs` lists.</summary>
        public static string MayHaveStarted(string video)
        {
            return "the server may have started a job on " + video + " as the run stopped: `animgen jobs` lists the "
                   + "server's jobs, `animgen cancel JOB` cancels one";
        }

        /// <summary>Whether the run's failure e leaves a job the server may have made before it went: the wait for the
        /// lost server (ServerGoneException) ended the run while a try of this start was unanswered (StartJob sent,
        /// its answer lost with the server). Its job would run for nobody once the server is back: the failure says so
        /// (MadeBeforeItWent). Not for another call's (the upload, the watch), nor once a try had its answer.</summary>
        public bool ServerWentUnanswered(Exception e)
        {
            return unanswered && e is ServerGoneException;
        }

        /// <summary>Whether e, the run's failure, is a try of this start that timed out (timedOut: the call's own
        /// deadline) and has no answer: QueueWait asks such a try again until its wait is over, so its job may be on
        /// the server (QueueWait.AskedFor says so). Not once a try had its answer, nor for another call's
        /// timeout.</summary>
        public bool TimedOutUnanswered(Exception e, Func<Exception, bool> timedOut)
        {
            return unanswered && timedOut(e);
        }

        /// <summary>failure, the run's failure in the connection's words, with what the CLI and Unreal add where
        /// ServerWentUnanswered: "...; the server may have made the job before it went: `animgen jobs` lists it once
        /// the server is back".</summary>
        public static string MadeBeforeItWent(string failure)
        {
            return failure + "; the server may have made the job before it went: `animgen jobs` lists it once the "
                   + "server is back";
        }
    }
}
