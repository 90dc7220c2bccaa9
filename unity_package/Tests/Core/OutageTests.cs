using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace AnimGen.Core.Tests
{
    [TestFixture]
    public class OutageTests
    {
        /// <summary>A failure that says the server cannot be reached, as the connection's UNAVAILABLE.</summary>
        sealed class Down : Exception { public Down(string m) : base(m) { } }

        /// <summary>The server's answer, a refusal (NOT_FOUND, a token it refuses), as the connection's RpcException.</summary>
        sealed class Refusal : Exception { public Refusal(string m) : base(m) { } }

        static string Words(Exception e) { return e is Down ? "Cannot reach the AnimGen server at h:1: " + e.Message : null; }

        /// <summary>As the connection's Answered: a refusal or a full queue is the server's answer.</summary>
        static bool Answered(Exception e) { return e is Refusal || e is QueueFullException; }

        const string Lost = "lost the server; trying to reach it again for up to 2 min";

        /// <summary>An outage on a fake clock: the clock is what the calls ran plus the sleeps' total. Its server's
        /// address is its own: the domain keeps one outage per address, on this clock.</summary>
        sealed class Script
        {
            public TimeSpan Now;
            public readonly List<TimeSpan> Sleeps = new List<TimeSpan>();
            public readonly List<string> Said = new List<string>();
            public int Calls;
            public readonly string Address = "outage-" + Guid.NewGuid().ToString("N") + ":1";

            public Outage Make(bool reached = true, TimeSpan? longest = null, string address = null)
            {
                return new Outage(address ?? Address, reached, Words, Answered, Said.Add, longest ?? TimeSpan.FromMinutes(2),
                    TimeSpan.FromSeconds(2), () => Now, Sleep);
            }

            /// <summary>The sleep of the outages and of QueueWait: the clock moves on by it.</summary>
            public Task Sleep(TimeSpan d, CancellationToken c)
            {
                Sleeps.Add(d);
                Now += d;
                c.ThrowIfCancellationRequested();
                return Task.FromResult(0);
            }

            /// <summary>A call that answers these in turn: seconds it runs before the server is gone, an exception,
            /// or a result.</summary>
            public Func<Task<string>> Answers(params object[] answers)
            {
                var left = new Queue<object>(answers);
                return () =>
                {
                    Calls++;
                    object a = left.Dequeue();
                    if (a is int)
                    {
                        Now += TimeSpan.FromSeconds((int)a);
                        throw new Down("Socket closed");
                    }
                    if (a is Exception) throw (Exception)a;
                    return Task.FromResult((string)a);
                };
            }

            public string Run(Outage o, Func<Task<string>> call, CancellationToken ct = default(CancellationToken))
            {
                return o.CallAsync(call, ct).GetAwaiter().GetResult();
            }
        }

        static Exception Refused() { return new Down("failed to connect to all addresses"); }

        [Test]
        public void TheMessagesAreTheClis()
        {
            Assert.AreEqual(Lost, Outage.Saying(Outage.Longest));
            Assert.AreEqual("reached the server again", Outage.Back);
            Assert.AreEqual("the server stopped while the job ran; running it again", Outage.RunningAgain);
            Assert.AreEqual("x (tried to reach it again for 0.5 min)", Outage.GaveUp("x", TimeSpan.FromSeconds(30)));
            Assert.AreEqual("could not cancel job j1 on the server: `animgen cancel j1` does, once it can be reached",
                Outage.CouldNotCancel("j1"));
        }

        [Test]
        public void ALostServerIsWaitedForFromWhenItWasLostNotFromTheCallsStart()
        {
            var s = new Script();
            var o = s.Make();
            // A watch that ran for 5 minutes, longer than the wait, then lost its server: still waited for, every 2 s.
            Assert.AreEqual("done", s.Run(o, s.Answers(300, Refused(), Refused(), "done")));
            CollectionAssert.AreEqual(new[] { TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2) }, s.Sleeps);
            CollectionAssert.AreEqual(new[] { Lost, Outage.Back }, s.Said); // once each, however many tries
            Assert.IsFalse(o.IsLost);
        }

        [Test]
        public void ASecondOutageIsSaidAgainAndWaitedForFromItsOwnStart()
        {
            var s = new Script();
            var o = s.Make(longest: TimeSpan.FromSeconds(5));
            Assert.AreEqual("a", s.Run(o, s.Answers(1, Refused(), "a")));
            Assert.AreEqual("b", s.Run(o, s.Answers(600, Refused(), "b")));
            string lost = Outage.Saying(TimeSpan.FromSeconds(5));
            CollectionAssert.AreEqual(new[] { lost, Outage.Back, lost, Outage.Back }, s.Said);
            Assert.AreEqual(4, s.Sleeps.Count);
        }

        [Test]
        public void ItGivesUpAfterTheWindowWithTheLastFailuresWords()
        {
            var s = new Script();
            var o = s.Make();
            var e = Assert.Throws<ServerGoneException>(() => s.Run(o, () => { s.Calls++; throw Refused(); }));
            Assert.AreEqual("Cannot reach the AnimGen server at h:1: failed to connect to all addresses (tried to reach it again for 2 min)",
                e.Message);
            Assert.IsInstanceOf<Down>(e.InnerException);
            Assert.AreEqual(61, s.Calls); // at 0, 2, ..., 120 s
            CollectionAssert.AreEqual(new[] { Lost }, s.Said);
            Assert.IsTrue(o.IsLost);
            // The last wait is what is left of the window.
            s = new Script();
            Assert.Throws<ServerGoneException>(() => s.Run(s.Make(longest: TimeSpan.FromSeconds(5)), s.Answers(Refused(), Refused(), Refused(), Refused())));
            CollectionAssert.AreEqual(new[] { TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1) }, s.Sleeps);
        }

        [Test]
        public void ALaterOutageOfAServerThatStayedDownFailsAtOnceUntilItAnswersAgain()
        {
            var s = new Script();
            Func<Task<string>> down = () => { s.Calls++; throw Refused(); };
            string gaveUp = "Cannot reach the AnimGen server at h:1: failed to connect to all addresses (tried to reach it again for 2 min)";
            // The first video waits the whole window for its server, which does not come back.
            Assert.AreEqual(gaveUp, Assert.Throws<ServerGoneException>(() => s.Run(s.Make(), down)).Message);
            Assert.AreEqual(61, s.Calls);
            // The next video's outage is the same one, whose wait is over: it fails at its first try, in the same words,
            // and says nothing of trying to reach the server again, which it does not do.
            s.Calls = 0;
            s.Sleeps.Clear();
            var next = s.Make(reached: false); // a new run: the address has answered before
            Assert.AreEqual(gaveUp, Assert.Throws<ServerGoneException>(() => s.Run(next, down)).Message);
            Assert.AreEqual(1, s.Calls);
            Assert.IsEmpty(s.Sleeps);
            Assert.IsFalse(next.IsLost);
            CollectionAssert.AreEqual(new[] { Lost }, s.Said);
            // An answer ends it for every run: the one after gets a whole window again.
            s.Said.Clear();
            Assert.AreEqual("up", s.Run(s.Make(), s.Answers("up")));
            s.Calls = 0;
            Assert.Throws<ServerGoneException>(() => s.Run(s.Make(), down));
            Assert.AreEqual(61, s.Calls);
            Assert.AreEqual(60, s.Sleeps.Count);
            CollectionAssert.AreEqual(new[] { Lost }, s.Said);
        }

        [Test]
        public void AnOutageThatJoinsAnotherRunsWaitsOnlyWhatIsLeftOfIt()
        {
            var s = new Script();
            var first = s.Make();
            // A video (of -animgenJobs N) loses the server at 0 s and is waiting for it ...
            first.LostAsync(Refused(), CancellationToken.None).GetAwaiter().GetResult();
            s.Now = TimeSpan.FromSeconds(60);
            // ... when another loses it too: both give up 2 minutes after the first lost it.
            var second = s.Make();
            Assert.Throws<ServerGoneException>(() => s.Run(second, () => { s.Calls++; throw Refused(); }));
            Assert.AreEqual(TimeSpan.FromSeconds(120), s.Now);
            Assert.AreEqual(31, s.Calls); // at 60, 62, ..., 120 s
            // One that answers says so, and so ends the wait of the other: its next loss is a new outage.
            Assert.AreEqual("back", s.Run(first, s.Answers("back")));
            Assert.AreEqual("again", s.Run(second, s.Answers(Refused(), "again")));
            CollectionAssert.AreEqual(new[] { Lost, Lost, Outage.Back, Outage.Back }, s.Said);
        }

        [Test]
        public void AFirstContactAndOtherFailuresAreNotWaitedOn()
        {
            var s = new Script();
            string address = "first-contact-" + Guid.NewGuid().ToString("N") + ":1"; // this domain has not reached it
            var never = s.Make(reached: false, address: address); // a wrong address: never reached
            Assert.AreEqual("failed to connect to all addresses", Assert.Throws<Down>(() => s.Run(never, s.Answers(Refused()))).Message);
            Assert.Throws<InvalidOperationException>(() => s.Run(s.Make(), s.Answers(new InvalidOperationException("no such file"))));
            Assert.Throws<Refusal>(() => s.Run(s.Make(), s.Answers(new Refusal("no job x"))));
            Assert.IsEmpty(s.Sleeps);
            Assert.IsEmpty(s.Said);
            // Once it has answered, it is one to wait for, for this outage and for a later run on that address.
            Assert.IsFalse(Outage.HasAnswered(address));
            Assert.AreEqual("up", s.Run(never, s.Answers("up")));
            Assert.IsTrue(Outage.HasAnswered(address));
            Assert.AreEqual("again", s.Run(s.Make(reached: false, address: address), s.Answers(Refused(), "again")));
            CollectionAssert.AreEqual(new[] { Lost, Outage.Back }, s.Said);
        }

        [Test]
        public void ARefusalIsAnAnswerThatEndsTheOutageForEveryRun()
        {
            var s = new Script();
            var o = s.Make();
            // The server comes back and refuses the call (NOT_FOUND): it is there, as the CLI counts it, and says so.
            Assert.AreEqual("no job x", Assert.Throws<Refusal>(() => s.Run(o, s.Answers(5, Refused(), new Refusal("no job x")))).Message);
            CollectionAssert.AreEqual(new[] { Lost, Outage.Back }, s.Said);
            Assert.IsFalse(o.IsLost);
            // Its outage is over for every run: the next that loses the server waits a whole window from then.
            s.Now += TimeSpan.FromMinutes(5);
            TimeSpan from = s.Now;
            var later = s.Make();
            Assert.Throws<ServerGoneException>(() => s.Run(later, () => { s.Calls++; throw Refused(); }));
            Assert.AreEqual(TimeSpan.FromMinutes(2), s.Now - from);
            // A failure that is not the server's (a file that cannot be read) leaves an outage as it is.
            s.Said.Clear();
            var third = s.Make();
            Assert.Throws<InvalidOperationException>(() => s.Run(third, s.Answers(new InvalidOperationException("no such file"))));
            Assert.Throws<ServerGoneException>(() => s.Run(third, s.Answers(Refused())));
            Assert.IsEmpty(s.Said); // the wait is still over: failed at once, nothing said
        }

        [Test]
        public void AFullQueueAfterAnOutageSaysTheServerIsBackAndTheWaitForRoomKeepsOneDeadline()
        {
            var s = new Script();
            var o = s.Make();
            const string full = "the queue is full (0 jobs waiting)";
            // StartJob finds the queue full at 0 s, the server gone from 5 s to 95 s, then the queue full to the end.
            Func<Task<string>> start = () =>
            {
                s.Calls++;
                if (s.Now >= TimeSpan.FromSeconds(5) && s.Now < TimeSpan.FromSeconds(95)) throw Refused();
                throw new QueueFullException(full, TimeSpan.FromSeconds(5));
            };
            var e = Assert.Throws<TimeoutException>(() => QueueWait.StartAsync(() => o.CallAsync(start, CancellationToken.None), null, s.Said.Add,
                TimeSpan.FromMinutes(10), () => s.Now, s.Sleep, CancellationToken.None).GetAwaiter().GetResult());
            // One deadline for the whole wait for room, as the CLI's (remote.py _Run._start): 10 minutes from the first
            // try, the outage inside them, not 10 minutes again after it.
            Assert.AreEqual(QueueWait.GaveUp(full, TimeSpan.FromMinutes(10)), e.Message);
            Assert.AreEqual(TimeSpan.FromMinutes(10), s.Now);
            // The full queue after the outage is an answer: the server is said to be back.
            CollectionAssert.AreEqual(new[] { QueueWait.Saying(TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(10)), Lost, Outage.Back }, s.Said);
            Assert.IsFalse(o.IsLost);
        }

        [Test]
        public void ACancelEndsTheWaitWithoutAnotherTry()
        {
            var s = new Script();
            using (var cts = new CancellationTokenSource())
            {
                cts.Cancel();
                Assert.That(() => s.Run(s.Make(), s.Answers(Refused(), "never"), cts.Token), Throws.InstanceOf<OperationCanceledException>());
                Assert.AreEqual(1, s.Calls);
                Assert.IsEmpty(s.Said); // the run stopped: a call that failed then is not a server lost
                Assert.IsEmpty(s.Sleeps);
            }
            // And with the real sleep: a wait of 2 minutes ends as soon as the token is cancelled.
            using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50)))
            {
                var o = new Outage("cancel-" + Guid.NewGuid().ToString("N") + ":1", true, Words, Answered, null);
                var started = DateTime.UtcNow;
                Assert.That(() => o.CallAsync<int>(() => { throw Refused(); }, cts.Token).GetAwaiter().GetResult(),
                    Throws.InstanceOf<OperationCanceledException>());
                Assert.Less((DateTime.UtcNow - started).TotalSeconds, 5);
            }
        }

        [Test]
        public void AJobIsStartedAgainAfterAnInterruptionUpToThreeTimes()
        {
            Assert.IsNull(Outage.AfterInterrupted(0));
            Assert.IsNull(Outage.AfterInterrupted(2));
            Assert.AreEqual("the server stopped while the job ran, 4 times; run it again once the server stays up",
                Outage.AfterInterrupted(Outage.MostRestarts));
            Assert.IsTrue(Outage.IsInterruption(new JobUpdate { Kind = JobUpdateKind.Interrupted }));
            Assert.IsTrue(Outage.IsInterruption(new JobUpdate { Kind = JobUpdateKind.ServerState, State = ServerJobState.Interrupted }));
            Assert.IsFalse(Outage.IsInterruption(new JobUpdate { Kind = JobUpdateKind.ServerState, State = ServerJobState.Running }));
            Assert.IsFalse(Outage.IsInterruption(new JobUpdate { Kind = JobUpdateKind.Failed }));
        }
    }
}
