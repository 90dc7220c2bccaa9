// One start of a job, as `animgen generate --server` makes it (server/animgen_server/remote.py _Run._start, _cancel):
// StartJob under a request id of this start's own, the same for every try of it (after a server lost, while the queue
// is full, after a try that timed out), so that a StartJob asked again after its answer was lost (a restart of the server, a dropped connection, a
// deadline) answers with the job the first call made instead of making a second, which would run for nobody. A start
// again after a job the server's stop interrupted is another start, under a new id. A stop (the window's Cancel, a
// batch's timeout) that comes while a try is sent and unanswered asks StartJob again under that id, within
// AskAgainWithin, and cancels the job it answers; where that fails, MayHaveStarted says so.
using System;
using System.Threading.Tasks;

namespace AnimGen.Core
{
    public sealed class JobStart
    {
        /// <summary>Each try's deadline (remote.py START_TIMEOUT_S): one that passes it is asked again
        /// (QueueWait.StartAsync), since the server may have made the job.</summary>
        public static readonly TimeSpan Within = TimeSpan.FromSeconds(30);

        /// <summary>How long a stop waits for StartJob asked again (remote.py _Run._cancel's 5 s).</summary>
        public static readonly TimeSpan AskAgainWithin = TimeSpan.FromSeconds(5);

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

        /// <summary>One try: startJob(RequestId). Wrap each try in it, inside the retries (Outage.CallAsync,
        /// QueueWait.StartAsync), so that all of them carry this start's id.</summary>
        public async Task<T> TryAsync<T>(Func<string, Task<T>> startJob)
        {
            unanswered = true;
            T job;
            try { job = await startJob(RequestId).ConfigureAwait(false); }
            catch (Exception e) when (answered != null && answered(e))
            {
                unanswered = false; // refused: no job was made
                throw;
            }
            unanswered = false;
            return job;
        }

        /// <summary>What the CLI says where StartJob asked again as the run stopped did not answer: the job it may
        /// have made would run for nobody. video: the file's name, which `animgen jobs` lists.</summary>
        public static string MayHaveStarted(string video)
        {
            return "the server may have started a job on " + video + " as the run stopped: `animgen jobs` lists the "
                   + "server's jobs, `animgen cancel JOB` cancels one";
        }
    }
}
