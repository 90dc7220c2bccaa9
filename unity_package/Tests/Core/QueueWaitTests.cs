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
                return QueueWait.StartAsync(Start, Said.Add, longest, () => Now, (d, c) =>
                {
                    Sleeps.Add(d);
                    Now += d;
                    c.ThrowIfCancellationRequested();
                    return Task.FromResult(0);
                }, ct).GetAwaiter().GetResult();
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
                Assert.That(() => QueueWait.StartAsync(start, null, cts.Token).GetAwaiter().GetResult(),
                    Throws.InstanceOf<OperationCanceledException>());
                Assert.AreEqual(1, calls);
                Assert.Less((DateTime.UtcNow - started).TotalSeconds, 5);
            }
        }
    }
}
