using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace AnimGen.Core.Tests
{
    [TestFixture]
    public class QueueWaitTests
    {
        static KeyValuePair<string, string> T(string key, string value) { return new KeyValuePair<string, string>(key, value); }

        const string Full = "the queue is full (0 jobs waiting): try again when a job has finished, or cancel one";

        [Test]
        public void OnlyTheRetryAfterKeyMakesARefusalWorthTryingAgain()
        {
            Assert.AreEqual(TimeSpan.FromSeconds(5), QueueWait.RetryAfter(new[] { T("animgen-retry-after-ms", "5000") }));
            Assert.AreEqual(TimeSpan.FromMilliseconds(50), QueueWait.RetryAfter(new[] { T("x-other", "1"), T("animgen-retry-after-ms", " 50 ") }));
            // A video too long, a full disk: RESOURCE_EXHAUSTED without the key, final.
            Assert.IsNull(QueueWait.RetryAfter(new KeyValuePair<string, string>[0]));
            Assert.IsNull(QueueWait.RetryAfter(null));
            Assert.IsNull(QueueWait.RetryAfter(new[] { T("retry-after", "5000") }));
            Assert.IsNull(QueueFullException.From(Full, new[] { T("grpc-status-details", "x") }));
            var e = QueueFullException.From(Full, new[] { T("animgen-retry-after-ms", "5000") });
            Assert.AreEqual(Full, e.Message);
            Assert.AreEqual(TimeSpan.FromSeconds(5), e.RetryAfter);
        }

        [Test]
        public void TheDelayIsAWholeNumberOfMillisecondsAsTheCliReadsIt()
        {
            foreach (string bad in new[] { "", "soon", "5000.0", "5 s", null })
                Assert.IsNull(QueueWait.RetryAfter(new[] { T("animgen-retry-after-ms", bad) }), bad);
            Assert.AreEqual(TimeSpan.Zero, QueueWait.RetryAfter(new[] { T("animgen-retry-after-ms", "-20") }));
            Assert.AreEqual(TimeSpan.FromDays(1), QueueWait.RetryAfter(new[] { T("animgen-retry-after-ms", "99999999999999") }));
            // Never asked again in a busy loop, whatever the server says.
            Assert.AreEqual(QueueWait.Shortest, QueueWait.Every(TimeSpan.Zero));
            Assert.AreEqual(TimeSpan.FromSeconds(5), QueueWait.Every(TimeSpan.FromSeconds(5)));
        }

        [Test]
        public void TheMessageIsTheClis()
        {
            Assert.AreEqual("the server's queue is full; trying again every 5 s for up to 10 min",
                QueueWait.Saying(TimeSpan.FromSeconds(5), QueueWait.Longest));
            Assert.AreEqual("the server's queue is full; trying again every 0.25 s for up to 0.5 min",
                QueueWait.Saying(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(30)));
            Assert.AreEqual(Full + " (waited 10 min for room)", QueueWait.GaveUp(Full, QueueWait.Longest));
        }

        /// <summary>A scripted StartJob: refuses `refusals` times with a full queue, then answers 42. The clock is
        /// the sleeps' total.</summary>
        sealed class Script
        {
            public int Refusals, Calls;
            public TimeSpan Now;
            public readonly List<TimeSpan> Sleeps = new List<TimeSpan>();
            public readonly List<string> Said = new List<string>();
            public Exception Other;

            public Task<int> Start()
            {
                Calls++;
                if (Other != null) throw Other;
                if (Calls <= Refusals) throw new QueueFullException(Full, TimeSpan.FromSeconds(5));
                return Task.FromResult(42);
            }

            public int Run(TimeSpan longest, CancellationToken ct)
            {
                return QueueWait.StartAsync(Start, null, Said.Add, longest, () => Now, (d, c) =>
                {
                    Sleeps.Add(d);
                    Now += d;
                    c.ThrowIfCancellationRequested();
                    return Task.FromResult(0);
                }, ct).GetAwaiter().GetResult();
            }
        }

        /// <summary>The connection's DEADLINE_EXCEEDED (its Describe's words): StartJob's 30 s passed.</summary>
        sealed class TimedOut : Exception { public TimedOut() : base("The AnimGen server at h:1 did not answer in time.") { } }

        /// <summary>A scripted StartJob, tried as the window and the batch try it (JobStart inside QueueWait): it finds
        /// the queue full `Full` times, then makes the job (one per request id, as the server keeps it) and times out
        /// `Timeouts` times, each after JobStart.Within of the clock, then answers with the job that id made. Stop,
        /// where given, is cancelled as a try times out (Cancel pressed while it was on the wire), or with StopAsSaid
        /// as the asking again is said (Cancel pressed just after the timeout, before the next try).</summary>
        sealed class SlowStart
        {
            public int Full, Timeouts, Calls;
            public TimeSpan Now;
            public CancellationTokenSource Stop;
            public bool StopAsSaid;
            public readonly JobStart Start = new JobStart(e => e is QueueFullException);
            public readonly List<string> Ids = new List<string>();
            public readonly List<string> Said = new List<string>();
            public readonly Dictionary<string, string> Made = new Dictionary<string, string>();

            Task<string> Try(string id)
            {
                Calls++;
                Ids.Add(id);
                if (Full > 0)
                {
                    Full--;
                    throw new QueueFullException(QueueWaitTests.Full, TimeSpan.FromSeconds(5));
                }
                string job;
                if (!Made.TryGetValue(id, out job)) Made[id] = job = "job-" + (Made.Count + 1);
                if (Timeouts > 0)
                {
                    Timeouts--;
                    Now += JobStart.Within;
                    if (Stop != null && !StopAsSaid) Stop.Cancel();
                    throw new TimedOut();
                }
                return Task.FromResult(job);
            }

            public string Run(TimeSpan longest)
            {
                CancellationToken ct = Stop != null ? Stop.Token : CancellationToken.None;
                Action<string> said = m =>
                {
                    Said.Add(m);
                    if (StopAsSaid && m == QueueWait.AskingAgain) Stop.Cancel();
                };
                return QueueWait.StartAsync(() => Start.TryAsync((id, t) => Try(id), ct), e => e is TimedOut, said, longest, () => Now, (d, c) =>
                {
                    Now += d;
                    c.ThrowIfCancellationRequested();
                    return Task.FromResult(0);
                }, ct).GetAwaiter().GetResult();
            }
        }

        [Test]
        public void AStartJobThatTimesOutIsAskedAgainUnderItsRequestIdAndSaidOnce()
        {
            Assert.AreEqual("the server took over 30 s to start the job; asking again", QueueWait.AskingAgain);
            var s = new SlowStart { Timeouts = 2 };
            // The job the first try made, not a second: asked again at once, under the same id, said once.
            Assert.AreEqual("job-1", s.Run(QueueWait.Longest));
            Assert.AreEqual(3, s.Calls);
            CollectionAssert.AreEqual(new[] { s.Start.RequestId, s.Start.RequestId, s.Start.RequestId }, s.Ids);
            Assert.AreEqual(1, s.Made.Count);
            CollectionAssert.AreEqual(new[] { QueueWait.AskingAgain }, s.Said);
            Assert.AreEqual(TimeSpan.FromSeconds(60), s.Now); // no wait between: the two tries' 30 s each
            Assert.IsFalse(s.Start.Unanswered);
            // After a full queue: each said once, in turn, and still one id.
            s = new SlowStart { Full = 2, Timeouts = 2 };
            Assert.AreEqual("job-1", s.Run(QueueWait.Longest));
            Assert.AreEqual(5, s.Calls);
            Assert.AreEqual(1, new HashSet<string>(s.Ids).Count);
            CollectionAssert.AreEqual(new[] { QueueWait.Saying(TimeSpan.FromSeconds(5), QueueWait.Longest), QueueWait.AskingAgain }, s.Said);
        }

        [Test]
        public void ATimeoutPastTheOneDeadlineFailsWithTheServersWords()
        {
            var s = new SlowStart { Timeouts = int.MaxValue };
            var e = Assert.Throws<TimedOut>(() => s.Run(QueueWait.Longest));
            Assert.AreEqual("The AnimGen server at h:1 did not answer in time.", e.Message);
            // Tries end at 30 s, 60 s, ... 10 min: the last one at the deadline is not asked again.
            Assert.AreEqual(20, s.Calls);
            Assert.AreEqual(QueueWait.Longest, s.Now);
            CollectionAssert.AreEqual(new[] { QueueWait.AskingAgain }, s.Said);
            Assert.AreEqual(1, s.Made.Count);
            Assert.IsTrue(s.Start.Unanswered); // a stop then would ask it again for the job it made
            // One deadline for the wait for room and the asking again, as the CLI's: 9.5 min of a full queue leave a
            // try that times out at 10 min nothing.
            s = new SlowStart { Full = 114, Timeouts = int.MaxValue };
            Assert.Throws<TimedOut>(() => s.Run(QueueWait.Longest));
            Assert.AreEqual(115, s.Calls);
            Assert.AreEqual(QueueWait.Longest, s.Now);
            CollectionAssert.AreEqual(new[] { QueueWait.Saying(TimeSpan.FromSeconds(5), QueueWait.Longest) }, s.Said);
        }

        [Test]
        public void ACancelEndsTheAskingAgainAndLeavesTheStartUnanswered()
        {
            using (var stop = new CancellationTokenSource())
            {
                // Cancel pressed while a try was on the wire, which then timed out: not asked again here (the stop
                // asks it again, under its id, for the job to cancel), nothing said.
                var s = new SlowStart { Timeouts = 1, Stop = stop };
                Assert.Throws<TimedOut>(() => s.Run(QueueWait.Longest));
                Assert.AreEqual(1, s.Calls);
                Assert.IsEmpty(s.Said);
                Assert.IsTrue(s.Start.Unanswered);
            }
        }

        [Test]
        public void ACancelJustAfterATimeoutSendsNoFurtherTry()
        {
            using (var stop = new CancellationTokenSource())
            {
                // Cancel pressed after the try timed out, before it is asked again: that try, which could take another
                // 30 s (the window's is not cut off by Cancel), is not sent; the start stays unanswered, for the stop
                // to ask it again under its id.
                var s = new SlowStart { Timeouts = 2, Stop = stop, StopAsSaid = true };
                Assert.That(() => s.Run(QueueWait.Longest), Throws.InstanceOf<OperationCanceledException>());
                Assert.AreEqual(1, s.Calls);
                CollectionAssert.AreEqual(new[] { QueueWait.AskingAgain }, s.Said);
                Assert.AreEqual(JobStart.Within, s.Now);
                Assert.IsTrue(s.Start.Unanswered);
            }
        }

        [Test]
        public void AFullQueueIsTriedAgainAfterTheDelayAndSaidOnce()
        {
            var s = new Script { Refusals = 3 };
            Assert.AreEqual(42, s.Run(QueueWait.Longest, CancellationToken.None));
            Assert.AreEqual(4, s.Calls);
            CollectionAssert.AreEqual(new[] { TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5) }, s.Sleeps);
            CollectionAssert.AreEqual(new[] { "the server's queue is full; trying again every 5 s for up to 10 min" }, s.Said);
        }

        [Test]
        public void AnyOtherAnswerIsFinalAtOnce()
        {
            var s = new Script { Other = new InvalidOperationException("the video is 40 s long; this server takes up to 30 s") };
            var e = Assert.Throws<InvalidOperationException>(() => s.Run(QueueWait.Longest, CancellationToken.None));
            Assert.AreEqual("the video is 40 s long; this server takes up to 30 s", e.Message);
            Assert.AreEqual(1, s.Calls);
            Assert.IsEmpty(s.Sleeps);
            Assert.IsEmpty(s.Said);
        }

        [Test]
        public void PastTheDeadlineItFailsWithTheServersMessageAndHowLongItWaited()
        {
            var s = new Script { Refusals = int.MaxValue };
            var e = Assert.Throws<TimeoutException>(() => s.Run(TimeSpan.FromSeconds(12), CancellationToken.None));
            Assert.AreEqual(Full + " (waited 0.2 min for room)", e.Message);
            // Tries at 0, 5 and 10 s, and a last one at the deadline: the last wait is only what was left of it.
            Assert.AreEqual(4, s.Calls);
            CollectionAssert.AreEqual(new[] { TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2) }, s.Sleeps);
            Assert.AreEqual(1, s.Said.Count);
            s = new Script { Refusals = int.MaxValue };
            e = Assert.Throws<TimeoutException>(() => s.Run(QueueWait.Longest, CancellationToken.None));
            Assert.AreEqual(Full + " (waited 10 min for room)", e.Message);
            Assert.AreEqual(121, s.Calls);
        }

        [Test]
        public void ACancelEndsTheWaitWithoutAnotherTry()
        {
            using (var cts = new CancellationTokenSource())
            {
                var s = new Script { Refusals = int.MaxValue };
                cts.Cancel();
                Assert.Throws<OperationCanceledException>(() => s.Run(QueueWait.Longest, cts.Token));
                Assert.AreEqual(1, s.Calls);
            }
            // And with the real sleep: a wait of 10 minutes ends as soon as the token is cancelled.
            using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50)))
            {
                int calls = 0;
                var started = DateTime.UtcNow;
                Func<Task<int>> start = () => { calls++; throw new QueueFullException(Full, TimeSpan.FromMinutes(10)); };
                Assert.That(() => QueueWait.StartAsync(start, null, null, cts.Token).GetAwaiter().GetResult(),
                    Throws.InstanceOf<OperationCanceledException>());
                Assert.AreEqual(1, calls);
                Assert.Less((DateTime.UtcNow - started).TotalSeconds, 5);
            }
        }
    }
}
