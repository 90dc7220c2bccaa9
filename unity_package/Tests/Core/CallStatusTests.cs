using NUnit.Framework;

namespace AnimGen.Core.Tests
{
    /// <summary>What the connection makes of a failed call's gRPC status (AnimGenConnection.TimedOut, Answered): a try
    /// of StartJob asked again after its deadline, a refusal that ends an outage and says no job was made. That the
    /// codes are gRPC's numbers is checked against Python's grpc (tests/test_unity_package.py).</summary>
    [TestFixture]
    public class CallStatusTests
    {
        const int Last = 16; // UNAUTHENTICATED, the highest code gRPC defines

        [Test]
        public void OnlyTheCallsOwnDeadlineIsATimeout()
        {
            for (int code = 0; code <= Last; code++)
                Assert.AreEqual(code == CallStatus.DeadlineExceeded, CallStatus.TimedOut(code), "status " + code);
        }

        [Test]
        public void EveryStatusButUnavailableCancelledAndTheDeadlineIsTheServersAnswer()
        {
            for (int code = 0; code <= Last; code++)
            {
                bool unknown = code == CallStatus.Unavailable || code == CallStatus.Cancelled || code == CallStatus.DeadlineExceeded;
                Assert.AreEqual(!unknown, CallStatus.Answered(code), "status " + code);
            }
            // The refusals the client meets: RESOURCE_EXHAUSTED (a full queue, a video too long), NOT_FOUND,
            // INVALID_ARGUMENT, UNAUTHENTICATED.
            foreach (int refusal in new[] { 8, 5, 3, 16 }) Assert.IsTrue(CallStatus.Answered(refusal), "status " + refusal);
        }
    }
}
