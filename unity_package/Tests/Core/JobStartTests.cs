using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace AnimGen.Core.Tests
{
    [TestFixture]
    public class JobStartTests
    {
        /// <summary>The connection's UNAVAILABLE: the server may have made the job before the answer was lost.</summary>
        sealed class Down : Exception { public Down(string m) : base(m) { } }

        static string Words(Exception e) { return e is Down ? "Cannot reach the AnimGen server at h:1: " + e.Message : null; }

        /// <summary>As the connection's Answered: a refusal (here a full queue) is the server's answer.</summary>
        static bool Answered(Exception e) { return e is QueueFullException; }

        static Task Sleep(TimeSpan d, CancellationToken c)
        {
            c.ThrowIfCancellationRequested();
            return Task.FromResult(0);
        }

        static Func<string, CancellationToken, Task<string>> Fails(Exception e) { return (id, ct) => { throw e; }; }

        static Outage NewOutage(Func<TimeSpan> clock = null, Func<TimeSpan, CancellationToken, Task> sleep = null)
        {
            return new Outage("job-start-" + Guid.NewGuid().ToString("N") + ":1", true, Words, Answered, null,
                TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(2), clock ?? (() => TimeSpan.Zero), sleep ?? Sleep);
        }

        /// <summary>A full queue, to be tried again after QueueWait.Shortest.</summary>
        static QueueFullException Full() { return new QueueFullException("the queue is full", TimeSpan.Zero); }

        /// <summary>A scripted StartJob: each call's request id and deadline ("-": the connection's own, "5": asked again
        /// within JobStart.StopWait), then tries(id, ct) for a try and askAgain(id) for the asking again.</summary>
        sealed class Server
        {
            public readonly List<string> Calls = new List<string>();
            public Func<string, CancellationToken, Task<string>> Tries = (id, ct) => Task.FromResult("job-1");
            public Func<string, Task<string>> AskAgain = id => Task.FromResult("job-1");

            public Task<string> StartJob(string id, CancellationToken ct, TimeSpan? within)
            {
                lock (Calls) Calls.Add(id + "/" + (within.HasValue ? within.Value.TotalSeconds.ToString() : "-"));
                if (within == JobStart.StopWait) return AskAgain(id);
                Assert.IsNull(within);
                return Tries(id, ct);
            }

            /// <summary>The calls as they would be made under start's id.</summary>
            public static string[] Expected(JobStart start, params string[] withins)
            {
                var calls = new string[withins.Length];
                for (int i = 0; i < withins.Length; i++) calls[i] = start.RequestId + "/" + withins[i];
                return calls;
            }
        }

        /// <summary>One start as the window and the batch make it (JobStart.StartAsync): StartJob tried through the
        /// outage and the wait for room, each try cut off by stop, and asked again where stop leaves one unanswered.</summary>
        static Task<string> Starting(JobStart start, Server server, CancellationToken stop, Outage outage = null)
        {
            return start.StartAsync(server.StartJob, outage ?? NewOutage(), null, null, stop, CancellationToken.None);
        }

        /// <summary>A start without a stop, whose StartJob answers these in turn (an exception, or the job); the
        /// request ids are kept.</summary>
        static string Start(JobStart start, List<string> ids, params object[] answers)
        {
            var left = new Queue<object>(answers);
            var server = new Server
            {
                Tries = (id, ct) =>
                {
                    ids.Add(id);
                    object a = left.Dequeue();
                    if (a is Exception) throw (Exception)a;
                    return Task.FromResult((string)a);
                },
            };
            return Starting(start, server, CancellationToken.None).GetAwaiter().GetResult();
        }

        [Test]
        public void EveryTryOfOneStartCarriesItsRequestIdAndAnotherStartANewOne()
        {
            var ids = new List<string>();
            var first = new JobStart(Answered);
            // Lost with the server, then a full queue, then the job: three tries of one start, under one id, which the
            // server takes (letters, digits, '-' and '_', at most 64).
            Assert.AreEqual("job-1", Start(first, ids, new Down("Socket closed"), Full(), "job-1"));
            StringAssert.IsMatch("^[0-9a-f]{32}$", first.RequestId);
            CollectionAssert.AreEqual(new[] { first.RequestId, first.RequestId, first.RequestId }, ids);
            Assert.IsFalse(first.Unanswered);
            // A start again (the job was interrupted) is another start: a new id.
            ids.Clear();
            var again = new JobStart(Answered);
            Assert.AreEqual("job-1", Start(again, ids, "job-1"));
            Assert.AreNotEqual(first.RequestId, again.RequestId);
            CollectionAssert.AreEqual(new[] { again.RequestId }, ids);
        }

        [Test]
        public void ATryWithoutAnAnswerLeavesTheStartUnansweredARefusalOrAJobDoNot()
        {
            var start = new JobStart(Answered);
            var none = CancellationToken.None;
            Assert.IsFalse(start.Unanswered); // nothing sent yet: a stop has nothing to ask for
            // The server lost, a call cut off by the stop (or its deadline): it may have made the job.
            Assert.Throws<Down>(() => start.TryAsync(Fails(new Down("Socket closed")), none).GetAwaiter().GetResult());
            Assert.IsTrue(start.Unanswered);
            Assert.Throws<OperationCanceledException>(() => start.TryAsync(Fails(new OperationCanceledException()), none).GetAwaiter().GetResult());
            Assert.IsTrue(start.Unanswered);
            // Refused (a full queue, a video too long): no job was made.
            Assert.Throws<QueueFullException>(() => start.TryAsync(Fails(new QueueFullException("full", TimeSpan.Zero)), none).GetAwaiter().GetResult());
            Assert.IsFalse(start.Unanswered);
            Assert.Throws<Down>(() => start.TryAsync(Fails(new Down("Socket closed")), none).GetAwaiter().GetResult());
            Assert.AreEqual("job-1", start.TryAsync((id, ct) => Task.FromResult("job-1"), none).GetAwaiter().GetResult());
            Assert.IsFalse(start.Unanswered);
            // While a try is on the wire, it is unanswered.
            var answer = new TaskCompletionSource<string>();
            Task<string> sent = start.TryAsync((id, ct) => answer.Task, none);
            Assert.IsTrue(start.Unanswered);
            answer.SetResult("job-1");
            Assert.AreEqual("job-1", sent.GetAwaiter().GetResult());
            Assert.IsFalse(start.Unanswered);
        }

        [Test]
        public void AStopEndsATryOnTheWireAtOnceAndAsksAgainUnderItsIdForTheJobItMade()
        {
            // StartJob is on the wire: the server has made the job, and its answer would come after StartJob's 30 s.
            var start = new JobStart(Answered);
            var stop = new CancellationTokenSource();
            var sent = new ManualResetEventSlim();
            var server = new Server
            {
                Tries = async (id, ct) =>
                {
                    sent.Set();
                    await Task.Delay(JobStart.Within, ct); // the call, which stop cuts off
                    return "job-1";
                },
            };
            Task<string> run = Starting(start, server, stop.Token);
            Assert.IsTrue(sent.Wait(TimeSpan.FromSeconds(5)));
            var clock = Stopwatch.StartNew();
            stop.Cancel();
            // Asked again under its id, the server answers with the job that id made: the job to cancel.
            Assert.AreEqual("job-1", run.GetAwaiter().GetResult());
            Assert.Less(clock.Elapsed, TimeSpan.FromSeconds(5), "at once, not after StartJob's deadline");
            CollectionAssert.AreEqual(Server.Expected(start, "-", "5"), server.Calls);
            Assert.IsFalse(start.Unanswered);
            Assert.IsNull(start.SaidAfterStop(true, "walk.mp4"));
        }

        [Test]
        public void AStopSendsNoTryAfterItAndAsksNothingWhereNoTryIsUnanswered()
        {
            // Stopped before StartJob (during the upload): none is sent, and none asked again.
            var start = new JobStart(Answered);
            var stop = new CancellationTokenSource();
            stop.Cancel();
            var server = new Server();
            Assert.Catch<OperationCanceledException>(() => Starting(start, server, stop.Token).GetAwaiter().GetResult());
            CollectionAssert.IsEmpty(server.Calls);
            // Stopped while the server's queue is full: its tries were refused, no job was made.
            start = new JobStart(Answered);
            stop = new CancellationTokenSource();
            server.Tries = (id, ct) =>
            {
                if (server.Calls.Count == 3) stop.Cancel(); // pressed during the wait after the third
                throw Full();
            };
            Assert.Catch<OperationCanceledException>(() => Starting(start, server, stop.Token).GetAwaiter().GetResult());
            CollectionAssert.AreEqual(Server.Expected(start, "-", "-", "-"), server.Calls);
            Assert.IsFalse(start.Unanswered);
            Assert.IsNull(start.SaidAfterStop(true, "walk.mp4"));
            // Without a stop, a try that failed unanswered is not asked again: its failure is the run's.
            start = new JobStart(Answered);
            server.Calls.Clear();
            server.Tries = Fails(new InvalidOperationException("the connection broke"));
            Assert.Throws<InvalidOperationException>(() => Starting(start, server, CancellationToken.None).GetAwaiter().GetResult());
            CollectionAssert.AreEqual(Server.Expected(start, "-"), server.Calls);
            Assert.IsNull(start.SaidAfterStop(false, "walk.mp4"));
        }

        [Test]
        public void AStopWhoseAskingAgainHasNoAnswerSaysTheJobMayHaveStartedARefusalSaysNothing()
        {
            // The server went with StartJob's answer, and the stop came during the wait for it: asked again, it cannot
            // be reached either.
            var start = new JobStart(Answered);
            var stop = new CancellationTokenSource();
            var server = new Server
            {
                Tries = (id, ct) =>
                {
                    stop.Cancel();
                    throw new Down("Socket closed");
                },
                AskAgain = id => { throw new Down("failed to connect to all addresses"); },
            };
            Assert.Throws<Down>(() => Starting(start, server, stop.Token).GetAwaiter().GetResult());
            CollectionAssert.AreEqual(Server.Expected(start, "-", "5"), server.Calls);
            Assert.IsTrue(start.Unanswered);
            Assert.AreEqual(JobStart.MayHaveStarted("walk.mp4"), start.SaidAfterStop(true, "walk.mp4"));
            Assert.IsNull(start.SaidAfterStop(false, "walk.mp4"));
            // Asked again and refused: no job was made under that id, nothing to say.
            start = new JobStart(Answered);
            stop = new CancellationTokenSource();
            server.AskAgain = id => { throw Full(); };
            Assert.Throws<QueueFullException>(() => Starting(start, server, stop.Token).GetAwaiter().GetResult());
            Assert.IsNull(start.SaidAfterStop(true, "walk.mp4"));
        }

        [Test]
        public void AStopAsksAgainWithinFiveSecondsAndSaysWhatTheCliSaysWhereItCannot()
        {
            Assert.AreEqual(TimeSpan.FromSeconds(5), JobStart.StopWait);
            Assert.AreEqual("the server may have started a job on walk.mp4 as the run stopped: `animgen jobs` lists the "
                            + "server's jobs, `animgen cancel JOB` cancels one", JobStart.MayHaveStarted("walk.mp4"));
        }

        [Test]
        public void AServerGoneWithStartJobUnansweredSaysItMayHaveMadeTheJobBeforeItWent()
        {
            // StartJob's tries are lost with the server (UNAVAILABLE), which does not come back within the wait.
            var now = TimeSpan.Zero;
            var outage = NewOutage(() => now, (d, c) => { now += d; return Task.FromResult(0); });
            var start = new JobStart(Answered);
            var gone = Assert.Throws<ServerGoneException>(() => Starting(start, new Server { Tries = Fails(new Down("Socket closed")) },
                CancellationToken.None, outage).GetAwaiter().GetResult());
            Assert.IsTrue(start.ServerWentUnanswered(gone));
            Assert.AreEqual("Cannot reach the AnimGen server at h:1: Socket closed (tried to reach it again for 2 min); the "
                            + "server may have made the job before it went: `animgen jobs` lists it once the server is back",
                JobStart.MadeBeforeItWent(gone.Message));
            // Not where the start has no try unanswered: the upload's failure (none sent), the watch's (answered), or
            // StartJob's refusal (no job).
            Assert.IsFalse(new JobStart(Answered).ServerWentUnanswered(gone));
            var answered = new JobStart(Answered);
            Assert.AreEqual("job-1", answered.TryAsync((id, ct) => Task.FromResult("job-1"), CancellationToken.None).GetAwaiter().GetResult());
            Assert.IsFalse(answered.ServerWentUnanswered(gone));
            var refused = new JobStart(Answered);
            Assert.Throws<QueueFullException>(() => refused.TryAsync(Fails(new QueueFullException("full", TimeSpan.Zero)),
                CancellationToken.None).GetAwaiter().GetResult());
            Assert.IsFalse(refused.ServerWentUnanswered(gone));
            // Nor for a failure that is not the end of the wait for the server (a deadline, the connection's words).
            Assert.IsFalse(start.ServerWentUnanswered(new TimeoutException("The AnimGen server at h:1 did not answer in time.")));
            Assert.IsFalse(start.ServerWentUnanswered(new Down("Socket closed")));
        }

        /// <summary>The connection's DEADLINE_EXCEEDED: the server may have made the job, slower than the call.</summary>
        sealed class Deadline : Exception { public Deadline() : base("The AnimGen server at h:1 did not answer in time.") { } }

        [Test]
        public void AStartJobThatTimedOutUntilTheWaitWasOverSaysItMayHaveMadeTheJob()
        {
            // QueueWait asks a timed-out try again until its wait is over, then throws the timeout as it is.
            Func<Exception, bool> timedOut = e => e is Deadline;
            var start = new JobStart(Answered);
            var late = new Deadline();
            Assert.Throws<Deadline>(() => start.TryAsync(Fails(late), CancellationToken.None).GetAwaiter().GetResult());
            Assert.IsTrue(start.TimedOutUnanswered(late, timedOut));
            Assert.AreEqual("The AnimGen server at h:1 did not answer in time. (asked for 10 min; the server may have made "
                            + "the job: `animgen jobs` lists it)", QueueWait.AskedFor(late.Message, TimeSpan.FromMinutes(10)));
            // Not for another failure, nor once a try had its answer or a refusal (no job), nor before any try.
            Assert.IsFalse(start.TimedOutUnanswered(new Down("Socket closed"), timedOut));
            var answered = new JobStart(Answered);
            answered.TryAsync((id, ct) => Task.FromResult("job-1"), CancellationToken.None).GetAwaiter().GetResult();
            Assert.IsFalse(answered.TimedOutUnanswered(late, timedOut));
            var refused = new JobStart(Answered);
            Assert.Throws<QueueFullException>(() => refused.TryAsync(Fails(Full()), CancellationToken.None).GetAwaiter().GetResult());
            Assert.IsFalse(refused.TimedOutUnanswered(late, timedOut));
            Assert.IsFalse(new JobStart(Answered).TimedOutUnanswered(late, timedOut));
        }
    }
}
