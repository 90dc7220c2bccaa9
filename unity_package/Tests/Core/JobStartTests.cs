using System;
using System.Collections.Generic;
using System.Text.RegularExpressions;
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

        /// <summary>Starts a job as the window and the batch do: each try through the outage's retries, inside the
        /// wait for room; StartJob answers these in turn (an exception, or the job) and the request ids are kept.</summary>
        static string Start(JobStart start, List<string> ids, params object[] answers)
        {
            var left = new Queue<object>(answers);
            var outage = new Outage("job-start-" + Guid.NewGuid().ToString("N") + ":1", true, Words, Answered, null,
                TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(2), () => TimeSpan.Zero, Sleep);
            return QueueWait.StartAsync(
                () => outage.CallAsync(() => start.TryAsync(id =>
                {
                    ids.Add(id);
                    object a = left.Dequeue();
                    if (a is Exception) throw (Exception)a;
                    return Task.FromResult((string)a);
                }), CancellationToken.None),
                null, null, TimeSpan.FromMinutes(10), () => TimeSpan.Zero, Sleep, CancellationToken.None).GetAwaiter().GetResult();
        }

        [Test]
        public void EveryTryOfOneStartCarriesItsRequestIdAndAnotherStartANewOne()
        {
            var ids = new List<string>();
            var first = new JobStart(Answered);
            // Lost with the server, then a full queue, then the job: three tries of one start, under one id, which the
            // server takes (letters, digits, '-' and '_', at most 64).
            Assert.AreEqual("job-1", Start(first, ids, new Down("Socket closed"),
                new QueueFullException("the queue is full", TimeSpan.FromSeconds(5)), "job-1"));
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
            Assert.IsFalse(start.Unanswered); // nothing sent yet: a stop has nothing to ask for
            Func<Exception, Func<string, Task<string>>> fails = e => id => { throw e; };
            // The server lost, a call cut off by the stop (or its deadline): it may have made the job.
            Assert.Throws<Down>(() => start.TryAsync(fails(new Down("Socket closed"))).GetAwaiter().GetResult());
            Assert.IsTrue(start.Unanswered);
            Assert.Throws<OperationCanceledException>(() => start.TryAsync(fails(new OperationCanceledException())).GetAwaiter().GetResult());
            Assert.IsTrue(start.Unanswered);
            // Refused (a full queue, a video too long): no job was made.
            Assert.Throws<QueueFullException>(() => start.TryAsync(fails(new QueueFullException("full", TimeSpan.Zero))).GetAwaiter().GetResult());
            Assert.IsFalse(start.Unanswered);
            Assert.Throws<Down>(() => start.TryAsync(fails(new Down("Socket closed"))).GetAwaiter().GetResult());
            Assert.AreEqual("job-1", start.TryAsync(id => Task.FromResult("job-1")).GetAwaiter().GetResult());
            Assert.IsFalse(start.Unanswered);
            // While a try is on the wire, it is unanswered.
            var answer = new TaskCompletionSource<string>();
            Task<string> sent = start.TryAsync(id => answer.Task);
            Assert.IsTrue(start.Unanswered);
            answer.SetResult("job-1");
            Assert.AreEqual("job-1", sent.GetAwaiter().GetResult());
            Assert.IsFalse(start.Unanswered);
        }

        [Test]
        public void AStopAsksAgainWithinFiveSecondsAndSaysWhatTheCliSaysWhereItCannot()
        {
            Assert.AreEqual(TimeSpan.FromSeconds(5), JobStart.AskAgainWithin);
            Assert.AreEqual("the server may have started a job on walk.mp4 as the run stopped: `animgen jobs` lists the "
                            + "server's jobs, `animgen cancel JOB` cancels one", JobStart.MayHaveStarted("walk.mp4"));
        }
    }
}
